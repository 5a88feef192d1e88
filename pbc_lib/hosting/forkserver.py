"""Kernels forked from one process that has already imported what every workbook needs.

A new Python kernel spends most of its start-up importing: ipykernel and IPython, pandas, NumPy,
Altair and ipywidgets take about 1.6 s of CPU before the notebook's first line runs, out of 3-5 s
for a whole workbook session (measured with ``os.times()`` in the kernel). On a 2-core server that
caps how fast a pool can refill behind a room of delegates, and Voilà's default (a new kernel per
visit) pays it on every visit.

So ``python -m pbc_lib.hosting`` starts this **fork server** once: it imports those libraries and
the parts of ``pbc_lib`` that create no widgets (:data:`PRELOAD`), reads the small data tables, and
then waits on a private Unix socket. The server's kernel specification for ``python3`` names the
:class:`ForkProvisioner` (a ``jupyter_client`` kernel provisioner, registered as
``pbc-fork`` in ``pyproject.toml``), which asks the fork server for a kernel instead of starting a
new Python: the fork server forks, and the child becomes an ordinary ipykernel
(``ipykernel_launcher -f <connection file>``) with the environment and folder Voilà asked for.
Pages the child had in common with the fork server stay shared (copy-on-write), so each kernel
also costs less memory of its own.

Lifecycle, so nothing is left behind:

- the provisioner keeps one socket connection per kernel; the fork server reaps its children and
  sends each one's exit code on that connection (``poll``/``wait``);
- signals (interrupt, terminate, kill) go straight to the child's process group;
- if the connection closes (Voilà stopped or was killed), the fork server kills that child; if the
  fork server itself dies, its children see their parent gone and exit (ipykernel's parent
  poller);
- if the fork server cannot be reached, the provisioner starts the kernel the usual way.

Fork safety: the fork server is single-threaded (checked before it serves), numerical libraries are
held to one thread (:data:`THREAD_ENV`: a kernel per delegate, not threads per kernel, uses the
cores), and it refuses to serve if importing :data:`PRELOAD` created a widget (a widget made
before the fork would have no front end).

Sources: jupyter_client 8 ``provisioning/local_provisioner.py`` and ``provisioning/factory.py``
(entry point group ``jupyter_client.kernel_provisioners``); ipykernel 7 ``ipykernel_launcher`` and
``kernelapp``; POSIX ``fork(2)``, ``waitpid(2)``; Python ``os.fork``, ``signal.set_wakeup_fd``.
"""

from __future__ import annotations

import argparse
import json
import os
import selectors
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from pbc_lib.render_service import end_with_parent, wait_for_socket

SOCKET_ENV = "PBC_FORK_SOCKET"
PROVISIONER_NAME = "pbc-fork"
START_TIMEOUT_S = 120
MAX_REQUEST_BYTES = 1024 * 1024  # a launch request is an argv, an environment and a folder
#: One thread each for the numerical libraries (set before NumPy is imported).
THREAD_ENV = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
#: Imported before forking: everything every workbook kernel imports, and nothing that creates a
#: widget at import (``pbc_lib.apps.*`` modules make layouts at module level, so they stay out).
PRELOAD = (
    "ipykernel.kernelapp",
    "ipykernel.ipkernel",
    "ipykernel.comm",
    "IPython",
    "IPython.core.interactiveshell",
    "numpy",
    "pandas",
    "altair",
    "ipywidgets",
    "yaml",
    "pbc_lib.data",
    "pbc_lib.charts",
    "pbc_lib.render_service",
)
#: Tables read before forking (a kernel gets a copy of the cached frame); the 20,000-person
#: patient_costs table only one workbook uses is left out, so it does not sit in every kernel.
PRELOAD_SKIP_TABLES = ("patient_costs",)


# --- The fork server ---------------------------------------------------------------------------
def preload() -> None:
    """Import :data:`PRELOAD` and read the small committed tables."""
    import importlib

    for name in PRELOAD:
        importlib.import_module(name)
    from pbc_lib import data

    for name in data.table_names():
        if name not in PRELOAD_SKIP_TABLES:
            data.load_table(name)


