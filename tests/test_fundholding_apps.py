"""The fundholding apps (workbook 03) driven headless: controls in, model figures out; the content
tables and quiz; the chart builders' plain errors."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from pbc_lib import charts, data, risk_charts
from pbc_lib.apps import configurations as cf
from pbc_lib.apps import risk_by_size as rbs
from pbc_lib.apps.configurations import Configurations
from pbc_lib.apps.risk_by_size import RiskBySize
from pbc_lib.content import fundholding
from pbc_lib.models import budget_risk as br
from pbc_lib.models import transaction_costs as tc

PRACTICES = data.load_practices()
FUNDHOLDING = br.scope_costs(data.load_patient_costs(), "fundholding")


@pytest.fixture(scope="module")
def risk_app():
    return RiskBySize(practice_id="WM001")


@pytest.fixture
def risk(risk_app):
    """The module's app, put back to its starting settings (a fresh one takes ~1 s to build)."""
    a = risk_app
    a.practice.value, a.scope.value, a.measure.value = "WM001", "fundholding", "bad_year"
    a.stop_loss.value, a.years.value, a.pool.value = 6_000, br.BALANCE_YEARS, 1
    return a


@pytest.fixture(scope="module")
def config_app():
    return Configurations()


@pytest.fixture
def config(config_app):
    a = config_app
    a.chosen.value = "locality clusters"
    a.allowance.value = tc.FUNDHOLDING_ALLOWANCE_SHARE
    a.locality_cost.value = int(tc.LOCALITY_FIXED_COST_GBP)
    a.pct_cost.value = tc.PCT_FIXED_COST_GBP
    return a


# --- the risk app --------------------------------------------------------------------------------
def test_risk_app_starts_with_both_charts_and_no_error(risk):
    for view in (risk.curve_view, risk.protection_view):
        assert "<svg" in view.svg and charts.chart_meta(view.chart)["source"]
    assert risk.errors.message == "" and risk.failed is None
    assert "Bridge End Surgery" in risk.text.value


def test_curve_is_the_models_risk_curve(risk):
    shown = charts.chart_data(risk.curve_view.chart, main=True)
    capped = shown.loc[shown["series"] == "£6,000 stop-loss"].sort_values("n_people")
    expected = br.risk_curve(FUNDHOLDING, rbs.CURVE_SIZES, rbs.CURVE_YEARS, 6_000.0, seed=rbs.SEED)
    assert list(capped["n_people"]) == list(rbs.CURVE_SIZES)
    assert capped["value"].to_numpy() == pytest.approx(expected["overspend_p95_pct"] / 100)
    assert set(shown["series"]) == {"No stop-loss", "£6,000 stop-loss"}


def test_marked_holders_are_the_practice_its_locality_and_the_pcts(risk):
    marks = risk.curve_view.chart["datasets"]["marks"]
    sizes = [m["n_people"] for m in marks]
    me = PRACTICES.set_index("practice_id").loc["WM001"]
    locality = PRACTICES.loc[PRACTICES["locality"] == me["locality"], "list_size"].sum()
    old_pct = PRACTICES.loc[PRACTICES["predecessor_pct"] == me["predecessor_pct"], "list_size"]
    assert sizes == [me["list_size"], locality, old_pct.sum(), PRACTICES["list_size"].sum()]
    # each mark is the model's figure for that size at the full number of years
    alone = br.risk_curve(
        FUNDHOLDING, [int(me["list_size"])], rbs.HOLDER_YEARS, 6_000.0, seed=rbs.SEED
    )
    assert marks[0]["value"] == pytest.approx(alone["overspend_p95_pct"].iloc[0] / 100)
    assert "Bridge End Surgery (3,305)" in marks[0]["label"]


def test_bigger_holders_carry_less_risk(risk):
    h = risk.holders()
    assert h["n_people"].is_monotonic_increasing
    assert h["overspend_p95_pct"].is_monotonic_decreasing


def test_no_stop_loss_draws_one_line_and_raises_the_risk(risk):
    capped = risk.holders()["overspend_p95_pct"].iloc[0]
    risk.stop_loss.value = rbs.NO_CAP
    shown = charts.chart_data(risk.curve_view.chart, main=True)
    assert set(shown["series"]) == {"No stop-loss"}
    assert risk.holders()["overspend_p95_pct"].iloc[0] > capped
    assert "no stop-loss" in risk.text.value
    assert "Blue line: no stop-loss" in charts.chart_meta(risk.curve_view.chart)["subtitle"]


