"""Workbook 04 and its exercises in a real browser (Voilà + headless Chromium): the funnel plot's
overdispersion choice redraws the funnel and nothing else, a new screening sample redraws only the
screening chart, and an exercise answer chosen from a list is marked at once."""

from __future__ import annotations

import pytest
from conftest import chart_svgs, open_notebook

pytestmark = pytest.mark.browser

WORKBOOK = "workbooks/04_risk_in_primary_care.ipynb"
EXERCISES = "exercises/04_risk_in_primary_care_exercises.ipynb"
CHARTS = 4  # arithmetic, funnel, audit, screening


def _wait_for_change(page, before, index, text):
    page.wait_for_function(
        "([before, i, text]) => { const now = [...document.querySelectorAll("
        "'figure.pbc-chart svg')].map(e => e.outerHTML);"
        " return now[i] !== before[i] && (!text || now[i].includes(text)); }",
        arg=[before, index, text],
        timeout=30_000,
    )


def test_overdispersion_redraws_only_the_funnel(voila_url, recorded_page):
    page = recorded_page.page
    open_notebook(page, voila_url, WORKBOOK, CHARTS)
    before = chart_svgs(page)
    assert "WM007" in before[1]  # the highlighted practice is labelled
    select = page.locator(".widget-dropdown", has_text="Overdispersion").locator("select")
    label = next(o for o in select.locator("option").all_inner_texts() if "Multiplicative" in o)
    select.select_option(label=label)
    _wait_for_change(page, before, 1, "widened by √φ")
    after = chart_svgs(page)
    assert [after[i] == before[i] for i in (0, 2, 3)] == [True, True, True]
    page.wait_for_function(
        "() => document.body.innerText.includes('Abbey Fields Surgery (WM007)')"
        " && document.body.innerText.includes('within limits.')"
    )
    assert page.locator(".pbc-error:visible").count() == 0
    assert recorded_page.foreign_requests() == []


def test_new_screening_sample_redraws_the_screening_chart(voila_url, recorded_page):
    page = recorded_page.page
    open_notebook(page, voila_url, WORKBOOK, CHARTS)
    before = chart_svgs(page)
    summary = page.locator(".widget-html", has_text="simulated practices,").first.inner_text()
    page.get_by_role("button", name="Draw another PCT").click()
    _wait_for_change(page, before, 3, "")
    after = chart_svgs(page)
    assert after[:3] == before[:3]
    assert "1,000 simulated practices" in after[3]
    page.wait_for_function(
        "old => ![...document.querySelectorAll('.widget-html')].some(e => e.innerText === old)",
        arg=summary,
        timeout=30_000,
    )
    assert page.locator(".pbc-error:visible").count() == 0
    assert recorded_page.foreign_requests() == []


def test_exercise_flag_is_chosen_from_a_list_and_marked(voila_url, recorded_page):
    page = recorded_page.page
    open_notebook(page, voila_url, EXERCISES, 0)
    task = page.locator(".pbc-task").nth(5)  # task 6: the flag after widening by √φ
    choice = task.locator("select")
    choice.select_option(label="above 99.8% (alarm)")
    task.get_by_role("button", name="Check").click()
    task.locator(".pbc-feedback", has_text="Not quite.").wait_for(timeout=15_000)
    assert "Hint:" in task.inner_text()
    choice.select_option(label="within limits")
    task.get_by_role("button", name="Check").click()
    task.locator(".pbc-feedback", has_text="Correct.").wait_for(timeout=15_000)
    progress = page.locator(".pbc-score").last
    progress.filter(has_text="1 of 7 tasks answered: 1 correct").wait_for(timeout=15_000)
    assert "All" not in progress.inner_text()
    assert recorded_page.foreign_requests() == []
