"""Demand management: a practice's referral pathway, and what schemes to manage demand are worth.

**The referral pathway.** A GP referral leads to a first outpatient attendance, follow-ups
(about 2.3 per first attendance, HES [V]) and for some an elective or day-case admission. Under
Payment by Results each step is paid at tariff, so a practice's referral pattern has a price.
:func:`referral_pathway` sets out each step for one practice beside the PCT average: count, rate
per 1,000, ratio to the step before, and cost at a year's prices. Practice referral rates ranged
2.4%-24.4% a year across 202 practices, with only 1.3% of the variation explained by age, sex and
morbidity (O'Sullivan, via Pulse [V]); :func:`expected_referrals` gives observed and expected
referrals for the funnel plot, optionally standardised for age.

**Schemes.** Each scheme is a frozen dataclass whose uncertain inputs are :class:`Uncertain`
ranges that carry their source and tag, so the user can change them and see the evidence:

- a referral-management centre or ICATS (:class:`ReferralManagement`): a share of referrals is
  triaged; some are redirected to a community service at its own price, some sent back to the GP.
  There was no evidence that referral-management centres work (Davies & Elwyn, BMJ
  2006;332:844 [V]); Worcestershire's ICATS reported ~30% of orthopaedic referrals avoidable and
  ~£2m saved [V]; the ICATS demonstration sites undercut tariff but mostly *added* capacity
  (Sibbald et al., JHSRP 2008 [V]): supply-induced demand. The 18-week clock starts at referral
  to such a service, not at the hospital (2010 rules suite [V]);
- case management of people at high risk of emergency admission (:class:`CaseManagement`): the
  Evercare pilots (62 practices) found no significant effect on emergency admissions, +16.5%
  (95% CI -5.7% to +38.7%) (Gravelle et al., BMJ 2007;334:31 [V]).

:func:`simulate` draws the uncertain inputs (seeded, vectorised over draws) and returns the net
saving and return on investment with their spread and the chance of losing money, and who gains:
the practice (a share of freed-up resources: 50% under the 2004 rules, at least 70% from 2006/07,
Hansard 6 Nov 2006 [V]), the PCT (which held the real budget and bears any loss), the acute trust
(income lost at tariff) and the community provider. :func:`bolton_style_scenario` is a ready-made
illustration (25 case managers and an assessment service); the Bolton figures were **not**
found in a retrieved source, so it is labelled [U] illustrative.

Tags: [V] seen in a cited source; [D] derived from [V] figures (arithmetic shown); [U] an
unverified assumption that the user can change.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields, replace
from typing import Literal

import numpy as np
import pandas as pd

from pbc_lib.data import AGE_BANDS
from pbc_lib.models.budgets import SAVINGS_SHARE_2004, SAVINGS_SHARE_2006
from pbc_lib.models.practice_profile import MEASURES, activity_rates
from pbc_lib.synth import AGE_REL
from pbc_lib.ui import parse_financial_year

# --------------------------------------------------------------------------------------------
# Published figures
# --------------------------------------------------------------------------------------------
FOLLOW_UPS_PER_FIRST = 2.3  # [V] HES Jun 2008-May 2009: ~2.3 follow-ups per first attendance
DNA_RATE = 0.08  # [V] HES Jun 2008-May 2009: 8% of outpatient appointments not attended
ADMITTED_SHARE = 311_601 / 1_221_181  # [D] 0.255 of completed RTT pathways end in admission
# (DH press notice, Sep 2011)
EMERGENCY_MARGINAL_RATE_2007 = 0.50  # [V] Reckon: from 2007/08, emergency activity above the
# 2005/06 outturn paid at 50% of tariff
EMERGENCY_MARGINAL_RATE_2010 = 0.30  # [V] HFMA: from 2010/11, above the 2008/09 baseline, 30%
HIGH_RISK_SHARE = 0.02  # [V] Murphy, BMJ 2004;329:1251: "2% of chronic patients cause 30% of
UNPLANNED_SHARE = 0.30  # unplanned admissions" [V] (the same quotation)
PCT_EMERGENCY_RATE = 94.0  # [V] CHKS/HSJ: 94 emergency admissions per 1,000 in 2005/06 (the
# data's 2006/07 PCT rate is also 94.0)
ADMISSIONS_PER_HIGH_RISK_PATIENT = UNPLANNED_SHARE * PCT_EMERGENCY_RATE / (HIGH_RISK_SHARE * 1000)
# [D] 0.30 x 94 / (0.02 x 1,000) = 1.41 a year, reading Murphy's 2% as 2% of all patients [U]
EVERCARE_CHANGE = (0.165, -0.057, 0.387)  # [V] Gravelle et al. 2007: change in emergency
# admissions with case management, point estimate and 95% CI (no significant effect)
MSK_SCOPE_SHARE = 0.15  # [U] share of GP referrals in a musculoskeletal/orthopaedic ICATS's scope
WORCESTERSHIRE_AVOIDABLE = 0.30  # [V] Worcestershire ICATS slides: ~30% of orthopaedic
# referrals avoidable
BOLTON_CASE_MANAGERS = 25  # [U] "Bolton PCT: 25 case managers" (project source); NOT found in a
# retrieved text, so used only as an illustration
DEFAULT_DRAWS = 10_000
MAX_DRAWS = 200_000  # cap on simulation draws (memory ~ a few MB a measure)
MAX_COUNT = 10_000_000.0  # cap on referrals, patients or staff in one scheme
MAX_MONEY = 1e9  # £ cap on any unit cost
MIN_COST_FOR_ROI = 1.0  # £: below this a scheme's return on investment is left undefined (NaN)

# Pathway steps in order: (pod, the step it is a ratio to, words for the ratio).
PATHWAY = (
    ("gp_referral", None, ""),
    ("op_first", "gp_referral", "first attendances per GP referral"),
    ("op_follow_up", "op_first", "follow-ups per first attendance"),
    ("elective_inpatient", "op_first", "elective admissions per first attendance"),
    ("day_case", "op_first", "day cases per first attendance"),
)
PRICED_STEPS = ("op_first", "op_follow_up", "elective_inpatient", "day_case")
# Relative GP referral rates by age band (16-44 = 1): the shape the synthetic data were drawn
# with (pbc_lib.synth.AGE_REL) [U]; a real analysis would use national age-specific rates (HES).
REFERRAL_AGE_WEIGHTS: dict[str, float] = dict(zip(AGE_BANDS, AGE_REL["gp_referral"], strict=True))


class DemandError(ValueError):
    """An input to the demand-management models is out of range or missing."""


def _number(name: str, value: float, low: float, high: float) -> float:
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise DemandError(f"{name} must be a number; got {value!r}.") from None
    if not np.isfinite(value) or not low <= value <= high:
        raise DemandError(f"{name} must be a number from {low:,g} to {high:,g}; got {value:,g}.")
    return value


def savings_share(year: str) -> float:
    """The practice's share of freed-up resources under the rules for ``year``.

    50% under the 2004 rules [V]; at least 70% from 2006/07 (Hansard, 6 Nov 2006) [V].
    """
    return SAVINGS_SHARE_2006 if parse_financial_year(year) >= 2006 else SAVINGS_SHARE_2004


# --------------------------------------------------------------------------------------------
# 1. The referral pathway
# --------------------------------------------------------------------------------------------
def _prices_for(prices: pd.DataFrame, year: str) -> pd.Series:
    rows = prices.loc[prices["financial_year"] == year].set_index("pod")["unit_price_gbp"]
    missing = [pod for pod in PRICED_STEPS if pod not in rows.index]
    if missing:
        years = ", ".join(sorted(prices["financial_year"].unique()))
        raise DemandError(f"There are no {year} prices for {missing}; prices exist for {years}.")
    return rows


@dataclass(frozen=True)
class PathwayReport:
    """A practice's referral pathway beside the PCT's, with its cost at tariff.

    ``steps`` has one row per step: step, pod, count, per_1000, pct_per_1000, ratio_to_pct,
    previous_step (what the ratio is, in words), unit_price, cost, cost_at_pct_rate,
    ratio_to_previous and pct_ratio_to_previous (this step per unit of the step before).
    ``cost`` is the practice's pathway cost at ``price_year`` prices; ``cost_at_pct_rate`` what
    its list would cost at the PCT's rates; ``difference`` the gap (positive = dearer).
    """

    practice_id: str
    year: str
    price_year: str
    list_size: int
    steps: pd.DataFrame
    cost: float
    cost_at_pct_rate: float

    @property
    def difference(self) -> float:
        """Practice cost less the cost at PCT rates (£)."""
        return self.cost - self.cost_at_pct_rate

    @property
    def cost_per_head(self) -> float:
        """Pathway cost per registered patient (£)."""
        return self.cost / self.list_size if self.list_size else float("nan")


def _pathway_steps(rates: pd.DataFrame, unit: pd.Series, own_list: int) -> pd.DataFrame:
    """The pathway table from ``activity_rates`` output (indexed by pod) and unit prices."""
    rows = []
    for pod, before, words in PATHWAY:
        row = rates.loc[pod] if pod in rates.index else None
        count = 0 if row is None else int(row["practice_count"])
        rate, pct = (0.0, 0.0) if row is None else (row["practice_rate"], row["pct_rate"])
        price = float(unit[pod]) if pod in PRICED_STEPS else 0.0
        rows.append(
            {
                "step": MEASURES[pod],
                "pod": pod,
                "count": count,
                "per_1000": rate,
                "pct_per_1000": pct,
                "ratio_to_pct": rate / pct if pct else np.nan,
                "previous_step": words,
                "before": before,
                "unit_price": price,
                "cost": count * price,
                "cost_at_pct_rate": pct * own_list / 1000 * price,
            }
        )
    steps = pd.DataFrame(rows)
    by_pod = steps.set_index("pod")
    previous = steps["before"].map(by_pod["per_1000"])
    pct_previous = steps["before"].map(by_pod["pct_per_1000"])
    steps["ratio_to_previous"] = steps["per_1000"] / previous.where(previous > 0)
    steps["pct_ratio_to_previous"] = steps["pct_per_1000"] / pct_previous.where(pct_previous > 0)
    return steps.drop(columns="before")


def referral_pathway(
    activity: pd.DataFrame,
    prices: pd.DataFrame,
    list_sizes: pd.DataFrame,
    practice_id: str,
    year: str,
    price_year: str | None = None,
) -> PathwayReport:
    """Each step of a practice's referral pathway in ``year``, costed at ``price_year`` prices.

    Rates come from :func:`practice_profile.activity_rates` (PCT average = total activity over
    total list). First attendances include referrals from other sources (A&E, other consultants),
    so there are more of them than GP referrals. ``price_year`` defaults to ``year``; give
    "2007/08" to cost last year's activity at this year's prices (the 2007/08 budget rule).
    """
    price_year = year if price_year is None else price_year
    unit = _prices_for(prices, price_year)
    rates = activity_rates(activity, list_sizes, practice_id, year).set_index("pod")
    if "gp_referral" not in rates.index:
        raise DemandError(f"There are no GP referrals in the activity data for {year}.")
    lists = list_sizes.loc[list_sizes["financial_year"] == year]
    own_list = int(lists.loc[lists["practice_id"] == practice_id, "registered_patients"].iloc[0])
    steps = _pathway_steps(rates, unit, own_list)
    return PathwayReport(
        practice_id,
        year,
        price_year,
        own_list,
        steps,
        float(steps["cost"].sum()),
        float(steps["cost_at_pct_rate"].sum()),
    )


def _age_index(population: pd.DataFrame, weights: Mapping[str, float]) -> pd.Series:
    """Each practice's expected referrals per head relative to a 16-44 year-old (age only)."""
    missing = [band for band in AGE_BANDS if band not in weights]
    if missing:
        raise DemandError(f"An age weight is needed for every age band; missing {missing}.")
    if any(not (np.isfinite(w) and w >= 0) for w in weights.values()):
        raise DemandError(f"Age weights must be numbers ≥ 0; got {dict(weights)}.")
    w = population["age_band"].astype(str).map(weights) * population["persons"]
    frame = pd.DataFrame(
        {"practice_id": population["practice_id"], "w": w, "persons": population["persons"]}
    )
    totals = frame.groupby("practice_id")[["w", "persons"]].sum()
    return totals["w"] / totals["persons"]


