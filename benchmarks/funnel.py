"""Model throughput for the risk workbook: funnel plots, the audit planner and screening.

Run: ``.venv/bin/python -m benchmarks.funnel [--repeats N]``. Prints a table of median times and
writes ``benchmarks/results/funnel.json``. Model calls only (no charts): these set the floor for
how fast an app can redraw after a control changes. Medians over the repeats, one run, one machine.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from pbc_lib import data
from pbc_lib.models import funnel as fp
from pbc_lib.models import safety as sf

RESULTS = Path(__file__).resolve().parent / "results"


def _median_ms(call: Callable[[], object], repeats: int) -> float:
    samples = []
    for _ in range(repeats):
        t = time.perf_counter()
        call()
        samples.append(time.perf_counter() - t)
    return round(statistics.median(samples) * 1000, 2)


def cases() -> dict[str, Callable[[], object]]:
    rows = data.load_safety().query("financial_year == '2006/07'")
    errors, items = rows["prescribing_errors"], rows["items_checked"]
    incidents, consults = rows["incidents_reported"], rows["consultations"]
    rng = np.random.default_rng(1)
    big_n = rng.integers(100, 5_000, 10_000)
    big_y = rng.binomial(big_n, 0.05)
    return {
        "funnel, 48 practices, proportion, exact": lambda: fp.funnel("proportion", errors, items),
        "funnel, 48 practices, proportion, additive tau2": lambda: fp.funnel(
            "proportion", errors, items, adjustment="additive"
        ),
        "funnel, 48 practices, rate per 100,000": lambda: fp.funnel(
            "rate", incidents, consults, per=100_000
        ),
        "funnel, 10,000 units, proportion, exact": lambda: fp.funnel("proportion", big_y, big_n),
        "audit_sample_sizes(4.9%, +/-1 point)": lambda: sf.audit_sample_sizes(0.049, 0.01),
        "screen_practices(1,000)": lambda: sf.screen_practices(1_000, seed=1),
        "screen_practices(20,000, the cap)": lambda: sf.screen_practices(20_000, seed=1),
    }


def measure(repeats: int) -> dict:
    timings = {name: _median_ms(call, repeats) for name, call in cases().items()}
    return {"repeats": repeats, "median_ms": timings}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args(argv)
    result = measure(args.repeats)
    print(f"PbC Workbooks: risk-model throughput (median of {result['repeats']} runs, ms)")
    for name, ms in result["median_ms"].items():
        print(f"  {name:48s} {ms:>9}")
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "funnel.json").write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
