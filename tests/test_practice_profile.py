"""Hand-computed cases and invariants for pbc_lib.models.practice_profile."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pbc_lib.models import practice_profile as pp

PRACTICES = pd.DataFrame(
    {
        "practice_id": ["WM001", "WM002", "WM003"],
        "practice_name": ["A Surgery", "B Surgery", "C Surgery"],
        "locality": ["North", "North", "South"],
        "predecessor_pct": ["X PCT", "X PCT", "Y PCT"],
        "list_size": [1000, 3000, 2000],
        "need_index": [1.1, 0.9, 1.0],
    }
)
# WM001: 1000 people, 200 aged 65-74; WM002: 3000, 300 aged 85+; WM003: 2000, none older.
POPULATION = pd.DataFrame(
    {
        "practice_id": ["WM001", "WM001", "WM002", "WM002", "WM003"],
        "sex": ["F", "M", "F", "M", "F"],
        "age_band": ["16-44", "65-74", "16-44", "85+", "5-15"],
        "persons": [800, 200, 2700, 300, 2000],
    }
)
LISTS = pd.DataFrame(
    {
        "practice_id": ["WM001", "WM002", "WM003"],
        "financial_year": ["2006/07"] * 3,
        "registered_patients": [1000, 3000, 2000],
    }
)
ACTIVITY = pd.DataFrame(
    {
        "practice_id": ["WM001", "WM002", "WM003", "WM001", "WM002", "WM003"],
        "financial_year": ["2006/07"] * 6,
        "pod": ["gp_referral"] * 3 + ["non_elective"] * 3,
        "activity": [200, 300, 100, 100, 300, 200],
    }
)
PRESCRIBING = pd.DataFrame(
    {
        "practice_id": ["WM001", "WM002", "WM003"],
        "financial_year": ["2006/07"] * 3,
        "items": [20000, 45000, 25000],
        "net_ingredient_cost_gbp": [200000.0, 480000.0, 280000.0],
    }
)


def test_activity_rates_hand_computed():
    rates = pp.activity_rates(ACTIVITY, LISTS, "WM001", "2006/07").set_index("pod")
    # WM001: 200 referrals / 1,000 patients = 200 per 1,000; PCT: 600 / 6,000 = 100 per 1,000.
    assert rates.at["gp_referral", "practice_rate"] == pytest.approx(200.0)
    assert rates.at["gp_referral", "pct_rate"] == pytest.approx(100.0)
    assert rates.at["gp_referral", "ratio"] == pytest.approx(2.0)
    assert rates.at["non_elective", "practice_rate"] == pytest.approx(100.0)
    assert rates.at["non_elective", "pct_rate"] == pytest.approx(600 / 6000 * 1000)
    assert list(rates["measure"]) == ["GP referrals", "Emergency (non-elective) admissions"]


def test_pct_rate_is_list_weighted_not_mean_of_rates():
    rates = pp.activity_rates(ACTIVITY, LISTS, "WM002", "2006/07").set_index("pod")
    mean_of_rates = (200 / 1000 + 300 / 3000 + 100 / 2000) / 3 * 1000
    assert rates.at["gp_referral", "pct_rate"] != pytest.approx(mean_of_rates)
    assert rates.at["gp_referral", "pct_rate"] == pytest.approx(100.0)


def test_age_sex_shares_sum_to_one_per_group_and_hand_values():
    shares = pp.age_sex_shares(POPULATION, "WM001", "A Surgery")
    for _, g in shares.groupby("group"):
        assert g["share"].sum() == pytest.approx(1.0)
    own = shares[shares["group"] == "A Surgery"].set_index(["age_band", "sex"])["share"]
    assert own[("65-74", "M")] == pytest.approx(0.2)
    pct = shares[shares["group"] == pp.PCT_LABEL].set_index(["age_band", "sex"])["share"]
    assert pct[("85+", "M")] == pytest.approx(300 / 6000)


def test_older_share_practice_and_pct():
    assert pp.older_share(POPULATION, "WM001") == pytest.approx(0.2)
    assert pp.older_share(POPULATION, "WM003") == 0.0
    assert pp.older_share(POPULATION) == pytest.approx(500 / 6000)


def test_prescribing_per_head():
    got = pp.prescribing_per_head(PRESCRIBING, LISTS, "WM001", "2006/07")
    assert got["practice_items"] == pytest.approx(20.0)
    assert got["pct_items"] == pytest.approx(90000 / 6000)
    assert got["practice_cost"] == pytest.approx(200.0)
    assert got["pct_cost"] == pytest.approx(960000 / 6000)


def test_practice_facts_rank_and_values():
    facts = pp.practice_facts(PRACTICES, POPULATION, "WM003")
    assert facts["list_rank"] == 2 and facts["practices"] == 3
    assert facts["locality"] == "South" and facts["older_share"] == 0.0


def test_practices_in_locality_sorted():
    assert list(pp.practices_in_locality(PRACTICES, "North")["practice_id"]) == ["WM001", "WM002"]


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: pp.practice_facts(PRACTICES, POPULATION, "WM999"), "no practice with the code"),
        (lambda: pp.practices_in_locality(PRACTICES, "East"), "no locality called"),
        (
            lambda: pp.activity_rates(ACTIVITY, LISTS, "WM001", "1999/00"),
            "no list sizes for 1999/00",
        ),
        (lambda: pp.age_sex_shares(POPULATION, "WM999", "x"), "no population figures"),
    ],
)
def test_unknown_inputs_get_plain_messages(call, message):
    with pytest.raises(pp.ProfileError, match=message):
        call()


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 20))
def test_scaling_all_activity_and_lists_leaves_rates_unchanged(k):
    scaled_a = ACTIVITY.assign(activity=ACTIVITY["activity"] * k)
    scaled_l = LISTS.assign(registered_patients=LISTS["registered_patients"] * k)
    base = pp.activity_rates(ACTIVITY, LISTS, "WM002", "2006/07")
    scaled = pp.activity_rates(scaled_a, scaled_l, "WM002", "2006/07")
    pd.testing.assert_series_equal(base["practice_rate"], scaled["practice_rate"])
    pd.testing.assert_series_equal(base["pct_rate"], scaled["pct_rate"])


@pytest.mark.parametrize(
    ("measure", "expected"),
    [
        ("List size", {"WM002": 3000, "WM003": 2000, "WM001": 1000}),
        ("Share aged 65 and over", {"WM001": 20.0, "WM002": 10.0, "WM003": 0.0}),
        ("Additional-need index", {"WM001": 1.1, "WM003": 1.0, "WM002": 0.9}),
        ("GP referrals per 1,000", {"WM001": 200.0, "WM002": 100.0, "WM003": 50.0}),
        ("Emergency admissions per 1,000", {"WM002": 100.0, "WM001": 100.0, "WM003": 100.0}),
    ],
)
def test_practice_ranking_hand_computed_and_sorted(measure, expected):
    ranked = pp.practice_ranking(PRACTICES, POPULATION, ACTIVITY, LISTS, measure, "2006/07")
    got = dict(zip(ranked["practice_id"], ranked["value"], strict=True))
    assert got == pytest.approx(expected)
    assert ranked["value"].is_monotonic_decreasing
    assert set(ranked.columns) == {"practice_id", "practice_name", "locality", "value"}


def test_practice_ranking_rejects_unknown_measures_and_years():
    with pytest.raises(pp.ProfileError, match="cannot be ranked by 'Height'"):
        pp.practice_ranking(PRACTICES, POPULATION, ACTIVITY, LISTS, "Height", "2006/07")
    with pytest.raises(pp.ProfileError, match="no list sizes for 1999/00"):
        pp.practice_ranking(
            PRACTICES, POPULATION, ACTIVITY, LISTS, "GP referrals per 1,000", "1999/00"
        )
    with pytest.raises(pp.ProfileError, match="No a&e attendances per 1,000 figure"):
        pp.practice_ranking(
            PRACTICES, POPULATION, ACTIVITY, LISTS, "A&E attendances per 1,000", "2006/07"
        )
