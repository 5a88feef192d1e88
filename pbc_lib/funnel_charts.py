"""The funnel plot, on the shared "pbc" theme: each unit's value against its denominator, with
the target and the 95% ("alert") and 99.8% ("alarm") control limits (Spiegelhalter, Stat Med
2005;24:1185).

Shared: workbook 04 (risk in primary care) draws incident reporting and prescribing errors with
it, and workbook 02 (demand management) draws observed/expected GP referrals. Feed it from
:func:`pbc_lib.models.funnel.funnel` through :func:`funnel_inputs`, which picks the limit curves
the flags rest on (one method, one overdispersion adjustment).

Like :mod:`pbc_lib.budget_charts`, the structure is built once with Altair and reused with new
rows and words (:func:`pbc_lib.charts.from_template`), and no unit carries a text label except
the highlighted one: vl-convert's time goes on measuring text, and the names are in the table
view.
"""

from __future__ import annotations

import re
from typing import Any

import altair as alt
import numpy as np
import pandas as pd

from pbc_lib.charts import (
    _D3_FORMAT,
    ONE_SIZE_WIDTH,
    PALETTE,
    REFERENCE,
    SYNTHETIC_SOURCE,
    ChartDataError,
    _records,
    finish,
    from_template,
    require_columns,
)
from pbc_lib.models import funnel as fp

HEIGHT = 260
Spec = dict[str, Any]

# Flags in the order they sit on the chart, top to bottom (the legend follows it).
FLAG_ORDER = (
    fp.FLAG_ABOVE_ALARM,
    fp.FLAG_ABOVE_ALERT,
    fp.FLAG_WITHIN,
    fp.FLAG_BELOW_ALERT,
    fp.FLAG_BELOW_ALARM,
)
WITHIN_COLOUR = PALETTE["NHS Blue"]
ALERT_COLOUR = PALETTE["NHS Orange"]
ALARM_COLOUR = PALETTE["NHS Dark Pink"]
FLAG_COLOURS = (ALARM_COLOUR, ALERT_COLOUR, WITHIN_COLOUR, ALERT_COLOUR, ALARM_COLOUR)
# Shape is a second cue that needs no colour: up for above, down for below.
FLAG_SHAPES = ("triangle-up", "triangle-up", "circle", "triangle-down", "triangle-down")
# Every pair of the five colours (with REFERENCE for the target) keeps a CIE76 difference of at
# least 20 under normal vision, deuteranopia and protanopia (tests/test_funnel_charts.py).
LIMIT_COLOUR = PALETTE["NHS Mid Grey"]
TARGET_COLOUR = REFERENCE
LIMIT_LEVELS = ("95% (alert)", "99.8% (alarm)")
LIMIT_DASHES = ([6, 4], [1, 0])  # 95% dashed, 99.8% solid
LIMIT_LABELS = ("95% lower", "95% upper", "99.8% lower", "99.8% upper")
_LIMIT_LABEL = re.compile(r"^(95|99\.8)% (lower|upper)$")


