"""Waiting lists and the 18-week referral-to-treatment (RTT) standard, week by week.

The 2004 NHS Improvement Plan pledged a maximum of 18 weeks from GP referral to hospital
treatment, for delivery by December 2008. The standards were that 90% of *admitted* and 95% of
*non-admitted* patients completing their pathway had waited 18 weeks or less; a 92% standard for
patients still waiting (incomplete pathways) came later. The clock starts at
referral to a consultant-led service *or* to an interface, referral-management or assessment
service such as ICATS (2010 rules suite). Sources: domain brief §2 "18 weeks" and "Clock rules".

Two kinds of model live here.

1. **Queueing formulas** (Fong et al., medRxiv 2022; the NHS-R ``NHSRwaitinglist`` package):
   load = demand / capacity (the list is stable only below 1); Little's law L = λW; if waits are
   roughly exponential with mean W, the p-th percentile is -W·ln(1-p), so 90% within 18 weeks
   needs W ≤ 18/ln 10 = 7.8 weeks and 95% needs W ≤ 6.0 weeks; target list size, relief capacity,
   target capacity (Kingman's heavy-traffic formula as NHSRwaitinglist applies it) and pressure.
   For an M/M/1 queue the number on the list averages ρ/(1-ρ) and explodes as ρ → 1.
2. **A week-by-week simulation** of one first-come-first-served list: weekly referrals and weekly
   capacity (each fixed, Poisson, or with extra week-to-week variation, all seeded), a starting
   list with the weeks each patient has already waited, holiday weeks. It is vectorised over weeks
   and runs with cumulative sums, with no per-patient Python loop:

   * cumulative referrals A(t) and removals D(t) at each week end, where the list follows the
     Lindley recursion Q(t) = max(0, Q(t-1) + a(t) - c(t)) written in closed form with a running
     minimum (Q = X + max(Q0, -min X), X the cumulative net inflow);
   * between week ends each curve is a straight line (patients arrive and are treated evenly
     through a week), so under first-come-first-served the k-th patient's wait is the horizontal
     distance between the two curves at height k (Newell's cumulative-flow diagram), found with
     ``np.searchsorted``;
   * the waits of those treated in a week are read at evenly spaced points of that week's block
     of patients (``GRID_POINTS``), and those of the patients still waiting likewise.

   A two-stage version (:func:`simulate_rtt`) sends a share of outpatients on to an admitted list,
   so an admitted pathway's wait is the outpatient wait plus the wait for admission, and reports
   the admitted and non-admitted pathways against their own standards.

Validation (tests/test_waiting_list.py): Little's law on long runs; the M/M/1 wait distribution
(exponential with rate μ-λ) when the week is short beside the mean wait; the 7.8-week rule; and
hand-worked small queues. The weekly model lets a patient be treated in the week they are
referred, so against a continuous-time M/M/1 its waits are about half a time step shorter.

Limits. Strict first-come-first-served means everyone treated in one week waited about as long
as each other, so a week's 95th percentile sits close to its median; real lists mix urgent and
routine patients and patient choice, and the spread is wider (Sep 2011: admitted median 8.8
weeks, 95th percentile 22.8 [V]). Read the completed-pathway shares over a month or more
(``pooled_within``) and the still-waiting list, whose spread the model does show. With fixed
("fluid") counts and capacity above demand no list forms at all: lists come from variation in
demand and capacity (Kingman), which the Poisson and ``_cv`` options supply.

Every figure below is tagged [V] seen in a cited source, [D] derived from [V] figures, or [U] an
unverified assumption you can change.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from pbc_lib.models import distributions as dd

# --------------------------------------------------------------------------------------------
# Published figures
# --------------------------------------------------------------------------------------------
RTT_TARGET_WEEKS = 18.0  # [V] NHS Improvement Plan (2004): referral to treatment in 18 weeks
ADMITTED_STANDARD = 0.90  # [V] 90% of admitted (completed) pathways within 18 weeks
NON_ADMITTED_STANDARD = 0.95  # [V] 95% of non-admitted (completed) pathways within 18 weeks
INCOMPLETE_STANDARD = 0.92  # [V] incomplete-pathway standard (92% still waiting < 18 weeks),
# introduced later than the other two
WAIT_PERCENTILES = (0.50, 0.92, 0.95)  # [V] median and 95th published (DH, Sep 2011); 92nd is the
# percentile the incomplete-pathway standard looks at
ADMITTED_SHARE = 311_601 / 1_221_181  # [D] = 0.255: admitted share of completed pathways
# (DH press notice, Sep 2011: 311,601 admitted of 1,221,181 completed)
MEAN_WAIT_FOR_90 = 7.8  # [D] 18 / ln(10) = 7.82 weeks: exponential waits, 90% within 18
MEAN_WAIT_FOR_95 = 6.0  # [D] 18 / ln(20) = 6.01 weeks: exponential waits, 95% within 18
TARGET_QUEUE_FACTOR = 4.0  # [V] Fong et al. 2022 / NHSRwaitinglist: mean wait = target / 4,
# which leaves e^-4 = 1.8% over target [D]
SEP_2011_WAITS = {"admitted": (8.8, 22.8), "non_admitted": (4.5, 16.0)}  # [V] DH, Sep 2011:
# (median, 95th percentile) weeks on completed pathways
RTT_PERFORMANCE = {  # [V] share of admitted pathways within 18 weeks (Hansard, 22 Jan 2008;
    "Dec 2006": 0.35,  # mmlmc summary for late 2009)
    "Oct 2007": 0.60,
    "late 2009": 0.93,
}
NON_ADMITTED_OCT_2007 = 0.77  # [V] Hansard, 22 Jan 2008
HOLIDAY_WEEKS = (0, 7, 17, 18, 19, 20, 37, 38)  # [U] weeks of an April-start year with reduced
# clinics: Easter, late-May bank holiday, four weeks of August leave, Christmas and New Year
HOLIDAY_CAPACITY = 0.6  # [U] share of a normal week's capacity in a holiday week

# --------------------------------------------------------------------------------------------
# Limits: every control in an app is bounded, and no input can make the kernel allocate without
# limit. ``MAX_CELLS`` caps runs x weeks; the week-level wait statistics are worked out in chunks.
# --------------------------------------------------------------------------------------------
MAX_WEEKS = 5_200  # 100 years: long enough for steady-state checks
MAX_RUNS = 2_000
MAX_CELLS = 260_000  # runs x weeks
MAX_START_WEEKS = 520  # a starting list may go back 10 years
MAX_WEEKLY = 1_000_000.0  # referrals or capacity in one week
MAX_START_PATIENTS = 10_000_000
MAX_PATIENT_WAITS = 2_000_000  # patient-level waits returned at once
GRID_POINTS = 40  # points read in each week's block of patients
CHUNK_CELLS = 5_000  # runs x weeks per chunk of the wait statistics (memory ~ 40 x 5,000 floats)
BISECTION_STEPS = 50

Noise = Literal["fixed", "poisson"]


class WaitingListError(ValueError):
    """An input to the waiting-list model is out of range or the wrong shape."""


# --------------------------------------------------------------------------------------------
# Checking inputs
# --------------------------------------------------------------------------------------------
def _number(name: str, value: float, low: float, high: float, *, open_low: bool = False) -> float:
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise WaitingListError(f"{name} must be a number; got {value!r}.") from None
    below = value <= low if open_low else value < low
    if not np.isfinite(value) or below or value > high:
        side = "above" if open_low else "at least"
        raise WaitingListError(
            f"{name} must be a number {side} {low:g} and at most {high:g}; got {value:g}."
        )
    return value


def _whole(name: str, value: int, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise WaitingListError(f"{name} must be a whole number; got {value!r}.")
    if not low <= value <= high:
        raise WaitingListError(f"{name} must be from {low:,} to {high:,}; got {value:,}.")
    return int(value)


def _weekly(name: str, value: float | np.ndarray, weeks: int) -> np.ndarray:
    """A scalar or one value per week, as a float array of length ``weeks``, each 0-MAX_WEEKLY."""
    arr = np.asarray(value, dtype=float)
    if arr.ndim == 0:
        arr = np.full(weeks, float(arr))
    if arr.ndim != 1 or arr.size != weeks:
        raise WaitingListError(
            f"{name} must be one number or one number per week ({weeks}); got shape {arr.shape}."
        )
    bad = ~np.isfinite(arr) | (arr < 0) | (arr > MAX_WEEKLY)
    if bad.any():
        week = int(np.argmax(bad))
        raise WaitingListError(
            f"{name} must be between 0 and {MAX_WEEKLY:,.0f} a week; week {week + 1} has "
            f"{arr[week]:g}."
        )
    return arr


def _start_counts(start_list: np.ndarray | list | None) -> np.ndarray:
    """Patients already waiting, by whole weeks waited (index 0 = under a week)."""
    if start_list is None:
        return np.zeros(0)
    counts = np.asarray(start_list, dtype=float)
    if counts.ndim != 1 or counts.size > MAX_START_WEEKS:
        raise WaitingListError(
            "The starting list must be a list of patient counts by weeks already waited, at most "
            f"{MAX_START_WEEKS} weeks long; got shape {counts.shape}."
        )
    if (~np.isfinite(counts) | (counts < 0)).any():
        raise WaitingListError("Every count in the starting list must be a number ≥ 0.")
    if counts.sum() > MAX_START_PATIENTS:
        raise WaitingListError(
            f"The starting list may hold at most {MAX_START_PATIENTS:,} patients; "
            f"got {counts.sum():,.0f}."
        )
    return np.trim_zeros(counts, "b")


def _rng(seed: int | np.random.Generator | None) -> np.random.Generator:
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is None or isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise WaitingListError(f"seed must be a whole number or a numpy Generator; got {seed!r}.")
    return np.random.default_rng(int(seed))


# --------------------------------------------------------------------------------------------
# 1. Queueing formulas
# --------------------------------------------------------------------------------------------
def queue_load(demand: float, capacity: float) -> float:
    """Load ρ = demand / capacity; a list is stable only when ρ < 1 (Fong et al. 2022)."""
    demand = _number("Demand", demand, 0.0, MAX_WEEKLY)
    capacity = _number("Capacity", capacity, 0.0, MAX_WEEKLY, open_low=True)
    return demand / capacity


def mean_wait_for_standard(
    standard: float = ADMITTED_STANDARD, target_weeks: float = RTT_TARGET_WEEKS
) -> float:
    """Largest mean wait W that meets ``standard`` if waits are exponential: -target / ln(1-p).

    With the defaults, 18 / ln(10) = 7.82 weeks (the brief's 7.8-week rule); 0.95 gives 6.01.
    """
    standard = _number("The standard", standard, 0.0, 0.999999, open_low=True)
    target_weeks = _number("The target wait", target_weeks, 0.0, 520.0, open_low=True)
    return -target_weeks / np.log1p(-standard)


def exponential_percentile(mean_wait: float, percentile: float) -> float:
    """The p-th percentile of exponential waits with mean W: -W·ln(1-p) (brief formula 5)."""
    mean_wait = _number("The mean wait", mean_wait, 0.0, 10_000.0)
    percentile = _number("The percentile", percentile, 0.0, 0.999999)
    return -mean_wait * np.log1p(-percentile)


def share_within(mean_wait: float, target_weeks: float = RTT_TARGET_WEEKS) -> float:
    """Share of exponential waits with mean W that are within the target: 1 - exp(-target/W)."""
    mean_wait = _number("The mean wait", mean_wait, 0.0, 10_000.0, open_low=True)
    target_weeks = _number("The target wait", target_weeks, 0.0, 520.0)
    return float(-np.expm1(-target_weeks / mean_wait))


def target_queue_size(
    demand: float, standard: float = ADMITTED_STANDARD, target_weeks: float = RTT_TARGET_WEEKS
) -> float:
    """List size at which a steady list meets the standard: demand x target mean wait (Little).

    NHSRwaitinglist uses a mean wait of target/4 (about 98.2% within target); here the mean wait
    comes from the standard itself (:func:`mean_wait_for_standard`).
    """
    demand = _number("Demand", demand, 0.0, MAX_WEEKLY)
    return demand * mean_wait_for_standard(standard, target_weeks)


def relief_capacity(
    demand: float, queue_size: float, target_size: float, weeks: float = 26.0
) -> float:
    """Weekly capacity that brings a list down to ``target_size`` in ``weeks``.

    demand + (queue_size - target_size) / weeks (NHSRwaitinglist ``calc_relief_capacity``).
    """
    demand = _number("Demand", demand, 0.0, MAX_WEEKLY)
    queue_size = _number("The list size", queue_size, 0.0, MAX_START_PATIENTS)
    target_size = _number("The target list size", target_size, 0.0, MAX_START_PATIENTS)
    weeks = _number("The number of weeks", weeks, 0.0, MAX_WEEKS, open_low=True)
    return demand + (queue_size - target_size) / weeks


def target_capacity(
    demand: float,
    standard: float = ADMITTED_STANDARD,
    target_weeks: float = RTT_TARGET_WEEKS,
    cv_demand: float = 1.0,
    cv_capacity: float = 1.0,
) -> float:
    """Weekly capacity that holds a steady list at the standard's mean wait (Kingman's formula).

    demand + (cv_d² + cv_c²)/2 / W, with W from :func:`mean_wait_for_standard` and the
    coefficients of variation of the times between referrals and between removals (1 and 1 for
    an M/M/1 queue, where this is exact: W = 1/(μ-λ)). As NHSRwaitinglist applies it.
    """
    demand = _number("Demand", demand, 0.0, MAX_WEEKLY)
    cv_demand = _number("The variation in demand", cv_demand, 0.0, 10.0)
    cv_capacity = _number("The variation in capacity", cv_capacity, 0.0, 10.0)
    wait = mean_wait_for_standard(standard, target_weeks)
    return demand + (cv_demand**2 + cv_capacity**2) / 2 / wait


def waiting_list_pressure(mean_wait: float, target_weeks: float = RTT_TARGET_WEEKS) -> float:
    """2 x mean wait / target; above 1 the list will probably miss its target (NHSRwaitinglist)."""
    mean_wait = _number("The mean wait", mean_wait, 0.0, 10_000.0)
    target_weeks = _number("The target wait", target_weeks, 0.0, 520.0, open_low=True)
    return 2 * mean_wait / target_weeks


def mm1_mean_list(load: float) -> float:
    """Mean number on an M/M/1 list (waiting or being treated): ρ/(1-ρ); infinite at ρ ≥ 1."""
    load = _number("The load", load, 0.0, 100.0)
    return np.inf if load >= 1 else load / (1 - load)


def mm1_wait_share(weeks: float, arrival_rate: float, service_rate: float) -> float:
    """P(wait ≤ weeks) for an M/M/1 first-come-first-served list: 1 - exp(-(μ-λ)·weeks).

    The time from joining the list to leaving it is exponential with rate μ-λ (mean 1/(μ-λ)).
    """
    weeks = _number("The wait", weeks, 0.0, 10_000.0)
    lam = _number("The arrival rate", arrival_rate, 0.0, MAX_WEEKLY)
    mu = _number("The service rate", service_rate, 0.0, MAX_WEEKLY, open_low=True)
    if lam >= mu:
        raise WaitingListError(
            f"The list is stable only when arrivals ({lam:g}) are fewer than services ({mu:g})."
        )
    return float(-np.expm1(-(mu - lam) * weeks))


# --------------------------------------------------------------------------------------------
# 2. Inputs for the simulation
# --------------------------------------------------------------------------------------------
def weekly_capacity(
    capacity: float,
    weeks: int = 104,
    holiday_weeks: tuple[int, ...] = HOLIDAY_WEEKS,
    holiday_capacity: float = HOLIDAY_CAPACITY,
) -> np.ndarray:
    """A capacity per week: ``capacity`` in normal weeks, a share of it in holiday weeks.

    ``holiday_weeks`` are counted from 0 within each 52-week year and repeat every year.
    """
    capacity = _number("Capacity", capacity, 0.0, MAX_WEEKLY)
    weeks = _whole("The number of weeks", weeks, 1, MAX_WEEKS)
    holiday_capacity = _number("The holiday share of capacity", holiday_capacity, 0.0, 1.0)
    if any(not 0 <= int(w) < 52 for w in holiday_weeks):
        raise WaitingListError(f"Holiday weeks must be from 0 to 51; got {list(holiday_weeks)}.")
    out = np.full(weeks, capacity)
    out[np.isin(np.arange(weeks) % 52, np.asarray(holiday_weeks, dtype=int))] *= holiday_capacity
    return out


def start_list_from_waits(waits: np.ndarray | list) -> np.ndarray:
    """Counts by whole weeks already waited (index 0 = under a week) from each patient's wait."""
    waits = np.asarray(waits, dtype=float)
    if waits.ndim != 1 or waits.size > MAX_START_PATIENTS:
        raise WaitingListError(f"Give one wait per patient (at most {MAX_START_PATIENTS:,}).")
    if waits.size and (~np.isfinite(waits) | (waits < 0) | (waits >= MAX_START_WEEKS)).any():
        raise WaitingListError(f"Each wait so far must be from 0 to under {MAX_START_WEEKS} weeks.")
    return np.bincount(np.floor(waits).astype(int), minlength=1).astype(float)


