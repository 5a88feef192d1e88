"""Chart builders for the demand-management workbook (02), on the shared "pbc" theme.

Each builder is a pure function of a DataFrame and returns a finished chart's spec (title, alt
text, drawn source line) built with :func:`pbc_lib.charts.from_template`, so a redraw reuses the
chart's structure and only swaps its rows and words (see ``benchmarks/demand_latency.py``):

* :func:`pathway_chart`: a practice's referral pathway and its cost, beside the PCT's rates;
* :func:`saving_histogram`: simulated net saving of a scheme, losses and savings coloured;
* :func:`gains_chart`: who gains and who loses (median and interval of each party's money);
* :func:`rtt_chart`: the waiting lists week by week, and the share within 18 weeks against the
  90% and 95% standards, on one week axis;
* :func:`explosion_chart`: the list after two years as demand approaches capacity.

The funnel plot of referrals comes from :mod:`pbc_lib.funnel_charts` (shared with workbook 04).
Charts with many points (the histogram's bins, the weeks) carry no per-item labels: the numbers
are in each chart's table view.
"""

from __future__ import annotations

from typing import Any

import altair as alt
import numpy as np
import pandas as pd

from pbc_lib.charts import (
    CATEGORY_COLOURS,
    HIGHLIGHT,
    MUTED,
    ONE_SIZE_WIDTH,
    PALETTE,
    REFERENCE,
    SYNTHETIC_SOURCE,
    ChartDataError,
    _records,
    finish,
    from_template,
    placeholder_words,
    require_columns,
)

LOSS = PALETTE["NHS Orange"]
SAVING = PALETTE["NHS Blue"]
BAND = PALETTE["NHS Pale Grey"]
Spec = dict[str, Any]


def _money(value: float) -> str:
    sign = "\u2212" if value < 0 else ""
    return f"{sign}£{abs(value):,.0f}"


# --------------------------------------------------------------------------------------------
# A practice's referral pathway and its cost, beside the PCT's rates
# --------------------------------------------------------------------------------------------
def pathway_chart(
    df: pd.DataFrame,
    *,
    price_year: str,
    title: str,
    subtitle: str | None = None,
    source: str = SYNTHETIC_SOURCE,
    width: int = ONE_SIZE_WIDTH,
) -> Spec:
    """Two panels, one drawing: each step per 1,000 patients (top) and its cost at tariff (£,
    bottom), one bar per series.

    ``df`` has columns ``step`` (row label, in pathway order), ``series`` (two values: the
    practice first, drawn in the highlight colour, then the comparison), ``per_1000`` and
    ``cost`` (NaN for a step with no price, such as GP referrals, which the cost panel leaves
    out). One drawing, not two, because each drawing costs a fixed ~10 ms plus its titles.
    """
    require_columns(
        df, ["step", "series", "per_1000", "cost"], what="pathway chart", numeric=["per_1000"]
    )
    data = _records(df, ["step", "series", "per_1000"])
    costs = df.loc[np.isfinite(df["cost"].astype(float)), ["step", "series", "cost"]]
    costs = costs.reset_index(drop=True)
    steps = tuple(dict.fromkeys(data["step"]))
    priced = tuple(dict.fromkeys(costs["step"]))
    series = tuple(dict.fromkeys(data["series"]))
    if len(series) != 2:
        raise ChartDataError(f"The pathway chart takes two series; got {len(series)}.")
    # The series are ordered by a number in the data, not named in the structure, so one
    # structure serves every practice (a new practice's name would otherwise rebuild it).
    data["order"] = data["series"].map({s: i for i, s in enumerate(series)})
    costs["order"] = costs["series"].map({s: i for i, s in enumerate(series)})
    totals = costs.groupby("series", sort=False)["cost"].sum()
    parts = [
        f"{s}: "
        + ", ".join(
            f"{st} {v:,.1f}"
            for st, v in zip(
                data.loc[data["series"] == s, "step"],
                data.loc[data["series"] == s, "per_1000"],
                strict=True,
            )
        )
        + f"; cost at tariff {_money(totals.get(s, 0.0))}"
        for s in series
    ]
    key = ("pathway", steps, priced, price_year, width)
    return from_template(
        key,
        lambda: _pathway_structure(list(steps), list(priced), price_year, width),
        {"main": data, "cost": costs},
        title=title,
        subtitle=subtitle,
        description="Bar charts of the referral pathway per 1,000 patients a year, and its "
        "cost at tariff. " + "; ".join(parts) + ".",
        source=source,
    )