def fork_safe_problems() -> list[str]:
    """Why forking now would be unsafe (empty if it is safe)."""
    problems = []
    threads = len(os.listdir("/proc/self/task")) if os.path.isdir("/proc/self/task") else 1
    if threads != 1:
        problems.append(f"{threads} threads are running (a fork keeps only one)")
    widget_module = sys.modules.get("ipywidgets.widgets.widget")
    made = len(getattr(widget_module, "_instances", {}) or {})
    if made:
        problems.append(f"{made} widgets exist before any kernel")
    return problems


def _send(conn: socket.socket, message: dict[str, Any]) -> None:
    try:
        conn.sendall(json.dumps(message).encode() + b"\n")
    except OSError:
        pass


def _read_line(conn: socket.socket, closed: str, limit: int | None = None) -> bytes:
    """Bytes from ``conn`` up to and including a newline (``closed``: the error if it closes
    first; ``limit``: the most bytes accepted)."""
    buffer = b""
    while not buffer.endswith(b"\n"):
        chunk = conn.recv(65536)
        if not chunk:
            raise ConnectionError(closed)
        buffer += chunk
        if limit is not None and len(buffer) > limit:
            raise ValueError("request too large")
    return buffer


def _read_request(conn: socket.socket) -> dict[str, Any]:
    conn.settimeout(10)
    buffer = _read_line(conn, "closed before a request", MAX_REQUEST_BYTES)
    conn.settimeout(None)
    request = json.loads(buffer)
    if not (isinstance(request.get("argv"), list) and isinstance(request.get("env"), dict)
            and isinstance(request.get("cwd"), str)):
        raise ValueError("a request needs argv (list), env (dict) and cwd (str)")
    return request


def _become_kernel(request: dict[str, Any], inherited: list[Any], pipe_fds: list[int]) -> None:
    """In the child: close what it inherited from the fork server (sockets, the selector, the
    signal pipe), become ``ipykernel_launcher <argv>`` and exit with its status."""
    code = 1
    try:
        signal.set_wakeup_fd(-1)
        for sig in (signal.SIGCHLD, signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(sig, signal.SIG_DFL)
        for thing in inherited:  # socket and selector objects: closed, so never closed twice
            thing.close()
        for fd in pipe_fds:
            os.close(fd)
        os.setpgid(0, 0)  # its own process group (the parent sets it too: no race)
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update({**request["env"], **THREAD_ENV})
        sys.argv = ["ipykernel_launcher", *map(str, request["argv"])]
        sys.path[0] = request["cwd"]  # as `python -m ipykernel_launcher` started there would have
        from ipykernel import kernelapp

        app = kernelapp.IPKernelApp.instance()  # what launch_new_instance() does, in two steps:
        app.initialize()
        # ipywidgets registers its comm targets when it is imported inside a kernel; it was
        # imported here before there was one, so register them now (without this the page's
        # widget manager falls back to one request per widget).
        sys.modules["ipywidgets"]._handle_ipython()
        app.start()
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except BaseException:  # noqa: BLE001 - reported on the kernel's stderr, then exit
        import traceback

        traceback.print_exc()
    finally:
        os._exit(code)


def serve(address: str) -> None:
    """Preload, then fork a kernel for every request on ``address`` until stopped."""
    preload()
    problems = fork_safe_problems()
    if problems:
        raise SystemExit("fork server not started: " + "; ".join(problems))
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(address)
    os.chmod(address, 0o600)
    listener.listen(64)
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_w, False)
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGCHLD, lambda *_: None)  # the wakeup fd does the work
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(True))
    children: dict[int, socket.socket] = {}  # pid -> its provisioner's connection
    selector = selectors.DefaultSelector()
    selector.register(listener, selectors.EVENT_READ, "accept")
    selector.register(wake_r, selectors.EVENT_READ, "signal")
    print(f"fork server ready on {address}", flush=True)
    parent = os.getppid()
    while not stop and os.getppid() == parent:  # the server that started it is gone: so is it
        for key, _ in selector.select(timeout=1.0):
            if key.data == "accept":
                _accept(listener, selector, children, [wake_r, wake_w])
            elif key.data == "signal":
                os.read(wake_r, 4096)
                _reap(selector, children)
            else:  # a provisioner's connection: readable means closed (it sends nothing more)
                _drop(key.data, key.fileobj, selector, children)
    for pid in list(children):
        _kill(pid)
    deadline = time.monotonic() + 5
    while children and time.monotonic() < deadline:  # reap them: no zombies left behind
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            break
        if pid:
            children.pop(pid, None)
        else:
            time.sleep(0.05)


