"""Load test: a room of delegates opening a workbook at once, on this machine, over loopback.

Run: ``.venv/bin/python -m benchmarks.load_test [--delegates 50] [--over 60] [--browsers 10]
[--rotate] [--changes 5] [--find-max]``. It starts ``python -m pbc_lib.hosting`` itself with a
preheated pool sized for the burst (``--pool NOTEBOOK=N --refill-delay R``, R long enough that no
replacement kernel starts during the burst; the other notebooks keep the shipped pool of 1), waits
until every pool kernel has run its notebook (each has used some CPU seconds and all are idle),
then lets N simulated delegates arrive uniformly over T seconds.

``--browsers`` of them (spread evenly through the burst; default 10) each open the workbook in
their own context of one headless Debian chromium (at most ``--max-contexts`` open at a time; a
delegate who has to wait for a free context is reported as late), wait until it is interactive
(charts drawn, a control present, the kernel websocket silent: see :mod:`benchmarks._browser`),
make ``--changes`` changes to the first control, each timed in the page from the input event to
the chart's change, and close the context. The others make the same visit without a browser
(:mod:`benchmarks._protocol`: the page over HTTP, then the page's own kernel-websocket messages,
every widget's state fetched, the same control changes), so the server sees N delegates while the
load generator does not spend the machine's two cores drawing N pages: one browser context costs
2-4 CPU seconds here, against under one for the server's part of a preheated visit. With
``--browsers N`` every delegate uses the browser, as a delegate's laptop would; on this machine the
browsers then use most of the CPU the server needs.

Reported: p50 and p95 time to interactive, p95 interaction latency, errors (a page not
interactive within ``--tti-timeout`` seconds, an error shown in the page, a console error, a
control change the chart did not follow), peak memory (the sum of the RSS of the server and all
its child processes, sampled every 0.5 s), and the CPU seconds the server side and the browser
used during the burst (the browser runs on the same cores, so it is part of the load). The bar:
p95 time to interactive at most 3 s and no errors. ``--find-max`` steps the burst up (50, 75,
100, ... by default) on a fresh server each time, within ``--budget`` seconds, and reports the
largest burst that held the bar; a step is skipped if it would not fit in the budget or in memory.

Writes ``benchmarks/results/load_test.json``. Stops by itself; every server is stopped (SIGTERM,
then SIGKILL) and the run checks that none of its kernels is left.

Sources: Voilà 0.5.13 preheated kernels (``voila/voila_kernel_manager.py``: a pool is filled all at
once, each kernel running its notebook under ``VoilaExecutor.timeout`` per cell), Playwright for
Python (async API) and ``/work/shared/tech-notes.md`` sections 5 and 6 (cost of a session).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import time
from pathlib import Path
from typing import Any

from benchmarks import _browser as B
from benchmarks._protocol import protocol_delegate

TARGET_TTI_P95_MS = 3000.0
DEFAULT_NOTEBOOK = "workbooks/00_start_here.ipynb"
KERNEL_BUDGET_MIB = 120  # per kernel, for the "will it fit" check (forked kernels: USS 78-92 MiB)
BROWSER_BUDGET_MIB = 150  # per open browser context
MEMORY_RESERVE_MIB = 1500  # left free for the system and the browser process


def _log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


class Sampler:
    """Every 0.5 s: the server tree's total RSS, and CPU seconds used by the server tree and by
    the browser (every other child process of this benchmark). A process's CPU counts from its
    first sample to its last, so a browser tab that closes loses at most half a second."""

    def __init__(self, server: B.Server) -> None:
        self.server = server
        self.peak_rss_mib = 0.0
        self.min_available_mib = B.available_mib()
        self.samples: list[tuple[float, float]] = []
        self.cpu: dict[int, list[float]] = {}  # pid -> [first, last, is_server]
        self._task: asyncio.Task | None = None
        self.t0 = time.monotonic()

    def sample(self) -> None:
        """One reading."""
        server_pids = {self.server.pid, *self.server.children()}
        rss = sum(B.rss_mib(p) for p in server_pids)
        self.peak_rss_mib = max(self.peak_rss_mib, rss)
        self.min_available_mib = min(self.min_available_mib, B.available_mib())
        self.samples.append((round(time.monotonic() - self.t0, 1), round(rss)))
        for pid in {*server_pids, *B.descendants(os.getpid())}:
            c = B.cpu_seconds(pid)
            if pid in self.cpu:
                self.cpu[pid][1] = max(self.cpu[pid][1], c)
            else:
                self.cpu[pid] = [c, c, float(pid in server_pids)]

    async def _loop(self) -> None:
        while True:
            self.sample()
            await asyncio.sleep(0.5)

    def start(self) -> None:
        """Start sampling in the background."""
        self.sample()
        self._task = asyncio.ensure_future(self._loop())

    async def stop(self) -> dict[str, Any]:
        """Stop; the peak memory and the CPU seconds by side."""
        if self._task:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
        self.sample()
        server_cpu = sum(v[1] - v[0] for v in self.cpu.values() if v[2])
        browser_cpu = sum(v[1] - v[0] for v in self.cpu.values() if not v[2])
        return {
            "peak_server_tree_rss_mib": round(self.peak_rss_mib),
            "min_available_mib": round(self.min_available_mib),
            "server_cpu_s": round(server_cpu, 1),
            "browser_cpu_s": round(browser_cpu, 1),
            "rss_timeline_mib": self.samples[:: max(1, len(self.samples) // 60)],
        }


def uses_browser(index: int, args: argparse.Namespace) -> bool:
    """Whether delegate ``index`` opens the page in a real browser (``--browsers`` of them,
    spread evenly through the burst) rather than over the protocol (:mod:`benchmarks._protocol`)."""
    n, k = args.delegates_now, min(args.browsers, args.delegates_now)
    return k > 0 and (index * k) // n != ((index + 1) * k) // n


async def delegate(browser: Any, server: B.Server, notebook: str, index: int, at_s: float,
                   t0: float, slots: asyncio.Semaphore, args: argparse.Namespace) -> dict[str, Any]:
    """One delegate: arrive at ``at_s``, open the notebook, make the changes, leave."""
    await asyncio.sleep(max(0.0, t0 + at_s - time.monotonic()))
    arrived = time.monotonic() - t0
    meta = B.notebook_meta(notebook)
    out: dict[str, Any] = {"i": index, "notebook": notebook, "scheduled_s": round(at_s, 2),
                           "errors": [], "latency_ms": []}
    if not uses_browser(index, args):
        out["kind"] = "protocol"
        out["late_s"] = round(max(0.0, arrived - at_s), 2)
        r = await protocol_delegate(server.url, notebook, changes=args.changes if meta["app"]
                                    else 0, timeout_s=args.tti_timeout)
        out.update({k: v for k, v in r.items() if k != "errors"})
        out["errors"] += r["errors"]
        out["done_s"] = round(time.monotonic() - t0, 2)
        return out
    out["kind"] = "browser"
    async with slots:
        started = time.monotonic() - t0
        out["late_s"] = round(started - arrived + max(0.0, arrived - at_s), 2)
        context = await B.new_context(browser)
        page = await context.new_page()
        watch = B.PageWatch(page)
        try:
            r = await B.open_until_interactive(page, f"{server.url}voila/render/{notebook}",
                                               timeout_s=args.tti_timeout, **meta)
            out["tti_ms"] = r["tti_ms"]
            info = await B.describe_control(page) if meta["app"] else None
            state: dict[str, Any] = {}
            for _ in range(args.changes if info else 0):
                c = await B.change_control(page, info, state)
                if c["ms"] is None:
                    out["errors"].append("a control change did not redraw a chart in 15 s")
                    break
                out["latency_ms"].append(c["ms"])
                await B.wait_quiet(page, timeout_s=args.tti_timeout)
                await asyncio.sleep(0.2)
            out["errors"] += await B.page_problems(page, watch)
        except B.NotInteractive as exc:
            out["errors"].append(f"not interactive: {str(exc)[:200]}")
        except Exception as exc:  # noqa: BLE001 - any failure is this delegate's error
            out["errors"].append(f"{type(exc).__name__}: {str(exc)[:200]}")
        finally:
            out["kernel_ids"] = watch.kernel_ids
            await context.close()
        out["done_s"] = round(time.monotonic() - t0, 2)
    return out


def pools_for(n: int, args: argparse.Namespace) -> dict[str, int]:
    """Pool size per notebook for a burst of ``n`` delegates."""
    if not args.rotate:
        return {args.notebook: n}
    counts = {nb: 0 for nb in B.WORKBOOKS}
    for i in range(n):
        counts[B.WORKBOOKS[i % len(B.WORKBOOKS)]] += 1
    return {nb: c for nb, c in counts.items() if c}


def kernels_needed(pools: dict[str, int], other_pool: int) -> int:
    """Kernels the server will start: the burst pools plus the other notebooks' pools."""
    return sum(pools.values()) + other_pool * (len(B.ALL_NOTEBOOKS) - len(pools))


