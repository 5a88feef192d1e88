"""Tests for the offline export, ``python -m pbc_lib.export`` (pbc_lib/export.py).

Unit tests build widgets by hand and check their static snapshot: a slider shows its value, text
from a control is escaped, a hidden widget is left out, a chart's SVG and table are there. A
cheap test renders every notebook's stored outputs into a page and checks it would fetch nothing
from elsewhere. Two tests run a notebook that fails, or point at a folder the exporter did not
write, and check nothing is written. The browser test exports workbooks 00 and 01, opens each
page from a ``file://`` address with every other request refused, and checks the charts draw,
the code is hidden, the banner is there, the console is clean and nothing was asked of a network;
it also follows the index page's links.
"""

from __future__ import annotations

import html
import json
import re
from pathlib import Path
from urllib.parse import unquote, urlparse

import ipywidgets as widgets
import nbformat
import pandas as pd
import pytest
from conftest import ARTIFACTS, REPO

from pbc_lib import charts, export, ui
from pbc_lib.catalogue import notebook_paths

EXPORTED = ["workbooks/00_start_here.ipynb", "workbooks/01_indicative_budgets.ipynb"]
SHOTS = ARTIFACTS / "static"
# A src/href (or xlink:href, srcset) attribute on any tag, with the tag's name.
_TAG = re.compile(r"<([a-zA-Z][\w-]*)\b([^>]*)>")
_URL_ATTR = re.compile(r"(?:^|[\s:])(?:src|href|srcset)\s*=\s*[\"']?\s*(https?://[^\"'\s>]*)", re.I)


def _web_fetches(markup: str) -> list[str]:
    """Every http(s) address in a src/href attribute of a tag that is not a plain link ``<a>``,
    and any http(s) address inside CSS ``url()``: independent of the exporter's own check."""
    found = [
        f"<{tag} {url}>"
        for tag, attrs in _TAG.findall(markup)
        if tag.lower() != "a"
        for url in _URL_ATTR.findall(attrs)
    ]
    found += re.findall(r"url\(\s*['\"]?\s*(https?://[^'\")]*)", markup)
    return found


# --- (a) The widget snapshot ---------------------------------------------------------------------
def test_slider_shows_its_value_disabled():
    slider = widgets.FloatSlider(
        value=0.25,
        min=0.0,
        max=1.0,
        step=0.05,
        description="Pace of change (λ)",
        readout_format=".0%",
    )
    out = export.widget_html(slider)
    assert '<span class="pbc-static-label">Pace of change (λ)</span>' in out
    assert '<input type="range" min="0.0" max="1.0" step="0.05" value="0.25" disabled>' in out
    assert "<output>25%</output>" in out
    count = widgets.IntSlider(value=1234, min=0, max=5000, description="Patients")
    assert "<output>1234</output>" in export.widget_html(count)


def test_a_text_value_and_description_are_escaped():
    box = widgets.Text(value='<script>alert("x")</script>', description="<b>Answer</b>")
    out = export.widget_html(box)
    assert "<script>" not in out and "<b>" not in out
    assert 'value="&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;"' in out
    assert "&lt;b&gt;Answer&lt;/b&gt;" in out
    assert " disabled>" in out


def test_an_empty_answer_box_is_empty_and_disabled():
    box = widgets.Text(placeholder="Your answer", description="Answer")
    assert '<input type="text" value="" placeholder="Your answer" disabled>' in export.widget_html(
        box
    )


def test_a_hidden_widget_is_not_shown():
    hidden = widgets.HTML("<p>secret table</p>", layout=widgets.Layout(display="none"))
    panel = ui.ErrorPanel()  # hidden while empty
    shown = widgets.HTML("<p>shown text</p>")
    out = export.widget_html(widgets.VBox([hidden, panel, shown]))
    assert "shown text" in out
    assert "secret table" not in out and "pbc-error" not in out
    assert export.widget_html(hidden) == ""
    panel.show("Pick a practice <first>.")
    assert '<div class="pbc-error" role="alert">Pick a practice &lt;first&gt;.</div>' in (
        export.widget_html(panel)
    )


def test_a_chart_view_gives_its_svg_and_its_table_in_details():
    df = pd.DataFrame({"practice": ["Alder", "Beech", "Cedar"], "cost": [182.5, 201.0, 150.25]})
    chart = charts.ranked_bar(
        df,
        "cost",
        "practice",
        "Cedar",
        value_title="£ per head",
        title="Cost per head",
        source="Test data",
    )
    view = ui.ChartView(chart, narrow_width=None)
    out = export.widget_html(view)
    assert view.svg.startswith("<svg") and view.svg in out
    assert out.count("<svg") == view.svg.count("<svg")
    assert '<figure class="pbc-chart">' in out
    assert (
        '<details class="pbc-static-table"><summary>Show as table</summary>'
        f"{view.table_markup}</details>" in out
    )
    assert ">150.3<" in view.table_markup  # the table really carries the numbers
    assert "<button" not in out  # the toggle button is replaced by <details>
    view.toggle.value = True
    assert '<details class="pbc-static-table" open>' in export.widget_html(view)


