"""Security tests against the real server, `python -m pbc_lib.hosting` (fixture `voila_url`).

Three promises a public deployment relies on (``shared/tech-notes.md`` §6):

1. **A visitor cannot run code.** The page's kernel websocket is opened exactly as the page opens
   it and sent what a hostile client would send: ``execute_request`` (on every channel, in both
   wire protocols), ``inspect_request``, ``complete_request``, ``debug_request`` and friends, a
   ``comm_open`` for an unknown target, and widget updates that try to move a control's limits.
   Each test first proves the socket really reaches the kernel (a ``kernel_info_reply`` on the same
   socket, a legal widget change that is applied), so none can pass vacuously.
2. **A visitor cannot read files.** Path traversal in many encodings under every file-serving
   route, direct requests for project files and Jupyter APIs: each is refused, and no response
   carries any line of the files asked for, a server path or a Python traceback.
3. **No traceback reaches the page**, and text a visitor types is shown as text, never as markup.

Sources: the kernel websocket protocols of jupyter_server 2 (``services/kernels/connection/
channels.py`` and ``base.py``: the legacy JSON framing with a ``channel`` key, and
``v1.kernel.websocket.jupyter.org``); the Jupyter messaging specification (jupyter-client docs,
"Messaging in Jupyter"); the ipywidgets 8 widget message protocol (``packages/schema/messages.md``:
``update``, ``request_state``, ``request_states`` on ``jupyter.widget.control``); Voilà 0.5.13's
``allowed_message_types`` and file handlers (``voila/app.py``, ``voila/static_file_handler.py``);
OWASP, "Path Traversal" (encodings tried).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import datetime
import http.client
import json
import os
import re
import tempfile
import time
import uuid
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
from conftest import REPO, open_notebook

from pbc_lib.catalogue import SECTIONS

# ---------------------------------------------------------------------------------------------
# Helpers: plain HTTP without any URL clean-up, and a raw kernel websocket client.
# ---------------------------------------------------------------------------------------------

HTTP_TIMEOUT_S = 30
PAGE_TIMEOUT_S = 300  # a page waits for its preheated kernel, which is slow on a busy machine
REPLY_TIMEOUT_S = 60  # a kernel reply over the websocket
SETTLE_S = 2.0  # after the proof-of-life reply, how long to keep listening for forbidden replies
WIDGET_NOTEBOOK = "workbooks/01_indicative_budgets.ipynb"  # has sliders (Fair shares, Budget)
GLOSSARY_NOTEBOOK = "workbooks/00_start_here.ipynb"
TRACEBACK = re.compile(r"Traceback \(most recent call last\)|File \"/[^\"]+\", line \d+")
V1 = "v1.kernel.websocket.jupyter.org"


def _port(voila_url: str) -> int:
    return urlsplit(voila_url).port


def http_get(port: int, path: str, method: str = "GET") -> tuple[int, dict[str, str], str]:
    """Send ``path`` as is (no dot-segment removal, no re-encoding); do not follow redirects."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=HTTP_TIMEOUT_S)
    try:
        conn.putrequest(method, path, skip_accept_encoding=True)
        conn.endheaders()
        resp = conn.getresponse()
        body = resp.read().decode("utf-8", errors="replace")
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, body
    finally:
        conn.close()


def fetch_chain(port: int, path: str, hops: int = 4) -> list[tuple[str, int, dict, str]]:
    """GET ``path`` and follow same-server redirects by hand; every hop is returned for checking."""
    chain = []
    for _ in range(hops):
        status, headers, body = http_get(port, path)
        chain.append((path, status, headers, body))
        location = headers.get("location")
        if status not in (301, 302, 303, 307, 308) or not location:
            return chain
        parts = urlsplit(location)
        assert parts.hostname in (None, "127.0.0.1"), f"{path} redirects off the server: {location}"
        path = parts.path + (f"?{parts.query}" if parts.query else "")
    raise AssertionError(f"More than {hops} redirects starting from {chain[0][0]}")


