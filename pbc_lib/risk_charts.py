"""Chart builders for the fundholding workbook (03), on the shared "pbc" theme.

Four charts, each a pure function of DataFrames that returns a finished chart's spec (title, alt
text, drawn source line) for :class:`pbc_lib.ui.ChartView`:

* :func:`risk_curve_chart`: a risk measure against the number of people a budget covers (log
  scale), one line per stop-loss setting, the chosen practice, its locality cluster and the PCTs
  marked, the fundholding list-size thresholds as dashed rules and, optionally, Crump et al.'s
  three published points;
* :func:`protection_chart`: one practice's risk, step by step, as a stop-loss, multi-year
  balancing and pooling are added;
* :func:`configuration_chart`: each commissioning configuration's management cost per head
  against the risk its budget holders carry;
* :func:`relationships_chart`: how many PbC groups each PCT deals with, before and after a merger.

As in :mod:`pbc_lib.budget_charts`, the structure of each chart is built once with Altair and
reused with new rows and words (:func:`pbc_lib.charts.from_template`); ``key`` holds whatever
shapes the structure. The curve has a few dozen points and a handful of labels, so every
redraw stays cheap for vl-convert (see ``benchmarks/fundholding_latency.py``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import altair as alt
import pandas as pd

from pbc_lib.charts import (
    CATEGORY_COLOURS,
    CATEGORY_SHAPES,
    HIGHLIGHT,
    MUTED,
    ONE_SIZE_WIDTH,
    PALETTE,
    REFERENCE,
    ChartDataError,
    _records,
    finish,
    from_template,
    placeholder_words,
    require_columns,
)

MARKED = PALETTE["NHS Orange"]
X_DOMAIN = (1_000, 400_000)  # people covered: the smallest practice to beyond the merged PCT
X_TICKS = [1_000, 3_000, 10_000, 30_000, 100_000, 300_000]
MARK_SHAPES = ["circle", "square", "triangle-up", "triangle-down"]  # practice ... merged PCT
LABELLED_WIDTH = 260  # for bar charts whose labels take ~170 px beside the bars
Spec = dict[str, Any]


def _pct(value: float, fmt: str) -> str:
    """A fraction as the chart's axis shows it ('.0%' -> 5%, '.1%' -> 5.3%), one more place."""
    places = int(fmt[1]) + 1 if fmt[:1] == "." and fmt[1:2].isdigit() else 1
    return f"{value:.{places}%}"


# --- risk against size ---------------------------------------------------------------------------
def risk_curve_chart(
    curves: pd.DataFrame,
    marks: pd.DataFrame,
    *,
    measure_title: str,
    thresholds: Sequence[int] = (),
    crump: pd.DataFrame | None = None,
    value_format: str = ".0%",
    title: str,
    subtitle: str | None = None,
    source: str,
    width: int = ONE_SIZE_WIDTH,
) -> Spec:
    """A risk measure against list size, one line per series, with marked budget holders.

    Parameters
    ----------
    curves
        ``n_people``, ``value`` (a fraction: 0.05 = 5%) and ``series`` (e.g. "No stop-loss"):
        one or two series, in order of first appearance. With two, the first is grey and the
        second blue; with one, it is blue. There is no legend: say which is which in the subtitle.
    marks
        ``n_people``, ``value`` and ``label`` of each marked holder (at most 4), drawn as orange
        points of different shapes, named in a legend in the order given.
    measure_title
        The y-axis title, with its unit.
    thresholds
        List sizes drawn as dashed vertical rules (name them in the subtitle).
    crump
        Optional ``n_people`` and ``value`` of published points (black diamonds).
    """
    require_columns(
        curves, ["n_people", "value", "series"], what="risk curve", numeric=["n_people", "value"]
    )
    require_columns(
        marks,
        ["n_people", "value", "label"],
        what="risk curve marks",
        numeric=["n_people", "value"],
    )
    if len(marks) > len(MARK_SHAPES):
        raise ChartDataError(
            f"The risk curve can mark at most {len(MARK_SHAPES)} holders; got {len(marks)}."
        )
    lines = _records(curves, ["n_people", "value", "series"])
    points = _records(marks, ["n_people", "value", "label"])
    points["order"] = range(len(points))
    series = tuple(dict.fromkeys(lines["series"]))
    if len(series) > 2:
        raise ChartDataError(f"The risk curve draws one or two lines; got {len(series)}.")
    lines["order"] = [series.index(s) for s in lines["series"]]
    tables = {"main": lines, "marks": points.reset_index(drop=True)}
    tables["rules"] = pd.DataFrame({"n_people": list(thresholds)}, dtype=float)
    if crump is not None:
        require_columns(
            crump, ["n_people", "value"], what="published points", numeric=["n_people", "value"]
        )
        tables["crump"] = _records(crump, ["n_people", "value"])
    key = ("risk curve", len(series), measure_title, value_format, crump is not None, width)
    return from_template(
        key,
        lambda: _curve_structure(
            len(series), measure_title, value_format, crump is not None, width
        ),
        tables,
        title=title,
        subtitle=subtitle,
        description=_describe_curve(lines, points, measure_title, value_format, crump),
        source=source,
    )


