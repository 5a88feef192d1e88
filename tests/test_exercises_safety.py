"""The risk-in-primary-care exercises (workbook 04): each task's answer worked out here,
independently of the checker, wrong answers marked wrong and every valid answer accepted."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from scipy.stats import mstats

from pbc_lib import data
from pbc_lib.exercises import CORRECT, NOT_ANSWERED, WRONG
from pbc_lib.exercises import safety as ex
from pbc_lib.models import funnel as fp


@pytest.fixture(scope="module")
def year() -> pd.DataFrame:
    rows = data.load_safety()
    return rows.loc[rows["financial_year"] == "2006/07"].set_index("practice_id")


@pytest.fixture(scope="module")
def p0(year) -> float:
    return year["prescribing_errors"].sum() / year["items_checked"].sum()


def _z(year: pd.DataFrame, p0: float) -> np.ndarray:
    rate = year["prescribing_errors"] / year["items_checked"]
    return ((rate - p0) / np.sqrt(p0 * (1 - p0) / year["items_checked"])).to_numpy()


def test_task1_and_2_errors_and_no_report(year):
    errors = year.at[ex.PRACTICE, "consultations"] * 16 / 100_000
    assert ex.check(1, round(errors, 2)).status == CORRECT
    assert ex.check(1, round(errors * 10, 2)).status == WRONG  # per 10,000 by mistake
    none = math.exp(-errors * 5_706 / 48_000) * 100
    assert ex.check(2, round(none, 1)).status == CORRECT
    assert ex.check(2, "76.3%").status == CORRECT  # typed as a person writes it
    # Forgetting that most errors go unreported: e^-errors.
    assert ex.check(2, round(math.exp(-errors) * 100, 1)).status == WRONG


def test_task3_pooled_not_averaged(year, p0):
    assert ex.check(3, round(p0 * 100, 2)).status == CORRECT
    averaged = (year["prescribing_errors"] / year["items_checked"]).mean() * 100
    assert abs(averaged - p0 * 100) > 0.01  # the two differ, so the check can tell them apart
    assert ex.check(3, round(averaged, 2)).status == WRONG


def test_task4_exact_limit_by_hand(year, p0):
    n = int(year.at[ex.OUTLIER, "items_checked"])
    # Spiegelhalter's interpolation, written out with scipy's binomial.
    count = stats.binom(n, p0)
    r = count.ppf(0.999)
    alpha = (count.cdf(r) - 0.999) / (count.cdf(r) - count.cdf(r - 1))
    limit = (r - alpha) / n * 100
    assert ex.check(4, round(limit, 2)).status == CORRECT
    # The practice is above it (the task's follow-up question).
    assert year.at[ex.OUTLIER, "prescribing_errors"] / n * 100 > limit
    normal = (p0 + 3.090232 * math.sqrt(p0 * (1 - p0) / n)) * 100
    assert ex.check(4, round(normal, 2)).status == WRONG
    assert ex.check(4, round(r / n * 100, 2)).status == WRONG  # no interpolation


def test_task5_phi_any_percentile_method_accepted(year, p0):
    z = _z(year, p0)
    low, high = np.quantile(z, [0.1, 0.9])
    assert ex.check(5, round(float(np.mean(np.clip(z, low, high) ** 2)), 2)).status == CORRECT
    # scipy's winsorize replaces whole values rather than interpolating percentiles.
    by_count = float(np.mean(np.asarray(mstats.winsorize(z, limits=(0.1, 0.1))) ** 2))
    assert ex.check(5, round(by_count, 2)).status == CORRECT
    assert ex.check(5, round(float(np.mean(z**2)), 2)).status == WRONG  # not winsorised


def test_task6_flag_after_widening(year, p0):
    z = _z(year, p0)
    low, high = np.quantile(z, [0.1, 0.9])
    phi = np.mean(np.clip(z, low, high) ** 2)
    n = year.at[ex.OUTLIER, "items_checked"]
    s = math.sqrt(p0 * (1 - p0) / n) * math.sqrt(phi)
    value = year.at[ex.OUTLIER, "prescribing_errors"] / n
    above_95 = value > p0 + stats.norm.ppf(0.975) * s
    flag = fp.FLAG_ABOVE_ALERT if above_95 else fp.FLAG_WITHIN
    assert value < p0 + stats.norm.ppf(0.999) * s  # no longer an alarm
    assert ex.check(6, flag).status == CORRECT
    assert ex.check(6, flag.upper()).status == CORRECT  # case does not matter
    assert ex.check(6, fp.FLAG_ABOVE_ALARM).status == WRONG  # the unadjusted flag
    assert "could not be read" in ex.check(6, "fine").text()


def test_task6_box_reads_the_dropdown():
    box = ex.task(6)
    box.control.value = ex.CHOOSE
    assert box.press().status == NOT_ANSWERED
    box.control.value = fp.FLAG_ABOVE_ALARM
    assert box.press().status == WRONG
    box.control.value = ex.flag_after_adjustment()
    assert box.press().status == CORRECT and "Correct." in box.feedback.value


def test_task7_audit_size(year):
    p = (
        year.at[ex.AUDIT_PRACTICE, "prescribing_errors"]
        / year.at[ex.AUDIT_PRACTICE, "items_checked"]
    )
    exact_z = math.ceil(stats.norm.ppf(0.975) ** 2 * p * (1 - p) / 0.01**2)
    rounded_z = math.ceil(1.96**2 * p * (1 - p) / 0.01**2)
    assert ex.check(7, exact_z).status == CORRECT
    assert ex.check(7, rounded_z).status == CORRECT  # z = 1.96 typed in is fine too
    at_4_9 = math.ceil(1.96**2 * 0.049 * 0.951 / 0.01**2)  # PRACtICe's rate, not the practice's
    assert ex.check(7, at_4_9).status == WRONG


def test_every_task_has_a_hint_and_the_summary_counts_honestly():
    exercise = ex.EXERCISE
    assert len(exercise.tasks) == 7
    assert all(t.hint for t in exercise.tasks)
    exercise.results.clear()
    ex.check(1, ex.expected_errors())
    ex.check(2, 1.0)
    text = ex.summary().text
    assert "All" not in text and text.startswith("2 of 7 tasks answered: 1 correct")
    exercise.results.clear()


def test_facts_table_names_the_practices(year):
    facts = ex.facts().set_index("Figure")["Value"]
    assert facts.iloc[0] == f"{year.at[ex.PRACTICE, 'consultations']:,}"
    assert "Abbey Fields" in facts.index[1]
