"""Chart builders and the one Altair theme ("pbc") used by every workbook.

Every chart is a pure function of a DataFrame: it validates its input, returns an Altair chart and
never displays or writes anything. Charts are drawn on the server as SVG by vl-convert
(:func:`to_svg`), because Altair 6's default renderer needs a CDN and the offline JupyterChart
sends ~0.9 MB of JavaScript per chart (see ``shared/tech-notes.md``).

Conventions every builder follows (through :func:`finish`):

* a title (and optional subtitle), a ``description`` used as the SVG's alt text, and a source
  line that is both recorded (``usermeta["source"]``) and drawn at the bottom left, so a
  downloaded SVG still says where its numbers came from;
* every axis has a title with units;
* colours come from the NHS identity palette, in an order checked for colour-blind viewers
  (``tests/test_charts.py`` simulates deuteranopia and protanopia, Machado et al. 2009);
* text sizes are legible on a projector (titles 20 px, axis labels 13 px, axis titles 14 px).

Colours: NHS England, "NHS identity guidelines: colours" (england.nhs.uk/nhsidentity).
"""

from __future__ import annotations

import copy
import hashlib
import html
import json
import math
import re
import textwrap
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import altair as alt
import numpy as np
import pandas as pd
from altair.utils.core import sanitize_pandas_dataframe
from pandas.api.types import is_bool_dtype, is_numeric_dtype

from pbc_lib import render_service
from pbc_lib.data import AGE_BANDS

# --- Palette -------------------------------------------------------------------------------------
# NHS identity colours (NHS England identity guidelines). "NHS Black" and "NHS Grey 3" are not
# in the core list but are NHS identity / NHS digital service manual colours, used for text and
# for the muted "the rest" bars.
PALETTE: dict[str, str] = {
    "NHS Blue": "#005EB8",
    "NHS Dark Blue": "#003087",
    "NHS Bright Blue": "#0072CE",
    "NHS Light Blue": "#41B6E6",
    "NHS Aqua Green": "#00A499",
    "NHS Warm Yellow": "#FFB81C",
    "NHS Orange": "#ED8B00",
    "NHS Dark Grey": "#425563",
    "NHS Mid Grey": "#768692",
    "NHS Pale Grey": "#E8EDEE",
    "NHS Red": "#DA291C",
    "NHS Purple": "#330072",
    "NHS Dark Pink": "#7C2855",
    "NHS Black": "#231F20",
    "NHS Grey 3": "#AEB7BD",
}

# Categorical order: chosen greedily so that every prefix (first 2, 3, ... 7 colours) keeps the
# largest smallest CIE76 colour difference under normal vision, deuteranopia and protanopia.
# Smallest pairwise difference across the three: 118 (2 colours), 54 (3), 30 (4), 26 (5),
# 24 (6 and 7). Greys are left out (reserved for MUTED / text); Warm Yellow is left out because
# its contrast on white is only 1.7:1 (Orange, 2.5:1, does the same job).
CATEGORY_COLOURS: list[str] = [
    PALETTE["NHS Blue"],
    PALETTE["NHS Orange"],
    PALETTE["NHS Aqua Green"],
    PALETTE["NHS Light Blue"],
    PALETTE["NHS Dark Pink"],
    PALETTE["NHS Purple"],
    PALETTE["NHS Red"],
]
# Shapes paired with the colours (a second, colour-free cue for points).
CATEGORY_SHAPES: list[str] = [
    "circle",
    "square",
    "triangle-up",
    "diamond",
    "cross",
    "triangle-down",
    "wedge",
]
HIGHLIGHT: str = PALETTE["NHS Blue"]  # "this practice"
MUTED: str = PALETTE["NHS Grey 3"]  # "the rest"
REFERENCE: str = PALETTE["NHS Black"]  # comparison marks (PCT average)
TEXT: str = PALETTE["NHS Black"]  # titles: 16.6:1 on white
TEXT_SECONDARY: str = PALETTE["NHS Dark Grey"]  # labels, source line: 7.7:1 on white
GRID: str = PALETTE["NHS Pale Grey"]