def _curve_structure(
    n_series: int, measure_title: str, value_format: str, crump: bool, width: int
) -> alt.VConcatChart:
    x = alt.X(
        "n_people:Q",
        title="People covered by the budget (log scale)",
        scale=alt.Scale(type="log", domain=list(X_DOMAIN), nice=False),
        axis=alt.Axis(values=X_TICKS, format=",.0f", labelFlush=True),
    )
    y = alt.Y(
        "value:Q",
        title=measure_title,
        scale=alt.Scale(zero=True),
        axis=alt.Axis(format=value_format, titleLimit=0),
    )
    colours = [MUTED, HIGHLIGHT] if n_series == 2 else [HIGHLIGHT]
    lines = (
        alt.Chart(alt.NamedData(name="main"))
        .mark_line(strokeWidth=3)
        .encode(
            x=x,
            y=y,
            color=alt.Color(
                "series:N",
                title=None,
                sort=alt.EncodingSortField(field="order", op="min"),
                scale=alt.Scale(range=colours),
                legend=None,  # the subtitle names the lines: a legend costs ~12 ms a redraw
            ),
        )
    )
    rules = alt.Chart(alt.NamedData(name="rules")).mark_rule(
        strokeDash=[4, 4], color=REFERENCE, opacity=0.6
    )
    layers: list[alt.Chart] = [rules.encode(x="n_people:Q"), lines]
    if crump:
        layers.append(
            alt.Chart(alt.NamedData(name="crump"))
            .mark_point(shape="diamond", size=110, filled=True, opacity=1)
            .encode(
                x="n_people:Q",
                y="value:Q",
                stroke=alt.Stroke(
                    "label:N",
                    title=None,
                    scale=alt.Scale(domain=["Crump et al. 1991"], range=[REFERENCE]),
                ),
                fill=alt.value(REFERENCE),
            )
            .transform_calculate(label="'Crump et al. 1991'")
        )
    layers.append(
        alt.Chart(alt.NamedData(name="marks"))
        .mark_point(size=150, filled=True, opacity=1, color=MARKED, stroke=REFERENCE, strokeWidth=1)
        .encode(
            x="n_people:Q",
            y="value:Q",
            shape=alt.Shape(
                "label:N",
                title=None,
                sort=alt.EncodingSortField(field="order", op="min"),
                scale=alt.Scale(range=MARK_SHAPES),
                legend=alt.Legend(direction="vertical", orient="bottom", symbolFillColor=MARKED),
            ),
        )
    )
    chart = alt.layer(*layers).properties(width=width, height=260)
    return finish(chart, **placeholder_words("risk curve"))


def _describe_curve(
    lines: pd.DataFrame,
    points: pd.DataFrame,
    measure: str,
    fmt: str,
    crump: pd.DataFrame | None,
) -> str:
    parts = []
    for name, g in lines.groupby("series", sort=False):
        first, last = g.iloc[0], g.iloc[-1]
        parts.append(
            f"{name}: {_pct(first['value'], fmt)} at {first['n_people']:,.0f} people, "
            f"{_pct(last['value'], fmt)} at {last['n_people']:,.0f}"
        )
    marked = "; ".join(f"{r.label} {_pct(r.value, fmt)}" for r in points.itertuples())
    extra = ""
    if crump is not None:
        extra = " Crump et al.'s published points: " + ", ".join(
            f"{_pct(r.value, fmt)} at {r.n_people:,.0f}" for r in crump.itertuples()
        )
        extra += "."
    return (
        f"Line chart of {measure.lower()} against the number of people covered, on a log scale. "
        + "; ".join(parts)
        + f". Marked: {marked}."
        + extra
    )


