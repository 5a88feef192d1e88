"""Risk in primary care: expected errors, prescribing-error figures, audit sizes and screening.

Four pieces for the risk workbook:

- How many errors to expect from a number of GP contacts and an error rate, with the Poisson range
  that chance alone gives, and the national and per-practice sums step by step. Sandars & Esmail
  (Fam Pract 2003;20:231) put errors at 5-80 per 100,000 consultations; the project works with 16
  per 100,000, quoted at a 2007 conference but not found in a primary source.
- The prescribing-error figures, which measure different things: PRACtICe (Avery et al., GMC 2012;
  BJGP 2013;63:e543) found an error in 4.9% of items (severe in about 1 in 550), while the 2003
  review's "up to 11%" of prescriptions is the top of a range across studies, per prescription.
- An audit planner: how many items a practice must check to pin its error rate to +/- a margin,
  by the normal approximation, with Wilson and exact (Clopper-Pearson) checks beside it.
- A risk-based screening simulation: practices with known true error rates and incomplete
  reporting (only about 1 error in 8 reaches the National Reporting and Learning System) are
  screened with a funnel-plot rule. It counts unsafe practices caught and missed and safe ones
  flagged. Because reporting varies between practices, a practice that reports more incidents may
  be the safer one.

Tags: [V] seen in a cited source; [D] derived from [V] figures (sum in the comment); [U] an
unverified assumption that the user can change.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from pbc_lib.models import distributions as dd
from pbc_lib.models import funnel as fp

# --------------------------------------------------------------------------------------------
# Published figures
# --------------------------------------------------------------------------------------------
SRC_CONTACTS = "NHS IC / QResearch (Hippisley-Cox & Vinogradova), 2008; via Pulse"
SRC_SANDARS = "Sandars J, Esmail A. Fam Pract 2003;20:231-6"
SRC_SEED = "Practice-management report of a Manchester conference, Sep 2007 (Anna Walker)"
SRC_NRLS = "HSJ: 5,706 NRLS reports from general practice in a year"
SRC_PRACTICE = "Avery AJ et al. PRACtICe study, GMC 2012; BJGP 2013;63:e543"
SRC_IRISH = "Irish community pharmacy data, Eur J Gen Pract 2009"
SRC_CONSULT_RATE = "NHS IC / QResearch: 5.3 consultations per patient-year (2006)"

GP_CONTACTS_PER_YEAR = 300_000_000  # [V] ~300m GP contacts a year (300.4m consultations, 2008)
GP_CONSULTATIONS_2008 = 300_400_000  # [V] NHS IC / QResearch, 2008 (Pulse)
ERROR_RATE_LOW_PER_100K = 5.0  # [V] Sandars & Esmail 2003: 5-80 errors per 100,000 consultations
ERROR_RATE_HIGH_PER_100K = 80.0  # [V] same source
# The project's working figure. It is quoted in the Sep 2007 conference report (seed article 002)
# and lies inside Sandars & Esmail's 5-80 [V], but no primary source was found (brief §0) [U].
PROJECT_ERROR_RATE_PER_100K = 16.0  # [U] in the [V] range; show it with the range
CLAIMED_ERRORS_PER_DAY = 120  # [U] same conference report: "120 mistakes per day"
NRLS_GP_REPORTS_PER_YEAR = 5_706  # [V] HSJ: NRLS reports from general practice in a year
EXPECTED_ERRORS_PER_YEAR = 48_000  # [D] 300,000,000 x 16 / 100,000
REPORTING_COMPLETENESS = NRLS_GP_REPORTS_PER_YEAR / EXPECTED_ERRORS_PER_YEAR  # [D] 5,706/48,000
CONSULTATIONS_PER_PATIENT = 5.3  # [V] NHS IC / QResearch, 2006
CONSULTATIONS_PER_PRACTICE = 34_200  # [V] brief: ~34,200 consultations per typical practice
WEEKS_PER_YEAR = 365.25 / 7
DAYS_PER_YEAR = 365

PRACTICE_ERROR_RATE = 0.049  # [V] PRACtICe: 4.9% of items had a prescribing or monitoring error
PRACTICE_ERROR_CI = (0.044, 0.055)  # [V] PRACtICe: 95% CI 4.4% to 5.5%
PRACTICE_SEVERE_RATE = 0.002  # [V] PRACtICe: severe errors in 0.2% of items
PRACTICE_SEVERE_ONE_IN = 550  # [V] PRACtICe: "1 in 550" items
PRACTICE_SEVERE_SHARE = 0.04  # [V] PRACtICe: 4% of errors were severe
PRACTICE_PATIENTS_ONE_IN = 8  # [V] PRACtICe: 1 in 8 patients had an error
PRACTICE_PRACTICES = 15  # [V] PRACtICe: 15 practices
PRACTICE_PATIENTS = 1_777  # [V] PRACtICe: 1,777 patients
PRACTICE_ITEMS = 6_048  # [V] PRACtICe: 6,048 items
REVIEW_PRESCRIPTION_ERROR_UPPER = 0.11  # [V] Sandars & Esmail 2003: "up to 11%" of prescriptions
IRISH_PRESCRIPTION_ERROR_RATE = 0.124  # [V] Eur J Gen Pract 2009: 12.4% of prescriptions
IRISH_ITEM_ERROR_RATE = 0.062  # [V] same source: 6.2% of items
PRESCRIBING_WORDING = (  # [V] the brief's suggested wording
    "up to 11% (2003 review); 1 in 20 items in the 2012 PRACtICe study"
)

# --------------------------------------------------------------------------------------------
# Assumptions for the audit planner and the screening simulation (all changeable)
# --------------------------------------------------------------------------------------------
DEFAULT_MARGIN = 0.01  # the planning target: +/- 1 percentage point
DEFAULT_CONFIDENCE = 0.95
MAX_AUDIT_ITEMS = 200_000  # cap on the audit-size search
AUDIT_COARSE_POINTS = 2_000  # coarse grid of the audit-size search (then every n in one step)

# "Truly unsafe" [U, labelled assumption]: a true error rate of at least twice the project's
# figure, 2 x 16 = 32 errors per 100,000 consultations. No source defines an unsafe practice.
UNSAFE_RATE_PER_100K = 2 * PROJECT_ERROR_RATE_PER_100K  # [U]
TRUE_RATE_SIGMA = 0.55  # [U] lognormal spread of true rates, as in pbc_lib.synth
PRACTICE_SIZE_SIGMA = 0.6  # [D] brief: practice lists lognormal with sigma ~0.6
REPORTING_CONCENTRATION = 12.0  # [U] Beta spread of reporting completeness, as in pbc_lib.synth
# [U] How strongly a good safety culture goes with fuller reporting: the correlation (on a
# normal scale) between a low true error rate and high reporting completeness. 0 = unrelated.
DEFAULT_CULTURE_LINK = 0.5  # [U] illustrative
MAX_PRACTICES = 20_000
MAX_YEARS = 10
MAX_PAIRS = 50_000  # random practice pairs used for the "reports more, safer" share
MAX_ROWS = 10_000  # cap on rows in expected_incidents


class SafetyInputError(ValueError):
    """An input to a safety model is missing or out of range."""


def _number(name: str, value, low: float, high: float, *, inclusive_low: bool = False) -> float:
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise SafetyInputError(f"{name} must be a number; got {value!r}") from None
    below = x < low if inclusive_low else x <= low
    if not np.isfinite(x) or below or x > high:
        word = "at least" if inclusive_low else "above"
        raise SafetyInputError(
            f"{name} must be a number {word} {low:g} and at most {high:g}; got {x}"
        )
    return x


def _whole(name: str, value, low: int, high: int) -> int:
    x = _number(name, value, low, high, inclusive_low=True)
    if x != int(x):
        raise SafetyInputError(f"{name} must be a whole number from {low} to {high}; got {value}")
    return int(x)


# --------------------------------------------------------------------------------------------
# Expected errors
# --------------------------------------------------------------------------------------------
def poisson_range(mean, confidence: float = DEFAULT_CONFIDENCE) -> tuple[np.ndarray, np.ndarray]:
    """The central range of counts that chance alone gives around ``mean`` (Poisson quantiles)."""
    mean = np.asarray(mean, dtype=float)
    tail = (1 - confidence) / 2
    return dd.poisson_ppf(tail, mean), dd.poisson_ppf(1 - tail, mean)


def expected_incidents(
    contacts,
    rate_per_100k=PROJECT_ERROR_RATE_PER_100K,
    confidence: float = DEFAULT_CONFIDENCE,
) -> pd.DataFrame:
    """Errors expected from ``contacts`` at ``rate_per_100k``, with the Poisson range.

    ``contacts`` and ``rate_per_100k`` may be numbers or arrays (broadcast together). ``lower`` and
    ``upper`` bound the counts a year would show ``confidence`` of the time if the rate were
    exactly right (exact Poisson quantiles). Columns: contacts, rate_per_100k, expected, lower,
    upper, per_day.
    """
    confidence = _number("confidence", confidence, 0.5, 0.9999)
    try:
        c, r = np.broadcast_arrays(
            np.asarray(contacts, dtype=float), np.asarray(rate_per_100k, dtype=float)
        )
    except ValueError:
        raise SafetyInputError("contacts and rate_per_100k must have matching lengths") from None
    if c.size > MAX_ROWS:
        raise SafetyInputError(f"at most {MAX_ROWS:,} rows at once; got {c.size:,}")
    for name, arr, high in (("contacts", c, 1e10), ("rate_per_100k", r, 100_000)):
        if not (np.isfinite(arr) & (arr > 0) & (arr <= high)).all():
            raise SafetyInputError(f"{name} must be above 0 and at most {high:g}; got {arr}")
    expected = c.ravel() * r.ravel() / 100_000
    lower, upper = poisson_range(expected, confidence)
    return pd.DataFrame(
        {
            "contacts": c.ravel(),
            "rate_per_100k": r.ravel(),
            "expected": expected,
            "lower": lower,
            "upper": upper,
            "per_day": expected / DAYS_PER_YEAR,
        }
    )


def incident_range(contacts: float = GP_CONTACTS_PER_YEAR) -> pd.DataFrame:
    """Expected errors at the low end, the project figure and the high end of 5-80 per 100,000."""
    rates = [ERROR_RATE_LOW_PER_100K, PROJECT_ERROR_RATE_PER_100K, ERROR_RATE_HIGH_PER_100K]
    out = expected_incidents(contacts, np.array(rates))
    out.insert(0, "scenario", ["low end (5)", "project figure (16)", "high end (80)"])
    out["source"] = [SRC_SANDARS, SRC_SEED, SRC_SANDARS]
    return out


def rate_interval(
    count: int, contacts: float, confidence: float = DEFAULT_CONFIDENCE
) -> tuple[float, float]:
    """Exact (Garwood) confidence interval for a rate per 100,000 from an observed count."""
    count = _whole("count", count, 0, 10_000_000)
    contacts = _number("contacts", contacts, 0, 1e10)
    tail = (1 - _number("confidence", confidence, 0.5, 0.9999)) / 2
    low = 0.0 if count == 0 else dd.chi2_ppf(tail, 2 * count) / 2
    high = dd.chi2_ppf(1 - tail, 2 * count + 2) / 2
    return float(low / contacts * 100_000), float(high / contacts * 100_000)


def _given(value: float, default: float, words: str, source: str, unit: str) -> tuple:
    """A step for an input: the published figure with its source, or the user's own [U]."""
    if np.isclose(value, default):
        return (words, "", value, unit, source, "V")
    return (f"{words} (your figure)", "", value, unit, "", "U")


