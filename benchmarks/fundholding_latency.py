"""Kernel-side redraw time of the workbook-03 apps (fundholding vs PbC), control by control.

Run: ``.venv/bin/python -m benchmarks.fundholding_latency [--repeats N]``. Each chart structure is
built once first (untimed: a structure is built once per session, then reused). Then, for each
control, it sets a new value and times the whole callback: the simulations, the chart specs,
vl-convert's SVGs, the tables and the widgets' messages. Before every timed change the caches are
emptied as a never-drawn value would find them (``clears``: the SVG cache always; the risk app's
simulated holders, and for a new scope or stop-loss its curves too, all but the three
no-stop-loss curves made at start-up), so each change pays for its simulation in full: the worst
case, a setting no one has drawn before. A last row times the stop-loss moved back and forth
between two values already drawn (what the caches give). Prints medians, the 95th percentile and
the slowest run against the issue's 250 ms target, and the machine's load average (the machine is
shared), and writes ``benchmarks/results/fundholding_latency.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from collections.abc import Callable
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"
TARGET_MS = 250.0


def _time(action: Callable[[], None]) -> tuple[float, float]:
    """(wall-clock ms, this process's CPU ms) for one action. On a shared machine the CPU time
    is the fairer measure of the work done: wall time also counts waiting for a free core."""
    wall, cpu = time.perf_counter(), time.process_time()
    action()
    return (time.perf_counter() - wall) * 1000, (time.process_time() - cpu) * 1000


def _summary(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return {
        "median_ms": round(statistics.median(ordered), 1),
        "p95_ms": round(p95, 1),
        "max_ms": round(ordered[-1], 1),
    }


def _stats(samples: list[tuple[float, float]]) -> dict[str, object]:
    return {
        "wall": _summary([w for w, _ in samples]),
        "cpu": _summary([c for _, c in samples]),
        "n": len(samples),
    }


def _next(options: list, current: object, step: int = 1) -> object:
    """The option ``step`` places after ``current`` (wrapping), never ``current`` itself."""
    i = options.index(current)
    value = options[(i + step) % len(options)]
    return value if value != current else options[(i + 1) % len(options)]


def _warm(controls: list) -> None:
    """Visit every option of every list control once, so each chart structure is built."""
    for control in controls:
        start = control.value
        for value in [v for _, v in control.options]:
            control.value = value
        control.value = start


def measure(repeats: int) -> dict:
    from pbc_lib import charts  # noqa: PLC0415 (timed imports)
    from pbc_lib.apps.configurations import Configurations  # noqa: PLC0415
    from pbc_lib.apps.risk_by_size import RiskBySize  # noqa: PLC0415

    t = time.perf_counter()
    risk = RiskBySize()
    build_risk_ms = (time.perf_counter() - t) * 1000
    t = time.perf_counter()
    config = Configurations()
    build_config_ms = (time.perf_counter() - t) * 1000
    _warm([risk.measure, risk.scope, config.chosen])
    risk.years.value, risk.pool.value = 3, 2  # every protection step drawn once
    practices = [v for _, v in risk.practice.options]
    caps = [v for _, v in risk.stop_loss.options]
    scopes = [v for _, v in risk.scope.options]
    measures = [v for _, v in risk.measure.options]
    configs = [v for _, v in config.chosen.options]
    pct_costs = [v for _, v in config.pct_cost.options]

    def fresh(action: Callable[[], None], clear: str) -> float:
        """Empty what a never-drawn value would find empty, then time the change."""
        if clear != "svg":
            risk.clear_cache(curves=clear == "all")
        charts._SVG_CACHE.clear()
        return _time(action)

    plans: dict[str, Callable[[int], Callable[[], None]]] = {
        "practice": lambda i: (
            lambda: setattr(
                risk.practice, "value", _next(practices, risk.practice.value, 7 + i % 5)
            )
        ),
        "budget scope": lambda i: (
            lambda: setattr(risk.scope, "value", _next(scopes, risk.scope.value))
        ),
        "measure": lambda i: (
            lambda: setattr(risk.measure, "value", _next(measures, risk.measure.value))
        ),
        "stop-loss": lambda i: (
            lambda: setattr(risk.stop_loss, "value", _next(caps, risk.stop_loss.value, 1 + i % 3))
        ),
        "years to balance": lambda i: (
            lambda: setattr(risk.years, "value", 1 + risk.years.value % 5)
        ),
        "practices pooling": lambda i: (
            lambda: setattr(risk.pool, "value", 1 + risk.pool.value % 10)
        ),
        "configuration": lambda i: (
            lambda: setattr(config.chosen, "value", _next(configs, config.chosen.value))
        ),
        "fundholders' allowance": lambda i: (
            lambda: setattr(
                config.allowance,
                "value",
                round(0.0025 * ((config.allowance.value / 0.0025 + 3) % 21), 4),
            )
        ),
        "locality cluster cost": lambda i: (
            lambda: setattr(
                config.locality_cost, "value", (config.locality_cost.value + 70_000) % 310_000
            )
        ),
        "PCT running cost": lambda i: (
            lambda: setattr(config.pct_cost, "value", _next(pct_costs, config.pct_cost.value, 3))
        ),
    }
    # What a new value needs afresh: a practice its holders (the curves are drawn already);
    # a scope or stop-loss new curves too; balancing and pooling new simulations of the
    # practice; the measure and the configurations' controls only new drawings.
    clears = {"practice": "holders", "budget scope": "all", "stop-loss": "all"}
    clears |= {"years to balance": "holders", "practices pooling": "holders"}
    results = {
        name: [fresh(plan(i), clears.get(name, "svg")) for i in range(repeats)]
        for name, plan in plans.items()
    }
    cached = []
    for i in range(repeats):  # back and forth between two stop-losses already drawn
        value = 5_000 if i % 2 else 6_000
        cached.append(_time(lambda v=value: setattr(risk.stop_loss, "value", v)))
    errors = risk.errors.message or config.errors.message
    return {
        "repeats": repeats,
        "load_average_1min": round(os.getloadavg()[0], 2),
        "build_risk_app_ms": round(build_risk_ms, 1),
        "build_configurations_app_ms": round(build_config_ms, 1),
        "fresh_state": {k: _stats(v) for k, v in results.items()},
        "cached_state_stop_loss": _stats(cached[2:]),
        "target_ms": TARGET_MS,
        "errors_shown": errors,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args(argv)
    result = measure(args.repeats)
    print(f"Workbook 03 (fundholding vs PbC): kernel time per control change, {args.repeats} runs")
    print(f"  load average over the last minute, 2 cores: {result['load_average_1min']}")
    print(
        f"  build: risk app {result['build_risk_app_ms']} ms, configurations app "
        f"{result['build_configurations_app_ms']} ms"
    )
    print(
        f"  {'control (new value, caches emptied)':36s} {'wall median':>11} {'p95':>7} "
        f"{'max':>7}  {'CPU median':>10} {'p95':>7}  p95 within 250 ms?"
    )
    rows = list(result["fresh_state"].items())
    rows.append(("stop-loss back to a value drawn", result["cached_state_stop_loss"]))
    for name, s in rows:
        w, c = s["wall"], s["cpu"]
        ok = "ok" if w["p95_ms"] <= TARGET_MS else "CPU ok" if c["p95_ms"] <= TARGET_MS else "OVER"
        print(
            f"  {name:36s} {w['median_ms']:>11} {w['p95_ms']:>7} {w['max_ms']:>7}  "
            f"{c['median_ms']:>10} {c['p95_ms']:>7}  {ok}"
        )
    if result["errors_shown"]:
        print(f"  ERROR PANEL SHOWN: {result['errors_shown']}")
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "fundholding_latency.json").write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
