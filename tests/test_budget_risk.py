"""Hand-computed cases, invariants, the fast-versus-plain proof and the Crump calibration for
pbc_lib.models.budget_risk."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from pbc_lib import data
from pbc_lib.models import budget_risk as br

COSTS = data.load_patient_costs()
SCOPE = {scope: br.scope_costs(COSTS, scope) for scope in br.SCOPES}
# Crump's spread comes from 100 simulated years, so it is itself uncertain: the relative SD of a
# 5th-95th spread estimated from 100 normal years is about 9% (test_crump_tolerance_is_two_se).
CRUMP_TOLERANCE = 0.20  # ±20%: about two of those standard errors
CRUMP_RATIO_LOW = br.CRUMP_CV_SMALL / br.CRUMP_CV_LARGE  # 1.50, from Crump's SDs
CRUMP_RATIO_HIGH = br.CRUMP_SPREAD_SMALL / br.CRUMP_SPREAD_LARGE  # 1.80, from Crump's spreads

# Costs in whole pence. Up to 40 amounts: the fast method counts them exactly; 60 or more distinct
# amounts: it uses its tail-and-body approximation.
pence = st.integers(min_value=0, max_value=10_000_000).map(lambda p: p / 100)
small_costs = st.lists(pence, min_size=2, max_size=40).filter(lambda xs: sum(xs) > 1.0)
many_costs = st.lists(pence, min_size=60, max_size=200, unique=True)
any_costs = st.one_of(small_costs, many_costs)


# --- Hand-computed cases -----------------------------------------------------------------------
def test_relative_second_moment_and_cv_by_hand():
    x = [0.0, 0.0, 0.0, 100.0]
    # mean 25, E[X²] = 10,000 / 4 = 2,500, so E[X²]/E[X]² = 2,500 / 625 = 4.
    assert br.relative_second_moment(x) == pytest.approx(4.0)
    # Fixed list of 100: CV = √((4 − 1) / 100) = 0.1732; Poisson list: √(4 / 100) = 0.2.
    assert br.analytic_cv(x, 100) == pytest.approx(np.sqrt(0.03))
    assert br.analytic_cv(x, 100, compound=True) == pytest.approx(0.2)


def test_crump_implied_second_moment_by_hand():
    # 18,349 / 244,891 = 0.074928; squared 0.0056142; × 9,000 = 50.53; + 1 = 51.53.
    assert br.implied_relative_second_moment(br.CRUMP_CV_SMALL, 9_000) == pytest.approx(
        51.53, 0.001
    )
    # 32,512 / 652,762 = 0.049807; squared 0.0024807; × 24,000 = 59.54; + 1 = 60.54.
    assert br.implied_relative_second_moment(br.CRUMP_CV_LARGE, 24_000) == pytest.approx(
        60.54, 0.001
    )


def test_stop_loss_parts_by_hand():
    x = [1_000.0, 6_000.0, 9_000.0]
    assert br.practice_part(x, 6_000).tolist() == [1_000.0, 6_000.0, 6_000.0]
    assert br.authority_part(x, 6_000).tolist() == [0.0, 0.0, 3_000.0]
    assert br.practice_part(x, None).tolist() == x


def test_normal_overspend_by_hand():
    # CV 5%, threshold 5%: 1 − Φ(1) = 0.158655.
    assert br.normal_prob_overspend(0.05, 0.05) == pytest.approx(0.158655, abs=1e-6)
    assert br.normal_prob_overspend(0.0, 0.05) == 0.0


def test_scope_costs_by_hand():
    df = pd.DataFrame(
        {
            "elective_inpatient_gbp": [100.0, 0.0],
            "day_case_gbp": [10.0, 0.0],
            "outpatient_gbp": [1.0, 200.0],
            "non_elective_gbp": [1_000.0, 0.0],
            "ae_gbp": [0.0, 85.0],
            "total_gbp": [1_111.0, 285.0],
        }
    )
    assert br.scope_costs(df, "fundholding").tolist() == [111.0, 200.0]  # 100+10+1, 0+0+200
    assert br.scope_costs(df, "all_hospital").tolist() == [1_111.0, 285.0]
    assert br.scope_costs(df, "elective_inpatient").tolist() == [100.0, 0.0]


def test_summarise_spend_by_hand():
    s = br.summarise_spend([90.0, 100.0, 110.0, 120.0], budget=100.0)
    # Linear percentiles: p5 at position 0.15 -> 91.5, p95 at 2.85 -> 118.5; spread 27 of 100.
    assert s["p5_gbp"] == pytest.approx(91.5) and s["p95_gbp"] == pytest.approx(118.5)
    assert s["spread_5_95_pct"] == pytest.approx(27.0)
    assert s["overspend_p95_pct"] == pytest.approx(18.5)
    assert s["p_overspend_5pct"] == 0.5  # 110 and 120 exceed 105
    assert s["p_overspend_10pct"] == 0.25  # only 120 exceeds 110
    assert s["expected_overspend_pct"] == pytest.approx(7.5)  # (0 + 0 + 10 + 20) / 4


@pytest.mark.parametrize("method", br.METHODS)
def test_constant_costs_give_a_certain_spend(method):
    # Everyone costs £50, so 1,000 people cost exactly £50,000 every year.
    spend = br.spend_distribution([50.0] * 10, 1_000, 500, seed=1, method=method)
    assert np.allclose(spend, 50_000.0)


@pytest.mark.parametrize("method", br.METHODS)
def test_two_point_costs_match_the_binomial(method):
    # Half cost £0, half £100; 400 people: spend = 100 × Binomial(400, ½), mean £20,000, SD £1,000.
    # (With two amounts the fast method counts people exactly rather than approximating.)
    spend = br.spend_distribution([0.0, 100.0], 400, 40_000, seed=2, method=method)
    assert spend.mean() == pytest.approx(20_000, rel=0.002)
    assert spend.std() == pytest.approx(1_000, rel=0.02)
    exact = stats.binom.sf(210, 400, 0.5)  # P(spend > £21,000) = P(more than 210 cost £100)
    assert np.mean(spend > 21_000) == pytest.approx(exact, abs=0.01)


# --- The fast method against the plain per-patient simulation ---------------------------------
FAST_CASES = [  # scope, cap, list size, plain years (≥ 0.2% of budget precision on the percentiles)
    ("fundholding", None, 1_000, 20_000),
    ("fundholding", None, 9_000, 4_000),
    ("fundholding", None, 24_000, 1_500),
    ("all_hospital", None, 3_000, 8_000),
    ("fundholding", br.STOP_LOSS_1994_GBP, 3_000, 8_000),
    ("elective_inpatient", None, 1_000, 40_000),  # the heaviest tail: a normal would miss by ~3%
    ("elective_inpatient", None, 9_000, 4_000),
]


@pytest.mark.parametrize(("scope", "cap", "n", "years"), FAST_CASES)
def test_fast_agrees_with_plain_within_one_percent(scope, cap, n, years):
    x = SCOPE[scope]
    plain = br.spend_distribution(x, n, years, cap, seed=11, method="plain")
    fast = br.spend_distribution(x, n, 40_000, cap, seed=12)
    budget = n * br.practice_part(x, cap).mean()
    # p99 only where Monte Carlo noise allows (SD of spend under 5% of budget).
    qs = [5, 50, 95, 99] if plain.std() < 0.05 * budget else [5, 50, 95]
    gap = np.abs(np.percentile(fast, qs) - np.percentile(plain, qs)) / budget
    assert gap.max() < 0.01, f"percentile gaps {gap * 100} % of budget"
    assert np.mean(fast > 1.05 * budget) == pytest.approx(np.mean(plain > 1.05 * budget), abs=0.015)


@pytest.mark.parametrize("n", [2_000, 300_000])
def test_fast_matches_the_exact_moments(n):
    x = SCOPE["all_hospital"]
    spend = br.spend_distribution(x, n, 100_000, seed=3)
    assert spend.mean() == pytest.approx(n * x.mean(), rel=0.002)
    assert spend.std() / (n * x.mean()) == pytest.approx(br.analytic_cv(x, n), rel=0.02)
    # The skewness of a sum of n independent people is the skewness of one over √n.
    assert stats.skew(spend) == pytest.approx(stats.skew(x) / np.sqrt(n), abs=0.03)


def test_fast_method_never_holds_people_by_years():
    x = SCOPE["fundholding"]
    tracemalloc.start()
    br.spend_distribution(x, 300_000, 10_000, seed=4)  # 3 billion person-years if done plainly
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 30e6, f"peak {peak / 1e6:.0f} MB"


@pytest.mark.parametrize("costs", [[0.0, 100.0], list(SCOPE["fundholding"])])
def test_largest_inputs_stay_small_in_memory(costs):
    tracemalloc.start()
    spend = br.spend_distribution(costs, br.MAX_PEOPLE, br.MAX_YEARS, seed=4)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 100e6, f"peak {peak / 1e6:.0f} MB"
    assert spend.size == br.MAX_YEARS


def test_plain_method_refuses_work_beyond_its_limit():
    with pytest.raises(br.BudgetRiskError, match="use method='fast'|Use method='fast'"):
        br.spend_distribution(SCOPE["fundholding"], 300_000, 10_000, method="plain")


# --- Analytic against simulated ----------------------------------------------------------------
@pytest.mark.parametrize("scope", list(br.SCOPES))
@pytest.mark.parametrize("cap", [None, br.STOP_LOSS_1994_GBP])
def test_simulated_cv_matches_analytic(scope, cap):
    curve = br.risk_curve(SCOPE[scope], [9_000, 24_000], 20_000, cap, seed=5)
    assert np.allclose(curve["cv"], curve["cv_analytic"], rtol=0.03)
    assert np.allclose(curve["mean_gbp"], curve["budget_gbp"], rtol=0.003)


def test_compound_form_is_larger_by_the_stated_factor():
    x = SCOPE["all_hospital"]
    m2 = br.relative_second_moment(x)
    ratio = br.analytic_cv(x, 9_000, compound=True) ** 2 / br.analytic_cv(x, 9_000) ** 2
    assert ratio == pytest.approx(m2 / (m2 - 1))  # N·E[X²] against N·Var(X)


def test_cv_falls_as_one_over_root_n():
    curve = br.risk_curve(SCOPE["fundholding"], [1_000, 4_000, 16_000, 64_000], seed=6)
    assert np.allclose(
        curve["cv"].iloc[:-1].to_numpy() / curve["cv"].iloc[1:].to_numpy(), 2.0, rtol=0.05
    )
    assert curve["p_overspend_5pct"].is_monotonic_decreasing


def test_normal_approximation_holds_for_large_lists():
    curve = br.risk_curve(SCOPE["all_hospital"], [20_000, 40_000], 40_000, seed=7)
    assert np.allclose(curve["p_overspend_5pct"], curve["p_overspend_5pct_normal"], atol=0.01)


# --- Crump et al. 1991 -------------------------------------------------------------------------
def test_crump_tolerance_is_two_standard_errors():
    z = np.random.default_rng(8).standard_normal((20_000, br.CRUMP_YEARS))
    spreads = np.percentile(z, 95, axis=1) - np.percentile(z, 5, axis=1)
    relative_se = spreads.std() / spreads.mean()
    assert 0.07 < relative_se < 0.11
    assert CRUMP_TOLERANCE == pytest.approx(2 * relative_se, abs=0.03)


@pytest.mark.parametrize("scope", list(br.SCOPES))
@pytest.mark.parametrize("cap", [None, br.STOP_LOSS_BEFORE_1994_GBP, br.STOP_LOSS_1994_GBP])
def test_crump_shape_ratio_of_spreads(scope, cap):
    table = br.crump_comparison(SCOPE[scope], 20_000, cap, seed=9)
    ratio = table["spread_5_95_pct"].iloc[0] / table["spread_5_95_pct"].iloc[1]
    assert ratio == pytest.approx(np.sqrt(24 / 9), rel=0.05)  # 1/√N: √(24,000/9,000) = 1.633
    assert CRUMP_RATIO_LOW < ratio < CRUMP_RATIO_HIGH  # between Crump's SD and spread ratios


def test_crump_absolute_level_on_crumps_own_scope():
    # Crump simulated "the 113 surgical procedures covered by the general practitioner fund", so
    # the like-for-like scope is elective inpatient care, uncapped.
    table = br.crump_comparison(SCOPE["elective_inpatient"], 20_000, None, seed=10)
    expected = [br.CRUMP_SPREAD_SMALL * 100, br.CRUMP_SPREAD_LARGE * 100]
    assert table["spread_5_95_pct"].iloc[:2].to_numpy() == pytest.approx(
        expected, rel=CRUMP_TOLERANCE
    )
    assert table["cv"].iloc[:2].to_numpy() == pytest.approx(
        [br.CRUMP_CV_SMALL, br.CRUMP_CV_LARGE], rel=CRUMP_TOLERANCE
    )
    assert table["spread_5_95_pct"].iloc[2] == pytest.approx(
        br.CRUMP_SPREAD_DISTRICT * 100, rel=CRUMP_TOLERANCE
    )


# --- Stop-loss, balancing, pooling -------------------------------------------------------------
def test_stop_loss_split_shares_and_risk():
    table = br.stop_loss_split(SCOPE["all_hospital"], 9_000, seed=13).set_index("payer")
    assert table.loc["no cap", "share_of_spend"] == 1.0
    parts = table.loc[["practice (capped)", "health authority (excess)"], "share_of_spend"]
    assert parts.sum() == pytest.approx(1.0)
    assert table.loc["practice (capped)", "cv"] < table.loc["no cap", "cv"]
    assert table.loc["health authority (excess)", "cv"] > table.loc["no cap", "cv"]


def test_stop_loss_above_every_cost_leaves_nothing_to_the_authority():
    x = [0.0, 10.0, 200.0]
    table = br.stop_loss_split(x, 1_000, cap=1_000.0, n_years=200, seed=14).set_index("payer")
    assert table.loc["health authority (excess)", "share_of_spend"] == 0.0
    assert np.isnan(table.loc["health authority (excess)", "cv"])
    assert table.loc["practice (capped)", "cv"] == pytest.approx(table.loc["no cap", "cv"], 0.1)


def test_rolling_balance_spreads_risk_over_three_years():
    table = br.rolling_balance(SCOPE["fundholding"], 5_000, n_years=30_000, seed=15)
    one, three = table.iloc[0], table.iloc[1]
    assert three["basis"] == "3-year rolling balance" and three["window_years"] == 3
    assert three["cv"] == pytest.approx(one["cv"] / np.sqrt(3), rel=0.05)
    assert three["p_overspend_5pct"] < one["p_overspend_5pct"]
    # Independent years: a 3-year balance of 5,000 people is like one year of 15,000 people.
    single = br.risk_curve(SCOPE["fundholding"], [15_000], 30_000, seed=16).iloc[0]
    assert three["overspend_p95_pct"] == pytest.approx(single["overspend_p95_pct"], abs=0.3)


def test_rolling_balance_of_one_year_is_the_single_year():
    table = br.rolling_balance(SCOPE["fundholding"], 5_000, window=1, n_years=1_000, seed=17)
    pd.testing.assert_series_equal(
        table.iloc[0].drop(["basis"]), table.iloc[1].drop(["basis"]), check_names=False
    )


def test_pooling_adds_up_and_cuts_risk():
    sizes = [2_000, 3_500, 5_000, 9_000]
    table = br.pooled_risk(SCOPE["fundholding"], sizes, n_years=20_000, seed=18)
    members, pool = table.iloc[:-1], table.iloc[-1]
    assert pool["role"] == "pool" and pool["n_people"] == sum(sizes)
    assert pool["budget_gbp"] == pytest.approx(members["budget_gbp"].sum())
    assert pool["mean_gbp"] == pytest.approx(members["mean_gbp"].sum())
    assert pool["cv"] < members["cv"].min()
    assert pool["cv"] == pytest.approx(br.analytic_cv(SCOPE["fundholding"], sum(sizes)), rel=0.03)


# --- Properties --------------------------------------------------------------------------------
@settings(max_examples=25, deadline=None)
@given(costs=any_costs, scale=st.sampled_from([0.5, 2.0, 3.0, 10.0]), n=st.integers(1, 3_000))
def test_spend_scales_with_costs(costs, scale, n):
    base = br.spend_distribution(costs, n, 100, seed=19)
    scaled = br.spend_distribution(np.array(costs) * scale, n, 100, seed=19)
    assert np.allclose(scaled, base * scale, rtol=1e-9, atol=1e-6)


@settings(max_examples=25, deadline=None)
@given(costs=any_costs, n=st.integers(1, 3_000), data_=st.data())
def test_fast_spend_ignores_the_order_of_people(costs, n, data_):
    shuffled = data_.draw(st.permutations(costs))
    a = br.spend_distribution(costs, n, 100, seed=20)
    b = br.spend_distribution(shuffled, n, 100, seed=20)
    assert np.array_equal(a, b)


@settings(max_examples=25, deadline=None)
@given(costs=small_costs, cap=st.floats(min_value=1, max_value=1e5), n=st.integers(1, 500))
def test_a_cap_never_raises_spend_and_bounds_the_second_moment(costs, cap, n):
    uncapped = br.spend_distribution(costs, n, 100, seed=21, method="plain")
    capped = br.spend_distribution(costs, n, 100, cap, seed=21, method="plain")
    assert (capped <= uncapped + 1e-6).all()
    part = br.practice_part(costs, cap)
    # E[min(X,c)²] ≤ c·E[min(X,c)], so E[X²]/E[X]² ≤ c / E[min(X,c)] for what the practice pays.
    assert br.relative_second_moment(part) <= cap / part.mean() * (1 + 1e-9)


@settings(max_examples=20, deadline=None)
@given(costs=any_costs, n=st.integers(1, 100_000))
def test_spend_is_never_negative_and_mean_is_close(costs, n):
    spend = br.spend_distribution(costs, n, 2_000, seed=22)
    x = np.array(costs)
    assert (spend >= 0).all()
    se = np.sqrt(n * x.var() / 2_000)
    assert abs(spend.mean() - n * x.mean()) <= 5 * se + 1e-6 * n * x.mean()


# --- Bad input ---------------------------------------------------------------------------------
BAD_CALLS = [
    (lambda: br.spend_distribution([-1.0, 2.0], 10), "£0 or more"),
    (lambda: br.spend_distribution([np.nan, 2.0], 10), "finite"),
    (lambda: br.spend_distribution([0.0, 0.0], 10), "above £0"),
    (lambda: br.spend_distribution([[1.0, 2.0]], 10), "list of 1 to"),
    (lambda: br.spend_distribution(["a"], 10), "must be numbers"),
    (lambda: br.spend_distribution([1.0], 0), "n_people must be between 1"),
    (lambda: br.spend_distribution([1.0], br.MAX_PEOPLE + 1), "n_people must be between"),
    (lambda: br.spend_distribution([1.0], 10.5), "whole number"),
    (lambda: br.spend_distribution([1.0], True), "whole number"),
    (lambda: br.spend_distribution([1.0], 10, 5), "n_years must be between 100"),
    (lambda: br.spend_distribution([1.0], 10, br.MAX_YEARS + 1), "n_years must be between"),
    (lambda: br.spend_distribution([1.0], 10, 100, cap=0), "cap must be a number of £ above 0"),
    (lambda: br.spend_distribution([1.0], 10, 100, cap=np.inf), "above 0"),
    (lambda: br.spend_distribution([1.0], 10, 100, cap="6000"), "number of £ or None"),
    (lambda: br.spend_distribution([1.0], 10, 100, method="magic"), "method must be one of"),
    (lambda: br.spend_distribution([1.0], 10, 100, seed=-1), "seed must be between"),
    (lambda: br.scope_costs(COSTS, "prescribing"), "scope must be one of"),
    (lambda: br.scope_costs(COSTS.drop(columns="total_gbp"), "all_hospital"), "no column"),
    (lambda: br.risk_curve([1.0], []), "give 1 to"),
    (lambda: br.risk_curve([1.0], [10] * (br.MAX_SIZES + 1)), "give 1 to"),
    (lambda: br.risk_curve([1.0], [10], ks=[1.5]), "between 0 and 1"),
    (lambda: br.authority_part([1.0], None), "got None"),
    (lambda: br.pooled_risk([1.0], [10, 20], names=["a"]), "one name per member"),
    (lambda: br.pooled_risk([1.0], [br.MAX_PEOPLE, 10]), "at most"),
    (lambda: br.rolling_balance([1.0], 10, window=0), "window must be between 1"),
    (lambda: br.summarise_spend([1.0, 2.0], 0.0), "budget must be a number of £ above 0"),
    (lambda: br.summarise_spend([1.0], 1.0), "2 or more finite amounts"),
]


@pytest.mark.parametrize(("call", "message"), BAD_CALLS)
def test_bad_input_gets_a_plain_message(call, message):
    with pytest.raises(br.BudgetRiskError, match=message):
        call()


def test_prob_overspend_is_the_curve_figure():
    x = SCOPE["fundholding"]
    p = br.prob_overspend(x, 5_000, 0.05, 2_000, seed=25)
    row = br.risk_curve(x, [5_000], 2_000, ks=(0.05,), seed=25).iloc[0]
    assert p == row["p_overspend_5pct"]
    assert 0 < p < br.prob_overspend(x, 1_000, 0.05, 2_000, seed=25)  # smaller list, more risk


def test_seeded_runs_repeat():
    a = br.risk_curve(SCOPE["fundholding"], [1_000, 9_000], 1_000, seed=23)
    b = br.risk_curve(SCOPE["fundholding"], [1_000, 9_000], 1_000, seed=23)
    pd.testing.assert_frame_equal(a, b)
    c = br.risk_curve(SCOPE["fundholding"], [1_000, 9_000], 1_000, seed=24)
    assert not a.equals(c)


@given(cv=st.floats(0.001, 3.0), k=st.floats(-1.0, 1.0))
def test_normal_tail_matches_scipy_without_importing_it_at_run_time(cv, k):
    from scipy.special import ndtr

    exact = float(ndtr(-k / cv))  # 1 − Φ(z) = Φ(−z), with no cancellation in the tail
    assert br.normal_prob_overspend(cv, k) == pytest.approx(exact, rel=1e-12, abs=1e-300)
