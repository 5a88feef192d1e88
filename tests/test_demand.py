"""Hand-computed cases and invariants for pbc_lib.models.demand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pbc_lib import data
from pbc_lib.models import demand as dm

LISTS = pd.DataFrame(
    {
        "practice_id": ["A", "B"],
        "financial_year": ["2006/07"] * 2,
        "registered_patients": [1000, 3000],
    }
)
# A: 200 referrals, 400 firsts, 1000 follow-ups, 20 electives, 40 day cases.
# B: 400 referrals, 800 firsts, 1600 follow-ups, 40 electives, 140 day cases.
ACTIVITY = pd.DataFrame(
    {
        "practice_id": ["A"] * 5 + ["B"] * 5,
        "financial_year": ["2006/07"] * 10,
        "pod": ["gp_referral", "op_first", "op_follow_up", "elective_inpatient", "day_case"] * 2,
        "activity": [200, 400, 1000, 20, 40, 400, 800, 1600, 40, 140],
    }
)
PRICES = pd.DataFrame(
    {
        "financial_year": ["2006/07"] * 5 + ["2007/08"] * 5,
        "pod": ["op_first", "op_follow_up", "elective_inpatient", "day_case", "non_elective"] * 2,
        "unit_price_gbp": [200.0, 100.0, 4000.0, 800.0, 1500.0] * 1
        + [p * 1.025 for p in [200.0, 100.0, 4000.0, 800.0, 1500.0]],
        "basis": ["test"] * 10,
    }
)
POPULATION = pd.DataFrame(
    {
        "practice_id": ["A", "A", "B"],
        "sex": ["F", "M", "F"],
        "age_band": ["16-44", "85+", "16-44"],
        "persons": [500, 500, 3000],
    }
)


def fixed(value: float) -> dm.Uncertain:
    return dm.fixed(value, "test value")


# --------------------------------------------------------------------------------------------
# Referral pathway
# --------------------------------------------------------------------------------------------


def test_referral_pathway_hand_computed():
    report = dm.referral_pathway(ACTIVITY, PRICES, LISTS, "A", "2006/07")
    steps = report.steps.set_index("pod")
    # A: 200 referrals / 1,000 = 200 per 1,000; PCT 600 / 4,000 = 150 per 1,000.
    assert steps.at["gp_referral", "per_1000"] == pytest.approx(200)
    assert steps.at["gp_referral", "pct_per_1000"] == pytest.approx(150)
    # 400 firsts per 200 referrals = 2.0; PCT 1,200 / 600 = 2.0.
    assert steps.at["op_first", "ratio_to_previous"] == pytest.approx(2.0)
    # 1,000 follow-ups / 400 firsts = 2.5; PCT 2,600 / 1,200 = 2.1667.
    assert steps.at["op_follow_up", "ratio_to_previous"] == pytest.approx(2.5)
    assert steps.at["op_follow_up", "pct_ratio_to_previous"] == pytest.approx(2600 / 1200)
    # Day cases per first attendance: 40 / 400 = 0.1.
    assert steps.at["day_case", "ratio_to_previous"] == pytest.approx(0.1)
    assert np.isnan(steps.at["gp_referral", "ratio_to_previous"])
    # Cost: 400 x 200 + 1,000 x 100 + 20 x 4,000 + 40 x 800 = 80,000 + 100,000 + 80,000 +
    # 32,000 = 292,000. At PCT rates for 1,000 patients: 300 x 200 + 650 x 100 + 15 x 4,000 +
    # 45 x 800 = 60,000 + 65,000 + 60,000 + 36,000 = 221,000.
    assert report.cost == pytest.approx(292_000)
    assert report.cost_at_pct_rate == pytest.approx(221_000)
    assert report.difference == pytest.approx(71_000)
    assert report.cost_per_head == pytest.approx(292.0)


def test_referral_pathway_at_next_years_prices():
    report = dm.referral_pathway(ACTIVITY, PRICES, LISTS, "A", "2006/07", price_year="2007/08")
    assert report.cost == pytest.approx(292_000 * 1.025)
    with pytest.raises(dm.DemandError, match="no 2008/09 prices"):
        dm.referral_pathway(ACTIVITY, PRICES, LISTS, "A", "2006/07", price_year="2008/09")
    with pytest.raises(ValueError, match="no practice|no list size"):
        dm.referral_pathway(ACTIVITY, PRICES, LISTS, "Z", "2006/07")


def test_referral_pathway_on_the_data_matches_the_raw_tables():
    activity, prices, lists = data.load_activity(), data.load_prices(), data.load_list_sizes()
    report = dm.referral_pathway(activity, prices, lists, "WM001", "2006/07")
    own = activity[(activity.practice_id == "WM001") & (activity.financial_year == "2006/07")]
    price = prices[prices.financial_year == "2006/07"].set_index("pod")["unit_price_gbp"]
    counts = own.set_index("pod")["activity"]
    expected = sum(counts[p] * price[p] for p in dm.PRICED_STEPS)
    assert report.cost == pytest.approx(expected)
    assert list(report.steps["pod"]) == [p for p, _, _ in dm.PATHWAY]


# --------------------------------------------------------------------------------------------
# Expected referrals (for the funnel plot)
# --------------------------------------------------------------------------------------------


def test_expected_referrals_crude():
    out = dm.expected_referrals(ACTIVITY, LISTS, "2006/07").set_index("practice_id")
    # PCT rate 600 / 4,000 = 0.15 a head: A expects 150, B 450.
    assert out.at["A", "expected"] == pytest.approx(150)
    assert out.at["B", "expected"] == pytest.approx(450)
    assert out.at["A", "ratio"] == pytest.approx(200 / 150)
    assert out["expected"].sum() == pytest.approx(out["observed"].sum())


def test_expected_referrals_age_standardised_hand_computed():
    weights = {band: 1.0 for band in data.AGE_BANDS} | {"85+": 3.0}
    out = dm.expected_referrals(ACTIVITY, LISTS, "2006/07", POPULATION, weights)
    out = out.set_index("practice_id")
    # Age index: A = (500 x 1 + 500 x 3) / 1,000 = 2.0; B = 1.0. List-weighted mean:
    # (1,000 x 2 + 3,000 x 1) / 4,000 = 1.25. Expected A = 0.15 x 1,000 x 2 / 1.25 = 240;
    # B = 0.15 x 3,000 x 1 / 1.25 = 360. Total 600 = observed.
    assert out.at["A", "expected"] == pytest.approx(240)
    assert out.at["B", "expected"] == pytest.approx(360)
    with pytest.raises(dm.DemandError, match="every age band"):
        dm.expected_referrals(ACTIVITY, LISTS, "2006/07", POPULATION, {"85+": 1.0})


def test_expected_referrals_on_the_data_sum_to_observed():
    activity, lists = data.load_activity(), data.load_list_sizes()
    out = dm.expected_referrals(activity, lists, "2006/07", data.load_population())
    assert len(out) == 48
    assert out["expected"].sum() == pytest.approx(out["observed"].sum())
    # Overdispersed: far more spread than Poisson chance (O/E of 0.3 to 1.4 and beyond).
    z = (out["observed"] - out["expected"]) / np.sqrt(out["expected"])
    assert (z**2).mean() > 10


# --------------------------------------------------------------------------------------------
# Unit costs and assumptions
# --------------------------------------------------------------------------------------------


def test_unit_costs_per_referral_hand_computed():
    costs = dm.unit_costs(PRICES, "2006/07")
    # Published ratios: 0.92 x (200 + 2.3 x 100) = 395.6 outpatients; admissions
    # 0.92 x 0.2552 x (0.3 x 4,000 + 0.7 x 800) = 0.92 x 0.2552 x 1,760 = 413.2.
    assert costs.outpatients_per_referral == pytest.approx(395.6)
    assert costs.admissions_per_referral == pytest.approx(0.92 * dm.ADMITTED_SHARE * 1760)
    from_data = dm.unit_costs(PRICES, "2006/07", ACTIVITY)
    # PCT: 2,600 follow-ups / 1,200 firsts; 60 electives and 180 day cases per 1,200 firsts.
    assert from_data.follow_ups_per_first == pytest.approx(2600 / 1200)
    assert from_data.electives_per_first == pytest.approx(0.05)
    assert from_data.day_cases_per_first == pytest.approx(0.15)
    assert from_data.emergency == 1500.0


def test_uncertain_draws_stay_in_range_and_check_their_order():
    rng = np.random.default_rng(0)
    tri = dm.Uncertain(1, 2, 5, "test", "[U]")
    x = tri.draw(rng, 20_000)
    assert x.min() >= 1 and x.max() <= 5
    assert x.mean() == pytest.approx((1 + 2 + 5) / 3, abs=0.03)  # triangular mean
    assert np.all(dm.fixed(7, "t").draw(rng, 5) == 7)
    # A normal "95% interval" of (-1, 1) around 0 has sd 1 / 1.96.
    normal = dm.Uncertain(-1, 0, 1, "t", "[V]", "normal").draw(rng, 40_000)
    assert normal.std() == pytest.approx(1 / 1.96, rel=0.02)
    with pytest.raises(dm.DemandError, match="low ≤ central ≤ high"):
        dm.Uncertain(3, 2, 5, "bad", "[U]")


def test_case_management_effect_spans_the_evercare_null_result():
    effect = dm.CASE_MANAGEMENT_EFFECT
    # Evercare: +16.5% admissions (no significant effect); the range reaches the point estimate
    # (as 16.5% more admissions, i.e. -0.165 avoided) and is centred on no effect.
    assert effect.low <= -dm.EVERCARE_CHANGE[0] < 0 <= effect.central < effect.high
    assert dm.EVERCARE_EFFECT.central == pytest.approx(-0.165)
    assert "Gravelle" in effect.source and "[V]" in effect.tag
    table = dm.assumptions_table(dm.CaseManagement())
    assert set(table["input"]) >= {"effect", "caseload", "cost_per_manager", "marginal_rate"}
    assert table["source"].str.len().min() > 0


# --------------------------------------------------------------------------------------------
# Simulation
# --------------------------------------------------------------------------------------------
COSTS = dm.UnitCosts(200.0, 100.0, 4000.0, 800.0, 1750.0)


def fixed_case_management(effect: float = 0.2) -> dm.CaseManagement:
    return dm.CaseManagement(
        case_managers=2,
        caseload=fixed(50),
        cost_per_manager=fixed(40_000),
        admissions_per_patient=fixed(1.5),
        effect=fixed(effect),
    )


def fixed_referral_management(referrals: float = 1000) -> dm.ReferralManagement:
    return dm.ReferralManagement(
        referrals=referrals,
        share_triaged=fixed(0.8),
        share_redirected=fixed(0.25),
        share_returned=fixed(0.05),
        admission_factor=fixed(0.5),
        community_price=fixed(150),
        triage_cost=fixed(20),
        induced_per_redirected=fixed(0.2),
    )


def test_case_management_hand_computed():
    result = dm.simulate(fixed_case_management(), COSTS, draws=10_000, seed=1)
    # 2 x 50 patients x 1.5 = 150 admissions a year; 20% avoided = 30 x £1,750 = £52,500;
    # cost 2 x £40,000 = £80,000; net -£27,500. Admissions vary by chance (Poisson, sd 12.2),
    # so the net's sd is 12.2 x 0.2 x 1,750 = £4,287 and its mean over 10,000 draws is within
    # about £43 x 4 of -£27,500.
    assert result.net_saving.mean() == pytest.approx(-27_500, abs=200)
    assert np.all(result.scheme_cost == 80_000)
    assert result.loss_probability > 0.99
    assert np.all(result.practice == 0)  # no saving, nothing freed up
    assert np.allclose(result.pct, result.net_saving)  # the PCT bears the loss


def test_referral_management_hand_computed():
    result = dm.simulate(fixed_referral_management(), COSTS, draws=100, seed=1)
    # 800 triaged; 200 redirected; 40 returned; 240 kept out of hospital.
    # Per referral kept out: outpatients 0.92 x (200 + 2.3 x 100) = 395.6; admissions
    # 0.5 x 0.92 x 0.2552 x (0.3 x 4,000 + 0.7 x 800) = 0.5 x 413.2 = 206.6.
    per_referral = 395.6 + 0.5 * 0.92 * dm.ADMITTED_SHARE * 1760
    saving = 240 * per_referral
    # Costs: 800 x £20 triage + (200 redirected + 40 induced) x £150 = 16,000 + 36,000 = 52,000.
    assert np.allclose(result.referrals_avoided, 240)
    assert np.allclose(result.acute_saving, saving)
    assert np.allclose(result.scheme_cost, 52_000)
    assert np.allclose(result.community_income, 36_000)
    net = saving - 52_000
    assert np.allclose(result.net_saving, net)
    assert np.allclose(result.roi, net / 52_000)
    # Who gains: practice 70% of the net saving, PCT 30%, trust loses the tariff income.
    assert np.allclose(result.practice, 0.7 * net)
    assert np.allclose(result.pct, 0.3 * net)
    assert np.allclose(result.acute_income, -saving)


def test_scenario_adds_its_schemes_and_the_summary_has_intervals():
    both = dm.simulate([fixed_case_management(), fixed_referral_management()], COSTS, 2000, 3)
    alone = dm.simulate(fixed_referral_management(), COSTS, 2000, 3)
    assert np.allclose(both.referrals_avoided, alone.referrals_avoided)
    assert np.allclose(both.scheme_cost, 80_000 + 52_000)
    summary = dm.simulate(dm.CaseManagement(), COSTS, 5000, 2).summary(0.90).set_index("key")
    assert list(summary.columns) == ["measure", "median", "low", "high"]
    assert np.all(summary["low"] <= summary["median"]) and np.all(
        summary["median"] <= summary["high"]
    )
    assert 0 <= summary.attrs["loss_probability"] <= 1


def test_bolton_style_scenario_is_labelled_illustrative():
    scenario = dm.bolton_style_scenario(50_000)
    assert scenario.tag == "[U]" and "not verified" in scenario.note
    managers, service = scenario.schemes
    assert managers.case_managers == 25
    assert service.referrals == pytest.approx(50_000 * dm.MSK_SCOPE_SHARE)
    result = dm.simulate(scenario, COSTS, draws=5000, seed=0)
    assert result.note == scenario.note
    summary = result.summary()
    assert summary["median"].notna().all()


def test_same_seed_same_draws():
    a = dm.simulate(dm.CaseManagement(), COSTS, 1000, seed=9)
    b = dm.simulate(dm.CaseManagement(), COSTS, 1000, seed=9)
    c = dm.simulate(dm.CaseManagement(), COSTS, 1000, seed=10)
    assert np.array_equal(a.net_saving, b.net_saving)
    assert not np.array_equal(a.net_saving, c.net_saving)


def test_savings_share_by_year_and_other_helpers():
    assert dm.savings_share("2005/06") == 0.50  # 2004 rules
    assert dm.savings_share("2006/07") == 0.70  # at least 70% from 2006/07
    # 1 - 0.8 x (0.25 + 0.05) = 0.76 of in-scope referrals still reach hospital.
    assert dm.acute_referral_factor(fixed_referral_management()) == pytest.approx(0.76)
    assert dm.induced_referrals(1000, 0.3) == pytest.approx(300)


@pytest.mark.parametrize(
    ("call", "words"),
    [
        (lambda: dm.simulate(dm.CaseManagement(), COSTS, draws=10**7), "draws must be from 100"),
        (lambda: dm.simulate(dm.CaseManagement(), COSTS, practice_share=1.5), "share of savings"),
        (lambda: dm.simulate([], COSTS), "at least one scheme"),
        (
            lambda: dm.simulate(dm.CaseManagement(case_managers=-1), COSTS),
            "number of case managers must be a number from 0",
        ),
        (lambda: dm.bolton_style_scenario(-5), "GP referrals a year must be"),
        (lambda: dm.UnitCosts(-200.0, 90.0, 4055.0, 812.0, 1750.0), "UnitCosts.first must be"),
        (lambda: dm.ReferralManagement(share_triaged=0.5), "must be an Uncertain assumption"),
        (lambda: dm.Uncertain(0, 1, 1e12, "huge", "[U]"), "may not exceed"),
    ],
)
def test_bad_input_is_explained(call, words):
    with pytest.raises(dm.DemandError, match=words):
        call()


@given(
    referrals=st.floats(0, 50_000),
    triaged=st.floats(0, 1),
    redirected=st.floats(0, 1),
    returned=st.floats(0, 1),
    price=st.floats(0, 1000),
    triage=st.floats(0, 100),
)
@settings(max_examples=40, deadline=None)
def test_referral_management_accounts_balance(
    referrals, triaged, redirected, returned, price, triage
):
    scheme = dm.ReferralManagement(
        referrals=referrals,
        share_triaged=fixed(triaged),
        share_redirected=fixed(redirected),
        share_returned=fixed(returned),
        community_price=fixed(price),
        triage_cost=fixed(triage),
    )
    r = dm.simulate(scheme, COSTS, draws=100, seed=0)
    assert np.allclose(r.net_saving, r.acute_saving - r.scheme_cost)
    assert np.allclose(r.practice + r.pct, r.net_saving)
    assert np.all(r.practice >= 0)
    assert np.allclose(r.acute_income, -r.acute_saving)
    # Nobody is kept out twice: at most everyone triaged.
    assert np.all(r.referrals_avoided <= referrals * triaged + 1e-6)


@given(st.floats(0.0, 0.5), st.floats(0.01, 0.3))
@settings(max_examples=20, deadline=None)
def test_a_bigger_effect_never_saves_less(effect, more):
    # Same seed, same draws of everything else: more admissions avoided, more saved.
    low = dm.simulate(fixed_case_management(effect), COSTS, 500, seed=4)
    high = dm.simulate(fixed_case_management(effect + more), COSTS, 500, seed=4)
    assert np.all(high.net_saving >= low.net_saving - 1e-6)
