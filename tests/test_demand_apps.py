"""The demand-management apps (workbook 02) driven headless: controls in, model figures out; the
chart builders; the quiz and the simulator's checks against queueing theory."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pbc_lib import charts, data, demand_charts
from pbc_lib.apps import rtt_simulator as rtt
from pbc_lib.apps import scheme_designer as sd
from pbc_lib.apps.referrals import ReferralExplorer
from pbc_lib.content import demand_management
from pbc_lib.models import demand as dm
from pbc_lib.models import funnel as fn
from pbc_lib.models import waiting_list as wl
from pbc_lib.quiz import MultipleChoice, NumericAnswer


@pytest.fixture
def referrals():
    return ReferralExplorer(practice_id="WM001")


@pytest.fixture
def designer():
    return sd.SchemeDesigner()


@pytest.fixture
def simulator():
    return rtt.RttSimulator()


def _views(app, names):
    return [getattr(app, n) for n in names]


# --- the referral explorer ----------------------------------------------------------------------
def test_referral_explorer_starts_with_two_charts_and_labels_the_first_attendance_ratio(
    referrals,
):
    for view in _views(referrals, ("pathway_view", "funnel_view")):
        assert "<svg" in view.svg and charts.chart_meta(view.chart)["source"]
    assert referrals.errors.message == ""
    text = referrals.text.value
    assert "Bridge End Surgery" in text and "from every source" in text
    # The PCT's first attendances per GP referral, worked from the raw table (2006/07).
    act = data.load_activity()
    year = act.loc[act["financial_year"] == "2006/07"].groupby("pod")["activity"].sum()
    ratio = year["op_first"] / year["gp_referral"]
    assert f"{ratio:.2f} per GP referral" in text
    subtitle = charts.chart_meta(referrals.pathway_view.chart)["subtitle"]
    assert f"per GP referral: {ratio:.2f}" in subtitle


def test_pathway_and_cost_charts_hold_the_practices_own_figures(referrals):
    referrals.practice.value = "WM004"
    act, lists = data.load_activity(), data.load_list_sizes()
    mine = act.loc[(act["practice_id"] == "WM004") & (act["financial_year"] == "2006/07")]
    counts = mine.set_index("pod")["activity"]
    size = lists.loc[
        (lists["practice_id"] == "WM004") & (lists["financial_year"] == "2006/07"),
        "registered_patients",
    ].iloc[0]
    spec = charts.spec_of(referrals.pathway_view.chart)
    shown = pd.DataFrame(spec["datasets"]["main"])
    practice = shown.loc[shown["series"] == "Highfield Health Centre"].set_index("step")["per_1000"]
    assert practice["GP referrals"] == pytest.approx(counts["gp_referral"] / size * 1000)
    prices = data.load_prices()
    p = prices.loc[prices["financial_year"] == "2006/07"].set_index("pod")["unit_price_gbp"]
    by_hand = sum(counts[pod] * p[pod] for pod in dm.PRICED_STEPS)
    cost = pd.DataFrame(spec["datasets"]["cost"])
    assert "GP referrals" not in set(cost["step"])  # referrals have no price
    assert cost.loc[cost["series"] == "Highfield Health Centre", "cost"].sum() == pytest.approx(
        by_hand
    )
    assert referrals.report.cost == pytest.approx(by_hand)


def test_funnel_holds_every_practice_and_highlights_the_chosen_one(referrals):
    spec = charts.spec_of(referrals.funnel_view.chart)
    points = pd.DataFrame(spec["datasets"]["main"])
    assert len(points) == len(data.load_practices())
    label = pd.DataFrame(spec["datasets"]["label"])
    assert label["text"].tolist() == ["Bridge End Surgery"]
    funnel_before = referrals.funnel()
    referrals.practice.value = "WM004"
    label = pd.DataFrame(charts.spec_of(referrals.funnel_view.chart)["datasets"]["label"])
    assert label["text"].tolist() == ["Highfield Health Centre"]
    assert referrals.funnel() is funnel_before  # the same year and settings: not recomputed


def test_crude_expected_referrals_are_the_pct_rate_times_the_list(referrals):
    pathway_svg = referrals.pathway_view.svg
    referrals.expected.value = "crude"
    act, lists = data.load_activity(), data.load_list_sizes()
    refs = act.loc[(act["financial_year"] == "2006/07") & (act["pod"] == "gp_referral")]
    size = lists.loc[lists["financial_year"] == "2006/07"].set_index("practice_id")
    rate = refs["activity"].sum() / size["registered_patients"].sum()
    units = referrals.funnel().units.set_index("unit")
    names = data.load_practices().set_index("practice_id")["practice_name"]
    expected = size["registered_patients"] * rate
    assert units.loc[names["WM004"], "expected"] == pytest.approx(expected["WM004"])
    observed = refs.set_index("practice_id")["activity"]["WM004"]
    assert units.loc[names["WM004"], "value"] == pytest.approx(observed / expected["WM004"])
    assert referrals.pathway_view.svg == pathway_svg  # the practice's charts do not change
    assert "list size" in charts.chart_meta(referrals.funnel_view.chart)["subtitle"]


def test_overdispersion_widens_the_limits_and_flags_fewer_practices(referrals):
    exact = referrals.funnel().units["flag"]
    referrals.limits.value = "multiplicative"
    widened = referrals.funnel()
    assert widened.phi > 1  # referral rates vary far more than chance allows
    flagged = lambda flags: int((flags != fn.FLAG_WITHIN).sum())  # noqa: E731
    assert flagged(widened.units["flag"]) < flagged(exact)
    assert f"φ = {widened.phi:.1f}" in referrals.funnel_text.value


def test_bad_practice_shows_a_plain_panel():
    bad = ReferralExplorer(practice_id="XX9")
    assert isinstance(bad.failed, dm.DemandError)
    assert "no practice with the code 'XX9'" in bad.errors.message


def test_a_failing_refresh_keeps_the_charts_and_explains(monkeypatch, referrals):
    before = referrals.pathway_view.svg

    def broken(*args, **kwargs):
        raise RuntimeError("internal detail")

    monkeypatch.setattr(dm, "referral_pathway", broken)
    referrals.practice.value = "WM004"
    assert referrals.errors.visible and "internal detail" not in referrals.errors.value
    assert referrals.pathway_view.svg == before


# --- the scheme designer ------------------------------------------------------------------------
def test_default_design_loses_money_and_case_management_almost_always_does(designer):
    assert designer.errors.message == ""
    parts = {s.name: designer.simulate([s]) for s in designer.schemes()}
    case = next(r for name, r in parts.items() if "case manager" in name)
    assert case.loss_probability > 0.95  # the Evercare point
    assert "Case management rarely pays for itself" in designer.text.value
    assert designer.result.loss_probability > 0.5
    # the histogram's bins hold every draw once
    bins = pd.DataFrame(charts.spec_of(designer.histogram_view.chart)["datasets"]["main"])
    assert bins["share"].sum() == pytest.approx(1.0)


def test_who_gains_chart_matches_the_simulation_and_the_accounts_balance(designer):
    shown = pd.DataFrame(charts.spec_of(designer.gains_view.chart)["datasets"]["main"])
    shown = shown.set_index("party")
    r = designer.result
    assert shown.loc[sd.PARTIES["pct"], "median"] == pytest.approx(np.median(r.pct))
    assert shown.loc[sd.PARTIES["acute_income"], "median"] == pytest.approx(
        np.median(r.acute_income)
    )
    # Every draw: practice + PCT = net saving = acute payments avoided - scheme cost.
    assert np.allclose(r.practice + r.pct, r.acute_saving - r.scheme_cost)
    assert np.all(r.practice >= 0)


def test_bolton_button_loads_the_models_illustrative_scenario(designer):
    designer.bolton_button.click()
    assert designer.is_bolton
    expected = sd.bolton_result()
    assert np.array_equal(designer.result.net_saving, expected.net_saving)
    assert "Illustrative" in designer.text.value and "not verified" in designer.text.value
    assert "illustrative" in charts.chart_meta(designer.histogram_view.chart)["title"]
    assert "illustrative only" in designer.headline_html()
    designer.case_managers.value = 10
    assert not designer.is_bolton and "Illustrative" not in designer.text.value
    designer.reset_button.click()
    assert designer.settings() == sd.defaults()


def test_the_2007_marginal_rate_halves_what_case_management_saves(designer):
    designer.scope.value = 0  # case management alone
    full = designer.result.acute_saving.copy()
    designer.marginal.value = dm.EMERGENCY_MARGINAL_RATE_2007
    assert np.allclose(designer.result.acute_saving, 0.5 * full)  # same seed, same draws


def test_savings_share_and_induced_demand(designer):
    designer.case_managers.value = 0  # the assessment service alone
    designer.share.value = sd.SAVINGS_SHARE_2004
    r = designer.result
    assert np.allclose(r.practice, 0.5 * np.maximum(r.net_saving, 0))
    low = np.median(designer.result.net_saving)
    designer.induced.value = 1.0
    assert np.median(designer.result.net_saving) < low  # new demand eats the saving


def test_no_scheme_shows_a_plain_panel_and_keeps_the_charts(designer):
    designer.case_managers.value = 0  # the assessment service alone: still a scheme
    before = designer.histogram_view.svg
    designer.scope.value = 0
    assert designer.errors.visible and "Choose at least one scheme" in designer.errors.message
    assert designer.histogram_view.svg == before


def test_locality_referrals_come_from_the_data():
    act, practices = data.load_activity(), data.load_practices()
    ids = practices.loc[practices["locality"] == "City North", "practice_id"]
    rows = act.loc[
        (act["financial_year"] == "2006/07")
        & (act["pod"] == "gp_referral")
        & act["practice_id"].isin(ids)
    ]
    assert sd.area_referrals(act, practices, "City North") == rows["activity"].sum()
    with pytest.raises(dm.DemandError, match="no locality"):
        sd.area_referrals(act, practices, "Atlantis")


# --- the 18-week simulator ----------------------------------------------------------------------
def test_simulator_starts_with_two_charts_and_the_list_from_the_model(simulator):
    assert simulator.errors.message == ""
    for view in _views(simulator, ("weeks_view", "explosion_view")):
        assert "<svg" in view.svg
    shown = pd.DataFrame(charts.spec_of(simulator.weeks_view.chart)["datasets"]["lists"])
    total = shown.loc[shown["series"] == rtt.LIST_SERIES[0], "value"].to_numpy()
    assert total == pytest.approx(np.median(simulator.result.op_list + simulator.result.ip_list, 0))
    # The starting demand: the PCT's 2006/07 GP referrals / 52 x the 15% assumed in scope.
    act = data.load_activity()
    refs = act.loc[(act["financial_year"] == "2006/07") & (act["pod"] == "gp_referral")]
    assert simulator.demand.value == round(refs["activity"].sum() / 52 * 0.15)


def test_periods_pool_four_weeks_of_completed_pathways(simulator):
    r, periods = simulator.result, simulator.period_table
    # weeks 5-8, by hand: patients treated x their share within 18 weeks, over patients treated
    done, share = r.ip_treated[:, 4:8], np.nan_to_num(r.admitted_within[:, 4:8])
    by_hand = (done * share).sum(1) / done.sum(1)
    row = periods.set_index("week").loc[8]
    assert row["admitted"] == pytest.approx(np.median(by_hand))
    assert row["admitted_met"] == pytest.approx(np.mean(by_hand >= 0.90))
    within = pd.DataFrame(charts.spec_of(simulator.weeks_view.chart)["datasets"]["within"])
    admitted = within.loc[within["series"] == rtt.WITHIN_SERIES[0]].set_index("week")["value"]
    assert admitted[8] == pytest.approx(np.median(by_hand))
    rules = pd.DataFrame(charts.spec_of(simulator.weeks_view.chart)["datasets"]["rules"])
    assert sorted(rules["value"]) == [0.90, 0.95]


def test_more_capacity_meets_the_standards_by_december_2008(simulator):
    start = simulator.deadline_row()
    assert start["admitted"] < wl.ADMITTED_STANDARD  # the starting scenario misses
    simulator.op_capacity.value = 180
    simulator.ip_capacity.value = 50
    after = simulator.deadline_row()
    assert after["admitted"] >= wl.ADMITTED_STANDARD and after["admitted_met"] >= 0.5
    assert after["non_admitted"] >= wl.NON_ADMITTED_STANDARD
    assert "can shrink" in simulator.text.value
    end = simulator.weekly["total_list"].iloc[-1]
    assert end < simulator.weekly["total_list"].iloc[0]


def test_demand_above_capacity_grows_the_list_and_moves_the_marker(simulator):
    curve = charts.spec_of(simulator.explosion_view.chart)["datasets"]["main"]
    simulator.holidays.value = False
    assert simulator.load() == pytest.approx(simulator.demand.value / simulator.op_capacity.value)
    simulator.demand.value = 200
    assert simulator.load() > 1 and "grows without limit" in simulator.text.value
    w = simulator.weekly["total_list"]
    assert w.iloc[-1] > w.iloc[0] + 100 * 30  # ~40 more a week than capacity for two years
    spec = charts.spec_of(simulator.explosion_view.chart)
    assert spec["datasets"]["main"] == curve  # the curve is fixed; only the marker moves
    assert spec["datasets"]["marker"][0]["text"] == f"Your setting: {simulator.load():.0%}"


def test_controls_that_leave_the_load_alone_do_not_redraw_the_explosion(simulator):
    drawn = simulator.explosion_view.svg
    simulator.ip_capacity.value = 60
    simulator.op_start.value = 3000
    assert simulator.explosion_view.svg is drawn
    simulator.holidays.value = False  # average capacity, and so the load, changes
    assert simulator.explosion_view.svg != drawn


def test_holiday_weeks_cut_capacity_by_the_stated_share(simulator):
    op, ip = simulator.capacities()
    weeks = np.isin(np.arange(rtt.WEEKS) % 52, wl.HOLIDAY_WEEKS)
    assert op[weeks] == pytest.approx(simulator.op_capacity.value * wl.HOLIDAY_CAPACITY)
    assert ip[~weeks] == pytest.approx(simulator.ip_capacity.value)


def test_simulator_failure_keeps_the_charts(monkeypatch, simulator):
    before = simulator.weeks_view.svg

    def broken(*args, **kwargs):
        raise wl.WaitingListError("The list may hold at most 10 patients; got 11.")

    monkeypatch.setattr(wl, "simulate_rtt", broken)
    simulator.demand.value = 100
    assert simulator.errors.message == "The list may hold at most 10 patients; got 11."
    assert simulator.weeks_view.svg == before


def test_deadline_week_holds_31_december_2008():
    from datetime import timedelta

    first_day = rtt.START + timedelta(weeks=rtt.DEADLINE_WEEK - 1)
    assert first_day <= rtt.DEADLINE < first_day + timedelta(weeks=1)


# --- chart builders -----------------------------------------------------------------------------
def test_histogram_bins_put_zero_on_an_edge_and_keep_every_draw():
    values = np.random.default_rng(1).normal(-500, 1000, 5000)
    bins = demand_charts.histogram_bins(values, bins=20)
    edges = np.concatenate([bins["start"], bins["end"].iloc[-1:]])
    assert np.isclose(edges, 0).any()
    assert bins["share"].sum() == pytest.approx(1.0)
    loss = bins.loc[bins["outcome"] == "Loses money", "share"].sum()
    assert loss == pytest.approx(np.mean(values < 0))


def test_chart_builders_reject_bad_input():
    with pytest.raises(charts.ChartDataError, match="two series"):
        demand_charts.pathway_chart(
            pd.DataFrame(
                {"step": ["a"] * 3, "series": list("xyz"), "per_1000": [1.0] * 3, "cost": 1.0}
            ),
            price_year="2006/07",
            title="t",
        )
    frame = pd.DataFrame(
        {
            "load": [0.5],
            "list_mean": [1.0],
            "list_low": [0.0],
            "list_high": [2.0],
            "steady_list": [0.5],
        }
    )
    with pytest.raises(charts.ChartDataError, match="current load"):
        demand_charts.explosion_chart(frame, current_load=float("nan"), title="t", source="s")
    with pytest.raises(charts.ChartDataError, match="needs column"):
        demand_charts.gains_chart(
            pd.DataFrame({"party": ["a"]}), interval=0.9, title="t", source="s"
        )


# --- content ------------------------------------------------------------------------------------
def test_quiz_starts_with_multiple_choice_and_marks_answers():
    quiz = demand_management.quiz()
    questions = quiz.questions
    assert isinstance(questions[0], MultipleChoice) and len(questions) == 3
    assert isinstance(questions[1], NumericAnswer)
    first = questions[0]
    first.control.value = "They fell by about 15%"
    assert first.check() is False
    first.control.value = first.answer
    assert first.check() is True and "Gravelle" in first.feedback.value
    numeric = questions[1]
    numeric.control.value = "7.8"  # 18 / ln 10 = 7.82
    assert numeric.check() is True


def test_queue_checks_agree_with_theory():
    table = demand_management.queue_checks(rtt.explosion(float(rtt.OP_CAPACITY)))
    rows = table.set_index("Check")
    little = rows.loc["Little's law: list = throughput × mean wait"]
    assert float(little["Queueing theory"]) == pytest.approx(float(little["Simulator"]), rel=0.02)
    wait = rows.iloc[0]
    assert float(wait["Simulator"]) == pytest.approx(float(wait["Queueing theory"]), rel=0.1)
    for _, row in rows.iloc[4:].iterrows():  # Kingman's formula is an upper bound here
        assert float(row["Simulator"]) <= float(row["Queueing theory"])
