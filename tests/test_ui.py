"""Tests for pbc_lib.ui: number formats, financial years, tables, the header, ChartView, and the
friendly error panel and guard."""

from __future__ import annotations

import logging
import math
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from pbc_lib import charts, ui
from pbc_lib.ui import MINUS, MISSING

# --- Formatting ----------------------------------------------------------------------------------
GBP_CASES = [
    (1234567, 0, "£1,234,567"),
    (-1234, 0, f"{MINUS}£1,234"),
    (0, 0, "£0"),
    (0.0, 2, "£0.00"),
    (2.5, 0, "£3"),
    (-2.5, 0, f"{MINUS}£3"),
    (1.005, 2, "£1.01"),
    (999.995, 2, "£1,000.00"),
    (-0.4, 0, "£0"),
    (12_345_678_901, 0, "£12,345,678,901"),
    (np.int64(5000), 0, "£5,000"),
    (np.float64(12.345), 1, "£12.3"),
    (Decimal("7.25"), 1, "£7.3"),
    (44e9, 0, "£44,000,000,000"),
]


@pytest.mark.parametrize("value, dp, expected", GBP_CASES)
def test_gbp(value, dp, expected):
    assert ui.gbp(value, dp) == expected


@pytest.mark.parametrize(
    "value, expected",
    [
        (1_234_567, "£1.2m"),
        (1_250_000, "£1.3m"),
        (450_000, "£450k"),
        (999, "£999"),
        (2_300_000_000, "£2.3bn"),
        (-1_500_000, f"{MINUS}£1.5m"),
        (999_950, "£1m"),
        (1_000, "£1k"),
        (0, "£0"),
        (250e6, "£250m"),
    ],
)
def test_gbp_short(value, expected):
    assert ui.gbp_short(value) == expected


@pytest.mark.parametrize(
    "value, dp, expected",
    [
        (0.16, 1, "16.0%"),
        (0.5, 0, "50%"),
        (-0.025, 1, f"{MINUS}2.5%"),
        (0, 1, "0.0%"),
        (1, 1, "100.0%"),
        (0.12345, 2, "12.35%"),
        (0.0005, 1, "0.1%"),
        (2.5, 0, "250%"),
    ],
)
def test_pct(value, dp, expected):
    assert ui.pct(value, dp) == expected


@pytest.mark.parametrize(
    "value, dp, expected",
    [
        (1234567, 0, "1,234,567"),
        (-9876.5, 0, f"{MINUS}9,877"),
        (0.5, 0, "1"),
        (1.25, 1, "1.3"),
        (100, 2, "100.00"),
        (-0.04, 1, "0.0"),
    ],
)
def test_number(value, dp, expected):
    assert ui.number(value, dp) == expected


def test_negative_uses_a_true_minus_sign():
    assert ui.gbp(-1234) == "\u2212£1,234" and ui.pct(-0.5, 0) == "\u221250%"
    assert "-" not in ui.number(-1) and "-" not in ui.gbp_short(-2e6)


def test_per_1000():
    assert ui.per_1000(245.26) == "245.3 per 1,000"
    assert ui.per_1000(1234, dp=0) == "1,234 per 1,000"
    assert ui.per_1000(None) == MISSING


@pytest.mark.parametrize("missing", [None, float("nan"), np.nan, pd.NA])
def test_missing_values_show_a_dash(missing):
    for formatter in (ui.gbp, ui.gbp_short, ui.pct, ui.number, ui.per_1000):
        assert formatter(missing) == MISSING


@pytest.mark.parametrize("bad", ["1234", True, float("inf"), -math.inf, [1], object()])
def test_non_numbers_are_rejected_with_a_clear_message(bad):
    with pytest.raises(ui.FormatError, match="Expected a"):
        ui.gbp(bad)
    assert issubclass(ui.FormatError, TypeError)


@given(st.integers(min_value=-(10**12), max_value=10**12))
def test_gbp_of_whole_pounds_round_trips(n):
    text = ui.gbp(n)
    assert int(text.replace(MINUS, "-").replace("£", "").replace(",", "")) == n
    assert text.startswith(MINUS) == (n < 0)


# --- Financial years -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    "year, text",
    [(2006, "2006/07"), (1999, "1999/00"), (2009, "2009/10"), (2000, "2000/01"), (1990, "1990/91")],
)
def test_financial_year(year, text):
    assert ui.financial_year(year) == text
    assert ui.parse_financial_year(text) == year


@given(st.integers(min_value=ui.FY_FIRST, max_value=ui.FY_LAST))
def test_financial_year_round_trips(year):
    assert ui.parse_financial_year(ui.financial_year(year)) == year


