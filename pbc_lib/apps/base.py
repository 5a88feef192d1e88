"""What every app shares: a root widget, a friendly-error panel, and a short plain-text repr.

Displaying an app shows its root widget. The text/plain part of that display (what nbval compares
and what a plain-text reader sees) is one sentence naming the app, not the repr of every child
widget, which would repeat whole SVG charts.
"""

from __future__ import annotations

from typing import Any

import ipywidgets as widgets

from pbc_lib.ui import ErrorPanel


class App:
    """Base for the apps: subclasses build ``self.widget`` and implement ``refresh()``."""

    #: One sentence saying what the app is, shown where widgets cannot be (plain text, print).
    summary = "An interactive app: open this workbook in Voilà or JupyterLab to use it."

    def __init__(self) -> None:
        self.errors = ErrorPanel()
        self.widget: widgets.Widget = widgets.VBox()

    def refresh(self) -> None:  # pragma: no cover - every subclass defines it
        raise NotImplementedError

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any]:
        bundle = self.widget._repr_mimebundle_(**kwargs)
        bundle["text/plain"] = self.summary
        return bundle
