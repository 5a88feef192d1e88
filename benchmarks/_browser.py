"""Shared machinery for the hosting benchmarks: the server, the browser, /proc readings, statistics.

Used by :mod:`benchmarks.hosting` and :mod:`benchmarks.load_test`. Everything here runs on
loopback and is bounded in time: the server (``python -m pbc_lib.hosting``, what ``make serve``
runs) is started on a free port with its log in a temporary folder, and :meth:`Server.stop` ends
it with SIGTERM, then SIGKILL, and then ends (by process id) any of its child processes that
outlived it, so a run leaves no kernel behind.

The browser is Debian's chromium (``/usr/bin/chromium``) through Playwright's async API, with the
same flags as ``tests/conftest.py``. A page is instrumented by :data:`INIT_SCRIPT`, which runs in
every document before the page's own scripts and records, on the page's clock
(``performance.now()``, milliseconds since navigation started):

- when ``#rendered_cells`` became visible, when the page first held k chart drawings
  (``figure.pbc-chart svg``) for every k, and when the first control (``.pbc-control``) appeared,
  from a MutationObserver (so the times are exact, not polled);
- every websocket message sent or received (by wrapping ``window.WebSocket``), so "the kernel
  connection is idle" can be judged as "no message for :data:`QUIET_MS`".

Time to interactive is then ``max(rendered, k-th chart, first control, last websocket message
before the quiet spell)``. Memory comes from ``/proc/<pid>/status`` (VmRSS) and
``/proc/<pid>/smaps_rollup`` (Pss; USS = Private_Clean + Private_Dirty), as in the kernel's
``Documentation/filesystems/proc.rst``.

Sources: Playwright for Python (async API, CDP sessions), the Chrome DevTools Protocol's Network
domain, Voilà 0.5.13 (``voila/voila_kernel_manager.py``: pool filling; ``voila/handler.py``:
the preheated and cold paths), jupyter_client's ``MultiKernelManager`` (connection files are
named ``kernel-<kernel id>.json``) and docs ``/work/shared/tech-notes.md`` sections 4 to 6.
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "results"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [  # as tests/conftest.py
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-extensions",
    "--metrics-recording-only",
]
WORKBOOKS = sorted(p.relative_to(REPO).as_posix() for p in (REPO / "workbooks").glob("*.ipynb"))
ALL_NOTEBOOKS = WORKBOOKS + sorted(
    p.relative_to(REPO).as_posix()
    for folder in ("exercises", "exercises/solutions")
    for p in (REPO / folder).glob("*.ipynb")
)
QUIET_MS = 400  # websocket silence after which the page's kernel connection counts as idle
SERVER_START_TIMEOUT_S = 120
KERNEL_FILE = re.compile(r"kernel-([0-9a-f-]{36})\.json")
ERROR_TEXT = re.compile(  # as tests/test_browser.py, plus Voilà's execution-timeout message
    r"Traceback|An exception occurred|Error displaying widget|Failed to load model|"
    r"There was an error when executing cell|Kernel error|Cell execution timed out",
)
LOOPBACK_ONLY = "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"

# --- Notebooks ------------------------------------------------------------------------------------


def notebook_meta(notebook: str) -> dict[str, Any]:
    """The notebook's ``pbc`` header metadata: ``charts`` (how many it draws), ``app``."""
    meta = json.loads((REPO / notebook).read_text(encoding="utf-8"))["metadata"].get("pbc", {})
    return {"charts": int(meta.get("charts", 0)), "app": bool(meta.get("app", True))}


# --- Statistics -----------------------------------------------------------------------------------


