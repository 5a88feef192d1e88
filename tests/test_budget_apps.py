"""The indicative-budget apps (workbook 01) driven headless: controls in, model figures out."""

from __future__ import annotations

import base64
import csv
import io
import re

import pandas as pd
import pytest

from pbc_lib import charts, data
from pbc_lib.apps.fair_shares import FairShares
from pbc_lib.apps.practice_budget import PracticeBudget
from pbc_lib.content import budget_statement as bs
from pbc_lib.content import indicative_budgets
from pbc_lib.models import budgets as b


@pytest.fixture
def apps():
    pct_view = FairShares(lam=0.25)
    return pct_view, PracticeBudget(pct_view, practice_id="WM001")


def test_both_apps_start_with_every_chart_and_no_error(apps):
    pct_view, practice_view = apps
    views = (
        pct_view.distance_view,
        pct_view.spread_view,
        practice_view.components_view,
        practice_view.path_view,
    )
    for view in views:
        assert "<svg" in view.svg and charts.chart_meta(view.chart)["source"]
    assert pct_view.errors.message == "" and practice_view.errors.message == ""
    assert "Bridge End Surgery" in practice_view.statement_html.value


def test_distance_chart_holds_every_practice_from_the_model(apps):
    pct_view, _ = apps
    shown = charts.chart_data(pct_view.distance_view.chart, main=True)
    assert len(shown) == len(data.load_practices())
    expected = b.distance_from_target(
        pct_view.historic, pct_view.targets.set_index("practice_id")["target"]
    )
    assert sorted(shown["dft_before"]) == pytest.approx(sorted(expected))


def test_pace_of_change_moves_the_diamonds_and_keeps_the_pot(apps):
    pct_view, _ = apps
    spread_svg = pct_view.spread_view.svg
    pct_view.lam.value = 1.0
    pct_view.threshold.value = 0.0
    shown = charts.chart_data(pct_view.distance_view.chart, main=True)
    assert shown["dft_after"].abs().max() == pytest.approx(0, abs=1e-9)  # everyone at target
    assert pct_view.table["budget"].sum() == pytest.approx(pct_view.historic.sum())
    assert pct_view.spread_view.svg == spread_svg  # the spread does not depend on the pace
    assert "100% move" in charts.chart_meta(pct_view.distance_view.chart)["subtitle"]


def test_formula_weights_change_the_targets_and_the_spread(apps):
    pct_view, _ = apps
    before = pct_view.targets["target"].copy()
    spread_before = pct_view.spread().copy()
    pct_view.age_weighting.value = "No age weighting (a head count)"
    pct_view.need_weight.value = 0.0
    targets = pct_view.targets.set_index("practice_id")
    lists = data.load_practices().set_index("practice_id")["list_size"]
    # A pure head count: each target is the pot times the practice's share of all patients.
    assert targets["target"].to_numpy() == pytest.approx(
        (pct_view.historic.sum() * lists / lists.sum()).reindex(targets.index).to_numpy()
    )
    assert not before.equals(pct_view.targets["target"])
    assert not spread_before.equals(pct_view.spread())
    assert "head count" in pct_view.headline_html()


def test_spread_chart_compares_with_the_published_figures(apps):
    pct_view, _ = apps
    shown = charts.chart_data(pct_view.spread_view.chart)
    national = shown.loc[shown["group"].str.startswith("England")].set_index("band_label")
    assert national.loc["More than 10% off", "share"] == pytest.approx(0.26)
    assert national.loc["More than 20% off", "share"] == pytest.approx(0.11)


def test_practice_view_follows_the_pct_view(apps):
    pct_view, practice_view = apps
    practice_view.practice.value = "WM034"  # far over target
    budget_before = practice_view.statement().budget
    pct_view.lam.value = 0.8
    pct_view.threshold.value = 0.0
    statement = practice_view.statement()
    row = pct_view.table.set_index("practice_id").loc["WM034"]
    assert statement.budget == pytest.approx(row["budget"])
    assert statement.budget < budget_before  # an over-target practice loses more, faster
    assert "80% pace of change" in practice_view.path_text.value


def test_savings_scenario_changes_outturn_and_freed_up_resources(apps):
    _, practice_view = apps
    for slider in practice_view.savings.values():
        slider.value = 0
    base = practice_view.statement()
    practice_view.savings["prescribing"].value = -10
    cut = practice_view.statement()
    rx = base.components.set_index("label").loc["Prescribing", "cost"]
    assert base.outturn - cut.outturn == pytest.approx(0.10 * rx)
    expected = b.freed_up_resources(cut.budget, cut.outturn, practice_view.share.value)
    assert cut.freed_up == pytest.approx(expected)
    shown = charts.chart_data(practice_view.components_view.chart)
    forecast = shown.loc[shown["series"] == "Forecast outturn", "cost"].sum()
    assert forecast == pytest.approx(cut.outturn)


def test_des_is_shown_beside_the_savings_and_follows_the_bma_rule(apps):
    _, practice_view = apps
    practice_view.savings["outpatients"].value = -20
    practice_view.savings["planned"].value = -20
    s = practice_view.statement()
    assert s.des_due == pytest.approx(0.95 * s.list_size)
    assert s.des_paid == (0 if s.freed_up > s.des_due else pytest.approx(s.des_due))
    assert "DES" in practice_view.statement_html.value