def _accept(listener: socket.socket, selector: selectors.BaseSelector,
            children: dict[int, socket.socket], pipe_fds: list[int]) -> None:
    conn, _ = listener.accept()
    try:
        request = _read_request(conn)
    except (OSError, ValueError, ConnectionError) as exc:
        _send(conn, {"error": f"bad request: {exc}"})
        conn.close()
        return
    pid = os.fork()
    if pid == 0:
        _become_kernel(request, [selector, listener, conn, *children.values()], pipe_fds)
    try:
        os.setpgid(pid, pid)  # before anyone is told the pid: signals to its group reach it only
    except OSError:
        pass  # the child did it first, or has already exited (reaped below)
    children[pid] = conn
    selector.register(conn, selectors.EVENT_READ, pid)
    _send(conn, {"pid": pid})


def _reap(selector: selectors.BaseSelector, children: dict[int, socket.socket]) -> None:
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        conn = children.pop(pid, None)
        if conn is not None:
            _send(conn, {"exit": os.waitstatus_to_exitcode(status)})
            selector.unregister(conn)
            conn.close()


def _drop(pid: int, conn: socket.socket, selector: selectors.BaseSelector,
          children: dict[int, socket.socket]) -> None:
    try:
        still_open = conn.recv(1, socket.MSG_PEEK) != b""
    except OSError:
        still_open = False
    if still_open:  # a provisioner never writes after its request: discard what it sent
        conn.recv(65536)
        return
    selector.unregister(conn)
    conn.close()
    if children.pop(pid, None) is not None:
        _kill(pid)  # Voilà is gone: so is its kernel (reaped by the next SIGCHLD)


def _kill(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except OSError:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass


class Service:
    """A running fork server (``stop()`` ends it and, with it, the kernels it forked)."""

    def __init__(self) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="pbc-fork-"))
        self.address = str(self.folder / "fork.sock")
        env = {**os.environ, **THREAD_ENV}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "pbc_lib.hosting.forkserver", self.address], env=env,
            stdout=subprocess.DEVNULL, preexec_fn=end_with_parent,
        )
        wait_for_socket(self, "The kernel fork server did not start.", START_TIMEOUT_S)

    def environ(self) -> dict[str, str]:
        """What the Voilà server needs to reach it."""
        return {SOCKET_ENV: self.address}

    def stop(self) -> None:
        """Stop the process and remove the socket."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.folder.exists():
            for f in self.folder.glob("*"):
                f.unlink(missing_ok=True)
            self.folder.rmdir()


def kernel_spec(folder: Path) -> Path:
    """Write a ``python3`` kernel specification that uses :class:`ForkProvisioner` into
    ``folder/kernels/python3`` (put ``folder`` first on ``JUPYTER_PATH``); return its path."""
    spec = {
        "argv": ["python", "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Python 3 (ipykernel)",
        "language": "python",
        "metadata": {"debugger": False,
                     "kernel_provisioner": {"provisioner_name": PROVISIONER_NAME}},
        "kernel_protocol_version": "5.5",
    }
    path = folder / "kernels" / "python3" / "kernel.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(spec, indent=1) + "\n", encoding="utf-8")
    return path


# --- The provisioner (in the Voilà server) -----------------------------------------------------
class ForkedProcess:
    """A kernel forked by the fork server, with the part of ``subprocess.Popen``'s interface that
    ``LocalProvisioner`` uses (``pid``, ``poll``, ``wait``, ``send_signal``, ``kill``,
    ``terminate``; no pipes)."""

    stdin = stdout = stderr = None

    def __init__(self, conn: socket.socket, pid: int) -> None:
        self.conn, self.pid = conn, pid
        self.returncode: int | None = None
        self._buffer = b""

    def _read(self, block: bool) -> None:
        if self.returncode is not None:
            return
        self.conn.setblocking(block)
        try:
            chunk = self.conn.recv(4096)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            chunk = b""
        if chunk:
            self._buffer += chunk
            if b"\n" in self._buffer:
                line = self._buffer.split(b"\n", 1)[0]
                self.returncode = int(json.loads(line).get("exit", 1))
                self.conn.close()
            return
        # The fork server went away without a word: is the kernel still there?
        self.conn.close()
        if not _alive(self.pid):
            self.returncode = 1
        elif block:
            while _alive(self.pid):
                time.sleep(0.1)
            self.returncode = 1

    def poll(self) -> int | None:
        if self.returncode is None and self.conn.fileno() == -1:
            if not _alive(self.pid):
                self.returncode = 1
            return self.returncode
        self._read(block=False)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.poll() is None:
            if deadline is not None and time.monotonic() > deadline:
                raise subprocess.TimeoutExpired(["forked kernel"], timeout)
            time.sleep(0.05)
        return self.returncode  # type: ignore[return-value]

    def send_signal(self, signum: int) -> None:
        if self.returncode is None:
            os.kill(self.pid, signum)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)


def _alive(pid: int) -> bool:
    """Whether ``pid`` is a running process (a zombie, exited but not reaped, is not)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def request_kernel(address: str, argv: list[str], env: dict[str, str], cwd: str) -> ForkedProcess:
    """Ask the fork server at ``address`` for a kernel; the running child's handle."""
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    conn.settimeout(30)
    conn.connect(address)
    conn.sendall(json.dumps({"argv": argv, "env": env, "cwd": cwd}).encode() + b"\n")
    reply = json.loads(_read_line(conn, "the fork server closed the connection"))
    if "pid" not in reply:
        conn.close()
        raise RuntimeError(reply.get("error", "the fork server refused"))
    conn.settimeout(None)
    return ForkedProcess(conn, int(reply["pid"]))


