"""Every control of every workbook, swept across its range and its edges, headless.

The conference-hosting issue asks that (1) every control of every workbook is swept across its
range and its edges with no exception and no blank chart, (2) no widget, URL parameter or upload
can make a kernel compute or allocate without limit, and (3) markup typed into any text field is
shown escaped. This module checks all three without a browser.

What is swept is found, not listed: every app, quiz and exercise box the notebooks in
``workbooks/`` and ``exercises/`` build (their code cells are parsed, so the constructor
arguments are the notebooks' own), and every :class:`~pbc_lib.apps.base.App` subclass in
``pbc_lib.apps``. Each interactive control in a unit's widget tree is its own test: a number is
set to its minimum, its maximum and three values between (snapped to its step), a choice to each
option (a list longer than ``MAX_OPTIONS``, such as the 48 practices, to 12 spread from first to
last, to keep the run near a minute), a tick box both ways, a text box to a handful of typed
answers (markup among them), a button clicked; then the control goes back to where it started.
After every change no exception has escaped, no error panel shows
:data:`pbc_lib.ui.GENERIC_ERROR` (a plain-English message is accepted only where listed in
:data:`INTENDED`), every chart still draws data marks and no widget shows a traceback or raw
markup.

Setting ``control.value`` in Python fires the same callbacks as a browser; a crafted browser
message is imitated with ``control.set_state``, which is what the kernel's comm handler calls.
"""

from __future__ import annotations

import ast
import atexit
import importlib
import inspect
import json
import logging
import math
import pkgutil
import re
import shutil
import tempfile
import time
import typing
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import ipywidgets as widgets
import numpy as np
import pytest

import pbc_lib.apps
from pbc_lib import exercises as exercise_package
from pbc_lib import quiz as quiz_module
from pbc_lib.apps.base import App, is_bounded, walk
from pbc_lib.ui import GENERIC_ERROR, ChartView, ErrorPanel, friendly_message

REPO = Path(__file__).resolve().parent.parent
NOTEBOOK_GLOBS = ("workbooks/*.ipynb", "exercises/*.ipynb")
BUILDER_PACKAGES = ("pbc_lib.content.", "pbc_lib.exercises.")
MARKUP = "<script>alert(1)</script><img src=x onerror=alert(2)><b>bold</b>"
RAW_MARKUP = ("<script", "<img src=x", "<b>bold")
TEXT_VALUES = ("", "1,234.5", "−12%", "not a number", MARKUP, "9" * 5_000 + "x")
NUMERIC_FRACTIONS = (0.25, 0.5, 0.75)  # with min and max: five values, then back to the start
MAX_OPTIONS = 12  # a longer list (the 48 practices) is sampled: first, last, evenly between
# CPU seconds this process may spend on one change: a real refresh takes well under 1 s, so only
# a runaway computation comes near it. CPU time, not wall time: other jobs on the machine do not
# count, so the limit holds on a busy machine too.
CPU_SECONDS_PER_CHANGE = 10.0
NOT_VALUES = (widgets.HTML, widgets.HTMLMath, widgets.Label, widgets.Valid)

# Plain-English messages from pbc_lib's own errors that a sweep is meant to meet: (unit, control)
# -> (words in the message, why it is right). Any other message fails the sweep.
INTENDED = {
    ("GlossarySearch", "query"): (
        "Searches are limited to",
        "the 5,000-character paste and the 64-character markup are over MAX_QUERY (60)",
    ),
    ("FacilitatorConsole", "sign_in_button"): (
        "Please type the workshop's join code",
        "signing in with the form empty asks for the join code",
    ),
    ("FacilitatorConsole", "create_button"): (
        "Please give the workshop a name",
        "creating a workshop with the form empty asks for its name",
    ),
    ("TeamApp", "join_button"): (
        "Please type the workshop's join code",
        "joining with the form empty asks for the join code",
    ),
    ("TeamApp", "rejoin_button"): (
        "Please type the workshop's join code",
        "rejoining with the form empty asks for the join code",
    ),
}
# The workshop apps (built by no notebook the sweep reads) get a throwaway store of their own.
WORKSHOP_APPS = ("FacilitatorConsole", "TeamApp")


# --- finding what the notebooks build ----------------------------------------------------------
def app_classes() -> dict[str, type[App]]:
    """Every App subclass defined in a module of ``pbc_lib.apps``, by class name."""
    found: dict[str, type[App]] = {}
    for info in pkgutil.iter_modules(pbc_lib.apps.__path__, "pbc_lib.apps."):
        module = importlib.import_module(info.name)
        for name, obj in vars(module).items():
            if inspect.isclass(obj) and issubclass(obj, App) and obj is not App:
                if obj.__module__ == module.__name__:
                    found[name] = obj
    return found