def _rate_step(rate: float) -> tuple:
    """The error-rate step: the project's figure (16, [U]) or the user's, inside 5-80 or not."""
    if np.isclose(rate, PROJECT_ERROR_RATE_PER_100K):
        return ("Error rate (project figure)", "", rate, "per 100,000", SRC_SEED, "U")
    inside = ERROR_RATE_LOW_PER_100K <= rate <= ERROR_RATE_HIGH_PER_100K
    words = "your figure, inside the published 5-80" if inside else "your figure, outside 5-80"
    return (f"Error rate ({words})", "", rate, "per 100,000", SRC_SANDARS, "U")


def _steps(rows: list[tuple[str, str, float, str, str, str]]) -> pd.DataFrame:
    table = pd.DataFrame(rows, columns=["quantity", "sum", "value", "unit", "source", "tag"])
    table.insert(0, "step", range(1, len(table) + 1))
    return table


def national_arithmetic(
    contacts: float = GP_CONTACTS_PER_YEAR,
    rate_per_100k: float = PROJECT_ERROR_RATE_PER_100K,
    reports: float = NRLS_GP_REPORTS_PER_YEAR,
) -> pd.DataFrame:
    """The national sum, a row per step: words, the sum as text, value, unit, source and tag."""
    contacts = _number("contacts", contacts, 0, 1e10)
    rate = _number("rate_per_100k", rate_per_100k, 0, 100_000)
    reports = _number("reports", reports, 0, 1e9, inclusive_low=True)
    errors = contacts * rate / 100_000
    low, high = (
        contacts * r / 100_000 for r in (ERROR_RATE_LOW_PER_100K, ERROR_RATE_HIGH_PER_100K)
    )
    implied = CLAIMED_ERRORS_PER_DAY * DAYS_PER_YEAR * 100_000 / rate
    return _steps(
        [
            _given(contacts, GP_CONTACTS_PER_YEAR, "GP contacts a year", SRC_CONTACTS, "contacts"),
            _rate_step(rate),
            ("Errors a year", f"{contacts:,.0f} x {rate:g} / 100,000", errors, "errors", "", "D"),
            ("Errors a day", f"{errors:,.0f} / {DAYS_PER_YEAR}", errors / DAYS_PER_YEAR,
             "errors", "", "D"),
            ("Errors a year at 5 per 100,000", f"{contacts:,.0f} x 5 / 100,000", low, "errors",
             SRC_SANDARS, "D"),
            ("Errors a year at 80 per 100,000", f"{contacts:,.0f} x 80 / 100,000", high, "errors",
             SRC_SANDARS, "D"),
            ("Contacts that '120 a day' implies",
             f"{CLAIMED_ERRORS_PER_DAY} x {DAYS_PER_YEAR} x 100,000 / {rate:g}", implied,
             "contacts", SRC_SEED, "D"),
            _given(reports, NRLS_GP_REPORTS_PER_YEAR, "Reports to the NRLS from general practice",
                   SRC_NRLS, "reports"),
            ("Share of errors reported", f"{reports:,.0f} / {errors:,.0f}", reports / errors,
             "share", "", "D"),
        ]
    )  # fmt: skip