def test_crump_points_appear_with_his_measure_only(risk):
    assert "crump" not in risk.curve_view.chart["datasets"]
    risk.measure.value = "spread"
    crump = pd.DataFrame(risk.curve_view.chart["datasets"]["crump"])
    assert list(crump["n_people"]) == [9_000, 24_000, 179_400]
    assert list(crump["value"]) == pytest.approx([0.275, 0.153, 0.057])
    assert "Crump" in charts.chart_meta(risk.curve_view.chart)["source"]


def test_surgery_alone_swings_more_than_the_fundholding_scope(risk):
    risk.measure.value = "spread"
    wide = charts.chart_data(risk.curve_view.chart, main=True)
    risk.scope.value = "elective_inpatient"
    narrow = charts.chart_data(risk.curve_view.chart, main=True)
    for series in wide["series"].unique():
        a = wide.loc[wide["series"] == series, "value"].to_numpy()
        b = narrow.loc[narrow["series"] == series, "value"].to_numpy()
        assert (b > a).all(), series


def test_each_protection_lowers_the_risk(risk):
    risk.years.value, risk.pool.value = 3, 4
    steps = risk.protection().set_index("step")["overspend_p95_pct"]
    assert list(steps.index) == [
        "No protection",
        "Stop-loss",
        "Stop-loss + 3-year balance",
        "Stop-loss + pool of 4",
        "All three",
    ]
    assert steps["Stop-loss"] < steps["No protection"]
    assert steps["Stop-loss + 3-year balance"] < steps["Stop-loss"]
    assert steps["Stop-loss + pool of 4"] < steps["Stop-loss"]
    assert steps["All three"] == steps.min()
    assert "The pool: Bridge End Surgery" in risk.protection_text.value


def test_pooling_as_one_budget_matches_the_members_simulated_one_by_one(risk):
    members = rbs.pool_members(PRACTICES, "WM001", 4)
    total = int(members["list_size"].sum())
    one = risk.pool_risk(total)
    each = br.pooled_risk(
        FUNDHOLDING, list(members["list_size"]), n_years=rbs.HOLDER_YEARS, cap=6_000.0, seed=7
    ).iloc[-1]
    assert one["budget_gbp"] == pytest.approx(each["budget_gbp"])
    # Monte Carlo: the 95th percentile of 10,000 years moves by ~0.1% of budget between seeds
    assert one["overspend_p95_pct"] == pytest.approx(each["overspend_p95_pct"], abs=0.3)
    assert one["cv"] == pytest.approx(each["cv"], rel=0.05)


def test_balancing_and_pooling_redraw_only_the_protection_chart(risk, monkeypatch):
    drawn = []
    monkeypatch.setattr(risk.curve_view, "update", lambda *a, **k: drawn.append("curve"))
    before = risk.protection_view.svg
    risk.years.value = 2
    risk.pool.value = 3
    assert drawn == [] and risk.protection_view.svg != before
    assert risk.errors.message == ""


def test_pool_members_start_with_the_practice_and_its_locality():
    pool = rbs.pool_members(PRACTICES, "WM034", 5)
    assert pool["practice_id"].iloc[0] == "WM034" and pool["practice_id"].is_unique
    locality = PRACTICES.set_index("practice_id").loc["WM034", "locality"]
    local = int((PRACTICES["locality"] == locality).sum())
    assert (pool["locality"].iloc[: min(5, local)] == locality).all()
    big = rbs.pool_members(PRACTICES, "WM034", rbs.MAX_POOL)
    assert len(big) == rbs.MAX_POOL  # spills into the rest of the PCT
    with pytest.raises(rbs.RiskAppError, match="1 to 10"):
        rbs.pool_members(PRACTICES, "WM034", 0)


def test_an_unknown_practice_shows_a_plain_panel():
    bad = RiskBySize(practice_id="XX9")
    assert isinstance(bad.failed, rbs.RiskAppError)
    assert "no practice with the code 'XX9'" in bad.errors.message
    assert "Traceback" not in bad.errors.value


