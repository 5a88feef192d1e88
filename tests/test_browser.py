"""Browser tests: every notebook in workbooks/ and exercises/ opened in Voilà in headless Chromium.

For each page: the cells ran (Voilà shows #rendered_cells only when execution ends); every chart
the notebook's header metadata promises (`charts`) has drawn an SVG inside its `.pbc-chart`
container; there is no error output, no widget that failed to display and no friendly-error panel
showing; changing the app's first control (`.pbc-control`) changes a chart; and nothing was asked
of any host but 127.0.0.1. A full-page screenshot of each is saved under tests/artifacts/.
"""

from __future__ import annotations

import json
import re

import pytest
from conftest import ARTIFACTS, REPO

from pbc_lib.catalogue import catalogue, notebook_paths

pytestmark = pytest.mark.browser

NOTEBOOKS = [p.relative_to(REPO).as_posix() for p in notebook_paths(REPO)]
ERROR_TEXT = re.compile(
    r"Traceback|An exception occurred|Error displaying widget|Failed to load model|"
    r"There was an error when executing cell|Kernel error",
)
CHART_SVG = "figure.pbc-chart svg"


def _chart_snapshots(page) -> list[str]:
    return page.eval_on_selector_all(CHART_SVG, "els => els.map(e => e.outerHTML)")


def _change_first_control(page) -> str:
    """Change the first `.pbc-control` widget the way a person would; return what was done."""
    control = page.locator(".pbc-control").first
    control.wait_for(state="visible")
    select = control.locator("select")
    if select.count():
        options = select.locator("option").all_inner_texts()
        current = select.evaluate("s => s.options[s.selectedIndex].text")
        other = next(o for o in options if o != current)
        select.select_option(label=other)
        return f"select {other!r}"
    handle = control.locator(".noUi-handle")
    if handle.count():
        handle.first.click()
        page.keyboard.press("ArrowRight")
        return "slider right"
    radios = control.locator("input[type=radio]:not(:checked)")
    if radios.count():
        radios.first.check()
        return "radio"
    buttons = control.locator("button:not(.mod-active)")
    if buttons.count():
        buttons.first.click()
        return "toggle button"
    raise AssertionError("The first .pbc-control is not a control this test knows how to change.")


def _screenshot(page, path) -> None:
    """The whole page: Voilà scrolls inside #rendered_cells, so grow the viewport to fit it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    size = page.viewport_size
    height = page.evaluate(
        "() => { const r = document.querySelector('#rendered_cells');"
        " return r ? r.scrollHeight : document.documentElement.scrollHeight; }"
    )
    page.set_viewport_size({"width": size["width"], "height": min(max(height, 600), 30000)})
    page.wait_for_timeout(300)
    page.screenshot(path=str(path))
    page.set_viewport_size(size)


def _wait_until_rendered(page, expected_charts: int) -> None:
    page.wait_for_selector("#rendered_cells", state="visible")
    if expected_charts:
        page.wait_for_function(
            "n => document.querySelectorAll('figure.pbc-chart svg').length >= n",
            arg=expected_charts,
        )
    page.wait_for_timeout(500)  # let late widget views settle before asserting nothing else shows


def test_every_notebook_is_browser_tested():
    """Every notebook nbval collects under workbooks/ and exercises/ (sub-folders included) is
    opened here: one in a sub-folder would be nbval-tested but missed by this module's list."""
    on_disk = sorted(
        p.relative_to(REPO).as_posix()
        for folder in ("workbooks", "exercises")
        for p in (REPO / folder).rglob("*.ipynb")
        if ".ipynb_checkpoints" not in p.parts
    )
    assert NOTEBOOKS, "no notebooks found"
    assert sorted(NOTEBOOKS) == on_disk


