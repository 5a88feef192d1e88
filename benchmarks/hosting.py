"""Hosting benchmark: what a delegate's browser and this machine see, Voilà cold vs preheated.

Run: ``.venv/bin/python -m benchmarks.hosting [--all] [--only tti,latency,bytes,memory,throughput]
[--repeats 5] [--changes 20] [--window 60] [--quick]``. Everything runs in one go on this machine,
in headless Debian chromium through Playwright, against ``python -m pbc_lib.hosting`` on a free
loopback port (and ``python -m http.server`` for the static floor), and writes every figure to
``benchmarks/results/hosting.json``. The five workbooks by default; ``--all`` for all 13 pages.

1. **Time to interactive** (navigation to: ``#rendered_cells`` shown, every chart the notebook's
   metadata promises drawn, a control present, the kernel websocket silent; see
   :mod:`benchmarks._browser`) for (a) Voilà's default, a new Python kernel per visit
   (``--pool-size 0 --no-fork-kernels``), (b) the shipped configuration: preheated pools (one
   kernel per notebook) of kernels forked from the fork server (each load waits until the pool
   has refilled and the server is idle, at least ``--refill-wait`` seconds after the previous load
   of the same notebook), each notebook once as a first visit (empty browser cache) and once as a
   returning delegate (scripts cached), and (c) the static floor: the offline HTML copy
   (``python -m pbc_lib.export``, or ``jupyter nbconvert --to html`` if that module is absent)
   served by ``python -m http.server``, navigation to charts drawn. Targets: preheated median
   at most 1.0 s and at most 1.5 times the static floor.
2. **Interaction latency**: ``--changes`` changes of the first ``.pbc-control`` (a dropdown
   cycles through its options, a slider walks one step at a time and turns at its ends), each
   timed in the page from the input event to the first DOM change inside a chart
   (``figure.pbc-chart``). Target: p95 at most 250 ms.
3. **Bytes per page view** on the wire: the browser reaches the server through a loopback relay
   that counts every byte both ways (:class:`WireCounter`: HTTP as sent, gzip included; websocket
   frames as sent, permessage-deflate included), for a first view with an empty cache and a
   second view in the same browser context. A Chrome DevTools Protocol session (Network domain)
   gives the breakdown: HTTP bytes (``loadingFinished.encodedDataLength``) and websocket payloads
   (after decompression). Target: second view at most 250 KB on the wire.
4. **Memory** (RSS, PSS, USS from /proc) of each workbook's kernel just after its page became
   interactive (kernel id from the page's websocket URL, process id from the kernel's connection
   file: :meth:`benchmarks._browser.Server.kernels`), of the Voilà server, the chart render
   service and the fork server, against the floor: a bare
   ipykernel started by jupyter_client after ``import pandas, altair, ipywidgets``. Target:
   kernel RSS at most 1.2 times the floor's.
5. **Throughput**: for ``--window`` seconds, sessions (a new browser context each, page load to
   interactive, ``--in-flight`` at a time) against (a) the cold server and (b) a preheated pool of
   ``--pool`` kernels for the session notebook (``--refill-delay`` as shipped unless given).
   Completed sessions per minute and errors. Target: (b) at least 3 times (a). (a) is Voilà's
   default as in 1.

Servers are stopped at the end (SIGTERM, then SIGKILL) and the run checks that none of their
kernels is left. Figures depend on the machine and on whatever else it is doing: the load average
before and after is printed and saved, so a noisy run can be recognised and repeated.

Sources: Voilà 0.5.13 (preheated kernels, ``voila/voila_kernel_manager.py``), Playwright for
Python, the Chrome DevTools Protocol Network domain, the Jupyter kernel websocket protocol v1
(``jupyter_server/services/kernels/connection/base.py``), Linux ``proc(5)`` (VmRSS,
smaps_rollup) and ``/work/shared/tech-notes.md`` sections 4 to 6 (earlier measurements).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable
from pathlib import Path
from typing import Any

from benchmarks import _browser as B

MEASUREMENTS = ("tti", "latency", "bytes", "memory", "throughput")
TARGET_TTI_S = 1.0
TARGET_TTI_VS_STATIC = 1.5
TARGET_LATENCY_P95_MS = 250.0
TARGET_BYTES_KB = 250.0
TARGET_MEMORY_RATIO = 1.2
TARGET_THROUGHPUT_RATIO = 3.0
FLOOR_IMPORTS = "import pandas, altair, ipywidgets"
#: Voilà's default behaviour, the baseline: no pool (a new kernel runs the notebook on every visit)
#: and every kernel a new Python (no fork server). Page template, compression and the shared chart
#: renderer stay as shipped, so the comparison is about kernels only.
VOILA_DEFAULT = ["--pool-size", "0", "--no-fork-kernels"]
PHASES = ("response_end_ms", "dom_content_loaded_ms", "load_event_ms", "rendered_ms", "charts_ms",
          "ws_last_ms", "tti_ms")


def _url(server_url: str, notebook: str) -> str:
    return f"{server_url}voila/render/{notebook}"


def _log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


async def wait_tree_idle(server: B.Server, timeout_s: float = 90.0, settle_s: float = 1.0) -> float:
    """Wait until the server and its children used under 0.05 CPU s per process over
    ``settle_s`` (a pool refill has finished); return the seconds waited."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout_s:
        pids = [server.pid, *server.children()]
        before = {p: B.cpu_seconds(p) for p in pids}
        await asyncio.sleep(settle_s)
        used = sum(B.cpu_seconds(p) - c for p, c in before.items() if B.alive(p))
        if used <= 0.05 * len(pids):
            break
    return time.monotonic() - t0


# --- Static floor ---------------------------------------------------------------------------------


