"""Server settings, the site folder, the shared renderer and the widget lockdown (no browser)."""

from __future__ import annotations

import asyncio
import json
import os
import re
import time

import ipywidgets as widgets
import pytest

from pbc_lib import charts, hosting, lockdown, render_service, ui  # noqa: F401 (ui installs the lockdown)
from pbc_lib.hosting import hardening, pool


def test_page_config_hook_adds_catalogue_to_folder_pages_only():
    folder = hosting.page_config_hook({"a": 1}, notebook_path="")
    assert folder["pbcCatalogue"]["sections"]
    nb = hosting.page_config_hook({"a": 1}, notebook_path="workbooks/00_start_here.ipynb")
    assert nb == {"a": 1}


def test_without_solutions_the_landing_page_has_no_solutions_section():
    keys = [s["key"] for s in hosting.page_config_hook({})["pbcCatalogue"]["sections"]]
    assert "exercises-solutions" in keys
    hook = hosting.make_page_config_hook(solutions=False)
    keys = [s["key"] for s in hook({})["pbcCatalogue"]["sections"]]
    assert keys == ["workbooks", "workbooks-workshop", "exercises"]


def test_config_preheats_culls_hides_tracebacks_and_caps_messages():
    config = hosting.voila_config(pool_size=2, pools={"workbooks/00_start_here.ipynb": 9},
                                  cull_idle=300)
    vc = config.VoilaConfiguration
    assert vc.preheat_kernel is True and vc.default_pool_size == 2
    assert vc.show_tracebacks is False and vc.template == "pbc"
    assert config.VoilaExecutor.timeout == hosting.EXECUTION_TIMEOUT_S
    assert config.MappingKernelManager.cull_idle_timeout == 300
    pools = config.VoilaKernelManager.kernel_pools_config
    assert pools["default"]["pool_size"] == 2
    assert pools["workbooks/00_start_here.ipynb"]["pool_size"] == 9
    assert config.Voila.tornado_settings["websocket_max_message_size"] == 1024 * 1024


def test_pool_size_zero_turns_preheating_off():
    assert hosting.voila_config(pool_size=0).VoilaConfiguration.preheat_kernel is False


@pytest.mark.parametrize("size", [-1, hosting.MAX_POOL_SIZE + 1])
def test_pool_sizes_out_of_range_are_refused_with_a_message(size):
    with pytest.raises(hosting.HostingError, match="between 0 and"):
        hosting.check_pool_size(size)


def test_pool_option_is_checked_against_the_served_notebooks():
    served = ["workbooks/00_start_here.ipynb"]
    assert hosting.parse_pools(["workbooks/00_start_here.ipynb=12"], served) == {served[0]: 12}
    with pytest.raises(hosting.HostingError, match="NOTEBOOK=SIZE"):
        hosting.parse_pools(["workbooks/00_start_here.ipynb"], served)
    with pytest.raises(hosting.HostingError, match="not served"):
        hosting.parse_pools(["data/practices.csv=3"], served)


def test_argv_serves_the_site_folder_on_loopback_under_a_base_url(tmp_path):
    argv = hosting.voila_argv(tmp_path, port=1234, base_url="/pbc/")
    assert argv[0] == str(tmp_path)
    assert {"--Voila.ip=127.0.0.1", "--port=1234", "--Voila.base_url=/pbc/", "--no-browser",
            "--template=pbc"} <= set(argv)
    with pytest.raises(hosting.HostingError, match="start and end with"):
        hosting.voila_argv(tmp_path, base_url="pbc")


def test_site_holds_the_catalogue_notebooks_and_nothing_else(tmp_path):
    site = tmp_path / "site"
    served = hosting.build_site(site)
    files = sorted(str(p.relative_to(site)) for p in site.rglob("*") if p.is_file())
    assert files == sorted(served)
    assert all(f.endswith(".ipynb") for f in files)
    assert "workbooks/00_start_here.ipynb" in files
    assert any(f.startswith("exercises/solutions/") for f in files)
    without = hosting.build_site(site, solutions=False)
    assert not any(f.startswith("exercises/solutions/") for f in without)
    assert not (site / "exercises" / "solutions").exists()


