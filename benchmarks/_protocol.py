"""A delegate without a browser: what a workbook page asks of the server, over HTTP and the kernel
websocket, with the page's own messages, so a load test can put many delegates on the server
without the load generator's browsers using up the machine it measures.

One :func:`protocol_delegate` does what Voilà's page does for a preheated notebook:

1. ``GET /voila/render/<notebook>`` with ``Accept-Encoding: gzip`` (the page, with its kernel id);
2. opens the kernel websocket (``/api/kernels/<id>/channels``, permessage-deflate offered, as
   Chromium does) and sends ``kernel_info_request``;
3. opens the ``jupyter.widget.control`` comm and sends ``request_states``, as ipywidgets 8's
   widget manager does, and waits for ``update_states`` (every widget's state: the charts' SVG
   among them). The time from 1 to here is the **server-side time to interactive**: what is left
   for a browser is drawing what it has received.
4. makes ``changes`` changes to the first control the page would offer (a ``pbc-control`` dropdown
   or slider), each timed from sending the new value to the first chart (an HTML widget holding
   an SVG) updated by the kernel, then waits for the kernel to be idle.

It does not run the page's JavaScript, fetch the page's scripts (a browser caches them) or draw
anything. Sources: Jupyter messaging protocol 5.3; ipywidgets 8 widget messaging protocol
(``packages/schema/messages.md``: ``request_states``/``update_states``, ``update``,
``echo_update``); jupyter_server 2 kernel websocket (legacy JSON framing).
"""

from __future__ import annotations

import datetime
import gzip
import json
import re
import time
import uuid
from typing import Any

CONTROL_MODELS = {"DropdownModel": "index", "IntSliderModel": "value",
                  "FloatSliderModel": "value", "SelectionSliderModel": "index",
                  "ToggleButtonsModel": "index", "RadioButtonsModel": "index"}
CONFIG = re.compile(r'<script id="jupyter-config-data" type="application/json">(.*?)</script>',
                    re.S)


class ProtocolError(RuntimeError):
    """The server did not answer as a page expects."""


class Socket:
    """The kernel websocket, legacy JSON framing (what Voilà's page uses by default)."""

    def __init__(self, conn: Any) -> None:
        self.conn = conn
        self.session = uuid.uuid4().hex

    def send(self, msg_type: str, content: dict, metadata: dict | None = None) -> str:
        msg_id = uuid.uuid4().hex
        self.conn.write_message(json.dumps({
            "header": {"msg_id": msg_id, "msg_type": msg_type, "username": "delegate",
                       "session": self.session, "version": "5.3",
                       "date": datetime.datetime.now(datetime.UTC).isoformat()},
            "parent_header": {}, "metadata": metadata or {}, "content": content,
            "channel": "shell", "buffers": [],
        }))
        return msg_id

    async def next(self, deadline: float) -> dict:
        import asyncio

        left = deadline - time.monotonic()
        if left <= 0:
            raise ProtocolError("timed out waiting for the kernel")
        try:
            frame = await asyncio.wait_for(self.conn.read_message(), left)
        except TimeoutError:
            raise ProtocolError("timed out waiting for the kernel") from None
        if frame is None:
            raise ProtocolError("the server closed the kernel websocket")
        if isinstance(frame, bytes):
            from jupyter_server.services.kernels.connection.base import (
                deserialize_binary_message,
            )

            return deserialize_binary_message(frame)
        return json.loads(frame)

    async def wait_for(self, predicate, deadline: float) -> dict:
        while True:
            msg = await self.next(deadline)
            if predicate(msg):
                return msg


def first_control(states: dict[str, Any]) -> tuple[str, str, dict] | None:
    """(comm id, trait, state) of the first ``pbc-control`` the page shows, or None."""
    for comm_id, item in states.items():
        state = item.get("state", {})
        trait = CONTROL_MODELS.get(item.get("model_name", ""))
        if trait and "pbc-control" in (state.get("_dom_classes") or []):
            return comm_id, trait, state
    return None


