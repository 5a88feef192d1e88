"""Hand-computed cases and invariants for pbc_lib.models.safety."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from pbc_lib.models import funnel as fp
from pbc_lib.models import safety as sf


def test_national_arithmetic_hand_computed():
    table = sf.national_arithmetic().set_index("quantity")["value"]
    # 300,000,000 x 16 / 100,000 = 48,000 errors a year; / 365 = 131.5 a day.
    assert table["Errors a year"] == pytest.approx(48_000)
    assert table["Errors a day"] == pytest.approx(131.507, abs=0.001)
    # Range: x 5 / 100,000 = 15,000; x 80 / 100,000 = 240,000.
    assert table["Errors a year at 5 per 100,000"] == pytest.approx(15_000)
    assert table["Errors a year at 80 per 100,000"] == pytest.approx(240_000)
    # "120 a day" needs 120 x 365 x 100,000 / 16 = 273,750,000 contacts (brief: ~275m).
    assert table["Contacts that '120 a day' implies"] == pytest.approx(273_750_000)
    # 5,706 / 48,000 = 0.118875 of errors reach the NRLS.
    assert table["Share of errors reported"] == pytest.approx(0.118875)


def test_arithmetic_tables_show_words_sources_and_tags():
    for table in (sf.national_arithmetic(), sf.practice_arithmetic()):
        assert list(table.columns) == ["step", "quantity", "sum", "value", "unit", "source", "tag"]
        assert table["step"].tolist() == list(range(1, len(table) + 1))
        assert set(table["tag"]) <= {"V", "D", "U"}
        derived = table.loc[table["tag"] == "D"]
        assert (derived["sum"] != "").all()  # every derived figure shows its sum
        given = table.loc[table["tag"] == "V"]
        assert (given["source"] != "").all()  # every published figure names its source


def test_steps_label_the_users_own_figures_as_assumptions():
    # At the defaults the inputs carry their published sources; any other figure is the user's
    # own [U], and a rate other than 16 is not called "the project figure".
    default = sf.practice_arithmetic().set_index("step")
    assert (
        default.at[1, "tag"] == "V" and default.at[2, "quantity"] == "Error rate (project figure)"
    )
    own = sf.practice_arithmetic(20_000, 40).set_index("step")
    assert own.at[1, "quantity"] == "Consultations a year (your figure)"
    assert own.at[1, "tag"] == "U" and own.at[1, "source"] == ""
    assert own.at[2, "quantity"] == "Error rate (your figure, inside the published 5-80)"
    assert own.at[2, "source"] == sf.SRC_SANDARS and own.at[2, "tag"] == "U"
    outside = sf.national_arithmetic(rate_per_100k=120, reports=1_000).set_index("step")
    assert outside.at[2, "quantity"] == "Error rate (your figure, outside 5-80)"
    assert outside.at[1, "tag"] == "V"  # contacts left at 300 million
    assert outside.at[8, "tag"] == "U"  # reports changed from 5,706


def test_practice_arithmetic_hand_computed():
    table = sf.practice_arithmetic().set_index("quantity")["value"]
    # 34,200 x 16 / 100,000 = 5.472 errors a year; 52.18 weeks / 5.472 = 9.54 weeks apart.
    assert table["Errors a year"] == pytest.approx(5.472)
    assert table["Weeks between errors"] == pytest.approx(365.25 / 7 / 5.472)
    # Poisson(5.472): F(0) = e^-5.472 = 0.0042 (< 0.025), F(1) = 0.0042 x 6.472 = 0.0273 (>= 0.025),
    # so the 2.5th percentile is 1; F(9) = 0.950, F(10) = 0.978, so the 97.5th is 10.
    assert table["Low end of the 95% range of errors"] == 1
    assert table["High end of the 95% range of errors"] == 10
    assert table["Share of errors reported"] == pytest.approx(5_706 / 48_000)
    # Reports: 5.472 x 0.118875 = 0.6505; no report at all: e^-0.6505 = 0.5218.
    assert table["Reports expected a year"] == pytest.approx(0.65048, abs=1e-5)
    assert table["Chance of a year with no report at all"] == pytest.approx(0.5218, abs=1e-4)


def test_practice_arithmetic_with_an_assumed_reporting_share():
    table = sf.practice_arithmetic(10_000, 20, completeness=0.5).set_index("quantity")
    # 10,000 x 20 / 100,000 = 2 errors; half reported = 1; no report at all: e^-1 = 0.3679.
    assert table.at["Reports expected a year", "value"] == pytest.approx(1.0)
    assert table.at["Chance of a year with no report at all", "value"] == pytest.approx(
        0.36788, abs=1e-5
    )
    assert table.at["Share of errors reported", "tag"] == "U"


def test_expected_incidents_poisson_range_hand_case():
    # 12,500 contacts at 16 per 100,000: mean 2. Poisson(2): F(0) = 0.1353 (>= 0.025, so the
    # lower end is 0); F(4) = 0.9473, F(5) = 0.9834 (first >= 0.975, so the upper end is 5).
    row = sf.expected_incidents(12_500).iloc[0]
    assert row["expected"] == pytest.approx(2.0)
    assert (row["lower"], row["upper"]) == (0, 5)


def test_expected_incidents_national_range_close_to_normal():
    # Mean 48,000: SD sqrt(48,000) = 219.09; 1.96 x 219.09 = 429.4, so about 47,571 to 48,429.
    row = sf.expected_incidents(sf.GP_CONTACTS_PER_YEAR).iloc[0]
    assert row["lower"] == pytest.approx(47_571, abs=2)
    assert row["upper"] == pytest.approx(48_429, abs=2)
    assert row["per_day"] == pytest.approx(48_000 / 365)
    # Exactness: the upper end is the first count whose CDF reaches 97.5%.
    assert (
        stats.poisson.cdf(row["upper"], 48_000)
        >= 0.975
        > stats.poisson.cdf(row["upper"] - 1, 48_000)
    )


def test_expected_incidents_broadcasts_and_incident_range_rows():
    table = sf.expected_incidents([10_000, 20_000], [16, 32])
    assert table["expected"].tolist() == pytest.approx([1.6, 6.4])
    rng = sf.incident_range()
    assert rng["rate_per_100k"].tolist() == [5.0, 16.0, 80.0]
    assert rng["expected"].tolist() == pytest.approx([15_000, 48_000, 240_000])
    assert (rng["lower"] < rng["expected"]).all() and (rng["expected"] < rng["upper"]).all()


def test_rate_interval_hand_cases():
    # 0 events in 100,000 contacts: upper = chi2(0.975, 2) / 2 = -ln(0.025) = 3.689 per 100,000.
    low, high = sf.rate_interval(0, 100_000)
    assert low == 0.0 and high == pytest.approx(-math.log(0.025))
    # Coverage check for 5 events: P(X >= 5 | upper) = 2.5% and P(X <= 5 | lower) ... at the
    # lower end P(X >= 5 | mean) = 2.5%; at the upper end P(X <= 5 | mean) = 2.5%.
    low, high = sf.rate_interval(5, 100_000)
    assert stats.poisson.sf(4, low) == pytest.approx(0.025)
    assert stats.poisson.cdf(5, high) == pytest.approx(0.025)


def test_items_to_check_hand_case():
    # 1.959964^2 x 0.049 x 0.951 / 0.01^2 = 3.841459 x 0.046599 / 0.0001 = 1,790.07 -> round up
    # to 1,791 (the "= 1,790" rounds down, which would miss the margin by a hair).
    assert sf.items_to_check(0.049, 0.01, 0.95) == 1_791
    n = sf.items_to_check()
    assert n == 1_791
    widths = sf.half_widths([n - 1, n], 0.049)["normal"]
    assert widths.iloc[0] > 0.01 >= widths.iloc[1]


@settings(max_examples=40, deadline=None)
@given(p=st.floats(0.01, 0.5), margin=st.floats(0.005, 0.05))
def test_items_to_check_scales_with_one_over_margin_squared(p, margin):
    n1 = sf.items_to_check(p, margin)
    n2 = sf.items_to_check(p, margin / 2)
    # Halving the margin quadruples the sample (up to rounding up of each).
    assert 4 * n1 - 4 <= n2 <= 4 * n1


def test_audit_sample_sizes_compare_methods():
    table = sf.audit_sample_sizes(0.049, 0.01).set_index("method")
    assert table.at["normal", "items"] == sf.items_to_check(0.049, 0.01)
    # Clopper-Pearson is conservative, so it needs at least as many items as Wilson and normal;
    # at p = 4.9% all three agree within 10%.
    assert table.at["exact", "items"] >= table.at["wilson", "items"]
    assert table.at["exact", "items"] >= table.at["normal", "items"]
    assert table["items"].max() / table["items"].min() < 1.10
    for method, row in table.iterrows():
        widths = sf.half_widths([row["items"] - 1, row["items"]], 0.049)[method]
        assert widths.iloc[0] > 0.01 >= widths.iloc[1]


def test_audit_sample_sizes_rare_events_normal_too_small():
    # At p = 0.2% (severe errors), +/- 0.2 points: the normal answer is 1.96^2 x 0.002 x 0.998 /
    # 0.002^2 = 1,917; with only ~4 errors expected the Wilson and exact intervals need 20% or
    # more extra items (at 4.9% and +/- 1 point they need at most 6% more).
    rare = sf.audit_sample_sizes(0.002, 0.002).set_index("method")["items"]
    assert rare["normal"] == 1_917
    assert rare["wilson"] > 1.2 * rare["normal"] and rare["exact"] > 1.2 * rare["normal"]
    common = sf.audit_sample_sizes(0.049, 0.01).set_index("method")["items"]
    assert common["exact"] < 1.06 * common["normal"]


@settings(max_examples=15, deadline=None)
@given(
    p=st.floats(0.002, 0.3),
    margin=st.floats(0.01, 0.05),
    confidence=st.sampled_from([0.9, 0.95, 0.99]),
)
def test_audit_search_agrees_with_checking_every_n(p, margin, confidence):
    # The coarse-then-fine search gives what checking every n from 1 to 4n + 1,000 gives.
    found = sf.audit_sample_sizes(p, margin, confidence).set_index("method")["items"]
    top = 4 * sf.items_to_check(p, margin, confidence) + 1_000
    grid = np.arange(1, top + 1)
    widths = sf.half_widths(grid, p, confidence)
    for method in ("normal", "wilson", "exact"):
        too_wide = np.flatnonzero(widths[method].to_numpy() > margin)
        expected = int(grid[too_wide[-1]] + 1) if too_wide.size else 1
        assert found[method] == expected, method


def test_prescribing_figures_are_different_measures():
    figs = sf.prescribing_error_figures().set_index("figure")
    practice = figs.loc["PRACtICe: items with an error"]
    review = figs.loc["2003 review: prescriptions with an error"]
    assert practice["value"] == 0.049 and practice["per"] == "item"
    assert review["value"] == 0.11 and review["per"] == "prescription"
    assert "up to" in review["kind"] and "measured" in practice["kind"]
    assert set(figs["tag"]) == {"V"}
    # The constants agree with each other: 4.9% lies in its CI; 1 / 550 = 0.18%, and 4% of the
    # 4.9% = 0.196%, both about the 0.2% PRACtICe gives.
    assert sf.PRACTICE_ERROR_CI[0] < sf.PRACTICE_ERROR_RATE < sf.PRACTICE_ERROR_CI[1]
    assert 1 / sf.PRACTICE_SEVERE_ONE_IN == pytest.approx(sf.PRACTICE_SEVERE_RATE, abs=0.0003)
    assert sf.PRACTICE_SEVERE_SHARE * sf.PRACTICE_ERROR_RATE == pytest.approx(0.002, abs=0.0001)
    # 6,048 items over 15 practices is about 403 items per practice (the data's audit size).
    assert sf.PRACTICE_ITEMS / sf.PRACTICE_PRACTICES == pytest.approx(403.2)


def test_screening_counts_add_up():
    result = sf.screen_practices(2_000, seed=1)
    c = result.counts
    assert c["caught"] + c["missed"] == c["truly_unsafe"]
    assert c["caught"] + c["safe_flagged"] == c["flagged"]
    assert c["truly_unsafe"] + c["safe_flagged"] + c["safe_not_flagged"] == c["practices"] == 2_000
    table = result.practices
    assert table["outcome"].value_counts().sum() == 2_000
    assert (table["unsafe"] == (table["true_rate_per_100k"] >= sf.UNSAFE_RATE_PER_100K)).all()
    assert (
        table["flagged"] == (table["reported_rate_per_100k"] > table["upper_limit_per_100k"])
    ).all()


@settings(max_examples=25, deadline=None)
@given(
    n=st.integers(2, 300),
    years=st.integers(1, 5),
    link=st.floats(-0.9, 0.9),
    seed=st.integers(0, 10_000),
)
def test_screening_invariants_hold_for_any_setting(n, years, link, seed):
    c = sf.screen_practices(n, years=years, culture_link=link, seed=seed).counts
    assert c["caught"] + c["missed"] == c["truly_unsafe"]
    assert c["caught"] + c["safe_flagged"] == c["flagged"]
    assert c["truly_unsafe"] + c["safe_flagged"] + c["safe_not_flagged"] == n
    assert min(c.values()) >= 0


def test_screening_same_seed_same_answer():
    a = sf.screen_practices(500, seed=123)
    b = sf.screen_practices(500, seed=np.random.default_rng(123))
    assert a.counts == b.counts
    assert a.practices.equals(b.practices)
    assert not a.practices.equals(sf.screen_practices(500, seed=124).practices)


def test_unsafe_share_matches_the_lognormal():
    # True rates lognormal with mean 16 and sigma 0.55: P(rate >= 32) = 1 - Phi((ln 32 - mu) /
    # 0.55) with mu = ln 16 - 0.55^2 / 2 = 2.6214; (3.4657 - 2.6214) / 0.55 = 1.535 -> 6.2%.
    c = sf.screen_practices(20_000, seed=2).counts
    assert c["truly_unsafe"] / c["practices"] == pytest.approx(0.062, abs=0.006)


def test_under_reporting_hides_unsafe_practices():
    # Full reporting over 10 years against 1 year at 12%: far more unsafe practices are caught,
    # and the reported rate tracks the true rate much more closely.
    poor = sf.screen_practices(5_000, seed=4)
    full = sf.screen_practices(5_000, years=10, completeness=0.95, culture_link=0.0, seed=4)

    def caught(r):
        return r.counts["caught"] / r.counts["truly_unsafe"]

    assert caught(full) > 0.5 > 0.2 > caught(poor)
    rho = {k: r.summary.set_index("measure")["value"] for k, r in (("poor", poor), ("full", full))}
    key = "rank correlation, reported v true rate"
    assert rho["full"][key] > 0.8 > 0.3 > rho["poor"][key]


def test_reporting_culture_makes_high_reporters_look_worse():
    # When safer practices report a larger share (culture_link > 0), the practice that reports
    # more is the safer one in a larger share of pairs, and flags land more on safe practices.
    key = "pairs where the higher reporter is safer"
    share = {}
    for link in (-0.5, 0.0, 0.8):
        summary = sf.screen_practices(5_000, culture_link=link, seed=8).summary
        share[link] = summary.set_index("measure").at[key, "value"]
    assert share[-0.5] < share[0.0] < share[0.8]
    assert share[0.8] > 0.45


def test_screening_at_95_percent_flags_more_than_at_99_8():
    strict = sf.screen_practices(3_000, level=fp.ALARM_LEVEL, seed=5).counts
    loose = sf.screen_practices(3_000, level=fp.ALERT_LEVEL, seed=5).counts
    assert loose["flagged"] > strict["flagged"]
    assert loose["caught"] >= strict["caught"]


@pytest.mark.parametrize(
    "call, words",
    [
        (lambda: sf.expected_incidents(-5), "contacts must be above 0"),
        (lambda: sf.expected_incidents(100, 0), "rate_per_100k must be above 0"),
        (lambda: sf.expected_incidents([1, 2, 3], [1, 2]), "matching lengths"),
        (lambda: sf.expected_incidents(np.ones(sf.MAX_ROWS + 1)), "at most 10,000 rows"),
        (lambda: sf.expected_incidents(100, confidence=1.5), "confidence must be"),
        (lambda: sf.rate_interval(2.5, 100), "whole number"),
        (lambda: sf.items_to_check(1.0), "below 1"),
        (lambda: sf.items_to_check(0.049, 0), "margin must be a number above 0"),
        (lambda: sf.items_to_check(0.5, 0.0001), "more than the 200,000"),
        (lambda: sf.screen_practices(sf.MAX_PRACTICES + 1), "n_practices must be"),
        (lambda: sf.screen_practices(10, years=0), "years must be"),
        (lambda: sf.screen_practices(10, culture_link=1.0), "culture_link must be"),
        (lambda: sf.screen_practices(10, completeness=0), "completeness must be a number above"),
        (lambda: sf.screen_practices("many"), "n_practices must be a number"),
    ],
)
def test_bad_input_messages(call, words):
    with pytest.raises(sf.SafetyInputError, match=words):
        call()