def test_serve_refuses_bad_options_in_plain_english(capsys):
    with pytest.raises(SystemExit, match="Cannot serve: A pool size"):
        hosting.main(["--pool-size", "999"])
    with pytest.raises(SystemExit, match="Cannot serve: --pool names"):
        hosting.main(["--pool", "pbc_lib/ui.py=2"])


def test_templates_reference_no_other_host():
    folder = hosting.TEMPLATE_ROOT / "voila" / "templates" / hosting.TEMPLATE_NAME
    files = list(folder.iterdir())
    assert {f.name for f in files} >= {"conf.json", "index.html.j2", "page.html", "tree.html"}
    for f in files:
        assert not re.search(r"(https?:)?//[a-z0-9.-]+\.[a-z]{2,}", f.read_text()), f.name


def test_template_path_is_put_first_once():
    env = {"JUPYTER_PATH": "/x"}
    hosting.add_template_path(env)
    hosting.add_template_path(env)
    assert env["JUPYTER_PATH"].split(":") == [str(hosting.TEMPLATE_ROOT), "/x"]


# --- The shared chart renderer -------------------------------------------------------------------
SPEC = json.dumps({
    "mark": "bar",
    "data": {"values": [{"a": "x", "b": 1234.5}, {"a": "y", "b": 2}]},
    "encoding": {"x": {"field": "a", "type": "nominal"},
                 "y": {"field": "b", "type": "quantitative", "axis": {"format": ",.0f"}}},
})


@pytest.fixture
def service(monkeypatch):
    svc = render_service.Service(threads=1)
    for key, value in svc.environ().items():
        monkeypatch.setenv(key, value)
    render_service._drop_connection()
    yield svc
    render_service._drop_connection()
    svc.stop()


def test_service_draws_the_same_svg_as_the_kernel_would(service):
    here = render_service.draw(SPEC, charts.FORMAT_LOCALE, "en-GB")
    there = render_service.render(SPEC, charts.FORMAT_LOCALE, "en-GB")
    assert there == here
    assert "1,235" in there  # the locale travelled with the request
    assert render_service._local.conn is not None  # it really went through the socket


def test_service_reports_a_bad_spec_as_an_error(service):
    with pytest.raises(render_service.RenderError):
        render_service.render('{"mark": "no-such-mark", "data": {"values": []}}', "en-GB", "en-GB")


def test_a_dead_service_means_drawing_in_the_kernel(service, caplog):
    render_service.render(SPEC, "en-GB", "en-GB")
    service.stop()
    svg = render_service.render(SPEC, "en-GB", "en-GB")
    assert svg.startswith("<svg")
    assert "unavailable" in caplog.text


def test_a_client_with_the_wrong_key_is_refused(service):
    from multiprocessing import AuthenticationError
    from multiprocessing.connection import Client

    with pytest.raises((AuthenticationError, EOFError, ConnectionError)):
        Client(service.address, family="AF_UNIX", authkey=b"wrong")
    time.sleep(0.5)  # a service that died of the bad handshake would be gone by now
    assert service.process.poll() is None, "a wrong key ended the render service"
    assert oct(os.stat(service.address).st_mode & 0o777) == "0o600"
    render_service.render(SPEC, "en-GB", "en-GB")
    assert render_service._local.conn is not None  # still serving: drawn by the service


def test_without_a_service_charts_draw_in_process(monkeypatch):
    monkeypatch.delenv(render_service.SOCKET_ENV, raising=False)
    render_service._drop_connection()
    assert render_service.render(SPEC, "en-GB", "en-GB").startswith("<svg")


# --- What the page may change in a kernel --------------------------------------------------------
def _update(widget, state):
    widget._handle_msg({"content": {"data": {"method": "update", "state": state}}, "buffers": []})


