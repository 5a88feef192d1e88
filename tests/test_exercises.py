"""The exercise checker: feedback, the summary rule, and each budget task's expected answer
worked out independently of the checker."""

from __future__ import annotations

import pytest

from pbc_lib import data
from pbc_lib.exercises import (
    CORRECT,
    NOT_ANSWERED,
    WRONG,
    Exercise,
    ExerciseError,
    Task,
    numeric_judge,
)
from pbc_lib.exercises import budgets as ex
from pbc_lib.models import budgets as b


def _small() -> Exercise:
    judge = numeric_judge(lambda: 10.0, 0.5, "£", lambda v: f"£{v:,.0f}")
    return Exercise("Small", [Task(n, f"T{n}", "Say 10.", judge, "It is ten.") for n in (1, 2, 3)])


def test_summary_never_says_all_correct_until_every_task_is_right():
    small = _small()
    assert small.summary().text == "No tasks answered yet: 3 to do."
    small.check(1, 10)
    small.check(2, 10)
    text = small.summary().text
    assert (
        "All" not in text and text == "2 of 3 tasks answered: 2 correct; not answered yet: task 3."
    )
    small.check(3, 99)
    assert small.summary().text == "3 of 3 tasks answered: 2 correct; try again: task 3."
    small.check(3, 10)
    assert small.summary().text == "All 3 tasks answered and correct. Well done."


def test_unanswered_wrong_and_right_feedback():
    small = _small()
    blank = small.check(1, ...)
    assert blank.status == NOT_ANSWERED and "Not answered yet" in blank.text()
    high = small.check(1, 12)
    assert high.status == WRONG and "too high" in high.text() and "Hint: It is ten." in high.text()
    assert small.check(1, "£9.6").status == CORRECT  # typed text is read like a person writes it
    unreadable = small.check(1, "ten")
    assert unreadable.status == WRONG and "could not be read" in unreadable.text()
    assert "pbc-wrong" in unreadable._repr_html_()


def test_task_numbers_are_checked():
    with pytest.raises(ExerciseError, match="tasks 1 to 3"):
        _small().check(4, 1)


def test_task_box_checks_what_was_typed():
    box = _small().task(2)
    box.control.value = ""
    assert box.press().status == NOT_ANSWERED
    box.control.value = "10"
    assert box.press().status == CORRECT and "Correct." in box.feedback.value


# --- each budget task, worked independently ------------------------------------------------------
def test_task1_age_index_by_hand():
    pop = data.load_population()
    mine = pop.loc[pop["practice_id"] == ex.PRACTICE]
    weights = mine["age_band"].astype(str).map(b.AGE_COST_WEIGHTS)
    by_hand = (mine["persons"] * weights).sum() / mine["persons"].sum()
    assert ex.check(1, round(by_hand, 3)).status == CORRECT
    assert ex.check(1, round(by_hand, 3) + 0.01).status == WRONG


def test_task2_and_4_share_and_distance_by_hand():
    practices = data.load_practices().set_index("practice_id")
    index = b.age_cost_index(data.load_population())
    weighted = practices["list_size"] * index * practices["need_index"]
    share = weighted[ex.PRACTICE] / weighted.sum()
    assert ex.check(2, round(share * 100, 2)).status == CORRECT
    target = ex.pot() * share
    dft = (ex.historic() - target) / target
    assert ex.check(4, round(dft * 100, 1)).status == CORRECT
    assert ex.check(4, round(-dft * 100, 1)).status == WRONG  # the sign matters


def test_task3_historic_budget_by_hand():
    act = data.load_activity()
    prices = data.load_prices()
    rx = data.load_prescribing()
    mine = act.loc[(act["practice_id"] == ex.PRACTICE) & (act["financial_year"] == "2006/07")]
    p = prices.loc[prices["financial_year"] == "2007/08"].set_index("pod")["unit_price_gbp"]
    hospital = sum(row.activity * p[row.pod] for row in mine.itertuples() if row.pod in p.index)
    heads = data.load_list_sizes().groupby("financial_year")["registered_patients"].sum()
    nic = rx.groupby("financial_year")["net_ingredient_cost_gbp"].sum()
    growth = (nic["2006/07"] / heads["2006/07"]) / (nic["2005/06"] / heads["2005/06"]) - 1
    own_rx = rx.loc[(rx["practice_id"] == ex.PRACTICE) & (rx["financial_year"] == "2006/07")]
    by_hand = hospital + own_rx["net_ingredient_cost_gbp"].iloc[0] * (1 + growth)
    assert ex.check(3, round(by_hand)).status == CORRECT


def test_task5_blend_by_hand():
    targets = b.capitation_targets(data.load_practices(), data.load_population(), ex.pot())
    target = targets.set_index("practice_id").at[ex.OVER_PRACTICE, "target"]
    components = b.budget_components(
        data.load_activity(),
        data.load_prices(),
        data.load_prescribing(),
        prescribing_uplift=b.prescribing_growth(
            data.load_prescribing(), data.load_list_sizes(), "2006/07"
        ),
    )
    hist = b.historic_budgets(components)[ex.OVER_PRACTICE]
    assert ex.check(5, hist + 0.3 * (target - hist)).status == CORRECT


def test_task6_and_7_by_hand():
    # Year 1 -60,000 owed; year 2 +20,000 repays -> 40,000 owed; year 3 +50,000 repays 40,000,
    # leaving 10,000, of which 70% = 7,000.
    assert ex.check(6, 7_000).status == CORRECT
    assert ex.check(6, 35_000).status == WRONG  # 70% of 50,000, forgetting the carried overspend
    patients = data.load_practices().set_index("practice_id").at[ex.PRACTICE, "list_size"]
    assert ex.check(7, 0.95 * patients / 0.70).status == CORRECT


def test_task8_accepts_any_plan_that_meets_both_conditions():
    good = ex.check(8, {"lam": 0.5, "threshold": 0.0, "max_cut": 0.03})
    also_good = ex.check(8, {"lam": 0.6, "threshold": 0.10, "max_cut": 0.03})
    assert good.status == CORRECT and also_good.status == CORRECT
    fast = ex.check(8, {"lam": 0.6, "threshold": 0.0, "max_cut": None})
    assert fast.status == WRONG and "keep every cut to 3% or less" in fast.text()
    slow = ex.check(8, {"lam": 0.2, "threshold": 0.0, "max_cut": 0.03})
    assert slow.status == WRONG and "bring every practice within 10%" in slow.text()
    assert "could not be read" in ex.check(8, 0.5).text()


def test_task8_box_reads_the_controls():
    box = ex.task(8)
    lam, threshold, cut = box.control.children
    lam.value, threshold.value, cut.value = 0.5, 0.0, 0.03
    assert box.press().status == CORRECT


def test_facts_table_lists_the_pot():
    table = ex.facts().set_index("Figure")["Value"]
    assert table.iloc[1].startswith("£")