@pytest.mark.parametrize("text", ["2006-07", "2006–07", " 2006 / 07 "])
def test_parse_financial_year_accepts_common_separators(text):
    assert ui.parse_financial_year(text) == 2006


@pytest.mark.parametrize(
    "bad", ["2006/08", "2006", "06/07", "2006/2007", "", None, 2006, "1999/01", "2099/00"]
)
def test_parse_financial_year_rejects(bad):
    with pytest.raises(ui.FinancialYearError):
        ui.parse_financial_year(bad)


@pytest.mark.parametrize("bad", [2006.0, "2006", True, 1899, 2099])
def test_financial_year_rejects(bad):
    with pytest.raises(ui.FinancialYearError):
        ui.financial_year(bad)


# --- HTML ----------------------------------------------------------------------------------------
def test_source_caption_escapes_and_prefixes():
    assert ui.source_caption("DH <2006> & HSJ") == (
        '<p class="pbc-source">Source: DH &lt;2006&gt; &amp; HSJ</p>'
    )
    assert ui.source_caption("Source: NHS IC") == '<p class="pbc-source">Source: NHS IC</p>'


def test_table_html_formats_and_is_deterministic():
    df = pd.DataFrame(
        {
            "Practice": ["Alder", "Beech <B>"],
            "Budget (£)": [1234567.4, -50.0],
            "Share": [0.16, np.nan],
            "List size": [9000, 12500],
        }
    )
    formats = {"Budget (£)": "gbp", "Share": "pct"}
    out = ui.table_html(df, formats, caption="Budgets, 2006/07")
    assert out == ui.table_html(df.copy(), formats, caption="Budgets, 2006/07")
    assert out.startswith('<table class="pbc-table"><caption>Budgets, 2006/07</caption>')
    assert '<th scope="col" class="num">Budget (£)</th>' in out
    assert '<th scope="row">Beech &lt;B&gt;</th>' in out
    cells = [
        ("Budget (£)", "£1,234,567"),
        ("Budget (£)", f"{MINUS}£50"),
        ("Share", "16.0%"),
        ("Share", MISSING),
        ("List size", "9,000"),
        ("List size", "12,500"),
    ]
    for column, cell in cells:  # data-label: the column name, shown beside the cell on phones
        assert f'<td class="num" data-label="{column}">{cell}</td>' in out


def test_table_html_rejects_unknown_format_or_column():
    df = pd.DataFrame({"a": [1]})
    with pytest.raises(ValueError, match="Unknown format"):
        ui.table_html(df, {"a": "euro"})
    with pytest.raises(ValueError, match="missing column"):
        ui.table_html(df, {"b": "gbp"})


META = {
    "title": "Budgets & incentives",
    "summary": "How an indicative budget is set.",
    "minutes": 20,
    "outcomes": ["Explain a fair-shares budget", "Spot a <risky> saving"],
    "data": ["practices.csv", "activity.csv"],
}


def test_header_html():
    out = ui.header_html(META)
    assert out.startswith('<header class="pbc-header"><h1>Budgets &amp; incentives</h1>')
    assert "About 20 minutes" in out and "How an indicative budget is set." in out
    assert "<li>Spot a &lt;risky&gt; saving</li>" in out
    assert "<li><code>activity.csv</code></li>" in out
    assert "About 1 minute<" in ui.header_html({**META, "minutes": 1})


@pytest.mark.parametrize(
    "change",
    [
        {"title": ""},
        {"minutes": "20"},
        {"minutes": 0},
        {"outcomes": []},
        {"data": "x.csv"},
        {"summary": None},
    ],
)
def test_header_html_rejects_bad_metadata(change):
    with pytest.raises(ui.HeaderError):
        ui.header_html({**META, **change})


def test_page_css_covers_the_pieces():
    css = ui.page_css()
    assert css.startswith("<style>") and css.endswith("</style>")
    for selector in (
        ".pbc-chart svg",
        "max-width:100%",
        "height:auto",
        ".pbc-table",
        ".pbc-error",
        ".pbc-feedback",
        "@media (max-width:600px)",
        ".pbc-sr-only{",
    ):
        assert selector in css


# --- ChartView -----------------------------------------------------------------------------------
def _chart(highlight: str = "Cedar"):
    df = pd.DataFrame({"practice": ["Alder", "Beech", "Cedar"], "cost": [182.5, 201.0, 150.25]})
    return charts.ranked_bar(
        df,
        "cost",
        "practice",
        highlight,
        value_title="£ per head",
        title="Cost per head",
        source="Test data",
    ), df