def expected_referrals(
    activity: pd.DataFrame,
    list_sizes: pd.DataFrame,
    year: str,
    population: pd.DataFrame | None = None,
    age_weights: Mapping[str, float] | None = None,
    pod: str = "gp_referral",
) -> pd.DataFrame:
    """Observed and expected counts per practice, for a funnel plot of O/E ratios.

    Expected = PCT rate x list size. With ``population``, indirectly standardised for age:
    expected = PCT rate x list x (practice age index / list-weighted mean index), where the age
    index averages ``age_weights`` (default ``REFERRAL_AGE_WEIGHTS`` [U]) over the practice's
    patients. The population table is 2006/07; its age mix is used for every year. Either way
    the expected counts sum to the observed total. Columns: practice_id, list_size, observed,
    expected, ratio, rate_per_1000, expected_per_1000.
    """
    lists = list_sizes.loc[list_sizes["financial_year"] == year]
    counts = activity.loc[(activity["financial_year"] == year) & (activity["pod"] == pod)]
    if lists.empty or counts.empty:
        raise DemandError(f"There is no {pod!r} activity or no list sizes for {year}.")
    out = lists[["practice_id", "registered_patients"]].rename(
        columns={"registered_patients": "list_size"}
    )
    observed = counts.groupby("practice_id")["activity"].sum()
    out["observed"] = out["practice_id"].map(observed).fillna(0).astype(int)
    pct_rate = out["observed"].sum() / out["list_size"].sum()
    index = pd.Series(1.0, index=out["practice_id"])
    if population is not None:
        index = _age_index(population, dict(age_weights or REFERRAL_AGE_WEIGHTS))
        index = index.reindex(out["practice_id"])
        if index.isna().any():
            raise DemandError(f"No population figures for {', '.join(index.index[index.isna()])}.")
    weight = out["practice_id"].map(index).to_numpy(float)
    mean_index = np.average(weight, weights=out["list_size"])
    out["expected"] = pct_rate * out["list_size"] * weight / mean_index
    out["ratio"] = out["observed"] / out["expected"]
    out["rate_per_1000"] = out["observed"] / out["list_size"] * 1000
    out["expected_per_1000"] = out["expected"] / out["list_size"] * 1000
    return out.reset_index(drop=True)


