"""The shared funnel plot (workbooks 02 and 04): what it draws, its alt text and its checks."""

from __future__ import annotations

import itertools
import re

import numpy as np
import pandas as pd
import pytest
from test_charts import VISIONS, delta_e

from pbc_lib import charts, data
from pbc_lib import funnel_charts as fc
from pbc_lib.charts import ChartDataError
from pbc_lib.models import funnel as fp

WORDS = {
    "value_title": "Items with an error (%)",
    "denominator_title": "Items checked",
    "title": "Prescribing errors",
    "source": "Synthetic data: safety.csv, 2006/07",
}


def _toy() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Five units with one of each flag, and straight-line limits (drawing needs no model)."""
    units = pd.DataFrame(
        {
            "unit": ["A", "B", "C", "D", "E"],
            "denominator": [100.0, 200, 300, 400, 500],
            "value": [0.20, 0.12, 0.05, 0.01, 0.0],
            "flag": list(fc.FLAG_ORDER),
        }
    )
    grid = np.array([80.0, 600.0])
    limits = pd.concat(
        [
            pd.DataFrame({"denominator": grid, "limit": label, "value": value})
            for label, value in zip(fc.LIMIT_LABELS, (0.02, 0.09, 0.005, 0.12), strict=True)
        ],
        ignore_index=True,
    )
    return units, limits


def _layers(spec: dict) -> list[dict]:
    return spec["vconcat"][0]["layer"]


def _prescribing(adjustment: str = "none") -> fp.Funnel:
    rows = data.load_safety().query("financial_year == '2006/07'")
    return fp.funnel(
        "proportion",
        rows["prescribing_errors"],
        rows["items_checked"],
        units=rows["practice_id"],
        adjustment=adjustment,
    )


def test_toy_funnel_draws_every_unit_limit_and_the_target():
    units, limits = _toy()
    spec = fc.funnel_chart(units, limits, target=0.05, **WORDS)
    shown = pd.DataFrame(spec["datasets"]["main"])
    assert list(shown["unit"]) == list("ABCDE")
    assert sorted(pd.DataFrame(spec["datasets"]["limits"])["limit"].unique()) == sorted(
        fc.LIMIT_LABELS
    )
    assert spec["datasets"]["target"][0]["target"] == 0.05
    assert spec["datasets"]["target"][0]["text"] == "Target 5.0%"
    assert "label" not in spec["datasets"]  # nothing highlighted, so no label at all
    assert not any(
        layer["mark"]["type"] == "text" and "label" in str(layer) for layer in _layers(spec)
    )
    meta = charts.chart_meta(spec)
    assert meta["title"] == "Prescribing errors" and meta["source"] == WORDS["source"]


def test_alt_text_counts_units_beyond_each_limit():
    units, limits = _toy()
    # One unit of each flag: beyond 95% are A, B (above) and D, E (below): 4 of 5; beyond
    # 99.8% only A (above) and E (below).
    text = fc.funnel_chart(units, limits, target=0.05, **WORDS)["description"]
    assert "Beyond the 95% limits: 4 of 5 (2 above, 2 below)" in text
    assert "Beyond the 99.8% limits: 2 (1 above, 1 below)" in text
    assert "target 5.0%" in text


def test_alt_text_agrees_with_the_model_on_the_data():
    result = _prescribing()
    units, limits = fc.funnel_inputs(result)
    text = fc.funnel_chart(units, limits, target=result.target, highlight="WM010", **WORDS)[
        "description"
    ]
    # Counted here from the limits in the model's table, not from the flags.
    above95 = int((units["value"] > units["upper_95"]).sum())
    below95 = int((units["value"] < units["lower_95"]).sum())
    above998 = int((units["value"] > units["upper_99_8"]).sum())
    below998 = int((units["value"] < units["lower_99_8"]).sum())
    assert f"Beyond the 95% limits: {above95 + below95} of 48 ({above95} above" in text
    assert f"Beyond the 99.8% limits: {above998 + below998} ({above998} above" in text
    assert "Highlighted: WM010" in text


def test_95_percent_limits_dashed_and_99_8_solid():
    units, limits = _toy()
    spec = fc.funnel_chart(units, limits, target=0.05, **WORDS)
    line = next(layer for layer in _layers(spec) if layer["mark"]["type"] == "line")
    dash = line["encoding"]["strokeDash"]["scale"]
    mapping = dict(zip(dash["domain"], dash["range"], strict=True))
    assert mapping == {"95% (alert)": [6, 4], "99.8% (alarm)": [1, 0]}
    rows = pd.DataFrame(spec["datasets"]["limits"])
    assert set(rows.loc[rows["limit"].str.startswith("95%"), "level"]) == {"95% (alert)"}
    assert set(rows.loc[rows["limit"].str.startswith("99.8%"), "level"]) == {"99.8% (alarm)"}


def test_points_coloured_and_shaped_by_flag_with_one_legend():
    units, limits = _toy()
    spec = fc.funnel_chart(units, limits, target=0.05, **WORDS)
    points = next(layer for layer in _layers(spec) if layer["mark"]["type"] == "point")
    colour, shape = points["encoding"]["color"], points["encoding"]["shape"]
    assert colour["field"] == shape["field"] == "flag"
    assert colour["scale"]["domain"] == list(fp.FLAGS)[::-1]  # top of the chart first
    assert colour["title"] == shape["title"]  # the same title merges them into one legend
    by_flag = dict(zip(shape["scale"]["domain"], shape["scale"]["range"], strict=True))
    assert by_flag[fp.FLAG_ABOVE_ALARM] == "triangle-up"
    assert by_flag[fp.FLAG_BELOW_ALERT] == "triangle-down"
    assert by_flag[fp.FLAG_WITHIN] == "circle"


@pytest.mark.parametrize("vision", VISIONS)
def test_flag_colours_stay_apart_for_colour_blind_viewers(vision):
    colours = (
        fc.WITHIN_COLOUR,
        fc.ALERT_COLOUR,
        fc.ALARM_COLOUR,
        fc.LIMIT_COLOUR,
        fc.TARGET_COLOUR,
    )
    for a, b in itertools.combinations(colours, 2):
        assert delta_e(a, b, VISIONS[vision]) >= 20, (vision, a, b)


def test_highlight_is_ringed_and_labelled_on_the_far_side():
    units, limits = _toy()
    left = fc.funnel_chart(units, limits, target=0.05, highlight="B", **WORDS)
    right = fc.funnel_chart(units, limits, target=0.05, highlight="E", **WORDS)
    assert left["datasets"]["label"] == [{"denominator": 200.0, "value": 0.12, "text": "B"}]
    texts = [
        layer
        for layer in _layers(left)
        if layer["mark"]["type"] == "text" and "dx" in layer["mark"]
    ]
    # B sits in the left half of the x range (80 to 600), so its label goes to the right.
    assert texts[0]["mark"]["align"] == "left"
    texts = [
        layer
        for layer in _layers(right)
        if layer["mark"]["type"] == "text" and "dx" in layer["mark"]
    ]
    assert texts[0]["mark"]["align"] == "right"
    rings = [
        layer
        for layer in _layers(left)
        if layer["mark"]["type"] == "point" and layer["mark"].get("filled") is False
    ]
    assert len(rings) == 1


def test_funnel_inputs_pick_the_limits_the_flags_rest_on():
    plain = _prescribing("none")
    _, limits = fc.funnel_inputs(plain)
    assert set(limits["method"]) == {"exact"} and set(limits["adjustment"]) == {"none"}
    widened = _prescribing("multiplicative")
    assert widened.phi > 1
    _, limits = fc.funnel_inputs(widened)
    assert set(limits["adjustment"]) == {"multiplicative phi"}
    assert len(limits) == 4 * limits["denominator"].nunique()
    # The flags sit on the same limits: every "within" unit is inside the drawn curves.
    units = widened.units
    within = units[units["flag"] == fp.FLAG_WITHIN]
    upper = limits[limits["limit"] == "95% upper"].sort_values("denominator")
    curve = np.interp(within["denominator"], upper["denominator"], upper["value"])
    assert (within["value"].to_numpy() <= curve + 1e-9).all()


def test_ratio_funnel_for_workbook_02():
    # O/E referrals: 3 practices, expected 50, 100 and 400; observed 80, 100 and 300.
    result = fp.funnel("ratio", [80, 100, 300], [50, 100, 400], units=["P1", "P2", "P3"])
    units, limits = fc.funnel_inputs(result)
    spec = fc.funnel_chart(
        units,
        limits,
        target=result.target,
        value_title="Observed / expected referrals",
        denominator_title="Expected referrals",
        title="GP referrals",
        source="Synthetic data",
        value_format=".2f",
        highlight="P1",
    )
    assert spec["datasets"]["target"][0]["text"] == "Target 1.00"
    # 80 / 50 = 1.6: above the exact 99.8% limit for E = 50 (about 1.48), so an alarm.
    assert (
        "Highlighted: P1, 1.60 on a denominator of 50, above 99.8% (alarm)" in spec["description"]
    )


def test_renders_an_accessible_svg_without_vega_errors(capfd):
    result = _prescribing()
    units, limits = fc.funnel_inputs(result)
    spec = fc.funnel_chart(units, limits, target=result.target, highlight="WM001", **WORDS)
    svg = charts.to_svg(spec)
    err = capfd.readouterr().err
    assert "ERROR" not in err and "WARN" not in err, err
    assert svg.startswith('<svg role="img" aria-label="Funnel plot of 48 points')
    assert f"Target {result.target:.1%}" in svg and "WM001" in svg
    assert len(re.findall(r">WM0\d\d<", svg)) == 1  # only the highlighted practice is named


def test_reused_structure_draws_what_a_fresh_build_draws():
    units, limits = _toy()
    fc.funnel_chart(units, limits, target=0.05, highlight="A", **WORDS)
    moved = units.assign(value=units["value"] + 0.01)
    reused = fc.funnel_chart(moved, limits, target=0.06, highlight="A", **WORDS)
    charts._TEMPLATES.clear()
    fresh = fc.funnel_chart(moved, limits, target=0.06, highlight="A", **WORDS)
    assert reused == fresh
    assert charts.to_svg(reused) == charts.to_svg(fresh)


@pytest.mark.parametrize(
    ("value", "d3", "expected"),
    [
        (0.04811, ".1%", "4.8%"),
        (12345.6, ",.0f", "12,346"),
        (-2.5, ".2f", "\u22122.50"),
        (1234, "$,.0f", "£1,234"),
        (-1234, "$,.0f", "\u2212£1,234"),
        (2.0716, ",~r", "2.072"),
        (7.0, "d", "7"),
    ],
)
def test_python_format_matches_d3(value, d3, expected):
    assert fc.python_format(value, d3) == expected


def _bad(change):
    units, limits = _toy()
    kwargs = {"target": 0.05, **WORDS}
    units, limits, kwargs = change(units.copy(), limits.copy(), kwargs)
    return lambda: fc.funnel_chart(units, limits, **kwargs)


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (lambda u, lim, k: (u.drop(columns="flag"), lim, k), "needs column"),
        (lambda u, lim, k: (u.assign(unit="A"), lim, k), "'A' repeats"),
        (lambda u, lim, k: (u.assign(flag="odd"), lim, k), "found 'odd'"),
        (lambda u, lim, k: (u.assign(denominator=0.0), lim, k), "above 0"),
        (lambda u, lim, k: (u, lim.assign(limit="90% upper"), k), "found '90% upper'"),
        (lambda u, lim, k: (u, lim.iloc[1:], k), "at least 2 points"),
        (lambda u, lim, k: (u, lim, {**k, "target": float("nan")}), "finite number"),
        (lambda u, lim, k: (u, lim, {**k, "target": "high"}), "must be a number"),
        (lambda u, lim, k: (u, lim, {**k, "value_format": "percent"}), "d3 number format"),
        (lambda u, lim, k: (u, lim, {**k, "width": 5}), "120 to 1200"),
        (lambda u, lim, k: (u, lim, {**k, "highlight": "Z"}), "Cannot highlight 'Z'"),
        (lambda u, lim, k: (u.assign(value=np.nan), lim, k), "must be a number in every row"),
    ],
)
def test_bad_input_gets_a_plain_message(change, words):
    with pytest.raises(ChartDataError, match=re.escape(words)):
        _bad(change)()