async def run_burst(browser: Any, n: int, args: argparse.Namespace) -> dict[str, Any]:
    """Start a server with a pool for ``n``, warm it, run the burst, stop the server."""
    pools = pools_for(n, args)
    refill = args.refill_delay if args.refill_delay is not None else max(120.0, args.over + 60)
    server_args = ["--pool-size", str(args.other_pool), "--refill-delay", f"{refill:g}"]
    for nb, size in pools.items():
        server_args += ["--pool", f"{nb}={size}"]
    needed = kernels_needed(pools, args.other_pool)
    result: dict[str, Any] = {
        "delegates": n,
        "over_s": args.over,
        "server_args": server_args,
        "executor_timeout": args.executor_timeout,
        "kernels": needed,
        "machine_before": B.machine(),
    }
    estimate = needed * KERNEL_BUDGET_MIB + args.max_contexts * BROWSER_BUDGET_MIB
    if estimate > B.available_mib() - MEMORY_RESERVE_MIB:
        result["skipped"] = (f"would need about {estimate / 1024:.1f} GiB; "
                             f"{B.available_mib() / 1024:.1f} GiB available")
        return result
    result["available_mib_before_server"] = round(B.available_mib())
    server = B.Server(server_args, f"load-{n}", executor_timeout=args.executor_timeout)
    people: list[dict[str, Any]] = []
    try:
        _log(f"burst of {n}: starting the server ({needed} kernels to warm)")
        server.start()
        warm = server.wait_kernels_idle(needed, args.warm_timeout,
                                        min_available_mib=MEMORY_RESERVE_MIB)
        result["warm"] = warm
        _log(f"  warm: {warm}")
        if not warm["ok"]:
            result["skipped"] = "the pool did not warm: " + warm.get("reason", "timed out")
            return result
        result["server_rss_before_mib"] = round(server.tree_rss_mib())
        slots = asyncio.Semaphore(args.max_contexts)
        sampler = Sampler(server)
        sampler.start()
        t0 = time.monotonic()
        load0 = os.getloadavg()[0]
        gap = args.over / n
        rota = [B.WORKBOOKS[i % len(B.WORKBOOKS)] if args.rotate else args.notebook
                for i in range(n)]
        people = await asyncio.gather(*(
            delegate(browser, server, rota[i], i, i * gap, t0, slots, args) for i in range(n)
        ))
        result["burst_s"] = round(time.monotonic() - t0, 1)
        result.update(await sampler.stop())
        # What the server, its kernels and the browsers really took from the machine: the fall in
        # MemAvailable (the sum of RSS counts the pages forked kernels share many times over).
        result["memory_used_mib"] = result["available_mib_before_server"] - \
            result["min_available_mib"]
        result["load_average_1min_before_after"] = [round(load0, 2),
                                                    round(os.getloadavg()[0], 2)]
    except Exception as exc:  # noqa: BLE001 - the server failed: reported, the series goes on
        result["skipped"] = f"{type(exc).__name__}: {str(exc)[:200]}"
        return result
    finally:
        result["leftovers"] = server.stop()
        result["server_log"] = str(server.log_path)
    tti = [p["tti_ms"] for p in people if "tti_ms" in p and p["kind"] == "browser"]
    lat = [ms for p in people if p["kind"] == "browser" for ms in p["latency_ms"]]
    proto = [p for p in people if p["kind"] == "protocol"]
    failed = [p for p in people if p["errors"]]
    result.update({
        "browsers": sum(1 for p in people if p["kind"] == "browser"),
        "tti_ms": B.summary(tti),
        "latency_ms": B.summary(lat),
        "protocol_tti_ms": B.summary([p["tti_ms"] for p in proto if "tti_ms" in p]),
        "protocol_latency_ms": B.summary([ms for p in proto for ms in p["latency_ms"]]),
        "errors": len(failed),
        "error_examples": sorted({e[:160] for p in failed for e in p["errors"]})[:8],
        "late_delegates": sum(1 for p in people if p.get("late_s", 0) > 1.0),
        "max_late_s": max((p.get("late_s", 0) for p in people), default=0),
        "people": people,
    })
    protocol_p95 = result["protocol_tti_ms"]["p95"] if proto else 0
    result["holds_bar"] = bool(not failed and len(tti) == result["browsers"]
                               and (not tti or result["tti_ms"]["p95"] <= TARGET_TTI_P95_MS)
                               and protocol_p95 <= TARGET_TTI_P95_MS)
    return result