def _provisioner_class():
    from jupyter_client.provisioning import LocalProvisioner

    class ForkProvisioner(LocalProvisioner):
        """``LocalProvisioner`` whose kernels are forked by the fork server when it is running
        (``PBC_FORK_SOCKET``) and started as usual otherwise."""

        forked = False

        async def launch_kernel(self, cmd: list[str], **kwargs: Any):
            address = os.environ.get(SOCKET_ENV)
            module = cmd[1:3] == ["-m", "ipykernel_launcher"]
            if address and module and os.path.exists(address):
                env = {str(k): str(v) for k, v in (kwargs.get("env") or os.environ).items()}
                cwd = str(kwargs.get("cwd") or os.getcwd())
                try:
                    self.process = request_kernel(address, cmd[3:], env, cwd)
                except (OSError, RuntimeError, ValueError) as exc:
                    self.log.warning("fork server unavailable (%s): starting the kernel anew",
                                     exc)
                else:
                    self.forked = True
                    self.pid = self.process.pid
                    try:  # the fork server made the kernel a group leader; never signal its group
                        self.pgid = self.pid if os.getpgid(self.pid) == self.pid else None
                    except OSError:
                        self.pgid = None
                    self.cwd = cwd
                    return self.connection_info
            return await super().launch_kernel(cmd, **kwargs)

    return ForkProvisioner


def __getattr__(name: str):
    """``ForkProvisioner`` is built on first use, so the fork server never imports
    jupyter_client's provisioning machinery."""
    if name == "ForkProvisioner":
        cls = _provisioner_class()
        globals()["ForkProvisioner"] = cls
        return cls
    raise AttributeError(name)


def main(argv: list[str] | None = None) -> None:
    """``python -m pbc_lib.hosting.forkserver SOCKET``."""
    parser = argparse.ArgumentParser(description="Fork kernels from a preloaded process.")
    parser.add_argument("address", help="Unix socket path to listen on")
    args = parser.parse_args(argv)
    for key, value in THREAD_ENV.items():
        os.environ.setdefault(key, value)
    serve(args.address)


if __name__ == "__main__":
    main()