def test_choices_show_the_current_one():
    dropdown = widgets.Dropdown(
        options=[("Alpha <1>", 1), ("Beta", 2)], value=2, description="Pick"
    )
    out = export.widget_html(dropdown)
    assert "<select disabled><option>Alpha &lt;1&gt;</option><option selected>Beta</option>" in out
    toggles = widgets.ToggleButtons(options=["Low", "High"], value="High")
    assert '<li class="pbc-static-selected" aria-current="true">High</li>' in (
        export.widget_html(toggles)
    )
    radios = export.widget_html(widgets.RadioButtons(options=["x", "y"], value=None))
    assert radios.count('type="radio" disabled') == 2 and "checked" not in radios
    steps = widgets.SelectionSlider(options=["low", "mid", "high"], value="mid", description="Step")
    out = export.widget_html(steps)
    assert 'min="0" max="2" step="1" value="1" disabled' in out and "<output>mid</output>" in out
    assert "checked" in export.widget_html(widgets.Checkbox(value=True, description="On"))
    button = export.widget_html(widgets.Button(description="Check"))
    assert re.fullmatch(
        r'<button type="button" class="pbc-static-button" disabled>Check</button>', button
    )


def test_boxes_keep_order_classes_and_tabs_show_every_panel():
    first, second = widgets.HTML("<p>one</p>"), widgets.HTML("<p>two</p>")
    row = widgets.HBox([first, second])
    row.add_class("pbc-control")
    out = export.widget_html(row)
    assert out.startswith('<div class="pbc-static-hbox pbc-control">')
    assert out.index("one") < out.index("two")
    tabs = widgets.Tab(
        [widgets.HTML("<p>alpha</p>"), widgets.HTML("<p>beta</p>")],
        titles=("First <tab>", "Second"),
    )
    out = export.widget_html(tabs)
    assert "First &lt;tab&gt;</h3>" in out and "Second</h3>" in out
    assert out.index("alpha") < out.index("Second") < out.index("beta")


def test_output_html_picks_the_richest_static_form_and_escapes_plain_text():
    html_out = {
        "output_type": "execute_result",
        "data": {"text/html": "<b>x</b>", "text/plain": "x"},
    }
    assert export.output_html(html_out) == "<b>x</b>"
    plain = {"output_type": "execute_result", "data": {"text/plain": "<Figure 1>"}}
    assert export.output_html(plain) == '<pre class="pbc-text">&lt;Figure 1&gt;</pre>'
    png = {"output_type": "display_data", "data": {"image/png": "iVBO\nRw0K", "text/plain": "x"}}
    assert export.output_html(png) == '<img src="data:image/png;base64,iVBORw0K" alt="">'
    assert export.output_html({"output_type": "stream", "name": "stderr", "text": "warn"}) == ""
    assert export.output_html({"output_type": "stream", "name": "stdout", "text": "a<b"}) == (
        '<pre class="pbc-stream">a&lt;b</pre>'
    )
    view = {
        "output_type": "execute_result",
        "data": {export.WIDGET_MIME: {"model_id": "abc", "version_major": 2}},
    }
    assert export.output_html(view, {"abc": "<p>snap</p>"}.get) == "<p>snap</p>"
    with pytest.raises(export.ExportError, match="no static snapshot"):
        export.output_html(view, {}.get)


def test_external_references_finds_what_a_browser_would_fetch():
    fine = (
        '<a href="https://www.kingsfund.org.uk/">source</a><img src="data:image/png;base64,AA">'
        '<svg><use xlink:href="#m1"/></svg><a href="index.html">All</a>'
        "<style>.x{background:url(data:image/png;base64,AA)}</style>"
    )
    assert export.external_references(fine) == []
    bad = (
        '<script src="https://cdn.example/x.js"></script>'
        '<link rel="stylesheet" href="https://cdn.example/y.css">'
        '<img src="chart.png"><style>body{background:url(http://example.org/b.png)}</style>'
        '<style>@import "z.css";</style>'
    )
    found = export.external_references(bad)
    assert "<script>" in found
    assert "<script src=https://cdn.example/x.js>" in found
    assert "<link href=https://cdn.example/y.css>" in found
    assert "<img src=chart.png>" in found
    assert "url(http://example.org/b.png)" in found and "@import" in found