# --- what protects one practice ------------------------------------------------------------------
def protection_chart(
    df: pd.DataFrame,
    *,
    measure_title: str,
    value_format: str = ".0%",
    title: str,
    subtitle: str | None = None,
    source: str,
    width: int = LABELLED_WIDTH,
) -> Spec:
    """One practice's risk, one bar per protection step, in the order given.

    ``df`` has ``step`` (a short label, unique) and ``value`` (a fraction). The first bar, the
    starting point, is grey; the others blue, each with its value written at the end.
    """
    require_columns(df, ["step", "value"], what="protection chart", numeric=["value"])
    if df["step"].duplicated().any():
        raise ChartDataError("In the protection chart, each step needs its own label.")
    data = _records(df, ["step", "value"])
    data["order"] = range(len(data))
    data["first"] = data["order"] == 0
    description = (
        f"Bar chart of {measure_title.lower()}, step by step: "
        + "; ".join(
            f"{s} {_pct(v, value_format)}" for s, v in zip(data["step"], data["value"], strict=True)
        )
        + "."
    )
    return from_template(
        ("protection", measure_title, value_format, width),
        lambda: _protection_structure(measure_title, value_format, width),
        {"main": data},
        title=title,
        subtitle=subtitle,
        description=description,
        source=source,
    )


def _protection_structure(measure_title: str, value_format: str, width: int) -> alt.VConcatChart:
    base = alt.Chart(alt.NamedData(name="main")).encode(
        y=alt.Y(
            "step:N",
            title=None,
            sort=alt.EncodingSortField(field="order", op="min"),
            axis=alt.Axis(labelLimit=0),
        ),
        x=alt.X(
            "value:Q",
            title=measure_title,
            axis=alt.Axis(format=value_format, titleLimit=0),
            scale=alt.Scale(zero=True),
        ),
    )
    bars = base.mark_bar().encode(
        color=alt.condition("datum.first", alt.value(MUTED), alt.value(HIGHLIGHT))
    )
    text = base.mark_text(align="left", dx=4, fontWeight="bold").encode(
        text=alt.Text("value:Q", format=value_format.replace("0%", "1%"))
    )
    chart = alt.layer(bars, text).properties(width=width, height={"step": 30})
    return finish(chart, **placeholder_words("protection"))


# --- configurations ------------------------------------------------------------------------------
def configuration_chart(
    df: pd.DataFrame,
    *,
    highlight: str | None = None,
    x_title: str = "Management cost (£ per head a year)",
    y_title: str,
    title: str,
    subtitle: str | None = None,
    source: str,
    width: int = ONE_SIZE_WIDTH,
) -> Spec:
    """Management cost per head against risk, one point per configuration.

    ``df`` has ``configuration`` (unique), ``cost_per_head`` (£), ``risk_median`` and
    ``risk_worst`` (fractions: the median and the riskiest holder). The point is the median
    holder; a line runs up to the riskiest. Each configuration has its own colour and shape,
    named in a legend in the order given; ``highlight`` is drawn larger and the rest paler.
    """
    require_columns(
        df,
        ["configuration", "cost_per_head", "risk_median", "risk_worst"],
        what="configuration chart",
        numeric=["cost_per_head", "risk_median", "risk_worst"],
    )
    if highlight is not None and not (df["configuration"] == highlight).any():
        raise ChartDataError(
            f"Cannot highlight {highlight!r}: it is not one of the configurations."
        )
    data = _records(df, ["configuration", "cost_per_head", "risk_median", "risk_worst"])
    data["chosen"] = data["configuration"] == highlight
    data["order"] = range(len(data))
    description = "Dot chart of management cost per head against risk. " + "; ".join(
        f"{r.configuration}: £{r.cost_per_head:,.2f} a head, median holder "
        f"{r.risk_median:.1%}, riskiest {r.risk_worst:.1%}"
        for r in data.itertuples()
    )
    if highlight:
        description += f". Highlighted: {highlight}."
    return from_template(
        ("configurations", x_title, y_title, width),
        lambda: _configuration_structure(x_title, y_title, width),
        {"main": data},
        title=title,
        subtitle=subtitle,
        description=description,
        source=source,
    )


