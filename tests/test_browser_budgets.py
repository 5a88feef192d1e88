"""Workbook 01 and its exercises in a real browser (Voilà + headless Chromium): the pace-of-change
slider redraws the PCT chart and the practice's glide path, the statement downloads as a file,
and an exercise answer typed in a box is marked at once."""

from __future__ import annotations

import pytest
from conftest import chart_svgs, open_notebook

pytestmark = pytest.mark.browser

WORKBOOK = "workbooks/01_indicative_budgets.ipynb"
EXERCISES = "exercises/01_indicative_budgets_exercises.ipynb"


def test_pace_of_change_redraws_the_pct_chart_and_the_glide_path(voila_url, recorded_page):
    page = recorded_page.page
    open_notebook(page, voila_url, WORKBOOK, 4)
    before = chart_svgs(page)
    slider = page.locator(".widget-slider", has_text="Pace of change").first
    slider.locator(".noUi-handle").click()
    for _ in range(5):
        page.keyboard.press("ArrowRight")
    page.wait_for_function(
        "before => { const now = [...document.querySelectorAll('figure.pbc-chart svg')]"
        ".map(e => e.outerHTML); return now[0].includes('after a 50% move')"
        " && now[3] !== before[3]; }",
        arg=before,
        timeout=30_000,
    )
    after = chart_svgs(page)
    assert after[1] == before[1], "the spread chart does not depend on the pace of change"
    # 25% + 5 steps of 5% = 50%; the readout agrees with the chart
    assert slider.locator(".widget-readout").inner_text().strip() == "50%"
    assert page.locator(".pbc-error:visible").count() == 0
    assert recorded_page.foreign_requests() == []


def test_statement_downloads_as_a_file(voila_url, recorded_page, tmp_path):
    page = recorded_page.page
    open_notebook(page, voila_url, WORKBOOK, 4)
    practice = page.locator(".pbc-control select").nth(1)
    label = next(o for o in practice.locator("option").all_inner_texts() if "WM034" in o)
    practice.select_option(label=label)
    page.wait_for_function(
        "() => document.body.innerText.includes('Saltmarsh Medical Centre: historic budget')"
    )
    for link, must_have in (
        ("download to print (HTML)", "indicative budget statement 2007/08"),
        ("download the figures (CSV)", "section,item,value,unit"),
    ):
        with page.expect_download() as info:
            page.get_by_role("link", name=link).click()
        download = info.value
        saved = tmp_path / download.suggested_filename
        download.save_as(saved)
        text = saved.read_text(encoding="utf-8")
        assert "WM034" in download.suggested_filename
        assert must_have in text and "Saltmarsh Medical Centre" in text
    assert recorded_page.foreign_requests() == []


def test_exercise_box_marks_an_answer_and_the_progress_line_counts_it(voila_url, recorded_page):
    page = recorded_page.page
    open_notebook(page, voila_url, EXERCISES, 0)
    task = page.locator(".pbc-task").nth(5)  # task 6: the three-year offset, £7,000
    task.locator("input[type=text]").fill("£35,000")
    task.get_by_role("button", name="Check").click()
    task.locator(".pbc-feedback", has_text="Not quite.").wait_for(timeout=15_000)
    assert "too high" in task.inner_text() and "Hint:" in task.inner_text()
    task.locator("input[type=text]").fill("7000")
    task.get_by_role("button", name="Check").click()
    task.locator(".pbc-feedback", has_text="Correct.").wait_for(timeout=15_000)
    progress = page.locator(".pbc-score").last
    progress.filter(has_text="1 of 8 tasks answered: 1 correct").wait_for(timeout=15_000)
    assert "All" not in progress.inner_text()
