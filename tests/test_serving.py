"""What the shipped server sends, against the real server (``python -m pbc_lib.hosting``, fixture
``voila_url``): compressed pages and websocket frames, and long-lived caching for static files
(:mod:`pbc_lib.hosting.transforms`).

Bytes per page view matter on a conference network (issue 8: at most 250 KB for a second view;
``benchmarks/hosting.py`` measures them on the wire). These tests check the two switches that the
figure relies on are really on: gzip on HTTP responses and permessage-deflate (RFC 7692) on the
kernel websocket, and that an unsupporting client still gets plain responses.
"""

from __future__ import annotations

import base64
import gzip
import http.client
import os
import re
import sys
from pathlib import Path
from urllib.parse import urlsplit

from test_security import PAGE_TIMEOUT_S, kernel_id_of

NOTEBOOK = "workbooks/00_start_here.ipynb"


def _get(port: int, path: str, headers: dict[str, str] | None = None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=PAGE_TIMEOUT_S)
    try:
        conn.request("GET", path, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


def test_pages_and_scripts_are_gzipped_for_browsers_that_accept_it(voila_url):
    port = urlsplit(voila_url).port
    for path in (f"/voila/render/{NOTEBOOK}", "/voila/static/voila.js",
                 "/voila/templates/pbc/static/index.css"):
        status, headers, body = _get(port, path, {"Accept-Encoding": "gzip"})
        assert status == 200, (path, status)
        assert headers.get("content-encoding") == "gzip", (path, headers)
        plain = gzip.decompress(body)
        assert len(body) < len(plain) / 2, (path, len(body), len(plain))  # it really shrank
    status, headers, body = _get(port, f"/voila/render/{NOTEBOOK}")
    assert status == 200 and "content-encoding" not in headers  # no Accept-Encoding: plain
    assert b"jupyter-config-data" in body


def test_the_kernel_websocket_offers_permessage_deflate(voila_url):
    port = urlsplit(voila_url).port
    status, _, page = _get(port, f"/voila/render/{NOTEBOOK}")
    assert status == 200
    kernel_id = kernel_id_of(page.decode())
    key = base64.b64encode(os.urandom(16)).decode()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=PAGE_TIMEOUT_S)
    try:
        conn.request("GET", f"/api/kernels/{kernel_id}/channels", headers={
            "Connection": "Upgrade",
            "Upgrade": "websocket",
            "Sec-WebSocket-Version": "13",
            "Sec-WebSocket-Key": key,
            "Sec-WebSocket-Extensions": "permessage-deflate; client_max_window_bits",
            "Origin": f"http://127.0.0.1:{port}",
        })
        resp = conn.getresponse()
        assert resp.status == 101, resp.status  # the socket itself opened
        assert "permessage-deflate" in (resp.getheader("Sec-WebSocket-Extensions") or "")
    finally:
        conn.close()


def test_static_files_are_cached_and_pages_are_not(voila_url):
    port = urlsplit(voila_url).port
    status, headers, _ = _get(port, f"/voila/render/{NOTEBOOK}")
    assert status == 200 and "max-age" not in headers.get("cache-control", "")
    status, headers, _ = _get(port, "/voila/static/voila.js")
    assert status == 200 and headers["cache-control"] == "public, max-age=3600"
    # A content-hashed lab-extension chunk (Voilà's widget manager and friends).
    root = Path(sys.prefix) / "share/jupyter/voila"
    hashed = sorted(p for p in (root / "labextensions").rglob("*.js")
                    if re.search(r"\.[0-9a-f]{16,}\.js$", p.name))
    assert hashed, "no content-hashed lab-extension chunk installed"
    path = "/voila/" + hashed[0].relative_to(root).as_posix()
    status, headers, _ = _get(port, path)
    assert status == 200, (path, status)
    assert headers["cache-control"] in ("public, max-age=31536000, immutable",
                                        "private, max-age=31536000, immutable"), headers


def test_a_static_file_is_compressed_once_and_served_from_memory_after(voila_url):
    port = urlsplit(voila_url).port
    path = "/voila/static/voila.js"
    first = _get(port, path, {"Accept-Encoding": "gzip"})
    again = _get(port, path, {"Accept-Encoding": "gzip"})
    assert first[0] == again[0] == 200
    assert again[2] == first[2]  # the very bytes compressed before
    assert int(again[1]["content-length"]) == len(again[2])  # a known length: from the cache
    assert gzip.decompress(again[2]) == _get(port, path)[2]  # and they are the file


def test_the_servers_kernels_are_forked_from_the_preloaded_fork_server(voila_url):
    """`make serve` starts the fork server, and the pool's kernels are its children (not new
    Python processes that import everything again)."""
    import psutil

    port = urlsplit(voila_url).port
    assert _get(port, f"/voila/render/{NOTEBOOK}")[0] == 200  # at least one kernel in use
    server = next(c.pid for c in psutil.net_connections("tcp")
                  if c.laddr and c.laddr.port == port and c.status == psutil.CONN_LISTEN)
    children = psutil.Process(server).children()
    forks = [p for p in children if "pbc_lib.hosting.forkserver" in " ".join(p.cmdline())]
    assert len(forks) == 1, [p.cmdline() for p in children]
    kernels = forks[0].children()
    assert len(kernels) >= 13  # a pool of one for each served notebook, and more
    assert not [p for p in children if "ipykernel_launcher" in " ".join(p.cmdline())]
