"""Kernel-side redraw time of the workbook-04 apps (risk in primary care), control by control.

Run: ``.venv/bin/python -m benchmarks.safety_latency [--repeats N]``. For each control it sets a
new value and times the whole callback (model, chart spec, vl-convert SVG, tables and the
widgets' messages). The rendered-SVG cache is emptied before every timed change, so no change is
served from it (a dropdown with three options repeats its values, and would otherwise often be
free); separately it times a return to a value already drawn (what the cache gives a slider moved
back and forth). Prints medians, the 95th percentile and the slowest run against the issue's
250 ms target, and writes ``benchmarks/results/safety_latency.json``. One run, one machine.

Wall-clock times are what a user waits for, but on a shared 2-core machine they swell with
whatever else is running, so the load average is recorded before and after, and the process's
CPU time per change (``time.process_time``: this kernel's own work, including vl-convert's
threads) is reported beside it.
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


def _stats(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return {
        "median_ms": round(statistics.median(ordered), 1),
        "p95_ms": round(p95, 1),
        "max_ms": round(ordered[-1], 1),
        "n": len(ordered),
    }


def _next(options: list, current) -> object:
    """The option after ``current`` (wrapping round): always a change."""
    return options[(options.index(current) + 1) % len(options)]


def _values(widget) -> list:
    return (
        [v for _, v in widget.options]
        if isinstance(widget.options[0], tuple)
        else list(widget.options)
    )


def measure(repeats: int) -> dict:
    from pbc_lib import charts  # noqa: PLC0415 (timed import)
    from pbc_lib.apps.audit_planner import AuditPlanner  # noqa: PLC0415
    from pbc_lib.apps.funnel_explorer import FunnelExplorer  # noqa: PLC0415
    from pbc_lib.apps.safety_arithmetic import SafetyArithmetic  # noqa: PLC0415
    from pbc_lib.apps.screening import Screening  # noqa: PLC0415

    t = time.perf_counter()
    apps = {
        "arithmetic": SafetyArithmetic(),
        "funnel": FunnelExplorer(),
        "audit": AuditPlanner(),
        "screening": Screening(),
    }
    build_ms = (time.perf_counter() - t) * 1000
    a, f, au, s = apps.values()

    cpu: dict[str, list[float]] = {}

    def fresh(action: Callable[[], None], name: str) -> float:
        charts._SVG_CACHE.clear()
        start, start_cpu = time.perf_counter(), time.process_time()
        action()
        cpu.setdefault(name, []).append((time.process_time() - start_cpu) * 1000)
        return (time.perf_counter() - start) * 1000

    def step(widget, value) -> Callable[[], None]:
        return lambda: setattr(widget, "value", value)

    rates = list(range(5, 81))
    practices = _values(a.practice)
    changes: dict[str, Callable[[int], Callable[[], None]]] = {
        "arithmetic: error rate": lambda i: step(a.rate, _next(rates, a.rate.value)),
        "arithmetic: practice": lambda i: step(
            a.practice, practices[(7 * i + 3) % len(practices)] if i else practices[1]
        ),
        "arithmetic: share reported": lambda i: step(
            a.share, _next(_values(a.share), a.share.value)
        ),
        "funnel: measure": lambda i: step(f.measure, _next(_values(f.measure), f.measure.value)),
        "funnel: year": lambda i: step(f.year, _next(_values(f.year), f.year.value)),
        "funnel: limits": lambda i: step(f.method, _next(_values(f.method), f.method.value)),
        "funnel: overdispersion": lambda i: step(
            f.adjustment, _next(_values(f.adjustment), f.adjustment.value)
        ),
        "funnel: highlight practice": lambda i: step(
            f.practice, _next(_values(f.practice), f.practice.value)
        ),
        "audit: expected error rate": lambda i: step(au.p, round(0.005 + 0.007 * (i % 28), 3)),
        "audit: margin": lambda i: step(au.margin, _next(_values(au.margin), au.margin.value)),
        "audit: confidence": lambda i: step(
            au.confidence, _next(_values(au.confidence), au.confidence.value)
        ),
        "screening: rule": lambda i: step(s.level, _next(_values(s.level), s.level.value)),
        "screening: years pooled": lambda i: step(s.years, 1 + s.years.value % 10),
        "screening: share reported": lambda i: step(
            s.completeness, _next(_values(s.completeness), s.completeness.value)
        ),
        "screening: culture link": lambda i: step(
            s.culture_link, round(-0.9 + 0.1 * ((round(s.culture_link.value * 10) + 10) % 19), 1)
        ),
        "screening: unsafe threshold": lambda i: step(
            s.unsafe_at, 20 + (s.unsafe_at.value - 19) % 61
        ),
        "screening: draw another PCT": lambda i: s.new_sample,
    }
    samples: dict[str, list[float]] = {name: [] for name in changes}
    load_before = os.getloadavg()[0]
    for i in range(repeats):
        for name, change in changes.items():
            samples[name].append(fresh(change(i), name))
    cached = []
    for i in range(repeats):
        start = time.perf_counter()
        a.rate.value = 30 if i % 2 else 31
        cached.append((time.perf_counter() - start) * 1000)
    errors = [app.errors.message for app in apps.values() if app.errors.message]
    return {
        "repeats": repeats,
        "build_all_four_apps_ms": round(build_ms, 1),
        "load_average_1min": {
            "before": round(load_before, 2),
            "after": round(os.getloadavg()[0], 2),
        },
        "fresh_state": {k: _stats(v) for k, v in samples.items()},
        "fresh_state_cpu": {k: _stats(v) for k, v in cpu.items()},
        "cached_state_error_rate": _stats(cached[2:]),
        "target_ms": TARGET_MS,
        "errors_shown": errors,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args(argv)
    result = measure(args.repeats)
    print(
        f"Workbook 04 (risk in primary care): kernel time per control change, {args.repeats} runs"
    )
    load = result["load_average_1min"]
    print(f"  build all four apps: {result['build_all_four_apps_ms']} ms")
    print(f"  load average (1 min) before {load['before']}, after {load['after']} (2 cores)")
    print(
        f"  {'control (new value, SVG cache emptied)':40s} {'median':>8} {'p95':>8} {'max':>8}"
        f"  {'CPU median':>10} {'CPU p95':>8}"
    )
    for name, st in result["fresh_state"].items():
        c = result["fresh_state_cpu"][name]
        ok = "ok" if st["p95_ms"] <= TARGET_MS else "OVER"
        print(
            f"  {name:40s} {st['median_ms']:>8} {st['p95_ms']:>8} {st['max_ms']:>8}"
            f"  {c['median_ms']:>10} {c['p95_ms']:>8}  {ok}"
        )
    c = result["cached_state_error_rate"]
    name = "error rate back to a value drawn"
    print(f"  {name:40s} {c['median_ms']:>8} {c['p95_ms']:>8} {c['max_ms']:>8}")
    if result["errors_shown"]:
        print(f"  ERROR PANEL SHOWN: {result['errors_shown']}")
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "safety_latency.json").write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