def run(coro):
    """Run a coroutine on a fresh event loop in its own thread.

    Playwright's sync API (a session fixture) leaves an event loop marked as running on the main
    thread, so ``asyncio.run`` cannot be called there once a browser test has run.
    """
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coro).result()


class KernelSocket:
    """The kernel websocket as the page uses it: ``/api/kernels/<id>/channels?session_id=…``.

    ``protocol="json"`` is the legacy framing (one JSON text frame per message with a ``channel``
    key); ``protocol="v1"`` is the binary ``v1.kernel.websocket.jupyter.org`` framing JupyterLab's
    services package prefers. Everything received is kept in :attr:`seen`.
    """

    def __init__(self, conn, protocol: str) -> None:
        self.conn = conn
        self.protocol = protocol
        self.session = uuid.uuid4().hex
        self.seen: list[dict] = []

    @classmethod
    async def open(cls, port: int, kernel_id: str, protocol: str = "json",
                   origin: str | None = None) -> KernelSocket:
        from tornado.httpclient import HTTPRequest
        from tornado.websocket import websocket_connect

        headers = {"Origin": origin} if origin else {}
        request = HTTPRequest(
            f"ws://127.0.0.1:{port}/api/kernels/{kernel_id}/channels?session_id={uuid.uuid4()}",
            headers=headers,
            request_timeout=HTTP_TIMEOUT_S,
        )
        conn = await websocket_connect(request, subprotocols=[V1] if protocol == "v1" else None)
        if protocol == "v1":
            assert conn.selected_subprotocol == V1, "the server did not accept the v1 protocol"
        return cls(conn, protocol)

    def send(self, msg_type: str, content: dict, channel: str = "shell",
             metadata: dict | None = None) -> str:
        """Send one message; return its ``msg_id``."""
        from jupyter_server.services.kernels.connection.base import serialize_msg_to_ws_v1

        msg_id = uuid.uuid4().hex
        msg = {
            "header": {
                "msg_id": msg_id,
                "msg_type": msg_type,
                "username": "visitor",
                "session": self.session,
                "date": datetime.datetime.now(datetime.UTC).isoformat(),
                "version": "5.3",
            },
            "parent_header": {},
            "metadata": metadata or {},
            "content": content,
        }
        if self.protocol == "v1":
            frame = serialize_msg_to_ws_v1(msg, channel, pack=lambda d: json.dumps(d).encode())
            self.conn.write_message(frame, binary=True)
        else:
            self.conn.write_message(json.dumps({**msg, "channel": channel, "buffers": []}))
        return msg_id

    def _decode(self, frame: str | bytes) -> dict:
        from jupyter_server.services.kernels.connection.base import (
            deserialize_binary_message,
            deserialize_msg_from_ws_v1,
        )

        if self.protocol == "v1":
            channel, parts = deserialize_msg_from_ws_v1(frame)
            names = ("header", "parent_header", "metadata", "content")
            msg = {name: json.loads(part) for name, part in zip(names, parts, strict=False)}
            msg["channel"] = channel
            return msg
        if isinstance(frame, bytes):
            return deserialize_binary_message(frame)
        return json.loads(frame)

    async def wait_for(self, predicate, timeout: float = REPLY_TIMEOUT_S) -> dict:
        """The next message for which ``predicate`` is true; fail after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                types = [m["header"]["msg_type"] for m in self.seen[-20:]]
                raise AssertionError(f"No matching message in {timeout} s; last seen: {types}")
            try:
                frame = await asyncio.wait_for(self.conn.read_message(), left)
            except TimeoutError:
                continue
            assert frame is not None, "the server closed the kernel websocket"
            msg = self._decode(frame)
            self.seen.append(msg)
            if predicate(msg):
                return msg

    async def drain(self, seconds: float) -> None:
        """Keep receiving (into :attr:`seen`) for ``seconds``."""
        try:
            await self.wait_for(lambda m: False, timeout=seconds)
        except AssertionError:
            pass

    async def reply_to(self, msg_id: str, msg_type: str) -> dict:
        return await self.wait_for(
            lambda m: m["header"]["msg_type"] == msg_type
            and m.get("parent_header", {}).get("msg_id") == msg_id
        )

    async def kernel_info(self) -> dict:
        """Prove the socket reaches a live kernel: a ``kernel_info_reply`` to our own request."""
        msg_id = self.send("kernel_info_request", {})
        reply = await self.reply_to(msg_id, "kernel_info_reply")
        assert reply["content"]["status"] == "ok"
        return reply

    def types_seen(self) -> set[str]:
        return {m["header"]["msg_type"] for m in self.seen}

    def printed(self) -> list[str]:
        """Everything the kernel printed to stdout (what ``print`` in injected code would send)."""
        return [m["content"]["text"] for m in self.seen
                if m["header"]["msg_type"] == "stream" and m["content"].get("name") == "stdout"]

    def close(self) -> None:
        self.conn.close()


def kernel_id_of(page_html: str) -> str:
    """The kernel id Voilà put in the page (``#jupyter-config-data`` → ``kernelId``)."""
    match = re.search(
        r'<script id="jupyter-config-data" type="application/json">(.*?)</script>',
        page_html,
        re.S,
    )
    assert match, "the page has no #jupyter-config-data"
    kernel_id = json.loads(match.group(1)).get("kernelId")
    assert kernel_id and re.fullmatch(r"[0-9a-f-]{36}", kernel_id), kernel_id
    return kernel_id


@pytest.fixture(scope="module")
def kernel(voila_url):
    """(port, kernel id) of one visit to a workbook with sliders, fetched over plain HTTP."""
    port = _port(voila_url)
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=PAGE_TIMEOUT_S)
    conn.request("GET", f"/voila/render/{WIDGET_NOTEBOOK}")
    resp = conn.getresponse()
    page = resp.read().decode()
    conn.close()
    assert resp.status == 200, f"{WIDGET_NOTEBOOK} did not render: {resp.status}"
    return port, kernel_id_of(page)


