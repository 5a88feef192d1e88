"""Caching rules for the files every page needs, so a second page view asks the server for nothing
it already has.

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

Sources: RFC 9111 (HTTP caching: ``max-age``), RFC 8246 (``immutable``); Tornado 6
``web.OutputTransform`` and ``StaticFileHandler``.
"""

from __future__ import annotations

import re

YEAR_S = 365 * 24 * 3600
HOUR_S = 3600
#: A file name with a content hash of at least 16 hex digits: ``568.1e2faa2ba0bbe59c4780.js``.
HASHED = re.compile(r"[./-][0-9a-f]{16,}\.(?:js|css|woff2?|svg|png|json)$")
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
