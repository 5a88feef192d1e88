"""Memory of one delegate's pod under JupyterHub: a Jupyter server with Voilà, and its kernels.

In the JupyterHub recipe of ``docs/hosting.md`` every delegate gets a pod running their own Jupyter
server with Voilà as an extension, configured by ``python -m pbc_lib.hosting.binder`` exactly as
the image's ``postBuild`` does. There is no shared chart renderer and no fork server there, so each
kernel imports vl-convert and draws its own charts. This script starts such a server on loopback
(configured into a temporary prefix, the repository as its root, as in the image), opens each
workbook once (the page request runs the notebook to the end), and reads the resident memory
(RSS, and USS where the kernel shares nothing) of the server and of the kernel:

    .venv/bin/python -m benchmarks.pod_memory

It prints a table and writes ``benchmarks/results/pod_memory.json``. The pod's memory guarantee in
the recipe is the server plus one kernel (a delegate with one workbook open), its limit the server
plus two kernels (a second workbook opened before the first is culled).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

from benchmarks import _browser as B
from pbc_lib.hosting import binder

WORKBOOKS = B.WORKBOOKS


def _get(url: str, timeout: float = 300.0) -> int:
    """GET ``url`` to the end (Voilà streams the page while it runs the notebook); its status."""
    with urllib.request.urlopen(url, timeout=timeout) as resp:
        while resp.read(65536):
            pass
        return resp.status


def _delete(url: str) -> None:
    req = urllib.request.Request(url, method="DELETE")
    with urllib.request.urlopen(req, timeout=30):
        pass


def _kernels(base: str) -> list[str]:
    with urllib.request.urlopen(base + "api/kernels", timeout=30) as resp:
        return [k["id"] for k in json.loads(resp.read())]


def measure(repeats: int) -> dict[str, Any]:
    prefix = Path(tempfile.mkdtemp(prefix="pbc-pod-"))
    binder.install(prefix)
    env = dict(os.environ)
    env["JUPYTER_CONFIG_PATH"] = str(prefix / "etc" / "jupyter")
    env["JUPYTER_PATH"] = str(prefix / "share" / "jupyter")
    env.pop("PBC_RENDER_SOCKET", None)
    port = B.free_port()
    base = f"http://127.0.0.1:{port}/"
    log_path = Path(tempfile.gettempdir()) / f"pbc-bench-pod-{port}.log"
    log = open(log_path, "w")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(
        [sys.executable, "-m", "jupyter_server", "--no-browser", f"--port={port}",
         "--ServerApp.ip=127.0.0.1", "--IdentityProvider.token=",
         "--ServerApp.disable_check_xsrf=True", "--allow-root",
         f"--ServerApp.root_dir={B.REPO}"],
        cwd=B.REPO, stdout=log, stderr=subprocess.STDOUT, env=env,
    )
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if _get(base + "voila/tree", timeout=5) == 200:
                    break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"The Jupyter server did not start; see {log_path}")
            time.sleep(0.3)
        idle_server = B.memory(proc.pid)
        rows: dict[str, Any] = {}
        for notebook in WORKBOOKS:
            rss, uss, server_after = [], [], []
            for _ in range(repeats):
                status = _get(base + "voila/render/" + notebook)
                if status != 200:
                    raise RuntimeError(f"{notebook}: HTTP {status}")
                time.sleep(1.0)
                kids = B.descendants(proc.pid)
                if len(kids) != 1:
                    raise RuntimeError(f"{notebook}: expected one kernel, found {len(kids)}")
                mem = B.memory(kids[0])
                rss.append(mem["rss"])
                uss.append(mem["uss"])
                server_after.append(B.memory(proc.pid)["rss"])
                for kid in _kernels(base):
                    _delete(base + f"api/kernels/{kid}")
                time.sleep(0.5)
            rows[notebook] = {
                "kernel_rss_mib": statistics.median(rss),
                "kernel_uss_mib": statistics.median(uss),
                "server_rss_mib": statistics.median(server_after),
            }
        server = max(r["server_rss_mib"] for r in rows.values())
        kernel = max(r["kernel_rss_mib"] for r in rows.values())
        return {
            "machine": B.machine(),
            "repeats": repeats,
            "server_idle": idle_server,
            "workbooks": rows,
            "pod_one_workbook_mib": server + kernel,
            "pod_two_workbooks_mib": server + 2 * kernel,
        }
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeats", type=int, default=3, help="page views per workbook")
    p.add_argument("--out", type=Path, default=B.RESULTS / "pod_memory.json")
    args = p.parse_args(argv)
    res = measure(args.repeats)
    rows = [
        [nb, B.fmt(r["kernel_rss_mib"]), B.fmt(r["kernel_uss_mib"]), B.fmt(r["server_rss_mib"])]
        for nb, r in res["workbooks"].items()
    ]
    B.print_table(
        "One delegate's pod (Jupyter server + Voilà, kernel draws its own charts), MiB",
        ["workbook", "kernel RSS", "kernel USS", "server RSS after"], rows,
    )
    print(f"server idle RSS {B.fmt(res['server_idle']['rss'])} MiB; "
          f"pod with one workbook open {B.fmt(res['pod_one_workbook_mib'])} MiB, "
          f"with two {B.fmt(res['pod_two_workbooks_mib'])} MiB (largest kernel)")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(res, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