# ---------------------------------------------------------------------------------------------
# 1. A visitor cannot run code in the kernel.
# ---------------------------------------------------------------------------------------------

#: What the kernel would send back had it run or inspected code. (It may still send ``stream``
#: messages on stderr: its own log lines, e.g. "No such comm target registered".)
FORBIDDEN_REPLIES = {
    "execute_reply", "execute_input", "execute_result", "display_data", "error",
    "inspect_reply", "complete_reply", "history_reply", "is_complete_reply", "debug_reply",
    "interrupt_reply", "input_reply",
}


def _code(marker: Path) -> str:
    return f"open({str(marker)!r}, 'w').write('pwned'); print('pwned')"


@pytest.mark.parametrize("protocol", ["json", "v1"])
@pytest.mark.parametrize("channel", ["shell", "control", "stdin"])
def test_execute_and_introspection_requests_are_dropped(kernel, tmp_path, protocol, channel):
    port, kernel_id = kernel
    marker = tmp_path / "pwned"
    code = _code(marker)

    async def scenario():
        ws = await KernelSocket.open(port, kernel_id, protocol)
        try:
            await ws.kernel_info()  # the channel works before …
            ws.send("execute_request", {"code": code, "silent": False, "store_history": True,
                                        "user_expressions": {"x": code}, "allow_stdin": False,
                                        "stop_on_error": True}, channel)
            ws.send("inspect_request", {"code": code, "cursor_pos": len(code),
                                        "detail_level": 1}, channel)
            ws.send("complete_request", {"code": code, "cursor_pos": len(code)}, channel)
            ws.send("is_complete_request", {"code": code}, channel)
            ws.send("history_request", {"output": True, "raw": True,
                                        "hist_access_type": "tail", "n": 10}, channel)
            ws.send("debug_request", {"seq": 1, "type": "request", "command": "evaluate",
                                      "arguments": {"expression": code}}, channel)
            ws.send("input_reply", {"value": code}, channel)
            ws.send("interrupt_request", {}, channel)
            await ws.kernel_info()  # … and after: the shell is ordered, so anything run is done
            await ws.drain(SETTLE_S)
            return ws.types_seen(), ws.printed()
        finally:
            ws.close()

    seen, stdout = run(scenario())
    assert not marker.exists(), f"code ran in the kernel via {channel}/{protocol}"
    assert stdout == [], "something printed in the kernel"
    assert not seen & FORBIDDEN_REPLIES, f"the kernel answered: {sorted(seen & FORBIDDEN_REPLIES)}"
    assert "kernel_info_reply" in seen