def test_links_to_exported_notebooks_point_at_their_pages():
    page = export.PurePosixPath("workbooks/00_start_here.ipynb")
    exported = {"workbooks/00_start_here.ipynb", "exercises/01_x.ipynb"}
    markup = (
        '<p class="pbc-back"><a href="../../../">All workbooks</a></p>'
        '<a href="../exercises/01_x.ipynb#part-2">ex</a><a href="../exercises/02_y.ipynb">no</a>'
        '<a href="https://example.org/a.ipynb">web</a>'
    )
    out = export._rewrite_links(markup, page, exported)
    assert '<a href="../index.html">All workbooks</a>' in out
    assert 'href="../exercises/01_x.html#part-2"' in out
    assert 'href="../exercises/02_y.ipynb"' in out  # not exported: left as it was
    assert 'href="https://example.org/a.ipynb"' in out


# --- (c) Cheap: no page would fetch anything from the web ----------------------------------------
def _stored_page(path: Path) -> str:
    """A page from a notebook's stored outputs, each widget view standing in as a placeholder."""
    nb = nbformat.read(path, as_version=4)
    ids = {
        o["data"][export.WIDGET_MIME]["model_id"]
        for cell in nb.cells
        for o in cell.get("outputs", [])
        if export.WIDGET_MIME in o.get("data", {})
    }
    page = export._page_for(path)
    return export.notebook_page(nb, {i: "<p>widget</p>" for i in ids}, page)


@pytest.mark.parametrize("path", export.exportable_paths(), ids=lambda p: p.name)
def test_a_page_from_stored_outputs_fetches_nothing_from_the_web(path):
    markup = _stored_page(path)
    assert _web_fetches(markup) == []
    assert export.external_references(markup) == []
    assert "<script" not in markup.lower()
    assert export.BANNER_TEXT in markup
    back = (
        'href="../index.html">All workbooks</a>'
        if path.parent.name != "solutions"
        else ('href="../../index.html">All workbooks</a>')
    )
    assert back in markup and 'href="../../../"' not in markup


def test_workshop_mode_is_left_out_and_the_index_says_why(tmp_path):
    kept = export.exportable_paths()
    left_out = [p for p in notebook_paths(REPO) if p not in kept]
    assert left_out and all(p.parent.name == "workshop" for p in left_out)
    assert html.escape(export.SERVER_ONLY_NOTE) in export.index_page([])
    with pytest.raises(export.ExportError, match="needs a running server"):
        export.export(left_out[:1], tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_the_web_check_can_fail():
    assert _web_fetches('<img src="https://example.org/a.png"><a href="https://ok.example">') == [
        "<img https://example.org/a.png>"
    ]
    assert _web_fetches("<svg><image xlink:href='http://x.example/i.png'/></svg>") == [
        "<image http://x.example/i.png>"
    ]


# --- Failures write nothing ----------------------------------------------------------------------
def _notebook(path: Path, source: str) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.metadata["pbc"] = {
        "title": "Broken",
        "summary": "A notebook that fails.",
        "minutes": 1,
        "outcomes": [],
        "data": [],
        "charts": 0,
    }
    nb.cells = [nbformat.v4.new_markdown_cell("# Broken"), nbformat.v4.new_code_cell(source)]
    nbformat.write(nb, path)
    return path


def test_a_failing_notebook_is_named_and_nothing_is_written(tmp_path, capsys):
    broken = _notebook(tmp_path / "broken.ipynb", "1 / 0")
    out = tmp_path / "site"
    out.mkdir()
    (out / export.MARKER).write_text("earlier export\n")
    (out / "index.html").write_text("earlier index")
    assert export.main(["--out", str(out), str(broken)]) == 1
    err = capsys.readouterr().err
    assert "Could not export broken.ipynb" in err and "ZeroDivisionError" in err
    assert "Nothing was written" in err
    assert (out / "index.html").read_text() == "earlier index"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["broken.ipynb", "site"]


def test_a_folder_it_did_not_write_is_left_alone(tmp_path, capsys):
    notebook = _notebook(tmp_path / "fine.ipynb", "1 + 1")
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "keep.txt").write_text("keep me")
    assert export.main(["--out", str(mine), str(notebook)]) == 1
    assert "is not an earlier offline export" in capsys.readouterr().err
    assert [p.name for p in mine.iterdir()] == ["keep.txt"]


# --- (b) The exported pages in a browser with the network blocked -------------------------------
@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """Workbooks 00 and 01 exported with the real command, once for this module."""
    out = tmp_path_factory.mktemp("static") / "site"
    assert export.main(["--out", str(out), *(str(REPO / n) for n in EXPORTED)]) == 0
    return out


