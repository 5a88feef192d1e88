"""Workbook 03 and its exercises in a real browser (Voilà + headless Chromium): the stop-loss slider
redraws the risk curve and the practice's protection chart but not the configuration charts, the
measure list brings up Crump's published points, and an exercise answer typed in a box is marked at
once."""

from __future__ import annotations

import pytest
from conftest import chart_svgs, open_notebook

pytestmark = pytest.mark.browser

WORKBOOK = "workbooks/03_fundholding_vs_pbc.ipynb"
EXERCISES = "exercises/03_fundholding_vs_pbc_exercises.ipynb"
CHARTS = 4  # risk curve, protection steps, configurations, relationships


def test_stop_loss_redraws_the_risk_charts_only(voila_url, recorded_page):
    page = recorded_page.page
    open_notebook(page, voila_url, WORKBOOK, CHARTS)
    before = chart_svgs(page)
    assert "£6,000 stop-loss" in before[0]
    slider = page.locator(".widget-slider", has_text="Stop-loss per patient a year").first
    slider.locator(".noUi-handle").click()
    page.keyboard.press("ArrowLeft")  # £6,000 -> £5,000, the cap before April 1994
    page.wait_for_function(
        "before => { const now = [...document.querySelectorAll('figure.pbc-chart svg')]"
        ".map(e => e.outerHTML); return now[0].includes('£5,000 stop-loss')"
        " && now[1] !== before[1]; }",
        arg=before,
        timeout=30_000,
    )
    after = chart_svgs(page)
    assert after[2] == before[2] and after[3] == before[3], "configuration charts redrawn"
    assert slider.locator(".widget-readout").inner_text().strip() == "£5,000"
    assert page.locator(".pbc-error:visible").count() == 0
    assert recorded_page.foreign_requests() == []


def test_crumps_measure_shows_his_published_points(voila_url, recorded_page):
    page = recorded_page.page
    open_notebook(page, voila_url, WORKBOOK, CHARTS)
    measure = page.locator("select").nth(2)  # practice, budget scope, measure
    label = next(o for o in measure.locator("option").all_inner_texts() if "Crump" in o)
    measure.select_option(label=label)
    page.wait_for_function(
        "() => document.querySelector('figure.pbc-chart svg')"
        ".getAttribute('aria-label').includes(\"Crump et al.'s published points\")",
        timeout=30_000,
    )
    assert "surgical procedures only" in page.locator("figure.pbc-chart").first.inner_html()
    assert page.locator(".pbc-error:visible").count() == 0


def test_exercise_box_marks_the_pool_size(voila_url, recorded_page):
    page = recorded_page.page
    open_notebook(page, voila_url, EXERCISES, 0)
    task = page.locator(".pbc-task").nth(6)  # task 7: how many practices must pool
    task.locator("input[type=text]").fill("4")
    task.get_by_role("button", name="Check").click()
    task.locator(".pbc-feedback", has_text="Not quite.").wait_for(timeout=15_000)
    assert "too low" in task.inner_text() and "Hint:" in task.inner_text()
    task.locator("input[type=text]").fill("5")
    task.get_by_role("button", name="Check").click()
    task.locator(".pbc-feedback", has_text="Correct.").wait_for(timeout=15_000)
    progress = page.locator(".pbc-score").last
    progress.filter(has_text="1 of 8 tasks answered: 1 correct").wait_for(timeout=15_000)
    assert recorded_page.foreign_requests() == []