# --------------------------------------------------------------------------------------------
# 2. Unit costs of acute activity
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class UnitCosts:
    """Tariff prices (£) and the pathway ratios that turn a referral into a cost.

    A GP referral kept out of hospital saves one first attendance (if it would have been
    attended: a missed appointment is taken as unpaid [U]), its follow-ups and its share of
    elective and day-case admissions, all at tariff.
    """

    first: float
    follow_up: float
    elective: float
    day_case: float
    emergency: float
    follow_ups_per_first: float = FOLLOW_UPS_PER_FIRST
    electives_per_first: float = ADMITTED_SHARE * 0.3  # [D/U] 30% of admissions as inpatients
    day_cases_per_first: float = ADMITTED_SHARE * 0.7  # [U] 70% as day cases (synth assumption)
    attended: float = 1 - DNA_RATE

    def __post_init__(self) -> None:
        for f in fields(self):
            high = 1.0 if f.name == "attended" else (100.0 if "_per_" in f.name else MAX_MONEY)
            _number(f"UnitCosts.{f.name}", getattr(self, f.name), 0.0, high)

    @property
    def outpatients_per_referral(self) -> float:
        """Outpatient cost of one GP referral at tariff: first attendance and follow-ups (£)."""
        return self.attended * (self.first + self.follow_ups_per_first * self.follow_up)

    @property
    def admissions_per_referral(self) -> float:
        """Expected elective and day-case cost of one GP referral at tariff (£)."""
        return self.attended * (
            self.electives_per_first * self.elective + self.day_cases_per_first * self.day_case
        )

    @property
    def per_referral(self) -> float:
        """Acute cost of one GP referral's pathway at tariff (£)."""
        return self.outpatients_per_referral + self.admissions_per_referral


