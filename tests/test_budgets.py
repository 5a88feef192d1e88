"""Hand-computed cases, limits and invariants for pbc_lib.models.budgets."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pbc_lib import data
from pbc_lib.models import budgets as b

# Two practices. P1: 1,000 people aged 16-44 (weight 1.0), need 1.0.
# P2: 500 aged 16-44 and 500 aged 75-84 (weight 5.2): age index (500*1 + 500*5.2)/1000 = 3.1;
# need 1.2. Weighted populations: P1 1000*1*1 = 1,000; P2 1000*3.1*1.2 = 3,720 (total 4,720).
PRACTICES = pd.DataFrame(
    {"practice_id": ["P1", "P2"], "list_size": [1000, 1000], "need_index": [1.0, 1.2]}
)
POPULATION = pd.DataFrame(
    {
        "practice_id": ["P1", "P2", "P2"],
        "sex": ["F", "F", "M"],
        "age_band": ["16-44", "16-44", "75-84"],
        "persons": [1000, 500, 500],
    }
)


def test_age_cost_index_by_hand():
    index = b.age_cost_index(POPULATION)
    assert index["P1"] == pytest.approx(1.0)
    assert index["P2"] == pytest.approx(3.1)


def test_targets_by_hand():
    out = b.capitation_targets(PRACTICES, POPULATION, 4_720_000).set_index("practice_id")
    assert out.loc["P1", "target"] == pytest.approx(1_000_000)
    assert out.loc["P2", "target"] == pytest.approx(3_720_000)
    assert out["share"].sum() == pytest.approx(1.0)


def test_need_weight_zero_ignores_need():
    # P2 without need: 1000 * 3.1 = 3,100; shares 1000/4100 and 3100/4100.
    out = b.capitation_targets(PRACTICES, POPULATION, 4_100, need_weight=0).set_index("practice_id")
    assert out.loc["P1", "target"] == pytest.approx(1_000)
    assert out.loc["P2", "target"] == pytest.approx(3_100)


def test_market_forces_factor_scales_a_practice():
    # P1 with m = 1.2: 1,200 against 3,720; a common factor for all would cancel.
    out = b.capitation_targets(PRACTICES, POPULATION, 4_920, mff={"P1": 1.2})
    assert out.set_index("practice_id").loc["P1", "target"] == pytest.approx(1_200)
    same = b.capitation_targets(PRACTICES, POPULATION, 4_720, mff={"P1": 1.1, "P2": 1.1})
    assert same["target"].tolist() == pytest.approx([1_000, 3_720])


def test_changed_weights_move_the_shares():
    flat = {band: 1.0 for band in data.AGE_BANDS}  # age ignored: 1,000 against 1,200
    out = b.capitation_targets(PRACTICES, POPULATION, 2_200, weights=flat)
    assert out["target"].tolist() == pytest.approx([1_000, 1_200])


def test_apportion_to_the_penny():
    parts = b.apportion(100.0, np.array([1.0, 1.0, 1.0]))
    assert parts.tolist() == [33.34, 33.33, 33.33]
    assert round(sum(parts) * 100) == 10_000


@settings(max_examples=60)
@given(
    st.lists(st.floats(0.01, 1e6), min_size=1, max_size=30),
    st.floats(1.0, 1e9),
)
def test_apportion_conserves_every_penny(shares, total):
    parts = b.apportion(total, np.array(shares))
    assert int(np.round(parts * 100).sum()) == int(round(total * 100))
    assert (parts >= 0).all()


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 20))
def test_scaling_every_list_changes_no_share(factor):
    base = b.capitation_targets(PRACTICES, POPULATION, 1e6)
    bigger = b.capitation_targets(
        PRACTICES.assign(list_size=PRACTICES["list_size"] * factor),
        POPULATION.assign(persons=POPULATION["persons"] * factor),
        1e6,
    )
    assert bigger["share"].tolist() == pytest.approx(base["share"].tolist(), rel=1e-12)


def test_bad_inputs_say_what_is_wrong():
    with pytest.raises(b.BudgetError, match="pot to share must be more than £0"):
        b.capitation_targets(PRACTICES, POPULATION, 0)
    with pytest.raises(b.BudgetError, match="weight on the need index must be between 0 and 1"):
        b.capitation_targets(PRACTICES, POPULATION, 100, need_weight=2)
    with pytest.raises(b.BudgetError, match="missing"):
        b.age_cost_index(POPULATION, {"16-44": 1.0})
    with pytest.raises(b.BudgetError, match="no population figures"):
        b.capitation_targets(PRACTICES, POPULATION.iloc[:1], 100)


# --------------------------------------------------------------------------------------------
# Historic budgets
# --------------------------------------------------------------------------------------------
def test_budget_components_by_hand():
    activity = pd.DataFrame(
        {
            "practice_id": ["P1", "P1", "P1"],
            "financial_year": ["2006/07"] * 3,
            "pod": ["gp_referral", "op_first", "non_elective"],
            "activity": [300, 100, 10],
        }
    )
    prices = pd.DataFrame(
        {
            "financial_year": ["2007/08", "2007/08", "2006/07"],
            "pod": ["op_first", "non_elective", "op_first"],
            "unit_price_gbp": [205.0, 1800.0, 200.0],
        }
    )
    rx = pd.DataFrame(
        {"practice_id": ["P1"], "financial_year": ["2006/07"], "net_ingredient_cost_gbp": [1000.0]}
    )
    out = b.budget_components(activity, prices, rx, prescribing_uplift=0.1)
    costs = out.set_index("component")["cost"]
    # GP referrals carry no price: 100 x £205 = £20,500; 10 x £1,800 = £18,000; £1,000 x 1.1.
    assert costs.to_dict() == pytest.approx(
        {"op_first": 20_500, "non_elective": 18_000, "prescribing": 1_100}
    )
    assert list(out["component"]) == ["op_first", "non_elective", "prescribing"]
    assert b.historic_budgets(out)["P1"] == pytest.approx(39_600)


def test_prescribing_growth_by_hand():
    rx = pd.DataFrame(
        {"financial_year": ["2005/06", "2006/07"], "net_ingredient_cost_gbp": [100.0, 121.0]}
    )
    lists = pd.DataFrame(
        {"financial_year": ["2005/06", "2006/07"], "registered_patients": [10, 11]}
    )
    # £10.00 a head, then £11.00 a head: growth 10%.
    assert b.prescribing_growth(rx, lists, "2006/07") == pytest.approx(0.10)


# --------------------------------------------------------------------------------------------
# Distance from target and pace of change
# --------------------------------------------------------------------------------------------
def test_spread_summary_by_hand():
    out = b.spread_summary(pd.Series([-0.25, -0.12, 0.0, 0.06, 0.3])).set_index("band")
    assert out.loc[0.05, "practices"] == 4 and out.loc[0.05, "share"] == pytest.approx(0.8)
    assert out.loc[0.10, "practices"] == 3
    assert (out.loc[0.20, "over"], out.loc[0.20, "under"]) == (1, 1)
    assert out.loc[0.10, "national_share"] == pytest.approx(0.26)


U = pd.Series([100.0, 200.0], index=["A", "B"])
T = pd.Series([150.0, 150.0], index=["A", "B"])


def test_pace_of_change_by_hand_and_limits():
    assert b.pace_of_change(U, T, 0.5).tolist() == pytest.approx([125, 175])
    assert b.pace_of_change(U, T, 0.0).tolist() == pytest.approx(U.tolist())
    assert b.pace_of_change(U, T, 1.0).tolist() == pytest.approx(T.tolist())


def test_threshold_leaves_near_practices_alone():
    # DFTs are -1/3 and +1/3: a 40% threshold moves nobody, a 20% threshold moves both.
    assert b.pace_of_change(U, T, 0.5, threshold=0.4).tolist() == pytest.approx([100, 200])
    assert b.pace_of_change(U, T, 0.5, threshold=0.2).tolist() == pytest.approx([125, 175])


def test_threshold_moves_are_rebalanced_to_conserve_the_pot():
    # DFTs -20%, -9.1%, +33.3%; threshold 15%, lambda 0.5: A +10, C -15 -> 90, 100, 105 (295);
    # spread over all in proportion: x 300/295 -> 91.525, 101.695, 106.780.
    uplifted = pd.Series([80.0, 100.0, 120.0])
    target = pd.Series([100.0, 110.0, 90.0])
    out = b.pace_of_change(uplifted, target, 0.5, threshold=0.15)
    assert out.tolist() == pytest.approx([91.5254, 101.6949, 106.7797], abs=1e-4)
    assert out.sum() == pytest.approx(300)


@settings(max_examples=80, deadline=None)
@given(
    st.lists(st.tuples(st.floats(1e3, 1e7), st.floats(0.2, 5)), min_size=2, max_size=25),
    st.floats(0, 1),
    st.sampled_from([0.0, 0.05, 0.10, 0.20]),
)
def test_blend_creates_and_loses_nothing(pairs, lam, threshold):
    uplifted = pd.Series([u for u, _ in pairs])
    raw = pd.Series([u * r for u, r in pairs])
    target = raw * uplifted.sum() / raw.sum()
    out = b.pace_of_change(uplifted, target, lam, threshold)
    assert out.sum() == pytest.approx(uplifted.sum(), rel=1e-12)
    assert (out > 0).all()
    if threshold == 0.0:
        # Without a threshold every practice lands exactly lambda of the way to its target.
        assert out.tolist() == pytest.approx((uplifted + lam * (target - uplifted)).tolist())


def test_pace_of_change_rejects_out_of_range_lambda():
    with pytest.raises(b.BudgetError, match="pace of change"):
        b.pace_of_change(U, T, 1.5)


def test_glide_path_by_hand():
    # Shares 0.5/0.5 of a pot of 300 growing 10% a year; lambda 0.5, no threshold.
    # Step 1: pot 330, targets 165; uplifted 110 and 220 -> 137.5 and 192.5.
    # Step 2: pot 363, targets 181.5; uplifted 151.25 and 211.75 -> 166.375 and 196.625.
    path = b.glide_path(
        U,
        pd.Series([0.5, 0.5], index=["A", "B"]),
        b.PathSettings(lam=0.5, threshold=0.0, growth=0.10, years=2),
    )
    step1 = path.loc[path["step"] == 1].set_index("practice_id")
    step2 = path.loc[path["step"] == 2].set_index("practice_id")
    assert step1["budget"].tolist() == pytest.approx([137.5, 192.5])
    assert step2["budget"].tolist() == pytest.approx([166.375, 196.625])
    assert step1["year"].iloc[0] == "2007/08" and step2["year"].iloc[0] == "2008/09"
    # DFT at step 1 matches the one-year view whatever the growth: -1/6 and +1/6.
    assert step1["dft"].tolist() == pytest.approx([-1 / 6, 1 / 6])
    assert path.groupby("step")["budget"].sum().tolist() == pytest.approx([300, 330, 363])


def test_glide_path_years_to_band():
    path = b.glide_path(
        U,
        pd.Series([0.5, 0.5], index=["A", "B"]),
        b.PathSettings(lam=0.5, threshold=0.0, growth=0.0, years=4),
    )
    # DFT magnitude halves each year: 1/3 -> 1/6 -> 1/12 (within 10% from step 2 on).
    assert b.years_to_band(path).to_dict() == {"A": 2.0, "B": 2.0}
    never = b.glide_path(
        U, pd.Series([0.5, 0.5], index=["A", "B"]), b.PathSettings(lam=0.0, years=3)
    )
    assert b.years_to_band(never).isna().all()


def test_max_cut_is_respected_and_the_pot_kept():
    shares = pd.Series([0.5, 0.5], index=["A", "B"])
    settings_ = b.PathSettings(lam=1.0, threshold=0.0, growth=0.0, years=3, max_cut=0.03)
    path = b.glide_path(U, shares, settings_)
    moved = path.loc[path["step"] > 0]
    assert moved["change"].min() >= -0.03 - 1e-12
    assert path.groupby("step")["budget"].sum().tolist() == pytest.approx([300] * 4)
    # B loses exactly 3% a year: 200 -> 194 -> 188.18 -> 182.5346.
    assert moved.loc[moved["practice_id"] == "B", "budget"].tolist() == pytest.approx(
        [194.0, 188.18, 182.5346]
    )


def test_path_settings_are_bounded():
    with pytest.raises(b.BudgetError, match="1 to 10 whole years"):
        b.PathSettings(years=50).checked()
    with pytest.raises(b.BudgetError, match="largest cut"):
        b.PathSettings(max_cut=-0.1).checked()


def test_winners_and_losers():
    out = b.winners_and_losers(U, pd.Series([125.0, 175.0], index=["A", "B"]))
    assert out["practice_id"].tolist() == ["B", "A"]
    assert out["change_pct"].tolist() == pytest.approx([-0.125, 0.25])


# --------------------------------------------------------------------------------------------
# Outturn, freed-up resources, DES
# --------------------------------------------------------------------------------------------
def test_forecast_outturn_applies_group_changes():
    comps = pd.DataFrame(
        {
            "practice_id": ["P1"] * 3,
            "component": ["op_first", "op_follow_up", "prescribing"],
            "cost": [1000.0, 500.0, 2000.0],
        }
    )
    out = b.forecast_outturn(comps, {"outpatients": -0.10, "prescribing": 0.05})
    assert out["outturn"].tolist() == pytest.approx([900, 450, 2100])
    with pytest.raises(b.BudgetError, match="Unknown savings group"):
        b.forecast_outturn(comps, {"dentistry": -0.1})
    with pytest.raises(b.BudgetError, match="between -0.5 and 0.5"):
        b.forecast_outturn(comps, {"planned": -0.9})


def test_freed_up_resources_and_limits():
    assert b.freed_up_resources(100_000, 90_000, 0.7) == pytest.approx(7_000)
    assert b.freed_up_resources(100_000, 110_000, 0.7) == 0
    assert b.freed_up_resources(100_000, 90_000, b.SAVINGS_SHARE_2004) == pytest.approx(5_000)


def test_des_rule_not_paid_when_freed_up_exceeds_it():
    # 5,000 patients x 95p = £4,750. Freed-up £7,000 > £4,750, so the DES is not paid.
    high = b.incentives(5_000, 1_000_000, 990_000, 0.7).set_index("incentive")["paid"]
    assert high.iloc[0] == pytest.approx(7_000) and high.iloc[1] == 0
    low = b.incentives(5_000, 1_000_000, 995_000, 0.7)["paid"].tolist()
    assert low == pytest.approx([3_500, 4_750])


def test_settle_years_by_hand():
    # Year 0 overspends 10; year 1 repays 5; year 2 overspends 4 while 5 from year 0 is still
    # owed in its third year (flagged); year 3's 10 repays 5 + 4 and frees 1 (70% = 0.7).
    out = b.settle_years([100] * 4, [110, 95, 104, 90], share=0.7)
    assert out["carried"].tolist() == pytest.approx([10, 5, 9, 0])
    assert out["repaid"].tolist() == pytest.approx([0, 5, 0, 9])
    assert out["freed_up"].tolist() == pytest.approx([0, 0, 0, 0.7])
    assert out["status"].tolist() == [
        "Overspend carried forward",
        "Overspend carried forward",
        "Overspend not offset within 3 years: budget at risk",
        "In balance",
    ]


def test_settle_years_rejects_mismatched_years():
    with pytest.raises(b.BudgetError, match="one outturn for each budget year"):
        b.settle_years([100, 100], [90])


# --------------------------------------------------------------------------------------------
# On the data set
# --------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def pct():
    rx, lists = data.load_prescribing(), data.load_list_sizes()
    uplift = b.prescribing_growth(rx, lists, b.ACTIVITY_YEAR)
    comps = b.budget_components(
        data.load_activity(), data.load_prices(), rx, prescribing_uplift=uplift
    )
    historic = b.historic_budgets(comps)
    targets = b.capitation_targets(
        data.load_practices(), data.load_population(), historic.sum()
    ).set_index("practice_id")
    return historic, targets


def test_data_set_targets_add_up_to_the_pot_to_the_penny(pct):
    historic, targets = pct
    assert int(np.round(targets["target"] * 100).sum()) == int(round(historic.sum() * 100))
    assert len(targets) == len(data.load_practices())


def test_data_set_full_pace_reaches_every_target(pct):
    historic, targets = pct
    budget = b.pace_of_change(historic, targets["target"], 1.0)
    assert budget.tolist() == pytest.approx(targets["target"].reindex(budget.index).tolist())


def test_data_set_has_practices_on_both_sides_of_target(pct):
    historic, targets = pct
    dft = b.distance_from_target(historic, targets["target"])
    assert (dft > b.FAIR_SHARE_BAND).any() and (dft < -b.FAIR_SHARE_BAND).any()