def percentile(samples: list[float], q: float) -> float:
    """The ``q``-th percentile (0-100) by the nearest-rank method; NaN for no samples."""
    if not samples:
        return math.nan
    ordered = sorted(samples)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def summary(samples: list[float]) -> dict[str, float | int]:
    """Median, p95, min and max (rounded to 1 decimal) and the count."""
    if not samples:
        return {"n": 0, "median": math.nan, "p95": math.nan, "min": math.nan, "max": math.nan}
    return {
        "n": len(samples),
        "median": round(statistics.median(samples), 1),
        "p95": round(percentile(samples, 95), 1),
        "min": round(min(samples), 1),
        "max": round(max(samples), 1),
    }


def fmt(value: float | None, digits: int = 0) -> str:
    """A number for a table cell; ``-`` for missing or NaN."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return f"{value:,.{digits}f}"


def print_table(title: str, header: list[str], rows: list[list[str]]) -> None:
    """A plain fixed-width table (first column left-aligned, the others right-aligned)."""
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    print(f"\n{title}")
    line = "  ".join(
        (h.ljust(widths[i]) if i == 0 else h.rjust(widths[i])) for i, h in enumerate(header)
    )
    print("  " + line)
    print("  " + "-" * len(line))
    for r in rows:
        print(
            "  "
            + "  ".join(
                (str(c).ljust(widths[i]) if i == 0 else str(c).rjust(widths[i]))
                for i, c in enumerate(r)
            )
        )


# --- The machine and /proc ------------------------------------------------------------------------


def machine() -> dict[str, Any]:
    """Cores, memory, CPU model and load average of this machine, now."""
    model = ""
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    mem = _meminfo()
    return {
        "cores": os.cpu_count(),
        "ram_gib": round(mem.get("MemTotal", 0) / 1024**2, 1),
        "available_gib": round(mem.get("MemAvailable", 0) / 1024**2, 1),
        "cpu_model": model,
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "time": time.strftime("%Y-%m-%d %H:%M:%S"),
    }


def _meminfo() -> dict[str, int]:
    out = {}
    for line in Path("/proc/meminfo").read_text().splitlines():
        key, _, rest = line.partition(":")
        out[key] = int(rest.split()[0])
    return out


def available_mib() -> float:
    """MemAvailable in MiB."""
    return _meminfo().get("MemAvailable", 0) / 1024


def parent_map() -> dict[int, int]:
    """``{pid: parent pid}`` for every process."""
    out = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry.name}/stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rfind(")") + 2 :].split()
        out[int(entry.name)] = int(fields[1])
    return out


def descendants(pid: int) -> list[int]:
    """Every process below ``pid`` (children, grandchildren...)."""
    parents = parent_map()
    children: dict[int, list[int]] = {}
    for child, parent in parents.items():
        children.setdefault(parent, []).append(child)
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def cmdline(pid: int) -> str:
    """The process's command line, space-separated ('' if it has gone)."""
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
    except OSError:
        return ""