def unit_costs(
    prices: pd.DataFrame,
    year: str,
    activity: pd.DataFrame | None = None,
    activity_year: str | None = None,
) -> UnitCosts:
    """Prices for ``year`` and, from ``activity`` (the PCT's ``activity_year``), the ratios.

    Without activity the published ratios are used: 2.3 follow-ups per first attendance [V] and
    25.5% of pathways admitted [D], split 30:70 between inpatients and day cases [U].
    """
    unit = _prices_for(prices, year)
    if "non_elective" not in unit.index:
        raise DemandError(f"There is no {year} price for emergency admissions.")
    costs = UnitCosts(*(float(unit[p]) for p in (*PRICED_STEPS, "non_elective")))
    if activity is None:
        return costs
    if activity_year is None:
        years = sorted(y for y in activity["financial_year"].unique() if y <= year)
        activity_year = years[-1] if years else None
    totals = activity.loc[activity["financial_year"] == activity_year].groupby("pod")["activity"]
    totals = totals.sum()
    if totals.get("op_first", 0) <= 0:
        raise DemandError(f"There are no first outpatient attendances for {activity_year}.")
    first = float(totals["op_first"])
    return replace(
        costs,
        follow_ups_per_first=float(totals.get("op_follow_up", 0)) / first,
        electives_per_first=float(totals.get("elective_inpatient", 0)) / first,
        day_cases_per_first=float(totals.get("day_case", 0)) / first,
    )


# --------------------------------------------------------------------------------------------
# 3. Assumptions that carry their evidence
# --------------------------------------------------------------------------------------------
Shape = Literal["triangular", "uniform", "normal", "fixed"]


