"""Server settings and page template: nothing fetched from another host; landing from metadata."""

from __future__ import annotations

import re

from pbc_lib import hosting


def test_page_config_hook_adds_catalogue_to_folder_pages_only():
    folder = hosting.page_config_hook({"a": 1}, notebook_path="")
    assert folder["pbcCatalogue"]["sections"]
    nb = hosting.page_config_hook({"a": 1}, notebook_path="workbooks/00_start_here.ipynb")
    assert nb == {"a": 1}


def test_served_with_a_timeout_culling_no_tracebacks_and_the_project_template():
    argv = hosting.voila_argv(port=1234)
    assert "--Voila.ip=127.0.0.1" in argv and "--port=1234" in argv
    assert "--template=pbc" in argv
    assert "--VoilaConfiguration.show_tracebacks=False" in argv
    assert any(a.startswith("--VoilaExecutor.timeout=") for a in argv)
    assert any(a.startswith("--MappingKernelManager.cull_idle_timeout=") for a in argv)
    assert "--no-browser" in argv


def test_templates_reference_no_other_host():
    folder = hosting.TEMPLATE_ROOT / "voila" / "templates" / hosting.TEMPLATE_NAME
    files = list(folder.iterdir())
    assert {f.name for f in files} >= {"conf.json", "index.html.j2", "page.html", "tree.html"}
    for f in files:
        assert not re.search(r"(https?:)?//[a-z0-9.-]+\.[a-z]{2,}", f.read_text()), f.name


def test_template_path_is_put_first_once(monkeypatch):
    env = {"JUPYTER_PATH": "/x"}
    hosting.add_template_path(env)
    hosting.add_template_path(env)
    assert env["JUPYTER_PATH"].split(":") == [str(hosting.TEMPLATE_ROOT), "/x"]