def _pathway_structure(
    steps: list[str], priced: list[str], price_year: str, width: int
) -> alt.VConcatChart:
    order = alt.EncodingSortField(field="order", op="min")
    colour = alt.Color(
        "series:N",
        title=None,
        sort=order,
        scale=alt.Scale(range=[HIGHLIGHT, MUTED]),
        legend=alt.Legend(direction="vertical"),
    )

    def panel(name: str, field: str, rows: list[str], x_title: str, fmt: str, ticks: int):
        return (
            alt.Chart(alt.NamedData(name=name))
            .mark_bar()
            .encode(
                y=alt.Y("step:N", title=None, sort=rows, axis=alt.Axis(labelLimit=0)),
                yOffset=alt.YOffset("series:N", sort=order),
                x=alt.X(f"{field}:Q", title=x_title, axis=alt.Axis(format=fmt, tickCount=ticks)),
                color=colour,
            )
            .properties(width=width, height={"step": 22})
        )

    top = panel("main", "per_1000", steps, "Per 1,000 patients a year", ",.0f", 5)
    bottom = panel("cost", "cost", priced, f"£ a year at {price_year} tariff", "$,.0f", 3)
    chart = alt.vconcat(top, bottom, spacing=18)
    return finish(chart, **placeholder_words("pathway"))


# --------------------------------------------------------------------------------------------
# A scheme's net saving
# --------------------------------------------------------------------------------------------
def histogram_bins(values: np.ndarray, bins: int = 30) -> pd.DataFrame:
    """Bin simulated values for :func:`saving_histogram`, with 0 on a bin edge.

    The outer 0.5% at each end are counted in the end bins, so one extreme draw cannot squash
    the picture. Returns columns ``start``, ``end``, ``share`` (of all draws) and ``outcome``
    ("Loses money" / "Saves money", by the bin's side of 0).
    """
    values = np.asarray(values, dtype=float)
    values = values[np.isfinite(values)]
    if values.size == 0:
        raise ChartDataError("There are no simulated values to draw.")
    low, high = np.quantile(values, [0.005, 0.995])
    low, high = min(low, 0.0), max(high, 0.0)
    step = (high - low) / bins if high > low else 1.0
    first, last = int(np.floor(low / step)), int(np.ceil(high / step))
    edges = np.arange(first, max(last, first + 1) + 1) * step
    counts, _ = np.histogram(np.clip(values, edges[0], edges[-1]), bins=edges)
    start, end = edges[:-1], edges[1:]
    outcome = np.where((start + end) / 2 < 0, "Loses money", "Saves money")
    return pd.DataFrame(
        {"start": start, "end": end, "share": counts / values.size, "outcome": outcome}
    )


def saving_histogram(
    df: pd.DataFrame,
    *,
    median: float,
    title: str,
    subtitle: str | None = None,
    source: str,
    width: int = ONE_SIZE_WIDTH,
) -> Spec:
    """Histogram of a scheme's simulated net saving (£ a year), losses orange, savings blue.

    ``df`` comes from :func:`histogram_bins`. A black rule marks £0 and a dashed one the median.
    """
    require_columns(
        df,
        ["start", "end", "share", "outcome"],
        what="net saving histogram",
        numeric=["start", "end", "share"],
    )
    data = _records(df, ["start", "end", "share", "outcome"])
    loss = float(data.loc[data["outcome"] == "Loses money", "share"].sum())
    marks = pd.DataFrame({"x": [0.0, float(median)], "what": ["Break even", "Median"]})
    description = (
        f"Histogram of simulated net saving a year, from {_money(data['start'].min())} to "
        f"{_money(data['end'].max())}. {loss:.0%} of draws lose money; median "
        f"{_money(median)}."
    )
    return from_template(
        ("saving_histogram", width),
        lambda: _histogram_structure(width),
        {"main": data, "marks": marks},
        title=title,
        subtitle=subtitle,
        description=description,
        source=source,
    )


def _histogram_structure(width: int) -> alt.VConcatChart:
    outcomes = ["Loses money", "Saves money"]
    bars = (
        alt.Chart(alt.NamedData(name="main"))
        .mark_bar(binSpacing=0, stroke="white", strokeWidth=0.5)
        .encode(
            x=alt.X("start:Q", title="Net saving (£ a year)", axis=alt.Axis(format="$,.0f")),
            x2="end:Q",
            y=alt.Y("share:Q", title="Share of simulated years (%)", axis=alt.Axis(format=".0%")),
            y2=alt.datum(0),
            color=alt.Color(
                "outcome:N",
                title=None,
                scale=alt.Scale(domain=outcomes, range=[LOSS, SAVING]),
            ),
        )
    )
    rules = (
        alt.Chart(alt.NamedData(name="marks"))
        .mark_rule(color=REFERENCE, strokeWidth=2)
        .encode(
            x="x:Q",
            strokeDash=alt.StrokeDash(
                "what:N",
                title=None,
                scale=alt.Scale(domain=["Break even", "Median"], range=[[1, 0], [6, 4]]),
            ),
        )
    )
    chart = alt.layer(bars, rules).properties(width=width, height=200)
    return finish(chart, **placeholder_words("histogram"))


