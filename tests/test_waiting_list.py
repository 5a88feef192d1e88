"""Hand-worked queues, queueing theory and invariants for pbc_lib.models.waiting_list.

Validation against theory (numbers in the comments were measured while writing these tests):

- Little's law: time-average list = throughput x mean wait, within 2% on a 208,000-week run.
- M/M/1 (Poisson referrals and Poisson capacity, ρ = 0.8): the weekly model treats a week as a
  short time step (0.25 referrals and 0.3125 removals a step, so the mean wait is 16 steps). It
  lets a patient be treated in the step they arrive, so waits come out about half a step shorter
  than the continuous-time M/M/1 (measured over six seeds: 15.4 against 16.0) and the list a
  little shorter (3.8 against ρ/(1-ρ) = 4). Tolerances: the mean wait within half a step + 3
  standard errors (from the spread between 40 independent runs); the share within the analytic
  50%/90%/95% points within 0.05/0.02/0.02 (measured 0.50-0.55, 0.89-0.91, 0.94-0.96: the
  median point is most affected by the half step); the mean list within 10%.
- The 7.8-week rule: exponential waits with mean 18/ln 10 = 7.82 weeks put 90% within 18.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pbc_lib.models import waiting_list as wl

# --------------------------------------------------------------------------------------------
# Queueing formulas
# --------------------------------------------------------------------------------------------


def test_mean_wait_for_standard_is_the_brief_rule_of_thumb():
    # 18 / ln(10) = 18 / 2.302585 = 7.8173 weeks; 18 / ln(20) = 18 / 2.995732 = 6.0085 weeks.
    assert wl.mean_wait_for_standard(0.90) == pytest.approx(7.8173, abs=1e-4)
    assert wl.mean_wait_for_standard(0.95) == pytest.approx(6.0085, abs=1e-4)
    assert round(wl.mean_wait_for_standard(0.90), 1) == wl.MEAN_WAIT_FOR_90
    assert round(wl.mean_wait_for_standard(0.95), 1) == wl.MEAN_WAIT_FOR_95


def test_exponential_waits_with_mean_7_8_put_90_percent_within_18_weeks():
    # 1 - exp(-18 / 7.8) = 1 - exp(-2.3077) = 1 - 0.09948 = 0.9005.
    assert wl.share_within(7.8) == pytest.approx(0.9005, abs=1e-4)
    # 90th percentile of exponential waits, mean 7.8: 7.8 x ln(10) = 17.96 weeks.
    assert wl.exponential_percentile(7.8, 0.90) == pytest.approx(17.96, abs=0.01)
    assert wl.exponential_percentile(10.0, 0.5) == pytest.approx(10 * math.log(2))


def test_nhsr_waitinglist_worked_examples():
    # calc_relief_capacity(30, 1200, 390, 26) = 30 + (1200 - 390) / 26 = 61.15 patients a week.
    assert wl.relief_capacity(30, 1200, 390, 26) == pytest.approx(61.1538, abs=1e-4)
    # calc_target_capacity(4, 52) with factor 4: 4 + (1 + 1)/2 x 4/52 = 4.0769. A factor of 4
    # is the standard 1 - exp(-4) (mean wait = target / 4 = 13 weeks).
    standard = 1 - math.exp(-4)
    assert wl.target_capacity(4, standard, 52) == pytest.approx(4.0769, abs=1e-4)
    # calc_target_queue_size(30, 52, 4) = 30 x 52 / 4 = 390.
    assert wl.target_queue_size(30, standard, 52) == pytest.approx(390.0)
    # calc_waiting_list_pressure(63, 52) = 2 x 63 / 52 = 2.4231.
    assert wl.waiting_list_pressure(63, 52) == pytest.approx(2.4231, abs=1e-4)
    assert wl.queue_load(30, 27) == pytest.approx(30 / 27)


def test_mm1_formulas_and_the_list_exploding_near_full_load():
    assert wl.mm1_mean_list(0.8) == pytest.approx(4.0)  # 0.8 / 0.2
    assert wl.mm1_mean_list(0.99) == pytest.approx(99.0)
    assert math.isinf(wl.mm1_mean_list(1.0))
    # Exponential sojourn with rate mu - lambda = 0.5: P(wait <= 2) = 1 - e^-1 = 0.6321.
    assert wl.mm1_wait_share(2, 1.0, 1.5) == pytest.approx(1 - math.exp(-1))
    with pytest.raises(wl.WaitingListError, match="stable only"):
        wl.mm1_wait_share(2, 2.0, 1.5)


@given(st.floats(0.5, 0.995), st.floats(1.0, 52.0))
@settings(max_examples=40, deadline=None)
def test_exponential_formulas_invert_each_other(standard, target):
    mean = wl.mean_wait_for_standard(standard, target)
    assert wl.share_within(mean, target) == pytest.approx(standard, rel=1e-9)
    assert wl.exponential_percentile(mean, standard) == pytest.approx(target, rel=1e-9)
    assert wl.target_capacity(10, standard, target) > 10  # variability always costs capacity


# --------------------------------------------------------------------------------------------
# Inputs
# --------------------------------------------------------------------------------------------


def test_weekly_capacity_repeats_holidays_each_year():
    cap = wl.weekly_capacity(100, weeks=60, holiday_weeks=(0, 7), holiday_capacity=0.5)
    assert cap.shape == (60,)
    reduced = np.flatnonzero(cap < 100)
    assert list(reduced) == [0, 7, 52, 59]  # weeks 0 and 7 of years one and two
    assert cap[reduced].tolist() == [50.0] * 4


def test_start_list_from_waits_counts_whole_weeks():
    # Waits 0.2, 0.9 -> week 0; 2.5 -> week 2; 2.99 -> week 2; 5 -> week 5.
    counts = wl.start_list_from_waits([0.2, 0.9, 2.5, 2.99, 5.0])
    assert counts.tolist() == [2, 0, 2, 0, 0, 1]


def test_steady_start_list_has_the_size_and_the_mean_wait():
    counts = wl.steady_start_list(1000, 8.0)
    assert counts.sum() == pytest.approx(1000)
    # Binned exponential waits, mean W = 8: E[floor(X)] = 1 / (e^(1/8) - 1) = 7.5104, so the
    # mean of the bin mid-points is 7.5104 + 0.5 = 8.0104.
    mean = np.average(np.arange(counts.size) + 0.5, weights=counts)
    assert mean == pytest.approx(8.0104, abs=1e-4)


# --------------------------------------------------------------------------------------------
# Hand-worked small lists
# --------------------------------------------------------------------------------------------
HAND = dict(referral_noise="fixed", capacity_noise="fixed")


def test_hand_worked_list_sizes_and_waits():
    # 3 referrals a week; capacity 5, 0, 0, 5, 5.
    # Week 1: 3 in, 3 out -> list 0. Weeks 2-3: +3 each -> 3, 6. Week 4: 6 + 3 - 5 = 4.
    # Week 5: 4 + 3 - 5 = 2.
    r = wl.simulate_waiting_list(3, [5, 0, 0, 5, 5], weeks=5, **HAND)
    assert r.list_size[0].tolist() == [0, 3, 6, 4, 2]
    assert r.treated[0].tolist() == [3, 0, 0, 5, 5]
    waits = r.patient_waits()
    # Patients 1-3 arrive and leave evenly through week 1: wait 0.
    assert waits[:3] == pytest.approx([0, 0, 0], abs=1e-9)
    # Patient 4 (height 3.5) arrived in week 2 at 1 + 0.5/3 = 1.1667 and left in week 4 at
    # 3 + 0.5/5 = 3.1: wait 1.9333.
    assert waits[3] == pytest.approx(3.1 - (1 + 0.5 / 3))
    # Week 4 treats heights 3-8: waits fall from 2.0 (height 3) to 1.6 (height 6) to 1.333 (8);
    # the median point is height 5.5: 2 - 2.5 x (1/3 - 1/5) = 1.6667.
    table = r.table()
    assert table.loc[3, "treated_median"] == pytest.approx(5 / 3)
    # Still waiting at the end of week 4: heights 8-12; the median (height 10) joined at
    # 3 + 1/3, so has waited 4 - 3.3333 = 0.6667 weeks.
    assert table.loc[3, "waiting_median"] == pytest.approx(2 / 3)
    assert np.isnan(table.loc[1, "treated_median"])  # nobody treated in week 2
    assert table["treated_meets"].isna().tolist() == [False, True, True, False, False]


def test_starting_list_is_treated_oldest_first():
    # 4 patients who have waited 2-3 weeks (arrived evenly over (-3, -2]); no referrals;
    # capacity 2 a week. Week 1 treats heights 0-2: joined at -3 + h/4, left at h/2, so waits
    # run 3 + h/4 from 3.0 to 3.5, median 3.25. Week 2 treats heights 2-4: waits 3.5 to 4.0,
    # median 3.75.
    r = wl.simulate_waiting_list(0, 2, weeks=3, start_list=[0, 0, 4], **HAND)
    assert r.list_size[0].tolist() == [2, 0, 0]
    table = r.table()
    assert table.loc[0, "treated_median"] == pytest.approx(3.25)
    assert table.loc[1, "treated_median"] == pytest.approx(3.75)
    assert r.patient_waits().tolist() == pytest.approx([3.125, 3.375, 3.625, 3.875])


def test_clock_offset_adds_to_every_wait_and_counts_against_the_target():
    base = wl.simulate_waiting_list(0, 2, weeks=2, start_list=[0, 0, 4], **HAND)
    later = wl.simulate_waiting_list(0, 2, 2, start_list=[0, 0, 4], clock_offset=15.5, **HAND)
    assert later.patient_waits() == pytest.approx(base.patient_waits() + 15.5)
    assert later.treated_waits[:, 0, 0] == pytest.approx(base.treated_waits[:, 0, 0] + 15.5)
    # Week 1 waits run 18.5-19.0 on the clock: none within 18 weeks; without the offset all are.
    assert later.treated_within[0, 0] == 0.0
    assert base.treated_within[0, 0] == 1.0


def test_pooled_share_weights_weeks_by_patients_treated():
    # Week 1 treats the 4 patients waiting 20 weeks (none within 18); weeks 2-3 treat 2 new
    # patients each who waited under a week (all within). Weeks 1-3: 4 of 8 within = 0.5.
    start = [0] * 20 + [4]
    r = wl.simulate_waiting_list([0, 2, 2], [4, 2, 2], weeks=3, start_list=start, **HAND)
    assert r.treated[0].tolist() == [4, 2, 2]
    assert r.pooled_within(1, 3)[0] == pytest.approx(0.5)
    assert r.pooled_within(2, 3)[0] == pytest.approx(1.0)


# --------------------------------------------------------------------------------------------
# Queueing theory on long runs
# --------------------------------------------------------------------------------------------
LAMBDA, MU, STEPS, RUNS, BURN = 0.25, 0.3125, 5200, 40, 300


@pytest.fixture(scope="module")
def mm1():
    """Poisson referrals and Poisson capacity at rho = 0.8, 40 runs of 5,200 steps (~1.5 s)."""
    r = wl.simulate_waiting_list(
        LAMBDA, MU, STEPS, runs=RUNS, capacity_noise="poisson", referral_noise="poisson", seed=4
    )
    waits, means = [], []
    for run in range(RUNS):
        w = r.patient_waits(run)[int(r.cum_treated[run, r.start_weeks + BURN]) :]
        waits.append(w)
        means.append(w.mean())
    return r, np.concatenate(waits), np.array(means)


def test_littles_law_list_equals_throughput_times_wait(mm1):
    r, waits, _ = mm1
    q = r.list_size[:, BURN:]
    before = r.list_size[:, BURN - 1 : -1]
    time_average = ((q + before) / 2).mean()  # the list is a straight line within each step
    throughput = r.treated[:, BURN:].sum() / (RUNS * (STEPS - BURN))
    assert time_average == pytest.approx(throughput * waits.mean(), rel=0.02)


def test_mm1_mean_wait_and_mean_list(mm1):
    r, waits, means = mm1
    analytic = 1 / (MU - LAMBDA)  # 16 steps
    se = means.std(ddof=1) / np.sqrt(RUNS)
    assert abs(waits.mean() - (analytic - 0.5)) < 3 * se + 0.5
    assert r.list_size[:, BURN:].mean() == pytest.approx(LAMBDA / (MU - LAMBDA), rel=0.10)


def test_mm1_wait_distribution_is_exponential(mm1):
    _, waits, _ = mm1
    rate = MU - LAMBDA
    for p, tol in ((0.50, 0.05), (0.90, 0.02), (0.95, 0.02)):
        point = -math.log(1 - p) / rate  # analytic p-th percentile of Exp(mu - lambda)
        assert np.mean(waits <= point) == pytest.approx(p, abs=tol)


def test_mean_wait_of_7_8_weeks_gives_90_percent_within_18_weeks(mm1):
    # Read the M/M/1 run with a step of 7.8/16 weeks, so its mean wait (16 steps) is 7.8 weeks:
    # 18 weeks is then 18 x 16/7.8 = 36.9 steps, and ~90% of waits should be within it.
    _, waits, _ = mm1
    steps_per_week = (1 / (MU - LAMBDA)) / 7.8
    assert np.mean(waits <= 18 * steps_per_week) == pytest.approx(0.90, abs=0.02)


def test_list_explodes_as_demand_reaches_capacity():
    out = wl.list_size_by_load(100, loads=(0.5, 0.9, 0.98, 1.02), weeks=104, runs=60, seed=3)
    medians = out["list_median"].to_numpy()
    assert np.all(np.diff(medians) >= 0)
    # Above capacity the list grows by about 2 a week: 104 x 2 = 208 after two years, plus the
    # random walk's spread; well above the stable loads.
    assert 100 < medians[-1] < 400
    assert out["mm1_list"].tolist()[:3] == pytest.approx([1.0, 9.0, 49.0])
    assert math.isinf(out["steady_list"].iloc[-1])


# --------------------------------------------------------------------------------------------
# Capacity needed
# --------------------------------------------------------------------------------------------
START_20 = [0] * 20 + [1000]  # 1,000 patients who have each waited 20-21 weeks


def test_capacity_needed_to_clear_a_backlog_hand_worked():
    # 50 new referrals a week. For 90% of week 10's patients to be within 18 weeks, at most
    # 10% of them may be from the backlog: 1000 - 9c <= 0.1c, so c >= 1000 / 9.1 = 109.9.
    # Tolerance 0.5: the share is read at 40 points a week, so it can be off by up to 1/40,
    # worth about 0.3 a week of capacity here (d share / dc = 1000 / c^2 = 0.083).
    c = wl.capacity_needed(50, 0.90, by_week=10, start_list=START_20, window=1, **HAND)
    assert c == pytest.approx(1000 / 9.1, abs=0.5)


def test_capacity_needed_for_the_waiting_list_view_hand_worked():
    # At the end of week 10, 500 new patients wait (none treated while the backlog lasts) and
    # 1000 - 10c backlog patients (all over 18 weeks). 500 / (500 + 1000 - 10c) >= 0.92 needs
    # 1000 - 10c <= 43.48, so c >= 95.65.
    c = wl.capacity_needed(50, 0.92, 10, START_20, measure="waiting", **HAND)
    assert c == pytest.approx(95.65, abs=0.5)


def test_capacity_needed_meets_the_standard_and_a_bit_less_does_not():
    start = wl.steady_start_list(3000, 20)
    c = wl.capacity_needed(100, 0.90, 52, start, window=4, seed=5)
    assert c > 100
    met = wl.simulate_waiting_list(100, c, 52, start_list=start, seed=5).pooled_within(49, 52)
    short = wl.simulate_waiting_list(100, 0.97 * c, 52, start_list=start, seed=5)
    assert met[0] >= 0.90
    assert short.pooled_within(49, 52)[0] < 0.90


# --------------------------------------------------------------------------------------------
# Two stages
# --------------------------------------------------------------------------------------------


def test_rtt_hand_worked_admitted_pathway():
    # 4 referrals a week; outpatient capacity 5, 0, 0, 5, 5, 5; half of those seen join the
    # admitted list; 1 admission a week; 2 already on the admitted list, referred 2-3 weeks ago.
    r = wl.simulate_rtt(
        4, [5, 0, 0, 5, 5, 5], 1, weeks=6, admitted_share=0.5, ip_start=[0, 0, 2], **HAND
    )
    table = r.table()
    # Admitted list: 2 + 2 joined - 1 admitted = 3 at the end of week 1.
    assert table.loc[0, "ip_list"] == pytest.approx(3)
    # Week 1 admits the oldest: referred at -3 + j/2 (j in 0-1), admitted at j: waits 3-3.5.
    assert table.loc[0, "admitted_median"] == pytest.approx(3.25)
    # Week 3 admits j = 2-3: joined after outpatients in week 1 (referred at (j-2)/2, admitted
    # at 2 + (j-2)): waits 2 + (j-2)/2, median 2.25.
    assert table.loc[2, "admitted_median"] == pytest.approx(2.25)
    # Still waiting at the end of week 1: 1 patient on 3-3.5 weeks and 2 on 0-1 week; the
    # median point is three-quarters of the way through the 0-1 group: 0.75.
    assert table.loc[0, "incomplete_median"] == pytest.approx(0.75)


def test_rtt_with_ample_admitted_capacity_adds_no_wait():
    kw = dict(weeks=30, op_start=wl.steady_start_list(400, 5), seed=2)
    r = wl.simulate_rtt(50, 52, 1e5, **kw)
    both = ~np.isnan(r.admitted_waits[0]) & ~np.isnan(r.non_admitted_waits[0])
    assert both.sum() > 20
    # Admitted patients go straight in: the same waits as at outpatients (within the grid).
    assert r.admitted_waits[0][both] == pytest.approx(r.non_admitted_waits[0][both], abs=0.1)


@given(
    st.floats(5, 60),
    st.floats(5, 60),
    st.floats(1, 20),
    st.floats(0.05, 0.6),
    st.integers(0, 10_000),
)
@settings(max_examples=20, deadline=None)
def test_rtt_conservation(referrals, op_capacity, ip_capacity, share, seed):
    r = wl.simulate_rtt(referrals, op_capacity, ip_capacity, 20, admitted_share=share, seed=seed)
    assert r.referrals.sum() == pytest.approx(r.op_treated.sum() + r.op_list[0, -1])
    assert r.ip_joined.sum() == pytest.approx(share * r.op_treated.sum())
    assert r.ip_joined.sum() == pytest.approx(r.ip_treated.sum() + r.ip_list[0, -1])
    admitted = r.admitted_within[~np.isnan(r.admitted_within)]
    assert np.all((admitted >= 0) & (admitted <= 1))


# --------------------------------------------------------------------------------------------
# Invariants and properties
# --------------------------------------------------------------------------------------------


@given(
    referrals=st.floats(0, 200),
    capacity=st.floats(0, 200),
    start=st.lists(st.floats(0, 50), max_size=30),
    cv=st.floats(0, 0.5),
    seed=st.integers(0, 10_000),
)
@settings(max_examples=30, deadline=None)
def test_conservation_and_bounds(referrals, capacity, start, cv, seed):
    r = wl.simulate_waiting_list(
        referrals, capacity, 26, start_list=start, referral_cv=cv, runs=3, seed=seed
    )
    held = float(np.sum(start))
    # Everyone who joined is treated or still waiting.
    assert held + r.referrals.sum(axis=1) == pytest.approx(
        r.treated.sum(axis=1) + r.list_size[:, -1]
    )
    assert np.all(r.list_size >= -1e-9)
    assert np.all(r.treated <= r.capacity + 1e-9)
    for pct in (r.treated_waits, r.waiting_waits):
        ok = ~np.isnan(pct[0])
        assert np.all(pct[0][ok] <= pct[1][ok] + 1e-9) and np.all(pct[1][ok] <= pct[2][ok] + 1e-9)
        assert np.all(pct[0][ok] >= -1e-9)


@given(st.floats(20, 120), st.floats(1.01, 1.5), st.integers(0, 10_000))
@settings(max_examples=25, deadline=None)
def test_more_capacity_never_lengthens_the_list(referrals, extra, seed):
    # Common random numbers: the same seed draws the same uniforms, and Poisson counts by inverse
    # transform never fall when the mean rises.
    kw = dict(weeks=40, capacity_noise="poisson", referral_cv=0.1, seed=seed)
    low = wl.simulate_waiting_list(referrals, referrals, **kw)
    high = wl.simulate_waiting_list(referrals, referrals * extra, **kw)
    assert np.all(high.list_size <= low.list_size + 1e-9)
    assert np.all(high.capacity >= low.capacity)
    assert np.all(high.waiting_within[~np.isnan(high.waiting_within)] >= 0)


def test_same_seed_same_result_and_runs_differ():
    a = wl.simulate_waiting_list(50, 52, 30, runs=4, seed=11)
    b = wl.simulate_waiting_list(50, 52, 30, runs=4, seed=11)
    c = wl.simulate_waiting_list(50, 52, 30, runs=4, seed=12)
    assert np.array_equal(a.referrals, b.referrals) and np.array_equal(a.list_size, b.list_size)
    assert not np.array_equal(a.referrals, c.referrals)
    assert not np.array_equal(a.referrals[0], a.referrals[1])
    table = a.table(0.5)
    assert np.all(table["list_size_low"] <= table["list_size"])
    assert np.all(table["list_size"] <= table["list_size_high"])


def test_fixed_demand_below_capacity_never_queues():
    r = wl.simulate_waiting_list(40, 50, 52, **HAND)
    assert np.all(r.list_size == 0)
    assert np.nanmax(r.treated_waits) == pytest.approx(0.0, abs=1e-9)


# --------------------------------------------------------------------------------------------
# Bad input: plain-English errors, bounded sizes
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        (dict(referrals=-3, capacity=10), "Referrals must be between 0"),
        (dict(referrals=10, capacity=[10, 10]), "one number per week"),
        (dict(referrals=10, capacity=10, weeks=0), "number of weeks must be from 1"),
        (dict(referrals=10, capacity=10, weeks=5200, runs=100), "runs x weeks may be at most"),
        (dict(referrals=10, capacity=10, referral_noise="normal"), "'fixed' or 'poisson'"),
        (dict(referrals=10, capacity=10, start_list=[-1]), "number ≥ 0"),
        (dict(referrals=10, capacity=10, start_list=[1] * 600), "at most 520 weeks"),
        (dict(referrals=10, capacity=10, seed=None), "seed must be a whole number"),
        (dict(referrals=10, capacity=float("nan")), "Capacity must be between 0"),
    ],
)
def test_bad_input_is_explained(kwargs, words):
    kwargs.setdefault("weeks", 10)
    with pytest.raises(wl.WaitingListError, match=words):
        wl.simulate_waiting_list(**kwargs)


def test_capacity_needed_says_when_the_standard_cannot_be_met():
    with pytest.raises(wl.WaitingListError, match="not met even with"):
        # A patient already waiting 30 weeks is treated in week 1 whatever the capacity.
        wl.capacity_needed(1, 0.99, by_week=1, start_list=[0] * 30 + [100], **HAND)