def test_the_page_can_move_a_control_but_not_its_limits():
    assert widgets.Widget._handle_msg is lockdown._handle_msg  # installed by importing pbc_lib.ui
    slider = widgets.IntSlider(value=5, min=0, max=10)
    _update(slider, {"max": 10**9, "value": 10**9})
    assert (slider.max, slider.value) == (10, 10)  # max refused; value clamped to the real max
    _update(slider, {"value": 3})
    assert slider.value == 3
    dropdown = widgets.Dropdown(options=["a", "b"])
    _update(dropdown, {"_options_labels": ["a", "b", "evil"], "index": 1})
    assert dropdown.options == ("a", "b") and dropdown.value == "b"


def test_the_page_cannot_send_a_huge_text():
    box = widgets.Text()
    _update(box, {"value": "x" * (lockdown.MAX_TEXT + 1)})
    assert box.value == ""
    _update(box, {"value": "£1,234"})
    assert box.value == "£1,234"


# --- Binder / JupyterHub set-up ------------------------------------------------------------------
def test_binder_setup_installs_the_template_and_server_settings(tmp_path):
    from pbc_lib.hosting import binder

    written = binder.install(tmp_path)
    template = tmp_path / "share/jupyter/voila/templates/pbc"
    assert written[0] == template and (template / "tree.html").exists()
    settings = json.loads((tmp_path / "etc/jupyter/jupyter_server_config.d/pbc-workbooks.json")
                          .read_text())
    assert settings["VoilaConfiguration"] == {"template": "pbc", "show_tracebacks": False,
                                              "classic_tree": True}
    assert settings["MappingKernelManager"]["cull_idle_timeout"] == hosting.CULL_IDLE_TIMEOUT_S
    hook = (tmp_path / "etc/jupyter/jupyter_server_config.py").read_text()
    namespace = {"c": __import__("traitlets.config", fromlist=["Config"]).Config()}
    exec(compile(hook, "jupyter_server_config.py", "exec"), namespace)  # what Jupyter does
    page = namespace["c"].VoilaConfiguration.page_config_hook({})
    assert page["pbcCatalogue"]["sections"]
    binder.install(tmp_path)  # running it twice is harmless


def test_binder_builds_environment_yml_then_postbuild_installs_the_project():
    repo = hosting.REPO_ROOT
    import yaml

    env = yaml.safe_load((repo / "environment.yml").read_text())
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    assert not [r for r in pip if r.startswith("-e")]  # no source tree yet when it is installed
    post = (repo / "postBuild").read_text()
    assert os.access(repo / "postBuild", os.X_OK)
    assert "pip install --no-deps -e ." in post and "python -m pbc_lib.hosting.binder" in post


# --- Malformed URLs (pbc_lib.hosting.hardening; the live statuses are in test_security.py) --------
@pytest.mark.parametrize("path", ["pbc/static/index.css", "lab/static/a/b.js",
                                  "pbc/static/voila-style.js"])
def test_well_formed_template_paths_pass(path):
    assert hardening.template_static_path_ok(path)


@pytest.mark.parametrize("path", ["pbc/x", "pbc", "pbc/static", "pbc/static/", "pbc/static/../c",
                                  "pbc/static//a.css", "pbc/static/./a.css", "../static/a.css",
                                  "pbc/other/a.css", "pbc/static/a\\..\\b", "pbc/static/a\x00.css",
                                  "pbc/static/a\r\nb.css"])
def test_malformed_template_paths_are_caught(path):
    assert not hardening.template_static_path_ok(path)


def test_render_paths_with_control_characters_are_caught():
    assert hardening.render_path_ok("workbooks/00_start_here.ipynb")
    assert hardening.render_path_ok(None)
    for bad in ("a.ipynb\x00", "a\r\nSet-Cookie: x=1.ipynb", "a\n.ipynb", "a\x7f.ipynb"):
        assert not hardening.render_path_ok(bad)


def test_hardening_installs_once_and_keeps_the_handlers_callable():
    from voila.static_file_handler import TemplateStaticFileHandler
    from voila.tornado.handler import TornadoVoilaHandler

    hardening.install()
    assert hardening.install() is False  # a second call changes nothing
    assert TemplateStaticFileHandler.parse_url_path.__wrapped__ is not None
    assert TornadoVoilaHandler.get.__wrapped__ is not None