def practice_arithmetic(
    consultations: float = CONSULTATIONS_PER_PRACTICE,
    rate_per_100k: float = PROJECT_ERROR_RATE_PER_100K,
    completeness: float = REPORTING_COMPLETENESS,
) -> pd.DataFrame:
    """The same sum for one practice: errors a year, how often, and how many get reported."""
    c = _number("consultations", consultations, 0, 1e8)
    rate = _number("rate_per_100k", rate_per_100k, 0, 100_000)
    share = _number("completeness", completeness, 0, 1)
    errors = c * rate / 100_000
    low, high = poisson_range(errors)
    reported = errors * share
    national = np.isclose(share, REPORTING_COMPLETENESS)
    share_sum = "5,706 / 48,000 nationally" if national else "your assumption"
    share_source, share_tag = (SRC_NRLS, "D") if national else ("", "U")
    return _steps(
        [
            _given(c, CONSULTATIONS_PER_PRACTICE, "Consultations a year",
                   "brief: typical practice", "consultations"),
            _rate_step(rate),
            ("Errors a year", f"{c:,.0f} x {rate:g} / 100,000", errors, "errors", "", "D"),
            ("Weeks between errors", f"{WEEKS_PER_YEAR:.2f} / {errors:.2f}",
             WEEKS_PER_YEAR / errors, "weeks", "", "D"),
            ("Low end of the 95% range of errors", "Poisson 2.5th percentile", float(low),
             "errors", "", "D"),
            ("High end of the 95% range of errors", "Poisson 97.5th percentile", float(high),
             "errors", "", "D"),
            ("Share of errors reported", share_sum, share, "share", share_source, share_tag),
            ("Reports expected a year", f"{errors:.2f} x {share:.3f}", reported, "reports", "",
             "D"),
            ("Chance of a year with no report at all", f"exp(-{reported:.2f})",
             float(np.exp(-reported)), "probability", "Poisson", "D"),
        ]
    )  # fmt: skip