def _returns_widget(func: Callable) -> bool:
    try:
        hint = typing.get_type_hints(func).get("return")
    except Exception:  # noqa: BLE001 - an unresolvable hint: not a builder
        return False
    return inspect.isclass(hint) and issubclass(hint, widgets.Widget)


def _builder(func: Any) -> bool:
    """An App class, or a function in pbc_lib.content/exercises that returns a widget."""
    if inspect.isclass(func):
        return issubclass(func, App)
    module = getattr(func, "__module__", "") or ""
    return callable(func) and module.startswith(BUILDER_PACKAGES) and _returns_widget(func)


def _resolve(node: ast.expr, names: dict[str, Any]) -> Any:
    if isinstance(node, ast.Name):
        return names.get(node.id)
    if isinstance(node, ast.Attribute):
        owner = _resolve(node.value, names)
        return getattr(owner, node.attr, None) if inspect.ismodule(owner) else None
    return None


def _argument(node: ast.expr, built: dict[str, Any]) -> Any:
    if isinstance(node, ast.Name) and node.id in built:
        return built[node.id]
    return ast.literal_eval(node)  # ValueError for anything but a literal


def _label(func: Any, args: list[Any], kwargs: dict[str, Any]) -> str:
    if inspect.isclass(func):
        return func.__name__
    module = func.__module__.removeprefix("pbc_lib.")
    shown = ", ".join([*map(repr, args), *(f"{k}={v!r}" for k, v in kwargs.items())])
    return f"{module}.{func.__name__}({shown})"


@dataclass
class Unit:
    """One thing a notebook displays that has controls: an app, a quiz or an exercise box."""

    label: str
    obj: Any
    notebook: str

    @property
    def root(self) -> widgets.Widget:
        return self.obj.widget if isinstance(self.obj, App) else self.obj


def _notebook_units(path: Path) -> list[Unit]:
    """Replay a notebook's imports and builder calls (app constructors, quizzes, tasks)."""
    names: dict[str, Any] = {}
    built: dict[str, Any] = {}
    units: list[Unit] = []
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    for cell in cells:
        if cell["cell_type"] != "code":
            continue
        for node in ast.parse("".join(cell["source"])).body:
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("pbc_lib"):
                for alias in node.names:
                    try:
                        obj = importlib.import_module(f"{node.module}.{alias.name}")
                    except ModuleNotFoundError:
                        obj = getattr(importlib.import_module(node.module), alias.name)
                    names[alias.asname or alias.name] = obj
                continue
            target = None
            if isinstance(node, ast.Assign) and len(node.targets) == 1:
                target, call = node.targets[0], node.value
            elif isinstance(node, ast.Expr):
                call = node.value
            else:
                continue
            if not isinstance(call, ast.Call):
                continue
            func = _resolve(call.func, names)
            if func is None or not _builder(func):
                continue
            try:
                args = [_argument(a, built) for a in call.args]
                kwargs = {k.arg: _argument(k.value, built) for k in call.keywords}
            except ValueError:
                continue
            obj = func(*args, **kwargs)
            if isinstance(target, ast.Name):
                built[target.id] = obj
            units.append(Unit(_label(func, args, kwargs), obj, path.name))
    return units


@cache
def units() -> dict[str, Unit]:
    """Every unit the notebooks build, then any App class no notebook builds (default args)."""
    found: dict[str, Unit] = {}
    for pattern in NOTEBOOK_GLOBS:
        for path in sorted(REPO.glob(pattern)):
            for unit in _notebook_units(path):
                found.setdefault(unit.label, unit)
    for name, cls in app_classes().items():
        if name not in found:
            built = cls(**_app_arguments(name))
            found[name] = Unit(name, built, "(no notebook: default arguments)")
    return found


