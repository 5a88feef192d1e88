"""Chart builders for the indicative-budgets workbook (01), on the shared "pbc" theme.

Each builder is a pure function of a DataFrame and returns a finished chart's spec (title, alt
text, drawn source line), which :class:`pbc_lib.ui.ChartView` draws. Two things keep a redraw
quick (see ``benchmarks/budget_latency.py``):

* the structure of each chart is built once with Altair and reused with new rows and words
  (:func:`pbc_lib.charts.from_template`), which saves 40-60 ms a chart;
* the charts of all 48 practices carry no per-practice axis labels: vl-convert spends most of its
  time measuring and truncating label text (about 90 ms for 48 names against 13 ms for none,
  measured on this machine); the names are in each chart's table view and in the highlighted
  practice's label.
"""

from __future__ import annotations

from typing import Any

import altair as alt
import pandas as pd

from pbc_lib.charts import (
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

OVER = PALETTE["NHS Orange"]
UNDER = PALETTE["NHS Blue"]
WITHIN = MUTED
SIGNED_PCT = "+.0%"
Spec = dict[str, Any]


def _band_word(band: float) -> str:
    return f"{band:.0%}"


def _position_classes(band: float) -> list[str]:
    b = _band_word(band)
    return [f"Under by more than {b}", f"Within {b}", f"Over by more than {b}"]


def distance_chart(
    df: pd.DataFrame,
    *,
    band: float,
    highlight: str | None = None,
    title: str,
    subtitle: str | None = None,
    source: str = SYNTHETIC_SOURCE,
    width: int = ONE_SIZE_WIDTH,
) -> Spec:
    """Every practice's distance from fair share as a sorted bar, with this year's move as a dot.

    Parameters
    ----------
    df
        One row per practice: ``practice_name``, ``dft_before`` (historic budget against target,
        0.1 = 10% over) and ``dft_after`` (after the pace-of-change move).
    band
        The fair-share band drawn as two dashed lines (0.10 for ±10%).
    highlight
        A ``practice_name`` to label on the chart.
    """
    require_columns(
        df,
        ["practice_name", "dft_before", "dft_after"],
        what="distance-from-target chart",
        numeric=["dft_before", "dft_after"],
    )
    if highlight is not None and not (df["practice_name"] == highlight).any():
        raise ChartDataError(f"Cannot highlight {highlight!r}: it is not one of the practices.")
    data = _records(df, ["practice_name", "dft_before", "dft_after"])
    data = data.sort_values("dft_before", kind="stable").reset_index(drop=True)
    data["order"] = range(1, len(data) + 1)
    classes = _position_classes(band)
    data["position"] = pd.cut(
        data["dft_before"], [-float("inf"), -band, band, float("inf")], labels=classes
    ).astype(str)
    tables = {"main": data}
    place = None  # (label above the bar?, label to the right of it?)
    if highlight is not None:
        row = data.loc[data["practice_name"] == highlight].iloc[0]
        place = (bool(row["dft_before"] >= 0), bool(row["order"] <= len(data) / 2))
        arrow = "▼" if place[0] else "▲"  # pointing at the end of the bar
        text = f"{arrow} {highlight}" if place[1] else f"{highlight} {arrow}"
        tables["label"] = pd.DataFrame(
            {"order": [row["order"]], "y": [row["dft_before"]], "text": [text]}
        )
    key = ("distance", band, width, len(data), place)
    return from_template(
        key,
        lambda: _distance_structure(len(data), band, width, place),
        tables,
        title=title,
        subtitle=subtitle,
        description=_describe_distance(data, band, highlight),
        source=source,
    )


def _distance_structure(
    n: int, band: float, width: int, place: tuple[bool, bool] | None
) -> alt.VConcatChart:
    classes = _position_classes(band)
    x = alt.X(
        "order:O",
        title=f"The {n} practices, from furthest under fair share to furthest over",
        axis=alt.Axis(labels=False, ticks=False),
    )
    base = alt.Chart(alt.NamedData(name="main")).encode(x=x)
    bars = base.mark_bar().encode(
        y=alt.Y(
            "dft_before:Q", title="Distance from fair share (%)", axis=alt.Axis(format=SIGNED_PCT)
        ),
        color=alt.Color(
            "position:N",
            title="Historic budget",
            scale=alt.Scale(domain=classes, range=[UNDER, WITHIN, OVER]),
            legend=alt.Legend(direction="vertical"),
        ),
    )
    dots = base.mark_point(shape="diamond", size=50, color=REFERENCE, opacity=1).encode(
        y="dft_after:Q"
    )
    rules = (
        alt.Chart(pd.DataFrame({"y": [-band, band]}))
        .mark_rule(strokeDash=[6, 4], color=REFERENCE)
        .encode(y="y:Q")
    )
    layers = [bars, dots, rules]
    if place is not None:
        above, rightwards = place
        layers.append(
            alt.Chart(alt.NamedData(name="label"))
            .mark_text(
                align="left" if rightwards else "right",
                dx=-5 if rightwards else 5,
                baseline="bottom" if above else "top",
                dy=-4 if above else 4,
                fontWeight="bold",
                color=HIGHLIGHT,
            )
            .encode(x="order:O", y="y:Q", text="text:N")
        )
    chart = alt.layer(*layers).properties(width=width, height=260)
    return finish(chart, **placeholder_words("distance"))


def _describe_distance(data: pd.DataFrame, band: float, highlight: str | None) -> str:
    over = int((data["dft_before"] > band).sum())
    under = int((data["dft_before"] < -band).sum())
    after = int((data["dft_after"].abs() > band).sum())
    extra = ""
    if highlight is not None:
        row = data.loc[data["practice_name"] == highlight].iloc[0]
        extra = f" {highlight}: {row['dft_before']:+.1%} before, {row['dft_after']:+.1%} after."
    return (
        f"Bar chart of {len(data)} practices' distance from fair share, sorted, from "
        f"{data['dft_before'].min():+.1%} to {data['dft_before'].max():+.1%}. {over} are more "
        f"than {band:.0%} over and {under} more than {band:.0%} under; after this year's move "
        f"(diamonds) {after} are more than {band:.0%} away.{extra}"
    )


def spread_chart(
    df: pd.DataFrame,
    *,
    title: str,
    subtitle: str | None = None,
    source: str,
    width: int = ONE_SIZE_WIDTH,
) -> Spec:
    """Share of practices beyond each distance from target, for several groups side by side.

    ``df`` has columns ``band_label`` ("More than 10% off"), ``group`` (e.g. "Wyndmoor now") and
    ``share`` (0-1). Groups keep their order of first appearance, as do the bands.
    """
    require_columns(df, ["band_label", "group", "share"], what="spread chart", numeric=["share"])
    data = _records(df, ["band_label", "group", "share"])
    groups = tuple(dict.fromkeys(data["group"]))
    bands = tuple(dict.fromkeys(data["band_label"]))
    parts = [
        f"{g}: "
        + ", ".join(
            f"{b.lower()} {s:.0%}"
            for b, s in zip(
                data.loc[data["group"] == g, "band_label"],
                data.loc[data["group"] == g, "share"],
                strict=True,
            )
        )
        for g in groups
    ]
    return from_template(
        ("spread", groups, bands, width),
        lambda: _spread_structure(list(groups), list(bands), width),
        {"main": data},
        title=title,
        subtitle=subtitle,
        description="Grouped bar chart of the share of practices far from fair share. "
        + "; ".join(parts)
        + ".",
        source=source,
    )


def _spread_structure(groups: list[str], bands: list[str], width: int) -> alt.VConcatChart:
    colours = [UNDER, OVER, REFERENCE, PALETTE["NHS Aqua Green"]][: len(groups)]
    base = alt.Chart(alt.NamedData(name="main")).encode(
        y=alt.Y("band_label:N", title=None, sort=bands),
        yOffset=alt.YOffset("group:N", sort=groups),
        x=alt.X("share:Q", title="Share of practices (%)", axis=alt.Axis(format=".0%")),
    )
    bars = base.mark_bar().encode(
        color=alt.Color(
            "group:N", title=None, sort=groups, scale=alt.Scale(domain=groups, range=colours)
        )
    )
    text = base.mark_text(align="left", dx=4).encode(text=alt.Text("share:Q", format=".0%"))
    chart = alt.layer(bars, text).properties(width=width, height={"step": 22 * len(groups)})
    return finish(chart, **placeholder_words("spread"))


def component_chart(
    df: pd.DataFrame,
    *,
    title: str,
    subtitle: str | None = None,
    source: str,
    width: int = ONE_SIZE_WIDTH,
) -> Spec:
    """A practice's budget by component: historic budget beside forecast outturn (£).

    ``df`` has columns ``label`` (component), ``series`` (two values, e.g. "Historic budget" and
    "Forecast outturn") and ``cost`` (£).
    """
    require_columns(
        df, ["label", "series", "cost"], what="budget component chart", numeric=["cost"]
    )
    data = _records(df, ["label", "series", "cost"])
    series = tuple(dict.fromkeys(data["series"]))
    labels = tuple(dict.fromkeys(data["label"]))
    totals = data.groupby("series", sort=False)["cost"].sum()
    description = (
        f"Grouped bar chart of {len(labels)} budget components. "
        + "; ".join(f"{s} £{totals[s]:,.0f} in all" for s in series)
        + ". Largest component: "
        + str(data.loc[data["cost"].idxmax(), "label"])
        + "."
    )
    return from_template(
        ("components", series, labels, width),
        lambda: _component_structure(list(series), list(labels), width),
        {"main": data},
        title=title,
        subtitle=subtitle,
        description=description,
        source=source,
    )


def _component_structure(series: list[str], labels: list[str], width: int) -> alt.VConcatChart:
    base = alt.Chart(alt.NamedData(name="main")).encode(
        y=alt.Y("label:N", title=None, sort=labels, axis=alt.Axis(labelLimit=0)),
        yOffset=alt.YOffset("series:N", sort=series),
        x=alt.X("cost:Q", title="£ a year", axis=alt.Axis(format="$,.0f")),
    )
    bars = base.mark_bar().encode(
        color=alt.Color(
            "series:N",
            title=None,
            sort=series,
            scale=alt.Scale(domain=series, range=[MUTED, HIGHLIGHT][: len(series)]),
        )
    )
    return finish(
        bars.properties(width=width, height={"step": 13}), **placeholder_words("components")
    )


def glide_chart(
    df: pd.DataFrame,
    *,
    band: float,
    practice: str,
    title: str,
    subtitle: str | None = None,
    source: str,
    width: int = ONE_SIZE_WIDTH,
) -> Spec:
    """One practice's distance from fair share year by year, inside the ±band corridor.

    ``df`` has columns ``year`` (a financial year or "Historic") and ``dft`` (0.1 = 10% over),
    in path order.
    """
    require_columns(df, ["year", "dft"], what="glide path chart", numeric=["dft"])
    data = _records(df, ["year", "dft"])
    years = tuple(data["year"])
    steps = ", ".join(f"{y} {d:+.1%}" for y, d in zip(data["year"], data["dft"], strict=True))
    description = (
        f"Line chart of {practice}'s distance from fair share by year, with the ±{band:.0%} band "
        f"shaded: {steps}."
    )
    return from_template(
        ("glide", years, band, width),
        lambda: _glide_structure(list(years), band, width),
        {"main": data},
        title=title,
        subtitle=subtitle,
        description=description,
        source=source,
    )


def _glide_structure(years: list[str], band: float, width: int) -> alt.VConcatChart:
    corridor = pd.DataFrame({"lo": [-band], "hi": [band]})
    x = alt.X("year:O", title="Financial year", sort=years, axis=alt.Axis(labelAngle=0))
    area = (
        alt.Chart(corridor)
        .mark_rect(color=PALETTE["NHS Pale Grey"])
        .encode(y=alt.Y("lo:Q"), y2="hi:Q")
    )
    line = (
        alt.Chart(alt.NamedData(name="main"))
        .mark_line(point=alt.OverlayMarkDef(size=90, filled=True), color=HIGHLIGHT, strokeWidth=3)
        .encode(
            x=x,
            y=alt.Y(
                "dft:Q", title="Distance from fair share (%)", axis=alt.Axis(format=SIGNED_PCT)
            ),
        )
    )
    zero = alt.Chart(pd.DataFrame({"y": [0.0]})).mark_rule(color=REFERENCE).encode(y="y:Q")
    chart = alt.layer(area, zero, line).properties(width=width, height=220)
    return finish(chart, **placeholder_words("glide"))