@pytest.mark.parametrize("notebook", NOTEBOOKS)
def test_notebook_renders_and_responds(notebook, voila_url, recorded_page):
    meta = json.loads((REPO / notebook).read_text(encoding="utf-8"))["metadata"]["pbc"]
    expected = meta["charts"]
    page = recorded_page.page
    page.goto(f"{voila_url}voila/render/{notebook}", wait_until="domcontentloaded")
    _wait_until_rendered(page, expected)
    shot = ARTIFACTS / "screenshots" / (notebook.replace("/", "__") + ".png")
    _screenshot(page, shot)

    charts = page.locator("figure.pbc-chart")
    assert charts.count() == expected, f"expected {expected} charts, found {charts.count()}"
    for i in range(expected):
        assert charts.nth(i).locator("svg").count() >= 1, f"chart {i + 1} has no SVG"
        assert charts.nth(i).locator("figcaption").inner_text().startswith("Source")
    body = page.inner_text("body")
    assert not ERROR_TEXT.search(body), ERROR_TEXT.search(body).group(0)
    assert page.locator("[data-mime-type='application/vnd.jupyter.stderr']").count() == 0
    assert page.locator(".pbc-error:visible").count() == 0

    if meta.get("app", True):
        before = _chart_snapshots(page)
        action = _change_first_control(page)
        page.wait_for_function(
            "before => { const now = [...document.querySelectorAll('figure.pbc-chart svg')]"
            ".map(e => e.outerHTML); return now.length && now.some((h, i) => h !== before[i]); }",
            arg=before,
            timeout=30_000,
        )
        assert page.locator(".pbc-error:visible").count() == 0, f"error after {action}"
        _screenshot(page, shot.with_suffix(".changed.png"))

    if expected:
        _show_as_table_reveals_a_table(page)
    if page.locator(".pbc-quiz-question").count():
        _quiz_marks_an_answer(page)
    assert recorded_page.foreign_requests() == []


def _show_as_table_reveals_a_table(page) -> None:
    """The first chart's "Show as table" toggle shows its numbers, and hides them again."""
    view = page.locator(".pbc-chart-view").first
    table = view.locator("table.pbc-table")
    assert not table.is_visible()
    view.get_by_role("button", name="Show as table").click()
    table.wait_for(state="visible", timeout=15_000)
    assert table.locator("tbody tr").count() > 0
    view.get_by_role("button", name="Hide table").click()
    table.wait_for(state="hidden", timeout=15_000)


def _quiz_marks_an_answer(page) -> None:
    """Checking with no answer asks for one; an answer gets "Correct." or "Not quite." at once."""
    question = page.locator(".pbc-quiz-question").first
    feedback = question.locator(".pbc-feedback")
    question.get_by_role("button", name="Check").click()
    page.wait_for_function(
        "el => el.innerText.includes('Choose an answer first')", arg=question.element_handle()
    )
    question.locator("input[type=radio]").first.check()
    question.get_by_role("button", name="Check").click()
    feedback.wait_for(state="visible", timeout=15_000)
    assert re.match(r"(Correct\.|Not quite\.)", feedback.inner_text())
    score = page.locator(".pbc-score").first.inner_text()
    assert re.match(r"[01] of 1 checked answer correct", score), score


def test_landing_page_lists_every_notebook_and_links_work(voila_url, recorded_page):
    page = recorded_page.page
    page.goto(voila_url, wait_until="load")
    _screenshot(page, ARTIFACTS / "screenshots" / "landing.png")
    entries = [e for group in catalogue(REPO).values() for e in group]
    assert entries
    for entry in entries:
        card = page.locator(f".pbc-card[data-path='{entry.path}']")
        assert card.count() == 1, f"{entry.path} missing from the landing page"
        link = card.locator("a")
        assert link.inner_text() == entry.title
        assert link.get_attribute("href") == f"/voila/render/{entry.path}"
        assert f"About {entry.minutes} minutes" in card.inner_text()
    page.locator(".pbc-card a").first.click()
    page.wait_for_selector("#rendered_cells", state="visible")
    assert page.url.endswith(f"/voila/render/{entries[0].path}")
    assert recorded_page.foreign_requests() == []


@pytest.mark.parametrize("notebook", NOTEBOOKS)
def test_notebook_fits_a_phone(notebook, voila_url, browser):
    """On a 375 px wide phone every chart shows its narrow drawing, and none is wider than the
    screen."""
    meta = json.loads((REPO / notebook).read_text(encoding="utf-8"))["metadata"]["pbc"]
    context = browser.new_context(viewport={"width": 375, "height": 800}, is_mobile=True)
    page = context.new_page()
    page.set_default_timeout(120_000)
    try:
        page.goto(f"{voila_url}voila/render/{notebook}", wait_until="domcontentloaded")
        _wait_until_rendered(page, meta["charts"])
        widths = page.eval_on_selector_all(
            "figure.pbc-chart",
            "figs => figs.map(f => [...f.querySelectorAll('svg')]"
            ".filter(s => s.getBoundingClientRect().width > 0)"
            ".map(s => s.getBoundingClientRect().right))",
        )
        assert len(widths) == meta["charts"]
        for visible in widths:
            assert len(visible) == 1, "exactly one drawing of each chart should show"
            assert visible[0] <= 375 + 1, f"a chart runs off a 375 px screen ({visible[0]:.0f} px)"
        _screenshot(page, ARTIFACTS / "screenshots" / (notebook.replace("/", "__") + ".phone.png"))
    finally:
        context.close()
