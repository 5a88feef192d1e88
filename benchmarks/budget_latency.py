"""Kernel-side redraw time of the workbook-01 apps (indicative budgets), control by control.

Run: ``.venv/bin/python -m benchmarks.budget_latency [--repeats N]``. For each control it sets a
new value the app has not drawn before (so the SVG cache cannot help), times the whole callback
(model, Altair spec, vl-convert SVG, tables, statement and the widgets' messages) and, separately,
a return to a value already drawn (what the SVG cache gives a slider moved back and forth).
Prints medians, the slowest run and the 95th percentile against the issue's 250 ms target, and
writes ``benchmarks/results/budget_latency.json``. Figures are from one run on one machine.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"
TARGET_MS = 250.0


def _time(action: Callable[[], None]) -> float:
    t = time.perf_counter()
    action()
    return (time.perf_counter() - t) * 1000


def _stats(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return {
        "median_ms": round(statistics.median(ordered), 1),
        "p95_ms": round(p95, 1),
        "max_ms": round(ordered[-1], 1),
        "n": len(ordered),
    }


def measure(repeats: int) -> dict:
    from pbc_lib.apps.fair_shares import FairShares  # noqa: PLC0415 (timed import)
    from pbc_lib.apps.practice_budget import PracticeBudget  # noqa: PLC0415
    from pbc_lib.models import budgets as b  # noqa: PLC0415

    t = time.perf_counter()
    pct_view = FairShares()
    practice_view = PracticeBudget(pct_view)
    build_ms = (time.perf_counter() - t) * 1000
    ids = [v for _, v in practice_view.practice.options]
    weightings = list(b.AGE_WEIGHTINGS)
    fresh: dict[str, list[float]] = {
        k: []
        for k in (
            "pace of change (λ)",
            "threshold",
            "need weight",
            "age weighting",
            "practice",
            "savings slider",
            "share of savings",
            "pot growth",
            "years",
            "largest cut",
        )
    }
    for i in range(repeats):
        lam = round(0.05 * (1 + i % 19), 2)
        fresh["pace of change (λ)"].append(_time(lambda v=lam: setattr(pct_view.lam, "value", v)))
        th = [0.0, 0.05, 0.10, 0.20][i % 4]
        if th == pct_view.threshold.value:
            th = 0.05
        fresh["threshold"].append(_time(lambda v=th: setattr(pct_view.threshold, "value", v)))
        need = round(0.1 * (i % 10), 1)
        if need == pct_view.need_weight.value:
            need = round((need + 0.5) % 1.0, 1)
        fresh["need weight"].append(_time(lambda v=need: setattr(pct_view.need_weight, "value", v)))
        weighting = weightings[(weightings.index(pct_view.age_weighting.value) + 1) % 3]
        fresh["age weighting"].append(
            _time(lambda v=weighting: setattr(pct_view.age_weighting, "value", v))
        )
        pid = ids[(7 * i + 3) % len(ids)]
        if pid == practice_view.practice.value:
            pid = ids[(7 * i + 4) % len(ids)]
        fresh["practice"].append(_time(lambda v=pid: setattr(practice_view.practice, "value", v)))
        group = list(practice_view.savings)[i % 4]
        slider = practice_view.savings[group]
        new = -20 + (slider.value + 23) % 41
        fresh["savings slider"].append(_time(lambda s=slider, v=new: setattr(s, "value", v)))
        share = round(0.05 * (i % 21), 2)
        if share == practice_view.share.value:
            share = 0.5
        fresh["share of savings"].append(
            _time(lambda v=share: setattr(practice_view.share, "value", v))
        )
        growth = round(0.005 * (i % 21), 3)
        if growth == practice_view.growth.value:
            growth = 0.03
        fresh["pot growth"].append(
            _time(lambda v=growth: setattr(practice_view.growth, "value", v))
        )
        years = 1 + (practice_view.years.value % 10)
        fresh["years"].append(_time(lambda v=years: setattr(practice_view.years, "value", v)))
        cuts = [v for _, v in practice_view.max_cut.options]
        cut = cuts[(cuts.index(practice_view.max_cut.value) + 1) % len(cuts)]
        fresh["largest cut"].append(_time(lambda v=cut: setattr(practice_view.max_cut, "value", v)))
    # Back and forth between two values already drawn: the SVG cache's case.
    cached = []
    for i in range(repeats):
        cached.append(_time(lambda v=(0.3 if i % 2 else 0.35): setattr(pct_view.lam, "value", v)))
    errors = pct_view.errors.message or practice_view.errors.message
    return {
        "repeats": repeats,
        "build_both_apps_ms": round(build_ms, 1),
        "fresh_state": {k: _stats(v) for k, v in fresh.items()},
        "cached_state_lambda": _stats(cached[2:]),
        "target_ms": TARGET_MS,
        "errors_shown": errors,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args(argv)
    result = measure(args.repeats)
    print(f"Workbook 01 (indicative budgets): kernel time per control change, {args.repeats} runs")
    print(f"  build both apps: {result['build_both_apps_ms']} ms")
    print(f"  {'control (new value each time)':32s} {'median':>8} {'p95':>8} {'max':>8}  target")
    for name, s in result["fresh_state"].items():
        ok = "ok" if s["p95_ms"] <= TARGET_MS else "OVER"
        print(f"  {name:32s} {s['median_ms']:>8} {s['p95_ms']:>8} {s['max_ms']:>8}  {ok}")
    c = result["cached_state_lambda"]
    print(
        f"  {'λ back to a value already drawn':32s} {c['median_ms']:>8} {c['p95_ms']:>8} "
        f"{c['max_ms']:>8}"
    )
    if result["errors_shown"]:
        print(f"  ERROR PANEL SHOWN: {result['errors_shown']}")
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "budget_latency.json").write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
