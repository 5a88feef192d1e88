"""Serving the workbooks with Voilà: settings, the page template, the landing page, the site folder.

``python -m pbc_lib.hosting`` (the README's ``make serve``) starts Voilà on 127.0.0.1 with:

- **a site folder** holding copies of the served notebooks only (``workbooks/``, ``exercises/`` and,
  unless ``--no-solutions``, ``exercises/solutions/``), so no URL can list, render or fetch anything
  else in the repository (``data/``, ``pbc_lib/`` source, the virtual environment's files);
- **preheated kernels**: each notebook has a pool of kernels that have already run it, so a visit
  gets the finished page at once (``--pool-size``, and ``--pool NOTEBOOK=N`` for one notebook);
  a visitor is given a kernel that has finished running the notebook, and refills are bounded
  (:mod:`pbc_lib.hosting.pool`);
- **culling**: kernels idle for ``--cull-idle`` seconds are shut down (closed tabs keep theirs);
- **a base URL** (``--base-url``) to run behind a proxy or JupyterHub;
- **no tracebacks** for users (the friendly error panel instead; the detail goes to the log file),
  an execution timeout, a cap on websocket message size (``MAX_MESSAGE_BYTES``);
- **compression**: gzip on HTTP responses and permessage-deflate on the kernel websockets, and
  **caching** headers so a returning browser re-asks for none of the page's scripts;
- **malformed URLs refused with 404** (:mod:`pbc_lib.hosting.hardening`) where Voilà would raise;
- **one shared chart renderer** (:mod:`pbc_lib.render_service`) instead of one in every kernel;
- **kernels forked from a preloaded process** (:mod:`pbc_lib.hosting.forkserver`), so a new
  kernel does not import pandas, Altair and ipywidgets again (``--no-fork-kernels`` to turn off);
- the project's ``pbc`` page template (Voilà's ``lab`` template without the CDN font links) and a
  landing page built from the notebooks' header metadata (``pbc_lib.catalogue``).
"""

from __future__ import annotations

import argparse
import atexit
import ipaddress
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from pbc_lib.catalogue import REPO_ROOT, SECTIONS, landing_context

TEMPLATE_ROOT = Path(__file__).resolve().parent / "jupyter"
TEMPLATE_NAME = "pbc"
DEFAULT_PORT = 8866
DEFAULT_IP = "127.0.0.1"  # this machine only; --ip 0.0.0.0 opens it to the local network
EXECUTION_TIMEOUT_S = 60  # Voilà waits forever by default; tech-notes §4 (render-time stall)
CULL_IDLE_TIMEOUT_S = 600  # closed tabs keep their kernels otherwise (tech-notes §6)
CULL_INTERVAL_S = 60
DEFAULT_POOL_SIZE = 1  # preheated kernels per notebook (13 notebooks: ~2 GiB at ~160 MiB each)
MAX_POOL_SIZE = 200  # per notebook: a typo must not start thousands of kernels
MAX_MESSAGE_BYTES = 1024 * 1024  # largest websocket message a browser may send (Tornado: 10 MiB)
# permessage-deflate on the kernel websockets (RFC 7692; Tornado's options): the widget state a page
# receives is mostly SVG text, which deflates to about a fifth. mem_level 5 keeps each connection's
# compressor at ~150 KB of server memory instead of ~260 KB (zlib: 2^(windowBits+2) + 2^(mem+9)).
WEBSOCKET_COMPRESSION = {"compression_level": 6, "mem_level": 5}
FILL_DELAY_S = 0.5  # wait before refilling a pool after a kernel is handed out (Voilà: 1 s)
SOLUTIONS = "exercises/solutions"


class HostingError(ValueError):
    """A serve option is out of range; the message says which and what is allowed."""


def build_site(target: Path, *, solutions: bool = True, root: Path = REPO_ROOT) -> list[str]:
    """Copy the served notebooks into ``target`` (emptied first); return their relative paths.

    Only ``*.ipynb`` files of the catalogue's sections are copied: Voilà serves a folder tree, so
    anything else under its root could be listed or requested.
    """
    if target.exists():
        shutil.rmtree(target)
    copied = []
    for folder, _, _ in SECTIONS:
        if folder == SOLUTIONS and not solutions:
            continue
        for nb in sorted((root / folder).glob("*.ipynb")):
            dest = target / folder / nb.name
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(nb, dest)
            copied.append(f"{folder}/{nb.name}")
    return copied


