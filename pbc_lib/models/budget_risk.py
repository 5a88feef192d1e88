"""Financial risk of holding a budget: how a year's spend varies with the number of people covered.

A budget holder of ``N`` people spends, in a year, the sum of its patients' hospital costs. Most
people cost nothing in a year and a few cost a great deal, so the total is uncertain, and the
smaller the list the more it varies: for independent people the coefficient of variation (CV) of
the total falls as 1/√N (Crump et al., BMJ 1991;302:1582; Bachmann & Bevan, BMJ 1996;313:1054;
brief model formula 3). This module simulates that total by resampling people (the bootstrap) from
the patient-level cost table (``pbc_lib.data.load_patient_costs()``), and measures:

- the spread of annual spend (5th to 95th percentile as % of budget, Crump's measure) and the CV,
  beside the analytic CV;
- the chance of overspending the budget by more than k%;
- the per-patient stop-loss of fundholding (the practice pays min(cost, cap) for each patient; the
  health authority pays the rest);
- multi-year balancing (a three-year rolling balance) and pooling across a cluster of practices.

Budgets are "fair": the expected spend, N × the mean cost per person in the scope. Three scopes are
offered (``SCOPES``): ``"fundholding"`` (elective inpatient + day case + outpatient; fundholding did
not cover emergencies), ``"all_hospital"`` (every hospital cost in the table) and
``"elective_inpatient"`` (the nearest match to the surgical procedures Crump et al. simulated).

How the simulation is made fast. Summing N resampled people for each simulated year costs N × years
random draws: 300,000 people × 10,000 years is 3 billion. Instead, ``method="fast"`` splits the
sorted costs into a *tail* (the dearest rows, chosen so that about ``TAIL_PEOPLE_PER_YEAR`` of the N
people fall in it each year) and a *body* (the rest). Each year it draws the number of tail people
exactly (binomial), draws each of their costs exactly (bootstrap), and replaces the sum of the body
people by a shifted-gamma variable with the same mean, variance and skewness (a normal when the body
is symmetric). Work is about ``years × TAIL_PEOPLE_PER_YEAR`` draws whatever N is; the tests check
it against the plain per-patient simulation (``method="plain"``) to within 1% of the budget. Two
exact shortcuts: lists of at most ``PLAIN_BELOW_PEOPLE`` are simulated person by person, and a
sample with at most ``EXACT_MAX_DISTINCT`` distinct amounts by counting (multinomial) how many
people take each amount.

Assumptions [U]: people are independent of each other and from year to year (the data hold one
year; high spend persists from year to year, Kelly et al. 2016, so multi-year balancing helps less
than shown here); every budget holder's people are drawn from the same (PCT-wide) cost distribution.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

# --- Published figures -------------------------------------------------------------------------
# [V] the cap per patient a year before Apr 1994 (SI 1994/640 raised it); that £5,000 applied from
# 1991 is [U] (the brief gives only the 1994 change).
STOP_LOSS_BEFORE_1994_GBP = 5_000.0
STOP_LOSS_1994_GBP = 6_000.0  # [V] raised to £6,000 by SI 1994/640 (amending reg 21, 1993 regs)
FUNDHOLDING_MIN_LIST_1991 = 9_000  # [V] SI 1991/582 reg 3: continuing recognition
FUNDHOLDING_MIN_LIST_1996 = 5_000  # [V] SI 1996/706 Sch 1: standard fundholding
COMMUNITY_FUNDHOLDING_MIN_LIST_1996 = 3_000  # [V] SI 1996/706 Sch 1: community fundholding
# Crump BJ et al., "Fundholding in general practice and financial risk", BMJ 1991;302:1582 [V]:
CRUMP_YEARS = 100  # [V] simulated years
CRUMP_LIST_SMALL = 9_000  # [V]
CRUMP_MEAN_SMALL_GBP = 244_891.0  # [V]
CRUMP_SD_SMALL_GBP = 18_349.0  # [V]
CRUMP_SPREAD_SMALL = 0.275  # [V] 5th-95th percentile spread as a share of the mean
CRUMP_LIST_LARGE = 24_000  # [V]
CRUMP_MEAN_LARGE_GBP = 652_762.0  # [V]
CRUMP_SD_LARGE_GBP = 32_512.0  # [V]
CRUMP_SPREAD_LARGE = 0.153  # [V]
CRUMP_DISTRICT = 179_400  # [V] a district health authority's population
CRUMP_SPREAD_DISTRICT = 0.057  # [V]
CRUMP_CV_SMALL = CRUMP_SD_SMALL_GBP / CRUMP_MEAN_SMALL_GBP  # [D] 18,349 / 244,891 = 0.0749
CRUMP_CV_LARGE = CRUMP_SD_LARGE_GBP / CRUMP_MEAN_LARGE_GBP  # [D] 32,512 / 652,762 = 0.0498
CRUMP_MEAN_PER_HEAD_GBP = CRUMP_MEAN_SMALL_GBP / CRUMP_LIST_SMALL  # [D] £244,891 / 9,000 = £27.21
BACHMANN_BEVAN_STEEP_BELOW = 30_000  # [V] variation rises steeply below 30,000 person-years
# [V] PbC: an overspend could be offset later, but the budget had to balance over 3 years (Health
# Foundation policy navigator, 2004 rules); Bachmann & Bevan 1996: a 10,000-patient practice should
# spread its risk over at least 3 years.
BALANCE_YEARS = 3
JONES_MIN_POPULATION = 100_000  # [V] Rod Jones (PHCRD 2009): risk unacceptable below ~100,000

# --- Scopes ------------------------------------------------------------------------------------
# "fundholding": [U] the fund's hospital scope as given in the issue (elective care, outpatients,
# diagnostics and prescribing, not emergencies); the cost table has no diagnostics or prescribing.
# "elective_inpatient": Crump's own scope, "the 113 surgical procedures covered by the general
# practitioner fund" [V] (BMJ 1991;302:1582, abstract); elective admissions are the nearest column
# [U], so compare Crump's figures with this scope.
SCOPES = {
    "fundholding": ("elective_inpatient_gbp", "day_case_gbp", "outpatient_gbp"),
    "all_hospital": ("total_gbp",),
    "elective_inpatient": ("elective_inpatient_gbp",),
}

# --- Simulation settings and limits ------------------------------------------------------------
DEFAULT_SEED = 19910401  # any integer; the date fundholding began
DEFAULT_YEARS = 10_000
DEFAULT_KS = (0.05, 0.10)  # overspend thresholds, as shares of the budget
MIN_YEARS = 100
MAX_YEARS = 200_000
MAX_PEOPLE = 2_000_000  # limit; the largest PCTs after Oct 2006 had over 1 million people [V]
MAX_SAMPLE = 1_000_000  # most cost rows accepted
MAX_SIZES = 200  # most list sizes in one risk curve
MAX_MEMBERS = 200  # most practices in one pool
MAX_PLAIN_PERSON_YEARS = 400_000_000  # plain method: most people × years (a few seconds here)
PLAIN_CHUNK = 4_000_000  # plain method: draws held in memory at once
TAIL_PEOPLE_PER_YEAR = 16  # fast method: expected tail people a year (checked in the tests)
MAX_TAIL_SHARE = 0.05  # fast method: at most this share of rows in the tail
PLAIN_BELOW_PEOPLE = 200  # fast method: lists this small are simulated person by person
EXACT_MAX_DISTINCT = 50  # fast method: samples with at most this many distinct amounts are counted
METHODS = ("fast", "plain")


class BudgetRiskError(ValueError):
    """An input to the budget-risk model is outside what it accepts."""


# --- Checking inputs ---------------------------------------------------------------------------
def _check_int(name: str, value: object, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise BudgetRiskError(f"{name} must be a whole number; got {value!r}.")
    if not low <= value <= high:
        raise BudgetRiskError(f"{name} must be between {low:,} and {high:,}; got {value:,}.")
    return int(value)


def validate_costs(costs: object) -> np.ndarray:
    """``costs`` as a float array, checked: 1 to ``MAX_SAMPLE`` finite amounts ≥ £0, not all £0."""
    try:
        x = np.asarray(costs, dtype=float)
    except (TypeError, ValueError):
        raise BudgetRiskError("costs must be numbers (£ per person a year).") from None
    if x.ndim != 1 or not 1 <= x.size <= MAX_SAMPLE:
        raise BudgetRiskError(
            f"costs must be a list of 1 to {MAX_SAMPLE:,} numbers; got shape {x.shape}."
        )
    if not np.isfinite(x).all() or (x < 0).any():
        raise BudgetRiskError("costs must be finite amounts of £0 or more; some are not.")
    if x.sum() <= 0:
        raise BudgetRiskError("costs must include at least one amount above £0; all are £0.")
    return x


def validate_cap(cap: float | None) -> float | None:
    """A stop-loss cap as a float (None stays None), checked to be a number of £ above 0."""
    if cap is None:
        return None
    if isinstance(cap, bool) or not isinstance(cap, int | float | np.number):
        raise BudgetRiskError(f"the stop-loss cap must be a number of £ or None; got {cap!r}.")
    if not (np.isfinite(cap) and cap > 0):
        raise BudgetRiskError(f"the stop-loss cap must be a number of £ above 0; got {cap}.")
    return float(cap)


def _check_ks(ks: Sequence[float]) -> tuple[float, ...]:
    out = tuple(float(k) for k in ks)
    if not 1 <= len(out) <= 10 or not all(0 <= k <= 1 for k in out):
        raise BudgetRiskError(
            f"overspend thresholds must be 1 to 10 shares of the budget between 0 and 1 "
            f"(0.05 = 5%); got {list(ks)}."
        )
    return out


def as_generator(seed: int | np.random.Generator | None) -> np.random.Generator:
    """A generator from a seed (None means ``DEFAULT_SEED``); a generator is used as it is."""
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is None:
        return np.random.default_rng(DEFAULT_SEED)
    return np.random.default_rng(_check_int("seed", seed, 0, 2**63 - 1))


# --- Costs -------------------------------------------------------------------------------------
def scope_costs(patient_costs: pd.DataFrame, scope: str = "fundholding") -> np.ndarray:
    """Each person's annual cost (£) in a budget scope.

    Parameters
    ----------
    patient_costs : pandas.DataFrame
        The patient cost table (``pbc_lib.data.load_patient_costs()``).
    scope : str
        A key of ``SCOPES``: ``"fundholding"`` (elective inpatient + day case + outpatient),
        ``"all_hospital"`` (total) or ``"elective_inpatient"`` (Crump's surgical scope).

    Returns
    -------
    numpy.ndarray
        One cost per person.
    """
    if scope not in SCOPES:
        raise BudgetRiskError(f"scope must be one of {', '.join(SCOPES)}; got {scope!r}.")
    missing = [c for c in SCOPES[scope] if c not in patient_costs.columns]
    if missing:
        raise BudgetRiskError(f"the cost table has no column {', '.join(missing)}.")
    return validate_costs(patient_costs[list(SCOPES[scope])].sum(axis=1).to_numpy(float))


def practice_part(costs: np.ndarray, cap: float | None) -> np.ndarray:
    """What a stop-loss budget holder pays for each person: min(cost, cap) (all of it if no cap)."""
    x, c = validate_costs(costs), validate_cap(cap)
    return x if c is None else np.minimum(x, c)


def authority_part(costs: np.ndarray, cap: float) -> np.ndarray:
    """What the health authority pays for each person under a stop-loss: max(cost - cap, 0)."""
    x, c = validate_costs(costs), validate_cap(cap)
    if c is None:
        raise BudgetRiskError("the stop-loss cap must be a number of £ above 0; got None.")
    return np.maximum(x - c, 0.0)


def relative_second_moment(costs: np.ndarray) -> float:
    """E[X²] / E[X]² of per-person costs: 1 + (CV of one person's cost)²."""
    x = validate_costs(costs)
    return float(np.mean(x**2) / np.mean(x) ** 2)


def analytic_cv(costs: np.ndarray, n_people: int, compound: bool = False) -> float:
    """CV of a year's spend for ``n_people`` people drawn independently from ``costs``.

    A list of exactly N people has Var(S) = N·Var(X), so CV = √((E[X²]/E[X]² − 1) / N); this is
    what ``spend_distribution`` simulates. With ``compound=True`` the number of people is Poisson
    with mean N (the brief's compound sum, Var(S) = N·E[X²]), so CV = √(E[X²]/E[X]² / N).
    """
    n = _check_int("n_people", n_people, 1, MAX_PEOPLE)
    m2 = relative_second_moment(costs)
    return float(np.sqrt((m2 if compound else m2 - 1.0) / n))


def implied_relative_second_moment(cv: float, n_people: int) -> float:
    """E[X²]/E[X]² that gives a CV of ``cv`` at ``n_people`` people: 1 + cv² × N."""
    return float(1.0 + cv**2 * n_people)


def normal_prob_overspend(cv: float, k: float) -> float:
    """P(spend > budget × (1 + k)) for normal spend with this CV: 1 − Φ(k/CV) (brief, formula 3).

    ``cv`` is the CV of annual spend, ``k`` the overspend threshold as a share of the budget.
    """
    if cv <= 0:
        return 0.0
    # 1 − Φ(z) = erfc(z/√2)/2 (Abramowitz & Stegun 7.1.2 and 26.2.29), from the standard library:
    # as exact as scipy's ndtr and better in the far tail, without ~13 MiB of scipy.special in
    # every workbook 03 kernel.
    return 0.5 * math.erfc(k / cv / math.sqrt(2.0))


# --- Simulation kernels ------------------------------------------------------------------------
def _plain_spend(x: np.ndarray, n: int, years: int, rng: np.random.Generator) -> np.ndarray:
    """Per-patient simulation: each year, resample ``n`` people and add their costs."""
    if n * years > MAX_PLAIN_PERSON_YEARS:
        raise BudgetRiskError(
            f"the plain simulation is limited to {MAX_PLAIN_PERSON_YEARS:,} people × years; "
            f"got {n:,} × {years:,}. Use method='fast'."
        )
    out = np.empty(years)
    per_chunk = max(1, PLAIN_CHUNK // n)
    for start in range(0, years, per_chunk):
        rows = min(per_chunk, years - start)
        picks = rng.integers(0, x.size, size=(rows, n), dtype=np.int32)
        out[start : start + rows] = x[picks].sum(axis=1)
    return out


def _body_sum(body: np.ndarray, counts: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Sum of ``counts`` body draws each year, as a shifted gamma matching 3 moments."""
    mu, sd = body.mean(), body.std()
    mean = counts * mu
    if sd == 0:
        return mean
    skew = np.mean((body - mu) ** 3) / sd**3
    scale = np.sqrt(counts) * sd
    g = skew / np.sqrt(np.maximum(counts, 1))
    if abs(skew) < 1e-6:
        return mean + scale * rng.standard_normal(counts.size)
    shape = 4.0 / g**2
    z = np.sign(skew) * (rng.gamma(shape) - shape) / np.sqrt(shape)
    return np.maximum(mean + scale * z, 0.0)  # a sum of costs is never below £0


def _counted_spend(xs: np.ndarray, n: int, years: int, rng: np.random.Generator) -> np.ndarray:
    """Exact spend for a sample with few distinct amounts: how many of the ``n`` people take each
    amount is multinomial, drawn as a chain of binomials (one pass per amount, vectorised)."""
    values, counts = np.unique(xs, return_counts=True)
    probs = counts / xs.size
    remaining = np.full(years, n, dtype=np.int64)
    total = np.zeros(years)
    left = 1.0
    for value, prob in zip(values[:-1], probs[:-1], strict=True):
        taken = rng.binomial(remaining, min(1.0, prob / left) if left > 0 else 1.0)
        total += value * taken
        remaining -= taken
        left -= prob
    return total + values[-1] * remaining


def _fast_spend(xs: np.ndarray, n: int, years: int, rng: np.random.Generator) -> np.ndarray:
    """Tail people drawn exactly, body approximated (see the module docstring); ``xs`` sorted."""
    if np.count_nonzero(np.diff(xs)) < EXACT_MAX_DISTINCT:
        return _counted_spend(xs, n, years, rng)
    if n <= PLAIN_BELOW_PEOPLE:
        return _plain_spend(xs, n, years, rng)
    # k tail rows, so that a person falls in the tail with chance k / rows ≤ share: tail draws
    # stay near years × TAIL_PEOPLE_PER_YEAR whatever n is (none for a tiny sample).
    share = min(MAX_TAIL_SHARE, TAIL_PEOPLE_PER_YEAR / n)
    k = int(share * xs.size)
    tail, body = xs[xs.size - k :], xs[: xs.size - k]
    in_tail = rng.binomial(n, k / xs.size, size=years)
    draws = tail[rng.integers(0, k, size=int(in_tail.sum()), dtype=np.int32)]
    running = np.concatenate(([0.0], np.cumsum(draws)))
    ends = np.cumsum(in_tail)
    tail_sum = running[ends] - running[ends - in_tail]
    return tail_sum + _body_sum(body, n - in_tail, rng)


def spend_distribution(
    costs: np.ndarray,
    n_people: int,
    n_years: int = DEFAULT_YEARS,
    cap: float | None = None,
    seed: int | np.random.Generator | None = None,
    method: str = "fast",
) -> np.ndarray:
    """Simulated annual spend (£) of a budget holder of ``n_people`` people, one value per year.

    Parameters
    ----------
    costs : array of float
        Annual cost per person (£), the population people are resampled from.
    n_people : int
        List size, 1 to ``MAX_PEOPLE``.
    n_years : int
        Simulated years, ``MIN_YEARS`` to ``MAX_YEARS``.
    cap : float, optional
        Per-patient stop-loss (£): the holder pays at most this for any one person a year.
    seed : int or numpy.random.Generator, optional
        Seed or generator (default ``DEFAULT_SEED``, so results repeat).
    method : str
        ``"fast"`` (tail exact, body approximated) or ``"plain"`` (person by person).

    Returns
    -------
    numpy.ndarray
        ``n_years`` annual totals.
    """
    x = practice_part(costs, cap)
    n = _check_int("n_people", n_people, 1, MAX_PEOPLE)
    years = _check_int("n_years", n_years, MIN_YEARS, MAX_YEARS)
    if method not in METHODS:
        raise BudgetRiskError(f"method must be one of {', '.join(METHODS)}; got {method!r}.")
    rng = as_generator(seed)
    if method == "plain":
        return _plain_spend(x, n, years, rng)
    return _fast_spend(np.sort(x), n, years, rng)


# --- Summaries ---------------------------------------------------------------------------------
def overspend_column(k: float) -> str:
    """Name of the column holding P(overspend > k): 0.05 -> "p_overspend_5pct"."""
    return "p_overspend_" + f"{k * 100:g}pct".replace(".", "_")


def summarise_spend(spend: np.ndarray, budget: float, ks: Sequence[float] = DEFAULT_KS) -> dict:
    """Mean, SD, CV, percentiles and overspend risks of simulated annual spend against a budget.

    ``cv`` is SD / budget; ``spread_5_95_pct`` is (95th − 5th percentile) as % of the budget
    (Crump's measure);
    ``overspend_p95_pct`` is the 95th-percentile overspend as % of the budget;
    ``expected_overspend_pct`` is the mean of max(spend − budget, 0) as % of the budget (what an
    insurer of overspends would charge, before costs); ``p_overspend_Xpct`` is the share of years
    with spend above budget × (1 + X/100).
    """
    s = np.asarray(spend, dtype=float)
    if s.ndim != 1 or s.size < 2 or not np.isfinite(s).all():
        raise BudgetRiskError(f"spend must be 2 or more finite amounts; got shape {s.shape}.")
    if not (np.isfinite(budget) and budget > 0):
        raise BudgetRiskError(f"the budget must be a number of £ above 0; got {budget}.")
    p5, p50, p95 = np.percentile(s, [5, 50, 95])
    out = {
        "budget_gbp": float(budget),
        "mean_gbp": float(s.mean()),
        "sd_gbp": float(s.std(ddof=1)),
        "cv": float(s.std(ddof=1) / budget),
        "p5_gbp": float(p5),
        "p50_gbp": float(p50),
        "p95_gbp": float(p95),
        "spread_5_95_pct": float((p95 - p5) / budget * 100),
        "overspend_p95_pct": float((p95 / budget - 1) * 100),
        "expected_overspend_pct": float(np.mean(np.maximum(s - budget, 0.0)) / budget * 100),
    }
    for k in _check_ks(ks):
        out[overspend_column(k)] = float(np.mean(s > budget * (1 + k)))
    return out


def risk_curve(
    costs: np.ndarray,
    sizes: Sequence[int],
    n_years: int = DEFAULT_YEARS,
    cap: float | None = None,
    ks: Sequence[float] = DEFAULT_KS,
    seed: int | np.random.Generator | None = None,
) -> pd.DataFrame:
    """Risk against list size: one row per size, simulated with the fast method.

    Columns: n_people, n_years, the ``summarise_spend`` measures, ``cv_analytic`` (fixed list,
    see ``analytic_cv``) and ``p_overspend_Xpct_normal`` (normal approximation, 1 − Φ(k/CV)).
    With ``cap`` the holder pays at most ``cap`` per person and the budget is set to match.
    """
    x = np.sort(practice_part(costs, cap))
    if len(sizes) > MAX_SIZES or len(sizes) == 0:
        raise BudgetRiskError(f"give 1 to {MAX_SIZES} list sizes; got {len(sizes)}.")
    ns = [_check_int("list size", n, 1, MAX_PEOPLE) for n in sizes]
    years = _check_int("n_years", n_years, MIN_YEARS, MAX_YEARS)
    ks = _check_ks(ks)
    rows = []
    for n, rng in zip(ns, as_generator(seed).spawn(len(ns)), strict=True):
        row = {"n_people": n, "n_years": years}
        row.update(summarise_spend(_fast_spend(x, n, years, rng), n * x.mean(), ks))
        row["cv_analytic"] = analytic_cv(x, n)
        for k in ks:
            row[overspend_column(k) + "_normal"] = normal_prob_overspend(row["cv_analytic"], k)
        rows.append(row)
    return pd.DataFrame(rows)


def prob_overspend(
    costs: np.ndarray,
    n_people: int,
    k: float = 0.05,
    n_years: int = DEFAULT_YEARS,
    cap: float | None = None,
    seed: int | np.random.Generator | None = None,
) -> float:
    """Simulated probability that a year's spend exceeds the fair budget by more than ``k``."""
    row = risk_curve(costs, [n_people], n_years, cap, (k,), seed).iloc[0]
    return float(row[overspend_column(k)])


# --- Stop-loss, multi-year balancing, pooling --------------------------------------------------
def stop_loss_split(
    costs: np.ndarray,
    n_people: int,
    cap: float = STOP_LOSS_1994_GBP,
    n_years: int = DEFAULT_YEARS,
    ks: Sequence[float] = DEFAULT_KS,
    seed: int | np.random.Generator | None = None,
) -> pd.DataFrame:
    """Who carries the risk under a per-patient stop-loss: holder, health authority, both.

    Three rows (``payer`` = "no cap", "practice (capped)", "health authority (excess)"), each with
    its expected share of spend, E[X²]/E[X]² and the ``summarise_spend`` measures against its own
    fair budget. Each row is simulated on its own, so its distribution is right but years are not
    paired across rows.
    """
    x = validate_costs(costs)
    parts = {
        "no cap": x,
        "practice (capped)": practice_part(x, cap),
        "health authority (excess)": authority_part(x, cap),
    }
    rows = []
    for (payer, part), rng in zip(parts.items(), as_generator(seed).spawn(3), strict=True):
        row = {"payer": payer, "cap_gbp": float(cap), "n_people": n_people}
        row["share_of_spend"] = float(part.sum() / x.sum())
        if part.sum() == 0:  # no one costs more than the cap: nothing to simulate
            rows.append(row)
            continue
        row["relative_second_moment"] = relative_second_moment(part)
        spend = spend_distribution(part, n_people, n_years, None, rng)
        row.update(summarise_spend(spend, n_people * part.mean(), ks))
        rows.append(row)
    return pd.DataFrame(rows)


def rolling_balance(
    costs: np.ndarray,
    n_people: int,
    window: int = BALANCE_YEARS,
    n_years: int = DEFAULT_YEARS,
    cap: float | None = None,
    ks: Sequence[float] = DEFAULT_KS,
    seed: int | np.random.Generator | None = None,
) -> pd.DataFrame:
    """Single-year risk beside the risk of a ``window``-year rolling balance.

    Simulates ``n_years`` consecutive years; for the rolling balance the spend and budget of each
    run of ``window`` consecutive years are added up, and overspend is judged on the totals. Two
    rows (``basis`` = "1 year", "N-year rolling balance") with the ``summarise_spend`` measures.
    Years are independent here [U], so the balance helps more than it would with persistent costs.
    """
    x = practice_part(costs, cap)
    n = _check_int("n_people", n_people, 1, MAX_PEOPLE)
    years = _check_int("n_years", n_years, MIN_YEARS, MAX_YEARS)
    w = _check_int("window", window, 1, 10)
    spend = spend_distribution(x, n, years, None, seed)
    running = np.concatenate(([0.0], np.cumsum(spend)))
    windows = running[w:] - running[:-w]
    budget = n * x.mean()
    rows = [
        {"basis": "1 year", "window_years": 1, **summarise_spend(spend, budget, ks)},
        {
            "basis": f"{w}-year rolling balance",
            "window_years": w,
            **summarise_spend(windows, budget * w, ks),
        },
    ]
    return pd.DataFrame(rows)


def pooled_risk(
    costs: np.ndarray,
    list_sizes: Sequence[int],
    names: Sequence[str] | None = None,
    n_years: int = DEFAULT_YEARS,
    cap: float | None = None,
    ks: Sequence[float] = DEFAULT_KS,
    seed: int | np.random.Generator | None = None,
) -> pd.DataFrame:
    """Risk of each member practice on its own and of the members pooling their budgets.

    Each member's spend is simulated for the same ``n_years``; the pool's spend in a year is the
    members' total against the total budget. One row per member (``role`` = "member") and a last
    row ``role`` = "pool", with the ``summarise_spend`` measures.
    """
    x = np.sort(practice_part(costs, cap))
    if not 1 <= len(list_sizes) <= MAX_MEMBERS:
        raise BudgetRiskError(f"give 1 to {MAX_MEMBERS} member list sizes; got {len(list_sizes)}.")
    ns = [_check_int("list size", n, 1, MAX_PEOPLE) for n in list_sizes]
    labels = [f"member {i + 1}" for i in range(len(ns))] if names is None else list(names)
    if len(labels) != len(ns):
        raise BudgetRiskError(f"give one name per member: {len(ns)} sizes, {len(labels)} names.")
    if sum(ns) > MAX_PEOPLE:
        raise BudgetRiskError(f"the pool must have at most {MAX_PEOPLE:,} people; got {sum(ns):,}.")
    years = _check_int("n_years", n_years, MIN_YEARS, MAX_YEARS)
    spends = [
        _fast_spend(x, n, years, rng)
        for n, rng in zip(ns, as_generator(seed).spawn(len(ns)), strict=True)
    ]
    rows = [
        {"name": name, "role": "member", "n_people": n, **summarise_spend(s, n * x.mean(), ks)}
        for name, n, s in zip(labels, ns, spends, strict=True)
    ]
    pool = np.sum(spends, axis=0)
    rows.append(
        {
            "name": "pool",
            "role": "pool",
            "n_people": sum(ns),
            **summarise_spend(pool, sum(ns) * x.mean(), ks),
        }
    )
    return pd.DataFrame(rows)


def crump_comparison(
    costs: np.ndarray,
    n_years: int = DEFAULT_YEARS,
    cap: float | None = None,
    seed: int | np.random.Generator | None = None,
) -> pd.DataFrame:
    """The model's spread and CV at Crump's three sizes (9,000, 24,000, 179,400) beside Crump's.

    Columns: n_people, spread_5_95_pct (model), crump_spread_pct, cv (model), cv_analytic,
    crump_cv (NaN for the district, whose SD was not given), relative_second_moment (model) and
    crump_implied_relative_second_moment (1 + CV² × N from Crump's SD and mean).
    """
    sizes = [CRUMP_LIST_SMALL, CRUMP_LIST_LARGE, CRUMP_DISTRICT]
    curve = risk_curve(costs, sizes, n_years, cap, DEFAULT_KS, seed)
    crump_cv = [CRUMP_CV_SMALL, CRUMP_CV_LARGE, np.nan]
    out = curve[["n_people", "spread_5_95_pct", "cv", "cv_analytic"]].copy()
    out["crump_spread_pct"] = [
        s * 100 for s in (CRUMP_SPREAD_SMALL, CRUMP_SPREAD_LARGE, CRUMP_SPREAD_DISTRICT)
    ]
    out["crump_cv"] = crump_cv
    out["relative_second_moment"] = relative_second_moment(practice_part(costs, cap))
    out["crump_implied_relative_second_moment"] = [
        implied_relative_second_moment(cv, n) for cv, n in zip(crump_cv, sizes, strict=True)
    ]
    return out
