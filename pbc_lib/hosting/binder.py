"""Set up a Jupyter server (Binder/repo2docker, JupyterHub) to serve the workbooks our way.

Under Binder or JupyterHub, Voilà runs as an extension of each user's Jupyter server rather than
through ``python -m pbc_lib.hosting``. ``python -m pbc_lib.hosting.binder`` (run by ``postBuild``
or a Docker image's build) installs what that server needs:

- the ``pbc`` page template (no CDN font links; the landing page) into ``<prefix>/share/jupyter``;
- a ``jupyter_server_config.d`` file choosing that template, hiding tracebacks, setting the
  execution timeout and idle-kernel culling, and a small ``jupyter_server_config.py`` (in the
  same folder's parent) adding the landing page's catalogue hook, which JSON cannot express.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

from pbc_lib.hosting import (
    CULL_IDLE_TIMEOUT_S,
    CULL_INTERVAL_S,
    EXECUTION_TIMEOUT_S,
    TEMPLATE_NAME,
    TEMPLATE_ROOT,
)

SERVER_CONFIG = {
    "VoilaConfiguration": {"template": TEMPLATE_NAME, "show_tracebacks": False,
                           "classic_tree": True},
    "VoilaExecutor": {"timeout": EXECUTION_TIMEOUT_S},
    "MappingKernelManager": {"cull_idle_timeout": CULL_IDLE_TIMEOUT_S,
                             "cull_interval": CULL_INTERVAL_S},
}
HOOK_CONFIG = """# Written by python -m pbc_lib.hosting.binder: the landing page's catalogue.
from pbc_lib.hosting import make_page_config_hook

c.VoilaConfiguration.page_config_hook = make_page_config_hook()  # noqa: F821 (c is Jupyter's)
"""


def install(prefix: Path) -> list[Path]:
    """Install the template and server config under ``prefix`` (e.g. ``sys.prefix``)."""
    source = TEMPLATE_ROOT / "voila" / "templates" / TEMPLATE_NAME
    template = prefix / "share" / "jupyter" / "voila" / "templates" / TEMPLATE_NAME
    if template.exists():
        shutil.rmtree(template)
    shutil.copytree(source, template)
    etc = prefix / "etc" / "jupyter"
    conf_d = etc / "jupyter_server_config.d"
    conf_d.mkdir(parents=True, exist_ok=True)
    settings = conf_d / "pbc-workbooks.json"
    settings.write_text(json.dumps(SERVER_CONFIG, indent=2) + "\n", encoding="utf-8")
    hook = etc / "jupyter_server_config.py"
    hook.write_text(HOOK_CONFIG, encoding="utf-8")
    return [template, settings, hook]


def main(argv: list[str] | None = None) -> None:
    """``python -m pbc_lib.hosting.binder [--prefix DIR]`` (default: this Python's prefix)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prefix", type=Path, default=Path(sys.prefix))
    args = parser.parse_args(argv)
    for path in install(args.prefix):
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