def test_a_comm_for_an_unknown_target_runs_nothing_and_the_kernel_lives(kernel, tmp_path):
    port, kernel_id = kernel
    marker = tmp_path / "pwned"
    code = _code(marker)

    async def scenario():
        ws = await KernelSocket.open(port, kernel_id)
        try:
            comm_id = uuid.uuid4().hex
            ws.send("comm_open", {"comm_id": comm_id, "target_name": "pwn", "data": {"code": code},
                                  "metadata": {}})
            ws.send("comm_open", {"comm_id": uuid.uuid4().hex, "target_name": code,
                                  "target_module": "os", "data": {}})
            ws.send("comm_msg", {"comm_id": comm_id, "data": {"method": "custom", "code": code}})
            ws.send("comm_msg", {"comm_id": uuid.uuid4().hex, "data": {"exec": code}})
            # The kernel refuses an unknown target by closing the comm: proof it saw the message.
            await ws.wait_for(lambda m: m["header"]["msg_type"] == "comm_close"
                              and m["content"].get("comm_id") == comm_id)
            await ws.kernel_info()
            await ws.drain(SETTLE_S)
            return ws.types_seen(), ws.printed()
        finally:
            ws.close()

    seen, stdout = run(scenario())
    assert not marker.exists()
    assert not seen & FORBIDDEN_REPLIES, sorted(seen & FORBIDDEN_REPLIES)
    assert stdout == [], "something printed in the kernel"


def test_a_page_on_another_site_cannot_open_the_kernel_socket(kernel):
    from tornado.httpclient import HTTPClientError

    port, kernel_id = kernel

    async def scenario():
        ws = await KernelSocket.open(port, kernel_id, origin=f"http://127.0.0.1:{port}")
        try:
            await ws.kernel_info()  # the same origin is let in …
        finally:
            ws.close()
        with pytest.raises(HTTPClientError) as refused:  # … another site is not
            await KernelSocket.open(port, kernel_id, origin="http://evil.example")
        return refused.value.code

    assert run(scenario()) == 403


def _state_request(ws: KernelSocket, comm_id: str) -> str:
    return ws.send("comm_msg", {"comm_id": comm_id, "data": {"method": "request_state"}})


async def _state(ws: KernelSocket, comm_id: str) -> dict:
    """The kernel's full state of one widget (ipywidgets' ``request_state`` → ``update``)."""
    msg_id = _state_request(ws, comm_id)
    reply = await ws.wait_for(
        lambda m: m["header"]["msg_type"] == "comm_msg"
        and m["content"].get("comm_id") == comm_id
        and m["content"]["data"].get("method") == "update"
        and m.get("parent_header", {}).get("msg_id") == msg_id
    )
    return reply["content"]["data"]["state"]


async def _update(ws: KernelSocket, comm_id: str, state: dict) -> None:
    ws.send("comm_msg", {"comm_id": comm_id, "data": {"method": "update", "state": state,
                                                      "buffer_paths": []}})


