"""Chart builders for workbook 04, risk in primary care (the funnel plot is in
:mod:`pbc_lib.funnel_charts`, shared with workbook 02).

* :func:`expected_errors_chart`: errors and reported incidents a year at one practice across
  Sandars & Esmail's range of 5-80 errors per 100,000 consultations, with the Poisson range.
* :func:`audit_chart`: how precisely an audit of n items pins down an error rate, by the normal,
  Wilson and exact intervals, against the margin wanted.
* :func:`screening_chart`: simulated practices' true error rates against their reported incident
  rates, coloured by what a screening rule does to them.

Each follows :mod:`pbc_lib.budget_charts`: validate, compute the tables and the alt text on every
call, and reuse a cached structure (:func:`pbc_lib.charts.from_template`). No chart carries a text
label per point.
"""

from __future__ import annotations

from typing import Any

import altair as alt
import numpy as np
import pandas as pd

from pbc_lib.charts import (
    CATEGORY_COLOURS,
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

Spec = dict[str, Any]

SERIES = ("Errors", "Reported incidents")
SERIES_COLOURS = (PALETTE["NHS Blue"], PALETTE["NHS Orange"])
METHODS = ("normal", "wilson", "exact")
METHOD_LABELS = {"normal": "Normal", "wilson": "Wilson", "exact": "Exact (Clopper-Pearson)"}
METHOD_DASHES = ([1, 0], [6, 3], [2, 2])
OUTCOMES = ("unsafe, caught", "unsafe, missed", "safe, flagged", "safe, not flagged")
OUTCOME_COLOURS = (
    PALETTE["NHS Dark Pink"],
    PALETTE["NHS Orange"],
    PALETTE["NHS Blue"],
    MUTED,
)
OUTCOME_SHAPES = ("triangle-up", "square", "diamond", "circle")


# --------------------------------------------------------------------------------------------
# Errors and reports a year at one practice
# --------------------------------------------------------------------------------------------
def expected_errors_chart(
    df: pd.DataFrame,
    *,
    chosen_rate: float,
    title: str,
    source: str,
    subtitle: str | None = None,
    width: int = ONE_SIZE_WIDTH,
) -> Spec:
    """Expected errors and reported incidents a year against the error rate, with 95% ranges.

    Parameters
    ----------
    df
        One row per rate and series: ``rate_per_100k``, ``series`` ("Errors" or "Reported
        incidents"), ``expected``, ``lower`` and ``upper`` (the Poisson 95% range of counts).
    chosen_rate
        The rate the reader chose, marked with a vertical line and a dot on each series.
    """
    require_columns(
        df,
        ["rate_per_100k", "series", "expected", "lower", "upper"],
        what="expected-errors chart",
        numeric=["rate_per_100k", "expected", "lower", "upper"],
    )
    unknown = sorted(set(map(str, df["series"])) - set(SERIES))
    if unknown:
        raise ChartDataError(
            f"In the expected-errors chart, `series` must be {' or '.join(SERIES)}; "
            f"found {unknown[0]!r}."
        )
    data = _records(df, ["rate_per_100k", "series", "expected", "lower", "upper"])
    chosen = _at_rate(data, float(chosen_rate))
    return from_template(
        ("expected_errors", width),
        lambda: _expected_structure(width),
        {"main": data, "chosen": chosen},
        title=title,
        subtitle=subtitle,
        description=_describe_expected(data, chosen),
        source=source,
    )


def _at_rate(data: pd.DataFrame, rate: float) -> pd.DataFrame:
    """Each series' row at ``rate`` (which must be one of the rates in the table)."""
    chosen = data.loc[np.isclose(data["rate_per_100k"], rate)]
    if chosen.empty:
        raise ChartDataError(
            f"The chosen rate {rate:g} per 100,000 is not one of the rates in the chart "
            f"({data['rate_per_100k'].min():g} to {data['rate_per_100k'].max():g})."
        )
    return chosen.reset_index(drop=True)


def _expected_structure(width: int) -> alt.VConcatChart:
    x = alt.X(
        "rate_per_100k:Q",
        title="Error rate (errors per 100,000 consultations)",
        scale=alt.Scale(nice=False, zero=False),
    )
    colour = alt.Color(
        "series:N",
        title=None,
        scale=alt.Scale(domain=list(SERIES), range=list(SERIES_COLOURS)),
    )
    base = alt.Chart(alt.NamedData(name="main")).encode(x=x)
    band = base.mark_area(opacity=0.2).encode(
        y=alt.Y("lower:Q", title="Errors or reports in a year (count)"), y2="upper:Q", color=colour
    )
    line = base.mark_line(strokeWidth=2.5).encode(y="expected:Q", color=colour)
    chosen = alt.Chart(alt.NamedData(name="chosen"))
    rule = chosen.mark_rule(color=REFERENCE, strokeDash=[4, 3]).encode(x="rate_per_100k:Q")
    dots = chosen.mark_point(filled=True, size=110, opacity=1).encode(
        x="rate_per_100k:Q", y="expected:Q", color=colour
    )
    chart = alt.layer(band, line, rule, dots).properties(width=width, height=240)
    return finish(chart, **placeholder_words("expected errors"))


def _describe_expected(data: pd.DataFrame, chosen: pd.DataFrame) -> str:
    parts = []
    for row in chosen.itertuples():
        parts.append(
            f"{row.series.lower()} {row.expected:,.1f} expected (95% range {row.lower:,.0f} to "
            f"{row.upper:,.0f})"
        )
    low, high = data["rate_per_100k"].min(), data["rate_per_100k"].max()
    return (
        f"Line chart with shaded 95% ranges of errors and reported incidents a year against the "
        f"error rate, from {low:g} to {high:g} per 100,000 consultations. At the chosen rate of "
        f"{chosen['rate_per_100k'].iloc[0]:g}: " + "; ".join(parts) + "."
    )


# --------------------------------------------------------------------------------------------
# The audit planner
# --------------------------------------------------------------------------------------------
def audit_chart(
    widths: pd.DataFrame,
    needed: pd.DataFrame,
    *,
    margin: float,
    current_items: float | None,
    title: str,
    source: str,
    subtitle: str | None = None,
    width: int = ONE_SIZE_WIDTH,
) -> Spec:
    """Half-width of the interval against items checked, one line per method.

    Parameters
    ----------
    widths
        Long table: ``items``, ``method`` ("normal", "wilson", "exact") and ``half_width`` (a
        fraction: 0.01 is 1 percentage point).
    needed
        One row per method: ``method``, ``items`` (the smallest audit that meets the margin) and
        ``half_width``; drawn as dots on the margin line.
    margin
        The half-width wanted, drawn as a horizontal line.
    current_items
        What practices check now (drawn as a vertical line), or None.
    """
    require_columns(
        widths,
        ["items", "method", "half_width"],
        what="audit chart",
        numeric=["items", "half_width"],
    )
    require_columns(
        needed,
        ["method", "items", "half_width"],
        what="audit chart",
        numeric=["items", "half_width"],
    )
    for table in (widths, needed):
        unknown = sorted(set(map(str, table["method"])) - set(METHODS))
        if unknown:
            raise ChartDataError(
                f"In the audit chart, `method` must be one of {', '.join(METHODS)}; "
                f"found {unknown[0]!r}."
            )
    data = _records(widths, ["items", "method", "half_width"])
    data["method"] = data["method"].map(METHOD_LABELS)
    marks = _records(needed, ["method", "items", "half_width"])
    marks["method"] = marks["method"].map(METHOD_LABELS)
    tables = {"main": data, "needed": marks, "margin": pd.DataFrame({"margin": [float(margin)]})}
    if current_items is not None:
        tables["current"] = pd.DataFrame(
            {"items": [float(current_items)], "text": [f"Now: {current_items:,.0f} items"]}
        )
    return from_template(
        ("audit", width, current_items is not None),
        lambda: _audit_structure(width, current_items is not None),
        tables,
        title=title,
        subtitle=subtitle,
        description=_describe_audit(data, marks, float(margin), current_items),
        source=source,
    )


def _audit_structure(width: int, current: bool) -> alt.VConcatChart:
    labels = [METHOD_LABELS[m] for m in METHODS]
    x = alt.X(
        "items:Q",
        title="Items checked in the audit",
        scale=alt.Scale(type="log", nice=False),
        axis=alt.Axis(format=",~f", values=[50, 100, 200, 500, 1000, 2000, 5000, 10000]),
    )
    y = alt.Y(
        "half_width:Q",
        title="Margin of error, ± (percentage points)",
        axis=alt.Axis(format=".1%"),
        scale=alt.Scale(zero=True),
    )
    colour = alt.Color(
        "method:N",
        title="Interval",
        scale=alt.Scale(domain=labels, range=CATEGORY_COLOURS[:3]),
        legend=alt.Legend(direction="vertical", symbolType="stroke", symbolStrokeWidth=2.5),
    )
    lines = (
        alt.Chart(alt.NamedData(name="main"))
        .mark_line(strokeWidth=2.5, clip=True)
        .encode(
            x=x,
            y=y,
            color=colour,
            strokeDash=alt.StrokeDash(
                "method:N",
                title="Interval",
                scale=alt.Scale(domain=labels, range=list(METHOD_DASHES)),
            ),
        )
    )
    margin = (
        alt.Chart(alt.NamedData(name="margin"))
        .mark_rule(color=REFERENCE, strokeWidth=1.5)
        .encode(y="margin:Q")
    )
    dots = (
        alt.Chart(alt.NamedData(name="needed"))
        .mark_point(filled=True, size=90, opacity=1)
        .encode(x="items:Q", y="half_width:Q", color=colour)
    )
    layers = [lines, margin, dots]
    if current:
        now = alt.Chart(alt.NamedData(name="current"))
        layers.append(now.mark_rule(color=MUTED, strokeWidth=2).encode(x="items:Q"))
        layers.append(
            now.mark_text(align="left", dx=4, baseline="top", y=4, color=REFERENCE).encode(
                x="items:Q", text="text:N"
            )
        )
    chart = alt.layer(*layers).properties(width=width, height=240)
    return finish(chart, **placeholder_words("audit"))


def _describe_audit(
    data: pd.DataFrame, marks: pd.DataFrame, margin: float, current_items: float | None
) -> str:
    needs = "; ".join(f"{r.method} {r.items:,.0f}" for r in marks.itertuples())
    now = ""
    if current_items is not None:
        normal = data.loc[data["method"] == METHOD_LABELS["normal"]]
        at_now = float(np.interp(current_items, normal["items"], normal["half_width"]))
        now = f" An audit of {current_items:,.0f} items gives about ±{at_now * 100:.1f} points."
    return (
        f"Line chart of the margin of error against the number of items checked, for three "
        f"interval methods; the margin falls as 1 over the square root of the items. Items "
        f"needed for ±{margin * 100:.1f} points: {needs}.{now}"
    )


# --------------------------------------------------------------------------------------------
# Risk-based screening
# --------------------------------------------------------------------------------------------
def screening_chart(
    practices: pd.DataFrame,
    *,
    unsafe_at: float,
    title: str,
    source: str,
    subtitle: str | None = None,
    width: int = ONE_SIZE_WIDTH,
) -> Spec:
    """Each simulated practice's true error rate against its reported incident rate.

    ``practices`` has ``true_rate_per_100k``, ``reported_rate_per_100k`` and ``outcome`` (one
    of "unsafe, caught", "unsafe, missed", "safe, flagged", "safe, not flagged"), as from
    :func:`pbc_lib.models.safety.screen_practices`. ``unsafe_at`` is drawn as a vertical line.
    """
    require_columns(
        practices,
        ["true_rate_per_100k", "reported_rate_per_100k", "outcome"],
        what="screening chart",
        numeric=["true_rate_per_100k", "reported_rate_per_100k"],
    )
    unknown = sorted(set(map(str, practices["outcome"])) - set(OUTCOMES))
    if unknown:
        raise ChartDataError(
            f"In the screening chart, `outcome` must be one of {', '.join(OUTCOMES)}; "
            f"found {unknown[0]!r}."
        )
    data = _records(practices, ["true_rate_per_100k", "reported_rate_per_100k", "outcome"])
    data[["true_rate_per_100k", "reported_rate_per_100k"]] = data[
        ["true_rate_per_100k", "reported_rate_per_100k"]
    ].round(3)  # fewer digits in the spec: it is drawn, not read
    # The many "safe, not flagged" points first, so the few that matter are drawn on top.
    data = data.sort_values(
        "outcome", key=lambda o: o != "safe, not flagged", kind="stable"
    ).reset_index(drop=True)
    return from_template(
        ("screening", width),
        lambda: _screening_structure(width),
        {"main": data, "unsafe": pd.DataFrame({"x": [float(unsafe_at)]})},
        title=title,
        subtitle=subtitle,
        description=_describe_screening(data, float(unsafe_at)),
        source=source,
    )


def _screening_structure(width: int) -> alt.VConcatChart:
    points = (
        alt.Chart(alt.NamedData(name="main"))
        .mark_point(filled=True, size=28, opacity=0.75)
        .encode(
            x=alt.X(
                "true_rate_per_100k:Q",
                title="True error rate (per 100,000 consultations)",
                scale=alt.Scale(type="log", domain=[5, 80], nice=False),
                axis=alt.Axis(values=[5, 10, 16, 32, 50, 80], format="~f"),
            ),
            y=alt.Y(
                "reported_rate_per_100k:Q", title="Reported incidents per 100,000 consultations"
            ),
            color=alt.Color(
                "outcome:N",
                title="What the screen does",
                scale=alt.Scale(domain=list(OUTCOMES), range=list(OUTCOME_COLOURS)),
                legend=alt.Legend(orient="bottom", direction="vertical"),
            ),
            shape=alt.Shape(
                "outcome:N",
                title="What the screen does",
                scale=alt.Scale(domain=list(OUTCOMES), range=list(OUTCOME_SHAPES)),
            ),
        )
    )
    line = (
        alt.Chart(alt.NamedData(name="unsafe"))
        .mark_rule(color=REFERENCE, strokeDash=[4, 3], strokeWidth=1.5)
        .encode(x="x:Q")
    )
    chart = alt.layer(points, line).properties(width=width, height=260)
    return finish(chart, **placeholder_words("screening"))


def _describe_screening(data: pd.DataFrame, unsafe_at: float) -> str:
    counts = data["outcome"].value_counts()
    parts = ", ".join(f"{counts.get(o, 0)} {o}" for o in OUTCOMES)
    return (
        f"Scatter plot of {len(data):,} simulated practices, true error rate (log scale, 5 to 80 "
        f"per 100,000 consultations) against reported incident rate. Practices at or above "
        f"{unsafe_at:g} per 100,000 (the dashed line) count as unsafe. {parts}."
    )