def build_static(notebooks: list[str], folder: Path) -> dict[str, Any]:
    """Write the offline HTML of ``notebooks`` into ``folder``; return how, and each page's path.

    Uses ``python -m pbc_lib.export`` when the module exists, else ``jupyter nbconvert --to html
    --no-input`` of the committed notebooks (whose widget views, charts included, are then absent:
    the notebooks store no widget state).
    """
    out = folder / "site"
    t0 = time.monotonic()
    if (B.REPO / "pbc_lib" / "export.py").exists():
        method = "python -m pbc_lib.export"
        cmd = [sys.executable, "-m", "pbc_lib.export", "--out", str(out), *notebooks]
    else:
        method = "jupyter nbconvert --to html --no-input"
        out.mkdir(parents=True)
        cmd = [sys.executable, "-m", "jupyter", "nbconvert", "--to", "html", "--no-input",
               "--output-dir", str(out), *notebooks]
    proc = subprocess.run(cmd, cwd=B.REPO, capture_output=True, text=True, timeout=1800)
    if proc.returncode != 0:
        raise RuntimeError(f"{method} failed:\n{proc.stderr[-2000:]}")
    pages = {}
    for nb in notebooks:
        stem = Path(nb).stem
        found = sorted(out.rglob(f"{stem}.html"))
        if not found:
            raise RuntimeError(f"{method} wrote no page for {nb}")
        pages[nb] = found[0].relative_to(out).as_posix()
    return {"method": method, "root": out, "pages": pages, "build_s": time.monotonic() - t0}