# Arial first (the NHS's fallback for Frutiger); Liberation Sans has the same metrics, and is what
# vl-convert measures text with on this machine, so the layout fits in browsers too. No web fonts.
FONT: str = "Arial, 'Liberation Sans', Helvetica, sans-serif"
TITLE_SIZE, SUBTITLE_SIZE, LABEL_SIZE, AXIS_TITLE_SIZE, SOURCE_SIZE = 20, 15, 13, 14, 12
DEFAULT_WIDTH: int = 480  # plot width in px; with labels the SVG comes out at ~640 px
NARROW_WIDTH: int = 260  # plot width of the phone version (see ui.ChartView)
# One drawing for desktop and phone (the topic chart modules): a ~340 px plot comes out at
# ~420-450 px with its labels, which a 375 px phone shrinks by at most a sixth (13 px labels stay
# above 11 px). A second, phone-sized drawing would double every redraw (see benchmarks/).
ONE_SIZE_WIDTH: int = 340
SYNTHETIC_SOURCE: str = "Synthetic data for a fictional PCT (PbC Workbooks)"
THEME_NAME = "pbc"
# Validate every spec against the Vega-Lite schema in spec_of? Off in the apps (it costs ~10 ms a
# chart on each redraw); tests/conftest.py turns it on for the whole test run.
VALIDATE_SPECS: bool = False
SVG_CACHE_SIZE = 64  # rendered SVGs kept per process (~40 KB each): a slider moved back is free
# d3-format locale for every chart: "$" in a format string prints "£"; minus is U+2212, as in ui.
FORMAT_LOCALE: dict[str, Any] = {
    "decimal": ".",
    "thousands": ",",
    "grouping": [3],
    "currency": ["£", ""],
    "minus": "\u2212",
}
# A d3-format specifier ([[fill]align][sign][symbol][0][width][,][.precision][~][type]); checked
# in Python because vl-convert only logs a bad one and returns an empty chart.
_D3_FORMAT = re.compile(r"^(?:.?[<>=^])?[-+( ]?[$#]?0?\d*,?(?:\.\d+)?~?[%bcdefgnoprsxX]?$")


class ChartDataError(ValueError):
    """Raised when a chart builder gets data it cannot draw; the message is plain English."""


# --- Theme ---------------------------------------------------------------------------------------
_AXIS = {
    "labelFontSize": LABEL_SIZE,
    "titleFontSize": AXIS_TITLE_SIZE,
    "labelColor": TEXT_SECONDARY,
    "titleColor": TEXT,
    "titleFontWeight": "bold",
    "domainColor": PALETTE["NHS Mid Grey"],
    "tickColor": PALETTE["NHS Mid Grey"],
    "gridColor": GRID,
    "labelLimit": 260,
}
_TITLE = {
    "fontSize": TITLE_SIZE,
    "subtitleFontSize": SUBTITLE_SIZE,
    "color": TEXT,
    "subtitleColor": TEXT_SECONDARY,
    "anchor": "start",
    "frame": "bounds",
    "offset": 12,
    "subtitlePadding": 6,
}
_LEGEND = {
    "labelFontSize": LABEL_SIZE,
    "titleFontSize": AXIS_TITLE_SIZE,
    "labelColor": TEXT,
    "titleColor": TEXT,
    "orient": "top",
    "labelLimit": 320,
    "symbolSize": 140,
}


def theme_config() -> dict[str, Any]:
    """Return the "pbc" Vega-Lite theme (an ``alt.theme.ThemeConfig`` dictionary).

    Returns
    -------
    dict
        Top-level width and background, and a ``config`` block: font, sizes, colours, the
        category range. A fresh copy each call.
    """
    return copy.deepcopy(
        {
            "width": DEFAULT_WIDTH,
            "background": "white",
            "config": {
                "font": FONT,
                "aria": False,  # to_svg labels the whole image; per-mark labels only add bytes
                "view": {"stroke": None, "continuousHeight": 300},
                "title": _TITLE,
                "axis": _AXIS,
                "legend": _LEGEND,
                "range": {"category": CATEGORY_COLOURS},
                "bar": {"color": HIGHLIGHT},
                "point": {"size": 120, "filled": True},
                "text": {"fontSize": LABEL_SIZE, "color": TEXT},
            },
        }
    )


@alt.theme.register(THEME_NAME, enable=True)
def _pbc_theme() -> alt.theme.ThemeConfig:
    return alt.theme.ThemeConfig(**theme_config())  # type: ignore[typeddict-item]


def enable_theme() -> None:
    """Make "pbc" the active Altair theme (safe to call any number of times)."""
    if alt.theme.active != THEME_NAME:
        alt.theme.enable(THEME_NAME)


# --- Validation ----------------------------------------------------------------------------------
def require_columns(
    df: Any, columns: Iterable[str], *, what: str, numeric: Iterable[str] = ()
) -> pd.DataFrame:
    """Check a DataFrame has the columns a chart needs, at least one row and numeric values.

    Parameters
    ----------
    df
        The data handed to a builder.
    columns
        Column names that must be present.
    what
        Name of the chart, used in messages ("age pyramid").
    numeric
        Columns that must hold finite numbers (no blanks).

    Returns
    -------
    pandas.DataFrame
        ``df`` itself, for chaining.

    Raises
    ------
    ChartDataError
        With a message saying what was expected and what was found.
    """
    if not isinstance(df, pd.DataFrame):
        raise ChartDataError(
            f"The {what} needs a table (pandas DataFrame); got {type(df).__name__}."
        )
    missing = [c for c in columns if c not in df.columns]
    if missing:
        found = ", ".join(f"`{c}`" for c in df.columns) or "none"
        need = ", ".join(f"`{c}`" for c in missing)
        raise ChartDataError(f"The {what} needs column(s) {need}; the table has {found}.")
    if df.empty:
        raise ChartDataError(f"The {what} has no rows to draw.")
    for col in numeric:
        column = df[col]
        if not is_numeric_dtype(column) or is_bool_dtype(column):
            raise ChartDataError(
                f"In the {what}, column `{col}` must hold numbers; "
                f"it holds {column.dtype} values such as {column.iloc[0]!r}."
            )
        bad = ~np.isfinite(column.to_numpy(dtype=float, na_value=np.nan))
        if bad.any():
            row = int(bad.nonzero()[0][0])
            raise ChartDataError(
                f"In the {what}, column `{col}` must be a number in every row; "
                f"row {row + 1} has {column.iloc[row]!r}."
            )
    return df