# --- Caching headers (pbc_lib.hosting.transforms; live in test_serving.py) ------------------------
@pytest.mark.parametrize(("path", "base", "expected"), [
    ("/voila/labextensions/a/static/568.1e2faa2ba0bbe59c4780.js", "/", "immutable"),
    ("/pbc/voila/labextensions/a/static/568.1e2faa2ba0bbe59c4780.js", "/pbc/", "immutable"),
    ("/voila/static/voila.js", "/", "max-age=3600"),
    ("/voila/static/7155.voila.js", "/", "max-age=3600"),
    ("/voila/render/workbooks/00_start_here.ipynb", "/", None),
    ("/voila/tree", "/", None),
    ("/api/kernels/x/channels", "/", None),
    ("/voila/static/../render/x.js", "/", None),
    ("/voila/labextensions/a/static/remoteEntry.js", "/", None),  # no hash: left to the server
    ("/voila/static/voila.js", "/pbc/", None),  # outside the base URL
])
def test_cache_policy(path, base, expected):
    from pbc_lib.hosting.transforms import cache_policy

    policy = cache_policy(path, base)
    assert (policy is None) if expected is None else (expected in policy)


def test_the_service_draws_a_repeated_chart_once():
    """Every delegate's kernel draws the same default charts: the service keeps them."""
    import threading
    from multiprocessing import Pipe

    kernel_end, service_end = Pipe()
    cache = render_service.SharedCache()
    worker = threading.Thread(target=render_service._handle,
                              args=(service_end, threading.Semaphore(1), cache), daemon=True)
    worker.start()
    request = json.dumps([SPEC, charts.FORMAT_LOCALE, "en-GB"]).encode()
    kernel_end.send_bytes(request)
    first = kernel_end.recv()
    kernel_end.send_bytes(request)
    again = kernel_end.recv()
    kernel_end.close()
    worker.join(timeout=10)
    assert first[0] == "ok" and first == again
    assert (cache.misses, cache.hits) == (1, 1)  # drawn once, served from the cache after
    assert first[1] == render_service.draw(SPEC, charts.FORMAT_LOCALE, "en-GB")


def test_the_shared_cache_is_bounded_by_bytes_and_drops_the_oldest():
    cache = render_service.SharedCache(max_bytes=100)
    cache.put(b"a", "x" * 40)
    cache.put(b"b", "y" * 40)
    assert cache.get(b"a") == "x" * 40  # a is now the most recently used
    cache.put(b"c", "z" * 40)  # over 100 bytes: the least recently used (b) goes
    assert cache.get(b"b") is None and cache.get(b"a") and cache.get(b"c")
    assert cache.bytes == 80 and (cache.hits, cache.misses) == (3, 1)
    cache.put(b"huge", "h" * 101)  # bigger than the whole cache: not kept, nothing evicted
    assert cache.get(b"huge") is None and cache.bytes == 80


def test_the_gzip_cache_is_bounded_by_bytes():
    from pbc_lib.hosting.transforms import GzipCache

    cache = GzipCache(max_bytes=10)
    cache.put(("/a", "1"), b"12345")
    cache.put(("/b", "1"), b"12345")
    assert cache.get(("/a", "1")) == b"12345"
    cache.put(("/c", "1"), b"123")  # 13 bytes: the least recently used (/b) goes
    assert cache.get(("/b", "1")) is None and cache.bytes == 8
    cache.put(("/huge", "1"), b"x" * 11)
    assert cache.get(("/huge", "1")) is None


# --- Preheated pools (pbc_lib.hosting.pool) ------------------------------------------------------
def _run(coro):
    """``asyncio.run`` in a thread of its own: in a full run Playwright's sync API (the browser
    tests) leaves an event loop marked as running on the main thread."""
    import concurrent.futures

    with concurrent.futures.ThreadPoolExecutor(1) as pool_:
        return pool_.submit(asyncio.run, coro).result()


def _entry(loop, *, started=True, rendered=True):
    """A pool entry as Voilà keeps it: a future of {"task": render task, ...}."""
    task = loop.create_future()
    if rendered:
        task.set_result(("cells", None))
    entry = loop.create_future()
    if started:
        entry.set_result({"task": task, "kernel_id": str(id(task))})
    return entry, task