# --------------------------------------------------------------------------------------------
# Who gains
# --------------------------------------------------------------------------------------------
def gains_chart(
    df: pd.DataFrame,
    *,
    interval: float,
    title: str,
    subtitle: str | None = None,
    source: str,
    width: int = ONE_SIZE_WIDTH,
) -> Spec:
    """Each party's money a year: a dot at the median and a line over the central interval.

    ``df`` has columns ``party`` (row label, in order), ``median``, ``low`` and ``high`` (£;
    negative = loses). Dots are blue when the median gains, orange when it loses.
    """
    require_columns(
        df,
        ["party", "median", "low", "high"],
        what="who-gains chart",
        numeric=["median", "low", "high"],
    )
    data = _records(df, ["party", "median", "low", "high"])
    data["side"] = np.where(data["median"] < 0, "Loses", "Gains")
    parties = tuple(data["party"])
    parts = [
        f"{p} {_money(m)} ({_money(lo)} to {_money(hi)})"
        for p, m, lo, hi in zip(
            data["party"], data["median"], data["low"], data["high"], strict=True
        )
    ]
    description = (
        f"Dot plot of the money each party gains or loses a year, median and {interval:.0%} "
        "interval: " + "; ".join(parts) + "."
    )
    return from_template(
        ("gains", parties, width),
        lambda: _gains_structure(list(parties), width),
        {"main": data},
        title=title,
        subtitle=subtitle,
        description=description,
        source=source,
    )


def _gains_structure(parties: list[str], width: int) -> alt.VConcatChart:
    base = alt.Chart(alt.NamedData(name="main")).encode(
        y=alt.Y("party:N", title=None, sort=parties, axis=alt.Axis(labelLimit=0))
    )
    x_axis = alt.Axis(format="$,.0f")
    lines = base.mark_rule(strokeWidth=4, color=MUTED).encode(
        x=alt.X("low:Q", title="£ a year (median and interval)", axis=x_axis), x2="high:Q"
    )
    dots = base.mark_point(size=160, filled=True, opacity=1).encode(
        x="median:Q",
        color=alt.Color(
            "side:N",
            title=None,
            scale=alt.Scale(domain=["Gains", "Loses"], range=[SAVING, LOSS]),
        ),
        shape=alt.Shape(
            "side:N",
            title=None,
            scale=alt.Scale(domain=["Gains", "Loses"], range=["circle", "square"]),
        ),
    )
    zero = alt.Chart(pd.DataFrame({"x": [0.0]})).mark_rule(color=REFERENCE).encode(x="x:Q")
    chart = alt.layer(zero, lines, dots).properties(width=width, height={"step": 34})
    return finish(chart, **placeholder_words("gains"))


# --------------------------------------------------------------------------------------------
# Waiting lists
# --------------------------------------------------------------------------------------------
def _week_axis(weeks: int, titled: bool = True) -> alt.X:
    return alt.X(
        "week:Q",
        title="Week (week 1 = first week of April 2007)" if titled else None,
        scale=alt.Scale(domain=[0, weeks], nice=False),
        axis=alt.Axis(values=list(range(0, weeks + 1, 13))),
    )


def _deadline_layer(deadline: int | None) -> list[alt.Chart]:
    if deadline is None:
        return []
    frame = pd.DataFrame({"week": [deadline], "text": ["Dec 2008"]})
    rule = alt.Chart(frame).mark_rule(color=REFERENCE, strokeDash=[2, 3]).encode(x="week:Q")
    text = (
        alt.Chart(frame)
        .mark_text(align="right", baseline="top", dx=-3, dy=2, fontSize=12, color=REFERENCE)
        .encode(x="week:Q", y=alt.value(0), text="text:N")
    )
    return [rule, text]