# --------------------------------------------------------------------------------------------
# Prescribing errors
# --------------------------------------------------------------------------------------------
def prescribing_error_figures() -> pd.DataFrame:
    """The published prescribing-error figures side by side, with what each one counts.

    Columns: figure, value, per (the denominator), kind (measured rate, or the top of a range
    across studies), source, tag. The 11% and the 4.9% are not the same measure: one is the upper
    end of the studies a 2003 review found, per prescription (which may hold several items); the
    other is one study's measured rate per item, with a confidence interval.
    """
    rows = [
        ("PRACtICe: items with an error", PRACTICE_ERROR_RATE, "item",
         "measured rate (95% CI 4.4% to 5.5%)", SRC_PRACTICE, "V"),
        ("PRACtICe: items with a severe error", PRACTICE_SEVERE_RATE, "item",
         "measured rate (about 1 in 550)", SRC_PRACTICE, "V"),
        ("PRACtICe: errors judged severe", PRACTICE_SEVERE_SHARE, "error",
         "measured share", SRC_PRACTICE, "V"),
        ("PRACtICe: patients with an error", 1 / PRACTICE_PATIENTS_ONE_IN, "patient",
         "measured rate (1 in 8)", SRC_PRACTICE, "V"),
        ("2003 review: prescriptions with an error", REVIEW_PRESCRIPTION_ERROR_UPPER,
         "prescription", "upper end of a range across studies ('up to')", SRC_SANDARS, "V"),
        ("Irish pharmacies: prescriptions with an error", IRISH_PRESCRIPTION_ERROR_RATE,
         "prescription", "measured rate", SRC_IRISH, "V"),
        ("Irish pharmacies: items with an error", IRISH_ITEM_ERROR_RATE, "item",
         "measured rate", SRC_IRISH, "V"),
    ]  # fmt: skip
    return pd.DataFrame(rows, columns=["figure", "value", "per", "kind", "source", "tag"])


