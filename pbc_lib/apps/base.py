"""What every app shares: a root widget, a friendly-error panel, and a short plain-text repr.

Displaying an app shows its root widget. The text/plain part of that display (what nbval compares
and what a plain-text reader sees) is one sentence naming the app, not the repr of every child
widget, which would repeat whole SVG charts.

An app that cannot be built (a data file edited badly, say) does not raise into the notebook,
where Voilà would show a developer's "error when executing cell" line: it shows the same
plain-English panel as a failed update, keeps the exception in ``failed`` and logs the detail.
"""

from __future__ import annotations

import functools
import logging
from typing import Any

import ipywidgets as widgets

from pbc_lib.ui import ErrorPanel, friendly_message

log = logging.getLogger(__name__)


class App:
    """Base for the apps: subclasses build ``self.widget`` and implement ``refresh()``."""

    #: One sentence saying what the app is, shown where widgets cannot be (plain text, print).
    summary = "An interactive app: open this workbook in Voilà or JupyterLab to use it."

    def __init__(self) -> None:
        self.errors = ErrorPanel()
        self.widget: widgets.Widget = widgets.VBox()
        self.failed: Exception | None = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        init = cls.__dict__.get("__init__")
        if init is not None:
            cls.__init__ = _safely_built(init)

    def refresh(self) -> None:  # pragma: no cover - every subclass defines it
        raise NotImplementedError

    def _fail(self, exc: Exception) -> None:
        log.error("Building %s failed", type(self).__name__, exc_info=exc)
        self.failed = exc
        self.errors = ErrorPanel()
        self.errors.show(f"This part of the workbook could not start. {friendly_message(exc)}")
        self.widget = widgets.VBox([self.errors])

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any]:
        bundle = self.widget._repr_mimebundle_(**kwargs)
        bundle["text/plain"] = self.summary
        return bundle


def _safely_built(init):
    """Wrap a subclass's ``__init__`` so a failure shows the friendly panel instead of raising."""

    @functools.wraps(init)
    def wrapper(self: App, *args: Any, **kwargs: Any) -> None:
        if getattr(self, "_building", False):  # a subclass's __init__ calling its parent's
            init(self, *args, **kwargs)
            return
        self._building = True
        try:
            init(self, *args, **kwargs)
        except Exception as exc:  # noqa: BLE001 - shown to the user in plain English, logged
            self._fail(exc)
        finally:
            self._building = False

    return wrapper