def report(runs: list[dict[str, Any]]) -> None:
    """One row per burst."""
    rows = []
    for r in runs:
        if "skipped" in r:
            rows.append([str(r["delegates"]), f"{r['over_s']:.0f}", "-", "-", "-", "-", "-", "-",
                         "-", "-", "-", "-", "skipped: " + r["skipped"][:50]])
            continue
        t, lat = r["tti_ms"], r["latency_ms"]
        pt, pl = r["protocol_tti_ms"], r["protocol_latency_ms"]
        rows.append([
            f"{r['delegates']} ({r['browsers']} in browsers)", f"{r['over_s']:.0f}",
            f"{r['warm']['warm_s']:.0f}",
            B.fmt(t["median"]), B.fmt(t["p95"]), B.fmt(lat["p95"]),
            B.fmt(pt["median"]), B.fmt(pt["p95"]), B.fmt(pl["p95"]), str(r["errors"]),
            f"{r['memory_used_mib'] / 1024:.1f} ({r['peak_server_tree_rss_mib'] / 1024:.1f})",
            f"{r['server_cpu_s']:.0f}/{r['browser_cpu_s']:.0f}",
            ("HOLDS" if r["holds_bar"] else "FAILS")
            + (f" ({r['late_delegates']} late)" if r["late_delegates"] else ""),
        ])
    B.print_table(
        "Load test: bar = p95 time to interactive <= 3000 ms (in the browser, and server-side for "
        "the others) and no errors",
        ["delegates", "over s", "warm s", "browser TTI p50", "p95", "change p95",
         "server-side TTI p50", "p95", "change p95", "errors", "GiB used (sum RSS)",
         "CPU s srv/browser",
         "verdict"],
        rows,
    )
    for r in runs:
        for e in r.get("error_examples", []):
            print(f"  {r['delegates']}: {e}")