def test_the_page_can_move_a_slider_but_not_its_limits(kernel):
    port, kernel_id = kernel

    async def scenario():
        ws = await KernelSocket.open(port, kernel_id)
        try:
            # Every widget model in the kernel, as the widget manager asks for them.
            control = uuid.uuid4().hex
            ws.send("comm_open", {"comm_id": control, "target_name": "jupyter.widget.control",
                                  "data": {}}, metadata={"version": "1.0.0"})
            ws.send("comm_msg", {"comm_id": control, "data": {"method": "request_states"}})
            states = (await ws.wait_for(
                lambda m: m["header"]["msg_type"] == "comm_msg"
                and m["content"].get("comm_id") == control
                and m["content"]["data"].get("method") == "update_states"
            ))["content"]["data"]["states"]
            ws.send("comm_close", {"comm_id": control, "data": {}})
            sliders = [cid for cid, s in states.items()
                       if s["model_name"] in ("FloatSliderModel", "IntSliderModel")]
            assert sliders, f"{WIDGET_NOTEBOOK} shows no slider to test with"
            # A comm_info_request (what the page sends first) lists the same widgets.
            info_id = ws.send("comm_info_request", {"target_name": "jupyter.widget"})
            info = await ws.reply_to(info_id, "comm_info_reply")
            assert set(sliders) <= set(info["content"]["comms"])

            slider = sliders[0]
            before = await _state(ws, slider)
            low, high, step = before["min"], before["max"], before["step"]
            # 1. The limits and the label cannot be changed from the page.
            await _update(ws, slider, {"max": high * 1000 + 1000, "min": low - 1000,
                                       "description": "<b>pwned</b>", "disabled": True})
            after_limits = await _state(ws, slider)
            # 2. A legal move is applied (so the updates above did reach the widget).
            target = low + step if before["value"] != low + step else low
            await _update(ws, slider, {"value": target})
            after_move = await _state(ws, slider)
            # 3. A value past the limit is held to the limit by the widget's own validation.
            await _update(ws, slider, {"value": high * 1000 + 1000})
            after_overshoot = await _state(ws, slider)
            await ws.kernel_info()
            return before, after_limits, after_move, after_overshoot, target
        finally:
            ws.close()

    before, after_limits, after_move, after_overshoot, target = run(scenario())
    for trait in ("max", "min", "description", "disabled"):
        assert after_limits[trait] == before[trait], f"the page changed the slider's {trait}"
    assert after_move["value"] == pytest.approx(target) and target != before["value"]
    assert after_move["max"] == before["max"]
    assert after_overshoot["value"] == pytest.approx(before["max"])


# ---------------------------------------------------------------------------------------------
# 2. A visitor cannot read files.
# ---------------------------------------------------------------------------------------------


def _first_line(path: str) -> str:
    return (REPO / path).read_text().splitlines()[0]


#: A line of each file a request below asks for: none may appear in any response.
SECRETS = {
    "data/practices.csv": _first_line("data/practices.csv"),
    "pbc_lib/ui.py": "class guard:  # noqa: N801",
    "pbc_lib/lockdown.py": "CLIENT_TRAITS = frozenset",
    "pyproject.toml": "[tool.pytest.ini_options]",
    "tests/conftest.py": "def voila_url():",
    ".venv/pyvenv.cfg": "include-system-site-packages",
    "workbooks/00_start_here.ipynb": "from pbc_lib.apps.glossary import GlossarySearch",
    "/etc/passwd": "root:x:0:0:",
}
#: Where a refusal may send the browser: the landing page.
LANDING = {"/", "/voila/tree", "/voila/tree/"}

PREFIXES = {
    "render": "/voila/render/",
    "files": "/voila/files/",
    "tree": "/voila/tree/",
    "contents": "/voila/api/contents/",
    "static": "/voila/static/",
    "template-static": "/voila/templates/pbc/static/",
    "labextensions": "/voila/labextensions/",
    "themes": "/voila/api/themes/",
}
#: "../" as an attacker writes it to slip past a filter or a decoder (OWASP, Path Traversal).
DOT_DOT = {
    "plain": "../",
    "encoded-dots": "%2e%2e/",
    "encoded-slash": "..%2f",
    "encoded-all": "%2e%2e%2f",
    "double-encoded": "%252e%252e%252f",
    "backslash": "..\\",
    "encoded-backslash": "..%5c",
    "overlong-utf8": "%c0%ae%c0%ae/",
    "nested": "....//",
}
DEPTH = 14  # enough "../" to climb from any served folder (the site in /tmp, .venv/share/…) to /
REPO_PATH = str(REPO).lstrip("/")
TRAVERSAL_TARGETS = {
    "pyproject.toml": f"{REPO_PATH}/pyproject.toml",
    "data/practices.csv": f"{REPO_PATH}/data/practices.csv",
    "/etc/passwd": "etc/passwd",
}


