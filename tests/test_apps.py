"""The apps driven headless: set control values in Python, assert on what the charts show."""

from __future__ import annotations

import pandas as pd
import pytest

from pbc_lib import charts, data
from pbc_lib.apps.glossary import MAX_QUERY, GlossarySearch
from pbc_lib.apps.practice_explorer import PracticeExplorer
from pbc_lib.apps.timeline import ALL, TimelineExplorer
from pbc_lib.content import start_here
from pbc_lib.models import practice_profile as pp


@pytest.fixture(scope="module")
def explorer():
    return PracticeExplorer(practice_id="WM001", year="2006/07")


def test_explorer_starts_on_the_chosen_practice_with_every_chart(explorer):
    assert explorer.practice_id == "WM001" and explorer.errors.message == ""
    for view in (explorer.list_view, explorer.pyramid_view, explorer.rates_view):
        assert "<svg" in view.svg and charts.chart_meta(view.chart)["source"]
    assert "Bridge End Surgery" in explorer.facts.value
    assert explorer.locality.value == "City Centre"


def test_ranking_chart_highlights_the_practice_and_holds_every_list(explorer):
    shown = charts.chart_data(explorer.list_view.chart)
    practices = data.load_practices()
    assert len(shown) == len(practices)
    assert shown["value"].sum() == practices["list_size"].sum()
    meta = charts.chart_meta(explorer.list_view.chart)
    assert meta["subtitle"] == "Bridge End Surgery highlighted"
    assert meta["title"].startswith("List size: every practice")


def test_ranking_by_another_measure_redraws_only_the_ranking():
    app = PracticeExplorer(practice_id="WM001")
    rates_svg = app.rates_view.svg
    app.rank_by.value = "Share aged 65 and over"
    shown = charts.chart_data(app.list_view.chart)
    oldest = shown.iloc[0]
    oldest_id = app.practices.set_index("practice_name").at[oldest["practice_name"], "practice_id"]
    expected = pp.older_share(app.population, oldest_id) * 100
    assert oldest["value"] == pytest.approx(expected)
    assert shown["value"].is_monotonic_decreasing
    assert app.rates_view.svg == rates_svg and app.errors.message == ""


def test_a_change_of_year_re_ranks_a_rate_but_not_a_snapshot():
    app = PracticeExplorer(practice_id="WM001")
    app.rank_by.value = "GP referrals per 1,000"
    before = charts.chart_data(app.list_view.chart)
    app.year.value = "2004/05"
    after = charts.chart_data(app.list_view.chart)
    assert "2004/05" in charts.chart_meta(app.list_view.chart)["title"]
    assert not before["value"].equals(after["value"])
    app.rank_by.value = "List size"
    snapshot = app.list_view.svg
    app.year.value = "2005/06"
    assert app.list_view.svg == snapshot


def test_rates_chart_shows_the_model_figures(explorer):
    shown = charts.chart_data(explorer.rates_view.chart).set_index("measure")
    expected = pp.activity_rates(
        data.load_activity(), data.load_list_sizes(), "WM001", "2006/07"
    ).set_index("measure")
    for measure, row in expected.iterrows():
        assert shown.at[measure, "practice_rate"] == pytest.approx(row["practice_rate"])
        assert shown.at[measure, "pct_rate"] == pytest.approx(row["pct_rate"])


def test_changing_locality_moves_to_its_first_practice_and_redraws():
    app = PracticeExplorer(practice_id="WM001")
    before = app.rates_view.svg
    app.locality.value = "Fellside Dales"
    first = pp.practices_in_locality(app.practices, "Fellside Dales").iloc[0]
    assert app.practice_id == first["practice_id"]
    assert app.errors.message == ""
    assert app.rates_view.svg != before
    assert first["practice_name"] in charts.chart_meta(app.pyramid_view.chart)["title"]
    pyramid = charts.chart_data(app.pyramid_view.chart)
    own = pyramid[pyramid["group"] == first["practice_name"]]
    assert own["share"].sum() == pytest.approx(1.0)


def test_changing_year_redraws_rates_for_that_year():
    app = PracticeExplorer(practice_id="WM010")
    list_svg, rates_svg = app.list_view.svg, app.rates_view.svg
    app.year.value = "2004/05"
    assert app.list_view.svg == list_svg  # list sizes are 2006/07 whatever the year
    assert app.rates_view.svg != rates_svg
    assert "2004/05" in charts.chart_meta(app.rates_view.chart)["title"]
    shown = charts.chart_data(app.rates_view.chart).set_index("measure")
    expected = pp.activity_rates(app.activity, app.list_sizes, "WM010", "2004/05")
    first = expected.iloc[0]
    assert shown.at[first["measure"], "practice_rate"] == pytest.approx(first["practice_rate"])