def items_to_check(
    p: float = PRACTICE_ERROR_RATE,
    margin: float = DEFAULT_MARGIN,
    confidence: float = DEFAULT_CONFIDENCE,
) -> int:
    """Items to audit so the error rate is known to +/- ``margin`` (normal approximation).

    n = ceil(z^2 * p * (1 - p) / margin^2), with z the two-sided normal multiplier. For p = 4.9%,
    +/- 1 point at 95%: 1.96^2 x 0.049 x 0.951 / 0.01^2 = 1,790.1, so 1,791 items. The normal
    interval does well here (about 88 errors expected): ``audit_sample_sizes`` puts the Wilson
    answer (1,803, under 1% more) and the exact Clopper-Pearson one (1,892, about 6% more, as it is
    conservative) beside it. For rare events the normal answer is too small: severe errors at 0.2%
    to +/- 0.2 points need 1,917 items by the normal formula but 2,309 (Wilson) or 2,513 (exact).
    """
    p = _number("p", p, 0, 1)
    if p >= 1:
        raise SafetyInputError(f"p must be above 0 and below 1; got {p}")
    margin = _number("margin", margin, 0, 0.5)
    z = fp.z_for_level(_number("confidence", confidence, 0.5, 0.9999))
    n = int(np.ceil(z**2 * p * (1 - p) / margin**2 - 1e-9))
    if n > MAX_AUDIT_ITEMS:
        raise SafetyInputError(
            f"that margin needs {n:,} items, more than the {MAX_AUDIT_ITEMS:,} this planner allows"
        )
    return n


def half_widths(items, p: float, confidence: float = DEFAULT_CONFIDENCE) -> pd.DataFrame:
    """Half the width of the normal, Wilson and exact intervals if a share ``p`` of ``items`` err.

    The error count p * n may be fractional (a planning figure); the exact (Clopper-Pearson)
    interval then uses the beta quantiles at that count.
    """
    n = np.asarray(items, dtype=float)
    z = fp.z_for_level(confidence)
    tail = (1 - confidence) / 2
    normal = z * np.sqrt(p * (1 - p) / n)
    wilson = z * np.sqrt(p * (1 - p) / n + z**2 / (4 * n**2)) / (1 + z**2 / n)
    x = p * n
    exact = (dd.beta_ppf(1 - tail, x + 1, n - x) - dd.beta_ppf(tail, x, n - x + 1)) / 2
    return pd.DataFrame({"items": n, "normal": normal, "wilson": wilson, "exact": exact})


