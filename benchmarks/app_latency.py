"""Kernel-side cost of the workbook-00 apps: build time, redraw time per control change, SVG bytes.

Run: ``.venv/bin/python -m benchmarks.app_latency [--repeats N]``. Prints a table and writes
``benchmarks/results/app_latency.json``. This measures the Python side only (model + Altair spec +
vl-convert SVG); the browser side (time to interactive, bytes per page view) belongs to the hosting
benchmarks. Figures are medians over the repeats, measured in one run on one machine.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"


def _median_ms(samples: list[float]) -> float:
    return round(statistics.median(samples) * 1000, 1)


def measure(repeats: int) -> dict:
    t0 = time.perf_counter()
    from pbc_lib.apps.practice_explorer import PracticeExplorer  # noqa: PLC0415 (timed import)

    import_s = time.perf_counter() - t0
    builds, locality, year = [], [], []
    app = None
    for _ in range(repeats):
        t = time.perf_counter()
        app = PracticeExplorer(practice_id="WM001")
        builds.append(time.perf_counter() - t)
    localities = list(app.locality.options)
    for i in range(repeats):
        t = time.perf_counter()
        app.locality.value = localities[(i + 1) % len(localities)]
        locality.append(time.perf_counter() - t)
        t = time.perf_counter()
        app.year.value = "2004/05" if app.year.value != "2004/05" else "2006/07"
        year.append(time.perf_counter() - t)
    views = {
        "list size": app.list_view,
        "age pyramid": app.pyramid_view,
        "activity rates": app.rates_view,
    }
    return {
        "repeats": repeats,
        "import_pbc_lib_and_altair_s": round(import_s, 2),
        "explorer_build_ms": _median_ms(builds),
        "locality_change_redraw_ms": _median_ms(locality),
        "year_change_redraw_ms": _median_ms(year),
        "svg_kb": {k: round(len(v.figure.value.encode()) / 1024, 1) for k, v in views.items()},
        "errors_shown": app.errors.message,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args(argv)
    result = measure(args.repeats)
    print(f"PbC Workbooks: workbook-00 app latency (median of {result['repeats']} runs)")
    for key in (
        "import_pbc_lib_and_altair_s",
        "explorer_build_ms",
        "locality_change_redraw_ms",
        "year_change_redraw_ms",
    ):
        print(f"  {key:32s} {result[key]:>8}")
    for chart, kb in result["svg_kb"].items():
        print(f"  figure HTML, {chart:19s} {kb:>8} KB (wide + phone SVG)")
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "app_latency.json").write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
