"""Hand-computed cases, invariants and null simulations for pbc_lib.models.funnel."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from pbc_lib import data, synth
from pbc_lib.models import funnel as fp

# Interpolated exact limit (Spiegelhalter 2005, appendix A.1): r = smallest count with F(r) >= q,
# alpha = (F(r) - q) / (F(r) - F(r - 1)), limit = (r - alpha) / n.


def test_exact_binomial_limits_hand_computed():
    # Binomial(100, 0.05), F(k) summed by hand from C(100, i) 0.05^i 0.95^(100 - i):
    # F(0) = 0.95^100 = 0.0059205; F(1) = F(0) + 100 x 0.05 x 0.95^99 = 0.0370812;
    # F(9) = 0.9718117; F(10) = 0.9885276.
    # Lower 95% (q = 0.025): r = 1; alpha = (0.0370812 - 0.025) / (0.0370812 - 0.0059205)
    #   = 0.0120812 / 0.0311607 = 0.387707; limit = (1 - 0.387707) / 100 = 0.0061229.
    # Upper 95% (q = 0.975): r = 10; alpha = (0.9885276 - 0.975) / (0.9885276 - 0.9718117)
    #   = 0.0135276 / 0.0167159 = 0.809266; limit = (10 - 0.809266) / 100 = 0.0919073.
    low, high = fp.limits_at("proportion", 0.05, 100, 0.95, "exact")
    assert low == pytest.approx(0.0061229, abs=2e-7)
    assert high == pytest.approx(0.0919073, abs=2e-7)
    # r agrees with scipy's quantile, and the limit sits in ((r - 1)/n, r/n].
    assert stats.binom.ppf(0.025, 100, 0.05) == 1
    assert stats.binom.ppf(0.975, 100, 0.05) == 10
    assert 0.09 < high <= 0.10 and 0.0 < low <= 0.01


def test_exact_binomial_lower_limit_clipped_at_zero():
    # 99.8% lower (q = 0.001): r = 0 since F(0) = 0.0059 >= 0.001; alpha = (0.0059205 - 0.001) /
    # 0.0059205 = 0.8311, so (0 - 0.8311) / 100 < 0, which is clipped to 0.
    low, _ = fp.limits_at("proportion", 0.05, 100, 0.998, "exact")
    assert low == 0.0


def test_exact_poisson_limits_for_expected_ten_hand_computed():
    # Poisson(10): F(3) = 0.0103361, F(4) = 0.0292527, F(16) = 0.9729584, F(17) = 0.9857224.
    # Lower 95%: r = 4, alpha = (0.0292527 - 0.025) / (0.0292527 - 0.0103361) = 0.224812,
    #   O/E limit = (4 - 0.224812) / 10 = 0.377519.
    # Upper 95%: r = 17, alpha = (0.9857224 - 0.975) / (0.9857224 - 0.9729584) = 0.840049,
    #   O/E limit = (17 - 0.840049) / 10 = 1.615995.
    low, high = fp.limits_at("ratio", 1.0, 10, 0.95, "exact")
    assert low == pytest.approx(0.377519, abs=2e-6)
    assert high == pytest.approx(1.615995, abs=2e-6)
    assert stats.poisson.ppf(0.025, 10) == 4 and stats.poisson.ppf(0.975, 10) == 17


def test_normal_limits_hand_computed():
    # p0 = 0.05, n = 100: s = sqrt(0.05 x 0.95 / 100) = 0.0217945; 1.959964 x s = 0.0427164.
    low, high = fp.limits_at("proportion", 0.05, 100, 0.95, "normal")
    assert (low, high) == pytest.approx((0.0072836, 0.0927164), abs=1e-6)
    # O/E with E = 25 at 99.8%: 1 +/- 3.090232 / 5 = 1 +/- 0.618046.
    low, high = fp.limits_at("ratio", 1.0, 25, 0.998, "normal")
    assert (low, high) == pytest.approx((0.381954, 1.618046), abs=1e-6)


def test_z_multipliers_match_the_brief():
    assert fp.z_for_level(0.95) == pytest.approx(1.96, abs=0.005)
    assert fp.z_for_level(0.998) == pytest.approx(3.09, abs=0.005)
    assert fp.level_label(0.95) == "95%" and fp.level_label(0.998) == "99.8%"


@pytest.mark.parametrize("kind, target", [("proportion", 0.05), ("ratio", 1.0), ("rate", 2e-4)])
@pytest.mark.parametrize("method", ["exact", "normal"])
def test_limits_narrow_as_the_denominator_grows(kind, target, method):
    # Exact limits wobble a little between neighbouring n (a discrete count), so compare n with
    # 2n: the funnel must be narrower at every doubling, on both sides.
    n = np.round(np.geomspace(100, 50_000, 40)) if kind != "rate" else np.geomspace(1e5, 5e7, 40)
    for level in fp.LEVELS:
        lo1, hi1 = fp.limits_at(kind, target, n, level, method)
        lo2, hi2 = fp.limits_at(kind, target, 2 * n, level, method)
        assert (hi2 < hi1).all() and (lo2 > lo1).all()
        assert (lo1 <= target).all() and (hi1 >= target).all()


@pytest.mark.parametrize("kind, target", [("proportion", 0.05), ("ratio", 1.0)])
def test_exact_and_normal_limits_converge_for_large_denominators(kind, target):
    def gap(n):
        exact = np.array(fp.limits_at(kind, target, n, 0.998, "exact"))
        normal = np.array(fp.limits_at(kind, target, n, 0.998, "normal"))
        return np.max(np.abs(exact - normal)) / (normal[1] - normal[0])

    assert gap(1_000_000) < 0.01
    assert gap(1_000_000) < gap(10_000) < gap(100)


@settings(max_examples=60, deadline=None)
@given(
    p=st.floats(0.05, 0.95),
    n=st.integers(200, 5_000),
    q=st.sampled_from([0.001, 0.025]),
)
def test_exact_binomial_mirror_symmetry(p, n, q):
    # n - Y is Binomial(n, 1 - p). With the interpolation (a CDF joined linearly between whole
    # counts) the mirror image is shifted by one count: L(p, q) + U(1 - p, 1 - q) = 1 - 1/n.
    low = fp.exact_limit("proportion", p, n, q)
    high = fp.exact_limit("proportion", 1 - p, n, 1 - q)
    assert low + high == pytest.approx(1 - 1 / n, abs=1e-9)


@settings(max_examples=60, deadline=None)
@given(p=st.floats(0.05, 0.95), n=st.integers(50, 100_000), level=st.sampled_from(fp.LEVELS))
def test_normal_limits_symmetric_about_target(p, n, level):
    low, high = fp.limits_at("proportion", p, n, level, "normal")
    if low > 0 and high < 1:  # no clipping
        assert high - p == pytest.approx(p - low)


@settings(max_examples=40, deadline=None)
@given(rate=st.floats(1e-6, 1e-2), n=st.floats(1e3, 1e7), method=st.sampled_from(fp.METHODS))
def test_a_rate_is_a_ratio_scaled_by_its_target(rate, n, method):
    # r0 over n contacts is an O/E ratio with E = r0 x n: rate limits = r0 x ratio limits.
    rate_lim = np.array(fp.limits_at("rate", rate, n, 0.95, method))
    ratio_lim = np.array(fp.limits_at("ratio", 1.0, rate * n, 0.95, method))
    assert rate_lim == pytest.approx(rate * ratio_lim, rel=1e-9, abs=1e-15)


@pytest.mark.parametrize(
    "kind, target, low, high",
    [("proportion", 0.05, 200, 5_000), ("ratio", 1.0, 5, 500)],
)
def test_null_simulation_puts_about_5_and_0_2_percent_outside(kind, target, low, high):
    # 20,000 units drawn with every true value at the target. Two checks:
    # (1) the exact chance of falling outside, worked out from the distribution unit by unit and
    #     averaged, is within 0.5 point of 5% and 0.07 point of 0.2% (discreteness moves it);
    # (2) the simulated share matches that chance to within 4 standard errors.
    n = np.geomspace(low, high, 20_000)
    n = np.round(n) if kind == "proportion" else n
    dist = stats.binom(n, target) if kind == "proportion" else stats.poisson(target * n)
    y = fp.simulate_null(kind, target, n, np.random.default_rng(20061001))
    for level, nominal, tol in ((0.95, 0.05, 0.005), (0.998, 0.002, 0.0007)):
        lo, hi = fp.limits_at(kind, target, n, level, "exact")
        p_out = dist.sf(np.floor(hi * n + 1e-9)) + dist.cdf(np.ceil(lo * n - 1e-9) - 1)
        assert abs(p_out.mean() - nominal) < tol
        simulated = np.mean((y / n > hi) | (y / n < lo))
        se = np.sqrt(p_out.mean() * (1 - p_out.mean()) / n.size)
        assert abs(simulated - p_out.mean()) < 4 * se


def test_null_flags_through_funnel_with_pooled_target():
    n = np.round(np.geomspace(300, 3_000, 5_000))
    y = fp.simulate_null("proportion", 0.05, n, 7)
    result = fp.funnel("proportion", y, n)
    share = result.units["flag"].value_counts(normalize=True)
    outside_95 = 1 - share.get(fp.FLAG_WITHIN, 0)
    alarms = share.get(fp.FLAG_ABOVE_ALARM, 0) + share.get(fp.FLAG_BELOW_ALARM, 0)
    assert 0.04 < outside_95 < 0.06  # SE 0.3 point at 5,000 units
    assert alarms < 0.005


def test_phi_near_one_under_the_null_without_winsorising():
    n = np.round(np.geomspace(300, 3_000, 20_000))
    y = fp.simulate_null("proportion", 0.05, n, 11)
    z = (y / n - 0.05) / fp.standard_error("proportion", 0.05, n)
    # Mean of z^2 for 20,000 near-normal z: 1 with SE about sqrt(2 / 20,000) = 0.01.
    assert fp.dispersion_phi(z, winsorise_by=0) == pytest.approx(1.0, abs=0.05)
    # Winsorising 10% at each end shrinks it. For standard normal z with c = 1.2816 (90th pct):
    # E = (0.8 - 2 x 1.2816 x 0.17550) + 0.2 x 1.2816^2 = 0.35016 + 0.32850 = 0.679.
    assert fp.dispersion_phi(z) == pytest.approx(0.679, abs=0.03)


def test_phi_above_one_with_overdispersed_data():
    rng = np.random.default_rng(3)
    n = np.full(2_000, 400)
    true_p = rng.beta(0.049 * 80, 0.951 * 80, n.size)  # practice rates vary (SD ~2.4 points)
    y = rng.binomial(n, true_p)
    result = fp.funnel("proportion", y, n)
    # Var of the count share = p(1-p)/n + Var(p); phi ~ 1 + 400 x Var(p)/(p(1-p)) ~ 1 + 400/81
    # = 5.9 before winsorising, so comfortably above 1 after it.
    assert result.phi > 2
    assert result.tau2 > 0


def test_data_prescribing_errors_2006_07_are_overdispersed():
    rows = data.load_safety().query("financial_year == '2006/07'")
    result = fp.funnel(
        "proportion", rows["prescribing_errors"], rows["items_checked"], units=rows["practice_id"]
    )
    assert result.phi > 1  # the data README: the rate varies more than chance alone explains
    # Unwinsorised phi equals the generator's own calibration measure (independent code).
    z = result.units["z"].to_numpy()
    assert fp.dispersion_phi(z, winsorise_by=0) == pytest.approx(synth.dispersion_phi(rows))
    adjusted = fp.funnel(
        "proportion", rows["prescribing_errors"], rows["items_checked"], adjustment="additive"
    )
    flagged = (result.units["flag"] != fp.FLAG_WITHIN).sum()
    assert (adjusted.units["flag"] != fp.FLAG_WITHIN).sum() < flagged


def test_data_incident_rate_matches_reporting_completeness():
    rows = data.load_safety()
    result = fp.funnel("rate", rows["incidents_reported"], rows["consultations"], per=100_000)
    # data README: true 16 per 100,000 x about 12% reported ~ 1.9 reported per 100,000.
    assert 1.9 * 0.65 < result.target < 1.9 * 1.35
    assert set(result.units["flag"]) <= set(fp.FLAGS)


def test_tau2_hand_computed_and_zero_when_phi_at_most_one():
    # s = (0.1, 0.2): w = (100, 25); sum w = 125; sum w^2 = 10,625; 10,625 / 125 = 85.
    # phi = 2, I = 2: tau2 = (2 x 2 - 1) / (125 - 85) = 3 / 40 = 0.075.
    assert fp.tau_squared(2.0, [0.1, 0.2]) == pytest.approx(0.075)
    # phi = 0.9: the formula alone would give (1.8 - 1) / 40 = 0.02 > 0, but phi <= 1 means no
    # overdispersion, so tau2 is 0.
    assert fp.tau_squared(0.9, [0.1, 0.2]) == 0.0
    assert fp.tau_squared(1.0, [0.1, 0.2]) == 0.0


def test_multiplicative_limits_hand_computed():
    # phi = 4: 95% limits at E = 100 are 1 +/- 1.959964 x sqrt(4) x 0.1 = 1 +/- 0.391993.
    low, high = fp.limits_at("ratio", 1.0, 100, 0.95, "normal", phi=4.0)
    assert (low, high) == pytest.approx((0.608007, 1.391993), abs=1e-6)
    # phi below 1 never narrows the limits.
    assert fp.limits_at("ratio", 1.0, 100, 0.95, "normal", phi=0.5) == pytest.approx(
        fp.limits_at("ratio", 1.0, 100, 0.95, "normal")
    )
    # Additive: 1 +/- 1.959964 x sqrt(0.01 + 0.03) = 1 +/- 0.391993 (same width by design).
    low, high = fp.limits_at("ratio", 1.0, 100, 0.95, "normal", tau2=0.03)
    assert (low, high) == pytest.approx((0.608007, 1.391993), abs=1e-6)


def test_winsorise_hand_case():
    z = np.arange(1.0, 11.0)  # 1..10; numpy's 10th and 90th percentiles are 1.9 and 9.1
    assert fp.winsorise(z, 0.1) == pytest.approx([1.9, 2, 3, 4, 5, 6, 7, 8, 9, 9.1])
    assert fp.winsorise(z, 0.0) == pytest.approx(z)


def test_adjustment_only_when_phi_above_one():
    n = np.full(500, 1_000)
    y = fp.simulate_null("proportion", 0.05, n, 5)  # null, so winsorised phi ~ 0.68
    result = fp.funnel("proportion", y, n, adjustment="multiplicative")
    assert result.phi < 1
    assert result.limits_used == "exact" and "not widened" in result.note
    assert set(result.limits["adjustment"]) == {"none"}


def test_funnel_units_table_hand_case_for_referrals_o_e():
    # Demand-management use: observed v expected referrals. E = 100 each.
    # O = 100 -> 1.0 within; O = 125 -> z = 2.5: above 95% (the exact 99.8% limit is ~1.32);
    # O = 140 -> z = 4: alarm; O = 65 -> z = -3.5: below 99.8%.
    result = fp.funnel("ratio", [100, 125, 140, 65], [100.0] * 4, units=["A", "B", "C", "D"], per=1)
    units = result.units.set_index("unit")
    assert units["value"].tolist() == pytest.approx([1.0, 1.25, 1.4, 0.65])
    assert units["z"].tolist() == pytest.approx([0.0, 2.5, 4.0, -3.5])
    assert units["flag"].tolist() == [
        fp.FLAG_WITHIN,
        fp.FLAG_ABOVE_ALERT,
        fp.FLAG_ABOVE_ALARM,
        fp.FLAG_BELOW_ALARM,
    ]
    assert result.target == 1.0 and (units["expected"] == 100).all()


def test_flags_agree_with_the_limits_in_the_table():
    rng = np.random.default_rng(9)
    n = rng.integers(100, 2_000, 400)
    y = rng.binomial(n, rng.beta(4, 60, n.size))
    u = fp.funnel("proportion", y, n, per=100).units
    v = u["value"]
    above_alarm = v > u["upper_99_8"]
    above_alert = (v > u["upper_95"]) & ~above_alarm
    below_alarm = v < u["lower_99_8"]
    assert (u.loc[above_alarm, "flag"] == fp.FLAG_ABOVE_ALARM).all()
    assert (u.loc[above_alert, "flag"] == fp.FLAG_ABOVE_ALERT).all()
    assert (u.loc[below_alarm, "flag"] == fp.FLAG_BELOW_ALARM).all()
    within = (v <= u["upper_95"]) & (v >= u["lower_95"])
    assert (u.loc[within, "flag"] == fp.FLAG_WITHIN).all()
    assert (u["lower_99_8"] <= u["lower_95"]).all() and (u["upper_95"] <= u["upper_99_8"]).all()


def test_a_value_on_a_limit_is_not_flagged():
    # The rule is "strictly beyond": values exactly on the 95% or 99.8% limits stay in.
    flags = fp.flag_units([0.9, 0.1, 0.95, 0.05], 0.1, 0.9, 0.05, 0.95)
    assert flags.tolist() == [
        fp.FLAG_WITHIN,
        fp.FLAG_WITHIN,
        fp.FLAG_ABOVE_ALERT,
        fp.FLAG_BELOW_ALERT,
    ]
    # A practice with no events and a lower limit clipped to 0 cannot be "below".
    result = fp.funnel("proportion", [0, 30], [20, 600])
    assert result.units["lower_95"].iloc[0] == 0 and result.units["flag"].iloc[0] == fp.FLAG_WITHIN


def test_rate_kind_display_scale_hand_case():
    # 5 incidents in 20,000 consultations = 25 per 100,000; against a target of 16 per 100,000
    # the expected count is 20,000 x 16 / 100,000 = 3.2 and z = (5 - 3.2) / sqrt(3.2) = 1.0062.
    result = fp.funnel("rate", [5, 1], [20_000, 10_000], target=16, per=100_000)
    row = result.units.iloc[0]
    assert row["value"] == pytest.approx(25.0)
    assert row["expected"] == pytest.approx(3.2)
    assert row["z"] == pytest.approx(1.8 / np.sqrt(3.2))
    assert result.target == pytest.approx(16.0)


def test_limit_curves_are_tidy():
    curves = fp.limit_curves("proportion", 0.05, [100, 200, 400], per=100, phi=2.0, tau2=1e-4)
    assert list(curves.columns) == [
        "denominator",
        "limit",
        "level",
        "side",
        "method",
        "adjustment",
        "value",
    ]
    assert set(curves["limit"]) == {"95% lower", "95% upper", "99.8% lower", "99.8% upper"}
    assert set(curves["method"]) == {"exact", "normal"}
    assert set(curves["adjustment"]) == {"none", "multiplicative phi", "additive tau2"}
    # 4 curve sets (exact, normal, phi, tau2) x 2 levels x 2 sides x 3 denominators.
    assert len(curves) == 4 * 2 * 2 * 3
    upper = curves.query("limit == '95% upper' and method == 'normal'")
    widened = upper.query("adjustment == 'multiplicative phi'")["value"].to_numpy()
    plain = upper.query("adjustment == 'none'")["value"].to_numpy()
    assert (widened > plain).all()


def test_funnel_grid_spans_the_units():
    result = fp.funnel("ratio", [3, 40], [4.0, 50.0], grid_points=50)
    grid = result.limits["denominator"]
    assert grid.min() <= 4.0 and grid.max() >= 50.0
    assert result.limits.groupby(["method", "adjustment", "limit"]).size().eq(50).all()


def test_single_unit_has_no_overdispersion_estimate():
    result = fp.funnel("ratio", [12], [10.0])
    assert result.phi is None and result.tau2 is None
    assert len(result.units) == 1


def test_simulate_null_is_seeded():
    n = np.arange(100, 200)
    a = fp.simulate_null("proportion", 0.1, n, 42)
    b = fp.simulate_null("proportion", 0.1, n, np.random.default_rng(42))
    assert (a == b).all()
    assert not (a == fp.simulate_null("proportion", 0.1, n, 43)).all()


@pytest.mark.parametrize(
    "call, words",
    [
        (lambda: fp.funnel("percent", [1], [10]), "kind must be one of"),
        (lambda: fp.funnel("proportion", [-1, 2], [10, 10]), "whole numbers of 0 or more"),
        (lambda: fp.funnel("proportion", [11, 2], [10, 10]), "events cannot exceed trials"),
        (lambda: fp.funnel("proportion", [1, 2], [10.5, 10]), "whole numbers above 0"),
        (lambda: fp.funnel("ratio", [1, 2], [0, 10]), "above 0"),
        (lambda: fp.funnel("ratio", [1, 2], [1.0]), "numerator has 2 values"),
        (lambda: fp.funnel("ratio", [1], [1.0], units=["a", "b"]), "units has 2 names"),
        (lambda: fp.funnel("ratio", [1], [1.0], method="bayes"), "method must be one of"),
        (lambda: fp.funnel("ratio", [1], [1.0], adjustment="x"), "adjustment must be one of"),
        (lambda: fp.funnel("ratio", [1], [1.0], per=-5), "per must be a number above 0"),
        (lambda: fp.funnel("proportion", [0, 0], [10, 10]), "pooled value is 0"),
        (lambda: fp.funnel("proportion", [1], [10], target=100), "below 1"),
        (lambda: fp.funnel("ratio", [1], [1.0], target="high"), "target must be a number"),
        (lambda: fp.funnel("ratio", np.ones(fp.MAX_UNITS + 1), np.ones(3)), "1 to 100,000"),
        (lambda: fp.winsorise([1, 2, 3], 0.6), "winsorise_by must be"),
        (lambda: fp.dispersion_phi([1.0]), "at least 2 units"),
        (lambda: fp.denominator_grid(10, 5), "is below the smallest"),
        (lambda: fp.denominator_grid(1, 5, fp.MAX_GRID_POINTS + 1), "n_points must be"),
    ],
)
def test_bad_input_messages(call, words):
    with pytest.raises(fp.FunnelError, match=words):
        call()


def test_bad_input_is_a_value_error():
    assert issubclass(fp.FunnelError, ValueError)