def test_a_fully_run_kernel_is_handed_out_before_a_half_run_one():
    async def scenario():
        loop = asyncio.get_running_loop()
        half, _ = _entry(loop, rendered=False)
        full, _ = _entry(loop)
        queue = [half, full]
        assert await pool.take_ready_first(queue, wait_s=1)
        assert queue == [full, half]

    _run(scenario())


def test_a_visitor_waits_for_the_first_kernel_to_finish_and_no_longer_than_the_limit():
    async def scenario():
        loop = asyncio.get_running_loop()
        first, first_task = _entry(loop, rendered=False)
        second, second_task = _entry(loop, rendered=False)
        queue = [first, second]
        loop.call_later(0.2, second_task.set_result, ("cells", None))
        t0 = loop.time()
        assert await pool.take_ready_first(queue, wait_s=5)
        assert queue[0] is second and 0.15 < loop.time() - t0 < 2
        stuck, _ = _entry(loop, rendered=False)
        t0 = loop.time()
        assert not await pool.take_ready_first([stuck], wait_s=0.3)  # gives up: Voilà's way
        assert loop.time() - t0 < 2
        assert not await pool.take_ready_first([], wait_s=5)  # an empty pool: nothing to wait for
        first_task.cancel()

    _run(scenario())


def test_refills_run_at_most_fill_concurrency_at_a_time():
    running, peak = 0, 0

    class FakeManager:
        def __init__(self):
            self._pools = {}

        async def get_rendered_notebook(self, notebook_name, extra_kernel_env_variables=None,
                                        **kwargs):
            return "served"

        async def _initialize(self, notebook_path, kernel_id=None, **kwargs):
            nonlocal running, peak
            running += 1
            peak = max(peak, running)
            loop = asyncio.get_running_loop()
            task = loop.create_task(asyncio.sleep(0.05))

            def done(_):
                nonlocal running
                running -= 1

            task.add_done_callback(done)
            return {"task": task, "kernel_id": notebook_path}

    async def scenario():
        manager = FakeManager()
        assert pool.install(manager, fill_concurrency=2)
        assert not pool.install(manager)  # once only
        contents = await asyncio.gather(*(manager._initialize(f"nb{i}") for i in range(7)))
        await asyncio.gather(*(c["task"] for c in contents))
        assert peak == 2 and running == 0
        assert await manager.get_rendered_notebook("nb") == "served"

    _run(scenario())


def test_the_workshop_store_is_checked_and_migrated_before_serving(tmp_path, monkeypatch):
    from pbc_lib.workshop import store as workshop_store

    monkeypatch.delenv(workshop_store.ENV_DB, raising=False)
    path = tmp_path / "workshops" / "store.sqlite"
    where = hosting.prepare_workshop_store(str(path))
    assert os.environ[workshop_store.ENV_DB] == str(path)  # the kernels inherit it
    assert path.exists() and str(path) in where
    with workshop_store.open_store(str(path)) as st:
        assert st.migrate() >= 1


def test_an_unreachable_workshop_store_stops_the_server_with_a_plain_message(monkeypatch):
    from pbc_lib.workshop import store as workshop_store

    monkeypatch.delenv(workshop_store.ENV_DB, raising=False)
    url = "postgresql+psycopg://someone:s3cret@127.0.0.1:1/workshops"
    with pytest.raises(hosting.HostingError, match="can't be reached") as caught:
        hosting.prepare_workshop_store(url)
    assert "s3cret" not in str(caught.value)


def test_the_listening_address_is_loopback_unless_asked_and_checked(tmp_path):
    assert "--Voila.ip=0.0.0.0" in hosting.voila_argv(tmp_path, ip="0.0.0.0")
    assert hosting.parser().parse_args([]).ip == "127.0.0.1"
    for bad in ("everywhere", "0.0.0.0; rm -rf /", "::1", "300.1.1.1"):
        with pytest.raises(hosting.HostingError, match="IPv4 address"):
            hosting.voila_argv(tmp_path, ip=bad)
