"""Workbook-03 exercises: each task's answer worked out independently of the checker (by formula,
by a plain numpy simulation or by hand), wrong answers marked wrong, and fair alternatives (another
seed, the normal approximation) accepted."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import norm

from pbc_lib import data
from pbc_lib.exercises import CORRECT, NOT_ANSWERED, WRONG
from pbc_lib.exercises import fundholding as ex

COSTS = data.load_patient_costs()
FH = (COSTS["elective_inpatient_gbp"] + COSTS["day_case_gbp"] + COSTS["outpatient_gbp"]).to_numpy()
EL = COSTS["elective_inpatient_gbp"].to_numpy()
Z95 = norm.ppf(0.95)  # 1.645


def _m2(x: np.ndarray) -> float:
    return float(np.mean(x**2) / np.mean(x) ** 2)


def _cv(x: np.ndarray, n: int) -> float:
    """CV of n independent people's total: √((E[X²]/E[X]² − 1) / n)."""
    return float(np.sqrt((_m2(x) - 1) / n))


def test_there_are_eight_numbered_tasks_with_hints():
    assert [t.number for t in ex.TASKS] == list(range(1, 9))
    assert all(t.hint and t.statement for t in ex.TASKS)


def test_task1_cv_by_formula():
    by_hand = _cv(EL, 9_000) * 100
    assert ex.check(1, round(by_hand, 2)).status == CORRECT
    assert ex.check(1, 7.49).status == WRONG  # Crump's own CV is not this data's
    assert "too low" in ex.check(1, 7.49).text()


def test_task2_spread_by_a_plain_numpy_simulation():
    rng = np.random.default_rng(12345)
    years = np.array([EL[rng.integers(0, EL.size, 9_000)].sum() for _ in range(3_000)])
    budget = 9_000 * EL.mean()
    p5, p95 = np.percentile(years, [5, 95])
    assert ex.check(2, (p95 - p5) / budget * 100).status == CORRECT
    # the normal approximation, 2 × 1.645 × CV, passes too
    assert ex.check(2, 2 * Z95 * _cv(EL, 9_000) * 100).status == CORRECT
    assert ex.check(2, 27.5 + 3).status == WRONG


def test_task3_the_normal_approximation_passes_and_the_thresholds_do_not():
    # 1 − Φ(0.10 / CV) < 0.05  ⇔  CV < 0.10 / 1.645  ⇔  N > (E[X²]/E[X]² − 1) / (0.10 / 1.645)²
    normal = (_m2(FH) - 1) / (0.10 / Z95) ** 2
    assert ex.check(3, round(normal, -1)).status == CORRECT
    assert ex.check(3, 9_000).status == WRONG  # the 1991 threshold is far safer than needed
    assert ex.check(3, 1_000).status == WRONG
    # by the formula, 500 patients fewer than the checker's answer is clearly over 5%
    fewer = ex.smallest_safe_list() - 500
    assert 1 - norm.cdf(0.10 / _cv(FH, int(fewer))) > 0.05


def test_task4_what_the_authority_pays_by_hand():
    by_hand = 7_000 * np.mean(np.clip(FH - 6_000, 0, None))
    assert ex.check(4, round(by_hand)).status == CORRECT
    assert ex.check(4, "£" + f"{by_hand:,.0f}").status == CORRECT
    practice_part = 7_000 * np.mean(np.minimum(FH, 6_000))  # what the practice pays instead
    assert ex.check(4, practice_part).status == WRONG


def test_task5_cap_cut_by_the_normal_approximation():
    capped = np.minimum(FH, 6_000)
    normal = Z95 * (_cv(FH, 7_000) - _cv(capped, 7_000)) * 100
    assert ex.check(5, normal).status == CORRECT
    assert ex.check(5, 0).status == WRONG
    assert ex.check(5, 6_000 / 100).status == WRONG


def test_task6_three_year_chance_by_the_normal_approximation():
    three_year_cv = _cv(FH, 7_000) / np.sqrt(3)
    normal = (1 - norm.cdf(0.05 / three_year_cv)) * 100
    assert ex.check(6, normal).status == CORRECT
    one_year = (1 - norm.cdf(0.05 / _cv(FH, 7_000))) * 100  # forgetting the three years
    assert ex.check(6, one_year).status == WRONG


def test_task7_pool_size_by_formula():
    k = next(k for k in range(1, 21) if Z95 * _cv(FH, 5_000 * k) * 100 < 3.5)
    assert ex.check(7, k).status == CORRECT
    assert ex.check(7, str(k)).status == CORRECT
    assert ex.check(7, k - 1).status == WRONG
    half = ex.check(7, k - 0.5)
    assert half.status == WRONG and "whole number" in half.text()


def test_task8_cluster_cost_by_hand():
    practices = data.load_practices()
    people = practices["list_size"].sum()
    # 7 clusters × £100,000 + (£0.95 + £0.95) × people + £250m / (303 − 152) for the PCT
    total = 7 * 100_000 + 1.90 * people + 250e6 / 151
    assert ex.check(8, round(total / people, 2)).status == CORRECT
    assert ex.check(8, round(total / people, 2) + 1).status == WRONG


def test_blank_answers_are_not_marked_and_the_summary_waits_for_all():
    assert ex.check(1, ...).status == NOT_ANSWERED
    ex.EXERCISE.results.clear()
    ex.check(4, 7_000 * np.mean(np.clip(FH - 6_000, 0, None)))
    assert "All" not in ex.summary().text and "1 of 8" in ex.summary().text


def test_the_web_box_reads_what_was_typed():
    box = ex.task(4)
    box.control.value = f"£{7_000 * np.mean(np.clip(FH - 6_000, 0, None)):,.0f}"
    assert box.press().status == CORRECT and "Correct." in box.feedback.value
    box.control.value = "£1"
    assert box.press().status == WRONG


def test_facts_come_from_the_data():
    facts = ex.facts().set_index("Figure")["Value"]
    assert facts["People in the cost sample (patient_costs.csv)"] == f"{len(COSTS):,}"
    assert facts["Mean cost per head, fundholding scope"] == f"£{FH.mean():,.2f}"
    assert "<table" in ex.facts_html()


@pytest.mark.parametrize("number", [0, 9])
def test_task_numbers_are_checked(number):
    with pytest.raises(ValueError, match="tasks 1 to 8"):
        ex.check(number, 1)
