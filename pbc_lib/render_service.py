"""One chart renderer shared by every kernel of a Voilà server, so no kernel carries its own.

The workbooks draw charts as inline SVG made by vl-convert (Vega in an embedded V8). Loading that
engine costs about 70 MiB in every process that renders, which would make each delegate's kernel
about half as big again as a bare pandas + altair + ipywidgets kernel (``docs/hosting.md``). So
``python -m pbc_lib.hosting`` starts this service once, beside Voilà, and the kernels send it
Vega-Lite specs over a Unix socket (``multiprocessing.connection``, authenticated with a random key
that only the server's own child processes are given). Where no service is running (JupyterLab,
nbval, the unit tests) or it cannot be reached, :func:`render` draws in-process instead, so the
workbooks never depend on it for correctness, only for memory.

Requests are bounded: a spec larger than :data:`MAX_SPEC_BYTES` is refused, and the service renders
on a fixed number of threads.

The service keeps the SVGs it drew in a cache shared by every kernel (:class:`SharedCache`, at most
:data:`CACHE_BYTES`): every delegate's kernel first draws the same default charts, so only the
first kernel of a notebook pays for them, and a pool refilling behind a room of delegates costs
less CPU.
"""

from __future__ import annotations

import argparse
import logging
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import OrderedDict
from multiprocessing import AuthenticationError
from multiprocessing.connection import Client, Connection, Listener
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

SOCKET_ENV = "PBC_RENDER_SOCKET"
KEY_ENV = "PBC_RENDER_KEY"
MAX_SPEC_BYTES = 4 * 1024 * 1024  # the largest workbook spec is ~60 KB; anything this big is abuse
START_TIMEOUT_S = 60
MAX_CONNECTIONS = 512  # one per kernel; a server holds far fewer (see docs/hosting.md)
CACHE_BYTES = 64 * 1024 * 1024  # SVG text kept by the service (~20-40 KB a chart: ~2,000 charts)


class RenderError(RuntimeError):
    """The service answered with an error (the message says what vl-convert reported)."""


# --- Drawing (in whichever process calls it) -----------------------------------------------------
def draw(spec_text: str, format_locale: Any, time_format_locale: Any) -> str:
    """Render a Vega-Lite spec (JSON text) to SVG with vl-convert in this process."""
    import json

    import vl_convert as vlc  # imported here: a kernel that uses the service never loads it

    return vlc.vegalite_to_svg(
        json.loads(spec_text), format_locale=format_locale, time_format_locale=time_format_locale
    )


# --- The service ---------------------------------------------------------------------------------
class SharedCache:
    """SVGs by request (spec and locales), least recently used dropped first, at most
    ``max_bytes`` of SVG text; safe to use from the service's connection threads."""

    def __init__(self, max_bytes: int = CACHE_BYTES) -> None:
        self.max_bytes = max_bytes
        self.bytes = self.hits = self.misses = 0
        self._items: OrderedDict[bytes, str] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: bytes) -> str | None:
        with self._lock:
            svg = self._items.get(key)
            if svg is None:
                self.misses += 1
                return None
            self._items.move_to_end(key)
            self.hits += 1
            return svg

    def put(self, key: bytes, svg: str) -> None:
        if len(svg) > self.max_bytes:
            return
        with self._lock:
            if key in self._items:
                return
            self._items[key] = svg
            self.bytes += len(svg)
            while self.bytes > self.max_bytes:
                _, old = self._items.popitem(last=False)
                self.bytes -= len(old)


def _handle(conn: Connection, slots: threading.Semaphore, cache: SharedCache) -> None:
    import hashlib
    import json

    with conn:
        while True:
            try:
                request = conn.recv_bytes(maxlength=MAX_SPEC_BYTES + 65536)
            except (EOFError, OSError):
                return  # the kernel went away
            try:
                key = hashlib.sha256(request).digest()
                svg = cache.get(key)
                if svg is None:
                    spec_text, fmt, time_fmt = json.loads(request)
                    with slots:
                        svg = draw(spec_text, fmt, time_fmt)
                    cache.put(key, svg)
                reply = ("ok", svg)
            except Exception as exc:  # noqa: BLE001 - reported to the caller, which logs it
                reply = ("error", f"{type(exc).__name__}: {exc}")
            try:
                conn.send(reply)
            except OSError:
                return