def _configuration_structure(x_title: str, y_title: str, width: int) -> alt.VConcatChart:
    base = alt.Chart(alt.NamedData(name="main")).encode(
        x=alt.X(
            "cost_per_head:Q",
            title=x_title,
            axis=alt.Axis(format="$,.0f"),
            scale=alt.Scale(zero=True),
        ),
        y=alt.Y(
            "risk_median:Q",
            title=y_title,
            axis=alt.Axis(format=".0%", titleLimit=0),
            scale=alt.Scale(zero=True),
        ),
        opacity=alt.condition("datum.chosen", alt.value(1.0), alt.value(0.45)),
    )
    by_order = alt.EncodingSortField(field="order", op="min")
    colour = alt.Color(
        "configuration:N", title=None, sort=by_order, scale=alt.Scale(range=CATEGORY_COLOURS[:4])
    )
    rules = base.mark_rule(strokeWidth=3, color=PALETTE["NHS Mid Grey"]).encode(y2="risk_worst:Q")
    points = base.mark_point(filled=True).encode(
        color=colour.legend(direction="vertical", orient="bottom"),
        shape=alt.Shape(
            "configuration:N",
            title=None,
            sort=by_order,
            scale=alt.Scale(range=CATEGORY_SHAPES[:4]),
            legend=alt.Legend(direction="vertical", orient="bottom"),
        ),
        size=alt.condition("datum.chosen", alt.value(260), alt.value(150)),
    )
    ring = (
        alt.Chart(alt.NamedData(name="main"))
        .transform_filter("datum.chosen")
        .mark_point(filled=False, size=700, color=REFERENCE, strokeWidth=2, opacity=1)
        .encode(x="cost_per_head:Q", y="risk_median:Q")
    )
    chart = alt.layer(rules, points, ring).properties(width=width, height=240)
    return finish(chart, **placeholder_words("configurations"))


def relationships_chart(
    df: pd.DataFrame,
    *,
    title: str,
    subtitle: str | None = None,
    source: str,
    width: int = LABELLED_WIDTH,
) -> Spec:
    """How many PbC groups each PCT deals with: grouped horizontal bars with counts.

    ``df`` has ``pct`` (a PCT, in the order to show), ``series`` (e.g. "Practices commissioning
    alone") and ``count`` (whole numbers).
    """
    require_columns(df, ["pct", "series", "count"], what="relationships chart", numeric=["count"])
    data = _records(df, ["pct", "series", "count"])
    pcts = tuple(dict.fromkeys(data["pct"]))
    series = tuple(dict.fromkeys(data["series"]))
    description = "Grouped bar chart of the PbC groups each PCT deals with. " + "; ".join(
        f"{p}: "
        + ", ".join(
            f"{int(c)} {s.lower()}"
            for s, c in zip(
                data.loc[data["pct"] == p, "series"],
                data.loc[data["pct"] == p, "count"],
                strict=True,
            )
        )
        for p in pcts
    )
    return from_template(
        ("relationships", pcts, series, width),
        lambda: _relationships_structure(list(pcts), list(series), width),
        {"main": data},
        title=title,
        subtitle=subtitle,
        description=description + ".",
        source=source,
    )


def _relationships_structure(pcts: list[str], series: list[str], width: int) -> alt.VConcatChart:
    base = alt.Chart(alt.NamedData(name="main")).encode(
        y=alt.Y("pct:N", title=None, sort=pcts, axis=alt.Axis(labelLimit=0)),
        yOffset=alt.YOffset("series:N", sort=series),
        x=alt.X("count:Q", title="PbC groups the PCT deals with (number)"),
    )
    bars = base.mark_bar().encode(
        color=alt.Color(
            "series:N",
            title=None,
            sort=series,
            scale=alt.Scale(domain=series, range=CATEGORY_COLOURS[: len(series)]),
            legend=alt.Legend(direction="vertical"),
        )
    )
    text = base.mark_text(align="left", dx=4).encode(text=alt.Text("count:Q", format=",.0f"))
    chart = alt.layer(bars, text).properties(width=width, height={"step": 18})
    return finish(chart, **placeholder_words("relationships"))