def next_value(trait: str, state: dict, current: Any) -> Any:
    """The value a delegate moves the control to next: the next option, or one step up (down at
    the top)."""
    if trait == "index":
        n = len(state.get("_options_labels") or [])
        return ((current or 0) + 1) % max(n, 1)
    step = state.get("step") or 1
    low, high = state.get("min", 0), state.get("max", 0)
    value = current + step
    return value if value <= high else max(low, current - step)


def _is_chart_update(msg: dict, charts: set[str]) -> bool:
    if msg.get("msg_type", msg.get("header", {}).get("msg_type")) != "comm_msg":
        return False
    content = msg.get("content", {})
    data = content.get("data", {})
    return (data.get("method") == "update" and content.get("comm_id") in charts
            and "value" in data.get("state", {}))


def _is_idle(msg: dict) -> bool:
    return (msg.get("header", {}).get("msg_type") == "status"
            and msg.get("content", {}).get("execution_state") == "idle")


async def protocol_delegate(base_url: str, notebook: str, *, changes: int = 5,
                            timeout_s: float = 30.0) -> dict[str, Any]:
    """One delegate's visit; timings in ms, or the error."""
    from tornado.httpclient import AsyncHTTPClient, HTTPRequest
    from tornado.websocket import websocket_connect

    out: dict[str, Any] = {"latency_ms": [], "errors": []}
    t0 = time.monotonic()
    deadline = t0 + timeout_s
    try:
        response = await AsyncHTTPClient().fetch(HTTPRequest(
            f"{base_url}voila/render/{notebook}", headers={"Accept-Encoding": "gzip"},
            decompress_response=False, request_timeout=timeout_s))
        body = response.body
        if response.headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        out["page_ms"] = round((time.monotonic() - t0) * 1000, 1)
        out["page_bytes"] = len(response.body)
        match = CONFIG.search(body.decode("utf-8", "replace"))
        kernel_id = json.loads(match.group(1)).get("kernelId") if match else None
        if not kernel_id:
            raise ProtocolError("the page names no kernel")
        ws_url = base_url.replace("http://", "ws://", 1)
        conn = await websocket_connect(HTTPRequest(
            f"{ws_url}api/kernels/{kernel_id}/channels?session_id={uuid.uuid4()}",
            request_timeout=timeout_s), compression_options={})
        ws = Socket(conn)
        try:
            info = ws.send("kernel_info_request", {})
            await ws.wait_for(lambda m: m.get("parent_header", {}).get("msg_id") == info,
                              deadline)
            control = uuid.uuid4().hex
            ws.send("comm_open", {"comm_id": control, "target_name": "jupyter.widget.control",
                                  "data": {}}, metadata={"version": "1.0.0"})  # protocol 1.x
            ws.send("comm_msg", {"comm_id": control, "data": {"method": "request_states"}})
            reply = await ws.wait_for(
                lambda m: m.get("content", {}).get("comm_id") == control
                and m["content"].get("data", {}).get("method") == "update_states", deadline)
            states = reply["content"]["data"]["states"]
            out["tti_ms"] = round((time.monotonic() - t0) * 1000, 1)
            out["widgets"] = len(states)
            ws.send("comm_close", {"comm_id": control, "data": {}})
            charts = {cid for cid, s in states.items() if s.get("model_name") == "HTMLModel"
                      and "<svg" in str(s.get("state", {}).get("value", ""))}
            found = first_control(states)
            if changes and found is None:
                raise ProtocolError("the page has no pbc-control to change")
            current = found[2].get(found[1]) if found else None
            for _ in range(changes):
                comm_id, trait, state = found
                current = next_value(trait, state, current)
                sent = time.monotonic()
                change_deadline = sent + 15
                ws.send("comm_msg", {"comm_id": comm_id, "data": {
                    "method": "update", "state": {trait: current}, "buffer_paths": []}})
                await ws.wait_for(lambda m: _is_chart_update(m, charts), change_deadline)
                out["latency_ms"].append(round((time.monotonic() - sent) * 1000, 1))
                await ws.wait_for(_is_idle, change_deadline)
        finally:
            conn.close()
    except ProtocolError as exc:
        out["errors"].append(str(exc))
    except Exception as exc:  # noqa: BLE001 - any failure is this delegate's error
        out["errors"].append(f"{type(exc).__name__}: {str(exc)[:200]}")
    return out