def _site_folder(port: int) -> Path:
    return Path(tempfile.gettempdir()) / f"pbc-site-{os.getuid()}-{port}"


def _decoded(path: str) -> str:
    """``path`` with every level of percent-encoding undone (what a server may echo back)."""
    while (once := unquote(path)) != path:
        path = once
    return path


def assert_refused(port: int, path: str) -> None:
    """``path`` is refused (400/403/404, or redirected to a refusal or the landing page) and no
    response on the way holds a line of a protected file, a server path or a traceback.

    A 500 is never a refusal: Voilà 0.5.13 raises on some malformed paths, and
    :mod:`pbc_lib.hosting.hardening` turns those into 404s
    (:func:`test_malformed_paths_get_a_refusal_not_a_server_error`).
    """
    chain = fetch_chain(port, path)
    final_path, status, _, _ = chain[-1]
    hops = " → ".join(f"{p} [{s}]" for p, s, _, _ in chain)
    refusals = (400, 403, 404)
    landing = status == 200 and final_path in LANDING and len(chain) > 1
    assert status in refusals or landing, f"not refused: {hops}"
    server_paths = [str(REPO), str(_site_folder(port)), tempfile.gettempdir() + "/voila_"]
    for hop_path, _, _, body in chain:
        for name, line in SECRETS.items():
            assert line not in body, f"{hop_path} shows {name}"
        assert not TRACEBACK.search(body), f"{hop_path} shows a Python traceback"
        for server_path in server_paths:  # an echo of the request's own path is no disclosure
            if server_path not in _decoded(hop_path):
                assert server_path not in body, f"{hop_path} shows the server path {server_path}"


@pytest.mark.parametrize("dots", DOT_DOT.values(), ids=DOT_DOT.keys())
@pytest.mark.parametrize("prefix", PREFIXES.values(), ids=PREFIXES.keys())
def test_path_traversal_is_refused(voila_url, prefix, dots):
    port = _port(voila_url)
    for target in TRAVERSAL_TARGETS.values():
        assert_refused(port, prefix + dots * DEPTH + target)
        # And an absolute path straight after the prefix ("/voila/files//etc/passwd").
        assert_refused(port, prefix + "/" + target)
        assert_refused(port, prefix + "%2f" + target.replace("/", "%2f"))


#: Paths on which Voilà 0.5.13 itself raises (an uncaught 500) unless
#: :func:`pbc_lib.hosting.hardening.install` is in place.
MALFORMED = {
    "template-static-dotdot": "/voila/templates/pbc/static/../conf.json",
    "template-static-deep-dotdot": "/voila/templates/pbc/static/" + "../" * 6 + "etc/passwd",
    "template-no-static": "/voila/templates/pbc/x",
    "template-only": "/voila/templates/pbc",
    "template-empty-segment": "/voila/templates/pbc/static//voila.css",
    "render-nul": "/voila/render/workbooks/00_start_here.ipynb%00",
    "render-nul-middle": "/voila/render/workbooks%00/00_start_here.ipynb",
    "render-crlf": "/voila/render/workbooks/00_start_here.ipynb%0d%0aSet-Cookie:%20x=1",
    "render-lf-only": "/voila/render/x%0a.ipynb",
}


@pytest.mark.parametrize("path", MALFORMED.values(), ids=MALFORMED.keys())
def test_malformed_paths_get_a_refusal_not_a_server_error(voila_url, path):
    conn = http.client.HTTPConnection("127.0.0.1", _port(voila_url), timeout=HTTP_TIMEOUT_S)
    try:
        conn.putrequest("GET", path, skip_accept_encoding=True)
        conn.endheaders()
        resp = conn.getresponse()
        status, header_list, body = resp.status, resp.getheaders(), resp.read().decode("utf-8")
    finally:
        conn.close()
    assert status in (400, 404), f"{path} answered {status}"
    injected = [(k, v) for k, v in header_list if "x=1" in v or k.lower().startswith("x=")]
    assert not injected, f"{path} injected a header: {injected}"
    assert not TRACEBACK.search(body)
    assert_refused(_port(voila_url), path)


