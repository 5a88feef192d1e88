"""Compression and caching rules for the files every page needs: a first page view gets them
gzipped without the server compressing them again, and a second view asks for none of them.

Out of the box a returning browser revalidates most of the page's scripts on every view (measured
by ``benchmarks/hosting.py``: 17 requests answered "304 Not Modified" per page view): the Jupyter
server marks lab-extension chunks ``no-cache`` although their names carry a hash of their content,
and Voilà's own bundle has no caching header at all. Each revalidation is a round trip on the
delegate's network and a SHA-512 of the file on the server (Tornado's ETag).

:class:`StaticCaching`, an output transform added by :func:`pbc_lib.hosting.voila_class`, sets:

- **content-hashed files** (a name such as ``568.1e2faa2ba0bbe59c4780.js``): cache for a year,
  ``immutable`` (a new version has a new name);
- **Voilà's own scripts and styles** (``voila/static/``, names fixed for a Voilà version): cache
  for an hour, long enough for a session, short enough that an upgraded server is picked up;
- everything else (pages, APIs, the kernel websocket) is left as it is: never cached.

:func:`make_compression` replaces Tornado's ``GZipContentEncoding``: responses are gzipped as
Tornado would, but a static file (a response with an ``ETag``) is compressed once per version and
kept (:data:`GZIP_CACHE_BYTES` at most): Voilà's scripts are ~5 MB before compression, ~1.5 MB
after, and gzip level 6 takes a few hundred milliseconds of server CPU over them, on every first
view.

Sources: RFC 9111 (HTTP caching: ``max-age``), RFC 8246 (``immutable``), RFC 9110 (ETag, Vary);
Tornado 6 ``web.OutputTransform``, ``GZipContentEncoding`` and ``StaticFileHandler``.
"""

from __future__ import annotations

import gzip
import re
import threading
from collections import OrderedDict

YEAR_S = 365 * 24 * 3600
HOUR_S = 3600
#: A file name with a content hash of at least 16 hex digits: ``568.1e2faa2ba0bbe59c4780.js``.
HASHED = re.compile(r"[./-][0-9a-f]{16,}\.(?:js|css|woff2?|svg|png|json)$")
GZIP_CACHE_BYTES = 32 * 1024 * 1024  # compressed static files kept (Voilà's set is ~1.5 MB)
GZIP_LEVEL = 6  # as Tornado's GZipContentEncoding
STATIC_SUFFIXES = (".js", ".css", ".woff", ".woff2", ".svg", ".png", ".json", ".map")


def cache_policy(path: str, base_url: str = "/") -> str | None:
    """The ``Cache-Control`` value for a successful response to ``path``, or None to leave it.

    >>> cache_policy("/voila/labextensions/x/static/568.1e2faa2ba0bbe59c4780.js")
    'public, max-age=31536000, immutable'
    >>> cache_policy("/voila/static/voila.js")
    'public, max-age=3600'
    >>> cache_policy("/voila/render/workbooks/00_start_here.ipynb") is None
    True
    """
    prefix = base_url.rstrip("/") + "/voila/"
    if not path.startswith(prefix) or ".." in path:
        return None
    rest = path[len(prefix):]
    if rest.startswith(("labextensions/", "static/")) and HASHED.search(rest):
        return f"public, max-age={YEAR_S}, immutable"
    if rest.startswith("static/") and rest.endswith(STATIC_SUFFIXES):
        return f"public, max-age={HOUR_S}"
    return None


def make_static_caching(base_url: str = "/"):
    """The transform class for a server at ``base_url``."""
    from tornado.web import OutputTransform

    class StaticCaching(OutputTransform):
        """Sets :func:`cache_policy`'s header on 200 and 304 responses for static files."""

        def __init__(self, request) -> None:
            self._policy = cache_policy(request.path, base_url) if request.method in (
                "GET", "HEAD") else None

        def transform_first_chunk(self, status_code, headers, chunk, finishing):
            if self._policy and status_code in (200, 304):
                policy = self._policy
                if "Set-Cookie" in headers:  # a shared cache must not hand one visitor's cookie on
                    policy = policy.replace("public", "private")
                headers["Cache-Control"] = policy
                headers.pop("Pragma", None)
                headers.pop("Expires", None)
            return status_code, headers, chunk

    return StaticCaching


class GzipCache:
    """Compressed bodies by (path, ETag), least recently used dropped first, bounded in bytes."""

    def __init__(self, max_bytes: int = GZIP_CACHE_BYTES) -> None:
        self.max_bytes = max_bytes
        self.bytes = self.hits = self.misses = 0
        self._items: OrderedDict[tuple[str, str], bytes] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple[str, str]) -> bytes | None:
        with self._lock:
            body = self._items.get(key)
            if body is None:
                self.misses += 1
            else:
                self._items.move_to_end(key)
                self.hits += 1
            return body

    def put(self, key: tuple[str, str], body: bytes) -> None:
        if len(body) > self.max_bytes:
            return
        with self._lock:
            if key not in self._items:
                self._items[key] = body
                self.bytes += len(body)
            while self.bytes > self.max_bytes:
                _, old = self._items.popitem(last=False)
                self.bytes -= len(old)


def make_compression(cache: GzipCache | None = None):
    """Tornado's gzip transform, with static files compressed once per version (see above)."""
    from tornado.web import GZipContentEncoding

    store = cache if cache is not None else GzipCache()

    class CachedGzip(GZipContentEncoding):
        cache = store

        def __init__(self, request) -> None:
            super().__init__(request)
            self._path = request.path
            self._key: tuple[str, str] | None = None  # set while a static file is being gzipped
            self._hit = False
            self._parts: list[bytes] = []

        def transform_first_chunk(self, status_code, headers, chunk, finishing):
            etag = headers.get("Etag")
            ctype = str(headers.get("Content-Type", "")).split(";")[0]
            if not (self._gzipping and status_code == 200 and etag
                    and self._compressible_type(ctype) and "Content-Encoding" not in headers):
                return super().transform_first_chunk(status_code, headers, chunk, finishing)
            headers["Vary"] = (headers["Vary"] + ", " if "Vary" in headers else "") + \
                "Accept-Encoding"
            headers["Content-Encoding"] = "gzip"
            self._gzipping = False  # the parent's per-chunk compressor is not used
            self._key = (self._path, etag)
            body = self.cache.get(self._key)
            if body is not None:  # the file as compressed before: send it, drop what is read
                self._hit = True
                headers["Content-Length"] = str(len(body))
                return status_code, headers, body
            self._parts.append(chunk)
            if finishing:
                body = self._finish()
                headers["Content-Length"] = str(len(body))
                return status_code, headers, body
            headers.pop("Content-Length", None)  # chunked: the length is known at the end
            return status_code, headers, b""

        def transform_chunk(self, chunk, finishing):
            if self._key is None:
                return super().transform_chunk(chunk, finishing)
            if self._hit:
                return b""
            self._parts.append(chunk)
            return self._finish() if finishing else b""

        def _finish(self) -> bytes:
            body = gzip.compress(b"".join(self._parts), compresslevel=GZIP_LEVEL, mtime=0)
            self._parts = []
            self.cache.put(self._key, body)
            return body

    return CachedGzip