def test_a_failing_refresh_keeps_the_charts_and_explains(risk, monkeypatch):
    before = risk.curve_view.svg

    def broken(*args, **kwargs):
        raise RuntimeError("internal detail")

    monkeypatch.setattr(br, "risk_curve", broken)
    risk.stop_loss.value = 15_000  # a setting not simulated before
    assert risk.errors.visible and "internal detail" not in risk.errors.value
    assert risk.curve_view.svg == before
    monkeypatch.undo()
    risk.stop_loss.value = 6_000
    assert not risk.errors.visible


def test_risk_headline_is_the_marked_holders(risk):
    table = risk.headline()
    assert list(table["People"]) == list(risk.holders()["n_people"])
    assert table["Budget holder"].iloc[2].startswith("PCT before the merger:")
    budget = table["Budget (£ a year)"].iloc[0]
    per_head = br.practice_part(FUNDHOLDING, 6_000).mean()  # the fair budget under the cap
    assert budget == pytest.approx(3_305 * per_head)
    assert "£6,000 stop-loss" in risk.headline_html()


# --- the configurations app ----------------------------------------------------------------------
def test_configurations_start_from_the_model(config):
    shown = config.table().set_index("configuration")
    model = tc.configuration_table(
        PRACTICES, FUNDHOLDING, tc.DEFAULT_COSTS, cf.K, cf.YEARS, rbs.SEED
    ).set_index("configuration")
    for column in ("management_cost_gbp", "management_per_head_gbp", "budget_gbp"):
        assert shown[column].to_numpy() == pytest.approx(model[column].to_numpy())
    for column in ("overspend_p95_pct_median", "overspend_p95_pct_worst", "p_overspend_worst"):
        assert shown[column].to_numpy() == pytest.approx(model[column].to_numpy())
    assert "<svg" in config.view.svg and "<svg" in config.relationship_view.svg
    assert config.errors.message == ""


def test_allowance_changes_only_the_fundholders_cost(config):
    before = config.table().set_index("configuration")
    config.allowance.value = 0.03
    after = config._table.set_index("configuration")
    people = PRACTICES["list_size"].sum()
    budget = people * FUNDHOLDING.mean()
    # 3% of the whole budget plus one PCT behind the fundholders, per head
    expected = (0.03 * budget + tc.PCT_FIXED_COST_GBP) / people
    assert after.loc["single-practice fundholders", "management_per_head_gbp"] == pytest.approx(
        expected
    )
    others = ["locality clusters", "three PCTs of ~100,000", "one PCT of ~300,000"]
    assert after.loc[others, "management_cost_gbp"].to_numpy() == pytest.approx(
        before.loc[others, "management_cost_gbp"].to_numpy()
    )
    assert after["overspend_p95_pct_worst"].equals(before["overspend_p95_pct_worst"])


def test_locality_and_pct_costs_by_hand(config):
    config.locality_cost.value = 200_000
    config.pct_cost.value = 1_000_000.0
    t = config._table.set_index("configuration")
    people = PRACTICES["list_size"].sum()
    # 7 clusters × £200,000 + £1.90 × people + one PCT of £1m
    assert t.loc["locality clusters", "management_cost_gbp"] == pytest.approx(
        7 * 200_000 + 1.90 * people + 1_000_000
    )
    assert t.loc["three PCTs of ~100,000", "management_cost_gbp"] == pytest.approx(3_000_000)
    assert t.loc["one PCT of ~300,000", "management_cost_gbp"] == pytest.approx(1_000_000)


def test_choosing_a_configuration_does_not_recompute_costs(config, monkeypatch):
    calls = []
    monkeypatch.setattr(tc, "configuration_table", lambda *a, **k: calls.append(1))
    config.chosen.value = "single-practice fundholders"
    assert calls == [] and config.errors.message == ""
    chosen = pd.DataFrame(config.view.chart["datasets"]["main"]).set_index("configuration")
    assert chosen.loc["Single-practice fundholders", "chosen"]
    assert "48 budget holder(s)" in config.text.value