def test_well_formed_template_files_are_still_served(voila_url):
    """The hardening refuses malformed paths only: the page's own files still load."""
    for name, kind in (("index.css", "css"), ("theme-light.css", "css"),
                       ("voila-style.js", "javascript")):
        status, headers, body = http_get(_port(voila_url), f"/voila/templates/pbc/static/{name}")
        assert status == 200, (name, status)
        assert kind in headers.get("content-type", ""), (name, headers.get("content-type"))
        assert len(body) > 100, name


DIRECT = {
    "data-csv": "/data/practices.csv",
    "files-data-csv": "/files/data/practices.csv",
    "voila-files-data-csv": "/voila/files/data/practices.csv",
    "render-data-csv": "/voila/render/data/practices.csv",
    "source-py": "/pbc_lib/ui.py",
    "voila-files-source-py": "/voila/files/pbc_lib/ui.py",
    "render-source-py": "/voila/render/pbc_lib/lockdown.py",
    "pyproject": "/pyproject.toml",
    "voila-files-pyproject": "/voila/files/pyproject.toml",
    "conftest": "/tests/conftest.py",
    "voila-files-conftest": "/voila/files/tests/conftest.py",
    "venv": "/.venv/pyvenv.cfg",
    "voila-files-venv": "/voila/files/.venv/pyvenv.cfg",
    "notebook-as-file": "/voila/files/workbooks/00_start_here.ipynb",
    "notebook-as-file-upper": "/voila/files/workbooks/00_start_here.IPYNB",
    "notebook-raw-files": "/files/workbooks/00_start_here.ipynb",
    "notebook-nbconvert": "/nbconvert/script/workbooks/00_start_here.ipynb",
    "api-contents": "/api/contents",
    "api-contents-notebook": "/api/contents/workbooks/00_start_here.ipynb",
    "api-kernels": "/api/kernels",
    "api-sessions": "/api/sessions",
    "api-kernelspecs": "/api/kernelspecs",
    "api-terminals": "/api/terminals",
    "api-config": "/api/config/notebook",
    "voila-api-kernels": "/voila/api/kernels",
    "lab": "/lab",
    "tree-notebook": "/voila/tree/workbooks/00_start_here.ipynb",
    "render-folder": "/voila/render/workbooks",
}


@pytest.mark.parametrize("path", DIRECT.values(), ids=DIRECT.keys())
def test_project_files_and_jupyter_apis_are_refused(voila_url, path):
    assert_refused(_port(voila_url), path)


def test_the_contents_api_lists_only_the_served_notebooks(voila_url):
    port = _port(voila_url)
    folders_served = [folder for folder, _, _ in SECTIONS]  # workbooks/workshop included
    expected = set(folders_served) | {
        p.relative_to(REPO).as_posix()
        for folder in folders_served
        for p in (REPO / folder).glob("*.ipynb")
    }
    listed, folders = set(), [""]
    while folders:
        folder = folders.pop()
        status, _, body = http_get(port, f"/voila/api/contents/{folder}")
        assert status == 200, (folder, status)
        for item in json.loads(body)["content"]:
            assert item["content"] is None, f"the listing carries the content of {item['path']}"
            listed.add(item["path"])
            if item["type"] == "directory":
                folders.append(item["path"])
            else:
                assert item["type"] == "notebook", item
    assert listed == expected
    assert len(expected) > 5
    # Asking for a notebook's content still gives its metadata only.
    for query in ("?content=1", "?type=file&format=text&content=1", "?type=notebook&content=1"):
        url = f"/voila/api/contents/workbooks/00_start_here.ipynb{query}"
        status, _, body = http_get(port, url)
        assert status == 200 and json.loads(body)["content"] is None, query
        assert SECRETS["workbooks/00_start_here.ipynb"] not in body and '"cells"' not in body