@dataclass(frozen=True)
class Uncertain:
    """A changeable assumption: a range, how to draw from it, and where it comes from.

    ``triangular`` peaks at ``central`` between ``low`` and ``high``; ``uniform`` ignores
    ``central``; ``normal`` treats (low, high) as a 95% interval around ``central`` (a trial's
    confidence interval); ``fixed`` always gives ``central``.
    """

    low: float
    central: float
    high: float
    source: str
    tag: str
    shape: Shape = "triangular"

    def __post_init__(self) -> None:
        values = (self.low, self.central, self.high)
        if not all(np.isfinite(v) for v in values) or not self.low <= self.central <= self.high:
            raise DemandError(
                f"An assumption needs low ≤ central ≤ high; got {values} ({self.source})."
            )
        if self.shape not in ("triangular", "uniform", "normal", "fixed"):
            raise DemandError(f"Unknown shape {self.shape!r} for {self.source!r}.")
        if max(abs(v) for v in values) > MAX_MONEY:
            raise DemandError(f"An assumption may not exceed {MAX_MONEY:,.0f}; got {values}.")

    def draw(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """``n`` draws (a fixed value, or one with no spread, gives ``central`` every time)."""
        if self.shape == "fixed" or self.low == self.high:
            return np.full(n, float(self.central))
        if self.shape == "uniform":
            return rng.uniform(self.low, self.high, n)
        if self.shape == "normal":
            return rng.normal(self.central, (self.high - self.low) / (2 * 1.959964), n)
        return rng.triangular(self.low, self.central, self.high, n)

    def describe(self) -> str:
        """One line for a table of assumptions."""
        return f"{self.central:,g} ({self.low:,g} to {self.high:,g}, {self.shape}) {self.tag}"


def fixed(value: float, source: str, tag: str = "[U]") -> Uncertain:
    """An assumption with no spread."""
    return Uncertain(value, value, value, source, tag, "fixed")


# Case management ---------------------------------------------------------------------------
CASE_MANAGEMENT_EFFECT = Uncertain(
    -0.165,
    0.0,
    0.15,
    "Share of emergency admissions avoided among case-managed patients. Low: Evercare's point "
    "estimate, 16.5% MORE admissions; central: Evercare's null result (Gravelle et al., BMJ "
    "2007;334:31); high: an optimistic 15% fewer, as schemes hoped",
    "[V] low and central; [U] high",
)
EVERCARE_EFFECT = Uncertain(
    -EVERCARE_CHANGE[2],
    -EVERCARE_CHANGE[0],
    -EVERCARE_CHANGE[1],
    "Evercare as measured: emergency admissions +16.5% (95% CI -5.7% to +38.7%), as a share "
    "avoided (Gravelle et al., BMJ 2007;334:31)",
    "[V]",
    "normal",
)
CASELOAD = Uncertain(40, 50, 80, "Patients per case manager (community matron caseloads)", "[U]")
CASE_MANAGER_COST = Uncertain(
    40_000,
    45_000,
    55_000,
    "Cost of one case manager a year, salary and on-costs, 2006/07 (£)",
    "[U]",
)
ADMISSION_RATE_HIGH_RISK = Uncertain(
    0.8,
    round(ADMISSIONS_PER_HIGH_RISK_PATIENT, 2),
    2.0,
    "Emergency admissions a year per case-managed patient without the scheme. Central: Murphy's "
    "'2% of chronic patients cause 30% of unplanned admissions' x 94 per 1,000 = 1.41 [D]",
    "[D] central; [U] range",
)

# Referral management / ICATS ---------------------------------------------------------------
SHARE_TRIAGED = Uncertain(
    0.7, 0.9, 1.0, "Share of in-scope referrals that go via the service", "[U]"
)
SHARE_REDIRECTED = Uncertain(
    0.0,
    0.10,
    WORCESTERSHIRE_AVOIDABLE,
    "Share of triaged referrals redirected to the community service. Low: no evidence of effect "
    "(Davies & Elwyn, BMJ 2006;332:844); high: Worcestershire ICATS, ~30% of orthopaedic "
    "referrals avoidable",
    "[V] low and high; [U] central",
)
SHARE_RETURNED = Uncertain(0.0, 0.03, 0.08, "Share of triaged referrals sent back to the GP", "[U]")
COMMUNITY_PRICE = Uncertain(
    100,
    180,
    300,
    "Price of a community (ICATS) episode (£); the new services undercut tariff (Sibbald et "
    "al., JHSRP 2008;13:233 [V]) but the amount is assumed",
    "[U]",
)
ADMISSION_FACTOR = Uncertain(
    0.0,
    0.25,
    0.5,
    "Chance that a redirected or returned referral would have led to an admission, relative to "
    "an average referral: services redirect those unlikely to need surgery",
    "[U]",
)
TRIAGE_COST = Uncertain(15, 25, 40, "Running cost of the service per referral triaged (£)", "[U]")
INDUCED_REFERRALS = Uncertain(
    0.0,
    0.25,
    1.0,
    "Extra referrals the new service attracts per referral redirected (supply-induced demand): "
    "the ICATS sites mostly added capacity (Sibbald et al., JHSRP 2008 [V]); size assumed",
    "[U]",
)
TRIAGE_WEEKS = 2.0  # [U] weeks at the service before onward referral: on the RTT clock, which
# starts at referral to an ICATS or referral-management service [V] (2010 rules suite)


def _check_scheme(scheme: object, limits: dict[str, float]) -> None:
    """Plain numbers within their limits (from 0); every other input an :class:`Uncertain`."""
    words = {"case_managers": "The number of case managers", "referrals": "The number of referrals"}
    for f in fields(scheme):
        value = getattr(scheme, f.name)
        if f.name in limits:
            _number(words.get(f.name, f.name), value, 0.0, limits[f.name])
        elif f.name != "name" and not isinstance(value, Uncertain):
            raise DemandError(f"{f.name} must be an Uncertain assumption; got {value!r}.")


PLAIN_INPUTS = {  # inputs given as plain numbers: (tag, source)
    "case_managers": ("set by the user", "Number of case managers employed"),
    "referrals": ("set by the user", "In-scope GP referrals a year"),
    "marginal_rate": (
        "[V]",
        "Share of tariff the PCT saves per emergency admission avoided: 1 = full tariff; 0.5 "
        "above the 2005/06 outturn from 2007/08 (Reckon); 0.3 above 2008/09 from 2010/11 (HFMA)",
    ),
    "triage_weeks": (
        "[U] value; [V] rule",
        "Weeks at the service before onward referral; they count on the 18-week clock, which "
        "starts at referral to an ICATS or referral-management service (2010 rules suite)",
    ),
}


@dataclass(frozen=True)
class CaseManagement:
    """Case managers for people at high risk of emergency admission.

    Saving = patients x admissions a year x share avoided x emergency tariff x the marginal rate
    the PCT actually saves (1 = full tariff; 0.5 for activity above the 2005/06 outturn from
    2007/08 [V]). Cost = case managers x cost each.
    """

    case_managers: float = 1
    caseload: Uncertain = CASELOAD
    cost_per_manager: Uncertain = CASE_MANAGER_COST
    admissions_per_patient: Uncertain = ADMISSION_RATE_HIGH_RISK
    effect: Uncertain = CASE_MANAGEMENT_EFFECT
    marginal_rate: float = 1.0
    name: str = "Case management"

    def __post_init__(self) -> None:
        _check_scheme(self, {"case_managers": MAX_COUNT, "marginal_rate": 1.0})


@dataclass(frozen=True)
class ReferralManagement:
    """A referral-management centre or ICATS for ``referrals`` in-scope GP referrals a year.

    Triaged referrals are redirected (to a community service at its own price), returned to the
    GP, or passed on to hospital. Acute saving = (redirected + returned) x (outpatient cost of a
    referral + ``admission_factor`` x its expected admission cost), all at tariff. Costs =
    triage cost x triaged + community price x (redirected + induced), where induced referrals
    are new demand the service draws in. The 18-week clock starts when the referral reaches the
    service (``triage_weeks`` count towards the wait).
    """

    referrals: float = 1_000
    share_triaged: Uncertain = SHARE_TRIAGED
    share_redirected: Uncertain = SHARE_REDIRECTED
    share_returned: Uncertain = SHARE_RETURNED
    admission_factor: Uncertain = ADMISSION_FACTOR
    community_price: Uncertain = COMMUNITY_PRICE
    triage_cost: Uncertain = TRIAGE_COST
    induced_per_redirected: Uncertain = INDUCED_REFERRALS
    triage_weeks: float = TRIAGE_WEEKS
    name: str = "Referral management (ICATS)"

    def __post_init__(self) -> None:
        _check_scheme(self, {"referrals": MAX_COUNT, "triage_weeks": 52.0})


Scheme = CaseManagement | ReferralManagement


@dataclass(frozen=True)
class Scenario:
    """Several schemes run together, with a label saying how far to trust the figures."""

    name: str
    schemes: tuple[Scheme, ...]
    note: str = ""
    tag: str = "[U]"


def assumptions_table(scheme: Scheme) -> pd.DataFrame:
    """Every input of a scheme with its value, range, tag and source (for a "show evidence" box)."""
    rows = []
    for f in fields(scheme):
        value = getattr(scheme, f.name)
        if isinstance(value, Uncertain):
            rows.append(
                (f.name, value.central, value.low, value.high, value.shape, value.tag, value.source)
            )
        elif f.name != "name":
            tag, source = PLAIN_INPUTS.get(f.name, ("", "set by the user"))
            rows.append((f.name, value, value, value, "fixed", tag, source))
    columns = ["input", "central", "low", "high", "shape", "tag", "source"]
    return pd.DataFrame(rows, columns=columns)


# --------------------------------------------------------------------------------------------
# 4. Simulation: net saving, return on investment and who gains
# --------------------------------------------------------------------------------------------
def _draw_case_management(
    scheme: CaseManagement, costs: UnitCosts, rng: np.random.Generator, n: int
) -> dict[str, np.ndarray]:
    managers = _number("The number of case managers", scheme.case_managers, 0, MAX_COUNT)
    marginal = _number("The marginal rate", scheme.marginal_rate, 0.0, 1.0)
    caseload = np.maximum(scheme.caseload.draw(rng, n), 0.0)
    manager_cost = np.maximum(scheme.cost_per_manager.draw(rng, n), 0.0)
    rate = np.maximum(scheme.admissions_per_patient.draw(rng, n), 0.0)
    effect = scheme.effect.draw(rng, n)
    admissions = rng.poisson(managers * caseload * rate)  # the year's admissions without the scheme
    avoided = admissions * effect  # negative when admissions rise
    return {
        "referrals_avoided": np.zeros(n),
        "admissions_avoided": avoided,
        "acute_saving": avoided * costs.emergency * marginal,
        "acute_income": -avoided * costs.emergency * marginal,
        "scheme_cost": managers * manager_cost,
        "community_income": np.zeros(n),
    }


def _draw_referral_management(
    scheme: ReferralManagement, costs: UnitCosts, rng: np.random.Generator, n: int
) -> dict[str, np.ndarray]:
    referrals = _number("The number of referrals", scheme.referrals, 0, MAX_COUNT)
    shares = [
        np.clip(u.draw(rng, n), 0.0, 1.0)
        for u in (scheme.share_triaged, scheme.share_redirected, scheme.share_returned)
    ]
    triaged, redirect, back = referrals * shares[0], shares[1], shares[2]
    scale = np.maximum(redirect + back, 1.0)  # the two shares cannot exceed everyone triaged
    redirected, returned = triaged * redirect / scale, triaged * back / scale
    factor = np.maximum(scheme.admission_factor.draw(rng, n), 0.0)
    per_referral = costs.outpatients_per_referral + factor * costs.admissions_per_referral
    price = np.maximum(scheme.community_price.draw(rng, n), 0.0)
    triage = np.maximum(scheme.triage_cost.draw(rng, n), 0.0)
    induced = redirected * np.maximum(scheme.induced_per_redirected.draw(rng, n), 0.0)
    avoided = redirected + returned
    community = (redirected + induced) * price
    return {
        "referrals_avoided": avoided,
        "admissions_avoided": np.zeros(n),
        "acute_saving": avoided * per_referral,
        "acute_income": -avoided * per_referral,
        "scheme_cost": triaged * triage + community,
        "community_income": community,
    }


@dataclass(frozen=True, eq=False)
class SchemeResult:
    """Draws of a scheme's (or scenario's) money, one value per draw (£ a year).

    acute_saving: what the PCT no longer pays the acute trust; scheme_cost: what the scheme
    costs; net_saving = acute_saving - scheme_cost; roi = net_saving / scheme_cost (NaN when the
    scheme costs under £1); practice:
    its share of any positive net saving (freed-up resources); pct: the rest, and every loss;
    acute_income: the trust's change in income (negative = lost); community_income: payments to
    the community provider. ``referrals_avoided`` counts GP referrals kept out of hospital and
    ``admissions_avoided`` emergency admissions avoided (negative if they rose).
    """

    name: str
    referrals_avoided: np.ndarray
    admissions_avoided: np.ndarray
    acute_saving: np.ndarray
    scheme_cost: np.ndarray
    net_saving: np.ndarray
    roi: np.ndarray
    practice: np.ndarray
    pct: np.ndarray
    acute_income: np.ndarray
    community_income: np.ndarray
    practice_share: float
    note: str = ""

    @property
    def loss_probability(self) -> float:
        """Share of draws in which the scheme costs more than it saves."""
        return float(np.mean(self.net_saving < 0))

    def summary(self, interval: float = 0.90) -> pd.DataFrame:
        """Median and central ``interval`` of each measure, and P(loss), one row per measure."""
        interval = _number("The interval", interval, 0.01, 0.999)
        tails = ((1 - interval) / 2, (1 + interval) / 2)
        rows = []
        for key, label in SUMMARY_MEASURES.items():
            values = getattr(self, key)
            finite = values[np.isfinite(values)]
            low, mid, high = (
                np.quantile(finite, [tails[0], 0.5, tails[1]]) if finite.size else (np.nan,) * 3
            )
            rows.append({"measure": label, "key": key, "median": mid, "low": low, "high": high})
        out = pd.DataFrame(rows)
        out.attrs["loss_probability"] = self.loss_probability
        out.attrs["interval"] = interval
        return out


SUMMARY_MEASURES = {
    "referrals_avoided": "GP referrals kept out of hospital",
    "admissions_avoided": "Emergency admissions avoided",
    "acute_saving": "Acute payments avoided (£)",
    "scheme_cost": "Cost of the scheme (£)",
    "net_saving": "Net saving (£)",
    "roi": "Return on investment (net saving per £1 spent)",
    "practice": "Practice: freed-up resources (£)",
    "pct": "PCT: its share of the saving, or the loss (£)",
    "acute_income": "Acute trust: change in income at tariff (£)",
    "community_income": "Community provider: income (£)",
}


def _check_draws(draws: int) -> int:
    if isinstance(draws, bool) or not isinstance(draws, (int, np.integer)):
        raise DemandError(f"The number of draws must be a whole number; got {draws!r}.")
    if not 100 <= draws <= MAX_DRAWS:
        raise DemandError(f"The number of draws must be from 100 to {MAX_DRAWS:,}; got {draws:,}.")
    return int(draws)


def simulate(
    schemes: Scheme | Scenario | Sequence[Scheme],
    costs: UnitCosts,
    draws: int = DEFAULT_DRAWS,
    seed: int | np.random.Generator = 0,
    practice_share: float = SAVINGS_SHARE_2006,
) -> SchemeResult:
    """Simulate one scheme, or several run together (their draws are added), for one year.

    Each draw takes every uncertain input from its range (independently) and adds a year's chance
    variation in admissions (Poisson). ``practice_share`` of any positive net saving goes to the
    practices as freed-up resources (at least 70% from 2006/07 [V]; 50% in 2004 [V]); the PCT
    keeps the rest and, holding the real budget, bears any loss.
    """
    draws = _check_draws(draws)
    share = _number("The practice's share of savings", practice_share, 0.0, 1.0)
    scenario = _as_scenario(schemes)
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    total: dict[str, np.ndarray] = {}
    for scheme in scenario.schemes:
        part = (
            _draw_case_management
            if isinstance(scheme, CaseManagement)
            else _draw_referral_management
        )(scheme, costs, rng, draws)  # type: ignore[arg-type]
        for key, values in part.items():
            total[key] = total.get(key, 0.0) + values
    net = total["acute_saving"] - total["scheme_cost"]
    cost = total["scheme_cost"]
    spent = cost >= MIN_COST_FOR_ROI  # a return on (almost) nothing is not a number
    roi = np.where(spent, net / np.where(spent, cost, 1.0), np.nan)
    practice = share * np.maximum(net, 0.0)
    return SchemeResult(
        name=scenario.name,
        net_saving=net,
        roi=roi,
        practice=practice,
        pct=net - practice,
        practice_share=share,
        note=scenario.note,
        **total,
    )


def _as_scenario(schemes: Scheme | Scenario | Sequence[Scheme]) -> Scenario:
    if isinstance(schemes, Scenario):
        scenario = schemes
    elif isinstance(schemes, (CaseManagement, ReferralManagement)):
        scenario = Scenario(schemes.name, (schemes,), tag="")
    else:
        items = tuple(schemes)
        scenario = Scenario(" + ".join(s.name for s in items if hasattr(s, "name")), items, tag="")
    if not scenario.schemes or not all(
        isinstance(s, (CaseManagement, ReferralManagement)) for s in scenario.schemes
    ):
        raise DemandError("Give at least one scheme (CaseManagement or ReferralManagement).")
    return scenario


def acute_referral_factor(scheme: ReferralManagement) -> float:
    """Share of in-scope referrals still reaching hospital, at the central assumptions.

    1 - triaged x (redirected + returned): multiply the hospital's weekly referrals by this to
    feed the waiting-list model; remember the clock started ``triage_weeks`` earlier.
    """
    kept_out = min(scheme.share_redirected.central + scheme.share_returned.central, 1.0)
    return 1.0 - scheme.share_triaged.central * kept_out


def induced_referrals(extra_capacity: float, share_taken_up: float) -> float:
    """Extra referrals a year drawn in by extra capacity (supply-induced demand).

    ``share_taken_up`` of the new capacity fills with demand that would not otherwise have come
    (0 = none; the ICATS sites "mostly added capacity", Sibbald et al. 2008 [V]).
    """
    extra_capacity = _number("The extra capacity", extra_capacity, 0.0, MAX_COUNT)
    share_taken_up = _number("The share taken up", share_taken_up, 0.0, 1.0)
    return extra_capacity * share_taken_up


def bolton_style_scenario(
    gp_referrals: float,
    scope_share: float = MSK_SCOPE_SHARE,
    case_managers: float = BOLTON_CASE_MANAGERS,
) -> Scenario:
    """An illustrative PCT scenario: 25 case managers plus a musculoskeletal assessment service.

    ``gp_referrals`` are the PCT's GP referrals a year; the service sees ``scope_share`` of them
    (15% [U]). The Bolton figures (25 case managers; health trainers in 15 practices; 52% of
    patients within 18 weeks) were NOT found in any retrieved source: treat this as [U]
    illustrative, not as Bolton's results.
    """
    gp_referrals = _number("GP referrals a year", gp_referrals, 0, MAX_COUNT)
    scope_share = _number("The share of referrals in scope", scope_share, 0.0, 1.0)
    schemes = (
        CaseManagement(case_managers=case_managers, name=f"{case_managers:g} case managers"),
        ReferralManagement(
            referrals=gp_referrals * scope_share, name="Musculoskeletal assessment service (ICATS)"
        ),
    )
    note = (
        "[U] Illustrative: 'Bolton-style' figures (25 case managers, an assessment service) "
        "were not verified in any source; every input is a changeable assumption."
    )
    return Scenario("Bolton-style scenario (illustrative)", schemes, note, "[U]")
