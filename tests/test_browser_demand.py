"""Workbook 02 and its exercises in a real browser (Voilà + headless Chromium): the outpatient-
capacity slider redraws the 18-week charts and nothing above them, the Bolton-style button loads
its illustrative scenario, and an exercise answer typed in a box is checked by simulation."""

from __future__ import annotations

import pytest
from conftest import chart_svgs, open_notebook

pytestmark = pytest.mark.browser

WORKBOOK = "workbooks/02_demand_management.ipynb"
EXERCISES = "exercises/02_demand_management_exercises.ipynb"
CHARTS = 6  # referral explorer 2, scheme designer 2, 18-week simulator 2 (in page order)
REFERRAL_CHARTS, SCHEME_CHARTS, RTT_CHARTS = (0, 1), (2, 3), (4, 5)


def test_capacity_slider_redraws_the_18_week_charts_only(voila_url, recorded_page):
    page = recorded_page.page
    open_notebook(page, voila_url, WORKBOOK, CHARTS)
    before = chart_svgs(page)
    slider = page.locator(".widget-slider", has_text="Outpatient capacity a week").first
    slider.locator(".noUi-handle").click()
    for _ in range(5):
        page.keyboard.press("ArrowRight")
    page.wait_for_function(
        "before => { const now = [...document.querySelectorAll('figure.pbc-chart svg')]"
        ".map(e => e.outerHTML); return [4, 5].every(i => now[i] !== before[i])"
        " && now[5].includes('Your setting: 98%'); }",
        arg=before,
        timeout=60_000,
    )
    # 160 + 5 steps of 2 = 170 a week; with holiday weeks it averages 159.5, a load of 98%
    assert slider.locator(".widget-readout").inner_text().strip() == "170"
    after = chart_svgs(page)
    assert after[:4] == before[:4], "the referral and scheme charts do not depend on capacity"
    page.wait_for_function(
        "() => document.body.innerText.includes('averaging 159.5 a week')", timeout=30_000
    )
    assert page.locator(".pbc-error:visible").count() == 0
    assert recorded_page.foreign_requests() == []


def test_bolton_button_loads_the_illustrative_scenario(voila_url, recorded_page):
    page = recorded_page.page
    open_notebook(page, voila_url, WORKBOOK, CHARTS)
    before = chart_svgs(page)
    page.get_by_role("button", name="Load the Bolton-style scenario (illustrative)").click()
    page.wait_for_function(
        "() => [...document.querySelectorAll('figure.pbc-chart svg')][2].outerHTML"
        ".includes('Bolton-style (illustrative)')",
        timeout=60_000,
    )
    # the summary text is set after the charts: wait for it too
    page.wait_for_function(
        "() => document.body.innerText.includes('not verified in any source')", timeout=30_000
    )
    after = chart_svgs(page)
    assert all(after[i] != before[i] for i in SCHEME_CHARTS)
    assert all(after[i] == before[i] for i in (*REFERRAL_CHARTS, *RTT_CHARTS))
    assert "25 case managers" in page.inner_text("body")
    assert page.locator(".pbc-error:visible").count() == 0
    assert recorded_page.foreign_requests() == []


def test_capacity_task_is_checked_by_simulation(voila_url, recorded_page):
    page = recorded_page.page
    open_notebook(page, voila_url, EXERCISES, 0)
    task = page.locator(".pbc-task").nth(6)  # task 7: the least capacity is about 160.6 a week
    task.locator("input[type=text]").fill("150")
    task.get_by_role("button", name="Check").click()
    task.locator(".pbc-feedback", has_text="Not quite.").wait_for(timeout=30_000)
    assert "too low" in task.inner_text() and "Hint:" in task.inner_text()
    task.locator("input[type=text]").fill("161")
    task.get_by_role("button", name="Check").click()
    task.locator(".pbc-feedback", has_text="Correct.").wait_for(timeout=30_000)
    progress = page.locator(".pbc-score").last
    progress.filter(has_text="1 of 7 tasks answered: 1 correct").wait_for(timeout=15_000)
    assert "All" not in progress.inner_text()
    assert recorded_page.foreign_requests() == []
