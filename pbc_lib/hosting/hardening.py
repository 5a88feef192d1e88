"""Malformed URLs get a plain 404, not Voilà's uncaught 500.

Voilà 0.5.13 answers a few malformed paths with an uncaught exception (status 500, a generic page,
and an ``Uncaught exception`` traceback in the server log for every such request):

- its template static handler (``voila/static_file_handler.py``) splits the path as
  ``<template>/static/<file>`` and ``assert``\\s the middle part, so ``/voila/templates/pbc/x``
  (``ValueError``), ``/voila/templates/pbc/static/../conf.json`` and deeper ``../``
  (``AssertionError`` after normalising) all raise;
- its notebook handler passes a render path with a NUL byte or a CR/LF on to the file system or
  to a redirect header, which raise (``ValueError: embedded null byte``, Tornado's "unsafe
  header value").

Nothing leaks (no traceback in the body, no header injection), but a 500 is the wrong answer and
floods the log. :func:`install` wraps the two entry points so that such paths are refused with 404
before Voilà sees them; every well-formed path goes through unchanged. ``python -m pbc_lib.hosting``
calls it before Voilà starts; ``tests/test_security.py`` checks the statuses against the real
server.

Sources: Voilà 0.5.13 ``voila/static_file_handler.py`` (``TemplateStaticFileHandler``) and
``voila/tornado/handler.py`` (``TornadoVoilaHandler.get``); Tornado 6 ``web.StaticFileHandler``.
"""

from __future__ import annotations

import functools
import re

#: Characters that never belong in a URL path once decoded: C0 controls (NUL, CR, LF, ...) and DEL.
CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_INSTALLED_FLAG = "_pbc_hardened"


def template_static_path_ok(path: str) -> bool:
    """Whether ``path`` (after ``/voila/templates/``) is ``<template>/static/<file...>`` with no
    empty, ``.`` or ``..`` segment, no backslash and no control character."""
    if CONTROL.search(path) or "\\" in path:
        return False
    parts = path.split("/")
    if len(parts) < 3 or parts[1] != "static":
        return False
    return all(part not in ("", ".", "..") for part in parts)


def render_path_ok(path: str | None) -> bool:
    """Whether a notebook path (after ``/voila/render/``) is free of control characters."""
    return path is None or not CONTROL.search(path)


def install() -> bool:
    """Wrap Voilà's template static handler and notebook handler (once per process).

    Returns True if it installed the wrappers now, False if they were already in place.
    """
    import tornado.web
    from voila.static_file_handler import TemplateStaticFileHandler
    from voila.tornado.handler import TornadoVoilaHandler

    if getattr(TemplateStaticFileHandler, _INSTALLED_FLAG, False):
        return False

    parse_url_path = TemplateStaticFileHandler.parse_url_path

    @functools.wraps(parse_url_path)
    def checked_parse_url_path(self, path):
        if not template_static_path_ok(path):
            raise tornado.web.HTTPError(404)
        return parse_url_path(self, path)

    get = TornadoVoilaHandler.get

    @functools.wraps(get)
    async def checked_get(self, path=None):
        if not render_path_ok(path):
            raise tornado.web.HTTPError(404)
        return await get(self, path=path)

    TemplateStaticFileHandler.parse_url_path = checked_parse_url_path
    TornadoVoilaHandler.get = checked_get
    setattr(TemplateStaticFileHandler, _INSTALLED_FLAG, True)
    return True