def _blocked_page(browser, width: int):
    """A page in a context that refuses (and records) every request that is not file: or data:."""
    context = browser.new_context(viewport={"width": width, "height": 900})
    refused: list[str] = []

    def route(r):
        if r.request.url.startswith(("file:", "data:")):
            r.continue_()
        else:
            refused.append(r.request.url)
            r.abort()

    context.route("**/*", route)
    page = context.new_page()
    page.set_default_timeout(60_000)
    requested: list[str] = []
    errors: list[str] = []
    page.on("request", lambda r: requested.append(r.url))
    page.on("console", lambda m: m.type == "error" and errors.append(m.text))
    page.on("pageerror", lambda e: errors.append(str(e)))
    return context, page, refused, requested, errors


@pytest.mark.browser
@pytest.mark.parametrize("notebook", EXPORTED)
def test_exported_page_draws_its_charts_with_the_network_blocked(notebook, exported, browser):
    nb = json.loads((REPO / notebook).read_text(encoding="utf-8"))
    expected = nb["metadata"]["pbc"]["charts"]
    target = exported / Path(notebook).with_suffix(".html")
    markup = target.read_text(encoding="utf-8")
    assert _web_fetches(markup) == [] and "<script" not in markup.lower()

    context, page, refused, requested, errors = _blocked_page(browser, 1280)
    try:
        page.goto(target.as_uri(), wait_until="load")
        # Each figure carries a wide and (usually) a phone-sized drawing; CSS shows one of them.
        assert page.locator("figure.pbc-chart").count() == expected
        drawn = page.locator("figure.pbc-chart svg:visible")
        assert drawn.count() == expected
        for i in range(expected):
            box = drawn.nth(i).bounding_box()
            assert box and box["width"] > 200 and box["height"] > 100, f"chart {i + 1}: {box}"
            assert drawn.nth(i).locator("path, rect").count() > 0, f"chart {i + 1} is empty"
        banner = page.locator(".pbc-offline-banner")
        assert banner.is_visible() and banner.inner_text() == export.BANNER_TEXT
        text = page.inner_text("body")
        for cell in nb["cells"]:
            if cell["cell_type"] == "code":
                for line in "".join(cell["source"]).splitlines():
                    if len(line.strip()) > 12:
                        assert line.strip() not in text, f"code shows on the page: {line!r}"
        assert page.locator("pre code, .jp-InputArea, .input_area").count() == 0
        assert (
            page.locator(
                "input:not([disabled]), select:not([disabled]), "
                "button:not([disabled]), textarea:not([disabled])"
            ).count()
            == 0
        )
        SHOTS.mkdir(parents=True, exist_ok=True)
        name = Path(notebook).with_suffix("").as_posix().replace("/", "__")
        page.screenshot(path=str(SHOTS / f"{name}.top.png"))
        page.screenshot(path=str(SHOTS / f"{name}.full.png"), full_page=True)
        page.set_viewport_size({"width": 375, "height": 800})  # a phone: one drawing each
        assert page.locator("figure.pbc-chart svg:visible").count() == expected
        page.screenshot(path=str(SHOTS / f"{name}.phone.png"))
        assert errors == []
    finally:
        context.close()
    assert refused == []
    assert [u for u in requested if urlparse(u).scheme not in ("file", "data")] == []


@pytest.mark.browser
def test_index_lists_the_exports_and_its_links_work(exported, browser):
    index = exported / "index.html"
    markup = index.read_text(encoding="utf-8")
    hrefs = re.findall(r'<a href="([^"]+)"', markup)
    assert sorted(hrefs) == sorted(str(Path(n).with_suffix(".html")) for n in EXPORTED)
    for href in hrefs:
        assert (exported / unquote(href)).is_file(), href
    for notebook in EXPORTED:  # every page links back to the index, and that link resolves
        page_file = exported / Path(notebook).with_suffix(".html")
        back = re.search(r'<a href="([^"]+)">All workbooks</a>', page_file.read_text())
        assert back and (page_file.parent / back.group(1)).resolve() == index.resolve()

    context, page, refused, requested, errors = _blocked_page(browser, 1280)
    try:
        page.goto(index.as_uri(), wait_until="load")
        assert page.locator(".pbc-card").count() == len(EXPORTED)
        assert "Indicative budgets" in page.inner_text(".pbc-card[data-path='" + EXPORTED[1] + "']")
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / "index.png"), full_page=True)
        page.locator(".pbc-card a").first.click()
        page.wait_for_load_state("load")
        assert page.url == (exported / "workbooks" / "00_start_here.html").as_uri()
        page.get_by_role("link", name="All workbooks").click()
        page.wait_for_load_state("load")
        assert page.url == index.as_uri()
        assert errors == []
    finally:
        context.close()
    assert refused == []
    assert [u for u in requested if urlparse(u).scheme not in ("file", "data")] == []
