"""Model throughput for the demand-management workbook: waiting list, RTT pathways, schemes.

Run: ``.venv/bin/python -m benchmarks.waiting_list [--repeats N]``. Prints a table and writes
``benchmarks/results/waiting_list.json``. The budget is that a two-year weekly simulation (104
weeks) of one specialty recomputes in under 100 ms, so an app can redraw on every control change;
each line shows its median over the repeats and its ratio to that budget. Figures are medians
measured in one run on one machine (the kernel only: no chart, no widget).
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from pbc_lib.models import demand, waiting_list

RESULTS = Path(__file__).resolve().parent / "results"
BUDGET_MS = 100.0  # the budget for one 104-week recompute
WEEKS = 104
REFERRALS = 100.0  # a specialty with ~5,200 referrals a year (illustrative)
CAPACITY = 104.0


def _median_ms(call: Callable[[], object], repeats: int) -> float:
    call()  # warm-up: imports, first allocation
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        samples.append(time.perf_counter() - start)
    return round(statistics.median(samples) * 1000, 2)


def _cases() -> dict[str, Callable[[], object]]:
    capacity = waiting_list.weekly_capacity(CAPACITY, WEEKS)
    start = waiting_list.steady_start_list(1_500, 12.0)
    costs = demand.UnitCosts(200.0, 90.0, 4055.0, 812.0, 1750.0)
    scenario = demand.bolton_style_scenario(54_000)

    def one_list() -> object:
        return waiting_list.simulate_waiting_list(
            REFERRALS, capacity, WEEKS, start_list=start, referral_cv=0.1, seed=1
        ).table()

    return {
        "one list, 104 weeks, 1 run (+ weekly table)": one_list,
        "RTT two stages, 104 weeks, 1 run": lambda: waiting_list.simulate_rtt(
            REFERRALS, capacity, 27.0, WEEKS, op_start=start, seed=1
        ),
        "one list, 104 weeks, 100 runs (bands)": lambda: waiting_list.simulate_waiting_list(
            REFERRALS, capacity, WEEKS, start_list=start, referral_cv=0.1, runs=100, seed=1
        ),
        "capacity needed by week 52 (bisection)": lambda: waiting_list.capacity_needed(
            REFERRALS, 0.90, 52, waiting_list.steady_start_list(3_000, 20.0)
        ),
        "Bolton-style scenario, 10,000 draws": lambda: demand.simulate(scenario, costs, 10_000),
    }


def measure(repeats: int) -> dict:
    rows = {name: _median_ms(call, repeats) for name, call in _cases().items()}
    return {
        "repeats": repeats,
        "budget_ms": BUDGET_MS,
        "median_ms": rows,
        "ratio_to_budget": {name: round(ms / BUDGET_MS, 3) for name, ms in rows.items()},
        "python": platform.python_version(),
        "numpy": np.__version__,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args(argv)
    result = measure(args.repeats)
    print(f"PbC Workbooks: waiting-list and demand models (median of {args.repeats} runs)")
    print(f"  {'case':48s} {'ms':>9} {'x budget':>9}")
    for name, ms in result["median_ms"].items():
        print(f"  {name:48s} {ms:>9.2f} {result['ratio_to_budget'][name]:>9.3f}")
    print(f"  budget: {BUDGET_MS:g} ms for one 104-week recompute")
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "waiting_list.json").write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