def alive(pid: int) -> bool:
    """True if the process exists and is not a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rfind(")") + 2] != "Z"


def memory(pid: int) -> dict[str, float]:
    """RSS, PSS and USS of one process in MiB (NaN where /proc could not be read)."""
    out = {"rss": math.nan, "pss": math.nan, "uss": math.nan}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                out["rss"] = int(line.split()[1]) / 1024
        fields = {}
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()[1:]:
            key, _, rest = line.partition(":")
            fields[key] = int(rest.split()[0])
        out["pss"] = fields.get("Pss", 0) / 1024
        out["uss"] = (fields.get("Private_Clean", 0) + fields.get("Private_Dirty", 0)) / 1024
    except (OSError, ValueError, IndexError):
        pass
    return out


def listening_inodes(ports: set[int]) -> dict[int, int]:
    """``{socket inode: port}`` of the TCP sockets listening on any of ``ports`` (from
    /proc/net/tcp and tcp6; state 0A is LISTEN)."""
    out = {}
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            port = int(fields[1].rsplit(":", 1)[1], 16)
            if fields[3] == "0A" and port in ports:
                out[int(fields[9])] = port
    return out


def unix_socket_inodes(paths: set[str]) -> dict[int, str]:
    """``{socket inode: path}`` of the Unix sockets bound to any of ``paths`` (/proc/net/unix;
    the kernels' channels when jupyter_client uses the ipc transport)."""
    out: dict[int, str] = {}
    if not paths:
        return out
    try:
        lines = Path("/proc/net/unix").read_text().splitlines()[1:]
    except OSError:
        return out
    for line in lines:
        fields = line.split()
        if len(fields) >= 8 and fields[7] in paths:
            out[int(fields[6])] = fields[7]
    return out


def socket_inodes(pid: int) -> set[int]:
    """Inodes of the sockets process ``pid`` has open."""
    out = set()
    try:
        fds = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return out
    for fd in fds:
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:["):
            out.add(int(target[8:-1]))
    return out


def rss_mib(pid: int) -> float:
    """VmRSS of one process in MiB (0 if it has gone): cheap enough to sample twice a second."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def cpu_seconds(pid: int) -> float:
    """User + system CPU time the process has used so far, in seconds (0 if it has gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    fields = stat[stat.rfind(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cpu_seconds_with_reaped(pid: int) -> float:
    """:func:`cpu_seconds` plus the CPU of the children the process has already reaped
    (``cutime``/``cstime``): a kernel that exited still counts, in its parent."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    fields = stat[stat.rfind(")") + 2 :].split()
    return sum(int(f) for f in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def tree_cpu_seconds(pid: int) -> float:
    """CPU seconds used by ``pid`` and everything below it, live or reaped (no double counting:
    a live child is not yet in its parent's reaped total)."""
    return sum(cpu_seconds_with_reaped(p) for p in [pid, *descendants(pid)])


def machine_busy_seconds() -> float:
    """CPU seconds all cores have spent busy since boot (/proc/stat: all but idle and iowait)."""
    fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    ticks = [int(x) for x in fields]
    busy = sum(ticks) - ticks[3] - ticks[4] - sum(ticks[8:10])  # guest time is already in user
    return busy / os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- The server -----------------------------------------------------------------------------------


class Server:
    """``python -m pbc_lib.hosting`` on a free loopback port, started and stopped by us.

    Parameters
    ----------
    args
        Extra options for ``pbc_lib.hosting`` (``--pool-size 0``, ``--pool NB=N`` ...).
    label
        A name for the log file (in a temporary folder, kept after the run for inspection).
    executor_timeout
        Benchmark-only diagnosis: Voilà's per-cell execution timeout in seconds instead of the
        shipped 60 s, set through a ``voila.json`` on ``JUPYTER_CONFIG_PATH`` (Voilà reads config
        files after the program's own settings, so the file wins). ``None`` serves as shipped.
    """

    def __init__(
        self, args: list[str], label: str = "server", *, executor_timeout: float | None = None
    ) -> None:
        self.args = list(args)
        self.executor_timeout = executor_timeout
        self._config_dir: str | None = None
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        self.log_path = Path(tempfile.gettempdir()) / f"pbc-bench-{label}-{self.port}.log"
        self.proc: subprocess.Popen | None = None
        self.started_s = math.nan
        self.leftovers: list[str] = []
        self._known: set[int] = set()
        self._stopped = False

    def start(self) -> Server:
        """Start the server and wait until its landing page answers."""
        t0 = time.monotonic()
        log = open(self.log_path, "w")  # noqa: SIM115 - closed in stop()
        self._log = log
        env = dict(os.environ)
        if self.executor_timeout is not None:
            self._config_dir = tempfile.mkdtemp(prefix="pbc-bench-config-")
            Path(self._config_dir, "voila.json").write_text(
                json.dumps({"VoilaExecutor": {"timeout": float(self.executor_timeout)}})
            )
            env["JUPYTER_CONFIG_PATH"] = os.pathsep.join(
                p for p in (self._config_dir, env.get("JUPYTER_CONFIG_PATH", "")) if p
            )
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "pbc_lib.hosting", "--port", str(self.port), *self.args],
            cwd=REPO,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
        )
        deadline = t0 + SERVER_START_TIMEOUT_S
        while True:
            try:
                with urllib.request.urlopen(self.url, timeout=5) as resp:
                    if resp.status == 200:
                        break
            except OSError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"The server did not start; see {self.log_path}")
            time.sleep(0.2)
        self.started_s = time.monotonic() - t0
        return self

    @property
    def pid(self) -> int:
        """The server's process id."""
        assert self.proc is not None
        return self.proc.pid

    def children(self) -> list[int]:
        """The server's descendant processes now (remembered for the clean-up)."""
        found = descendants(self.pid)
        self._known.update(found)
        return found

    def kernels(self) -> dict[str, int]:
        """``{kernel id: pid}`` of every ipykernel the server has running now.

        A kernel started as a new Python names its connection file on its command line. A kernel
        forked by the fork server (``pbc_lib.hosting.forkserver``) carries the fork server's
        command line, so it is found by the shell channel in its connection file (in the folder
        the server logs as "Storing connection files in ..."): the process holding that TCP port
        or, with the ipc transport the server uses, that Unix socket.
        """
        out = {}
        children = self.children()
        for pid in children:
            line = cmdline(pid)
            if "ipykernel_launcher" in line:
                match = KERNEL_FILE.search(line)
                if match:
                    out[match.group(1)] = pid
        folder = re.search(r"Storing connection files in (\S+?)\.?$", self.log_text(), re.M)
        if not folder:
            return out
        shells = {}  # TCP port or Unix socket path of a kernel's shell channel -> kernel id
        for path in Path(folder.group(1)).glob("kernel-*.json"):
            match = KERNEL_FILE.search(path.name)
            if match and match.group(1) not in out:
                try:
                    info = json.loads(path.read_text())
                    port = int(info["shell_port"])
                except (OSError, ValueError, KeyError):
                    continue  # being written or removed
                key = f"{info['ip']}-{port}" if info.get("transport") == "ipc" else port
                shells[key] = match.group(1)
        if shells:
            listening = listening_inodes({k for k in shells if isinstance(k, int)})
            listening.update(unix_socket_inodes({k for k in shells if isinstance(k, str)}))
            for pid in children:
                for inode in socket_inodes(pid):
                    if inode in listening:
                        out[shells[listening[inode]]] = pid
        return out

    def render_service_pid(self) -> int | None:
        """The shared chart renderer's process id (``pbc_lib.render_service``)."""
        for pid in self.children():
            if "pbc_lib.render_service" in cmdline(pid):
                return pid
        return None

    def fork_server_pid(self) -> int | None:
        """The kernel fork server's process id (``pbc_lib.hosting.forkserver``, the parent of the
        forked kernels: the child of the server running that module)."""
        for pid in descendants(self.pid):
            if "pbc_lib.hosting.forkserver" in cmdline(pid) and parent_map().get(pid) == self.pid:
                return pid
        return None

    def tree_rss_mib(self) -> float:
        """Sum of the RSS of the server and all its descendants, in MiB."""
        return rss_mib(self.pid) + sum(rss_mib(p) for p in self.children())

    def log_text(self) -> str:
        """What the server has logged so far."""
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def wait_kernels_idle(
        self,
        count: int,
        timeout_s: float,
        *,
        settle_s: float = 2.0,
        idle_cpu: float = 0.02,
        min_cpu: float = 0.25,
        min_available_mib: float = 0.0,
    ) -> dict[str, Any]:
        """Wait until at least ``count`` kernels exist, each has used ``min_cpu`` CPU seconds (a
        forked kernel that has run nothing has used ~0.1 s, one that has run a notebook 0.35-3 s;
        a kernel started as a new Python more) and the server and its
        kernels together used at most ``idle_cpu`` CPU seconds each over ``settle_s``: they have
        run their notebooks. Reports how long it took. Gives up early (``ok`` false, ``reason``)
        if the machine's available memory falls below ``min_available_mib``.
        """
        t0 = time.monotonic()
        while True:
            if min_available_mib and available_mib() < min_available_mib:
                return {
                    "kernels": len(self.kernels()),
                    "warm_s": round(time.monotonic() - t0, 1),
                    "ok": False,
                    "reason": f"available memory fell below {min_available_mib:.0f} MiB",
                }
            kernels = self.kernels()
            if len(kernels) >= count:
                pids = [self.pid, *kernels.values()]
                before = {pid: cpu_seconds(pid) for pid in pids}
                time.sleep(settle_s)
                used = sum(cpu_seconds(p) - c for p, c in before.items())
                ran = all(cpu_seconds(p) >= min_cpu for p in kernels.values())
                if ran and used <= idle_cpu * len(pids):
                    return {
                        "kernels": len(kernels),
                        "warm_s": round(time.monotonic() - t0, 1),
                        "ok": True,
                    }
            elif self.proc is not None and self.proc.poll() is not None:
                return {"kernels": len(kernels), "warm_s": math.nan, "ok": False}
            else:
                time.sleep(0.5)
            if time.monotonic() - t0 > timeout_s:
                return {
                    "kernels": len(self.kernels()),
                    "warm_s": round(time.monotonic() - t0, 1),
                    "ok": False,
                }

    def stop(self) -> list[str]:
        """SIGTERM, wait, SIGKILL; then end (by pid) any child that outlived the server.

        Returns the command lines of the children that had to be ended that way (normally none).
        """
        if self.proc is None or self._stopped:
            return self.leftovers
        self._stopped = True
        if self.proc.poll() is None:
            self.children()  # remember the current children for the clean-up below
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=40)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        leftovers = []
        deadline = time.monotonic() + 10
        survivors = [p for p in self._known if alive(p) and _is_ours(p)]
        while survivors and time.monotonic() < deadline:
            time.sleep(0.3)
            survivors = [p for p in survivors if alive(p)]
        for pid in survivors:
            leftovers.append(cmdline(pid))
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                continue
        time.sleep(1.0)
        for pid in survivors:
            if alive(pid):
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        self._log.close()
        if self._config_dir:
            shutil.rmtree(self._config_dir, ignore_errors=True)
        self.leftovers = leftovers
        return leftovers


def _is_ours(pid: int) -> bool:
    line = cmdline(pid)
    return "ipykernel_launcher" in line or "pbc_lib" in line


# --- The browser ----------------------------------------------------------------------------------

INIT_SCRIPT = r"""
(() => {
  if (window.__pbc) return;
  const st = window.__pbc = {
    wsLast: 0, wsIn: 0, wsOut: 0, rendered: null, control: null, chartsAt: [], running: true,
  };
  const Native = window.WebSocket;
  class Tracked extends Native {
    constructor(...args) {
      super(...args);
      this.addEventListener('message', () => { st.wsLast = performance.now(); st.wsIn++; });
    }
    send(data) { st.wsLast = performance.now(); st.wsOut++; return super.send(data); }
  }
  window.WebSocket = Tracked;
  const check = () => {
    const now = performance.now();
    if (st.rendered === null) {
      const rc = document.getElementById('rendered_cells');
      if (rc && rc.offsetParent !== null && getComputedStyle(rc).visibility !== 'hidden') {
        st.rendered = now;
      }
    }
    let n = 0;  // figures holding a drawing (a figure may hold a wide and a narrow one)
    for (const f of document.querySelectorAll('figure.pbc-chart')) if (f.querySelector('svg')) n++;
    while (st.chartsAt.length < n) st.chartsAt.push(now);
    if (st.control === null && document.querySelector('.pbc-control')) st.control = now;
  };
  st.check = check;
  const start = () => {
    check();
    const obs = new MutationObserver(() => { if (st.running) check(); });
    obs.observe(document.documentElement,
                {childList: true, subtree: true, attributes: true, characterData: false});
    st.stop = () => { st.running = false; obs.disconnect(); };
  };
  if (document.documentElement) start();
  else document.addEventListener('readystatechange', start, {once: true});
})();
"""

READY_JS = """
([charts, needControl, needRendered, quiet]) => {
  const st = window.__pbc;
  if (!st) return false;
  st.check();
  const root = document.getElementById('rendered_cells') || document.body;
  const found = root ? (root.textContent || '').match(ERRORS) : null;
  if (found) { st.failed = found[0]; return true; }
  const panel = document.querySelector('.pbc-error');
  if (panel && panel.offsetParent !== null && panel.textContent.trim()) {
    st.failed = 'error panel: ' + panel.textContent.trim().slice(0, 200); return true;
  }
  if (needRendered && st.rendered === null) return false;
  if (st.chartsAt.length < charts) return false;
  if (needControl && st.control === null) return false;
  const dom = Math.max(st.rendered || 0, charts ? st.chartsAt[charts - 1] : 0, st.control || 0);
  return performance.now() - Math.max(dom, st.wsLast) >= quiet;
}
"""

READY_JS = READY_JS.replace("ERRORS", "/" + ERROR_TEXT.pattern + "/")

READ_TIMES_JS = """
([charts]) => {
  const st = window.__pbc;
  st.check();
  const nav = performance.getEntriesByType('navigation')[0];
  return {
    rendered: st.rendered, control: st.control, charts: st.chartsAt.length,
    chart_n: charts ? st.chartsAt[charts - 1] : null, ws_last: st.wsLast,
    ws_in: st.wsIn, ws_out: st.wsOut,
    failed: st.failed || null,
    response_end: nav ? nav.responseEnd : null,
    dom_content_loaded: nav ? nav.domContentLoadedEventEnd : null,
    load: nav ? nav.loadEventEnd : null,
  };
}
"""


class NotInteractive(RuntimeError):
    """A page did not become interactive in time (the message says how far it got)."""


async def launch(playwright: Any) -> Any:
    """Debian chromium, headless, with the tests' flags (never a downloaded browser).

    Every host name but 127.0.0.1 resolves to "not found" at once (:data:`LOOPBACK_ONLY`), so a
    page that asks another host (the nbconvert fallback's CDN scripts) fails fast, as on a network
    with no internet, and the benchmark never leaves loopback.
    """
    if not os.path.exists(CHROMIUM):
        raise SystemExit(f"{CHROMIUM} not found: install Debian's chromium.")
    return await playwright.chromium.launch(
        executable_path=CHROMIUM, args=[*CHROMIUM_ARGS, LOOPBACK_ONLY]
    )


async def new_context(browser: Any) -> Any:
    """A fresh browser context (empty cache and cookies) with the page instrumentation."""
    context = await browser.new_context(viewport={"width": 1280, "height": 900})
    await context.add_init_script(INIT_SCRIPT)
    return context


class PageWatch:
    """A page's console errors, uncaught exceptions and kernel ids (from its websocket URLs)."""

    def __init__(self, page: Any) -> None:
        self.page = page
        self.console_errors: list[str] = []
        self.kernel_ids: list[str] = []
        page.on(
            "console",
            lambda m: m.type == "error" and self.console_errors.append(m.text[:300]),
        )
        page.on("pageerror", lambda e: self.console_errors.append(f"pageerror: {str(e)[:300]}"))
        page.on("websocket", self._ws)

    def _ws(self, ws: Any) -> None:
        match = re.search(r"/api/kernels/([0-9a-f-]{36})/channels", ws.url)
        if match and match.group(1) not in self.kernel_ids:
            self.kernel_ids.append(match.group(1))


async def open_until_interactive(
    page: Any,
    url: str,
    *,
    charts: int,
    app: bool,
    voila: bool = True,
    timeout_s: float = 120.0,
) -> dict[str, Any]:
    """Navigate and wait until the page is interactive; return its timings in ms (page clock).

    Interactive means: ``#rendered_cells`` shown (Voilà pages), at least ``charts`` chart drawings,
    a ``.pbc-control`` present (apps), and no websocket message for :data:`QUIET_MS`. ``tti_ms``
    is the latest of those events (the quiet spell itself is not counted). ``wall_ms`` is the same
    measured from Python (navigation call to predicate true, including the quiet spell).
    """
    t0 = time.perf_counter()
    await page.goto(url, wait_until="commit", timeout=timeout_s * 1000)
    try:
        await page.wait_for_function(
            READY_JS,
            arg=[charts, app, voila, QUIET_MS],
            polling=50,
            timeout=max(1.0, timeout_s - (time.perf_counter() - t0)) * 1000,
        )
    except Exception as exc:  # noqa: BLE001 - re-raised with what the page had reached
        try:
            state = await page.evaluate(READ_TIMES_JS, [charts])
        except Exception:  # noqa: BLE001
            state = {}
        raise NotInteractive(f"{type(exc).__name__} after {time.perf_counter() - t0:.1f} s; "
                             f"page state {state}") from None
    wall = (time.perf_counter() - t0) * 1000
    t = await page.evaluate(READ_TIMES_JS, [charts])
    await page.evaluate("() => window.__pbc.stop && window.__pbc.stop()")
    if t["failed"]:
        raise NotInteractive(f"the page shows an error after {wall / 1000:.1f} s: {t['failed']}")
    dom = max(t["rendered"] or 0, t["chart_n"] or 0, t["control"] or 0)
    return {
        "tti_ms": round(max(dom, t["ws_last"] or 0), 1),
        "dom_ready_ms": round(dom, 1),
        "charts_ms": None if t["chart_n"] is None else round(t["chart_n"], 1),
        "rendered_ms": None if t["rendered"] is None else round(t["rendered"], 1),
        "ws_last_ms": round(t["ws_last"] or 0, 1),
        "response_end_ms": None if t["response_end"] is None else round(t["response_end"], 1),
        "dom_content_loaded_ms": _round(t["dom_content_loaded"]),
        "load_event_ms": _round(t["load"]),
        "wall_ms": round(wall, 1),
        "charts_seen": t["charts"],
        "ws_messages": t["ws_in"] + t["ws_out"],
    }


def _round(value: float | None) -> float | None:
    return None if not value else round(value, 1)


async def page_problems(page: Any, watch: PageWatch) -> list[str]:
    """What is wrong with a rendered page: console errors, an error panel, error text."""
    problems = list(watch.console_errors)
    if await page.locator(".pbc-error:visible").count():
        problems.append("error panel: " + (await page.locator(".pbc-error:visible").first
                                            .inner_text())[:200])
    if await page.locator("[data-mime-type='application/vnd.jupyter.stderr']").count():
        problems.append("stderr output in the page")
    body = await page.inner_text("body")
    match = ERROR_TEXT.search(body)
    if match:
        problems.append(f"error text: {match.group(0)}")
    return problems


# --- Controls -------------------------------------------------------------------------------------

CHANGE_WATCH_JS = """
() => new Promise((resolve) => {
  // Armed before the change: t0 is the first input event (captured at the window), t1 the first
  // DOM change to any chart (a figure.pbc-chart changed inside, added or removed).
  let t0 = null;
  const onInput = () => { if (t0 === null) t0 = performance.now(); };
  for (const type of ['keydown', 'input', 'change', 'pointerdown', 'mousedown']) {
    window.addEventListener(type, onInput, {capture: true, once: true});
  }
  const touches = (node) => node.nodeType === 1 &&
    (node.matches('figure.pbc-chart') || node.querySelector('figure.pbc-chart'));
  const obs = new MutationObserver((records) => {
    if (t0 === null) return;  // a late change from before this input: not ours
    for (const r of records) {
      const target = r.target.nodeType === 1 ? r.target : r.target.parentElement;
      if ((target && target.closest('figure.pbc-chart')) ||
          [...r.addedNodes].some(touches) || [...r.removedNodes].some(touches)) {
        const t1 = performance.now();
        obs.disconnect();
        clearTimeout(timer);
        resolve({ms: t0 === null ? null : t1 - t0});
        return;
      }
    }
  });
  obs.observe(document.body, {childList: true, subtree: true, attributes: true,
                              characterData: true});
  const timer = setTimeout(() => { obs.disconnect(); resolve({ms: null, timeout: true}); },
                           15000);
  window.__pbcChange = true;
})
"""


async def describe_control(page: Any) -> dict[str, Any] | None:
    """The first ``.pbc-control`` the benchmarks know how to change: a dropdown or a slider."""
    control = page.locator(".pbc-control").first
    if not await control.count():
        return None
    select = control.locator("select")
    if await select.count():
        options = await select.locator("option").all_inner_texts()
        return {"kind": "dropdown", "options": options}
    if await control.locator(".noUi-handle").count():
        return {"kind": "slider"}
    return None


async def _control_value(page: Any, kind: str) -> str:
    control = page.locator(".pbc-control").first
    if kind == "dropdown":
        return await control.locator("select").evaluate("s => s.options[s.selectedIndex].text")
    readout = control.locator(".widget-readout")
    if await readout.count():
        return (await readout.first.inner_text()).strip()
    return await control.locator(".noUi-handle").first.get_attribute("aria-valuenow") or ""


async def change_control(page: Any, info: dict[str, Any], state: dict[str, Any]) -> dict[str, Any]:
    """Make one change to the first control and time it in the page (input event → chart DOM
    change). ``state`` carries the direction of travel between calls: a slider walks one way
    until its end, then back; a dropdown cycles through its options."""
    control = page.locator(".pbc-control").first
    before = await _control_value(page, info["kind"])
    state.setdefault("seen", {before})
    watcher = asyncio.ensure_future(page.evaluate(CHANGE_WATCH_JS))
    await page.wait_for_function("() => window.__pbcChange === true", polling=20)
    await page.evaluate("() => { window.__pbcChange = false; }")
    if info["kind"] == "dropdown":
        options = info["options"]
        index = (options.index(before) + 1) % len(options) if before in options else 0
        await control.locator("select").select_option(label=options[index])
    else:
        handle = control.locator(".noUi-handle").first
        now, low, high = [
            await handle.get_attribute(f"aria-value{a}") for a in ("now", "min", "max")
        ]
        if now is not None and low is not None and high is not None:
            if state.get("direction", 1) > 0 and float(now) >= float(high):
                state["direction"] = -1
            elif state.get("direction", 1) < 0 and float(now) <= float(low):
                state["direction"] = 1
        await handle.focus()
        key = "ArrowRight" if state.get("direction", 1) > 0 else "ArrowLeft"
        await page.keyboard.press(key)
    result = await watcher
    after = await _control_value(page, info["kind"])
    fresh = after not in state["seen"]
    state["seen"].add(after)
    return {
        "ms": None if result.get("ms") is None else round(result["ms"], 1),
        "timeout": bool(result.get("timeout")),
        "from": before,
        "to": after,
        "new_value": fresh,
    }


async def wait_quiet(page: Any, quiet_ms: int = QUIET_MS, timeout_s: float = 30.0) -> None:
    """Wait until the page's websockets have been silent for ``quiet_ms``."""
    await page.wait_for_function(
        "q => performance.now() - window.__pbc.wsLast >= q",
        arg=quiet_ms,
        polling=50,
        timeout=timeout_s * 1000,
    )
