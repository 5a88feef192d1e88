"""The risk-in-primary-care apps (workbook 04) driven headless: controls in, model figures out."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from pbc_lib import charts, data, safety_charts
from pbc_lib.apps.audit_planner import AuditPlanner
from pbc_lib.apps.funnel_explorer import FunnelExplorer
from pbc_lib.apps.safety_arithmetic import TYPICAL, SafetyArithmetic
from pbc_lib.apps.screening import N_PRACTICES, Screening
from pbc_lib.content import risk_in_primary_care
from pbc_lib.models import funnel as fp
from pbc_lib.models import safety as sf


@pytest.fixture(scope="module")
def safety_2006() -> pd.DataFrame:
    rows = data.load_safety()
    return rows.loc[rows["financial_year"] == "2006/07"].set_index("practice_id")


def _chosen(view) -> pd.DataFrame:
    return pd.DataFrame(view.chart["datasets"]["chosen"]).set_index("series")


# --- from the nation to one practice -------------------------------------------------------------
def test_arithmetic_starts_with_its_chart_and_the_working_figure():
    app = SafetyArithmetic()
    assert app.failed is None and app.errors.message == ""
    assert "<svg" in app.view.svg and charts.chart_meta(app.view.chart)["source"]
    assert app.rate.value == 16 and "pbc-control" in app.rate._dom_classes
    # 34,200 x 16 / 100,000 = 5.472 errors a year for the brief's typical practice.
    assert _chosen(app.view).at["Errors", "expected"] == pytest.approx(5.472)
    assert "5.5</strong> errors a year" in app.summary_html.value
    assert "48,000" in app.national_html.value  # 300,000,000 x 16 / 100,000


def test_rate_moves_the_marker_the_national_sum_and_keeps_the_curves():
    app = SafetyArithmetic()
    curves = app.view.chart["datasets"]["main"]
    app.rate.value = 80
    # 300,000,000 x 80 / 100,000 = 240,000 errors a year; 34,200 x 80 / 100,000 = 27.36.
    assert "240,000" in app.national_html.value and "80 per 100,000" in app.national_html.value
    chosen = _chosen(app.view)
    assert chosen.at["Errors", "expected"] == pytest.approx(27.36)
    # Reports: 27.36 x 5,706 / 48,000 = 3.2524.
    assert chosen.at["Reported incidents", "expected"] == pytest.approx(3.25242, abs=1e-4)
    assert app.view.chart["datasets"]["main"] == curves  # the lines span 5-80 whatever the rate
    assert "your figure, inside the published 5-80" in app.national_html.value


def test_curves_carry_the_poisson_range():
    app = SafetyArithmetic()
    main = pd.DataFrame(app.view.chart["datasets"]["main"])
    errors = main.loc[main["series"] == "Errors"].set_index("rate_per_100k")
    assert list(errors.index) == list(range(5, 81))
    mean = 34_200 * 40 / 100_000  # 13.68
    assert errors.at[40, "lower"] == stats.poisson.ppf(0.025, mean)
    assert errors.at[40, "upper"] == stats.poisson.ppf(0.975, mean)


def test_a_data_practice_uses_its_own_consultations(safety_2006):
    app = SafetyArithmetic()
    national = app.national_html.value
    app.practice.value = "WM001"
    consultations = safety_2006.at["WM001", "consultations"]
    assert _chosen(app.view).at["Errors", "expected"] == pytest.approx(consultations * 16 / 1e5)
    steps = app.practice_steps().set_index("step")
    assert (
        steps.at[1, "source"] == "safety.csv, 2006/07 (synthetic)" and steps.at[1, "tag"] == "data"
    )
    assert "Bridge End Surgery" in app.practice_html.value
    assert app.national_html.value == national  # the practice does not change the nation


def test_reporting_share_changes_only_the_reports():
    app = SafetyArithmetic()
    before = _chosen(app.view)
    app.share.value = 1.0
    after = _chosen(app.view)
    assert after.at["Errors", "expected"] == before.at["Errors", "expected"]
    assert after.at["Reported incidents", "expected"] == pytest.approx(5.472)
    # Every error reported: no report at all in exp(-5.472) = 0.42% of years.
    assert app.practice_steps().set_index("step").at[9, "value"] == pytest.approx(math.exp(-5.472))
    assert app.practice_steps().set_index("step").at[7, "tag"] == "U"


def test_arithmetic_headline_matches_the_model():
    table = SafetyArithmetic().headline().set_index("Measure")["Value"]
    assert table["Errors a year at this rate"] == "48,000"
    assert table["Errors a day"] == "131.5"  # 48,000 / 365
    assert table["95% range of errors that year (Poisson)"] == "1 to 10"
    assert table["Share of errors reported (5,706 NRLS reports)"] == "11.9%"


# --- the funnel explorer -------------------------------------------------------------------------
def test_funnel_starts_with_the_model_flags(safety_2006):
    app = FunnelExplorer()
    assert app.failed is None and app.errors.message == ""
    shown = pd.DataFrame(app.view.chart["datasets"]["main"]).set_index("unit")
    # Independently: every practice's exact 99.8% limits around the pooled 2006/07 rate.
    p0 = safety_2006["prescribing_errors"].sum() / safety_2006["items_checked"].sum()
    rate = safety_2006["prescribing_errors"] / safety_2006["items_checked"]
    hi = fp.exact_limit("proportion", p0, safety_2006["items_checked"], 0.999)
    alarms = set(safety_2006.index[rate > hi])
    assert set(shown.index[shown["flag"] == fp.FLAG_ABOVE_ALARM]) == alarms
    assert len(shown) == len(safety_2006)
    assert app.view.chart["datasets"]["label"][0]["text"] == "WM007"
    assert "above 99.8% (alarm)" in app.summary_html.value


def test_overdispersion_widens_the_limits_and_clears_the_highlight():
    app = FunnelExplorer()
    upper = pd.DataFrame(app.view.chart["datasets"]["limits"])
    app.adjustment.value = "multiplicative"
    widened = pd.DataFrame(app.view.chart["datasets"]["limits"])
    assert set(widened["limit"]) == set(upper["limit"])
    top = lambda t: t.loc[t["limit"] == "99.8% upper", "value"].max()  # noqa: E731
    assert top(widened) > top(upper)
    shown = pd.DataFrame(app.view.chart["datasets"]["main"]).set_index("unit")
    assert shown.at["WM007", "flag"] == fp.FLAG_WITHIN
    assert "widened by √φ = 1.84" in charts.chart_meta(app.view.chart)["subtitle"]  # √3.39
    app.adjustment.value = "additive"
    assert "between-practice SD of 1.6 percentage points" in app.summary_html.value


def test_highlight_redraws_without_recomputing_the_funnel(monkeypatch):
    app = FunnelExplorer()

    def broken(*args, **kwargs):
        raise AssertionError("the model should not run for a new highlight")

    monkeypatch.setattr(fp, "funnel", broken)
    app.practice.value = "WM013"
    assert app.errors.message == ""
    assert app.view.chart["datasets"]["label"][0]["text"] == "WM013"
    assert "Kings Park Practice (WM013)" in app.summary_html.value


def test_incidents_pooled_over_three_years():
    app = FunnelExplorer()
    app.measure.value = "incidents"
    app.year.value = "all"
    rows = data.load_safety()
    target = rows["incidents_reported"].sum() / rows["consultations"].sum() * 100_000
    assert app.funnel.target == pytest.approx(target)
    shown = pd.DataFrame(app.view.chart["datasets"]["main"]).set_index("unit")
    by_practice = rows.groupby("practice_id")["consultations"].sum()
    assert shown["denominator"].to_dict() == pytest.approx(by_practice.astype(float).to_dict())
    assert "per 100,000" in app.summary_html.value
    assert "Reports are not errors" in app.caveat_html.value


def test_normal_limits_differ_from_exact():
    app = FunnelExplorer()
    exact = pd.DataFrame(app.view.chart["datasets"]["limits"])
    app.method.value = "normal"
    normal = pd.DataFrame(app.view.chart["datasets"]["limits"])
    assert not np.allclose(exact["value"], normal["value"])
    assert "normal approximation" in app.summary_html.value


def test_funnel_headline_counts_each_adjustment():
    table = FunnelExplorer().headline().set_index("Limits, overdispersion")
    assert list(table.index) == [
        "Exact limits, no adjustment",
        "Normal approximation, no adjustment",
        "Normal, widened by √φ (multiplicative)",
        "Normal plus τ² (additive)",
    ]
    # Widening can only take practices out of the alarm zone.
    assert (table["Above 99.8%"] <= table.at["Exact limits, no adjustment", "Above 99.8%"]).all()
    assert table.at["Exact limits, no adjustment", "Above 99.8%"] >= 1


def test_bad_start_shows_a_plain_panel():
    bad = FunnelExplorer(practice_id="XX9")
    assert isinstance(bad.failed, fp.FunnelError)
    assert "no practice with the code 'XX9'" in bad.errors.message
    assert "Traceback" not in bad.errors.value


def test_a_failing_refresh_keeps_the_chart_and_explains(monkeypatch):
    app = FunnelExplorer()
    before = app.view.svg

    def broken(*args, **kwargs):
        raise RuntimeError("internal detail")

    monkeypatch.setattr(fp, "funnel", broken)
    app.year.value = "2005/06"
    assert app.errors.visible and "internal detail" not in app.errors.value
    assert app.view.svg == before


# --- the audit planner ---------------------------------------------------------------------------
def test_audit_planner_default_is_the_hand_sum(safety_2006):
    app = AuditPlanner()
    # 1.96^2 x 0.049 x 0.951 / 0.01^2 = 1,790.1, so 1,791 items.
    needed = app.needed_table.set_index("method")["items"]
    assert needed["normal"] == 1_791
    assert needed["normal"] <= needed["wilson"] <= needed["exact"]
    assert app.current_items == pytest.approx(safety_2006["items_checked"].mean())
    dots = pd.DataFrame(app.view.chart["datasets"]["needed"])
    assert sorted(dots["items"]) == sorted(needed)
    assert "1,791" in app.summary_html.value


def test_audit_margin_and_confidence_change_the_answer():
    app = AuditPlanner()
    app.margin.value = 0.02
    # 1.959964^2 x 0.049 x 0.951 / 0.02^2 = 447.5, so 448 items.
    assert app.needed_table.set_index("method").at["normal", "items"] == 448
    assert "enough for this margin" not in app.summary_html.value  # 427 items: just short
    app.margin.value = 0.05
    assert "enough for this margin" in app.summary_html.value
    app.confidence.value = 0.99
    z = stats.norm.ppf(0.995)
    expected = math.ceil(z**2 * 0.049 * 0.951 / 0.05**2)
    assert app.needed_table.set_index("method").at["normal", "items"] == expected


def test_audit_chart_lines_are_the_model_half_widths():
    app = AuditPlanner()
    app.p.value = 0.01
    lines = pd.DataFrame(app.view.chart["datasets"]["main"])
    normal = lines.loc[lines["method"] == "Normal"]
    n = normal["items"].to_numpy()
    assert normal["half_width"].to_numpy() == pytest.approx(1.959964 * np.sqrt(0.01 * 0.99 / n))
    assert app.errors.message == ""


def test_audit_planner_shows_a_model_error_plainly(monkeypatch):
    app = AuditPlanner()

    def too_big(*args, **kwargs):
        raise sf.SafetyInputError("that margin needs 250,000 items, more than this planner allows")

    monkeypatch.setattr(sf, "audit_sample_sizes", too_big)
    app.margin.value = 0.005
    assert "more than this planner allows" in app.errors.message


# --- the screening simulator ---------------------------------------------------------------------
def test_screening_counts_add_up_and_match_the_model():
    app = Screening()
    c = app.result.counts
    assert c["caught"] + c["missed"] == c["truly_unsafe"]
    assert c["caught"] + c["missed"] + c["safe_flagged"] + c["safe_not_flagged"] == N_PRACTICES
    direct = sf.screen_practices(N_PRACTICES, seed=0)
    assert direct.counts == c
    shown = app.view.table.set_index("Outcome")["Practices"]
    assert shown.sum() == N_PRACTICES and shown["unsafe, caught"] == c["caught"]
    assert len(app.view.chart["datasets"]["main"]) == N_PRACTICES
    assert f"catches <strong>{c['caught']}</strong>" in app.summary_html.value


def test_a_looser_rule_flags_more():
    app = Screening()
    strict = app.result.counts["flagged"]
    app.level.value = fp.ALERT_LEVEL
    assert app.result.counts["flagged"] > strict
    assert "95% limit" in charts.chart_meta(app.view.chart)["subtitle"]


def test_unsafe_threshold_moves_the_line_not_the_practices():
    app = Screening()
    before = pd.DataFrame(app.view.chart["datasets"]["main"])["true_rate_per_100k"]
    app.unsafe_at.value = 50
    after = pd.DataFrame(app.view.chart["datasets"]["main"])["true_rate_per_100k"]
    assert sorted(after) == sorted(before)  # the same practices, only their outcomes move
    assert app.view.chart["datasets"]["unsafe"] == [{"x": 50.0}]
    assert app.result.counts["truly_unsafe"] == int((after >= 50).sum())


def test_culture_link_turns_the_paradox_round():
    app = Screening()
    app.culture_link.value = 0.9
    high = app.measures(app.result)["paradox"]
    app.culture_link.value = -0.5
    low = app.measures(app.result)["paradox"]
    assert high > 0.5 > low  # with a strong link the higher reporter is usually the safer


def test_new_sample_draws_another_pct():
    app = Screening()
    first = app.result.practices["true_rate_per_100k"].to_numpy()
    app.redraw.click()
    assert app.seed == 1
    assert not np.array_equal(first, app.result.practices["true_rate_per_100k"].to_numpy())


def test_screening_headline_scenarios():
    table = Screening().headline()
    assert len(table) == 5
    defaults = table.iloc[0]
    counts = sf.screen_practices(N_PRACTICES, seed=0).counts
    assert defaults["Unsafe caught"] == f"{counts['caught']} of {counts['truly_unsafe']}"


# --- the quiz ------------------------------------------------------------------------------------
def test_quiz_first_question_is_multiple_choice_and_marks_the_sum():
    quiz = risk_in_primary_care.quiz()
    first, numeric = quiz.questions[0], quiz.questions[1]
    assert type(first).__name__ == "MultipleChoice"
    first.control.value = risk_in_primary_care.REPORTS_MORE
    assert first.check()
    numeric.control.value = "131.5"  # 300,000,000 x 16 / 100,000 / 365
    assert numeric.check()
    numeric.control.value = "120"
    assert not numeric.check()


def test_typical_practice_sentinel_is_not_none():
    app = SafetyArithmetic()
    assert app.practice.value == TYPICAL and TYPICAL is not None


# --- the chart builders' own checks --------------------------------------------------------------
def test_screening_chart_draws_the_rare_outcomes_on_top():
    app = Screening()
    outcomes = [row["outcome"] for row in app.view.chart["datasets"]["main"]]
    quiet = outcomes.count("safe, not flagged")
    assert set(outcomes[:quiet]) == {"safe, not flagged"}
    assert "safe, not flagged" not in outcomes[quiet:]


@pytest.mark.parametrize(
    ("build", "words"),
    [
        (
            lambda: safety_charts.screening_chart(
                pd.DataFrame(
                    {
                        "true_rate_per_100k": [10.0],
                        "reported_rate_per_100k": [1.0],
                        "outcome": ["x"],
                    }
                ),
                unsafe_at=32,
                title="t",
                source="s",
            ),
            "found 'x'",
        ),
        (
            lambda: safety_charts.expected_errors_chart(
                SafetyArithmetic().curves(), chosen_rate=3.5, title="t", source="s"
            ),
            "3.5 per 100,000 is not one of the rates",
        ),
        (
            lambda: safety_charts.audit_chart(
                pd.DataFrame({"items": [10.0], "method": ["bayes"], "half_width": [0.1]}),
                pd.DataFrame({"method": ["normal"], "items": [10.0], "half_width": [0.1]}),
                margin=0.01,
                current_items=None,
                title="t",
                source="s",
            ),
            "found 'bayes'",
        ),
    ],
)
def test_chart_builders_reject_bad_tables(build, words):
    with pytest.raises(charts.ChartDataError, match=words):
        build()