def audit_sample_sizes(
    p: float = PRACTICE_ERROR_RATE,
    margin: float = DEFAULT_MARGIN,
    confidence: float = DEFAULT_CONFIDENCE,
) -> pd.DataFrame:
    """Items needed by each interval method for a half-width of at most ``margin``.

    Columns: method, items, half_width (at that many items). The normal answer is
    ``items_to_check``; Wilson and exact are the smallest n after the last n up to four times
    that (plus 1,000) whose interval is still too wide. The search checks a coarse grid of at
    most ``AUDIT_COARSE_POINTS`` values, then every n in the step where the last too-wide value
    lies, so a 40,000-item answer takes milliseconds, not a second (the half-widths fall
    smoothly with n; the test compares it with checking every n).
    """
    n_normal = items_to_check(p, margin, confidence)
    top = min(4 * n_normal + 1_000, MAX_AUDIT_ITEMS)
    step = max(1, -(-top // AUDIT_COARSE_POINTS))
    coarse = np.unique(np.r_[np.arange(1, top + 1, step), top])
    widths = half_widths(coarse, p, confidence)
    rows = []
    for method in ("normal", "wilson", "exact"):
        too_wide = np.flatnonzero(widths[method].to_numpy() > margin)
        n = 1
        if too_wide.size:
            i = too_wide[-1]
            fine = np.arange(coarse[i], coarse[min(i + 1, coarse.size - 1)] + 1)
            fine_widths = half_widths(fine, p, confidence)[method].to_numpy()
            n = int(fine[np.flatnonzero(fine_widths > margin)[-1]] + 1)
        if n > top:
            raise SafetyInputError(f"the {method} interval needs more than {top:,} items")
        rows.append((method, n, float(half_widths([n], p, confidence)[method].iloc[0])))
    return pd.DataFrame(rows, columns=["method", "items", "half_width"])


# --------------------------------------------------------------------------------------------
# Risk-based screening
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Screening:
    """The result of ``screen_practices``: counts, a summary table and one row per practice."""

    counts: dict[str, int]
    summary: pd.DataFrame
    practices: pd.DataFrame


def _draw_practices(rng, n, consultations, years, mean_rate, sigma, completeness, culture_link):
    """Consultations, true rate per 100,000, completeness and reported incidents per practice."""
    size = consultations * np.exp(PRACTICE_SIZE_SIGMA * rng.standard_normal(n))
    size *= consultations / size.mean()  # keep the average practice at ``consultations``
    u = rng.standard_normal(n)  # high u = more errors
    true_rate = np.clip(
        mean_rate * np.exp(sigma * u - sigma**2 / 2),
        ERROR_RATE_LOW_PER_100K,
        ERROR_RATE_HIGH_PER_100K,
    )
    v = -culture_link * u + np.sqrt(1 - culture_link**2) * rng.standard_normal(n)
    c = REPORTING_CONCENTRATION
    share = dd.beta_ppf(dd.norm_cdf(v), completeness * c, (1 - completeness) * c)
    exposure = np.maximum(np.round(size), 1) * years
    reported = rng.poisson(exposure * true_rate / 100_000 * share)
    return exposure, true_rate, share, reported


def _higher_reporter_safer(rng, reported_rate, true_rate) -> float:
    """Share of random pairs (unequal reported rates) in which the higher reporter is safer."""
    n = reported_rate.size
    i, j = rng.integers(0, n, MAX_PAIRS), rng.integers(0, n, MAX_PAIRS)
    keep = reported_rate[i] != reported_rate[j]
    hi = np.where(reported_rate[i] > reported_rate[j], i, j)[keep]
    lo = np.where(reported_rate[i] > reported_rate[j], j, i)[keep]
    return float(np.mean(true_rate[hi] < true_rate[lo])) if keep.any() else float("nan")


def _outcomes(unsafe: np.ndarray, flagged: np.ndarray) -> np.ndarray:
    return np.select(
        [unsafe & flagged, unsafe & ~flagged, ~unsafe & flagged],
        ["unsafe, caught", "unsafe, missed", "safe, flagged"],
        default="safe, not flagged",
    )


def screen_practices(
    n_practices: int = 1_000,
    *,
    consultations: float = CONSULTATIONS_PER_PRACTICE,
    years: int = 1,
    mean_rate_per_100k: float = PROJECT_ERROR_RATE_PER_100K,
    rate_sigma: float = TRUE_RATE_SIGMA,
    completeness: float = REPORTING_COMPLETENESS,
    culture_link: float = DEFAULT_CULTURE_LINK,
    unsafe_rate_per_100k: float = UNSAFE_RATE_PER_100K,
    level: float = fp.ALARM_LEVEL,
    seed: int | np.random.Generator = 0,
) -> Screening:
    """Screen simulated practices by their reported incident rate; count who is caught.

    Each practice has a true error rate (lognormal around ``mean_rate_per_100k``, kept within
    5-80) and a reporting completeness (Beta, mean ``completeness``), linked by ``culture_link``:
    above 0, safer practices tend to report a larger share of their errors [U]. Reported incidents
    over ``years`` are Poisson. The rule flags a practice whose reported rate lies above the
    exact Poisson ``level`` upper funnel limit around the pooled reported rate. A practice is
    truly unsafe when its true rate is at least ``unsafe_rate_per_100k`` [U, default 2 x 16].

    Returns a ``Screening``: counts (practices, truly_unsafe, caught, missed, safe_flagged,
    safe_not_flagged, flagged), a summary table of those and the rates built from them, and a
    per-practice table (consultations over all the years, true and reported rates, reporting
    completeness, the upper limit, unsafe, flagged and outcome).
    """
    n = _whole("n_practices", n_practices, 2, MAX_PRACTICES)
    years = _whole("years", years, 1, MAX_YEARS)
    consultations = _number("consultations", consultations, 100, 1e6)
    mean_rate = _number("mean_rate_per_100k", mean_rate_per_100k, 0, ERROR_RATE_HIGH_PER_100K)
    sigma = _number("rate_sigma", rate_sigma, 0, 2, inclusive_low=True)
    share = _number("completeness", completeness, 0, 0.99)
    link = _number("culture_link", culture_link, -0.95, 0.95, inclusive_low=True)
    unsafe_at = _number("unsafe_rate_per_100k", unsafe_rate_per_100k, 0, 100_000)
    level = _number("level", level, 0.5, 0.9999)
    rng = np.random.default_rng(seed)
    exposure, true_rate, reporting, reported = _draw_practices(
        rng, n, consultations, years, mean_rate, sigma, share, link
    )
    # The PCT's reported rate per consultation; if nobody reports, centre on one report so the
    # funnel still has a target above 0.
    pooled = max(reported.sum(), 1) / exposure.sum()
    upper = fp.exact_limit("rate", pooled, exposure, (1 + level) / 2)
    flagged = reported / exposure > upper
    unsafe = true_rate >= unsafe_at
    table = pd.DataFrame(
        {
            "practice": np.arange(1, n + 1),
            "consultations": exposure,
            "true_rate_per_100k": true_rate,
            "reporting_completeness": reporting,
            "reported": reported,
            "reported_rate_per_100k": reported / exposure * 100_000,
            "upper_limit_per_100k": upper * 100_000,
            "unsafe": unsafe,
            "flagged": flagged,
            "outcome": _outcomes(unsafe, flagged),
        }
    )
    paradox = _higher_reporter_safer(rng, reported / exposure, true_rate)
    return _screening_result(table, paradox, unsafe_at)


def _screening_result(table: pd.DataFrame, paradox: float, unsafe_at: float) -> Screening:
    unsafe, flagged = table["unsafe"].to_numpy(), table["flagged"].to_numpy()
    counts = {
        "practices": len(table),
        "truly_unsafe": int(unsafe.sum()),
        "caught": int((unsafe & flagged).sum()),
        "missed": int((unsafe & ~flagged).sum()),
        "safe_flagged": int((~unsafe & flagged).sum()),
        "safe_not_flagged": int((~unsafe & ~flagged).sum()),
        "flagged": int(flagged.sum()),
    }
    reported = table["reported_rate_per_100k"]
    rho = (
        dd.spearman_rho(reported, table["true_rate_per_100k"])
        if reported.nunique() > 1
        else float("nan")  # nobody's reported rate differs: no ranking to compare
    )
    rows = [("unsafe means a true rate per 100,000 of at least [U]", unsafe_at)]
    rows += [(k.replace("_", " "), float(v)) for k, v in counts.items()] + [
        ("share of unsafe practices caught", _ratio(counts["caught"], counts["truly_unsafe"])),
        ("share of flagged practices truly unsafe", _ratio(counts["caught"], counts["flagged"])),
        ("rank correlation, reported v true rate", float(rho)),
        ("pairs where the higher reporter is safer", paradox),
    ]
    summary = pd.DataFrame(rows, columns=["measure", "value"])
    return Screening(counts, summary, table)


def _ratio(a: int, b: int) -> float:
    return a / b if b else float("nan")