def funnel_inputs(result: fp.Funnel) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The ``units`` and ``limits`` tables :func:`funnel_chart` wants, from a model result.

    ``limits`` keeps only the curves the flags rest on: the adjusted ones when an overdispersion
    adjustment was applied (phi > 1, or tau2 > 0), otherwise the unadjusted curves of the method
    used ("exact" or "normal"). ``units`` is the model's table unchanged.
    """
    curves = result.limits
    adjusted = [a for a in curves["adjustment"].unique() if a != fp.ADJUSTMENT_LABELS["none"]]
    if adjusted:
        chosen = curves.loc[curves["adjustment"] == adjusted[0]]
    else:
        chosen = curves.loc[
            (curves["adjustment"] == fp.ADJUSTMENT_LABELS["none"])
            & (curves["method"] == result.limits_used)
        ]
    return result.units, chosen.reset_index(drop=True)


def python_format(value: float, d3_format: str) -> str:
    """A number formatted as the d3 format ``d3_format`` would show it (the common cases).

    Handles sign, thousands commas, precision and the types "%", "f", "d" and "e"; "r", "s",
    "g" and no type are shown to 4 significant figures (or the precision given). "$" prints "£".
    Minus is U+2212, as in the charts.
    """
    spec = d3_format.replace("~", "").replace("$", "")
    match = re.fullmatch(r"([-+( ]?)(,?)(?:\.(\d+))?([%fdegrs]?)", spec)
    if match is None:
        return _minus(format(float(value), ",.4g"))
    sign, comma, precision, kind = match.groups()
    if kind == "d":
        precision, kind = "0", "f"
    elif kind in ("r", "s", "g", ""):
        precision, kind = precision or "4", "g"
    text = format(float(value), f"{sign if sign in '+ ' else ''}{comma}.{precision or 6}{kind}")
    if "$" in d3_format:
        text = text.replace("-", "-£", 1) if text.startswith("-") else f"£{text}"
    return _minus(text)


def _minus(text: str) -> str:
    return text.replace("-", "\u2212")


def _check_units(units: pd.DataFrame) -> pd.DataFrame:
    require_columns(
        units,
        ["unit", "denominator", "value", "flag"],
        what="funnel plot",
        numeric=["denominator", "value"],
    )
    if units["unit"].duplicated().any():
        dup = units.loc[units["unit"].duplicated(), "unit"].iloc[0]
        raise ChartDataError(f"In the funnel plot, each unit must appear once; {dup!r} repeats.")
    unknown = sorted(set(map(str, units["flag"])) - set(FLAG_ORDER))
    if unknown:
        raise ChartDataError(
            f"In the funnel plot, `flag` must be one of {', '.join(FLAG_ORDER)}; "
            f"found {unknown[0]!r}."
        )
    if (units["denominator"] <= 0).any():
        raise ChartDataError("In the funnel plot, every `denominator` must be above 0.")
    data = _records(units, ["unit", "denominator", "value", "flag"])
    data["unit"] = data["unit"].astype(str)
    return data


def _check_limits(limits: pd.DataFrame) -> pd.DataFrame:
    require_columns(
        limits,
        ["denominator", "limit", "value"],
        what="funnel plot's limits",
        numeric=["denominator", "value"],
    )
    bad = [s for s in map(str, limits["limit"].unique()) if not _LIMIT_LABEL.match(s)]
    if bad:
        raise ChartDataError(
            f"The funnel plot's `limit` column must hold {', '.join(LIMIT_LABELS)}; "
            f"found {bad[0]!r}."
        )
    data = _records(limits, ["denominator", "limit", "value"])
    data["limit"] = data["limit"].astype(str)
    counts = data.groupby("limit").size()
    if (counts < 2).any():
        raise ChartDataError(
            f"Each funnel limit needs at least 2 points to draw a line; "
            f"{counts.idxmin()!r} has {counts.min()}."
        )
    data["level"] = np.where(data["limit"].str.startswith("95%"), *LIMIT_LEVELS)
    return data.sort_values(["limit", "denominator"], kind="stable").reset_index(drop=True)


def _check_options(target: float, value_format: str, width: int) -> float:
    try:
        target = float(target)
    except (TypeError, ValueError):
        raise ChartDataError(
            f"The funnel plot's target must be a number; got {target!r}."
        ) from None
    if not np.isfinite(target):
        raise ChartDataError(f"The funnel plot's target must be a finite number; got {target}.")
    if not isinstance(value_format, str) or not _D3_FORMAT.match(value_format):
        raise ChartDataError(f"{value_format!r} is not a d3 number format; try '.1%' or ',.1f'.")
    if isinstance(width, bool) or not isinstance(width, int) or not 120 <= width <= 1200:
        raise ChartDataError(f"The funnel plot's width must be 120 to 1200 pixels; got {width!r}.")
    return target


def funnel_chart(
    units: pd.DataFrame,
    limits: pd.DataFrame,
    *,
    target: float,
    value_title: str,
    denominator_title: str,
    title: str,
    source: str,
    subtitle: str | None = None,
    highlight: str | None = None,
    value_format: str = ".1%",
    width: int = ONE_SIZE_WIDTH,
) -> Spec:
    """A funnel plot: units as points, the target line and the 95% and 99.8% control limits.

    Shared by workbooks 02 (observed/expected GP referrals) and 04 (incidents and prescribing
    errors): keep this signature.

    Parameters
    ----------
    units
        One row per unit: ``unit`` (label, unique), ``denominator`` (> 0), ``value`` (on the
        display scale) and ``flag`` (one of the plain-English flags in
        :mod:`pbc_lib.models.funnel`). Points are coloured and shaped by flag.
    limits
        The limit curves: ``denominator``, ``limit`` ("95% lower", "95% upper", "99.8% lower",
        "99.8% upper") and ``value``, for one method and adjustment (see :func:`funnel_inputs`).
        95% limits are drawn dashed, 99.8% limits solid.
    target
        The centre line, on the same scale as ``value``.
    value_title, denominator_title
        Axis titles, with units ("Errors per item checked (%)", "Items checked").
    title, source, subtitle
        As for :func:`pbc_lib.charts.finish`.
    highlight
        A ``unit`` to ring and label (no other unit is labelled).
    value_format
        d3 format of the value axis (".1%" for proportions, ",.1f" for rates, ".2f" for O/E).
    width
        Plot width in pixels.

    Returns
    -------
    dict
        The finished chart's Vega-Lite spec; its alt text says how many units lie beyond each
        limit, above and below.
    """
    data = _check_units(units)
    curves = _check_limits(limits)
    target = _check_options(target, value_format, width)
    if highlight is not None and not (data["unit"] == str(highlight)).any():
        raise ChartDataError(f"Cannot highlight {highlight!r}: it is not one of the units.")
    x_max = float(max(data["denominator"].max(), curves["denominator"].max()))
    tables = {
        "main": data,
        "limits": curves,
        "target": pd.DataFrame(
            {
                "target": [target],
                "x": [x_max],
                "text": [f"Target {python_format(target, value_format)}"],
            }
        ),
    }
    side = None
    if highlight is not None:
        row = data.loc[data["unit"] == str(highlight)].iloc[0]
        x_min = float(min(data["denominator"].min(), curves["denominator"].min()))
        side = "right" if row["denominator"] < (x_min + x_max) / 2 else "left"
        tables["label"] = pd.DataFrame(
            {"denominator": [row["denominator"]], "value": [row["value"]], "text": [row["unit"]]}
        )
    key = ("funnel", width, value_format, value_title, denominator_title, side)
    return from_template(
        key,
        lambda: _funnel_structure(width, value_format, value_title, denominator_title, side),
        tables,
        title=title,
        subtitle=subtitle,
        description=describe_funnel(data, target, value_format, highlight),
        source=source,
    )


def _funnel_structure(
    width: int, value_format: str, value_title: str, denominator_title: str, side: str | None
) -> alt.VConcatChart:
    x = alt.X(
        "denominator:Q",
        title=denominator_title,
        scale=alt.Scale(zero=False, nice=False),
        axis=alt.Axis(format=",~f", tickCount=5),
    )
    y = alt.Y(
        "value:Q",
        title=value_title,
        scale=alt.Scale(zero=False),
        axis=alt.Axis(format=value_format),
    )
    lines = (
        alt.Chart(alt.NamedData(name="limits"))
        .mark_line(color=LIMIT_COLOUR, strokeWidth=1.5, clip=True)
        .encode(
            x=x,
            y=y,
            detail="limit:N",
            strokeDash=alt.StrokeDash(
                "level:N",
                title="Control limits",
                scale=alt.Scale(domain=list(LIMIT_LEVELS), range=list(LIMIT_DASHES)),
                legend=alt.Legend(
                    orient="bottom", direction="vertical", symbolStrokeColor=LIMIT_COLOUR
                ),
            ),
        )
    )
    target = alt.Chart(alt.NamedData(name="target"))
    rule = target.mark_rule(color=TARGET_COLOUR, strokeWidth=2).encode(y="target:Q")
    target_text = target.mark_text(
        align="right", baseline="bottom", dy=-4, color=REFERENCE, fontWeight="bold"
    ).encode(x="x:Q", y="target:Q", text="text:N")
    points = (
        alt.Chart(alt.NamedData(name="main"))
        .mark_point(filled=True, size=70, opacity=0.9)
        .encode(
            x=x,
            y=y,
            color=alt.Color(
                "flag:N",
                title="Against the limits",
                scale=alt.Scale(domain=list(FLAG_ORDER), range=list(FLAG_COLOURS)),
                legend=alt.Legend(orient="bottom", direction="vertical"),
            ),
            shape=alt.Shape(
                "flag:N",
                title="Against the limits",
                scale=alt.Scale(domain=list(FLAG_ORDER), range=list(FLAG_SHAPES)),
            ),
        )
    )
    layers = [lines, rule, target_text, points]
    if side is not None:
        label = alt.Chart(alt.NamedData(name="label"))
        layers.append(
            label.mark_point(shape="circle", size=330, filled=False, strokeWidth=2.5).encode(
                x="denominator:Q", y="value:Q", color=alt.value(REFERENCE)
            )
        )
        layers.append(
            label.mark_text(
                align="left" if side == "right" else "right",
                dx=12 if side == "right" else -12,
                fontWeight="bold",
                color=REFERENCE,
            ).encode(x="denominator:Q", y="value:Q", text="text:N")
        )
    chart = alt.layer(*layers).properties(width=width, height=HEIGHT)
    return finish(chart, title="funnel", description="funnel", source=SYNTHETIC_SOURCE)


def describe_funnel(
    data: pd.DataFrame, target: float, value_format: str, highlight: str | None = None
) -> str:
    """Alt text: how many points lie beyond each limit, above and below, and the highlight."""
    flags = data["flag"].value_counts()
    n = len(data)
    above_alarm, below_alarm = flags.get(fp.FLAG_ABOVE_ALARM, 0), flags.get(fp.FLAG_BELOW_ALARM, 0)
    above_95 = above_alarm + flags.get(fp.FLAG_ABOVE_ALERT, 0)
    below_95 = below_alarm + flags.get(fp.FLAG_BELOW_ALERT, 0)
    fmt = lambda v: python_format(v, value_format)  # noqa: E731
    text = (
        f"Funnel plot of {n} points, each a value against its denominator, with the target "
        f"{fmt(target)} and control limits that narrow as the denominator grows. "
        f"Beyond the 95% limits: {above_95 + below_95} of {n} ({above_95} above, {below_95} "
        f"below). Beyond the 99.8% limits: {above_alarm + below_alarm} ({above_alarm} above, "
        f"{below_alarm} below)."
    )
    if highlight is not None:
        row = data.loc[data["unit"] == str(highlight)].iloc[0]
        text += (
            f" Highlighted: {row['unit']}, {fmt(row['value'])} on a denominator of "
            f"{row['denominator']:,.0f}, {row['flag']}."
        )
    return text
