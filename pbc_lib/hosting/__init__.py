"""Serving the workbooks with Voilà: the page template, the landing page and the server settings.

``python -m pbc_lib.hosting`` (the README's ``make serve``) starts Voilà on 127.0.0.1 over the
repository, with the project's ``pbc`` page template (Voilà's ``lab`` template without the CDN
font links, so a page asks nothing of any other host) and a landing page built from the notebooks'
header metadata (``pbc_lib.catalogue``) without starting a kernel.
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path
from typing import Any

from pbc_lib.catalogue import REPO_ROOT, landing_context

TEMPLATE_ROOT = Path(__file__).resolve().parent / "jupyter"
TEMPLATE_NAME = "pbc"
DEFAULT_PORT = 8866
EXECUTION_TIMEOUT_S = 60  # Voilà waits forever by default; tech-notes §4 (render-time stall)
CULL_IDLE_TIMEOUT_S = 600  # closed tabs keep their kernels otherwise (tech-notes §6)
CULL_INTERVAL_S = 60


def page_config_hook(page_config: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """Add the catalogue to the page config of folder (landing) pages; leave notebooks alone.

    Voilà's tree handler ignores the return value and relies on in-place change; its notebook
    handler uses the return value. This does both.
    """
    path = kwargs.get("notebook_path") or ""
    if not str(path).endswith(".ipynb"):
        page_config["pbcCatalogue"] = landing_context(REPO_ROOT)
    return page_config


def voila_argv(
    port: int = DEFAULT_PORT, base_url: str = "/", open_browser: bool = False
) -> list[str]:
    """The command-line settings the project serves with (tests start Voilà with the same)."""
    argv = [
        str(REPO_ROOT),
        f"--port={port}",
        "--Voila.ip=127.0.0.1",
        f"--Voila.base_url={base_url}",
        f"--template={TEMPLATE_NAME}",
        "--VoilaConfiguration.classic_tree=True",
        "--VoilaConfiguration.show_tracebacks=False",
        f"--VoilaExecutor.timeout={EXECUTION_TIMEOUT_S}",
        f"--MappingKernelManager.cull_idle_timeout={CULL_IDLE_TIMEOUT_S}",
        f"--MappingKernelManager.cull_interval={CULL_INTERVAL_S}",
    ]
    if not open_browser:
        argv.append("--no-browser")
    return argv


def add_template_path(env: dict[str, str] | os._Environ = os.environ) -> None:
    """Put the project's template folder first on JUPYTER_PATH (where Voilà finds templates)."""
    current = env.get("JUPYTER_PATH", "")
    parts = [p for p in current.split(os.pathsep) if p and p != str(TEMPLATE_ROOT)]
    env["JUPYTER_PATH"] = os.pathsep.join([str(TEMPLATE_ROOT), *parts])


def main(argv: list[str] | None = None) -> None:
    """Start Voilà over the repository with the project's settings."""
    parser = argparse.ArgumentParser(description="Serve the PbC Workbooks with Voilà.")
    parser.add_argument("--port", type=int, default=int(os.environ.get("PBC_PORT", DEFAULT_PORT)))
    parser.add_argument("--base-url", default=os.environ.get("PBC_BASE_URL", "/"))
    parser.add_argument("--open-browser", action="store_true")
    args = parser.parse_args(argv)
    add_template_path()
    log_file = Path(tempfile.gettempdir()) / "pbc-workbooks-kernels.log"
    os.environ.setdefault("PBC_LOG_FILE", str(log_file))  # kernels inherit it (see pbc_lib)
    from traitlets.config import Config
    from voila.app import Voila

    config = Config()
    config.VoilaConfiguration.page_config_hook = page_config_hook
    print(f"Serving the PbC Workbooks at http://127.0.0.1:{args.port}{args.base_url}")
    print(f"Error details from the workbooks' kernels go to {os.environ['PBC_LOG_FILE']}")
    Voila.launch_instance(
        argv=voila_argv(args.port, args.base_url, args.open_browser), config=config
    )