def test_relationships_count_practices_and_localities():
    r = cf.relationships(PRACTICES).set_index("pct")
    merged = r.loc["Wyndmoor PCT, merged"]
    assert merged["practices"] == len(PRACTICES)
    assert merged["localities"] == PRACTICES["locality"].nunique()
    assert r.drop(index="Wyndmoor PCT, merged")["practices"].sum() == len(PRACTICES)


def test_cost_models_reject_out_of_range_figures():
    with pytest.raises(cf.ConfigurationError, match="allowance"):
        cf.cost_models(0.5, 100_000, 1e6)
    with pytest.raises(cf.ConfigurationError, match="locality"):
        cf.cost_models(0.02, -1, 1e6)


def test_configuration_headline_lists_every_configuration(config):
    table = config.headline()
    assert list(table["Budget holders"]) == [48, 7, 3, 1]
    assert "allowance 2.0% of budget" in config.headline_html()


# --- content -------------------------------------------------------------------------------------
def test_every_comparison_cell_names_a_source():
    table = fundholding.comparison()
    assert list(table.columns) == ["", fundholding.FUNDHOLDING, fundholding.PBC]
    for cell in table[fundholding.FUNDHOLDING].tolist() + table[fundholding.PBC].tolist():
        assert re.search(r"\([^()]+\)\.$", cell), f"no closing citation: {cell}"


def test_timeline_rows_come_from_the_data_in_date_order():
    rows = fundholding.timeline()
    dates = pd.to_datetime(rows["Date"], format="%d %b %Y")
    assert dates.is_monotonic_increasing and dates.max() <= pd.Timestamp("2006-12-31")
    events = set(data.load_table("timeline")["event"])
    assert set(rows["Event"]) <= events and "Stop-loss cap raised from £5,000 to £6,000" in events


def test_crump_table_holds_his_figures_and_the_models():
    t = fundholding.crump_table()
    assert list(t["Crump et al. 1991: spread"]) == pytest.approx([0.275, 0.153, 0.057])
    # Crump's spreads come from 100 simulated years: the model should be within ±20% of them
    ratio = t["Model, elective inpatient: spread"] / t["Crump et al. 1991: spread"]
    assert ratio.between(0.8, 1.2).all()
    assert (t["Model, fundholding scope: spread"] < t["Model, elective inpatient: spread"]).all()


def test_quiz_marks_answers():
    quiz = fundholding.quiz()
    assert isinstance(quiz.questions[0], fundholding.MultipleChoice)
    quiz.questions[0].control.value = "The surgical procedures covered by the fund"
    assert quiz.questions[0].check()
    numeric = quiz.questions[1]
    numeric.control.value = "2%"
    assert numeric.check()
    numeric.control.value = "1"
    assert not numeric.check()


# --- chart builders ------------------------------------------------------------------------------
def test_chart_builders_explain_bad_input():
    curve = pd.DataFrame({"n_people": [1_000], "value": [0.1], "series": ["a"]})
    marks = pd.DataFrame({"n_people": [1_000] * 5, "value": [0.1] * 5, "label": list("abcde")})
    with pytest.raises(charts.ChartDataError, match="at most 4"):
        risk_charts.risk_curve_chart(curve, marks, measure_title="m", title="t", source="s")
    with pytest.raises(charts.ChartDataError, match="needs column"):
        risk_charts.risk_curve_chart(
            curve.drop(columns="series"), marks.head(1), measure_title="m", title="t", source="s"
        )
    steps = pd.DataFrame({"step": ["a", "a"], "value": [0.1, 0.2]})
    with pytest.raises(charts.ChartDataError, match="own label"):
        risk_charts.protection_chart(steps, measure_title="m", title="t", source="s")
    configs = pd.DataFrame(
        {"configuration": ["x"], "cost_per_head": [1.0], "risk_median": [0.1], "risk_worst": [0.2]}
    )
    with pytest.raises(charts.ChartDataError, match="Cannot highlight"):
        risk_charts.configuration_chart(configs, highlight="y", y_title="r", title="t", source="s")


def test_curve_description_carries_the_key_numbers(risk):
    description = charts.chart_meta(risk.curve_view.chart)["description"]
    first = risk.holders()["overspend_p95_pct"].iloc[0] / 100
    assert f"Bridge End Surgery (3,305) {first:.1%}" in description
    assert np.isfinite(first)