def rtt_chart(
    lists: pd.DataFrame,
    within: pd.DataFrame,
    standards: pd.DataFrame,
    *,
    weeks: int,
    deadline_week: int | None = None,
    title: str,
    subtitle: str | None = None,
    source: str,
    width: int = ONE_SIZE_WIDTH,
) -> Spec:
    """Two panels on one week axis, one drawing: the lists (top) and the share within 18 weeks
    against the standards (bottom).

    ``lists`` (long) has ``week``, ``series`` (the first one gets the band: e.g. "All
    waiting"), ``value`` (patients at the end of the week), ``low`` and ``high`` (band over the
    simulated runs). ``within`` (long) has ``week`` (end of a period), ``series`` (pathway; the
    first gets the band), ``value`` (0-1), ``low`` and ``high``. ``standards`` has ``series``
    (the pathway it applies to), ``value`` (0.90, 0.95) and ``label``: dashed rules in the
    pathway's colour, with no text (text would collide with lines near 100%: say it in the
    subtitle). One drawing, not two, because each costs a fixed ~10 ms plus its titles.
    """
    numbers = ["week", "value", "low", "high"]
    require_columns(lists, ["series", *numbers], what="waiting-list chart", numeric=numbers)
    require_columns(within, ["series", *numbers], what="18-week chart", numeric=numbers)
    require_columns(standards, ["series", "value", "label"], what="standards", numeric=["value"])
    top = _records(lists, ["week", "series", "value", "low", "high"])
    bottom = _records(within, ["week", "series", "value", "low", "high"])
    rules = _records(standards, ["series", "value", "label"])
    list_series = tuple(dict.fromkeys(top["series"]))
    within_series = tuple(dict.fromkeys(bottom["series"]))
    key = ("rtt", list_series, within_series, weeks, deadline_week, width)
    return from_template(
        key,
        lambda: _rtt_structure(list(list_series), list(within_series), weeks, deadline_week, width),
        {
            "lists": top.drop(columns=["low", "high"]),
            "list_band": top.loc[top["series"] == list_series[0], ["week", "low", "high"]],
            "within": bottom.drop(columns=["low", "high"]),
            "within_band": bottom.loc[
                bottom["series"] == within_series[0], ["week", "low", "high"]
            ],
            "rules": rules,
        },
        title=title,
        subtitle=subtitle,
        description=_describe_rtt(top, bottom, rules),
        source=source,
    )


def _describe_rtt(top: pd.DataFrame, bottom: pd.DataFrame, rules: pd.DataFrame) -> str:
    parts = [
        f"{s}: {g['value'].iloc[0]:,.0f} in week {g['week'].iloc[0]:.0f}, "
        f"{g['value'].iloc[-1]:,.0f} in week {g['week'].iloc[-1]:.0f}"
        for s, g in top.groupby("series", sort=False)
    ]
    last = bottom.groupby("series", sort=False)["value"].last()
    return (
        "Line charts by week. Patients waiting: "
        + "; ".join(parts)
        + ". Share within 18 weeks in the last period: "
        + "; ".join(f"{s} {v:.0%}" for s, v in last.items())
        + ". Standards: "
        + "; ".join(rules["label"])
        + "."
    )


def _line_colour(series: list[str]) -> alt.Color:
    return alt.Color(
        "series:N",
        title=None,
        sort=series,
        scale=alt.Scale(domain=series, range=CATEGORY_COLOURS[: len(series)]),
        legend=alt.Legend(direction="vertical"),
    )


def _rtt_structure(
    list_series: list[str],
    within_series: list[str],
    weeks: int,
    deadline: int | None,
    width: int,
) -> alt.VConcatChart:
    x, top_x = _week_axis(weeks), _week_axis(weeks, titled=False)

    def band(name: str, axis: alt.X) -> alt.Chart:
        return (
            alt.Chart(alt.NamedData(name=name))
            .mark_area(color=BAND, opacity=1)
            .encode(x=axis, y=alt.Y("low:Q"), y2="high:Q")
        )

    lines = (
        alt.Chart(alt.NamedData(name="lists"))
        .mark_line(strokeWidth=2.5)
        .encode(
            x=top_x,
            y=alt.Y("value:Q", title="Patients waiting", axis=alt.Axis(format=",d")),
            color=_line_colour(list_series),
            strokeDash=alt.StrokeDash(
                "series:N",
                title=None,
                sort=list_series,
                scale=alt.Scale(
                    domain=list_series, range=[[1, 0], [6, 3], [2, 2]][: len(list_series)]
                ),
                legend=alt.Legend(direction="vertical"),
            ),
        )
    )
    colour = _line_colour(within_series)
    shares = (
        alt.Chart(alt.NamedData(name="within"))
        .mark_line(strokeWidth=2.5, interpolate="step-before")
        .encode(
            x=x,
            y=alt.Y(
                "value:Q",
                title="Within 18 weeks (%)",
                scale=alt.Scale(domain=[0, 1]),
                axis=alt.Axis(format=".0%"),
            ),
            color=colour,
        )
    )
    rules = (
        alt.Chart(alt.NamedData(name="rules"))
        .mark_rule(strokeDash=[6, 4], strokeWidth=1.5)
        .encode(y="value:Q", color=colour)
    )
    top = alt.layer(band("list_band", top_x), lines, *_deadline_layer(deadline)).properties(
        width=width, height=170
    )
    bottom = alt.layer(
        band("within_band", x), rules, shares, *_deadline_layer(deadline)
    ).properties(width=width, height=170)
    chart = alt.vconcat(top, bottom, spacing=16).resolve_scale(
        color="independent", strokeDash="independent"
    )
    return finish(chart, **placeholder_words("rtt"))