def parser() -> argparse.ArgumentParser:
    """The load test's options."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--delegates", type=int, default=50, help="delegates in the burst (N)")
    p.add_argument("--over", type=float, default=60.0, help="seconds over which they arrive (T)")
    p.add_argument("--notebook", default=DEFAULT_NOTEBOOK, help="the notebook they open")
    p.add_argument("--rotate", action="store_true",
                   help="delegate i opens workbook i mod 5 (pools split accordingly)")
    p.add_argument("--changes", type=int, default=5, help="control changes per delegate")
    p.add_argument("--browsers", type=int, default=10,
                   help="how many of the delegates open the page in a real browser context (spread "
                        "evenly); the rest go through the page's own HTTP and websocket messages "
                        "without a browser (benchmarks/_protocol.py). Default 10; --browsers N for "
                        "all N in browsers")
    p.add_argument("--tti-timeout", type=float, default=30.0,
                   help="seconds a page may take to become interactive before it is an error")
    p.add_argument("--max-contexts", type=int, default=16,
                   help="browser contexts open at once (delegates queue for one)")
    p.add_argument("--other-pool", type=int, default=1,
                   help="pool size for the notebooks nobody opens (default 1, as shipped)")
    p.add_argument("--refill-delay", type=float, default=None,
                   help="the server's --refill-delay (default max(120, T + 60))")
    p.add_argument("--executor-timeout", type=float, default=None,
                   help="diagnosis only, not the shipped configuration: Voilà's per-cell "
                        "execution timeout in seconds (shipped: 60)")
    p.add_argument("--warm-timeout", type=float, default=900.0,
                   help="seconds to wait for the pool to warm")
    p.add_argument("--find-max", action="store_true",
                   help="step the burst up to find the largest that holds the bar")
    p.add_argument("--steps", default="50,75,100,125,150",
                   help="burst sizes for --find-max (comma-separated)")
    p.add_argument("--budget", type=float, default=2400.0,
                   help="--find-max: total seconds to spend (default 2400)")
    p.add_argument("--out", type=Path, default=B.RESULTS / "load_test.json")
    return p


async def run(args: argparse.Namespace) -> dict[str, Any]:
    """One burst, or the --find-max series."""
    from playwright.async_api import async_playwright

    sizes = [int(s) for s in args.steps.split(",")] if args.find_max else [args.delegates]
    t_start = time.monotonic()
    runs: list[dict[str, Any]] = []
    async with async_playwright() as p:
        browser = await B.launch(p)
        try:
            for n in sizes:
                if n < 1 or n > 200:
                    raise SystemExit(f"a burst must be 1 to 200 delegates; got {n}")
                spent = time.monotonic() - t_start
                guess = kernels_needed(pools_for(n, args), args.other_pool) * 4 + args.over + 90
                if args.find_max and runs and spent + guess > args.budget:
                    runs.append({"delegates": n, "over_s": args.over,
                                 "skipped": f"would exceed the {args.budget:.0f} s budget"})
                    break
                args.delegates_now = n
                r = await run_burst(browser, n, args)
                runs.append(r)
                _log(f"burst of {n}: " + (r.get("skipped") or
                                          f"p95 TTI {r['tti_ms']['p95']} ms, {r['errors']} errors"))
                if args.find_max and not r.get("holds_bar"):
                    break
        finally:
            await browser.close()
    held = [r["delegates"] for r in runs if r.get("holds_bar")]
    return {
        "settings": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        "machine": B.machine(),
        "runs": runs,
        "largest_burst_holding_bar": max(held) if held else None,
        "leftover_processes": [x for r in runs for x in r.get("leftovers", [])],
        "duration_s": round(time.monotonic() - t_start, 1),
    }


def main(argv: list[str] | None = None) -> None:
    """Run, print, write the JSON."""
    args = parser().parse_args(argv)
    if args.delegates < 1 or args.over <= 0:
        raise SystemExit("--delegates must be at least 1 and --over more than 0")
    result = asyncio.run(run(args))
    m = result["machine"]
    print(f"\nMachine: {m['cores']} cores, {m['ram_gib']} GiB RAM, {m['cpu_model']}; load average "
          f"at the end {m['load_average']}; {result['duration_s']:.0f} s")
    for r in result["runs"]:
        if "machine_before" in r:
            print(f"  burst of {r['delegates']}: load average before "
                  f"{r['machine_before']['load_average']}")
    report(result["runs"])
    if args.find_max:
        print(f"\nLargest burst holding the bar: {result['largest_burst_holding_bar']}")
    left = result["leftover_processes"]
    print(f"Processes left behind: {len(left)}" + (f": {left}" if left else ""))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2, default=str) + "\n")
    print(f"Written {args.out}")


if __name__ == "__main__":
    main()