def test_chart_view_shows_svg_figure_and_hidden_table():
    chart, df = _chart()
    view = ui.ChartView(
        chart,
        df.rename(columns={"cost": "Cost (£ per head)"}),
        formats={"Cost (£ per head)": "gbp2"},
    )
    assert view.svg.startswith("<svg") and view.svg in view.figure.value
    assert view.narrow_svg and view.narrow_svg in view.figure.value
    assert view.figure.value.startswith('<figure class="pbc-chart">')
    assert '<figcaption class="pbc-sr-only">Source: Test data</figcaption>' in view.figure.value
    assert not view.table_visible and view.toggle.description == "Show as table"
    assert "£150.25" in view.table_markup and "Cost (£ per head)" in view.table_markup
    assert view.table_widget.value == ""  # not sent to the page until asked for
    view.toggle.value = True
    assert view.table_widget.value == view.table_markup
    assert view.chart is chart and view.table is not None


def test_chart_view_toggle_shows_and_hides_table():
    view = ui.ChartView(_chart()[0], narrow_width=None)
    view.toggle.value = True
    assert view.table_visible and view.toggle.description == "Hide table"
    view.toggle.value = False
    assert not view.table_visible


def test_chart_view_update_changes_svg_and_table():
    view = ui.ChartView(_chart("Cedar")[0], narrow_width=None)
    view.toggle.value = True
    before_svg, before_table = view.svg, view.table_widget.value
    chart, df = _chart("Alder")
    view.update(chart, df.assign(cost=df["cost"] * 2))
    assert view.svg != before_svg and view.svg in view.figure.value
    assert view.table_widget.value != before_table and "402.0" in view.table_widget.value
    view.toggle.value = False
    view.update(*_chart("Cedar"))
    assert view.table_widget.value == "" and "Cedar" in view.table_markup
    assert view.narrow_svg == ""


def test_chart_view_default_table_is_the_chart_data():
    chart, df = _chart()
    view = ui.ChartView(chart, narrow_width=None)
    pd.testing.assert_frame_equal(view.table, df, check_dtype=False)
    assert "Data for: Cost per head" in view.table_markup


# --- Errors --------------------------------------------------------------------------------------
TRACEBACK_MARKS = ("Traceback", 'File "', "Error:")


def _no_traceback(*widgets_) -> None:
    for widget in widgets_:
        for mark in TRACEBACK_MARKS:
            assert mark not in widget.value, (mark, widget.value)


def test_error_panel_hidden_when_empty():
    panel = ui.ErrorPanel()
    assert not panel.visible and panel.value == ""
    panel.show("Bad <input>")
    assert panel.visible and "Bad &lt;input&gt;" in panel.value and 'role="alert"' in panel.value
    panel.clear()
    assert not panel.visible and panel.value == ""


def test_guard_shows_generic_message_and_logs_unexpected_errors(caplog):
    panel = ui.ErrorPanel()

    @ui.guard(panel)
    def on_change(change):
        return {}["missing key"]

    with caplog.at_level(logging.ERROR, logger="pbc_lib.ui"):
        assert on_change({"new": 3}) is None
    assert panel.visible and panel.message == ui.GENERIC_ERROR
    _no_traceback(panel)
    assert "missing key" in caplog.text and "Traceback" in caplog.text  # detail in the log
    assert on_change.__name__ == "on_change"


def test_guard_shows_our_own_error_messages():
    panel = ui.ErrorPanel()
    with ui.guard(panel) as g:
        charts.ranked_bar(
            pd.DataFrame({"p": ["A"], "v": [1]}), "v", "p", "Z", value_title="£", title="T"
        )
    assert isinstance(g.error, charts.ChartDataError)
    assert panel.message == "Cannot highlight 'Z': it is not in column `p`."
    _no_traceback(panel)


def test_guard_hides_plain_value_errors_from_other_libraries():
    panel = ui.ErrorPanel()
    with ui.guard(panel):
        int("twelve")
    assert panel.message == ui.GENERIC_ERROR


def test_guard_clears_panel_after_a_good_update():
    panel = ui.ErrorPanel()
    panel.show("old problem")

    @ui.guard(panel)
    def ok():
        return 42

    assert ok() == 42 and not panel.visible


def test_guarded_chart_callback_keeps_the_old_chart():
    panel = ui.ErrorPanel()
    view = ui.ChartView(_chart()[0], narrow_width=None)
    before = view.figure.value

    @ui.guard(panel)
    def redraw(highlight):
        view.update(_chart(highlight)[0])

    redraw("Nowhere")
    assert view.figure.value == before and "Nowhere" in panel.message
    _no_traceback(panel, view.figure, view.table_widget)
    redraw("Beech")
    assert view.figure.value != before and not panel.visible


def test_guard_lets_keyboard_interrupt_through():
    panel = ui.ErrorPanel()
    with pytest.raises(KeyboardInterrupt), ui.guard(panel):
        raise KeyboardInterrupt
