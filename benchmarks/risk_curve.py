"""Budget risk against list size: the fast simulation beside the plain per-patient simulation.

Run: ``.venv/bin/python -m benchmarks.risk_curve [--repeats N] [--scope fundholding]``. Prints a
table and writes ``benchmarks/results/risk_curve.json``. Figures are medians over the repeats,
measured in one run on one machine.

- ``full curve, fast``: ``budget_risk.risk_curve`` over ``CURVE_SIZES`` (1,000 to 300,000 people,
  log-spaced) at 10,000 simulated years each; the target is under 0.5 s.
- ``like for like``: the fast and the plain method on the same smaller sizes (``SUBSET_SIZES``) and
  years, timed one after the other; their ratio, and how far apart their percentiles are (% of
  budget).
- ``full curve, plain (estimated)``: the plain method over the full curve would need
  Σ sizes × 10,000 = about 14 billion person-years, so its time is estimated from the measured
  plain time per person-year; the ratio to the fast full curve is printed beside it.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import numpy as np

from pbc_lib import data
from pbc_lib.models import budget_risk as br

RESULTS = Path(__file__).resolve().parent / "results"
CURVE_SIZES = [int(n) for n in np.unique(np.round(np.geomspace(1_000, 300_000, 25)))]
SUBSET_SIZES = [1_000, 3_000, 9_000]
YEARS = 10_000
PERCENTILES = (5, 50, 95, 99)


def _timed(fn, repeats: int) -> tuple[float, object]:
    samples, out = [], None
    for _ in range(repeats):
        t = time.perf_counter()
        out = fn()
        samples.append(time.perf_counter() - t)
    return statistics.median(samples), out


def _subset(costs: np.ndarray, method: str) -> list[np.ndarray]:
    return [
        br.spend_distribution(costs, n, YEARS, seed=i, method=method)
        for i, n in enumerate(SUBSET_SIZES)
    ]


def _max_gap_pct(costs: np.ndarray, fast: list, plain: list) -> float:
    """Largest gap between fast and plain percentiles, as % of the budget."""
    gaps = [
        np.abs(np.percentile(f, PERCENTILES) - np.percentile(p, PERCENTILES)) / (n * costs.mean())
        for n, f, p in zip(SUBSET_SIZES, fast, plain, strict=True)
    ]
    return float(np.max(gaps) * 100)


def measure(repeats: int, scope: str) -> dict:
    costs = br.scope_costs(data.load_patient_costs(), scope)
    br.risk_curve(costs, CURVE_SIZES[:2], YEARS)  # warm up imports and caches
    curve_s, _ = _timed(lambda: br.risk_curve(costs, CURVE_SIZES, YEARS), repeats)
    fast_s, fast = _timed(lambda: _subset(costs, "fast"), repeats)
    plain_repeats = max(1, repeats // 3)
    plain_s, plain = _timed(lambda: _subset(costs, "plain"), plain_repeats)
    per_person_year = plain_s / (sum(SUBSET_SIZES) * YEARS)
    plain_curve_s = per_person_year * sum(CURVE_SIZES) * YEARS
    return {
        "scope": scope,
        "repeats_fast": repeats,
        "repeats_plain": plain_repeats,
        "curve_sizes": len(CURVE_SIZES),
        "curve_smallest_largest": [CURVE_SIZES[0], CURVE_SIZES[-1]],
        "years_per_size": YEARS,
        "full_curve_fast_s": round(curve_s, 3),
        "full_curve_plain_estimated_s": round(plain_curve_s, 1),
        "full_curve_ratio": round(plain_curve_s / curve_s),
        "subset_sizes": SUBSET_SIZES,
        "subset_fast_s": round(fast_s, 4),
        "subset_plain_s": round(plain_s, 3),
        "subset_ratio": round(plain_s / fast_s),
        "plain_ns_per_person_year": round(per_person_year * 1e9, 1),
        "subset_max_percentile_gap_pct_of_budget": round(_max_gap_pct(costs, fast, plain), 3),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument("--scope", choices=list(br.SCOPES), default="fundholding")
    args = parser.parse_args(argv)
    r = measure(args.repeats, args.scope)
    print(
        f"PbC Workbooks: budget risk curve, scope {r['scope']} (medians; fast ×{r['repeats_fast']},"
    )
    print(f"plain ×{r['repeats_plain']}; {r['years_per_size']:,} simulated years per size)")
    print(
        f"  full curve, {r['curve_sizes']} sizes {r['curve_smallest_largest'][0]:,}-"
        f"{r['curve_smallest_largest'][1]:,}"
    )
    print(f"    fast                       {r['full_curve_fast_s']:>10.3f} s")
    print(f"    plain (estimated)          {r['full_curve_plain_estimated_s']:>10.1f} s")
    print(f"    ratio plain / fast         {r['full_curve_ratio']:>10,}")
    print(f"  like for like, sizes {', '.join(f'{n:,}' for n in r['subset_sizes'])}")
    print(f"    fast                       {r['subset_fast_s']:>10.4f} s")
    print(f"    plain                      {r['subset_plain_s']:>10.3f} s")
    print(f"    ratio plain / fast         {r['subset_ratio']:>10,}")
    print(f"    plain, ns per person-year  {r['plain_ns_per_person_year']:>10}")
    print(
        f"    largest percentile gap     {r['subset_max_percentile_gap_pct_of_budget']:>10} "
        f"% of budget (p{', p'.join(map(str, PERCENTILES))})"
    )
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "risk_curve.json").write_text(json.dumps(r, indent=2) + "\n")


if __name__ == "__main__":
    main()