def test_share_of_savings_changes_only_the_money_not_the_charts(apps):
    _, practice_view = apps
    practice_view.savings["outpatients"].value = -20
    svg = practice_view.components_view.svg
    at_70 = practice_view.statement().freed_up
    practice_view.share.value = 0.5
    assert practice_view.statement().freed_up == pytest.approx(at_70 * 0.5 / 0.7)
    assert practice_view.components_view.svg == svg


def test_glide_path_limit_on_cuts_is_respected(apps):
    pct_view, practice_view = apps
    pct_view.lam.value = 0.5
    pct_view.threshold.value = 0.0
    practice_view.max_cut.value = 0.03
    practice_view.years.value = 3
    path = practice_view._path
    assert path.loc[path["step"] > 0, "change"].min() >= -0.03 - 1e-9
    assert (
        "largest cash cut any practice takes in one year is 3.0%" in practice_view.path_text.value
    )
    table = practice_view.path_view.table
    assert list(table["Year"]) == ["Historic", "2007/08", "2008/09", "2009/10"]


def test_statement_downloads_carry_the_statement(apps):
    _, practice_view = apps
    links = dict(
        re.findall(
            r'download="([^"]+)" href="data:[^;]+;charset=utf-8;base64,([^"]+)"',
            practice_view.downloads.value,
        )
    )
    page = base64.b64decode(links["indicative_budget_WM001_2007-08.html"]).decode()
    rows = list(
        csv.DictReader(
            io.StringIO(base64.b64decode(links["indicative_budget_WM001_2007-08.csv"]).decode())
        )
    )
    s = practice_view.statement()
    assert "Bridge End Surgery" in page and "<script" not in page and "http" not in page
    assert "indicative budget statement 2007/08" in page
    values = {r["item"]: r["value"] for r in rows}
    assert float(values["Indicative budget 2007/08"]) == pytest.approx(s.budget, abs=0.01)
    assert float(values["Total"]) == pytest.approx(s.historic, abs=0.01)
    parts = [
        float(r["value"])
        for r in rows
        if r["section"] == "Historic budget" and r["item"] != "Total"
    ]
    assert sum(parts) == pytest.approx(s.historic, abs=0.05)


def test_bad_start_shows_a_plain_panel():
    pct_view = FairShares()
    bad = PracticeBudget(pct_view, practice_id="XX9")
    assert isinstance(bad.failed, b.BudgetError)
    assert "no practice with the code 'XX9'" in bad.errors.message
    assert "Traceback" not in bad.errors.value


def test_a_failing_refresh_keeps_the_charts_and_explains(monkeypatch, apps):
    pct_view, practice_view = apps
    before = pct_view.distance_view.svg

    def broken(*args, **kwargs):
        raise RuntimeError("internal detail")

    monkeypatch.setattr(b, "pct_budgets", broken)
    pct_view.lam.value = 0.9
    assert pct_view.errors.visible and "internal detail" not in pct_view.errors.value
    assert pct_view.distance_view.svg == before


def test_statement_lines_are_a_tidy_table(apps):
    _, practice_view = apps
    lines = practice_view.statement().lines()
    assert list(lines.columns) == ["section", "item", "value", "unit"]
    assert not lines["item"].duplicated().any()
    html_page = bs.to_html(practice_view.statement())
    assert html_page.startswith("<!DOCTYPE html>") and "@page{size:A4" in html_page


def test_quiz_marks_the_pace_of_change_sum():
    quiz = indicative_budgets.quiz()
    numeric = quiz.questions[1]
    numeric.control.value = "£5,300,000"
    assert numeric.check()
    numeric.control.value = "5,000,000"
    assert not numeric.check()
    choice = quiz.questions[0]
    choice.control.value = "70%"
    assert choice.check()


def test_headline_tables_match_the_models(apps):
    pct_view, practice_view = apps
    table = pct_view.headline().set_index("Measure")["Value"]
    over = (pct_view.table["dft_before"].abs() > b.FAIR_SHARE_BAND).sum()
    assert table["More than 10% from fair share, historic"] == str(over)
    assert isinstance(practice_view.headline_html(), str)
    assert pd.notna(pct_view.rx_uplift)


def test_glide_path_controls_do_not_redraw_the_component_chart(apps, monkeypatch):
    _, practice_view = apps
    drawn = []
    monkeypatch.setattr(
        practice_view.components_view, "update", lambda *a, **k: drawn.append("components")
    )
    practice_view.growth.value = 0.03
    practice_view.years.value = 4
    practice_view.max_cut.value = 0.05
    assert drawn == [] and practice_view.errors.message == ""


def test_choosing_a_practice_labels_it_on_the_pct_chart(apps):
    pct_view, practice_view = apps
    practice_view.practice.value = "WM034"
    assert pct_view.highlight == "Saltmarsh Medical Centre"
    label = pct_view.distance_view.chart["datasets"]["label"][0]["text"]
    assert "Saltmarsh Medical Centre" in label
    assert practice_view.max_cut.label == "No limit" or practice_view.max_cut.value == 0.05
