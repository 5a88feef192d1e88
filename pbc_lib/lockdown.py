"""What a browser may change in a kernel: only the values a user can set, never a control's limits.

ipywidgets lets the page set any synced trait of any widget through a ``comm_msg`` (tech-notes §6):
a crafted message could raise a slider's ``max`` and then its ``value``, give a dropdown new
options, or send a megabyte of text. The page itself only ever sends the traits in
:data:`CLIENT_TRAITS` when a user moves a control. :func:`install` makes every widget accept just
those from the page (and text of at most :data:`MAX_TEXT` characters); anything else is dropped
and logged. Values are still checked by the widgets' own validation (a slider clamps to its
``min``/``max``, which now only the kernel can set), so every control stays within its bounds.

It is installed when :mod:`pbc_lib.ui` is imported, i.e. in every kernel that shows an app.
"""

from __future__ import annotations

import logging
from typing import Any

import ipywidgets as widgets

log = logging.getLogger(__name__)

#: Traits the ipywidgets page sends when a user uses a control (value of sliders, checkboxes,
#: text and toggles; index of dropdowns, selection sliders and toggle buttons; the open tab).
CLIENT_TRAITS = frozenset({"value", "index", "selected_index"})
MAX_TEXT = 2000  # characters: the longest answer or search a user could mean to type
MAX_ITEMS = 1000  # items in a list value (a multiple selection)

def allowed_state(widget: widgets.Widget, state: dict[str, Any]) -> dict[str, Any]:
    """The part of a state update from the page that the kernel accepts."""
    kept = {}
    for name, value in state.items():
        if name not in CLIENT_TRAITS:
            log.warning("Ignored a change to %s.%s from the page", type(widget).__name__, name)
            continue
        if isinstance(value, str) and len(value) > MAX_TEXT:
            log.warning("Ignored %d characters of text for %s", len(value), type(widget).__name__)
            continue
        if isinstance(value, list | tuple) and len(value) > MAX_ITEMS:
            log.warning("Ignored a %d-item value for %s", len(value), type(widget).__name__)
            continue
        kept[name] = value
    return kept


def _handle_msg(self: widgets.Widget, msg: dict[str, Any]) -> None:
    data = msg.get("content", {}).get("data", {})
    if data.get("method") == "update" and isinstance(data.get("state"), dict):
        if data.get("buffer_paths"):  # binary traits: no control of ours has one
            log.warning("Ignored a binary update for %s from the page", type(self).__name__)
            return
        state = allowed_state(self, data["state"])
        if not state:
            return
        msg = {**msg, "content": {**msg["content"], "data": {**data, "state": state}}}
    _ORIGINAL_HANDLE_MSG(self, msg)


_ORIGINAL_HANDLE_MSG = widgets.Widget._handle_msg


def install() -> None:
    """Filter every widget's updates from the page (idempotent)."""
    widgets.Widget._handle_msg = _handle_msg


def uninstall() -> None:
    """Restore ipywidgets' own handling (for tests)."""
    widgets.Widget._handle_msg = _ORIGINAL_HANDLE_MSG