def test_headline_table_matches_the_models(explorer):
    table = explorer.headline().set_index("Measure")
    assert table.loc["Aged 65 and over", "PCT average"] == "15.9%"
    assert table.loc["Registered patients (2006/07)", "Bridge End Surgery"] == "3,305"
    assert "Headline figures, 2006/07" in explorer.headline_html()


def test_an_app_that_cannot_start_shows_a_plain_panel_not_a_traceback():
    app = PracticeExplorer(practice_id="XX1")
    assert isinstance(app.failed, pp.ProfileError)
    assert app.errors.visible and "no practice with the code 'XX1'" in app.errors.message
    assert app.widget.children == (app.errors,)
    assert app._repr_mimebundle_()["text/plain"] == PracticeExplorer.summary


def test_a_data_file_that_fails_validation_is_explained_at_start(monkeypatch):
    def bad_file():
        raise data.DataValidationError("data/practices.csv", ["column `list_size` is missing."])

    monkeypatch.setattr(data, "load_practices", bad_file)
    app = PracticeExplorer()
    assert "data/practices.csv" in app.errors.message and "list_size" in app.errors.message
    assert "Traceback" not in app.errors.value


def test_a_failing_refresh_shows_a_friendly_panel_and_keeps_old_charts(monkeypatch):
    app = PracticeExplorer(practice_id="WM001")
    before = app.rates_view.svg

    def broken(*args, **kwargs):
        raise RuntimeError("internal detail")

    monkeypatch.setattr(pp, "activity_rates", broken)
    app.year.value = "2005/06"
    assert app.errors.visible
    assert "internal detail" not in app.errors.value and "Traceback" not in app.errors.value
    assert app.rates_view.svg == before


def test_app_plain_text_is_one_sentence_not_a_widget_dump(explorer):
    bundle = explorer._repr_mimebundle_()
    assert bundle["text/plain"] == PracticeExplorer.summary
    assert "application/vnd.jupyter.widget-view+json" in bundle


def test_timeline_filter_by_strand():
    app = TimelineExplorer()
    everything = charts.chart_data(app.view.chart)
    assert len(everything) == len(data.load_table("timeline"))
    strand = app.strand.options[1]
    app.strand.value = strand
    shown = charts.chart_data(app.view.chart)
    assert 0 < len(shown) < len(everything)
    assert set(shown["category"]) == {strand}
    assert strand in charts.chart_meta(app.view.chart)["title"]
    app.strand.value = ALL
    assert len(charts.chart_data(app.view.chart)) == len(everything)


def test_timeline_table_is_in_date_order_with_sources():
    app = TimelineExplorer()
    dates = pd.to_datetime(app.view.table["Date"], format="%d %b %Y")
    assert dates.is_monotonic_increasing
    assert app.view.table["Source"].str.len().min() > 3


def test_glossary_search_filters_and_says_when_nothing_matches():
    app = GlossarySearch()
    total = len(app.terms)
    assert f"{total} of {total} terms" in app.result.value
    app.query.value = "STOP-LOSS"
    assert "Stop-loss" in app.result.value and f"of {total} terms" in app.result.value
    app.query.value = "qqqzzz"
    assert "No terms match" in app.result.value and "qqqzzz" in app.result.value


def test_glossary_rejects_an_overlong_query_plainly():
    app = GlossarySearch()
    app.query.value = "x" * (MAX_QUERY + 1)
    assert app.errors.visible and f"limited to {MAX_QUERY} characters" in app.errors.message


def test_glossary_escapes_what_the_user_typed():
    app = GlossarySearch()
    app.query.value = "<script>"
    assert "<script>" not in app.result.value


def test_start_here_quiz_answers_are_marked_right_and_wrong():
    quiz = start_here.quiz()
    assert len(quiz.questions) == len(start_here.QUESTIONS)
    for q, spec in zip(quiz.questions, start_here.QUESTIONS, strict=True):
        wrong = next(o for o in spec["options"] if o != spec["answer"])
        q.control.value = wrong
        assert q.check() is False
        q.control.value = spec["answer"]
        assert q.check() is True
    assert quiz.score_text.startswith("All 3 correct")


def test_start_here_questions_cite_a_source():
    for q in start_here.QUESTIONS:
        assert any(year in q["explanation"] for year in ("2004", "2005", "2006", "2012"))


def test_roles_table_lists_every_role():
    html = start_here.roles_html()
    for role in data.load_table("roles")["role"]:
        assert role.replace("&", "&amp;") in html