@pytest.mark.parametrize("method", ["PUT", "POST", "PATCH", "DELETE"])
def test_the_contents_api_cannot_change_files(voila_url, method):
    port = _port(voila_url)
    status, _, body = http_get(port, "/voila/api/contents/workbooks/00_start_here.ipynb", method)
    assert status in (403, 404, 405), status
    assert not TRACEBACK.search(body)
    assert (_site_folder(port) / "workbooks/00_start_here.ipynb").exists()


def test_a_missing_notebook_gets_a_friendly_404(voila_url):
    port = _port(voila_url)
    for path in ("/voila/render/workbooks/99_missing.ipynb", "/voila/render/missing.ipynb",
                 "/voila/tree/missing"):
        status, _, body = http_get(port, path)
        assert status == 404, (path, status)
        assert "<h1>404" in body or "Not Found" in body
        assert not TRACEBACK.search(body) and "Traceback" not in body
        assert "HTTPError" not in body and "File \"" not in body


def test_an_error_while_a_notebook_runs_shows_no_traceback(voila_url):
    """A notebook that fails at render time (put in the served folder for this test only) shows
    Voilà's generic error, not the exception, its message or the code."""
    port = _port(voila_url)
    secret = uuid.uuid4().hex
    name = f"zz_failing_{secret[:8]}.ipynb"
    path = _site_folder(port) / "workbooks" / name
    assert path.parent.is_dir(), f"no site folder at {path.parent}"
    code = f"def helper():\n    raise ValueError('secret {secret}')\nhelper()"
    notebook = {
        "cells": [{"cell_type": "code", "execution_count": None, "id": "a1", "metadata": {},
                   "outputs": [], "source": code}],
        "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3",
                                    "language": "python"}},
        "nbformat": 4, "nbformat_minor": 5,
    }
    path.write_text(json.dumps(notebook))
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=PAGE_TIMEOUT_S)
        conn.request("GET", f"/voila/render/workbooks/{name}")
        resp = conn.getresponse()
        body = resp.read().decode()
        conn.close()
    finally:
        path.unlink()
    assert secret not in body, "the page shows the exception's message"
    assert "ValueError" not in body and "Traceback" not in body and "helper()" not in body
    assert not TRACEBACK.search(body)
    assert "There was an error when executing cell" in body  # Voilà's generic message instead


MARKUP = '<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script>'
SHORT_MARKUP = '<img src=x onerror="window.__pwned=3">'  # within the 60-character limit


@pytest.mark.browser
def test_markup_typed_into_the_glossary_is_shown_as_text(voila_url, recorded_page):
    page = recorded_page.page
    open_notebook(page, voila_url, GLOSSARY_NOTEBOOK, charts=0)
    box = page.locator("input[placeholder^='Type part of a term']")
    box.wait_for(state="visible")

    def injected() -> dict:
        return page.evaluate(
            """() => ({
                pwned: window.__pwned,
                imgs: document.querySelectorAll('img[src="x"], img[onerror]').length,
                scripts: [...document.scripts].filter(s => s.text.includes('__pwned')).length,
                handlers: [...document.querySelectorAll('[onerror]')].length,
            })"""
        )

    # Within the limit: the search runs and echoes the query, escaped, in its "no match" line.
    box.fill(SHORT_MARKUP)
    page.get_by_text("No terms match").wait_for(state="visible")  # the kernel answered
    page.wait_for_timeout(1000)  # an <img> that failed to load would have fired onerror by now
    assert injected() == {"pwned": None, "imgs": 0, "scripts": 0, "handlers": 0}
    # … and the query is echoed as the very characters typed.
    assert f"No terms match “{SHORT_MARKUP}”" in page.inner_text("body")

    # Over the limit: the friendly message, no traceback, still nothing injected.
    box.fill(MARKUP)
    page.get_by_text("Searches are limited to").wait_for(state="visible")
    page.wait_for_timeout(1000)
    assert injected() == {"pwned": None, "imgs": 0, "scripts": 0, "handlers": 0}
    text = page.inner_text("body")
    assert "Traceback" not in text and "GlossaryError" not in text
    assert recorded_page.foreign_requests() == []