def steady_start_list(size: float, mean_wait: float) -> np.ndarray:
    """A starting list of ``size`` patients whose waits so far are exponential with ``mean_wait``.

    This is how a steady first-come-first-served list looks when waits are roughly exponential
    (each week back holds exp(-1/W) times as many as the week after it).
    """
    size = _number("The list size", size, 0.0, MAX_START_PATIENTS)
    mean_wait = _number("The mean wait", mean_wait, 0.0, 52.0, open_low=True)
    edges = np.arange(MAX_START_WEEKS + 1, dtype=float)
    shares = -np.diff(np.exp(-edges / mean_wait))
    shares = np.trim_zeros(np.where(shares < 1e-12, 0.0, shares), "b")
    return size * shares / shares.sum()


# --------------------------------------------------------------------------------------------
# 3. The kernel: draws, cumulative flows and waits
# --------------------------------------------------------------------------------------------
def _draw(
    rng: np.random.Generator, mean: np.ndarray, runs: int, noise: Noise, cv: float
) -> np.ndarray:
    """Weekly counts (runs, weeks) around ``mean``: fixed or Poisson, times a gamma factor (CV).

    Poisson counts are drawn by inverse transform from uniforms drawn first, so a larger mean
    never gives a smaller count with the same seed (common random numbers for bisection).
    """
    shape = (runs, mean.size)
    factor = rng.gamma(1 / cv**2, cv**2, shape) if cv > 0 else np.ones(shape)
    uniforms = rng.random(shape)
    level = mean[None, :] * factor
    if noise == "fixed":
        return level
    return dd.poisson_ppf(np.clip(uniforms, 1e-12, 1 - 1e-12), level)


