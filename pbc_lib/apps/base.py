"""What every app shares: a root widget, a friendly-error panel, and a short plain-text repr.

Displaying an app shows its root widget. The text/plain part of that display (what nbval compares
and what a plain-text reader sees) is one sentence naming the app, not the repr of every child
widget, which would repeat whole SVG charts.

An app that cannot be built (a data file edited badly, say) does not raise into the notebook,
where Voilà would show a developer's "error when executing cell" line: it shows the same
plain-English panel as a failed update, keeps the exception in ``failed`` and logs the detail.

Every numeric control keeps the range it was built with, whatever a browser sends. A slider's
``min`` and ``max`` are synced from the page like its value, so a crafted message could widen
the range and then ask for a value far outside it (a glide path of a billion years, say). Once an
app is built, a change to a control's range is undone at once, and every ``refresh()`` first checks
each numeric control against the range it was built with: a value outside it shows a
plain-English :class:`ControlError` in the app's panel and nothing is recalculated. The models
keep their own hard caps as well; this makes the app's own range the cap that counts.
"""

from __future__ import annotations

import functools
import logging
import math
import numbers
from collections.abc import Iterator
from typing import Any

import ipywidgets as widgets

from pbc_lib.ui import ErrorPanel, friendly_message, guard

log = logging.getLogger(__name__)


class ControlError(ValueError):
    """A control holds a value outside the range its app offers (only a crafted request can)."""


def walk(widget: widgets.Widget) -> Iterator[widgets.Widget]:
    """``widget`` and every widget inside it, depth first, in display order."""
    yield widget
    for child in getattr(widget, "children", ()) or ():
        yield from walk(child)


def is_bounded(widget: widgets.Widget) -> bool:
    """Whether ``widget`` is a numeric control with a ``min`` and ``max`` (sliders, bounded
    number boxes, range sliders). A log slider's bounds are exponents, not values: not one."""
    return (
        isinstance(widget, widgets.ValueWidget)
        and widget.has_trait("min")
        and widget.has_trait("max")
        and not widget.has_trait("base")
    )


def _outside(value: Any, low: float, high: float) -> bool:
    values = value if isinstance(value, tuple | list) else (value,)
    return any(
        isinstance(v, bool)
        or not isinstance(v, numbers.Real)
        or not math.isfinite(v)
        or not low <= v <= high
        for v in values
    )


class App:
    """Base for the apps: subclasses build ``self.widget`` and implement ``refresh()``."""

    #: One sentence saying what the app is, shown where widgets cannot be (plain text, print).
    summary = "An interactive app: open this workbook in Voilà or JupyterLab to use it."

    def __init__(self) -> None:
        self.errors = ErrorPanel()
        self.widget: widgets.Widget = widgets.VBox()
        self.failed: Exception | None = None
        self._bounds: dict[str, tuple[widgets.Widget, float, float]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        init = cls.__dict__.get("__init__")
        if init is not None:
            cls.__init__ = _safely_built(init)
        refresh = cls.__dict__.get("refresh")
        if refresh is not None:
            cls.refresh = _checked(refresh)

    def lock_bounds(self) -> None:
        """Record every numeric control's range as built, and undo any later change to it."""
        self._bounds = {}
        for w in walk(self.widget):
            if is_bounded(w) and w.model_id not in self._bounds:
                self._bounds[w.model_id] = (w, w.min, w.max)
                w.observe(self._keep_bounds, names=["min", "max"])

    def _keep_bounds(self, change: dict[str, Any]) -> None:
        widget = change["owner"]
        _, low, high = self._bounds[widget.model_id]
        if (widget.min, widget.max) != (low, high):
            # Widen first, then narrow, so min <= max holds at every step.
            widget.min = min(widget.min, low)
            widget.max, widget.min = high, low

    def check_controls(self) -> None:
        """Raise :class:`ControlError` if a numeric control is outside the range it was built with.

        Raises
        ------
        ControlError
            Naming the control (its label), its range and the value asked for.
        """
        for widget, low, high in getattr(self, "_bounds", {}).values():
            if _outside(widget.value, low, high):
                label = (widget.description or "A control").rstrip(": ")
                raise ControlError(
                    f"{label} can be from {low:g} to {high:g}, but this request asked for "
                    f"{widget.value!r}. Nothing was recalculated: move the control back into "
                    "its range."
                )

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
            self.lock_bounds()
        except Exception as exc:  # noqa: BLE001 - shown to the user in plain English, logged
            self._fail(exc)
        finally:
            self._building = False

    return wrapper


def _checked(refresh):
    """Wrap a subclass's ``refresh`` so it runs only while every numeric control is in range."""

    @functools.wraps(refresh)
    def wrapper(self: App, *args: Any, **kwargs: Any) -> Any:
        checking = guard(self.errors, what=f"checking the controls of {type(self).__name__}")
        with checking:
            self.check_controls()
        if checking.error is not None:
            return None
        return refresh(self, *args, **kwargs)

    return wrapper
