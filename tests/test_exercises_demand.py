"""The demand-management exercises (workbook 02): each task's answer worked out independently of
the checker, wrong answers marked wrong, any valid answer accepted."""

from __future__ import annotations

import math

import pytest

from pbc_lib import data
from pbc_lib.exercises import CORRECT, NOT_ANSWERED, WRONG
from pbc_lib.exercises import demand as ex
from pbc_lib.models import waiting_list as wl


@pytest.fixture(scope="module")
def tables():
    return {
        "activity": data.load_activity(),
        "prices": data.load_prices(),
        "lists": data.load_list_sizes(),
    }


def _prices(tables, year):
    p = tables["prices"]
    return p.loc[p["financial_year"] == year].set_index("pod")["unit_price_gbp"]


def _year(tables):
    a = tables["activity"]
    return a.loc[a["financial_year"] == "2006/07"]


def _per_first(tables):
    totals = _year(tables).groupby("pod")["activity"].sum()
    return {
        p: totals[p] / totals["op_first"]
        for p in ("op_follow_up", "elective_inpatient", "day_case")
    }


def test_there_are_seven_tasks_and_nothing_is_answered_at_first():
    assert len(ex.TASKS) == 7
    fresh = ex.Exercise("copy", ex.TASKS)
    assert fresh.summary().text == "No tasks answered yet: 7 to do."
    assert fresh.check(1, ...).status == NOT_ANSWERED


def test_task1_pathway_cost_by_hand(tables):
    mine = _year(tables).loc[_year(tables)["practice_id"] == "WM004"].set_index("pod")["activity"]
    price = _prices(tables, "2006/07")
    by_hand = sum(
        mine[p] * price[p] for p in ("op_first", "op_follow_up", "elective_inpatient", "day_case")
    )
    assert ex.check(1, round(by_hand, -2)).status == CORRECT
    assert ex.check(1, f"£{by_hand:,.0f}").status == CORRECT  # typed as a person writes it
    with_referrals = by_hand + mine["gp_referral"] * price["op_first"]  # referrals are unpriced
    wrong = ex.check(1, with_referrals)
    assert wrong.status == WRONG and "too high" in wrong.text() and "Hint:" in wrong.text()


def test_task2_ratio_by_hand(tables):
    refs = _year(tables).loc[_year(tables)["pod"] == "gp_referral"].set_index("practice_id")
    lists = tables["lists"].loc[tables["lists"]["financial_year"] == "2006/07"]
    lists = lists.set_index("practice_id")["registered_patients"]
    expected = refs["activity"].sum() / lists.sum() * lists["WM004"]
    ratio = refs.at["WM004", "activity"] / expected
    assert ratio > 1.2  # a high referrer
    assert ex.check(2, round(ratio, 2)).status == CORRECT
    assert ex.check(2, round(1 / ratio, 2)).status == WRONG  # expected over observed


def test_task3_cost_of_one_referral_by_hand(tables):
    price, r = _prices(tables, "2007/08"), _per_first(tables)
    by_hand = 0.92 * (
        price["op_first"]
        + r["op_follow_up"] * price["op_follow_up"]
        + r["elective_inpatient"] * price["elective_inpatient"]
        + r["day_case"] * price["day_case"]
    )
    assert ex.check(3, round(by_hand)).status == CORRECT
    assert ex.check(3, round(by_hand / 0.92)).status == WRONG  # forgot the missed appointments


def test_task4_break_even_caseload_by_hand(tables):
    # £45,000 / (1.41 admissions x 15% x £1,793.75) = 45,000 / 379.38 = 118.6 patients
    emergency = _prices(tables, "2007/08")["non_elective"]
    by_hand = 45_000 / (1.41 * 0.15 * emergency)
    assert by_hand == pytest.approx(118.6, abs=0.05)
    assert ex.check(4, round(by_hand)).status == CORRECT
    assert ex.check(4, math.floor(by_hand)).status == WRONG  # 118 patients do not pay for it
    assert ex.check(4, 50).status == WRONG


def test_task5_assessment_service_by_hand(tables):
    price, r = _prices(tables, "2007/08"), _per_first(tables)
    outpatients = 0.92 * (price["op_first"] + r["op_follow_up"] * price["op_follow_up"])
    admissions = 0.92 * (
        r["elective_inpatient"] * price["elective_inpatient"] + r["day_case"] * price["day_case"]
    )
    triaged = 1000 * 0.9
    redirected, returned = 0.10 * triaged, 0.03 * triaged
    saving = (redirected + returned) * (outpatients + 0.25 * admissions)
    cost = triaged * 25 + (redirected * 1.25) * 180
    assert ex.check(5, saving - cost).status == CORRECT
    assert ex.check(5, saving).status == WRONG  # forgot the scheme's own cost


def test_task6_largest_list_by_hand(tables):
    refs = _year(tables).loc[_year(tables)["pod"] == "gp_referral", "activity"].sum()
    weekly = round(refs / 52 * 0.15)
    by_hand = weekly * 18 / math.log(10)
    assert ex.check(6, round(by_hand)).status == CORRECT
    assert ex.check(6, weekly * 18).status == WRONG  # 18 weeks is the limit, not the mean


def test_task7_accepts_any_capacity_that_meets_the_standard_without_waste():
    least = ex.least_capacity()
    weekly = ex.weekly_demand()
    assert least > weekly  # the backlog needs more than demand
    # Worked independently: simulate with the task's settings and read the monthly return.
    start = wl.steady_start_list(ex.TASK7_START, ex.TASK7_MEAN_WAIT)

    def share(capacity):
        run = wl.simulate_waiting_list(weekly, capacity, 52, start_list=start, seed=5)
        return run.pooled_within(49, 52)[0]

    answer = math.ceil(least)
    assert share(answer) >= 0.90 and share(least * 0.98) < 0.90
    assert ex.check(7, answer).status == CORRECT
    assert ex.check(7, round(least * 1.02, 1)).status == CORRECT  # within 3%: also right
    low = ex.check(7, math.floor(least * 0.98))
    assert low.status == WRONG and "too low" in low.text()
    high = ex.check(7, least * 1.10)
    assert high.status == WRONG and "too high" in high.text()
    assert ex.check(7, "lots").status == WRONG


def test_task_box_reads_a_typed_answer():
    box = ex.task(6)
    box.control.value = "1,220"
    result = box.press()
    assert result.status == CORRECT and "Correct." in box.feedback.value
    box.control.value = "800"
    assert box.press().status == WRONG


def test_facts_show_the_figures_the_tasks_need(tables):
    facts = ex.facts().set_index("Figure")["Value"]
    assert facts["2007/08 price: emergency admission"] == "£1,793.75"
    assert "8%" in facts.to_numpy()
    assert "<table" in ex.facts_html()