def _app_arguments(name: str) -> dict[str, Any]:
    """Constructor arguments for an App no notebook builds: a workshop app gets a temporary store
    (``open_store()`` would otherwise use the user's own)."""
    if name not in WORKSHOP_APPS:
        return {}
    from pbc_lib.workshop.store import open_store

    folder = Path(tempfile.mkdtemp(prefix="pbc-sweep-workshop-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    return {"store": open_store(folder / "workshop.sqlite")}


# --- finding and naming the controls -----------------------------------------------------------
def is_control(w: widgets.Widget) -> bool:
    """A widget a user can change: a button, or a value widget that is not display text."""
    return isinstance(w, widgets.Button) or (
        isinstance(w, widgets.ValueWidget) and not isinstance(w, NOT_VALUES)
    )


def _attribute_names(obj: Any, prefix: str, names: dict[str, str], seen: set[int]) -> None:
    """Name widgets by the attribute path that holds them (``savings[planned]``, ``q2.control``)."""
    if id(obj) in seen:
        return
    seen.add(id(obj))
    items: list[tuple[str, Any]] = []
    if isinstance(obj, dict):
        items = [(f"{prefix}[{k}]", v) for k, v in obj.items()]
    elif isinstance(obj, list | tuple):
        items = [(f"{prefix}[{i}]", v) for i, v in enumerate(obj)]
    elif isinstance(obj, App | widgets.Widget):
        sep = "." if prefix else ""
        items = [
            (f"{prefix}{sep}{k}", v)
            for k, v in vars(obj).items()
            if not k.startswith("_") and k not in ("widget", "keys", "comm", "exercise")
        ]
        if isinstance(obj, widgets.Box) and prefix:
            items += [(f"{prefix}.children[{i}]", c) for i, c in enumerate(obj.children)]
    for name, value in items:
        if isinstance(value, widgets.Widget):
            names.setdefault(value.model_id, name)
        if isinstance(value, widgets.Widget | dict | list | tuple):
            _attribute_names(value, name, names, seen)


def controls(unit: Unit) -> dict[str, widgets.Widget]:
    """The unit's interactive controls, in display order, by a stable readable name."""
    names: dict[str, str] = {}
    _attribute_names(unit.obj, "", names, set())
    out: dict[str, widgets.Widget] = {}
    for i, w in enumerate(walk(unit.root)):
        if is_control(w):
            out.setdefault(names.get(w.model_id) or f"{type(w).__name__}#{i}", w)
    return out


def _parents(root: widgets.Widget) -> dict[str, widgets.Widget]:
    out = {}
    for w in walk(root):
        for child in getattr(w, "children", ()) or ():
            out[child.model_id] = w
    return out


def owner_button(unit: Unit, control: widgets.Widget) -> widgets.Button | None:
    """The Check button of the quiz question or exercise box that holds ``control``, if any."""
    parents, w = _parents(unit.root), control
    while w is not None:
        button = getattr(w, "button", None)
        if isinstance(button, widgets.Button) and button is not control:
            return button
        w = parents.get(w.model_id)
    return None


# --- what a healthy unit looks like -----------------------------------------------------------
_DATA_GROUP = re.compile(
    r'<g class="mark-(?:rect|symbol|line|area|arc|image|trail|shape) role-mark[^"]*"[^>]*>'
    r"(.*?)</g>",
    re.S,
)
_DRAWN = re.compile(r'<path\b[^>]*\sd="[^"]+"|<(?:rect|line|circle|ellipse|polygon|image)\b')


def drawn_marks(svg: str) -> int:
    """Data marks drawn in a Vega SVG: elements with geometry inside the marks groups of bars,
    points, lines and areas. Axes, grid lines, rules (reference lines) and text are not counted,
    so a chart whose data came out empty counts 0 even if its axes and titles are drawn."""
    return sum(len(_DRAWN.findall(body)) for body in _DATA_GROUP.findall(svg or ""))


def chart_views(unit: Unit) -> list[ChartView]:
    return [w for w in walk(unit.root) if isinstance(w, ChartView)]


def text_values(root: widgets.Widget) -> list[str]:
    return [w.value for w in walk(root) if isinstance(w, NOT_VALUES) and isinstance(w.value, str)]


def assert_healthy(unit: Unit, name: str, step: str) -> None:
    """No generic error, no unintended message, every chart drawn, no traceback or raw markup."""
    where = f"{unit.label}.{name} {step}"
    for panel in (w for w in walk(unit.root) if isinstance(w, ErrorPanel)):
        if not panel.visible:
            continue
        assert panel.message != GENERIC_ERROR, f"{where}: the generic error is showing"
        words, _ = INTENDED.get((unit.label, name), (None, None))
        assert words and words in panel.message, f"{where}: unexpected message {panel.message!r}"
    for view in chart_views(unit):
        assert "<svg" in view.svg, f"{where}: a chart has no SVG"
        assert drawn_marks(view.svg) > 0, f"{where}: a chart is blank"
    for text in text_values(unit.root):
        assert "Traceback" not in text, f"{where}: a traceback is on the page"
        for raw in RAW_MARKUP:
            assert raw not in text, f"{where}: typed markup {raw!r} is shown raw"


# --- driving a control -------------------------------------------------------------------------
def _snap(w: widgets.Widget, x: float) -> float:
    low, high, step = w.min, w.max, getattr(w, "step", None) or 0
    if step:
        x = low + round((x - low) / step) * step
    x = min(max(x, low), high)
    return int(round(x)) if isinstance(w.value, int) else round(float(x), 10)


def _option_indices(w: widgets.Widget) -> list[int]:
    """Every option's index; for a list longer than MAX_OPTIONS, first, last and evenly between."""
    n = len(w.options)
    if n <= MAX_OPTIONS:
        return list(range(n))
    return sorted({int(round(i)) for i in np.linspace(0, n - 1, MAX_OPTIONS)})


def steps(w: widgets.Widget) -> list[tuple[str, Callable[[], None]]]:
    """The changes a sweep makes to one control, each with a short description."""

    def setter(attr: str, value: Any) -> Callable[[], None]:
        return lambda: setattr(w, attr, value)

    if isinstance(w, widgets.Button):
        return [("click", w.click), ("click again", w.click)]
    if is_bounded(w):
        if isinstance(w.value, tuple):
            low, high = w.min, w.max
            mid = _snap(w, (low + high) / 2)
            pairs = [(low, high), (low, low), (high, high), (low, mid), (mid, high)]
            return [(f"= {p}", setter("value", p)) for p in pairs]
        targets = [w.min, w.max, *(w.min + f * (w.max - w.min) for f in NUMERIC_FRACTIONS)]
        values = list(dict.fromkeys(_snap(w, x) for x in targets))
        return [(f"= {v!r}", setter("value", v)) for v in values]
    if isinstance(w, widgets.widget_selection._MultipleSelection):
        n = len(w.options)
        picks = [(), tuple(range(n)), *((i,) for i in _option_indices(w))]
        return [(f"index = {p}", setter("index", p)) for p in picks]
    if isinstance(w, widgets.widget_selection._Selection):
        return [
            (f"index = {i} ({w.options[i]!r:.40})", setter("index", i)) for i in _option_indices(w)
        ]
    if isinstance(w.value, bool):
        return [(f"= {not w.value}", setter("value", not w.value))]
    if isinstance(w.value, str):
        return [(f"= {v[:30]!r}", setter("value", v)) for v in TEXT_VALUES]
    if isinstance(w.value, int | float):  # an unbounded number box (test_every_number_is_bounded)
        return [(f"= {v!r}", setter("value", v)) for v in (0, -(10**9), 10**9)]
    raise AssertionError(f"No sweep defined for {type(w).__name__}; add one to steps().")


def _state(w: widgets.Widget) -> tuple[str, Any] | None:
    if isinstance(w, widgets.Button):
        return None
    if isinstance(
        w, widgets.widget_selection._Selection | widgets.widget_selection._MultipleSelection
    ):
        return ("index", w.index)
    return ("value", w.value)


def snapshot(unit: Unit) -> list[tuple[widgets.Widget, str, Any]]:
    return [(w, *s) for w in controls(unit).values() if (s := _state(w)) is not None]


def restore(saved: list[tuple[widgets.Widget, str, Any]]) -> None:
    """Put every control back, in display order (a locality before its practice)."""
    for w, attr, value in saved:
        if getattr(w, attr) != value:
            setattr(w, attr, value)


def _cases(kind: Callable[[Unit, widgets.Widget], bool]) -> list[Any]:
    return [
        pytest.param(label, name, id=f"{label}-{name}")
        for label, unit in units().items()
        for name, w in controls(unit).items()
        if kind(unit, w)
    ]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Build every unit once, at collection, so each control is its own test id."""
    kinds: dict[str, Callable[[Unit, widgets.Widget], bool]] = {
        "swept": lambda u, w: True,
        "crafted": lambda u, w: is_bounded(w),
        "typed": lambda u, w: isinstance(w, widgets.Text | widgets.Textarea),
    }
    for fixture, kind in kinds.items():
        if fixture in metafunc.fixturenames:
            metafunc.parametrize(("unit_label", "control_name"), _cases(kind))


@pytest.fixture(scope="module", autouse=True)
def _exercise_records_left_as_found():
    """The exercise modules keep one record per session: leave it as other tests expect it."""
    modules = [
        importlib.import_module(i.name)
        for i in pkgutil.iter_modules(exercise_package.__path__, "pbc_lib.exercises.")
    ]
    kept = [(m.EXERCISE, dict(m.EXERCISE.results)) for m in modules if hasattr(m, "EXERCISE")]
    yield
    for exercise, results in kept:
        exercise.results.clear()
        exercise.results.update(results)
        for listener in exercise.listeners:
            listener()


@pytest.fixture
def case(unit_label: str, control_name: str):
    """The unit, the control's name and the control; every control is put back afterwards."""
    unit = units()[unit_label]
    saved = snapshot(unit)
    yield unit, control_name, controls(unit)[control_name]
    restore(saved)
    for panel in (w for w in walk(unit.root) if isinstance(w, ErrorPanel)):
        if panel.visible and panel.message != GENERIC_ERROR:
            panel.clear()


def _timed(action: Callable[[], None], where: str) -> None:
    start = time.process_time()
    action()
    spent = time.process_time() - start
    assert spent < CPU_SECONDS_PER_CHANGE, f"{where} took {spent:.1f} s of CPU"


# --- 0. what is swept ---------------------------------------------------------------------------
def test_every_app_in_pbc_lib_apps_is_built_and_starts():
    classes = app_classes()
    assert len(classes) >= 14, sorted(classes)
    built = {type(u.obj).__name__: u for u in units().values() if isinstance(u.obj, App)}
    assert set(classes) <= set(built), sorted(set(classes) - set(built))
    for name, unit in built.items():
        assert unit.obj.failed is None, f"{name} did not start: {unit.obj.failed!r}"
        assert not unit.obj.errors.visible, f"{name} starts with {unit.obj.errors.message!r}"


def test_the_notebooks_quizzes_and_exercise_boxes_are_found():
    labels = list(units())
    quizzes = [x for x in labels if x.startswith("content.") and x.endswith(".quiz()")]
    tasks = [x for x in labels if x.startswith("exercises.") and ".task(" in x]
    assert len(quizzes) == 5, quizzes  # one per workbook 00-04
    assert len(tasks) == 8 + 7 + 8 + 7, tasks  # every task of the four exercise notebooks
    # PracticeBudget is built on the notebook's own FairShares, as workbook 01 does.
    assert units()["PracticeBudget"].obj.pct_view is units()["FairShares"].obj


def test_the_blank_chart_check_can_fail():
    busy = '<g class="mark-rect role-mark marks"><path d="M0,0h5v5h-5Z"/><path d="M9,0h5Z"/></g>'
    empty = '<g class="mark-rect role-mark marks"></g><g class="mark-rule role-mark r"><line/></g>'
    assert drawn_marks(busy) == 2
    assert drawn_marks(empty) == 0
    assert drawn_marks('<g class="mark-line role-mark l"><path d=""/></g>') == 0
    assert drawn_marks('<g class="mark-text role-mark t"><text>No data</text></g>') == 0


# --- 1. every control across its range ---------------------------------------------------------
def test_sweep(swept, case):
    unit, name, w = case
    button = owner_button(unit, w)
    start = _state(w)
    assert_healthy(unit, name, "before the sweep")
    for description, change in steps(w):
        _timed(change, f"{unit.label}.{name} {description}")
        if button is not None:
            _timed(button.click, f"{unit.label}.{name} {description}, Check")
        assert_healthy(unit, name, description)
    if start is not None:
        _timed(lambda: setattr(w, *start), f"{unit.label}.{name} back to the start")
        assert_healthy(unit, name, "back to the start")


@pytest.fixture
def swept():
    """Marks the parametrisation of :func:`test_sweep` (see ``pytest_generate_tests``)."""


# --- 2. bounded: no control, crafted message or typed text can make the kernel run away --------
def test_every_number_is_bounded():
    """Sliders have finite limits and start inside them; there is no unbounded number box and no
    upload anywhere (an upload would need its own size cap and test)."""
    checked = 0
    for unit in units().values():
        for w in walk(unit.root):
            where = f"{unit.label}: {type(w).__name__} {getattr(w, 'description', '')!r}"
            assert not isinstance(w, widgets.FileUpload), f"{where}: uploads need a size cap"
            if isinstance(w, widgets.widget_int._Int | widgets.widget_float._Float):
                assert is_bounded(w), f"{where}: an unbounded number box"
            if is_bounded(w):
                checked += 1
                assert math.isfinite(w.min) and math.isfinite(w.max) and w.min < w.max, where
                values = w.value if isinstance(w.value, tuple) else (w.value,)
                assert all(w.min <= v <= w.max for v in values), where
    assert checked >= 25, checked


@pytest.fixture
def crafted():
    """Marks the parametrisation of :func:`test_a_crafted_message_cannot_widen_a_control`."""


def test_a_crafted_message_cannot_widen_a_control(crafted, case):
    """A browser can send a slider's ``max`` (or ``min``) with a value beyond it, as one message.
    An app keeps the range it was built with and refuses the value in plain English before
    computing anything; an exercise box's model refuses it when the answer is checked."""
    unit, name, w = case
    low, high = w.min, w.max
    messages: list[str] = []
    panels = [p for p in walk(unit.root) if isinstance(p, ErrorPanel | widgets.HTML)]

    def record(change: dict[str, Any]) -> None:
        messages.append(change["new"])

    for panel in panels:
        panel.observe(record, names="value")
    try:
        span = (high - low) * 1_000 + 10**6
        for value, bound in ((high + span, "max"), (low - span, "min")):
            value = int(value) if isinstance(w.min, int) else float(value)
            sent = (value, value) if isinstance(w.value, tuple) else value
            where = f"{unit.label}.{name}: {bound} and value {value!r} in one message"
            _timed(lambda b=bound, v=value, x=sent: w.set_state({"value": x, b: v}), where)
            button = owner_button(unit, w)
            if button is not None:
                _timed(button.click, f"{where}, then Check")
            values = w.value if isinstance(w.value, tuple) else (w.value,)
            if isinstance(unit.obj, App):
                assert (w.min, w.max) == (low, high), f"{where}: the range was widened"
                assert all(low <= v <= high for v in values), f"{where}: {w.value!r} kept"
            for message in messages:
                assert GENERIC_ERROR not in message and "Traceback" not in message, where
            assert_healthy(unit, name, where)
    finally:
        for panel in panels:
            panel.unobserve(record, names="value")
        w.min = min(w.min, low)  # an exercise box's range is not locked: put it back
        w.max, w.min = high, low
    # An app refuses it itself (App.check_controls); an exercise box through its model's check.
    words = "can be from" if isinstance(unit.obj, App) else "must be"
    assert any(words in m for m in messages), f"{unit.label}.{name}: {words!r} never shown"


# Model and app caps on every size a simulation or allocation takes, each tried one above the cap.
def _cap_cases() -> list[Any]:
    from pbc_lib.apps import glossary, risk_by_size, rtt_simulator, scheme_designer
    from pbc_lib.models import budget_risk as br
    from pbc_lib.models import budgets as b
    from pbc_lib.models import demand as dm
    from pbc_lib.models import funnel as fp
    from pbc_lib.models import safety as sf
    from pbc_lib.models import waiting_list as wl

    def costs() -> np.ndarray:
        return risk_by_size.scope_costs("fundholding")

    def scheme_run(draws: int):
        app = units()["SchemeDesigner"].obj
        return dm.simulate(app.schemes(), app.costs, draws, scheme_designer.SEED)

    def practices():
        return units()["RiskBySize"].obj.practices

    cases = {
        "glide path years (budgets.MAX_PATH_YEARS)": lambda: b.PathSettings(
            years=b.MAX_PATH_YEARS + 1
        ).checked(),
        "budget years settled (budgets.MAX_PATH_YEARS)": lambda: b.settle_years(
            [1.0] * (b.MAX_PATH_YEARS + 1), [1.0] * (b.MAX_PATH_YEARS + 1), 0.7
        ),
        "scheme draws (demand.MAX_DRAWS)": lambda: scheme_run(dm.MAX_DRAWS + 1),
        "case managers (demand.MAX_COUNT)": lambda: dm.CaseManagement(
            case_managers=dm.MAX_COUNT * 10
        ),
        "18-week runs (waiting_list.MAX_RUNS)": lambda: wl.simulate_waiting_list(
            100, 100, 10, runs=wl.MAX_RUNS + 1
        ),
        "18-week weeks (waiting_list.MAX_WEEKS)": lambda: wl.simulate_waiting_list(
            100, 100, wl.MAX_WEEKS + 1, runs=1
        ),
        "18-week runs x weeks (waiting_list.MAX_CELLS)": lambda: wl.simulate_waiting_list(
            100, 100, wl.MAX_WEEKS, runs=wl.MAX_CELLS // wl.MAX_WEEKS + 1
        ),
        "18-week starting list (waiting_list.MAX_START_PATIENTS)": lambda: wl.steady_start_list(
            wl.MAX_START_PATIENTS * 10, 8
        ),
        "risk years (budget_risk.MAX_YEARS)": lambda: br.risk_curve(
            costs(), [1_000], br.MAX_YEARS + 1
        ),
        "risk list size (budget_risk.MAX_PEOPLE)": lambda: br.risk_curve(
            costs(), [br.MAX_PEOPLE + 1], br.MIN_YEARS
        ),
        "risk curve sizes (budget_risk.MAX_SIZES)": lambda: br.risk_curve(
            costs(), [1_000] * (br.MAX_SIZES + 1), br.MIN_YEARS
        ),
        "balance window (budget_risk, at most 10)": lambda: br.rolling_balance(
            costs(), 1_000, 11, br.MIN_YEARS
        ),
        "pool members (budget_risk.MAX_MEMBERS)": lambda: br.pooled_risk(
            costs(), [100] * (br.MAX_MEMBERS + 1), n_years=br.MIN_YEARS
        ),
        "app pool (risk_by_size.MAX_POOL)": lambda: risk_by_size.pool_members(
            practices(), "WM001", risk_by_size.MAX_POOL + 1
        ),
        "screened practices (safety.MAX_PRACTICES)": lambda: sf.screen_practices(
            sf.MAX_PRACTICES + 1
        ),
        "screening years (safety.MAX_YEARS)": lambda: sf.screen_practices(
            100, years=sf.MAX_YEARS + 1
        ),
        "audit items (safety.MAX_AUDIT_ITEMS)": lambda: sf.audit_sample_sizes(0.5, 0.001, 0.99),
        "incident rows (safety.MAX_ROWS)": lambda: sf.expected_incidents(
            1_000, np.arange(1, sf.MAX_ROWS + 2)
        ),
        "funnel units (funnel.MAX_UNITS)": lambda: fp.funnel(
            "proportion", [1] * (fp.MAX_UNITS + 1), [10] * (fp.MAX_UNITS + 1)
        ),
        "funnel grid (funnel.MAX_GRID_POINTS)": lambda: fp.funnel(
            "proportion", [1, 2], [10, 20], grid_points=fp.MAX_GRID_POINTS + 1
        ),
        "glossary query (glossary.MAX_QUERY)": lambda: units()["GlossarySearch"].obj.matches(
            "x" * (glossary.MAX_QUERY + 1)
        ),
        "18-week demand (waiting_list.MAX_WEEKLY)": lambda: wl.simulate_rtt(
            wl.MAX_WEEKLY * 10, 100.0, 30.0, rtt_simulator.WEEKS, runs=1
        ),
    }
    return [pytest.param(run, id=name) for name, run in cases.items()]


@pytest.mark.parametrize("run", _cap_cases())
def test_a_size_above_its_cap_is_refused_in_plain_english(run):
    start = time.process_time()
    with pytest.raises(ValueError) as caught:
        run()
    assert time.process_time() - start < 2.0, "the cap is checked only after computing"
    exc = caught.value
    assert type(exc).__module__.startswith("pbc_lib"), f"not one of pbc_lib's errors: {exc!r}"
    assert friendly_message(exc) == str(exc) != GENERIC_ERROR
    assert re.search(r"\d", str(exc)), f"the message should name the limit: {exc}"


def test_the_apps_fixed_sizes_are_within_the_model_caps():
    from pbc_lib.apps import (
        funnel_explorer,
        practice_budget,
        referrals,
        risk_by_size,
        rtt_simulator,
        scheme_designer,
        screening,
    )
    from pbc_lib.models import budget_risk as br
    from pbc_lib.models import budgets as b
    from pbc_lib.models import demand as dm
    from pbc_lib.models import funnel as fp
    from pbc_lib.models import safety as sf
    from pbc_lib.models import waiting_list as wl

    assert scheme_designer.DRAWS <= dm.MAX_DRAWS
    assert rtt_simulator.RUNS * rtt_simulator.WEEKS <= wl.MAX_CELLS
    assert rtt_simulator.LOAD_RUNS * rtt_simulator.WEEKS <= wl.MAX_CELLS
    assert max(risk_by_size.CURVE_YEARS, risk_by_size.HOLDER_YEARS) <= br.MAX_YEARS
    assert len(risk_by_size.CURVE_SIZES) <= br.MAX_SIZES
    assert risk_by_size.CACHE_SIZE <= 1_000  # the simulation caches are bounded too
    assert screening.N_PRACTICES <= sf.MAX_PRACTICES
    assert max(funnel_explorer.GRID_POINTS, referrals.FUNNEL_GRID_POINTS) <= fp.MAX_GRID_POINTS
    # The sliders that set a size stop at (or inside) the cap the model enforces.
    assert units()["PracticeBudget"].obj.years.max <= b.MAX_PATH_YEARS
    assert practice_budget.b.MAX_PATH_YEARS == b.MAX_PATH_YEARS
    assert units()["Screening"].obj.years.max <= sf.MAX_YEARS
    risk = units()["RiskBySize"].obj
    assert (risk.years.max, risk.pool.max) == (
        risk_by_size.MAX_BALANCE_YEARS,
        risk_by_size.MAX_POOL,
    )


def test_a_huge_typed_answer_is_read_in_a_moment():
    """The number reader once backtracked: 10,000 digits and a letter took 4 s, 30,000 took 41 s."""
    for text in ("1" * 30_000 + "x", "1" * 1_000_000, "1" * 50_000 + "." + "1" * 50_000 + "x"):
        start = time.process_time()
        assert quiz_module.parse_number(text) is None
        assert time.process_time() - start < 0.5
    assert quiz_module._NUMBER.fullmatch("1" * 1_000_000 + "x") is None  # linear even uncapped
    assert quiz_module.parse_number("9" * quiz_module.MAX_ANSWER_CHARS) == float(
        "9" * quiz_module.MAX_ANSWER_CHARS
    )
    for text, value in (("1,234", 1234), ("£1,234.50", 1234.5), ("−5", -5), ("5.", 5), (".5", 0.5)):
        assert quiz_module.parse_number(text) == value


# --- 3. typed markup is shown escaped -----------------------------------------------------------
@pytest.fixture
def typed():
    """Marks the parametrisation of :func:`test_typed_markup_is_shown_escaped`."""


def test_typed_markup_is_shown_escaped(typed, case):
    unit, _, w = case
    button = owner_button(unit, w)
    for text in (MARKUP, "<script>alert(1)</script>", "<img src=x onerror=alert(2)>"):
        w.value = text
        if button is not None:
            button.click()
        for shown in text_values(unit.root):
            for raw in RAW_MARKUP:
                assert raw not in shown, f"{unit.label}: {raw!r} shown raw"
            if "alert(1)" in shown:
                assert "&lt;script&gt;alert(1)&lt;/script&gt;" in shown
            if "alert(2)" in shown:
                assert "&lt;img src=x onerror=alert(2)&gt;" in shown


def test_the_glossary_echoes_a_search_escaped():
    app = units()["GlossarySearch"].obj
    try:
        app.query.value = "<script>alert(1)</script>"
        assert "No terms match" in app.result.value
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in app.result.value
        assert "<script" not in app.result.value
        app.query.value = MARKUP  # 64 characters: over the limit, refused without echoing
        assert app.errors.visible and "limited to" in app.errors.message
        assert "<script" not in app.errors.value and "alert(" not in app.errors.value
    finally:
        app.query.value = ""
    assert not app.errors.visible


# --- 4. a failure inside refresh() ------------------------------------------------------------
def test_an_unexpected_failure_shows_the_generic_panel_and_logs_the_detail(monkeypatch, caplog):
    from pbc_lib.apps.audit_planner import AuditPlanner
    from pbc_lib.models import safety as sf

    app = AuditPlanner(p=0.049)
    before = app.view.svg

    def broken(*args, **kwargs):
        raise RuntimeError("internal detail 4711")

    monkeypatch.setattr(sf, "audit_sample_sizes", broken)
    with caplog.at_level(logging.ERROR, logger="pbc_lib.ui"):
        app.margin.value = 0.02
    assert app.errors.visible and app.errors.message == GENERIC_ERROR
    for text in text_values(app.widget):
        assert "internal detail" not in text and "Traceback" not in text
        assert "RuntimeError" not in text
    assert app.view.svg == before and drawn_marks(app.view.svg) > 0  # the old chart stays
    records = [r for r in caplog.records if r.name == "pbc_lib.ui" and r.exc_info]
    assert records and records[-1].levelno == logging.ERROR
    assert records[-1].exc_info[0] is RuntimeError
    assert "internal detail 4711" in caplog.text and "Traceback" in caplog.text
    assert "audit_sample_sizes" in caplog.text or "broken" in caplog.text
    monkeypatch.undo()
    app.margin.value = 0.01
    assert not app.errors.visible
