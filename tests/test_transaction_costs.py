"""Hand-computed cases and invariants for pbc_lib.models.transaction_costs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pbc_lib import data
from pbc_lib.models import budget_risk as br
from pbc_lib.models import transaction_costs as tc

PRACTICES = data.load_practices()
COSTS = br.scope_costs(data.load_patient_costs(), "fundholding")
YEARS = 2_000

# Three practices, two localities, two predecessor PCTs; everyone costs £100 a year, so budgets
# are £100 a head and there is no risk at all.
SMALL = pd.DataFrame(
    {
        "practice_id": ["A", "B", "C"],
        "locality": ["North", "North", "South"],
        "predecessor_pct": ["X PCT", "X PCT", "Y PCT"],
        "list_size": [1_000, 3_000, 2_000],
    }
)
FLAT = np.full(10, 100.0)
HAND_COSTS = {
    "single-practice fundholders": tc.CostModel(share_of_budget=0.02, overhead_gbp=500.0),
    "locality clusters": tc.CostModel(fixed_gbp=1_000.0, per_head_gbp=2.0, overhead_gbp=500.0),
    "three PCTs of ~100,000": tc.CostModel(fixed_gbp=10_000.0),
    "one PCT of ~300,000": tc.CostModel(fixed_gbp=10_000.0, per_head_gbp=1.0),
}


def test_pct_fixed_cost_by_hand():
    # £250m a year saved when 303 PCTs became 152: £250m / 151 = £1,655,629 per PCT.
    assert tc.PCT_FIXED_COST_GBP == pytest.approx(1_655_629.14, abs=0.01)


def test_holders_by_hand():
    h = tc.holders(SMALL).set_index(["configuration", "holder"])["n_people"]
    assert h["locality clusters", "North"] == 4_000  # A + B
    assert h["three PCTs of ~100,000", "Y PCT"] == 2_000  # C alone
    assert h["one PCT of ~300,000", "Whole PCT"] == 6_000
    assert len(h["single-practice fundholders"]) == 3


def test_holders_of_the_fictional_pct():
    h = tc.holders(PRACTICES)
    counts = h.groupby("configuration", sort=False).size().to_dict()
    assert counts == {
        "single-practice fundholders": 48,
        "locality clusters": 7,
        "three PCTs of ~100,000": 3,
        "one PCT of ~300,000": 1,
    }
    totals = h.groupby("configuration")["n_people"].sum()
    assert (totals == PRACTICES["list_size"].sum()).all()  # everyone is covered exactly once


def test_management_costs_by_hand():
    t = tc.configuration_table(SMALL, FLAT, HAND_COSTS, n_years=200).set_index("configuration")
    fh = t.loc["single-practice fundholders"]
    # Budgets £100 × 6,000 = £600,000; 2% = £12,000 for the holders, + £500 overhead = £12,500.
    assert fh["budget_gbp"] == 600_000
    assert fh["management_cost_gbp"] == pytest.approx(12_500)
    assert fh["management_pct_of_budget"] == pytest.approx(12_500 / 600_000 * 100)
    # Clusters: 2 × £1,000 fixed + £2 × 6,000 = £14,000, + £500 = £14,500 (£2.4167 a head).
    assert t.loc["locality clusters", "management_cost_gbp"] == pytest.approx(14_500)
    assert t.loc["locality clusters", "management_per_head_gbp"] == pytest.approx(14_500 / 6_000)
    assert t.loc["three PCTs of ~100,000", "management_cost_gbp"] == pytest.approx(20_000)
    assert t.loc["one PCT of ~300,000", "management_cost_gbp"] == pytest.approx(16_000)
    assert (t["p_overspend_worst"] == 0).all()  # flat costs carry no risk


def test_holder_table_by_hand():
    h = tc.holder_table(SMALL, FLAT, HAND_COSTS, n_years=200)
    b = h.set_index(["configuration", "holder"]).loc["single-practice fundholders", "B"]
    assert b["budget_gbp"] == 300_000  # 3,000 × £100
    assert b["management_cost_gbp"] == pytest.approx(6_000)  # 2% of £300,000
    assert b["cv"] == 0 and b["overspend_p95_pct"] == pytest.approx(0)


@pytest.fixture(scope="module")
def default_table() -> pd.DataFrame:
    return tc.configuration_table(PRACTICES, COSTS, n_years=YEARS, seed=1).set_index(
        "configuration"
    )


def test_every_configuration_commissions_the_same_budget(default_table):
    assert np.allclose(default_table["budget_gbp"], PRACTICES["list_size"].sum() * COSTS.mean())


def test_management_cost_is_holders_plus_overhead(default_table):
    t = default_table
    assert np.allclose(t["management_cost_gbp"], t["holder_costs_gbp"] + t["overhead_gbp"])
    fh = t.loc["single-practice fundholders"]
    # Fundholders: 2% of every budget [V] plus one PCT behind them.
    assert fh["holder_costs_gbp"] == pytest.approx(0.02 * fh["budget_gbp"])
    assert fh["overhead_gbp"] == pytest.approx(tc.PCT_FIXED_COST_GBP)
    assert t.loc["three PCTs of ~100,000", "management_cost_gbp"] == pytest.approx(
        3 * t.loc["one PCT of ~300,000", "management_cost_gbp"]
    )


def test_small_holders_carry_more_risk(default_table):
    t = default_table
    order = [
        "single-practice fundholders",
        "locality clusters",
        "three PCTs of ~100,000",
        "one PCT of ~300,000",
    ]
    assert t.loc[order, "population_median"].is_monotonic_increasing
    assert t.loc[order, "overspend_p95_pct_worst"].is_monotonic_decreasing
    assert t.loc[order, "overspend_p95_pct_median"].is_monotonic_decreasing
    assert t.loc["single-practice fundholders", "expected_holders_overspending"] > 1
    assert t.loc["one PCT of ~300,000", "p_overspend_worst"] < 0.01


def test_fundholders_risk_matches_the_risk_model():
    h = tc.holder_table(PRACTICES, COSTS, n_years=20_000, seed=2)
    fh = h[h["configuration"] == "single-practice fundholders"]
    capped = br.practice_part(COSTS, br.STOP_LOSS_1994_GBP)
    expected = [br.analytic_cv(capped, int(n)) for n in fh["n_people"]]
    assert np.allclose(fh["cv"], expected, rtol=0.04)  # the stop-loss applies to fundholders only
    pct = h[h["configuration"] == "one PCT of ~300,000"].iloc[0]
    assert pct["cv"] == pytest.approx(br.analytic_cv(COSTS, int(pct["n_people"])), rel=0.04)


@settings(max_examples=20, deadline=None)
@given(
    fixed=st.floats(0, 1e6),
    per_head=st.floats(0, 100),
    share=st.floats(0, 0.2),
    overhead=st.floats(0, 1e7),
)
def test_costs_are_linear_in_their_parts(fixed, per_head, share, overhead):
    model = tc.CostModel(fixed, per_head, share, overhead)
    t = tc.configuration_table(SMALL, FLAT, dict.fromkeys(tc.CONFIGURATIONS, model), n_years=100)
    holders = t["holders"].to_numpy()
    expected = holders * fixed + 6_000 * per_head + share * 600_000 + overhead
    assert np.allclose(t["management_cost_gbp"], expected)


BAD = [
    (lambda: tc.holders(SMALL.drop(columns="locality")), "no column locality"),
    (lambda: tc.holders(SMALL.assign(list_size=[1_000, 0, 5])), "list size of 1 or more"),
    (lambda: tc.holders(SMALL.assign(list_size=["a", "b", "c"])), "list size of 1 or more"),
    (
        lambda: tc.holder_table(SMALL, FLAT, {"locality clusters": tc.CostModel()}, n_years=100),
        "no cost model",
    ),
    (
        lambda: tc.holder_table(
            SMALL, FLAT, dict.fromkeys(tc.CONFIGURATIONS, tc.CostModel(fixed_gbp=-1)), n_years=100
        ),
        "fixed_gbp .* must be a number from 0",
    ),
    (
        lambda: tc.holder_table(
            SMALL,
            FLAT,
            dict.fromkeys(tc.CONFIGURATIONS, tc.CostModel(share_of_budget=1.5)),
            n_years=100,
        ),
        "share_of_budget",
    ),
]


@pytest.mark.parametrize(("call", "message"), BAD)
def test_bad_input_gets_a_plain_message(call, message):
    with pytest.raises(tc.TransactionCostError, match=message):
        call()


def test_bad_cap_is_reported_by_the_risk_model():
    models = dict.fromkeys(tc.CONFIGURATIONS, tc.CostModel(cap_gbp=-5.0))
    with pytest.raises(br.BudgetRiskError, match="cap"):
        tc.holder_table(SMALL, FLAT, models, n_years=100)


def test_seeded_tables_repeat():
    a = tc.configuration_table(PRACTICES, COSTS, n_years=500, seed=3)
    b = tc.configuration_table(PRACTICES, COSTS, n_years=500, seed=3)
    pd.testing.assert_frame_equal(a, b)