def _records(df: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
    """Copy of the chart's columns with a fresh RangeIndex (what goes into the spec)."""
    return df.loc[:, list(columns)].reset_index(drop=True).copy()


# --- Finishing -----------------------------------------------------------------------------------
def finish(
    chart: alt.TopLevelMixin,
    *,
    title: str,
    description: str,
    source: str,
    subtitle: str | None = None,
) -> alt.VConcatChart:
    """Give a chart its title, alt text and a drawn source line.

    The chart is wrapped in a one-panel ``vconcat`` so it can carry two titles: the real title at
    the top (on the panel) and the source line as a bottom-left title on the wrapper, which
    vl-convert draws like any other text. The source is also kept in ``usermeta["source"]``.

    Parameters
    ----------
    chart
        A single or layered Altair chart (not yet finished).
    title, description, source
        Chart title, alt text for screen readers, and where the numbers come from.
    subtitle
        Optional one-line subtitle under the title.

    Returns
    -------
    alt.VConcatChart
        The finished chart. Use :func:`chart_meta` to read the pieces back.
    """
    for name, value in (("title", title), ("description", description), ("source", source)):
        if not isinstance(value, str) or not value.strip():
            raise ChartDataError(f"A chart needs a non-empty {name}; got {value!r}.")
    source_line = source if source.lower().startswith("source") else f"Source: {source}"
    heading = alt.Title(title, subtitle=subtitle) if subtitle else alt.Title(title)
    panel = chart.properties(title=heading)
    footer = alt.Title(
        source_line,
        orient="bottom",
        anchor="start",
        frame="bounds",
        fontSize=SOURCE_SIZE,
        fontWeight="normal",
        color=TEXT_SECONDARY,
        offset=14,
    )
    wrapped = alt.vconcat(
        panel,
        title=footer,
        description=description,
        usermeta={"source": source, "title": title, "subtitle": subtitle},
    )
    # Independent legends stay inside the panel, under its title (shared ones sit above it).
    channels = ("color", "fill", "stroke", "shape", "size", "opacity", "strokeDash")
    return wrapped.resolve_legend(**dict.fromkeys(channels, "independent"))


def spec_of(chart: alt.TopLevelMixin | dict[str, Any]) -> dict[str, Any]:
    """The Vega-Lite spec of a chart, with the "pbc" theme applied (a dict is passed through).

    ``to_dict()`` costs 10-20 ms, so code that needs the spec several times (ChartView) calls
    this once and hands the dict to :func:`chart_meta`, :func:`chart_data` and :func:`to_svg`.
    Schema validation doubles that cost, so it is off in the apps (:data:`VALIDATE_SPECS`); the
    test suite turns it on, so every builder's output is still checked against the schema.
    """
    if isinstance(chart, dict):
        return chart
    enable_theme()
    return chart.to_dict(validate=VALIDATE_SPECS)


def chart_meta(chart: alt.TopLevelMixin | dict[str, Any]) -> dict[str, Any]:
    """Read back what :func:`finish` recorded: title, subtitle, description, source.

    Parameters
    ----------
    chart
        A chart returned by a builder in this module, or its spec.

    Returns
    -------
    dict
        Keys ``title``, ``subtitle``, ``description``, ``source``, ``source_line``.
    """
    spec = spec_of(chart)
    meta = spec.get("usermeta", {})
    footer = spec.get("title", {})
    return {
        "title": meta.get("title"),
        "subtitle": meta.get("subtitle"),
        "description": spec.get("description"),
        "source": meta.get("source"),
        "source_line": footer.get("text") if isinstance(footer, dict) else None,
    }


def chart_data(chart: alt.TopLevelMixin | dict[str, Any], *, main: bool = False) -> pd.DataFrame:
    """Return the data table inside a chart's spec (the rows the chart was built from).

    With ``main=True`` a chart that also carries small helper tables (reference lines, a label)
    gives its largest table, the one its marks are drawn from.

    Raises
    ------
    ChartDataError
        If the spec holds no inline data set, or several and ``main`` is False.
    """
    datasets = spec_of(chart).get("datasets", {})
    if main and datasets:
        return pd.DataFrame(max(datasets.values(), key=len))
    if len(datasets) != 1:
        raise ChartDataError(f"Expected one data set in the chart; found {len(datasets)}.")
    return pd.DataFrame(next(iter(datasets.values())))


# --- Reusing a chart's structure -------------------------------------------------------------
# Building an Altair chart and turning it into a spec costs 30-60 ms for a layered chart (Altair
# deep-copies every layer several times); vl-convert then needs ~50 ms to draw it. A redraw after
# a slider moves changes only the numbers and the words, so a builder can make the structure once
# with Altair, on *named* data sets, and reuse it: new rows go into ``datasets`` and new words
# into the title, subtitle, description and source line. The structure is built again whenever
# ``key`` (everything that shapes the chart other than its data and words) changes.
TEMPLATE_CACHE_SIZE = 64
_TEMPLATES: OrderedDict[tuple, dict[str, Any]] = OrderedDict()


def placeholder_words(name: str) -> dict[str, str]:
    """Words for a template's one-off structure build (:func:`from_template` puts in the real ones);
    use as ``finish(chart, **placeholder_words("funnel"))``."""
    return {"title": name, "description": name, "source": SYNTHETIC_SOURCE}


def records(df: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as JSON-ready dicts (numpy numbers to Python, NaN to None), as Altair stores them."""
    return sanitize_pandas_dataframe(df.reset_index(drop=True)).to_dict(orient="records")


def from_template(
    key: tuple,
    build: Callable[[], alt.TopLevelMixin],
    data: Mapping[str, pd.DataFrame],
    *,
    title: str,
    description: str,
    source: str,
    subtitle: str | None = None,
) -> dict[str, Any]:
    """A finished chart's spec with this call's data and words in a cached structure.

    Parameters
    ----------
    key
        Everything that decides the chart's structure apart from ``data`` and the words.
    build
        Makes the structure: a chart finished with :func:`finish`, whose marks read the data
        sets named in ``data`` through ``alt.NamedData`` (its own rows are ignored).
    data
        Data set name to rows.
    title, description, source, subtitle
        As for :func:`finish`.
    """
    for name, value in (("title", title), ("description", description), ("source", source)):
        if not isinstance(value, str) or not value.strip():
            raise ChartDataError(f"A chart needs a non-empty {name}; got {value!r}.")
    template = _TEMPLATES.get(key)
    if template is None:
        enable_theme()
        template = build().to_dict(validate=VALIDATE_SPECS)
        _TEMPLATES[key] = template
        while len(_TEMPLATES) > TEMPLATE_CACHE_SIZE:
            _TEMPLATES.popitem(last=False)
    else:
        _TEMPLATES.move_to_end(key)
    source_line = source if source.lower().startswith("source") else f"Source: {source}"
    heading = {"text": title, **({"subtitle": subtitle} if subtitle else {})}
    panel = {**template["vconcat"][0], "title": {**template["vconcat"][0]["title"], **heading}}
    if not subtitle:
        panel["title"].pop("subtitle", None)
    return {
        **template,
        "vconcat": [panel, *template["vconcat"][1:]],
        "datasets": {**template.get("datasets", {}), **{n: records(d) for n, d in data.items()}},
        "description": description,
        "title": {**template["title"], "text": source_line},
        "usermeta": {"source": source, "title": title, "subtitle": subtitle},
    }


# --- Builders ------------------------------------------------------------------------------------
def _event_dates(events: pd.DataFrame, start_year: int, end_year: int) -> pd.Series:
    """Parse the ``date`` column to ISO date strings, checking every date is in range."""
    out = []
    for i, value in enumerate(events["date"]):
        try:
            stamp = pd.Timestamp(value)
        except (ValueError, TypeError):
            stamp = pd.NaT
        if pd.isna(stamp):
            raise ChartDataError(
                f"Timeline row {i + 1}: `date` must be a date like 2004-10-05; found {value!r}."
            )
        if not start_year <= stamp.year <= end_year:
            raise ChartDataError(
                f"Timeline row {i + 1}: {stamp:%Y-%m-%d} is outside {start_year}-{end_year}."
            )
        out.append(f"{stamp:%Y-%m-%d}")
    return pd.Series(out, index=events.index, dtype=object)


def _default_timeline_source(sources: pd.Series) -> str:
    unique = list(dict.fromkeys(str(s) for s in sources if str(s).strip()))
    if 0 < len(unique) <= 2:
        return "; ".join(unique)
    return f"{len(unique)} published sources, listed in the table of events"


def _timeline_layers(data: pd.DataFrame, start_year: int, end_year: int) -> list[alt.Chart]:
    """Points (colour + shape by category) and labels that flip side past ~55% of the span."""
    categories = list(dict.fromkeys(data["category"]))
    flip = start_year + (end_year + 1 - start_year) * 11 // 20
    domain = [alt.DateTime(year=start_year, utc=True), alt.DateTime(year=end_year + 1, utc=True)]
    x = alt.X(
        "date:T",
        title="Year",
        scale=alt.Scale(type="utc", domain=domain),
        axis=alt.Axis(format="%Y", tickCount={"interval": "year", "step": 2}, grid=True),
    )
    base = alt.Chart(data).encode(x=x, y=alt.Y("event:N", sort=None, axis=None))
    shapes = alt.Scale(domain=categories, range=CATEGORY_SHAPES[: len(categories)])
    points = base.mark_point(size=160, opacity=1).encode(
        color=alt.Color(
            "category:N",
            title="Category",
            scale=alt.Scale(domain=categories),
            legend=alt.Legend(columns=2, symbolType="circle"),
        ),
        shape=alt.Shape("category:N", title="Category", scale=shapes),
    )
    text = base.encode(text="event:N")
    left = text.mark_text(align="left", dx=10).transform_filter(f"utcyear(datum.date) < {flip}")
    right = text.mark_text(align="right", dx=-10).transform_filter(f"utcyear(datum.date) >= {flip}")
    return [points, left, right]


def _describe_timeline(data: pd.DataFrame) -> str:
    categories = list(dict.fromkeys(data["category"]))
    return (
        f"Timeline of {len(data)} events from {data['date'].iloc[0][:4]} to "
        f"{data['date'].iloc[-1][:4]}, in {len(categories)} categories: "
        f"{', '.join(categories)}. First: {data['event'].iloc[0]}. "
        f"Last: {data['event'].iloc[-1]}."
    )


def timeline_chart(
    events: pd.DataFrame,
    start_year: int = 1991,
    end_year: int = 2009,
    *,
    title: str = "NHS commissioning, 1991-2009",
    subtitle: str | None = None,
    description: str | None = None,
    source: str | None = None,
    width: int = DEFAULT_WIDTH + 100,
) -> alt.VConcatChart:
    """Dot timeline: one row per event, in date order, coloured and shaped by category.

    Parameters
    ----------
    events
        Columns ``date`` (ISO string or datetime), ``event`` (short, unique label),
        ``category``, ``source``; other columns are ignored. In the spec, rows are sorted by
        date and dates are ``YYYY-MM-DD`` strings (read as UTC, so no time-zone drift).
    start_year, end_year
        Years shown on the axis (inclusive); every event must fall inside them.
    title, subtitle, description, source
        As for :func:`finish`. The description is written from the data if not given; the
        source is the events' own source if there are one or two, else a count of them.
    width
        Plot width in px (labels sit inside it).

    Returns
    -------
    alt.VConcatChart
    """
    require_columns(events, ["date", "event", "category", "source"], what="timeline")
    if events["event"].duplicated().any():
        dup = events.loc[events["event"].duplicated(), "event"].iloc[0]
        raise ChartDataError(f"Each timeline event needs its own label; {dup!r} appears twice.")
    if start_year > end_year:
        raise ChartDataError(f"The timeline starts in {start_year}, after it ends ({end_year}).")
    data = _records(events, ["date", "event", "category", "source"])
    data["date"] = _event_dates(data, start_year, end_year)
    data = data.sort_values(["date", "event"], kind="stable").reset_index(drop=True)
    layers = _timeline_layers(data, start_year, end_year)
    chart = alt.layer(*layers).properties(width=width, height={"step": 26})
    return finish(
        chart,
        title=title,
        subtitle=subtitle,
        description=description or _describe_timeline(data),
        source=source or _default_timeline_source(data["source"]),
    )


def _check_pyramid(population: pd.DataFrame, groups: Sequence[str]) -> None:
    require_columns(
        population, ["age_band", "sex", "share", "group"], what="age pyramid", numeric=["share"]
    )
    checks = [("age_band", AGE_BANDS), ("sex", ("F", "M")), ("group", tuple(groups))]
    for col, allowed in checks:
        unknown = sorted(set(population[col].astype(str)) - set(allowed))
        if unknown:
            raise ChartDataError(
                f"In the age pyramid, `{col}` must be one of "
                f"{', '.join(allowed)}; found {', '.join(unknown)}."
            )
    for group in groups:
        if not (population["group"] == group).any():
            raise ChartDataError(f"The age pyramid has no rows for {group!r}.")
    share = population["share"].astype(float)
    if ((share < 0) | (share > 1)).any():
        raise ChartDataError(
            "In the age pyramid, `share` is a fraction of the list (0 to 1); "
            f"found values from {share.min():g} to {share.max():g}."
        )


def _pyramid_layers(data: pd.DataFrame, practice: str, comparison: str) -> list[alt.Chart]:
    """Practice bars (fill legend) and comparison outlines (stroke legend); males negative."""
    top = math.ceil(float(data["share"].max()) * 100 / 2) * 2  # next even percentage
    x = alt.X(
        "signed:Q",
        title="Share of registered list (%)",
        scale=alt.Scale(domain=[-top, top], nice=False),
        axis=alt.Axis(labelExpr="format(abs(datum.value), 'd')", tickCount=min(top, 10)),
    )
    y = alt.Y("age_band:O", title="Age band (years)", sort=list(reversed(AGE_BANDS)))
    base = (
        alt.Chart(data)
        .transform_calculate(signed="(datum.sex === 'M' ? -100 : 100) * datum.share")
        .encode(x=x, y=y)
    )
    only = lambda group: alt.FieldEqualPredicate(field="group", equal=group)  # noqa: E731
    bars = (
        base.transform_filter(only(practice))
        .mark_bar()
        .encode(
            fill=alt.Fill(
                "group:N", title=None, scale=alt.Scale(domain=[practice], range=[HIGHLIGHT])
            )
        )
    )
    outline = base.transform_filter(only(comparison)).mark_bar(filled=False, strokeWidth=2)
    outline = outline.encode(
        stroke=alt.Stroke(
            "group:N", title=None, scale=alt.Scale(domain=[comparison], range=[REFERENCE])
        )
    )
    return [bars, outline]


def _describe_pyramid(data: pd.DataFrame, practice: str, comparison: str) -> str:
    older = data[data["age_band"].isin(["65-74", "75-84", "85+"])].groupby("group")["share"].sum()
    return (
        f"Age pyramid of {practice}'s registered list (bars) against {comparison} "
        f"(outlines), males left and females right. Aged 65 and over: "
        f"{older.get(practice, 0):.1%} at {practice}, {older.get(comparison, 0):.1%} for "
        f"{comparison}."
    )


def age_pyramid(
    population: pd.DataFrame,
    practice_label: str,
    comparison_label: str = "PCT average",
    *,
    title: str | None = None,
    subtitle: str | None = None,
    description: str | None = None,
    source: str = SYNTHETIC_SOURCE,
    width: int = DEFAULT_WIDTH,
) -> alt.VConcatChart:
    """Population pyramid: the practice as bars, the comparison as outlines.

    Parameters
    ----------
    population
        Long format: ``age_band`` (one of :data:`AGE_BANDS`), ``sex`` ("F"/"M"), ``share``
        (fraction of the registered list, 0 to 1) and ``group`` (``practice_label`` or
        ``comparison_label``). Males are drawn to the left, females to the right.
    practice_label, comparison_label
        The two values of ``group``.
    title, subtitle, description, source, width
        As for :func:`finish`; title, subtitle and description have data-based defaults.

    Returns
    -------
    alt.VConcatChart
    """
    _check_pyramid(population, (practice_label, comparison_label))
    data = _records(population, ["age_band", "sex", "share", "group"])
    layers = _pyramid_layers(data, practice_label, comparison_label)
    chart = alt.layer(*layers).properties(width=width, height={"step": 34})
    return finish(
        chart,
        title=title or f"Age profile: {practice_label}",
        subtitle=subtitle or "Males on the left, females on the right",
        description=description or _describe_pyramid(data, practice_label, comparison_label),
        source=source,
    )


def _dumbbell_layers(
    data: pd.DataFrame, practice: str, comparison: str, rate_title: str
) -> list[alt.Chart]:
    """A grey rule from the PCT rate to the practice rate, and a dot for each end."""
    base = alt.Chart(data).encode(y=alt.Y("measure:N", title="Measure", sort=None))
    rule = base.mark_rule(strokeWidth=4, color=MUTED).encode(
        x=alt.X("pct_rate:Q", title=rate_title), x2="practice_rate:Q"
    )
    names = [practice, comparison]
    label = f"datum.which === 'practice_rate' ? {json.dumps(practice)} : {json.dumps(comparison)}"
    dots = (
        base.transform_fold(["practice_rate", "pct_rate"], as_=["which", "rate"])
        .transform_calculate(series=label)
        .mark_point(size=200, opacity=1)
        .encode(
            x=alt.X("rate:Q", title=rate_title),
            color=alt.Color(
                "series:N", title=None, scale=alt.Scale(domain=names, range=[HIGHLIGHT, REFERENCE])
            ),
            shape=alt.Shape(
                "series:N", title=None, scale=alt.Scale(domain=names, range=["circle", "diamond"])
            ),
        )
    )
    return [rule, dots]


def _describe_rates(data: pd.DataFrame, practice: str, comparison: str) -> str:
    parts = [
        f"{m} {p:,.1f} against {c:,.1f}"
        for m, p, c in zip(data["measure"], data["practice_rate"], data["pct_rate"], strict=True)
    ]
    gaps = (data["practice_rate"] / data["pct_rate"].where(data["pct_rate"] != 0) - 1).abs()
    largest = f" Largest gap {gaps.max():.0%}." if gaps.notna().any() else ""
    return (
        f"Dot plot of {len(data)} rates per 1,000 patients a year, {practice} against "
        f"{comparison}: {'; '.join(parts)}.{largest}"
    )


def rate_comparison(
    rates: pd.DataFrame,
    practice_label: str,
    *,
    comparison_label: str = "PCT average",
    title: str | None = None,
    subtitle: str | None = None,
    description: str | None = None,
    source: str = SYNTHETIC_SOURCE,
    rate_title: str = "Per 1,000 patients a year",
    width: int = DEFAULT_WIDTH - 60,
) -> alt.VConcatChart:
    """Dumbbell chart: the practice's rate against the PCT average, one row per measure.

    Parameters
    ----------
    rates
        Columns ``measure`` (e.g. "GP referrals", unique), ``unit``, ``practice_rate`` and
        ``pct_rate`` (both per 1,000 patients a year). ``unit`` is kept for the table view.
    practice_label, comparison_label
        Legend labels for the practice and the PCT average.
    rate_title
        The x-axis title (with units).

    Returns
    -------
    alt.VConcatChart
    """
    require_columns(
        rates,
        ["measure", "unit", "practice_rate", "pct_rate"],
        what="rate comparison",
        numeric=["practice_rate", "pct_rate"],
    )
    if rates["measure"].duplicated().any():
        dup = rates.loc[rates["measure"].duplicated(), "measure"].iloc[0]
        raise ChartDataError(
            f"In the rate comparison, each measure must appear once; {dup!r} appears twice."
        )
    data = _records(rates, ["measure", "unit", "practice_rate", "pct_rate"])
    layers = _dumbbell_layers(data, practice_label, comparison_label, rate_title)
    chart = alt.layer(*layers).properties(width=width, height={"step": 40})
    return finish(
        chart,
        title=title or f"{practice_label} against the {comparison_label}",
        subtitle=subtitle,
        description=description or _describe_rates(data, practice_label, comparison_label),
        source=source,
    )


def ranked_bar(
    df: pd.DataFrame,
    value: str,
    label: str,
    highlight: str | None = None,
    *,
    value_title: str,
    label_title: str = "Practice",
    title: str,
    subtitle: str | None = None,
    description: str | None = None,
    source: str = SYNTHETIC_SOURCE,
    value_format: str = ",.0f",
    width: int = DEFAULT_WIDTH - 60,
    descending: bool = True,
) -> alt.VConcatChart:
    """Sorted horizontal bars with one highlighted row ("this practice against the rest").

    Parameters
    ----------
    df
        One row per bar.
    value, label
        Column names of the bar length (a number) and the bar label (unique).
    highlight
        The ``label`` of the row to highlight, or None. Its value is also written on its bar.
    value_title
        Axis title with units, e.g. "£ per head" (required: every axis names its unit).
    value_format
        d3 format for the value axis and the highlighted label.
    descending
        Largest first (default) or smallest first.

    Returns
    -------
    alt.VConcatChart
    """
    require_columns(df, [value, label], what="ranked bar chart", numeric=[value])
    if df[label].duplicated().any():
        raise ChartDataError(
            f"In the ranked bar chart, each `{label}` must be unique; "
            f"{df.loc[df[label].duplicated(), label].iloc[0]!r} repeats."
        )
    if highlight is not None and not (df[label] == highlight).any():
        raise ChartDataError(f"Cannot highlight {highlight!r}: it is not in column `{label}`.")
    if not _D3_FORMAT.match(value_format):
        raise ChartDataError(f"{value_format!r} is not a d3 number format; try ',.0f' or '$,.0f'.")
    data = _records(df, [label, value])
    layers = _ranked_layers(
        data, value, label, highlight, value_title, label_title, value_format, descending
    )
    step = 18 if len(data) > 15 else 28
    chart = alt.layer(*layers).properties(width=width, height={"step": step})
    if description is None:
        description = _describe_ranked(data, value, label, highlight, value_title, descending)
    return finish(chart, title=title, subtitle=subtitle, description=description, source=source)


def _ranked_layers(
    data: pd.DataFrame,
    value: str,
    label: str,
    highlight: str | None,
    value_title: str,
    label_title: str,
    value_format: str,
    descending: bool,
) -> list[alt.Chart]:
    """Bars sorted by value; with a highlight, coloured HIGHLIGHT/MUTED and its value written."""
    x = alt.X(f"{value}:Q", title=value_title, axis=alt.Axis(format=value_format))
    y = alt.Y(f"{label}:N", title=label_title, sort="-x" if descending else "x")
    base = alt.Chart(data).encode(x=x, y=y)
    if highlight is None:
        return [base.mark_bar()]
    # Both layers use one data source with no filter, so the sort survives the layering.
    is_hl = alt.FieldEqualPredicate(field=label, equal=highlight)
    bars = base.mark_bar().encode(
        color=alt.condition(is_hl, alt.value(HIGHLIGHT), alt.value(MUTED))
    )
    text = alt.condition(is_hl, alt.Text(f"{value}:Q", format=value_format), alt.value(""))
    return [bars, base.mark_text(align="left", dx=4, fontWeight="bold").encode(text=text)]


def _describe_ranked(
    data: pd.DataFrame,
    value: str,
    label: str,
    highlight: str | None,
    value_title: str,
    descending: bool,
) -> str:
    where = ""
    if highlight is not None:
        rank = data[value].rank(ascending=not descending, method="min")
        where = (
            f" {highlight} is number {int(rank[data[label] == highlight].iloc[0])} of {len(data)}."
        )
    order = "largest" if descending else "smallest"
    return f"Bar chart of {value_title} for {len(data)} rows, sorted {order} first.{where}"


# --- SVG -----------------------------------------------------------------------------------------
_ID = re.compile(r'\bid="([^"]+)"')
_REF = re.compile(r'(\bid="|url\(#|href="#)([^")]+)')


def _plot_width(spec: dict[str, Any]) -> int:
    panel = spec["vconcat"][0] if "vconcat" in spec else spec
    width = panel.get("width", spec.get("width", DEFAULT_WIDTH))
    return int(width) if isinstance(width, (int, float)) else DEFAULT_WIDTH


def wrap_text(text: str, font_size: int, plot_width: int) -> list[str]:
    """Split a title or source line into lines that fit about ``plot_width`` + 100 px.

    Vega does not wrap titles, so a long source line would widen the whole SVG (and a phone
    would then shrink every label to fit). Width per character is taken as 0.55 of the font
    size, a fair average for Arial / Liberation Sans.
    """
    chars = max(24, int((plot_width + 100) / (font_size * 0.55)))
    return textwrap.wrap(text, chars) or [text]


def _wrap_titles(spec: dict[str, Any]) -> dict[str, Any]:
    """A copy of a finished chart's spec with its title, subtitle and source wrapped to fit."""
    if "vconcat" not in spec or not isinstance(spec.get("title"), dict):
        return spec
    width = _plot_width(spec)
    footer = dict(spec["title"])
    if isinstance(footer.get("text"), str):
        footer["text"] = wrap_text(footer["text"], SOURCE_SIZE, width)
    panel = dict(spec["vconcat"][0])
    heading = panel.get("title")
    if isinstance(heading, dict):
        heading = dict(heading)
        if isinstance(heading.get("text"), str):
            heading["text"] = wrap_text(heading["text"], TITLE_SIZE, width)
        if isinstance(heading.get("subtitle"), str):
            heading["subtitle"] = wrap_text(heading["subtitle"], SUBTITLE_SIZE, width)
        panel["title"] = heading
    return {**spec, "title": footer, "vconcat": [panel, *spec["vconcat"][1:]]}


_SVG_CACHE: OrderedDict[str, str] = OrderedDict()  # spec text -> SVG, least recently used first


def _prefix_ids(svg: str, prefix: str) -> str:
    """Renumber every ``id`` (and each reference to it) as ``<prefix>-<kind><n>``.

    vl-convert numbers clip paths and gradients with process-wide counters ("clip1", then
    "clip2" for the next chart...), so the same chart gets different ids on each render. Ids are
    renumbered in order of first appearance, which makes the output byte-identical, and given a
    per-chart prefix, so charts inlined on one page never clash.
    """
    mapping: dict[str, str] = {}
    for old in _ID.findall(svg):
        if old not in mapping:
            kind = re.sub(r"[_\d]+$", "", old) or "id"
            mapping[old] = f"{prefix}-{kind}{len(mapping)}"
    if not mapping:
        return svg
    return _REF.sub(lambda m: m.group(1) + mapping.get(m.group(2), m.group(2)), svg)


def to_svg(chart: alt.TopLevelMixin | dict[str, Any], *, width: int | None = None) -> str:
    """Render a chart to an SVG string that is safe to inline several times in one page.

    Ids vl-convert writes (clip paths, gradients) get a prefix taken from a hash of the spec, so
    two different charts never share an id and the same chart always renders byte-identically.
    The root ``<svg>`` gets ``role="img"``, an ``aria-label`` and a ``<title>`` with the chart's
    description.

    Parameters
    ----------
    chart
        A chart from this module (or any Altair chart with a description), or its spec.
    width
        If given, re-render with this plot width (used for the phone version).

    Returns
    -------
    str
        The SVG document (no XML declaration).
    """
    spec = spec_of(chart)
    if width is not None:  # shallow copies: the caller's spec is left alone
        if "vconcat" in spec:
            spec = {**spec, "vconcat": [{**spec["vconcat"][0], "width": int(width)}]}
        else:
            spec = {**spec, "width": int(width)}
    spec = _wrap_titles(spec)
    text = json.dumps(spec, sort_keys=True)
    digest = hashlib.sha256(text.encode()).hexdigest()[:10]
    cached = _SVG_CACHE.get(text)
    if cached is not None:
        _SVG_CACHE.move_to_end(text)
        return cached
    svg = render_service.render(text, FORMAT_LOCALE, "en-GB")
    svg = _prefix_ids(svg, f"pbc{digest}")
    label = html.escape(
        str(spec.get("description") or spec.get("usermeta", {}).get("title") or "Chart"), quote=True
    )
    svg = re.sub(r"^<svg ", f'<svg role="img" aria-label="{label}" ', svg, count=1)
    svg = re.sub(r"^(<svg [^>]*>)", lambda m: f"{m.group(1)}<title>{label}</title>", svg, count=1)
    _SVG_CACHE[text] = svg
    while len(_SVG_CACHE) > SVG_CACHE_SIZE:
        _SVG_CACHE.popitem(last=False)
    return svg