def serve(address: str, authkey: bytes, threads: int = 2) -> None:
    """Accept kernels' connections on ``address`` until killed; one thread per connection."""
    draw('{"mark": "point", "data": {"values": [{}]}}', "en-GB", "en-GB")  # load the engine now
    slots = threading.Semaphore(threads)
    cache = SharedCache()
    with Listener(address, family="AF_UNIX", authkey=authkey, backlog=64) as listener:
        os.chmod(address, 0o600)
        print(f"render service ready on {address}", flush=True)
        while True:
            try:
                conn = listener.accept()
            except (OSError, EOFError, AuthenticationError) as exc:  # wrong key, stray client
                # AuthenticationError is not an OSError: uncaught, one bad client would end the
                # service for every kernel (found by tests/test_hosting.py).
                log.warning("render service refused a connection: %s", exc)
                continue
            if threading.active_count() > MAX_CONNECTIONS:
                conn.close()
                continue
            threading.Thread(target=_handle, args=(conn, slots, cache), daemon=True).start()


# --- Starting it (from pbc_lib.hosting) ----------------------------------------------------------
def wait_for_socket(service: Any, failure: str, timeout_s: float = START_TIMEOUT_S) -> None:
    """Wait until a helper process started by ``service`` (with ``.process``, ``.address`` and
    ``.stop()``) has made its Unix socket; stop it and raise ``failure`` if it exits first or
    takes longer than ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while not os.path.exists(service.address):
        if service.process.poll() is not None or time.monotonic() > deadline:
            service.stop()
            raise RuntimeError(failure)
        time.sleep(0.05)
    time.sleep(0.05)  # the socket file exists just before listen() returns


def end_with_parent() -> None:
    """In a child process before it runs (``preexec_fn``): ask Linux to send it SIGTERM when the
    process that started it dies, so a server killed outright leaves no helper behind
    (``prctl(PR_SET_PDEATHSIG)``; elsewhere nothing happens)."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # 1 = PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


class Service:
    """A running render service: its process, socket and key (``stop()`` ends it)."""

    def __init__(self, threads: int = 2) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="pbc-render-"))
        self.address = str(self.folder / "render.sock")
        self.key = secrets.token_hex(32)
        env = {**os.environ, KEY_ENV: self.key}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "pbc_lib.render_service", self.address, f"--threads={threads}"],
            env=env,
            stdout=subprocess.DEVNULL,
            preexec_fn=end_with_parent,
        )
        wait_for_socket(self, "The chart render service did not start.")

    def environ(self) -> dict[str, str]:
        """The variables a kernel needs to reach the service."""
        return {SOCKET_ENV: self.address, KEY_ENV: self.key}

    def stop(self) -> None:
        """Stop the process and remove the socket."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
        if self.folder.exists():
            for f in self.folder.glob("*"):
                f.unlink(missing_ok=True)
            self.folder.rmdir()


# --- The client (in each kernel) -----------------------------------------------------------------
_local = threading.local()


def _connection() -> Connection | None:
    conn = getattr(_local, "conn", None)
    if conn is not None:
        return conn
    address, key = os.environ.get(SOCKET_ENV), os.environ.get(KEY_ENV)
    if not address or not key:
        return None
    _local.conn = Client(address, family="AF_UNIX", authkey=key.encode())
    return _local.conn


def _drop_connection() -> None:
    conn = getattr(_local, "conn", None)
    _local.conn = None
    if conn is not None:
        try:
            conn.close()
        except OSError:
            pass


def render(spec_text: str, format_locale: Any, time_format_locale: Any) -> str:
    """SVG for a Vega-Lite spec: through the shared service if there is one, else in-process.

    A service that has gone away (or never started) is not an error for the user: the chart is
    drawn here instead and the switch is logged once per failure.
    """
    import json

    if len(spec_text) <= MAX_SPEC_BYTES:
        for _attempt in range(2):  # a stale connection (service restarted) gets one reconnect
            try:
                conn = _connection()
                if conn is None:
                    break
                conn.send_bytes(json.dumps([spec_text, format_locale, time_format_locale]).encode())
                status, payload = conn.recv()
            except (OSError, EOFError) as exc:
                log.warning("chart render service unavailable (%s); drawing in the kernel", exc)
                _drop_connection()
                continue
            if status == "ok":
                return payload
            raise RenderError(payload)
    return draw(spec_text, format_locale, time_format_locale)


def main(argv: list[str] | None = None) -> None:
    """``python -m pbc_lib.render_service SOCKET [--threads N]`` (the key comes from the env)."""
    parser = argparse.ArgumentParser(description="Shared chart renderer for the PbC Workbooks.")
    parser.add_argument("address")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)
    key = os.environ.pop(KEY_ENV, "")
    if not key:
        raise SystemExit(f"{KEY_ENV} must be set")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    serve(args.address, key.encode(), threads=max(1, min(args.threads, 8)))


if __name__ == "__main__":
    main()