def make_page_config_hook(solutions: bool = True):
    """A Voilà page-config hook adding the catalogue to folder (landing) pages only.

    Voilà's tree handler ignores the return value and relies on in-place change; its notebook
    handler uses the return value. The hook does both. Without solutions, their section is dropped.
    """

    def hook(page_config: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        path = kwargs.get("notebook_path") or ""
        if not str(path).endswith(".ipynb"):
            context = landing_context(REPO_ROOT)
            if not solutions:
                hidden = SOLUTIONS.replace("/", "-")
                context["sections"] = [s for s in context["sections"] if s["key"] != hidden]
            page_config["pbcCatalogue"] = context
        return page_config

    return hook


page_config_hook = make_page_config_hook()


def parse_pools(items: list[str], notebooks: list[str]) -> dict[str, int]:
    """``["workbooks/00_start_here.ipynb=20"]`` → ``{path: 20}``, checked against the site."""
    pools = {}
    for item in items:
        name, sep, size = item.partition("=")
        if not sep or not size.strip().isdigit():
            raise HostingError(
                f"--pool takes NOTEBOOK=SIZE, e.g. workbooks/00_start_here.ipynb=10; got {item!r}."
            )
        if name not in notebooks:
            raise HostingError(f"--pool names {name!r}, which is not served; served notebooks are "
                               + ", ".join(notebooks) + ".")
        pools[name] = check_pool_size(int(size))
    return pools


def check_pool_size(size: int) -> int:
    """A pool size in 0..MAX_POOL_SIZE, or a clear error."""
    if not 0 <= size <= MAX_POOL_SIZE:
        raise HostingError(f"A pool size must be between 0 and {MAX_POOL_SIZE}; got {size}.")
    return size


def voila_config(
    *,
    pool_size: int = DEFAULT_POOL_SIZE,
    pools: dict[str, int] | None = None,
    cull_idle: int = CULL_IDLE_TIMEOUT_S,
    solutions: bool = True,
    kernel_env: dict[str, str] | None = None,
    refill_delay: float = FILL_DELAY_S,
):
    """The traitlets ``Config`` the project serves with (tests and benchmarks use the same)."""
    from traitlets.config import Config

    config = Config()
    config.VoilaConfiguration.page_config_hook = make_page_config_hook(solutions)
    config.VoilaConfiguration.template = TEMPLATE_NAME
    config.VoilaConfiguration.classic_tree = True
    config.VoilaConfiguration.show_tracebacks = False
    config.VoilaConfiguration.preheat_kernel = pool_size > 0 or bool(pools)
    config.VoilaConfiguration.default_pool_size = check_pool_size(pool_size)
    config.VoilaExecutor.timeout = EXECUTION_TIMEOUT_S
    # Kernels talk to the server over Unix sockets in the connection folder, not TCP ports on
    # 127.0.0.1: no port a kernel was promised can be taken by another socket before it binds it
    # (jupyter_client issue 487; seen here with 62 kernels starting at once), and no other local
    # user can reach a kernel's sockets.
    config.KernelManager.transport = "ipc"
    config.MappingKernelManager.cull_idle_timeout = int(cull_idle)
    config.MappingKernelManager.cull_interval = CULL_INTERVAL_S
    pools_config: dict[str, Any] = {
        "default": {"pool_size": check_pool_size(pool_size), "kernel_env_variables": {}}
    }
    for name, size in (pools or {}).items():
        pools_config[name] = {"pool_size": size, "kernel_env_variables": {}}
    config.VoilaKernelManager.kernel_pools_config = pools_config
    config.VoilaKernelManager.fill_delay = float(refill_delay)
    config.VoilaKernelManager.default_env_variables = dict(kernel_env or {})
    config.Voila.tornado_settings = {
        "websocket_max_message_size": MAX_MESSAGE_BYTES,
        "max_body_size": MAX_MESSAGE_BYTES,
        "max_buffer_size": MAX_MESSAGE_BYTES,
        "websocket_compression_options": dict(WEBSOCKET_COMPRESSION),
    }
    return config


def voila_class():
    """Voilà's application with gzip on every HTTP response that can take it (HTML, CSS,
    JavaScript, JSON; static files compressed once) and long-lived caching for the static files
    every page needs (:mod:`pbc_lib.hosting.transforms`). Tornado reads ``compress_response``
    only when the application is built, before Voilà applies ``tornado_settings``, so the transform
    is added here, once the application exists and before it serves anything."""
    import tornado.web
    from voila.app import Voila

    from pbc_lib.hosting import pool
    from pbc_lib.hosting.transforms import make_compression, make_static_caching

    class PbcVoila(Voila):
        def init_settings(self):
            settings = super().init_settings()
            pool.install(self.kernel_manager)  # fully run kernels first; bounded refills
            return settings

        def init_handlers(self):
            if not any(issubclass(t, tornado.web.GZipContentEncoding)
                       for t in self.app.transforms):
                self.app.add_transform(make_compression())
                self.app.add_transform(make_static_caching(self.base_url))
            return super().init_handlers()

    return PbcVoila


def voila_argv(
    site: Path | str = REPO_ROOT,
    port: int = DEFAULT_PORT,
    base_url: str = "/",
    open_browser: bool = False,
    ip: str = DEFAULT_IP,
) -> list[str]:
    """The command-line part of the settings: what to serve, where."""
    if not base_url.startswith("/") or not base_url.endswith("/"):
        raise HostingError(
            f"The base URL must start and end with '/', e.g. /pbc/; got {base_url!r}."
        )
    argv = [
        str(site),
        f"--port={port}",
        f"--Voila.ip={check_ip(ip)}",
        f"--Voila.base_url={base_url}",
        f"--template={TEMPLATE_NAME}",
    ]
    if not open_browser:
        argv.append("--no-browser")
    return argv


def check_ip(ip: str) -> str:
    """The address to listen on: an IPv4 address (``0.0.0.0`` for every network interface)."""
    try:
        return str(ipaddress.IPv4Address(ip))
    except ValueError:
        raise HostingError(
            f"--ip takes an IPv4 address such as 127.0.0.1 (this machine only) or 0.0.0.0 (every "
            f"network this machine is on); got {ip!r}."
        ) from None


def add_template_path(env: dict[str, str] | os._Environ = os.environ) -> None:
    """Put the project's template folder first on JUPYTER_PATH (where Voilà finds templates)."""
    current = env.get("JUPYTER_PATH", "")
    parts = [p for p in current.split(os.pathsep) if p and p != str(TEMPLATE_ROOT)]
    env["JUPYTER_PATH"] = os.pathsep.join([str(TEMPLATE_ROOT), *parts])


def parser() -> argparse.ArgumentParser:
    """The serve command's options (each has an environment variable for containers)."""
    env = os.environ.get
    p = argparse.ArgumentParser(description="Serve the PbC Workbooks with Voilà.")
    p.add_argument("--port", type=int, default=int(env("PBC_PORT", DEFAULT_PORT)))
    p.add_argument("--ip", default=env("PBC_IP", DEFAULT_IP),
                   help="address to listen on (default 127.0.0.1, this machine only; 0.0.0.0 lets "
                        "laptops on the same network in, e.g. a workshop room without a proxy)")
    p.add_argument("--base-url", default=env("PBC_BASE_URL", "/"),
                   help="URL prefix when served behind a proxy, e.g. /pbc/ (default /)")
    p.add_argument("--pool-size", type=int, default=int(env("PBC_POOL_SIZE", DEFAULT_POOL_SIZE)),
                   help="preheated kernels kept ready for each notebook (0 = none; default 1)")
    p.add_argument("--pool", action="append", default=[], metavar="NOTEBOOK=SIZE",
                   help="a different pool size for one notebook, e.g. "
                        "workbooks/00_start_here.ipynb=20 (repeatable)")
    p.add_argument("--cull-idle", type=int, default=int(env("PBC_CULL_IDLE", CULL_IDLE_TIMEOUT_S)),
                   help="shut down a delegate's kernel after this many idle seconds (default 600)")
    p.add_argument("--refill-delay", type=float, default=FILL_DELAY_S,
                   help="seconds before a pool replaces a kernel it handed out (default 0.5); "
                        "a large pool for a burst can wait until the burst is over")
    p.add_argument("--no-solutions", action="store_true",
                   default=env("PBC_NO_SOLUTIONS", "") not in ("", "0"),
                   help="do not serve the worked solutions (e.g. while trainees do the exercises)")
    p.add_argument("--render-threads", type=int, default=2,
                   help="threads of the shared chart renderer (default 2)")
    p.add_argument("--no-fork-kernels", action="store_true",
                   default=env("PBC_NO_FORK", "") not in ("", "0"),
                   help="start every kernel as a new Python instead of forking it from the "
                        "preloaded fork server (slower to start; for diagnosis)")
    p.add_argument("--workshop-db", default=env("PBC_WORKSHOP_DB", ""),
                   help="the workshop mode's store: a file (SQLite) or a PostgreSQL URL such as "
                        "postgresql+psycopg://user:password@host/db (default: a file under "
                        "~/.local/share/pbc-workbooks)")
    p.add_argument("--open-browser", action="store_true")
    return p


def prepare_workshop_store(location: str) -> str:
    """Check the workshop store answers and bring its schema up to date before any kernel starts;
    point the kernels at it (``PBC_WORKSHOP_DB``). Returns where it is, without a password."""
    from pbc_lib.workshop import store as workshop_store

    if location:
        os.environ[workshop_store.ENV_DB] = location
    try:
        with workshop_store.open_store(location or None) as st:
            return st.url
    except workshop_store.WorkshopStoreError as exc:
        raise HostingError(f"the workshop store: {exc}") from None


def main(argv: list[str] | None = None) -> None:
    """Start the render service and Voilà over a fresh site folder with the project's settings."""
    args = parser().parse_args(argv)
    try:
        check_pool_size(args.pool_size)
        if not 0 <= args.refill_delay <= 3600:
            raise HostingError(f"--refill-delay must be 0 to 3600 s; got {args.refill_delay}.")
        if args.cull_idle < 0:
            raise HostingError(
                f"--cull-idle must be 0 (never) or more seconds; got {args.cull_idle}."
            )
        # One folder per port, rebuilt at each start: a server killed without clean-up leaves at
        # most one stale copy behind, which the next start on that port replaces.
        site = Path(tempfile.gettempdir()) / f"pbc-site-{os.getuid()}-{args.port}"
        notebooks = build_site(site, solutions=not args.no_solutions)
        pools = parse_pools(args.pool, notebooks)
        argv_voila = voila_argv(site, args.port, args.base_url, args.open_browser, args.ip)
        workshop_store = prepare_workshop_store(args.workshop_db)
    except HostingError as exc:
        raise SystemExit(f"Cannot serve: {exc}") from None
    atexit.register(shutil.rmtree, site, ignore_errors=True)
    add_template_path()
    log_file = Path(tempfile.gettempdir()) / "pbc-workbooks-kernels.log"
    os.environ.setdefault("PBC_LOG_FILE", str(log_file))  # kernels inherit it (see pbc_lib)

    from pbc_lib import render_service

    service = render_service.Service(threads=args.render_threads)
    atexit.register(service.stop)
    os.environ.update(service.environ())  # kernels inherit the environment (pooled ones too)
    if not args.no_fork_kernels:
        from pbc_lib.hosting import forkserver

        # Started after the renderer, so the kernels it forks inherit the renderer's address.
        forks = forkserver.Service()
        atexit.register(forks.stop)
        os.environ.update(forks.environ())
        kernels = Path(tempfile.gettempdir()) / f"pbc-kernels-{os.getuid()}-{args.port}"
        forkserver.kernel_spec(kernels)  # "python3" here means a forked kernel
        atexit.register(shutil.rmtree, kernels, ignore_errors=True)
        os.environ["JUPYTER_PATH"] = os.pathsep.join(
            [str(kernels), *filter(None, os.environ.get("JUPYTER_PATH", "").split(os.pathsep))])

    from pbc_lib.hosting import hardening

    hardening.install()  # malformed paths get 404, not Voilà's uncaught 500
    config = voila_config(pool_size=args.pool_size, pools=pools, cull_idle=args.cull_idle,
                          solutions=not args.no_solutions, refill_delay=args.refill_delay)
    print(f"Serving the PbC Workbooks at http://127.0.0.1:{args.port}{args.base_url}", flush=True)
    if args.ip != DEFAULT_IP:
        print(f"Listening on {args.ip}: other machines use http://THIS-MACHINE'S-ADDRESS:"
              f"{args.port}{args.base_url} (there is no login: use a network you trust)",
              flush=True)
    print(f"Preheated kernels: {args.pool_size} per notebook"
          + (f"; {json.dumps(pools)}" if pools else ""), flush=True)
    print(f"Error details from the workbooks' kernels go to {os.environ['PBC_LOG_FILE']}",
          flush=True)
    print(f"Workshop mode keeps its workshops in {workshop_store}", flush=True)
    try:
        voila_class().launch_instance(argv=argv_voila, config=config)
    finally:
        service.stop()
