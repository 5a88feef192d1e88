"""Kernels forked from the preloaded fork server (``pbc_lib.hosting.forkserver``), driven through
jupyter_client exactly as Voilà drives them: start, run code, interrupt, restart, shut down, and
what happens when either side goes away."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest
from jupyter_client import KernelManager

from pbc_lib.hosting import forkserver

READY_S = 60


@pytest.fixture(scope="module")
def fork_service():
    service = forkserver.Service()
    yield service
    service.stop()


@pytest.fixture
def forked_env(fork_service, tmp_path, monkeypatch):
    """A jupyter_client whose ``python3`` is the fork server's (as under ``make serve``)."""
    forkserver.kernel_spec(tmp_path / "jupyter")
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    monkeypatch.setenv(forkserver.SOCKET_ENV, fork_service.address)
    return fork_service


def run(kc, code: str) -> str:
    """Run ``code`` in the kernel; what it printed."""
    out: list[str] = []
    reply = kc.execute_interactive(
        code, timeout=READY_S,
        output_hook=lambda m: m["msg_type"] == "stream" and out.append(m["content"]["text"]))
    assert reply["content"]["status"] == "ok", reply["content"]
    return "".join(out)


def start(cwd, env=None) -> tuple[KernelManager, object]:
    km = KernelManager(kernel_name="python3")
    km.start_kernel(cwd=str(cwd), **({"env": env} if env else {}))
    kc = km.client()
    kc.start_channels()
    kc.wait_for_ready(timeout=READY_S)
    return km, kc


def stop(km, kc) -> None:
    kc.stop_channels()
    if km.has_kernel:
        km.shutdown_kernel(now=True)


def test_a_kernel_is_forked_with_its_own_folder_environment_and_widgets(forked_env, tmp_path):
    env = {**os.environ, "PBC_PROBE": "from-voila"}
    t0 = time.monotonic()
    km, kc = start(tmp_path, env)
    started_s = time.monotonic() - t0
    try:
        assert km.provisioner.forked
        printed = run(kc, "import os, sys\n"
                          "print(os.getppid(), os.getcwd(), os.environ.get('PBC_PROBE'),\n"
                          "      'pandas' in sys.modules, os.environ.get('OPENBLAS_NUM_THREADS'))")
        ppid, cwd, probe, preloaded, threads = printed.split()
        assert int(ppid) == forked_env.process.pid  # a child of the fork server, not a new Python
        assert (cwd, probe, preloaded, threads) == (str(tmp_path), "from-voila", "True", "1")
        assert km.provisioner.pgid == km.provisioner.pid  # its own process group
        # ipywidgets' comm targets are registered in the kernel (the page's widget manager uses
        # jupyter.widget.control to fetch every widget's state at once).
        msg_id = kc.comm_info(target_name="jupyter.widget.control")
        reply = kc.get_shell_msg(timeout=READY_S)
        assert reply["parent_header"]["msg_id"] == msg_id
        printed = run(kc, "import ipywidgets, comm\n"
                          "m = comm.get_comm_manager()\n"
                          "print(sorted(t for t in m.targets if t.startswith('jupyter.widget')))\n"
                          "w = ipywidgets.IntSlider(value=3); print(w.comm is not None)")
        assert "'jupyter.widget', 'jupyter.widget.control'" in printed and "True" in printed
        assert started_s < 30
    finally:
        stop(km, kc)


def test_interrupt_restart_and_shutdown_work_and_leave_nothing(forked_env, tmp_path):
    km, kc = start(tmp_path)
    try:
        kc.execute("import time; time.sleep(60)")
        time.sleep(1.0)
        km.interrupt_kernel()
        reply = kc.get_shell_msg(timeout=30)
        assert reply["content"]["status"] == "error"
        assert reply["content"]["ename"] == "KeyboardInterrupt"
        first = km.provisioner.pid
        km.restart_kernel(now=True)
        kc.wait_for_ready(timeout=READY_S)
        assert km.provisioner.forked and km.provisioner.pid != first
        assert not forkserver._alive(first)
        assert run(kc, "print(6 * 7)").strip() == "42"
        second = km.provisioner.pid
        km.shutdown_kernel(now=False)
        assert not forkserver._alive(second)
    finally:
        stop(km, kc)


def test_a_kernel_whose_server_went_away_is_killed(forked_env, tmp_path):
    km, kc = start(tmp_path)
    pid = km.provisioner.pid
    try:
        km.provisioner.process.conn.close()  # what a Voilà killed outright leaves behind
        deadline = time.monotonic() + 10
        while forkserver._alive(pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not forkserver._alive(pid)
    finally:
        kc.stop_channels()


def test_without_a_fork_server_kernels_start_as_usual(tmp_path, monkeypatch):
    forkserver.kernel_spec(tmp_path / "jupyter")
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    monkeypatch.setenv(forkserver.SOCKET_ENV, str(tmp_path / "no-such.sock"))
    km, kc = start(tmp_path)
    try:
        assert not km.provisioner.forked
        assert run(kc, "import os; print(os.getppid() == 1)").strip() == "False"
    finally:
        stop(km, kc)


def test_stopping_the_fork_server_ends_its_kernels(tmp_path, monkeypatch):
    service = forkserver.Service()
    try:
        forkserver.kernel_spec(tmp_path / "jupyter")
        monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
        monkeypatch.setenv(forkserver.SOCKET_ENV, service.address)
        km, kc = start(tmp_path)
        pid = km.provisioner.pid
        kc.stop_channels()
    finally:
        service.stop()
    assert not forkserver._alive(pid)
    assert km.provisioner.process.poll() is not None  # the provisioner sees it gone


def test_a_widget_made_before_forking_stops_the_fork_server():
    code = ("import ipywidgets\n"
            "from pbc_lib.hosting import forkserver\n"
            "print(forkserver.fork_safe_problems())\n"
            "w = ipywidgets.Layout()\n"
            "print(forkserver.fork_safe_problems())\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120, check=True).stdout.splitlines()
    assert out[0] == "[]"
    assert "widgets exist before any kernel" in out[1]


def test_the_fork_server_rejects_a_malformed_request(fork_service):
    import json
    import socket

    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    conn.settimeout(10)
    conn.connect(fork_service.address)
    conn.sendall(json.dumps({"argv": "not a list"}).encode() + b"\n")
    reply = json.loads(conn.recv(4096))
    conn.close()
    assert "error" in reply
    assert fork_service.process.poll() is None  # still serving
    assert oct(os.stat(fork_service.address).st_mode & 0o777) == "0o600"


def test_preloading_makes_the_kernel_start_cheaper(forked_env, tmp_path):
    """Seen from inside: the forked kernel has spent far less CPU than a fresh one that imported
    pandas, Altair and ipywidgets (about 1.6 s on these machines)."""
    km, kc = start(tmp_path)
    try:
        cpu = float(run(kc, "import os; t = os.times(); print(t.user + t.system)"))
        fresh = subprocess.run(
            [sys.executable, "-c", "import os, pandas, altair, ipywidgets, ipykernel.kernelapp;"
                                   "t = os.times(); print(t.user + t.system)"],
            capture_output=True, text=True, timeout=120, check=True)
        assert cpu < float(fresh.stdout) / 2, (cpu, fresh.stdout)
    finally:
        stop(km, kc)