class StaticServer:
    """``python -m http.server`` on loopback, serving one folder."""

    def __init__(self, root: Path) -> None:
        self.port = B.free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "http.server", str(self.port), "--bind", "127.0.0.1",
             "--directory", str(root)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                import urllib.request

                with urllib.request.urlopen(self.url, timeout=2):
                    return
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError("python -m http.server did not start")

    def stop(self) -> None:
        """Terminate it (then kill)."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


# --- 1. Time to interactive -----------------------------------------------------------------------


async def one_view(browser: Any, url: str, *, charts: int, app: bool, voila: bool,
                   timeout_s: float) -> dict[str, Any]:
    """Open ``url`` in a fresh context until interactive; timings or the error."""
    context = await B.new_context(browser)
    page = await context.new_page()
    watch = B.PageWatch(page)
    try:
        r = await B.open_until_interactive(page, url, charts=charts, app=app, voila=voila,
                                           timeout_s=timeout_s)
        problems = await B.page_problems(page, watch)
        if problems:
            r["problems"] = problems
        r["kernel_ids"] = watch.kernel_ids
        return r
    except Exception as exc:  # noqa: BLE001 - recorded as this view's error
        return {"error": f"{type(exc).__name__}: {str(exc)[:300]}"}
    finally:
        await context.close()


def _tti_summary(views: list[dict[str, Any]]) -> dict[str, Any]:
    ok = [v["tti_ms"] for v in views if "tti_ms" in v]
    return {
        "tti_ms": B.summary(ok),
        "errors": [v["error"] for v in views if "error" in v],
        "problems": [p for v in views for p in v.get("problems", [])],
        "views": views,
    }


async def measure_tti_static(browser: Any, notebooks: list[str], repeats: int,
                             timeout_s: float) -> dict[str, Any]:
    """Static floor: the offline copy over http.server, navigation to charts drawn."""
    folder = Path(tempfile.mkdtemp(prefix="pbc-bench-static-"))
    try:
        _log("static floor: building the offline copy")
        built = build_static(notebooks, folder)
        server = StaticServer(built["root"])
        try:
            out: dict[str, Any] = {"method": built["method"], "build_s": round(built["build_s"], 1),
                                   "notebooks": {}}
            for nb in notebooks:
                meta = B.notebook_meta(nb)
                url = server.url + built["pages"][nb]
                size = (built["root"] / built["pages"][nb]).stat().st_size
                views = []
                for _ in range(repeats):
                    views.append(await one_view(browser, url, charts=meta["charts"], app=False,
                                                voila=False, timeout_s=min(timeout_s, 30)))
                res = _tti_summary(views)
                res["page_bytes"] = size
                out["notebooks"][nb] = res
                _log(f"  static {nb}: median {res['tti_ms']['median']} ms")
            return out
        finally:
            server.stop()
    finally:
        shutil.rmtree(folder, ignore_errors=True)


async def measure_tti_voila(browser: Any, server: B.Server, notebooks: list[str], repeats: int,
                            *, preheated: bool, refill_wait: float,
                            timeout_s: float) -> dict[str, Any]:
    """Voilà loads, round-robin over the notebooks, in pairs: notebook i in a fresh browser context
    (a **first visit**: empty cache), then notebook i+1 in the same context (a **returning**
    delegate: the page's scripts are cached). Each load waits for an idle server (and, when
    preheated, ``refill_wait`` seconds since the same notebook's previous load)."""
    results: dict[str, dict[str, list[dict[str, Any]]]] = {
        nb: {"first": [], "returning": []} for nb in notebooks}
    last: dict[str, float] = {}
    waits = []

    async def load(page: Any, nb: str) -> dict[str, Any]:
        if preheated and nb in last:
            await asyncio.sleep(max(0.0, refill_wait - (time.monotonic() - last[nb])))
        waits.append(await wait_tree_idle(server))
        meta = B.notebook_meta(nb)
        watch = B.PageWatch(page)
        try:
            r = await B.open_until_interactive(page, _url(server.url, nb), charts=meta["charts"],
                                               app=meta["app"], voila=True, timeout_s=timeout_s)
            problems = await B.page_problems(page, watch)
            if problems:
                r["problems"] = problems
            r["kernel_ids"] = watch.kernel_ids
        except Exception as exc:  # noqa: BLE001 - recorded as this view's error
            r = {"error": f"{type(exc).__name__}: {str(exc)[:300]}"}
        last[nb] = time.monotonic()
        await page.goto("about:blank")
        return r

    for _ in range(repeats):
        for i, nb in enumerate(notebooks):
            context = await B.new_context(browser)
            try:
                page = await context.new_page()
                results[nb]["first"].append(await load(page, nb))
                then = notebooks[(i + 1) % len(notebooks)]
                results[then]["returning"].append(await load(page, then))
            finally:
                await context.close()
    out = {nb: {**_tti_summary(v["first"]), "returning": _tti_summary(v["returning"])}
           for nb, v in results.items()}
    for nb, res in out.items():
        _log(f"  {'preheated' if preheated else 'cold'} {nb}: median {res['tti_ms']['median']} ms "
             f"first visit, {res['returning']['tti_ms']['median']} ms returning"
             + (f", {len(res['errors'])} errors" if res["errors"] else ""))
    return {"notebooks": out, "idle_wait_s_median": round(statistics.median(waits), 1)}


def report_tti(tti: dict[str, Any], notebooks: list[str]) -> None:
    """Print the time-to-interactive table and add ratios and target verdicts to ``tti``."""
    rows = []
    verdicts = {}
    for nb in notebooks:
        cells = [Path(nb).stem]
        med = {}
        for mode in ("cold", "preheated", "preheated-returning", "static"):
            res = tti.get(mode.split("-")[0], {}).get("notebooks", {}).get(nb)
            if res is not None and mode.endswith("returning"):
                res = res.get("returning")
            if res is None:
                cells.append("-")
                continue
            s = res["tti_ms"]
            med[mode] = s["median"]
            errs = len(res["errors"])
            cells.append(f"{B.fmt(s['median'])} ({B.fmt(s['min'])}-{B.fmt(s['max'])})"
                         + (f" {errs} err" if errs else ""))
        ratio = med.get("preheated", math.nan) / med.get("static", math.nan) \
            if med.get("static") else math.nan
        cold_ratio = med.get("cold", math.nan) / med.get("preheated", math.nan) \
            if med.get("preheated") else math.nan
        cells += [B.fmt(ratio, 2), B.fmt(cold_ratio, 1)]
        ok_abs = med.get("preheated", math.inf) <= TARGET_TTI_S * 1000
        ok_rel = not ratio > TARGET_TTI_VS_STATIC  # NaN (no static) counts as not judged
        verdicts[nb] = {
            "preheated_median_ms": med.get("preheated"),
            "preheated_returning_median_ms": med.get("preheated-returning"),
            "preheated_over_static": None if math.isnan(ratio) else round(ratio, 2),
            "cold_over_preheated": None if math.isnan(cold_ratio) else round(cold_ratio, 1),
            "meets_1s": bool(ok_abs) if "preheated" in med else None,
            "meets_1_5x_static": bool(ok_rel) if not math.isnan(ratio) else None,
        }
        cells.append(("ok" if ok_abs else "MISS") + "/" + ("-" if math.isnan(ratio) else
                                                           ("ok" if ok_rel else "MISS")))
        rows.append(cells)
    B.print_table(
        "1. Time to interactive, ms: median (min-max); first visit = empty browser cache; targets "
        "(judged on the first visit) preheated <= 1000 ms and <= 1.5x static",
        ["notebook", "Voila cold", "preheated", "preheated, returning", "static floor",
         "pre/static", "cold/pre", "1s/1.5x"],
        rows,
    )
    if "static" in tti:
        print(f"  static floor built with: {tti['static']['method']}")
    tti["verdicts"] = verdicts
    rows = []
    for mode in ("cold", "preheated", "static"):
        for nb in notebooks:
            res = tti.get(mode, {}).get("notebooks", {}).get(nb)
            if res is None:
                continue
            views = [v for v in res["views"] if "tti_ms" in v]
            cells = [f"{mode} {Path(nb).stem}"]
            for key in PHASES:
                vals = [v[key] for v in views if v.get(key) is not None]
                cells.append(B.fmt(statistics.median(vals)) if vals else "-")
            rows.append(cells)
    B.print_table(
        "   Where the time goes (medians, ms from navigation, page clock)",
        ["mode notebook", "HTML received", "DOM ready", "load event", "cells shown",
         "charts drawn", "last ws msg", "interactive"],
        rows,
    )


# --- 2. Interaction latency -----------------------------------------------------------------------


async def measure_latency(browser: Any, server: B.Server, notebooks: list[str], changes: int,
                          timeout_s: float) -> dict[str, Any]:
    """``changes`` control changes per app notebook, timed in the page."""
    out = {}
    for nb in notebooks:
        meta = B.notebook_meta(nb)
        if not meta["app"]:
            continue
        await wait_tree_idle(server)
        context = await B.new_context(browser)
        page = await context.new_page()
        watch = B.PageWatch(page)
        try:
            await B.open_until_interactive(page, _url(server.url, nb), timeout_s=timeout_s, **meta)
            info = await B.describe_control(page)
            if info is None:
                out[nb] = {"error": "no .pbc-control this benchmark can change"}
                continue
            state: dict[str, Any] = {}
            samples = []
            for _ in range(changes):
                samples.append(await B.change_control(page, info, state))
                await B.wait_quiet(page)
                await asyncio.sleep(0.1)
            problems = await B.page_problems(page, watch)
        except Exception as exc:  # noqa: BLE001 - recorded
            out[nb] = {"error": f"{type(exc).__name__}: {str(exc)[:300]}"}
            continue
        finally:
            await context.close()
        ms = [s["ms"] for s in samples if s["ms"] is not None]
        fresh = [s["ms"] for s in samples if s["ms"] is not None and s["new_value"]]
        out[nb] = {
            "control": info["kind"],
            "all": B.summary(ms),
            "new_values": B.summary(fresh),
            "timeouts": sum(s["timeout"] for s in samples),
            "problems": problems,
            "samples": samples,
        }
        _log(f"  latency {nb}: median {out[nb]['all']['median']} ms, p95 {out[nb]['all']['p95']}")
    return out


def report_latency(lat: dict[str, Any]) -> None:
    """Print the interaction latency table."""
    rows = []
    for nb, r in lat.items():
        if "error" in r:
            rows.append([Path(nb).stem, "-", "-", "-", "-", "-", "-", r["error"][:40]])
            continue
        a, f = r["all"], r["new_values"]
        rows.append([Path(nb).stem, r["control"], str(a["n"]), B.fmt(a["median"]), B.fmt(a["p95"]),
                     B.fmt(a["max"]), f"{B.fmt(f['median'])}/{B.fmt(f['p95'])} (n={f['n']})",
                     ("ok" if a["p95"] <= TARGET_LATENCY_P95_MS else "MISS")
                     + (f", {r['timeouts']} timeouts" if r["timeouts"] else "")])
        r["meets_target"] = bool(a["p95"] <= TARGET_LATENCY_P95_MS) and not r["timeouts"]
    B.print_table(
        "2. Interaction latency, ms (input event -> chart DOM change, in the page); target p95 "
        "<= 250 ms",
        ["notebook", "control", "n", "median", "p95", "max", "new values med/p95", "target"],
        rows,
    )


# --- 3. Bytes -------------------------------------------------------------------------------------


def describe_frame(data: bytes | str) -> str:
    """A short description of a kernel websocket frame: channel, message type, comm method."""
    try:
        if isinstance(data, str):
            msg = json.loads(data)
            channel, header, content = msg.get("channel", ""), msg["header"], msg.get("content", {})
            buffers = len(msg.get("buffers", []))
        else:
            n = int.from_bytes(data[:8], "little")
            offsets = [int.from_bytes(data[8 * (i + 1): 8 * (i + 2)], "little") for i in range(n)]
            if offsets[-1] != len(data):
                offsets.append(len(data))
            parts = [data[offsets[i]:offsets[i + 1]] for i in range(len(offsets) - 1)]
            channel = parts[0].decode()
            header = json.loads(parts[1])
            content = json.loads(parts[4]) if len(parts) > 4 else {}
            buffers = max(0, len(parts) - 5)
        text = f"{channel}/{header.get('msg_type', '?')}"
        payload = content.get("data", {}) if isinstance(content, dict) else {}
        if isinstance(payload, dict) and payload.get("method"):
            text += f" {payload['method']}"
            state = payload.get("state", {})
            if isinstance(state, dict) and state:
                model = state.get("_model_name", "")
                big = max(state, key=lambda k: len(json.dumps(state[k], default=str)))
                text += f" {model} ({len(state)} traits, largest: {big})"
        if isinstance(content, dict) and content.get("comms") is not None:
            text += f" ({len(content['comms'])} comms)"
        if buffers:
            text += f" +{buffers} buffers"
        return text
    except Exception:  # noqa: BLE001 - a frame we cannot parse is still counted
        return "unparsed frame"


class NetworkTally:
    """HTTP and websocket bytes of one page, from a CDP session's Network events."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        """Start counting a new view."""
        self.requests: dict[str, dict[str, Any]] = {}
        self.frames: list[dict[str, Any]] = []

    def attach(self, cdp: Any) -> None:
        """Subscribe to the session's Network events."""
        cdp.on("Network.requestWillBeSent", self._sent)
        cdp.on("Network.responseReceived", self._response)
        cdp.on("Network.requestServedFromCache", self._from_cache)
        cdp.on("Network.loadingFinished", self._finished)
        cdp.on("Network.webSocketFrameReceived", lambda e: self._frame(e, "received"))
        cdp.on("Network.webSocketFrameSent", lambda e: self._frame(e, "sent"))

    def _req(self, rid: str) -> dict[str, Any]:
        return self.requests.setdefault(rid, {"url": "", "bytes": 0, "cached": False,
                                              "status": None, "finished": False})

    def _sent(self, e: dict[str, Any]) -> None:
        self._req(e["requestId"])["url"] = e["request"]["url"]

    def _response(self, e: dict[str, Any]) -> None:
        r = self._req(e["requestId"])
        resp = e["response"]
        r["status"] = resp.get("status")
        r["mime"] = resp.get("mimeType", "")
        if resp.get("fromDiskCache") or resp.get("fromServiceWorker") or \
                resp.get("fromPrefetchCache") or resp.get("fromMemoryCache"):
            r["cached"] = True

    def _from_cache(self, e: dict[str, Any]) -> None:
        self._req(e["requestId"])["cached"] = True

    def _finished(self, e: dict[str, Any]) -> None:
        r = self._req(e["requestId"])
        r["bytes"] = int(e.get("encodedDataLength", 0))
        r["finished"] = True

    def _frame(self, e: dict[str, Any], direction: str) -> None:
        resp = e["response"]
        if resp.get("opcode") == 2:
            data: bytes | str = base64.b64decode(resp.get("payloadData", ""))
            size = len(data)
        else:
            data = resp.get("payloadData", "")
            size = len(data.encode("utf-8"))
        self.frames.append({"direction": direction, "bytes": size, "what": describe_frame(data)})

    def summary(self, top: int = 5) -> dict[str, Any]:
        """Totals, counts and the largest resources and frames of the view."""
        net = [r for r in self.requests.values() if not r["cached"] and r["finished"]]
        cached = [r for r in self.requests.values() if r["cached"]]
        http = sum(r["bytes"] for r in net)
        ws_in = sum(f["bytes"] for f in self.frames if f["direction"] == "received")
        ws_out = sum(f["bytes"] for f in self.frames if f["direction"] == "sent")
        return {
            "http_bytes": http,
            "ws_bytes_received": ws_in,
            "ws_bytes_sent": ws_out,
            "total_bytes": http + ws_in + ws_out,
            "requests_network": len(net),
            "requests_304": sum(1 for r in net if r["status"] == 304),
            "requests_from_cache": len(cached),
            "ws_frames": len(self.frames),
            "largest_resources": [
                {"url": r["url"].split("?")[0][-80:], "bytes": r["bytes"], "status": r["status"]}
                for r in sorted(net, key=lambda r: -r["bytes"])[:top]
            ],
            "largest_frames": sorted(self.frames, key=lambda f: -f["bytes"])[:top],
        }


class WireCounter:
    """A loopback TCP relay in front of the server that counts the bytes crossing it, both ways.

    The browser talks to the relay's port, so every byte a delegate's network would carry (HTTP
    headers and bodies as sent, gzip included; websocket frames as sent, permessage-deflate
    included) is counted; CDP's websocket figures are the payloads after decompression.
    """

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.port = B.free_port()
        self.down = self.up = 0  # server -> browser, browser -> server
        self._server: asyncio.AbstractServer | None = None

    def reset(self) -> None:
        """Start counting a new view."""
        self.down = self.up = 0

    async def start(self) -> None:
        """Listen on 127.0.0.1:``port``."""
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)

    async def stop(self) -> None:
        """Stop listening (open relays end with their connections)."""
        if self._server:
            self._server.close()

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                    downstream: bool) -> None:
        try:
            while data := await reader.read(65536):
                if downstream:
                    self.down += len(data)
                else:
                    self.up += len(data)
                writer.write(data)
                await writer.drain()
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            writer.close()

    async def _serve(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        try:
            server_r, server_w = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            client_w.close()
            return
        await asyncio.gather(self._pipe(client_r, server_w, False),
                             self._pipe(server_r, client_w, True))


async def measure_bytes(browser: Any, server: B.Server, notebooks: list[str],
                        timeout_s: float) -> dict[str, Any]:
    """First (empty cache) and second view of each notebook in one browser context, through a
    :class:`WireCounter` (bytes on the wire) with CDP's Network events for the breakdown."""
    out = {}
    wire = WireCounter(server.port)
    await wire.start()
    base = f"http://127.0.0.1:{wire.port}/"
    try:
        for nb in notebooks:
            meta = B.notebook_meta(nb)
            context = await B.new_context(browser)
            page = await context.new_page()
            cdp = await context.new_cdp_session(page)
            tally = NetworkTally()
            tally.attach(cdp)
            await cdp.send("Network.enable")
            views = {}
            try:
                for view in ("first", "second"):
                    await wait_tree_idle(server)
                    tally.reset()
                    wire.reset()
                    r = await B.open_until_interactive(page, _url(base, nb), timeout_s=timeout_s,
                                                       **meta)
                    await asyncio.sleep(1.0)  # late frames (e.g. a comm's echo) still count
                    views[view] = {**tally.summary(), "tti_ms": r["tti_ms"],
                                   "wire_down_bytes": wire.down, "wire_up_bytes": wire.up,
                                   "wire_bytes": wire.down + wire.up}
                    await page.goto("about:blank")
                out[nb] = views
            except Exception as exc:  # noqa: BLE001 - recorded
                out[nb] = {"error": f"{type(exc).__name__}: {str(exc)[:300]}", **views}
            finally:
                await context.close()
            if "second" in out[nb]:
                _log(f"  bytes {nb}: second view {out[nb]['second']['wire_bytes'] / 1024:.0f} KB "
                     f"on the wire ({out[nb]['second']['total_bytes'] / 1024:.0f} KB of "
                     "payload)")
    finally:
        await wire.stop()
    return out


def report_bytes(res: dict[str, Any]) -> None:
    """Print the bytes table and the largest resources and frames."""
    rows = []
    for nb, r in res.items():
        if "second" not in r:
            rows.append([Path(nb).stem, "-", "-", "-", "-", "-", r.get("error", "")[:40]])
            continue
        f, s = r["first"], r["second"]
        kb = s["wire_bytes"] / 1024
        first_ws = (f["ws_bytes_received"] + f["ws_bytes_sent"]) / 1024
        r["meets_target"] = bool(kb <= TARGET_BYTES_KB)
        rows.append([
            Path(nb).stem,
            f"{f['wire_bytes'] / 1024:,.0f}",
            f"{f['http_bytes'] / 1024:,.0f} + {first_ws:,.0f}",
            f"{s['http_bytes'] / 1024:,.0f}",
            f"{s['requests_network']} ({s['requests_304']} x 304)",
            f"{s['ws_bytes_received'] / 1024:,.0f} in / {s['ws_bytes_sent'] / 1024:,.1f} out",
            f"{s['total_bytes'] / 1024:,.0f}",
            f"{s['wire_down_bytes'] / 1024:,.0f} / {s['wire_up_bytes'] / 1024:,.0f}",
            f"{kb:,.0f}",
            ("ok" if kb <= TARGET_BYTES_KB else f"MISS by {kb - TARGET_BYTES_KB:,.0f} KB"),
        ])
    B.print_table(
        "3. Bytes per page view, KB (1 KB = 1024 B); target: second view (warm cache) <= 250 KB "
        "on the wire",
        ["notebook", "1st wire", "1st http+ws payload", "2nd http", "2nd requests",
         "2nd ws payload", "2nd payload", "2nd wire down/up", "2nd wire", "target"],
        rows,
    )
    for nb, r in res.items():
        if "second" not in r:
            continue
        print(f"  {Path(nb).stem}, second view, largest:")
        for x in r["second"]["largest_resources"][:3]:
            print(f"    http {x['bytes'] / 1024:8.1f} KB  {x['status']}  {x['url']}")
        for x in r["second"]["largest_frames"][:3]:
            print(f"    ws   {x['bytes'] / 1024:8.1f} KB  {x['direction']:8s} {x['what'][:90]}")
        break_first = r["first"]["largest_resources"][:3]
        print("    first view's largest resources: " + ", ".join(
            f"{x['url'].rsplit('/', 1)[-1]} {x['bytes'] / 1024:.0f} KB" for x in break_first))


# --- 4. Memory ------------------------------------------------------------------------------------


def floor_kernel_memory() -> dict[str, Any]:
    """A bare ipykernel (jupyter_client, this venv) after ``import pandas, altair, ipywidgets``."""
    from jupyter_client import KernelManager

    env = {k: v for k, v in os.environ.items() if not k.startswith("PBC_")}
    km = KernelManager(kernel_name="python3")
    km.start_kernel(env=env)
    try:
        kc = km.client()
        kc.start_channels()
        kc.wait_for_ready(timeout=60)
        reply = kc.execute_interactive(FLOOR_IMPORTS, timeout=120, output_hook=lambda m: None)
        status = reply["content"]["status"]
        time.sleep(1.0)
        pid = km.provisioner.pid if km.provisioner is not None else None
        mem = B.memory(pid) if pid else {}
        kc.stop_channels()
        return {"status": status, "pid": pid, **{k: round(v, 1) for k, v in mem.items()}}
    finally:
        km.shutdown_kernel(now=False)


async def measure_memory(browser: Any, server: B.Server, notebooks: list[str],
                         timeout_s: float) -> dict[str, Any]:
    """Each notebook's kernel after its page is interactive, the server, the render service."""
    kernels = {}
    for nb in notebooks:
        meta = B.notebook_meta(nb)
        await wait_tree_idle(server)
        context = await B.new_context(browser)
        page = await context.new_page()
        watch = B.PageWatch(page)
        try:
            await B.open_until_interactive(page, _url(server.url, nb), timeout_s=timeout_s, **meta)
            await asyncio.sleep(1.0)
            pids = server.kernels()
            found = [pids[k] for k in watch.kernel_ids if k in pids]
            if len(found) != 1:
                kernels[nb] = {"error": f"page kernel ids {watch.kernel_ids} not matched"}
            else:
                mem = B.memory(found[0])
                kernels[nb] = {"pid": found[0], **{k: round(v, 1) for k, v in mem.items()}}
        except Exception as exc:  # noqa: BLE001 - recorded
            kernels[nb] = {"error": f"{type(exc).__name__}: {str(exc)[:300]}"}
        finally:
            await context.close()
    await wait_tree_idle(server)
    server_mem = {k: round(v, 1) for k, v in B.memory(server.pid).items()}
    rs = server.render_service_pid()
    render_mem = {k: round(v, 1) for k, v in B.memory(rs).items()} if rs else {}
    fs = server.fork_server_pid()
    fork_mem = {k: round(v, 1) for k, v in B.memory(fs).items()} if fs else {}
    _log("  memory: starting the floor kernel")
    floor = floor_kernel_memory()
    for r in kernels.values():
        if "rss" in r and floor.get("rss"):
            r["rss_over_floor"] = round(r["rss"] / floor["rss"], 2)
            r["uss_over_floor"] = round(r["uss"] / floor["uss"], 2)
            r["meets_target"] = bool(r["rss_over_floor"] <= TARGET_MEMORY_RATIO)
    return {
        "kernels": kernels,
        "server": server_mem,
        "server_kernels_alive": len(server.kernels()),
        "render_service": render_mem,
        "fork_server": fork_mem,
        "floor": floor,
        "floor_code": FLOOR_IMPORTS,
    }


def report_memory(res: dict[str, Any]) -> None:
    """Print the memory table."""
    rows = []
    for nb, r in res["kernels"].items():
        if "rss" not in r:
            rows.append([Path(nb).stem + " kernel", "-", "-", "-", "-", r.get("error", "")[:40]])
            continue
        rows.append([Path(nb).stem + " kernel", B.fmt(r["rss"]), B.fmt(r["pss"]), B.fmt(r["uss"]),
                     B.fmt(r.get("rss_over_floor"), 2),
                     "ok" if r.get("meets_target") else "MISS"])
    f = res["floor"]
    rows.append([f"floor: bare kernel + {FLOOR_IMPORTS[7:]}", B.fmt(f.get("rss")),
                 B.fmt(f.get("pss")), B.fmt(f.get("uss")), "1.00", ""])
    s, r = res["server"], res["render_service"]
    rows.append([f"Voila server ({res['server_kernels_alive']} kernels alive)", B.fmt(s["rss"]),
                 B.fmt(s["pss"]), B.fmt(s["uss"]), "", ""])
    rows.append(["render service (vl-convert)", B.fmt(r.get("rss")), B.fmt(r.get("pss")),
                 B.fmt(r.get("uss")), "", ""])
    fk = res.get("fork_server") or {}
    rows.append(["fork server (preloaded, shared with its kernels)", B.fmt(fk.get("rss")),
                 B.fmt(fk.get("pss")), B.fmt(fk.get("uss")), "", ""])
    B.print_table(
        "4. Memory, MiB, after the page is interactive; target kernel RSS <= 1.2x floor "
        "(USS: what each further delegate adds)",
        ["process", "RSS", "PSS", "USS", "RSS/floor", "target"],
        rows,
    )


# --- 5. Throughput --------------------------------------------------------------------------------


async def run_sessions(browser: Any, url: str, meta: dict[str, Any], window_s: float,
                       in_flight: int, timeout_s: float, server: B.Server | None = None,
                       ) -> dict[str, Any]:
    """Start sessions for ``window_s`` seconds, at most ``in_flight`` at a time; count them, and
    the CPU seconds the server side (the server and everything below it) and the whole machine
    spent meanwhile (the rest is the benchmark's own browser)."""
    cpu0 = (B.tree_cpu_seconds(server.pid) if server else 0.0, B.machine_busy_seconds())
    slots = asyncio.Semaphore(in_flight)
    t0 = time.monotonic()
    deadline = t0 + window_s
    sessions: list[dict[str, Any]] = []
    tasks: list[Awaitable[Any]] = []

    async def session() -> None:
        start = time.monotonic() - t0
        try:
            view = await one_view(browser, url, charts=meta["charts"], app=meta["app"], voila=True,
                                  timeout_s=timeout_s)
        finally:
            slots.release()
        end = time.monotonic() - t0
        bad = view.get("error") or "; ".join(view.get("problems", []))
        sessions.append({"start_s": round(start, 2), "end_s": round(end, 2),
                         "tti_ms": view.get("tti_ms"), "error": bad or None})

    while True:
        await slots.acquire()
        if time.monotonic() >= deadline:
            slots.release()
            break
        tasks.append(asyncio.ensure_future(session()))
    await asyncio.gather(*tasks)
    server_cpu = (B.tree_cpu_seconds(server.pid) - cpu0[0]) if server else None
    machine_cpu = B.machine_busy_seconds() - cpu0[1]
    done = [s for s in sessions if not s["error"] and s["end_s"] <= window_s]
    errors = [s for s in sessions if s["error"]]
    finished = sum(1 for s in sessions if not s["error"])
    cores = B.machine()["cores"]
    per_session = server_cpu / finished if server_cpu is not None and finished else None
    return {
        "server_cpu_s": None if server_cpu is None else round(server_cpu, 1),
        "machine_cpu_s": round(machine_cpu, 1),
        "server_cpu_s_per_session": None if per_session is None else round(per_session, 2),
        "browser_and_other_cpu_s_per_session": round((machine_cpu - (server_cpu or 0))
                                                     / finished, 2) if finished else None,
        "server_only_capacity_per_minute": round(60 * cores / per_session, 1)
        if per_session else None,
        "window_s": window_s,
        "in_flight": in_flight,
        "started": len(sessions),
        "completed_in_window": len(done),
        "per_minute": round(len(done) * 60 / window_s, 1),
        "per_minute_with_drain": round(
            sum(1 for s in sessions if not s["error"]) * 60
            / max(window_s, max((s["end_s"] for s in sessions), default=window_s)), 1),
        "errors": len(errors),
        "error_examples": sorted({s["error"][:200] for s in errors})[:5],
        "tti_ms": B.summary([s["tti_ms"] for s in sessions if s["tti_ms"] is not None]),
        "drain_s": round(max((s["end_s"] for s in sessions), default=window_s) - window_s, 1),
        "sessions": sessions,
    }


async def measure_throughput(browser: Any, notebook: str, args: argparse.Namespace,
                             servers: list[B.Server]) -> dict[str, Any]:
    """(a) cold server, (b) a preheated pool for ``notebook``; each on its own fresh server."""
    meta = B.notebook_meta(notebook)
    out: dict[str, Any] = {"notebook": notebook}
    configs = {
        "cold": VOILA_DEFAULT,
        "preheated": ["--pool-size", "0", "--pool", f"{notebook}={args.pool}",
                      "--refill-delay", str(args.refill_delay)],
    }
    for mode, server_args in configs.items():
        server = B.Server(server_args, f"throughput-{mode}",
                          executor_timeout=args.executor_timeout)
        servers.append(server)
        server.start()
        warm = None
        if mode == "preheated":
            _log(f"  throughput: waiting for a pool of {args.pool} to warm")
            warm = server.wait_kernels_idle(args.pool, args.warm_timeout)
        _log(f"  throughput {mode}: {args.window:.0f} s window, {args.in_flight} in flight")
        load0 = os.getloadavg()[0]
        res = await run_sessions(browser, _url(server.url, notebook), meta, args.window,
                                 args.in_flight, args.timeout, server=server)
        res["server_args"] = server_args
        res["warm"] = warm
        res["load_average_1min_before_after"] = [round(load0, 2), round(os.getloadavg()[0], 2)]
        res["kernels_at_end"] = len(server.kernels())
        server.stop()
        out[mode] = res
        _log(f"  throughput {mode}: {res['per_minute']}/min, {res['errors']} errors")
    cold, pre = out["cold"]["per_minute"], out["preheated"]["per_minute"]
    out["ratio"] = round(pre / cold, 2) if cold else None
    cold_d, pre_d = (out[m]["per_minute_with_drain"] for m in ("cold", "preheated"))
    out["ratio_with_drain"] = round(pre_d / cold_d, 2) if cold_d else None
    out["meets_target"] = bool(cold and pre / cold >= TARGET_THROUGHPUT_RATIO)
    cap = [out[m].get("server_only_capacity_per_minute") for m in ("cold", "preheated")]
    out["server_only_ratio"] = round(cap[1] / cap[0], 2) if all(cap) else None
    return out


def report_throughput(res: dict[str, Any]) -> None:
    """Print the throughput table."""
    rows = []
    for mode in ("cold", "preheated"):
        r = res[mode]
        rows.append([mode, " ".join(r["server_args"]), str(r["started"]),
                     str(r["completed_in_window"]), B.fmt(r["per_minute"], 1),
                     B.fmt(r["per_minute_with_drain"], 1), str(r["errors"]),
                     B.fmt(r["tti_ms"]["median"]), B.fmt(r["tti_ms"]["p95"])])
    B.print_table(
        f"5. Throughput: sessions to interactive in {res['cold']['window_s']:.0f} s, "
        f"{res['cold']['in_flight']} in flight, {Path(res['notebook']).stem}; target >= 3x cold",
        ["mode", "server options", "started", "done", "per min", "incl. drain", "errors",
         "TTI med", "TTI p95"],
        rows,
    )
    ratio = res.get("ratio")
    print(f"  preheated/cold = {B.fmt(ratio, 2)} (counting sessions that finished after the "
          f"window too: {B.fmt(res.get('ratio_with_drain'), 2)}): "
          + ("ok" if res["meets_target"] else "MISS"))
    for mode in ("cold", "preheated"):
        r = res[mode]
        rest = B.fmt(r.get("browser_and_other_cpu_s_per_session"), 2)
        print(f"  {mode}: server side {B.fmt(r.get('server_cpu_s_per_session'), 2)} CPU s per "
              f"session, browser and the rest {rest} s; the server alone could start "
              f"{B.fmt(r.get('server_only_capacity_per_minute'), 1)} sessions a minute on "
              f"{B.machine()['cores']} cores")
    print(f"  server-only capacity, preheated/cold = {B.fmt(res.get('server_only_ratio'), 2)}")
    for mode in ("cold", "preheated"):
        for e in res[mode]["error_examples"]:
            print(f"  {mode} error: {e}")


# --- Main -----------------------------------------------------------------------------------------


def parser() -> argparse.ArgumentParser:
    """The benchmark's options."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--all", action="store_true", help="all 13 notebooks, not just the workbooks")
    p.add_argument("--only", default=",".join(MEASUREMENTS),
                   help="comma-separated subset of " + ",".join(MEASUREMENTS))
    p.add_argument("--repeats", type=int, default=5, help="page loads per notebook per mode")
    p.add_argument("--changes", type=int, default=20, help="control changes per workbook")
    p.add_argument("--refill-wait", type=float, default=10.0,
                   help="seconds between preheated loads of the same notebook (default 10)")
    p.add_argument("--timeout", type=float, default=120.0,
                   help="seconds a page may take to become interactive")
    p.add_argument("--window", type=float, default=60.0, help="throughput window, seconds")
    p.add_argument("--in-flight", type=int, default=4, help="throughput sessions at a time")
    p.add_argument("--session-notebook", default="workbooks/00_start_here.ipynb",
                   help="the notebook throughput sessions open")
    p.add_argument("--pool", type=int, default=12,
                   help="throughput (b): preheated kernels for the session notebook (default 12)")
    p.add_argument("--refill-delay", type=float, default=0.5,
                   help="throughput (b): the server's --refill-delay (default 0.5, as shipped)")
    p.add_argument("--warm-timeout", type=float, default=600.0,
                   help="seconds to wait for a pool to warm")
    p.add_argument("--executor-timeout", type=float, default=None,
                   help="diagnosis only, not the shipped configuration: Voilà's per-cell "
                        "execution timeout in seconds for every server started (shipped: 60)")
    p.add_argument("--quick", action="store_true",
                   help="a smoke run: 2 repeats, 5 changes, a 20 s window, a pool of 4")
    p.add_argument("--out", type=Path, default=B.RESULTS / "hosting.json")
    return p


async def run(args: argparse.Namespace) -> dict[str, Any]:
    """Every requested measurement; the results dictionary (also what is written as JSON)."""
    from playwright.async_api import async_playwright

    only = [m.strip() for m in args.only.split(",") if m.strip()]
    unknown = set(only) - set(MEASUREMENTS)
    if unknown:
        raise SystemExit(f"--only: unknown {sorted(unknown)}; choose from {MEASUREMENTS}")
    notebooks = B.ALL_NOTEBOOKS if args.all else B.WORKBOOKS
    result: dict[str, Any] = {
        "machine_before": B.machine(),
        "settings": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        "notebooks": notebooks,
    }
    servers: list[B.Server] = []
    t_start = time.monotonic()
    try:
        async with async_playwright() as p:
            browser = await B.launch(p)
            try:
                if "tti" in only:
                    tti: dict[str, Any] = {}
                    tti["static"] = await measure_tti_static(browser, notebooks, args.repeats,
                                                             args.timeout)
                    _log("Voilà cold (--pool-size 0)")
                    cold = B.Server(VOILA_DEFAULT, "cold",
                                    executor_timeout=args.executor_timeout)
                    servers.append(cold)
                    cold.start()
                    tti["cold"] = await measure_tti_voila(
                        browser, cold, notebooks, args.repeats, preheated=False,
                        refill_wait=0, timeout_s=args.timeout)
                    tti["cold"]["leftovers"] = cold.stop()
                    result["tti"] = tti
                needs_preheated = [m for m in only if m in ("tti", "latency", "bytes", "memory")]
                if needs_preheated:
                    _log("Preheated (shipped defaults): starting and warming the pool")
                    pre = B.Server([], "preheated", executor_timeout=args.executor_timeout)
                    servers.append(pre)
                    pre.start()
                    warm = pre.wait_kernels_idle(len(B.ALL_NOTEBOOKS), args.warm_timeout)
                    result["preheated_warm"] = warm
                    _log(f"  pool warm: {warm}")
                    if "tti" in only:
                        result["tti"]["preheated"] = await measure_tti_voila(
                            browser, pre, notebooks, args.repeats, preheated=True,
                            refill_wait=args.refill_wait, timeout_s=args.timeout)
                    if "latency" in only:
                        result["latency"] = await measure_latency(browser, pre, notebooks,
                                                                  args.changes, args.timeout)
                    if "bytes" in only:
                        result["bytes"] = await measure_bytes(browser, pre, notebooks,
                                                              args.timeout)
                    if "memory" in only:
                        result["memory"] = await measure_memory(browser, pre, notebooks,
                                                                args.timeout)
                    result["preheated_leftovers"] = pre.stop()
                if "throughput" in only:
                    result["throughput"] = await measure_throughput(
                        browser, args.session_notebook, args, servers)
            finally:
                await browser.close()
    finally:
        for s in servers:
            s.stop()
        result["leftover_processes"] = [line for s in servers for line in s.leftovers]
        result["kernels_still_running"] = [
            B.cmdline(pid) for s in servers for pid in s._known
            if B.alive(pid) and "ipykernel_launcher" in B.cmdline(pid)
        ]
    result["machine_after"] = B.machine()
    result["duration_s"] = round(time.monotonic() - t_start, 1)
    return result


def main(argv: list[str] | None = None) -> None:
    """Run, print the tables, write the JSON."""
    args = parser().parse_args(argv)
    if args.quick:
        args.repeats = min(args.repeats, 2)
        args.changes = min(args.changes, 5)
        args.window = min(args.window, 20.0)
        args.pool = min(args.pool, 4)
    result = asyncio.run(run(args))
    m0, m1 = result["machine_before"], result["machine_after"]
    print(f"\nMachine: {m0['cores']} cores, {m0['ram_gib']} GiB RAM, {m0['cpu_model']}; "
          f"load average before {m0['load_average']}, after {m1['load_average']}; "
          f"{result['duration_s']:.0f} s")
    if "tti" in result:
        report_tti(result["tti"], result["notebooks"])
    if "latency" in result:
        report_latency(result["latency"])
    if "bytes" in result:
        report_bytes(result["bytes"])
    if "memory" in result:
        report_memory(result["memory"])
    if "throughput" in result:
        report_throughput(result["throughput"])
    left = result["leftover_processes"] + result["kernels_still_running"]
    print(f"\nProcesses left behind: {len(left)}" + (f": {left}" if left else ""))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2, default=str) + "\n")
    print(f"Written {args.out}")


if __name__ == "__main__":
    main()