def explosion_chart(
    df: pd.DataFrame,
    *,
    current_load: float,
    title: str,
    subtitle: str | None = None,
    source: str,
    width: int = ONE_SIZE_WIDTH,
) -> Spec:
    """The list after two years against load (demand ÷ capacity): simulated and in theory.

    ``df`` has columns ``load``, ``list_mean``, ``list_low``, ``list_high`` (simulated, from
    an empty list: the mean of the runs and their 5% and 95% points) and ``steady_list``
    (queueing theory; NaN or infinite from load 1). A vertical rule marks ``current_load``.
    The simulated line is solid, the theory dashed, with no legend: say so in the subtitle.
    """
    require_columns(
        df,
        ["load", "list_mean", "list_low", "list_high", "steady_list"],
        what="list explosion chart",
        numeric=["load", "list_mean", "list_low", "list_high"],
    )
    if not np.isfinite(current_load) or current_load < 0:
        raise ChartDataError(f"The current load must be a number ≥ 0; got {current_load!r}.")
    data = _records(df, ["load", "list_mean", "list_low", "list_high"])
    theory = df.loc[np.isfinite(df["steady_list"].astype(float)), ["load", "steady_list"]]
    theory = theory.reset_index(drop=True)
    shown = min(float(current_load), float(data["load"].max()))
    marker = pd.DataFrame({"load": [shown], "text": [f"Your setting: {current_load:.0%}"]})
    description = (
        "Line chart of the waiting list after two years against demand as a share of capacity. "
        + "; ".join(
            f"{ld:.0%}: {m:,.0f}" for ld, m in zip(data["load"], data["list_mean"], strict=True)
        )
        + f". Current setting {current_load:.0%}."
    )
    return from_template(
        ("explosion", width, shown > 0.75),
        lambda: _explosion_structure(width, shown > 0.75),
        {"main": data, "theory": theory, "marker": marker},
        title=title,
        subtitle=subtitle,
        description=description,
        source=source,
    )


def _explosion_structure(width: int, label_left: bool) -> alt.VConcatChart:
    # No legend (its text costs time on every redraw): the subtitle says solid = simulated,
    # dashed = theory.
    x = alt.X("load:Q", title="Demand as a share of capacity (%)", axis=alt.Axis(format=".0%"))
    y_title = "Patients waiting after two years"
    band = (
        alt.Chart(alt.NamedData(name="main"))
        .mark_area(color=BAND, opacity=1)
        .encode(x=x, y=alt.Y("list_low:Q"), y2="list_high:Q")
    )
    sim = (
        alt.Chart(alt.NamedData(name="main"))
        .mark_line(point=True, strokeWidth=2.5, color=HIGHLIGHT)
        .encode(x=x, y=alt.Y("list_mean:Q", title=y_title, axis=alt.Axis(format=",d")))
    )
    theory = (
        alt.Chart(alt.NamedData(name="theory"))
        .mark_line(strokeDash=[6, 4], strokeWidth=2, color=REFERENCE)
        .encode(x=x, y="steady_list:Q")
    )
    marker = alt.Chart(alt.NamedData(name="marker"))
    rule = marker.mark_rule(color=LOSS, strokeWidth=2).encode(x="load:Q")
    text = marker.mark_text(
        align="right" if label_left else "left",
        dx=-4 if label_left else 4,
        baseline="top",
        dy=4,
        fontWeight="bold",
        color=REFERENCE,
    ).encode(x="load:Q", y=alt.value(0), text="text:N")
    chart = alt.layer(band, theory, sim, rule, text).properties(width=width, height=220)
    return finish(chart, **placeholder_words("explosion"))