def _removals(arrivals: np.ndarray, capacity: np.ndarray, start: np.ndarray) -> np.ndarray:
    """Patients treated each week: Lindley Q(t) = max(0, Q(t-1) + a - c) in closed form.

    With X the cumulative net inflow, Q(t) = X(t) + max(Q0, -min_{s<=t} X(s)).
    """
    net = np.cumsum(arrivals - capacity, axis=1)
    lowest = np.minimum.accumulate(net, axis=1)
    queue = net + np.maximum(start[:, None], -lowest)
    before = np.concatenate([start[:, None], queue[:, :-1]], axis=1)
    return np.maximum(before + arrivals - queue, 0.0)


def _curves(
    start: np.ndarray, arrivals: np.ndarray, removals: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Cumulative arrivals and removals at knots -W..T (W = weeks the starting list goes back)."""
    runs, pre = arrivals.shape[0], start.size
    before = np.broadcast_to(start[::-1], (runs, pre))
    zero = np.zeros((runs, 1))
    cum_a = np.cumsum(np.concatenate([zero, before, arrivals], axis=1), axis=1)
    cum_d = np.cumsum(np.concatenate([zero, np.zeros((runs, pre)), removals], axis=1), axis=1)
    return cum_a, cum_d


def _inverse(cum: np.ndarray, k: np.ndarray, origin: float) -> np.ndarray:
    """When each curve (row of ``cum``, knots at origin, origin+1, ...) reaches height ``k``.

    Rows are laid end to end with offsets so one ``np.searchsorted`` serves every run; between
    knots the curve is a straight line. ``k`` has shape (runs, n) with 0 < k ≤ the row's total.
    """
    runs, knots = cum.shape
    span = float(cum[:, -1].max()) + 1.0
    offsets = (np.arange(runs, dtype=float) * span)[:, None]
    flat = (cum + offsets).ravel()
    q = (k.reshape(runs, -1) + offsets).ravel()
    idx = np.clip(np.searchsorted(flat, q, side="left"), 1, flat.size - 1)
    lo, hi = flat[idx - 1], flat[idx]
    frac = np.clip((q - lo) / np.where(hi > lo, hi - lo, 1.0), 0.0, 1.0)
    local = idx - np.repeat(np.arange(runs) * knots, q.size // runs)
    return (origin + local - 1 + frac).reshape(k.shape)


def _forward(cum: np.ndarray, times: np.ndarray, origin: float) -> np.ndarray:
    """Height of each curve (row of ``cum``, knots at origin, origin+1, ...) at ``times``."""
    pos = np.clip(times - origin, 0.0, cum.shape[1] - 1.0)
    idx = np.minimum(np.floor(pos).astype(int), cum.shape[1] - 2)
    flat_idx = idx.reshape(cum.shape[0], -1)
    low = np.take_along_axis(cum, flat_idx, axis=1).reshape(times.shape)
    high = np.take_along_axis(cum, flat_idx + 1, axis=1).reshape(times.shape)
    return low + (pos - idx) * (high - low)


def _grid(lo: np.ndarray, hi: np.ndarray, points: int) -> np.ndarray:
    """``points`` evenly spaced heights inside each block (lo, hi], shape (..., points)."""
    steps = (np.arange(points) + 0.5) / points
    return lo[..., None] + (hi - lo)[..., None] * steps


def _interp_rows(
    x: np.ndarray,
    y: np.ndarray,
    at: np.ndarray,
    left: np.ndarray | float,
    right: np.ndarray | float,
) -> np.ndarray:
    """For each row, y at x = ``at`` on straight lines between points (x sorted on the last axis).

    Below the first point gives ``left``, beyond the last ``right``.
    """
    m = x.shape[-1]
    n = (x <= at[..., None]).sum(axis=-1)
    i0, i1 = np.clip(n - 1, 0, m - 1)[..., None], np.clip(n, 0, m - 1)[..., None]
    x0, x1 = np.take_along_axis(x, i0, -1)[..., 0], np.take_along_axis(x, i1, -1)[..., 0]
    y0, y1 = np.take_along_axis(y, i0, -1)[..., 0], np.take_along_axis(y, i1, -1)[..., 0]
    gap = x1 - x0
    step = np.where(gap > 0, (at - x0) / np.where(gap > 0, gap, 1.0), 0.0)
    inside = y0 + step * (y1 - y0)
    return np.where(n == 0, left, np.where(n >= m, right, inside))


def _summaries(waits: np.ndarray, mass: np.ndarray, target: float) -> tuple[np.ndarray, np.ndarray]:
    """Weighted percentiles (3, ...) and share within ``target`` of points with these masses.

    Each point stands for its mass, centred on its cumulative mid-point (the "hazen" rule when
    the masses are equal); shares and percentiles interpolate between neighbouring points. Rows
    with no mass give NaN.
    """
    order = np.argsort(waits, axis=-1)
    waits, mass = np.take_along_axis(waits, order, -1), np.take_along_axis(mass, order, -1)
    total = mass.sum(axis=-1)
    position = (np.cumsum(mass, axis=-1) - mass / 2) / np.where(total > 0, total, 1.0)[..., None]
    first, last = waits[..., 0], waits[..., -1]
    pct = np.stack(
        [
            _interp_rows(position, waits, np.full(total.shape, p), first, last)
            for p in WAIT_PERCENTILES
        ]
    )
    share = _interp_rows(waits, position, np.full(total.shape, target), 0.0, 1.0)
    empty = total <= 1e-9
    pct[:, empty] = np.nan
    return pct, np.where(empty, np.nan, share)


@dataclass(frozen=True)
class _Part:
    """One block of patients per (run, week): heights (lo, hi] on a cumulative curve.

    ``clock(rows, heights)`` gives when each height's clock started; ``at`` is when the wait is
    read: the leaving time of each grid point (weeks, points) or the week end (weeks, 1).
    """

    clock: object
    lo: np.ndarray
    hi: np.ndarray
    at: np.ndarray


def _group_statistics(parts: list[_Part], target: float) -> tuple[np.ndarray, np.ndarray]:
    """Percentiles (3, runs, weeks) and share within target of one group of patients per week.

    A group may join several blocks (e.g. patients waiting at either stage); each grid point
    carries its block's size / ``GRID_POINTS``. Worked in chunks of runs to bound memory.
    """
    runs, weeks = parts[0].lo.shape
    pct = np.full((len(WAIT_PERCENTILES), runs, weeks), np.nan)
    share = np.full((runs, weeks), np.nan)
    chunk = max(1, CHUNK_CELLS // weeks)
    for first in range(0, runs, chunk):
        rows = slice(first, min(first + chunk, runs))
        waits, masses = [], []
        for part in parts:
            lo, hi = part.lo[rows], part.hi[rows]
            heights = _grid(lo, hi, GRID_POINTS)
            waits.append(part.at[None, :, :] - part.clock(rows, heights))
            size = np.maximum(hi - lo, 0.0)[..., None] / GRID_POINTS
            masses.append(np.broadcast_to(size, heights.shape))
        pct[:, rows], share[rows] = _summaries(
            np.concatenate(waits, axis=-1), np.concatenate(masses, axis=-1), target
        )
    return pct, share


def _joined(cum_a: np.ndarray, origin: float):
    """A clock function: when the patient at each height joined the list (curve ``cum_a``)."""

    def clock(rows: slice, heights: np.ndarray) -> np.ndarray:
        curve = cum_a[rows]
        safe = np.clip(heights, 1e-9, np.maximum(curve[:, -1], 1e-9)[:, None, None])
        return _inverse(curve, safe.reshape(curve.shape[0], -1), origin).reshape(heights.shape)

    return clock


def _week_times(weeks: int) -> tuple[np.ndarray, np.ndarray]:
    """Leaving times of the grid points in each week, and each week's end (weeks, 1)."""
    ends = np.arange(1, weeks + 1, dtype=float)[:, None]
    return ends - 1 + (np.arange(GRID_POINTS) + 0.5) / GRID_POINTS, ends


def _nan_quantile(values: np.ndarray, q: float) -> np.ndarray:
    """Quantile over runs (axis 0) that ignores NaN and gives NaN for an all-NaN week."""
    if not np.isnan(values).any():
        return np.quantile(values, q, axis=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # an all-NaN week gives NaN, as meant
        return np.nanquantile(values, q, axis=0)


def _weekly_table(
    counts: dict[str, np.ndarray],
    groups: dict[str, tuple[np.ndarray, np.ndarray, float]],
    interval: float,
) -> pd.DataFrame:
    """One row per week: medians over runs of counts and of each group's waits and share within.

    ``groups`` maps a name to (percentiles (3, runs, weeks), share within (runs, weeks),
    standard). Each share and each count gets ``_low``/``_high`` columns for the central
    ``interval`` of the runs, and each group a ``_meets`` column (share ≥ standard; empty when
    nobody is in the group that week).
    """
    interval = _number("The interval", interval, 0.0, 0.999, open_low=True)
    tails = ((1 - interval) / 2, (1 + interval) / 2)
    weeks = next(iter(counts.values())).shape[1]
    out = pd.DataFrame({"week": np.arange(1, weeks + 1)})
    bands: dict[str, np.ndarray] = {}
    for name, values in counts.items():
        out[name] = _nan_quantile(values, 0.5)
        bands[name] = values
    for name, (pct, within, standard) in groups.items():
        for label, values in zip(("median", "p92", "p95"), pct, strict=True):
            out[f"{name}_{label}"] = _nan_quantile(values, 0.5)
        out[f"{name}_within"] = _nan_quantile(within, 0.5)
        meets = (out[f"{name}_within"] >= standard).astype("boolean")
        out[f"{name}_meets"] = meets.mask(out[f"{name}_within"].isna())
        bands[f"{name}_within"] = within
    for name, values in bands.items():
        for suffix, q in zip(("_low", "_high"), tails, strict=True):
            out[name + suffix] = _nan_quantile(values, q)
    return out


@dataclass(frozen=True, eq=False)
class WaitingListResult:
    """Week-by-week results of :func:`simulate_waiting_list`; arrays are (runs, weeks).

    Percentile arrays are (3, runs, weeks) for ``WAIT_PERCENTILES`` (median, 92nd, 95th), in
    weeks on the RTT clock (``clock_offset`` included). "Treated" statistics describe the patients
    treated that week (completed pathways); "waiting" ones those still waiting at the end of the
    week (incomplete pathways). A week with nobody in the group gives NaN.
    """

    referrals: np.ndarray
    capacity: np.ndarray
    treated: np.ndarray
    list_size: np.ndarray
    treated_waits: np.ndarray
    treated_within: np.ndarray
    waiting_waits: np.ndarray
    waiting_within: np.ndarray
    cum_referrals: np.ndarray
    cum_treated: np.ndarray
    start_weeks: int
    standard: float
    target_weeks: float
    clock_offset: float

    @property
    def runs(self) -> int:
        """Number of independent runs simulated."""
        return self.referrals.shape[0]

    @property
    def weeks(self) -> int:
        """Number of weeks simulated."""
        return self.referrals.shape[1]

    def table(self, interval: float = 0.90) -> pd.DataFrame:
        """One row per week, medians over runs (see ``_weekly_table`` for the columns).

        Columns: week, referrals, capacity, treated, list_size; treated_median, treated_p92,
        treated_p95, treated_within, treated_meets (against ``standard``); the same for
        waiting (against the 92% incomplete standard); and ``_low``/``_high`` for the counts and
        shares over the central ``interval`` of the runs.
        """
        counts = {name: getattr(self, name) for name in ("referrals", "capacity", "treated")}
        counts["list_size"] = self.list_size
        groups = {
            "treated": (self.treated_waits, self.treated_within, self.standard),
            "waiting": (self.waiting_waits, self.waiting_within, INCOMPLETE_STANDARD),
        }
        return _weekly_table(counts, groups, interval)

    def pooled_within(self, first_week: int, last_week: int) -> np.ndarray:
        """Per run, the share of everyone treated in weeks first..last (1-based) within target.

        This is how a monthly return counts: all completed pathways in the period together.
        """
        first_week = _whole("The first week", first_week, 1, self.weeks)
        last_week = _whole("The last week", last_week, first_week, self.weeks)
        return _pooled(self.treated, self.treated_within, first_week, last_week)

    def patient_waits(self, run: int = 0) -> np.ndarray:
        """The wait (weeks on the clock) of every patient treated in one run, in treatment order.

        Patient k (k = 1, 2, ...) is read at height k - 1/2 of the cumulative curves.
        """
        run = _whole("The run", run, 0, self.runs - 1)
        done = int(np.floor(self.cum_treated[run, -1] + 1e-9))
        if done > MAX_PATIENT_WAITS:
            raise WaitingListError(
                f"At most {MAX_PATIENT_WAITS:,} patient waits can be listed; this run treated "
                f"{done:,}. Simulate fewer weeks."
            )
        k = np.arange(1, done + 1, dtype=float)[None, :] - 0.5
        origin = -float(self.start_weeks)
        left = _inverse(self.cum_treated[run : run + 1], k, origin)
        joined = _inverse(self.cum_referrals[run : run + 1], k, origin)
        return (left - joined)[0] + self.clock_offset


def _pooled(treated: np.ndarray, within: np.ndarray, first: int, last: int) -> np.ndarray:
    rows = slice(first - 1, last)
    count = treated[:, rows]
    inside = (np.nan_to_num(within[:, rows]) * count).sum(axis=1)
    total = count.sum(axis=1)
    return np.where(total > 0, inside / np.where(total > 0, total, 1.0), np.nan)


def _settings(
    referral_noise: str, capacity_noise: str, referral_cv: float, capacity_cv: float
) -> tuple[Noise, Noise, float, float]:
    for name, noise in (("referral_noise", referral_noise), ("capacity_noise", capacity_noise)):
        if noise not in ("fixed", "poisson"):
            raise WaitingListError(f"{name} must be 'fixed' or 'poisson'; got {noise!r}.")
    referral_cv = _number("The week-to-week variation in referrals", referral_cv, 0.0, 2.0)
    capacity_cv = _number("The week-to-week variation in capacity", capacity_cv, 0.0, 2.0)
    # Below 1 in a million the gamma factor is 1 to machine precision (and 1/cv² would overflow).
    referral_cv, capacity_cv = (cv if cv >= 1e-6 else 0.0 for cv in (referral_cv, capacity_cv))
    return referral_noise, capacity_noise, referral_cv, capacity_cv  # type: ignore[return-value]


def _size_check(weeks: int, runs: int) -> tuple[int, int]:
    weeks = _whole("The number of weeks", weeks, 1, MAX_WEEKS)
    runs = _whole("The number of runs", runs, 1, MAX_RUNS)
    if runs * weeks > MAX_CELLS:
        raise WaitingListError(
            f"runs x weeks may be at most {MAX_CELLS:,}; got {runs} x {weeks} = {runs * weeks:,}."
        )
    return weeks, runs


def simulate_waiting_list(
    referrals: float | np.ndarray,
    capacity: float | np.ndarray,
    weeks: int = 104,
    *,
    start_list: np.ndarray | list | None = None,
    referral_noise: Noise = "poisson",
    capacity_noise: Noise = "fixed",
    referral_cv: float = 0.0,
    capacity_cv: float = 0.0,
    runs: int = 1,
    seed: int | np.random.Generator = 0,
    standard: float = ADMITTED_STANDARD,
    target_weeks: float = RTT_TARGET_WEEKS,
    clock_offset: float = 0.0,
) -> WaitingListResult:
    """Simulate one first-come-first-served waiting list week by week.

    Parameters
    ----------
    referrals, capacity : float or array of length ``weeks``
        Mean referrals joining the list, and the number that can be treated, each week.
    weeks : int
        Weeks to simulate (1 to ``MAX_WEEKS``; runs x weeks at most ``MAX_CELLS``).
    start_list : array, optional
        Patients already waiting, by whole weeks waited so far (see :func:`start_list_from_waits`
        and :func:`steady_start_list`); they are treated first, oldest first.
    referral_noise, capacity_noise : "fixed" or "poisson"
        "poisson" draws each week's count around its mean; "fixed" uses the mean itself (which may
        be fractional: between week ends the model is a fluid one).
    referral_cv, capacity_cv : float
        Extra week-to-week variation: the mean is first multiplied by a gamma factor with mean 1
        and this coefficient of variation (0 = none; gamma-Poisson is negative binomial).
    runs : int
        Independent runs, for uncertainty bands.
    seed : int or numpy Generator
        Seed for the draws; the same seed gives the same result.
    standard, target_weeks : float
        The completed-pathway standard (0.90 admitted, 0.95 non-admitted) and target (18 weeks).
    clock_offset : float
        Weeks already on the RTT clock when a patient joins this list (e.g. time spent at an
        ICATS or referral-management service, where the clock starts).

    Returns
    -------
    WaitingListResult
    """
    weeks, runs = _size_check(weeks, runs)
    noise = _settings(referral_noise, capacity_noise, referral_cv, capacity_cv)
    demand, supply = _weekly("Referrals", referrals, weeks), _weekly("Capacity", capacity, weeks)
    start = _start_counts(start_list)
    standard = _number("The standard", standard, 0.0, 1.0)
    target_weeks = _number("The target wait", target_weeks, 0.0, 520.0, open_low=True)
    offset = _number("The clock offset", clock_offset, 0.0, 520.0)
    rng = _rng(seed)
    arrivals = _draw(rng, demand, runs, noise[0], noise[2])
    cap = _draw(rng, supply, runs, noise[1], noise[3])
    treated = _removals(arrivals, cap, np.full(runs, start.sum()))
    cum_a, cum_d = _curves(start, arrivals, treated)
    pre, clock = start.size, _joined(cum_a, -float(start.size))
    leave, ends = _week_times(weeks)
    d_lo, d_hi, a_hi = cum_d[:, pre:-1], cum_d[:, pre + 1 :], cum_a[:, pre + 1 :]
    t_pct, t_share = _group_statistics([_Part(clock, d_lo, d_hi, leave)], target_weeks - offset)
    w_pct, w_share = _group_statistics([_Part(clock, d_hi, a_hi, ends)], target_weeks - offset)
    return WaitingListResult(
        referrals=arrivals,
        capacity=cap,
        treated=treated,
        list_size=a_hi - d_hi,
        treated_waits=t_pct + offset,
        treated_within=t_share,
        waiting_waits=w_pct + offset,
        waiting_within=w_share,
        cum_referrals=cum_a,
        cum_treated=cum_d,
        start_weeks=pre,
        standard=standard,
        target_weeks=target_weeks,
        clock_offset=offset,
    )


# --------------------------------------------------------------------------------------------
# 4. Two stages: outpatients, then (for some) the admitted list
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class RttResult:
    """Week-by-week results of :func:`simulate_rtt`; arrays are (runs, weeks).

    ``op_*`` is the outpatient stage (every referral); ``ip_*`` the list for admission. Completed
    pathways: ``non_admitted`` (discharged or treated at outpatients, (1 - share) of outpatient
    completions) and ``admitted`` (treated as inpatients or day cases; wait = outpatient wait +
    wait for admission). ``incomplete`` is everyone still waiting at either stage. Percentiles
    are (3, runs, weeks) in weeks on the clock.
    """

    referrals: np.ndarray
    op_capacity: np.ndarray
    op_treated: np.ndarray
    op_list: np.ndarray
    ip_joined: np.ndarray
    ip_capacity: np.ndarray
    ip_treated: np.ndarray
    ip_list: np.ndarray
    non_admitted_waits: np.ndarray
    non_admitted_within: np.ndarray
    admitted_waits: np.ndarray
    admitted_within: np.ndarray
    incomplete_waits: np.ndarray
    incomplete_within: np.ndarray
    admitted_share: float
    target_weeks: float

    @property
    def weeks(self) -> int:
        """Number of weeks simulated."""
        return self.referrals.shape[1]

    def table(self, interval: float = 0.90) -> pd.DataFrame:
        """One row per week, medians over runs, each pathway against its own standard.

        Groups: non_admitted (95%), admitted (90%), incomplete (92%); each has _median, _p92,
        _p95, _within, _meets and _within_low/_high columns. Counts: referrals, op_treated,
        op_list, ip_joined, ip_treated, ip_list, total_list (with _low/_high).
        """
        counts = {
            name: getattr(self, name)
            for name in ("referrals", "op_treated", "op_list", "ip_joined", "ip_treated", "ip_list")
        }
        counts["total_list"] = self.op_list + self.ip_list
        groups = {
            "non_admitted": (
                self.non_admitted_waits,
                self.non_admitted_within,
                NON_ADMITTED_STANDARD,
            ),
            "admitted": (self.admitted_waits, self.admitted_within, ADMITTED_STANDARD),
            "incomplete": (self.incomplete_waits, self.incomplete_within, INCOMPLETE_STANDARD),
        }
        return _weekly_table(counts, groups, interval)

    def pooled_within(self, pathway: str, first_week: int, last_week: int) -> np.ndarray:
        """Per run, the share of ``pathway`` ("admitted" or "non_admitted") completions in weeks
        first..last (1-based) within the target: how a monthly return counts."""
        first_week = _whole("The first week", first_week, 1, self.weeks)
        last_week = _whole("The last week", last_week, first_week, self.weeks)
        if pathway == "admitted":
            return _pooled(self.ip_treated, self.admitted_within, first_week, last_week)
        if pathway == "non_admitted":
            return _pooled(self.op_treated, self.non_admitted_within, first_week, last_week)
        raise WaitingListError(f"pathway must be 'admitted' or 'non_admitted'; got {pathway!r}.")


def _admitted_clock(
    cum_a1: np.ndarray, cum_d1: np.ndarray, pre1: int, cum_a2: np.ndarray, start2: np.ndarray
):
    """Clock function for the admitted list: when each patient's RTT clock started.

    The first sum(start2) patients are the starting admitted list, oldest first (their clock
    starts from ``start2``, counts by weeks on the clock). Later ones joined at time tau with
    height j on the admitted curve; they left outpatients at that moment, so they are the patient
    at height D1(tau) of the outpatient curves, who was referred at A1^-1(D1(tau)).
    """
    runs, held = cum_a2.shape[0], float(start2.sum())
    start_curve = np.cumsum(np.concatenate([[0.0], start2[::-1]]))
    start_curve = np.broadcast_to(start_curve, (runs, start_curve.size))
    arrived, at_op = _joined(cum_a2, 0.0), _joined(cum_a1, -float(pre1))

    def clock(rows: slice, heights: np.ndarray) -> np.ndarray:
        tau = arrived(rows, np.maximum(heights, held + 1e-9))
        level = _forward(cum_d1[rows], tau.reshape(tau.shape[0], -1), -float(pre1))
        referred = at_op(rows, level.reshape(heights.shape))
        if held <= 0:
            return referred
        early = _joined(start_curve, -float(start2.size))(rows, np.minimum(heights, held))
        return np.where(heights <= held, early, referred)

    return clock


def simulate_rtt(
    referrals: float | np.ndarray,
    op_capacity: float | np.ndarray,
    ip_capacity: float | np.ndarray,
    weeks: int = 104,
    *,
    admitted_share: float = ADMITTED_SHARE,
    op_start: np.ndarray | list | None = None,
    ip_start: np.ndarray | list | None = None,
    referral_noise: Noise = "poisson",
    capacity_noise: Noise = "fixed",
    referral_cv: float = 0.0,
    capacity_cv: float = 0.0,
    runs: int = 1,
    seed: int | np.random.Generator = 0,
    target_weeks: float = RTT_TARGET_WEEKS,
) -> RttResult:
    """Referral to treatment in two stages: an outpatient list, then for some an admitted list.

    Every referral joins the outpatient list (first come, first served). Of those seen, the
    ``admitted_share`` (25.5% of completed pathways were admitted, DH Sep 2011 [D]) join the
    list for admission, and their clock keeps running; the rest complete a non-admitted pathway.
    ``op_start`` holds outpatients already waiting (by whole weeks waited); ``ip_start`` patients
    already on the admitted list, by whole weeks since referral, who are admitted first. Other
    arguments as :func:`simulate_waiting_list`; capacities are per week.
    """
    weeks, runs = _size_check(weeks, runs)
    noise = _settings(referral_noise, capacity_noise, referral_cv, capacity_cv)
    demand = _weekly("Referrals", referrals, weeks)
    supply1, supply2 = (
        _weekly("Outpatient capacity", op_capacity, weeks),
        _weekly("Admitted capacity", ip_capacity, weeks),
    )
    share = _number("The admitted share", admitted_share, 0.0, 1.0)
    start1, start2 = _start_counts(op_start), _start_counts(ip_start)
    target = _number("The target wait", target_weeks, 0.0, 520.0, open_low=True)
    rng = _rng(seed)
    arrivals = _draw(rng, demand, runs, noise[0], noise[2])
    cap1 = _draw(rng, supply1, runs, noise[1], noise[3])
    cap2 = _draw(rng, supply2, runs, noise[1], noise[3])
    seen = _removals(arrivals, cap1, np.full(runs, start1.sum()))
    cum_a1, cum_d1 = _curves(start1, arrivals, seen)
    joined = share * seen
    admitted = _removals(joined, cap2, np.full(runs, start2.sum()))
    cum_a2, cum_d2 = _curves(np.array([start2.sum()]), joined, admitted)
    cum_a2, cum_d2 = cum_a2[:, 1:], cum_d2[:, 1:]  # knots 0..T; the start list is there at 0
    found = _rtt_statistics(cum_a1, cum_d1, start1.size, cum_a2, cum_d2, start2, target)
    return RttResult(
        referrals=arrivals,
        op_capacity=cap1,
        op_treated=seen,
        ip_joined=joined,
        ip_capacity=cap2,
        ip_treated=admitted,
        admitted_share=share,
        target_weeks=target,
        **found,
    )


def _rtt_statistics(
    cum_a1: np.ndarray,
    cum_d1: np.ndarray,
    pre: int,
    cum_a2: np.ndarray,
    cum_d2: np.ndarray,
    start2: np.ndarray,
    target: float,
) -> dict[str, np.ndarray]:
    """List sizes, and waits of completed (non-admitted, admitted) and incomplete pathways."""
    clock1 = _joined(cum_a1, -float(pre))
    clock2 = _admitted_clock(cum_a1, cum_d1, pre, cum_a2, start2)
    leave, ends = _week_times(cum_a2.shape[1] - 1)
    op = (cum_d1[:, pre:-1], cum_d1[:, pre + 1 :], cum_a1[:, pre + 1 :])
    ip = (cum_d2[:, :-1], cum_d2[:, 1:], cum_a2[:, 1:])
    na = _group_statistics([_Part(clock1, op[0], op[1], leave)], target)
    ad = _group_statistics([_Part(clock2, ip[0], ip[1], leave)], target)
    waiting = [_Part(clock1, op[1], op[2], ends), _Part(clock2, ip[1], ip[2], ends)]
    inc = _group_statistics(waiting, target)
    return {
        "op_list": op[2] - op[1],
        "ip_list": ip[2] - ip[1],
        "non_admitted_waits": na[0],
        "non_admitted_within": na[1],
        "admitted_waits": ad[0],
        "admitted_within": ad[1],
        "incomplete_waits": inc[0],
        "incomplete_within": inc[1],
    }


# --------------------------------------------------------------------------------------------
# 5. Planning questions answered with the simulation
# --------------------------------------------------------------------------------------------
def _meets(result: WaitingListResult, by_week: int, window: int, measure: str) -> np.ndarray:
    """Per run, the share that counts towards the standard at ``by_week``."""
    if measure == "waiting":
        share = result.waiting_within[:, by_week - 1]
        return np.where(np.isnan(share), 1.0, share)  # nobody waiting meets any standard
    share = result.pooled_within(max(1, by_week - window + 1), by_week)
    return np.where(np.isnan(share), 0.0, share)


def capacity_needed(
    demand: float | np.ndarray,
    standard: float = ADMITTED_STANDARD,
    by_week: int = 52,
    start_list: np.ndarray | list | None = None,
    *,
    profile: np.ndarray | None = None,
    measure: Literal["treated", "waiting"] = "treated",
    window: int = 4,
    confidence: float = 0.5,
    runs: int = 1,
    seed: int | np.random.Generator = 0,
    **options: object,
) -> float:
    """The least weekly capacity with which the list meets ``standard`` by week ``by_week``.

    Bisection on the capacity scale with the same random draws at every step (common random
    numbers: Poisson counts are drawn by inverse transform, so more capacity never treats fewer).
    ``measure="treated"`` asks that the patients treated in the ``window`` weeks to ``by_week``
    (a monthly return) meet the standard; ``"waiting"`` that the list at ``by_week`` does (the
    incomplete-pathway view, which rises steadily with capacity). With several runs, the standard
    must be met in at least ``confidence`` of them. ``profile`` shapes capacity by week (e.g.
    ``weekly_capacity(1.0, weeks)`` for holiday weeks; the answer is a normal week's capacity).
    Other keyword options go to :func:`simulate_waiting_list`.

    Raises
    ------
    WaitingListError
        If the standard cannot be met even with ``MAX_WEEKLY`` capacity.
    """
    by_week = _whole("The week to meet the standard by", by_week, 1, MAX_WEEKS)
    window = _whole("The window", window, 1, 52)
    standard = _number("The standard", standard, 0.0, 1.0)
    confidence = _number("The confidence", confidence, 0.0, 1.0)
    if measure not in ("treated", "waiting"):
        raise WaitingListError(f"measure must be 'treated' or 'waiting'; got {measure!r}.")
    shape = np.ones(by_week) if profile is None else _weekly("The profile", profile, by_week)
    need = _weekly("Demand", demand, by_week)
    fixed_seed = seed if not isinstance(seed, np.random.Generator) else int(seed.integers(2**31))

    def met(scale: float) -> bool:
        result = simulate_waiting_list(
            need,
            scale * shape,
            by_week,
            start_list=start_list,
            standard=standard,
            runs=runs,
            seed=fixed_seed,
            **options,  # type: ignore[arg-type]
        )
        shares = _meets(result, by_week, window, measure)
        return bool(np.quantile(shares, 1 - confidence) >= standard - 1e-12)

    return _bisect(met, float(need.max()) + _start_counts(start_list).sum() / by_week + 1.0)


def _bisect(met, high: float) -> float:
    """Smallest x in [0, MAX_WEEKLY] with met(x), assuming met rises with x."""
    low = 0.0
    while not met(high):
        low, high = high, high * 2
        if high > MAX_WEEKLY:
            raise WaitingListError(
                f"The standard is not met even with {MAX_WEEKLY:,.0f} a week: check the demand, "
                "the starting list and the week asked for."
            )
    for _ in range(BISECTION_STEPS):
        if high - low <= 1e-3 * max(high, 1.0):
            break
        mid = (low + high) / 2
        low, high = (low, mid) if met(mid) else (mid, high)
    return high


def list_size_by_load(
    capacity: float,
    loads: np.ndarray | list = (0.5, 0.7, 0.8, 0.9, 0.95, 0.98, 1.0, 1.02),
    weeks: int = 104,
    *,
    runs: int = 200,
    seed: int = 0,
    capacity_noise: Noise = "fixed",
    referral_cv: float = 0.0,
) -> pd.DataFrame:
    """How the list grows as demand approaches capacity: simulated beside queueing theory.

    For each load ρ (demand = ρ x capacity, Poisson referrals, starting from an empty list):
    the list after ``weeks`` (median and 90% interval over runs), the mean wait of those treated
    in the last quarter of the period, the M/M/1 mean ρ/(1-ρ), and the steady mean list of a
    weekly list in heavy traffic (reflected random walk: weekly variance of referrals plus that of
    capacity, over twice the spare capacity [D from Kingman]); infinite at ρ ≥ 1, where the list
    never settles.
    """
    capacity = _number("Capacity", capacity, 0.0, MAX_WEEKLY, open_low=True)
    loads = np.asarray(loads, dtype=float)
    if loads.ndim != 1 or not 1 <= loads.size <= 50 or (loads < 0).any() or (loads > 3).any():
        raise WaitingListError("Give 1 to 50 loads, each from 0 to 3.")
    rows = []
    for load in loads:
        r = simulate_waiting_list(
            load * capacity,
            capacity,
            weeks,
            runs=runs,
            seed=seed,
            capacity_noise=capacity_noise,
            referral_cv=referral_cv,
        )
        end = r.list_size[:, -1]
        late = slice(weeks - max(1, weeks // 4), weeks)
        demand, spare = load * capacity, capacity * (1 - load)
        variance = demand * (1 + referral_cv**2 * demand) + (
            capacity if capacity_noise == "poisson" else 0.0
        )
        rows.append(
            {
                "load": load,
                "demand": demand,
                "capacity": capacity,
                "list_median": np.median(end),
                "list_low": np.quantile(end, 0.05),
                "list_high": np.quantile(end, 0.95),
                "mean_wait_late": float(np.nanmean(r.treated_waits[0][:, late])),
                "mm1_list": mm1_mean_list(load),
                "steady_list": variance / (2 * spare) if load < 1 else np.inf,
            }
        )
    return pd.DataFrame(rows)
