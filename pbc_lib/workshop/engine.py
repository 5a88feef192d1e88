"""The workshop engine: one locality's commissioning year, round by round, from a team's decisions.

Facilitators ran practice-based commissioning simulations with teams in their real roles
(Havering and Waltham Forest PCTs, HSJ 1 Dec 2005: "provide practices or clusters of practices
with sound quantitative and qualitative evidence about health needs and service activity").
Here each team plays its own copy of one Wyndmoor locality (a cluster of practices); several teams
may pick the same locality, as parallel worlds. Each round is a financial year from 2007/08.

What a round does, with the project's models (``pbc_lib.models``):

- **Budget.** The locality's indicative budget is the sum of its practices' budgets as workbook 01
  sets them for 2007/08 (:mod:`~pbc_lib.models.budgets`: 2006/07 activity at 2007/08 prices plus
  uplifted prescribing, moved a quarter of the way to fair share where more than 10% away). Later
  years apply the same rule to the PCT's pot (last year's activity at this year's prices) and keep
  moving practices toward fair share, as workbook 01's glide path does. The PCT's allocation grew
  5.5% a year (Hansard, Dec 2008 [V]), but that also paid for everything outside these budgets,
  so it is not used here. By default the PCT adds a growth allowance, the expected rise in
  activity at the data set's own trend [D; that PCTs did so is U] (``Scenario.growth_allowance``;
  without it, under the strict 2007/08 rule, a PCT that changes nothing overspends by its growth).
- **Spend.** The locality's expected activity (2006/07 counts rising at the data set's trend per
  point of delivery [D]) at tariff (prices.csv; +2.5% a year after 2007/08 [U]), prescribing at its
  trend [D], plus this round's events, the cost of the team's decisions, less what they save, plus
  one draw of chance variation for a list of this size (normal, SD from the patient-cost table:
  :func:`~pbc_lib.models.budget_risk.analytic_cv`). The draw depends only on the workshop's seed,
  the round and the locality, never on decisions, so decisions alone separate teams.
- **Decisions** (central values of the evidence in :mod:`~pbc_lib.models.demand`): referral
  management (an MSK assessment service or an all-referral centre), case managers (Evercare found
  no significant effect, so they save nothing unless the plan puts older people first [U]), a
  prescribing initiative [U], what to buy with last round's freed-up resources, a risk share with
  the other clusters and/or a £6,000 stop-loss, and the commissioning plan's priority.
- **Freed-up resources** follow the 70% rule (Hansard 6 Nov 2006) and the three-year offset rule,
  through :func:`~pbc_lib.models.budgets.settle_years`.
- **18 weeks.** The locality's admitted list moves by demand less capacity each year; the mean
  wait is list / weekly demand (Little's law) and the share within 18 weeks is
  ``1 - exp(-18 / W)`` (:func:`~pbc_lib.models.waiting_list.share_within`). The trust's capacity
  is set so that a locality that changes nothing follows England's path (35% in Dec 2006, 60% in
  Oct 2007, 90% met from Jun 2008, 93% late 2009 [V]).
- **Events** (a hard winter, a costly new drug, a high-cost patient) are drawn once from the seed:
  the same for every team.

Simplifications, stated [U]: every emergency admission is priced at full tariff (from 2007/08 the
PCT paid 50% above the 2005/06 outturn, Reckon [V], which is left out); costs of decisions are held
at 2006/07 levels; list sizes stay at 2006/07; planned-care spend follows the year's demand (the
waiting list's backlog is the trust's, funded outside these budgets); a risk share pools only
chance variation and the high-cost patient (the hard winter and the new drug hit every cluster),
never the effects of another cluster's decisions; the chance spread assumes independent patients
(budget_risk), so real year-to-year variation was probably larger.

Public API: :class:`Scenario`, :func:`decision_options`, :func:`default_decisions`,
:func:`validate_decisions`, :func:`decision_costs`, :func:`net_decision_cost`,
:func:`draw_events`, :func:`data_pack`,
:func:`play_round`, :func:`replay`, :func:`pct_summary`, :func:`role_view`,
:func:`debrief_rows`, :class:`WorkshopError`.

Everything returned is plain JSON (str, int, float, bool, list, dict); same inputs give the same
outputs, bit for bit. Bad input raises :class:`WorkshopError` with a plain-English message.
"""

from __future__ import annotations

import difflib
import functools
import math
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace

import numpy as np
import pandas as pd

from pbc_lib import data
from pbc_lib.models import budget_risk, budgets, demand, waiting_list
from pbc_lib.ui import gbp, number, parse_financial_year, pct


class WorkshopError(ValueError):
    """A workshop input is wrong; the message says what is wrong and how to fix it."""


# --------------------------------------------------------------------------------------------
# The workshop: localities, roles, rounds
# --------------------------------------------------------------------------------------------
LOCALITIES: tuple[str, ...] = tuple(data.load_practices()["locality"].drop_duplicates())
# the 7 localities of data/practices.csv, in the order the file lists them
ROLES = ("cluster", "pct", "acute_trust")
ROLE_LABELS = {
    "cluster": "A locality cluster of practices",
    "pct": "The PCT (commissioner, holds the real budget)",
    "acute_trust": "The acute trust (provider, paid at tariff)",
}
DEFAULT_ROLE = "cluster"
FIRST_YEAR = budgets.BUDGET_YEAR  # "2007/08": the year workbook 01 sets budgets for
MAX_ROUNDS = 5  # rounds are 2007/08 to 2011/12 at most
DEFAULT_ROUNDS = 3
DEFAULT_SEED = 20051201  # any whole number; the date of the HSJ article on the simulations
MAX_SEED = 2**32 - 1
MAX_NAME_CHARS = 80
MAX_TEAMS = 200  # teams in one summary (workshops of 20-100 people work in teams)
ACTIVITY_YEAR = budgets.ACTIVITY_YEAR  # "2006/07": the last year of activity in the data set
TREND_FROM_YEAR = "2004/05"  # the first year of activity in the data set

EVENTS: dict[str, dict] = {
    "hard_winter": {
        "label": "A hard winter",
        "description": (
            "Emergency admissions rise above the expected level, and the beds they take cancel "
            "planned operations."
        ),
        "range": [0.03, 0.07],
        "unit": "share of emergency admissions",
        "source": (
            "[V] range: emergency admissions rose 3-7% a year (CHKS/HSJ, 2003/04-2005/06); a "
            "hard winter is taken as one such year's rise on top of the trend [U]. One planned "
            "admission is cancelled for each extra emergency admission [U]."
        ),
    },
    "new_drug": {
        "label": "A costly new drug",
        "description": "A new drug is recommended and prescribing costs rise for the year.",
        "range": [0.01, 0.03],
        "unit": "share of prescribing cost",
        "source": (
            "[U] 1-3% of the prescribing bill in one year. For scale: prescribing rose from about "
            "£160 to £169 a head from 2006 to 2010 [V] (NHS prescribing statistics, via brief)."
        ),
    },
    "high_cost_patient": {
        "label": "A high-cost patient",
        "description": (
            "One patient needs very costly hospital care this year, drawn from the dearest "
            "patients (above the £6,000 stop-loss) in Wyndmoor's patient-cost table."
        ),
        "range": [budget_risk.STOP_LOSS_1994_GBP, None],
        "unit": "£",
        "source": (
            "[D] drawn from data/patient_costs.csv (people costing over £6,000 in 2006/07), "
            "priced up with the tariff; 1% of people account for about 30% of hospital spend "
            "(Kelly et al., IFS 2016 [V]); £6,000 stop-loss (SI 1994/640 [V])."
        ),
    },
}
EVENT_ORDER = tuple(EVENTS)  # fixed order: an event's draws never depend on which are switched on
PRIORITIES = {
    "children": "Children's services",
    "mental_health": "Mental health",
    "older_people": "Older people",
}

# --------------------------------------------------------------------------------------------
# Budget and trend parameters
# --------------------------------------------------------------------------------------------
PACE_OF_CHANGE = budgets.PathSettings.lam  # [U] 0.25: workbook 01's default λ (a quarter of
# the gap to fair share closed each year)
PACE_THRESHOLD = budgets.FAIR_SHARE_BAND  # [V] move only practices more than 10% from fair share
TARIFF_UPLIFT = budgets.TARIFF_UPLIFT_2007  # [V] +2.5% in 2007/08 (Reckon); assumed to continue
# each later year [U]
SAVINGS_SHARE = demand.savings_share(FIRST_YEAR)  # [V] 70% from 2006/07 (Hansard, 6 Nov 2006)

# --------------------------------------------------------------------------------------------
# Decisions: options, caps and effects
# --------------------------------------------------------------------------------------------
MAX_CASE_MANAGERS = 12  # [U] cap on the control: 12 x 50 = 600 patients, more than the 2% at
# high risk in the smallest locality (2% of 23,827 = 477 [D]), so HIGH_RISK_SHARE caps it too
REFERRAL_SCOPES = {  # share of GP referrals that go through the service
    "none": 0.0,
    "msk_icats": demand.MSK_SCOPE_SHARE,  # [U] 15% of referrals in a musculoskeletal ICATS's scope
    "referral_centre": 1.0,  # every GP referral through a referral-management centre
}
REFERRAL_LABELS = {
    "none": "No referral management",
    "msk_icats": "Musculoskeletal assessment service (ICATS)",
    "referral_centre": "Referral-management centre for all referrals",
}
SHARE_TRIAGED = demand.SHARE_TRIAGED.central  # [U] 90% of in-scope referrals go via the service
SHARE_REDIRECTED = demand.SHARE_REDIRECTED.central  # [U] 10% redirected (range 0 [V] to 30% [V])
SHARE_RETURNED = demand.SHARE_RETURNED.central  # [U] 3% sent back to the GP
ADMISSION_FACTOR = demand.ADMISSION_FACTOR.central  # [U] 0.25: redirected referrals rarely need
# an operation
COMMUNITY_PRICE = demand.COMMUNITY_PRICE.central  # [U] £180 a community episode
TRIAGE_COST = demand.TRIAGE_COST.central  # [U] £25 per referral triaged
INDUCED_PER_REDIRECTED = demand.INDUCED_REFERRALS.central  # [U] 0.25 new referrals drawn in per
# referral redirected (the ICATS sites mostly added capacity, Sibbald et al. 2008 [V])
TRIAGE_WEEKS = demand.TRIAGE_WEEKS  # [U] 2 weeks at the service; on the 18-week clock [V rule]

CASELOAD = demand.CASELOAD.central  # [U] 50 patients per case manager
CASE_MANAGER_COST = demand.CASE_MANAGER_COST.central  # [U] £45,000 a year, 2006/07
ADMISSIONS_PER_HIGH_RISK_PATIENT = demand.ADMISSION_RATE_HIGH_RISK.central  # [D] 1.41 a year
CASE_MANAGEMENT_EFFECT = demand.CASE_MANAGEMENT_EFFECT.central  # [V] 0: Evercare's null result
# (Gravelle et al., BMJ 2007;334:31: +16.5%, 95% CI -5.7% to +38.7%)
PRIORITY_CASE_MANAGEMENT_EFFECT = 0.05  # [U] 5% of case-managed patients' admissions avoided when
# the plan puts older people first (targeted, joined up with social care); inside the evidence
# range of demand.CASE_MANAGEMENT_EFFECT (-16.5% to +15%)
HIGH_RISK_SHARE = demand.HIGH_RISK_SHARE  # [V] Murphy 2004: 2% of patients are at high risk;
# case managers cannot look after more patients than that

PRESCRIBING_SAVING = 0.02  # [U] 2% off the prescribing bill (generic and formulary switching);
# fundholders made prescribing savings (Smith & Wilton, BJGP 1998 [V]) but the size is assumed
PRESCRIBING_COST_PER_HEAD = 0.75  # [U] £0.75 a registered patient a year for a pharmacist and
# incentive payments; for scale, the Towards PBC DES paid 95p a patient (BMA, 2007 [V])

FREED_UP_USES = {
    "return_to_pct": "Hand it back to the PCT",
    "outpatient_capacity": "Extra outpatient and theatre sessions (18-week wait)",
    "community_services": "Community services for the plan's priority",
    "premises_it": "Practice premises and IT",
}
COMMUNITY_COST_PER_ADMISSION_AVOIDED = 3_500.0  # [U] no source: £3,500 of community services for
# older people per emergency admission avoided, about twice the 2007/08 emergency tariff
WINTER_DISPLACEMENT = 1.0  # [U] planned admissions cancelled per extra emergency admission

RISK_SHARES = {
    "none": "Carry our own risk",
    "pool": "Risk share with the other clusters",
    "stop_loss": "Stop-loss: the PCT pays any one patient's cost above £6,000",
    "pool_and_stop_loss": "Risk share and stop-loss",
}
STOP_LOSS_GBP = budget_risk.STOP_LOSS_1994_GBP  # [V] £6,000 a patient a year (SI 1994/640)
# The same figures as the apps' words put them ("90%", "70%", "£6,000").
RTT_STANDARD = waiting_list.ADMITTED_STANDARD  # [V] 90% of admitted pathways within 18 weeks
RTT_STANDARD_TEXT = pct(RTT_STANDARD, 0)
SAVINGS_SHARE_TEXT = pct(SAVINGS_SHARE, 0)
STOP_LOSS_TEXT = gbp(STOP_LOSS_GBP)
RISK_SCOPE = "all_hospital"  # the budget covers all hospital care, so the variance model does
BAD_YEAR_Z = 1.6448536269514722  # [D] 95th percentile of the standard normal: a 1-in-20 bad year

# --------------------------------------------------------------------------------------------
# 18 weeks: the path a locality that changes nothing follows [V national figures]
# --------------------------------------------------------------------------------------------
RTT_START = waiting_list.RTT_PERFORMANCE["Dec 2006"]  # [V] 35% admitted within 18 weeks, Dec 2006
# (taken as the list at the start of 2007/08 [U])
RTT_BASELINE = {  # year-end share of admitted pathways within 18 weeks, by start year
    2007: waiting_list.RTT_PERFORMANCE["Oct 2007"],  # [V] 60%, Oct 2007 (Hansard, 22 Jan 2008)
    2008: waiting_list.ADMITTED_STANDARD,  # [V] 90%: the admitted target was met from Jun 2008
    2009: waiting_list.RTT_PERFORMANCE["late 2009"],  # [V] 93%, late 2009; held after [U]
}
WEEKS_PER_YEAR = 52.0

# Debrief measures: what the facilitator's charts put side by side (key -> label).
DEBRIEF_MEASURES = {
    "indicative_budget_gbp": "Indicative budget (£)",
    "spend_gbp": "Spend (£)",
    "variance_gbp": "Underspend (+) or overspend (−) (£)",
    "freed_up_gbp": "Freed-up resources kept by the practices (£)",
    "bought_gbp": "Freed-up resources spent this round (£)",
    "emergency_per_1000": "Emergency admissions per 1,000 patients",
    "rtt_within_18_weeks": "Admitted patients treated within 18 weeks (share)",
    "risk_of_overspend": "Chance of overspending, at the start of the year",
    "risk_carried_gbp": "Risk carried: a 1-in-20 bad year's chance variation (£)",
}

SOURCES = [
    "Synthetic data for the fictional Wyndmoor PCT (data/*.csv; pbc_lib.synth, seed 20061001).",
    "Budget rule for 2007/08: DH toolkit guidance, Gateway 6053; fair shares within 10%.",
    "Savings share: at least 70% of freed-up resources from 2006/07 (Hansard, 6 Nov 2006).",
    "Allocation growth 5.5% a year, 2009-11 (Hansard, Dec 2008). Tariff +2.5% in 2007/08 (Reckon).",
    "Case management: Evercare evaluation, Gravelle et al., BMJ 2007;334:31.",
    "Referral management: Davies & Elwyn, BMJ 2006;332:844; Worcestershire ICATS; Sibbald et al.,"
    " JHSRP 2008;13:233.",
    "18 weeks: Hansard, 22 Jan 2008 (35% Dec 2006, 60% Oct 2007); Gooroo (target met Jun 2008);"
    " 2010 clock rules; Fong et al. 2022 and NHSRwaitinglist (queueing formulas).",
    "Budget risk: Crump et al., BMJ 1991;302:1582; Bachmann & Bevan, BMJ 1996;313:1054;"
    " stop-loss £6,000 (SI 1994/640).",
    "Simulations: Mullins & Harvey, HSJ 1 Dec 2005 (Havering and Waltham Forest PCTs).",
]


# --------------------------------------------------------------------------------------------
# Checking inputs
# --------------------------------------------------------------------------------------------
def _choices(options: Mapping[str, str]) -> str:
    return "; ".join(f"{key} ({label})" for key, label in options.items())


def _suggest(word: object, options) -> str:
    close = difflib.get_close_matches(str(word), [str(o) for o in options], n=1)
    return f" Did you mean {close[0]!r}?" if close else ""


def _whole(name: str, value: object, low: int, high: int) -> int:
    """A whole number from low to high; an integral float (from JSON or a slider) is accepted."""
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise WorkshopError(
            f"{name} must be a whole number from {low:,} to {high:,}; you gave {value!r}."
        )
    if not low <= value <= high:
        raise WorkshopError(
            f"{name} must be a whole number from {low:,} to {high:,}; you gave {value:,}."
        )
    return int(value)


def _check_locality(scenario: Scenario, locality: object) -> str:
    if locality not in scenario.localities:
        raise WorkshopError(
            f"{locality!r} is not one of this workshop's localities. Choose from: "
            f"{', '.join(scenario.localities)}.{_suggest(locality, scenario.localities)}"
        )
    return str(locality)


def _check_round(scenario: Scenario, round_no: object) -> int:
    if isinstance(round_no, bool) or not isinstance(round_no, int | np.integer):
        raise WorkshopError(
            f"The round must be a whole number from 1 to {scenario.rounds}; you gave {round_no!r}."
        )
    if not 1 <= round_no <= scenario.rounds:
        raise WorkshopError(
            f"The round must be a whole number from 1 to {scenario.rounds} (this workshop has "
            f"{scenario.rounds} round{'s' if scenario.rounds > 1 else ''}); you gave {round_no}."
        )
    return int(round_no)


def _check_scenario(scenario: object) -> Scenario:
    if not isinstance(scenario, Scenario):
        raise WorkshopError(
            f"Give a Scenario (Scenario.from_dict turns a stored one back); got "
            f"{type(scenario).__name__}."
        )
    return scenario


# --------------------------------------------------------------------------------------------
# The scenario
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Scenario:
    """One workshop: the PCT, the localities teams may choose, the rounds, events and seed.

    ``growth_allowance`` (default True) adds the data set's expected growth in activity to every
    budget [D; U that PCTs did this]; False keeps the strict 2007/08 rule (last year's activity
    at this year's prices), under which a locality that changes nothing overspends.
    """

    name: str = "Wyndmoor PCT"
    localities: tuple[str, ...] = LOCALITIES
    rounds: int = DEFAULT_ROUNDS
    events: tuple[str, ...] = EVENT_ORDER
    seed: int = DEFAULT_SEED
    growth_allowance: bool = True

    def __post_init__(self) -> None:
        for name in ("localities", "events"):  # lists from JSON become tuples (hashable, frozen)
            value = getattr(self, name)
            if isinstance(value, list):
                object.__setattr__(self, name, tuple(value))
        self.validate()

    def validate(self) -> None:
        """Check every field; raise :class:`WorkshopError` naming the first that is wrong."""
        if not isinstance(self.name, str) or not 1 <= len(self.name.strip()) <= MAX_NAME_CHARS:
            raise WorkshopError(
                f"The workshop name must be text of 1 to {MAX_NAME_CHARS} characters; you gave "
                f"{self.name!r}."
            )
        _check_members("locality", "localities", self.localities, LOCALITIES)
        _whole("The number of rounds", self.rounds, 1, MAX_ROUNDS)
        _check_members("event", "events", self.events, EVENTS, allow_empty=True)
        _whole("The seed", self.seed, 0, MAX_SEED)
        if not isinstance(self.growth_allowance, bool):
            raise WorkshopError(
                f"growth_allowance must be true or false; you gave {self.growth_allowance!r}."
            )

    def to_dict(self) -> dict:
        """Plain JSON: lists for the tuples."""
        return {
            "name": self.name,
            "localities": list(self.localities),
            "rounds": int(self.rounds),
            "events": list(self.events),
            "seed": int(self.seed),
            "growth_allowance": self.growth_allowance,
        }

    @classmethod
    def from_dict(cls, d: dict) -> Scenario:
        """A scenario from :meth:`to_dict`'s output (missing keys take their defaults)."""
        if not isinstance(d, Mapping):
            raise WorkshopError(f"A scenario must be a dictionary; got {type(d).__name__}.")
        known = [f.name for f in fields(cls)]
        unknown = [k for k in d if k not in known]
        if unknown:
            raise WorkshopError(
                f"Unknown scenario setting {unknown[0]!r}; the settings are {', '.join(known)}."
                f"{_suggest(unknown[0], known)}"
            )
        values = dict(d)
        for name in ("localities", "events"):
            if name in values and not isinstance(values[name], list | tuple):
                raise WorkshopError(
                    f"The scenario's {name} must be a list; you gave {values[name]!r}."
                )
        return cls(**values)


def _check_members(
    what: str, plural: str, given: object, allowed, *, allow_empty: bool = False
) -> None:
    if not isinstance(given, tuple):
        raise WorkshopError(f"The {plural} must be a list; you gave {given!r}.")
    if not given and not allow_empty:
        raise WorkshopError(f"Give at least one {what}. Choose from: {', '.join(allowed)}.")
    for item in given:
        if item not in allowed:
            names = _choices(allowed) if isinstance(allowed, Mapping) else ", ".join(allowed)
            raise WorkshopError(
                f"Unknown {what} {item!r}. Choose from: {names}.{_suggest(item, allowed)}"
            )
    repeated = [item for item in dict.fromkeys(given) if given.count(item) > 1]
    if repeated:
        raise WorkshopError(f"The {what} {repeated[0]!r} is listed twice; list it once.")


def round_year(round_no: int) -> str:
    """The financial year of a round: 1 -> "2007/08"."""
    return budgets.next_year(FIRST_YEAR, int(round_no) - 1)


# --------------------------------------------------------------------------------------------
# Decisions
# --------------------------------------------------------------------------------------------
def decision_options() -> dict:
    """Every decision a team takes in a round, in display order, for building the controls.

    Each entry: key, label, kind ("choice", "int" or "bool"), options (choice: a list of
    {value, label}) or min/max/step (int), default, help (plain English) and source.
    """
    return {
        "referral_management": {
            "key": "referral_management",
            "label": "Referral management",
            "kind": "choice",
            "options": [{"value": k, "label": v} for k, v in REFERRAL_LABELS.items()],
            "default": "none",
            "help": (
                f"An assessment service triages {pct(SHARE_TRIAGED, 0)} of the referrals in its "
                f"scope, redirects {pct(SHARE_REDIRECTED, 0)} to a community service at "
                f"{gbp(COMMUNITY_PRICE)} an episode and returns {pct(SHARE_RETURNED, 0)} to the "
                f"GP; it costs {gbp(TRIAGE_COST)} a referral to run and draws in new referrals. "
                f"The 18-week clock starts at the service, so triage adds "
                f"{number(TRIAGE_WEEKS)} weeks to those pathways. There was no evidence that "
                "referral-management centres work."
            ),
            "source": (
                "Davies & Elwyn, BMJ 2006;332:844 [V]; Worcestershire ICATS (~30% of orthopaedic "
                "referrals avoidable) [V]; Sibbald et al., JHSRP 2008;13:233 [V]; 2010 clock "
                "rules [V]; shares and prices [U] (pbc_lib.models.demand)."
            ),
        },
        "case_managers": {
            "key": "case_managers",
            "label": "Case managers",
            "kind": "int",
            "min": 0,
            "max": MAX_CASE_MANAGERS,
            "step": 1,
            "default": 0,
            "help": (
                f"Each case manager costs {gbp(CASE_MANAGER_COST)} a year and looks after "
                f"{number(CASELOAD)} patients at high risk of emergency admission. The Evercare "
                "pilots found no significant effect on emergency admissions, so here they avoid "
                "none, unless the plan puts older people first (then "
                f"{pct(PRIORITY_CASE_MANAGEMENT_EFFECT, 0)} of their admissions, an assumption)."
            ),
            "source": (
                "Gravelle et al., BMJ 2007;334:31 [V]; Murphy, BMJ 2004;329:1251 [V]; caseload "
                "and cost [U]."
            ),
        },
        "prescribing_initiative": {
            "key": "prescribing_initiative",
            "label": "Prescribing initiative",
            "kind": "bool",
            "default": False,
            "help": (
                "A pharmacist and incentive scheme for generic and formulary switching: an assumed "
                f"{pct(PRESCRIBING_SAVING, 0)} off the prescribing bill for "
                f"{gbp(PRESCRIBING_COST_PER_HEAD, 2)} a registered patient."
            ),
            "source": "Smith & Wilton, BJGP 1998 (prescribing savings) [V]; sizes [U].",
        },
        "freed_up_use": {
            "key": "freed_up_use",
            "label": "What to do with last round's freed-up resources",
            "kind": "choice",
            "options": [{"value": k, "label": v} for k, v in FREED_UP_USES.items()],
            "default": "return_to_pct",
            "help": (
                "The practices keep 70% of an underspend to reinvest the next year. Extra sessions "
                "at tariff treat more patients from the admitted list; community services for "
                "older people avoid an emergency admission for every "
                f"{gbp(COMMUNITY_COST_PER_ADMISSION_AVOIDED)} (an assumption); for children or "
                "mental health their effect is outside this data set; premises and IT change no "
                "number here."
            ),
            "source": "Hansard, 6 Nov 2006 (70%) [V]; effects [U].",
        },
        "risk_share": {
            "key": "risk_share",
            "label": "Risk share",
            "kind": "choice",
            "options": [{"value": k, "label": v} for k, v in RISK_SHARES.items()],
            "default": "none",
            "help": (
                "A risk share pools chance variation and high-cost patients with the workshop's "
                "other clusters in proportion to budgets, at no cost: the spread falls as the "
                "pool grows. A stop-loss has the PCT pay each patient's costs above £6,000 a "
                "year. Its cost, shown beside it, is a top-slice off the budget equal to what "
                "the PCT expects to pay; that is offset by the PCT paying those costs instead of "
                "the cluster, so the net cost is £0. What matters is the net effect: a smaller "
                "bad year, not a saving."
            ),
            "source": (
                "Crump et al., BMJ 1991 [V]; Bachmann & Bevan, BMJ 1996 [V]; SI 1994/640 [V]; "
                "pbc_lib.models.budget_risk."
            ),
        },
        "priority": {
            "key": "priority",
            "label": "Commissioning-plan priority",
            "kind": "choice",
            "options": [{"value": k, "label": v} for k, v in PRIORITIES.items()],
            "default": "children",
            "help": (
                "Where the plan puts its weight. Older people: case managers and community "
                "services are better targeted (small assumed effects on emergency admissions). "
                "Children's services and mental health are not in the data set's measures, so "
                "their benefits show in the debrief, not in the numbers."
            ),
            "source": "Mullins & Harvey, HSJ 1 Dec 2005 (the three areas) [V]; effects [U].",
        },
    }


def default_decisions() -> dict:
    """The decisions of a team that changes nothing."""
    return {key: spec["default"] for key, spec in decision_options().items()}


def validate_decisions(decisions: dict) -> dict:
    """A normalised copy of ``decisions`` (missing keys take their defaults).

    Raises :class:`WorkshopError` naming the field for an unknown key, a wrong type or a value
    out of range.
    """
    if not isinstance(decisions, Mapping):
        raise WorkshopError(f"Decisions must be a dictionary; got {type(decisions).__name__}.")
    options = decision_options()
    out = default_decisions()
    for key, value in decisions.items():
        if key not in options:
            raise WorkshopError(
                f"Unknown decision {key!r}. The decisions are: {', '.join(options)}."
                f"{_suggest(key, options)}"
            )
        spec = options[key]
        if spec["kind"] == "int":
            out[key] = _whole(spec["label"], value, spec["min"], spec["max"])
        elif spec["kind"] == "bool":
            if not isinstance(value, bool):
                raise WorkshopError(f"{spec['label']} must be true or false; you gave {value!r}.")
            out[key] = value
        else:
            allowed = {o["value"]: o["label"] for o in spec["options"]}
            if value not in allowed:
                raise WorkshopError(
                    f"{spec['label']} must be one of: {_choices(allowed)}; you gave {value!r}."
                    f"{_suggest(value, allowed)}"
                )
            out[key] = str(value)
    return out


# --------------------------------------------------------------------------------------------
# The data set, once (cached; never mutated)
# --------------------------------------------------------------------------------------------
@functools.lru_cache(maxsize=1)
def _tables() -> dict[str, pd.DataFrame]:
    return data.load_tables(*data.BUDGET_TABLES)


@functools.lru_cache(maxsize=1)
def _patient_costs() -> np.ndarray:
    return budget_risk.scope_costs(data.load_patient_costs(), RISK_SCOPE)


@functools.lru_cache(maxsize=1)
def _trends() -> dict[str, float]:
    """[D] The PCT's yearly growth per head in each point of delivery, 2004/05 to 2006/07,
    and in prescribing cost per head (workbook 01's prescribing uplift)."""
    t = _tables()
    heads = t["list_sizes"].groupby("financial_year")["registered_patients"].sum()
    counts = t["activity"].groupby(["financial_year", "pod"])["activity"].sum()
    span = parse_financial_year(ACTIVITY_YEAR) - parse_financial_year(TREND_FROM_YEAR)
    out = {}
    for pod in (*HOSPITAL_PODS, "gp_referral"):
        late = counts[(ACTIVITY_YEAR, pod)] / heads[ACTIVITY_YEAR]
        early = counts[(TREND_FROM_YEAR, pod)] / heads[TREND_FROM_YEAR]
        out[pod] = float((late / early) ** (1 / span) - 1)
    out["prescribing"] = float(
        budgets.prescribing_growth(t["prescribing"], t["list_sizes"], ACTIVITY_YEAR)
    )
    return out


@functools.lru_cache(maxsize=1)
def _historic() -> pd.Series:
    """Workbook 01's historic budgets: 2006/07 activity at 2007/08 prices, prescribing uplifted."""
    t = _tables()
    components = budgets.budget_components(
        t["activity"], t["prices"], t["prescribing"], prescribing_uplift=_trends()["prescribing"]
    )
    return budgets.historic_budgets(components)


def _pot(round_no: int, allowance: bool) -> float:
    """The PCT's pot of indicative budgets for a round.

    The 2007/08 rule each year [V rule; applying it every year is U]: last year's activity at
    this year's prices plus prescribing with its uplift; with the growth allowance, this year's
    expected activity instead (the data set's trend [D]).
    """
    if round_no == 1 and not allowance:
        return float(_historic().sum())
    now = _expected(None, round_year(round_no))
    if allowance:
        return now["hospital"] + now["prescribing"]
    before = _expected(None, round_year(round_no - 1))["counts"]
    return sum(before[p] * now["prices"][p] for p in HOSPITAL_PODS) + now["prescribing"]


@functools.lru_cache(maxsize=2)
def _budget_path(allowance: bool) -> dict[int, tuple[pd.Series, pd.Series]]:
    """Practice budgets and fair-share targets for every round, as workbook 01 sets 2007/08.

    Round 1: the historic budgets moved a quarter of the way to fair share where more than 10%
    away (``budgets.pace_of_change``), scaled to the pot. Later rounds: workbook 01's glide path
    (``budgets.glide_path`` does the same steps), with the pot growing as :func:`_pot` says rather
    than by the PCT's 5.5% allocation growth, which also paid for everything outside these
    budgets.
    """
    t = _tables()
    historic = _historic()
    pot = _pot(1, allowance)
    targets = budgets.capitation_targets(t["practices"], t["population"], float(historic.sum()))
    target = targets.set_index("practice_id")["target"].reindex(historic.index)
    budget = budgets.pace_of_change(historic, target, PACE_OF_CHANGE, PACE_THRESHOLD)
    scale = pot / float(historic.sum())
    budget, target = budget * scale, target * scale
    path = {1: (budget, target)}
    for r in range(2, MAX_ROUNDS + 1):
        growth = _pot(r, allowance) / pot
        pot *= growth
        target = target * growth
        budget = budgets.pace_of_change(budget * growth, target, PACE_OF_CHANGE, PACE_THRESHOLD)
        path[r] = (budget, target)
    return path


@functools.lru_cache(maxsize=1)
def _unit_costs_first_year() -> demand.UnitCosts:
    """Tariff for 2007/08 with the PCT's 2006/07 pathway ratios (follow-ups, admissions)."""
    t = _tables()
    return demand.unit_costs(t["prices"], FIRST_YEAR, t["activity"], ACTIVITY_YEAR)


def _locality_ids(locality: str) -> list[str]:
    p = _tables()["practices"]
    return p.loc[p["locality"] == locality, "practice_id"].tolist()


@functools.lru_cache(maxsize=16)
def _activity_base(locality: str | None) -> dict[str, float]:
    """2006/07 counts by point of delivery, prescribing cost and list size (None = the PCT)."""
    t = _tables()
    ids = _locality_ids(locality) if locality else t["practices"]["practice_id"].tolist()
    act = t["activity"]
    act = act.loc[(act["financial_year"] == ACTIVITY_YEAR) & act["practice_id"].isin(ids)]
    out = {pod: float(v) for pod, v in act.groupby("pod")["activity"].sum().items()}
    rx = t["prescribing"]
    rx = rx.loc[(rx["financial_year"] == ACTIVITY_YEAR) & rx["practice_id"].isin(ids)]
    out["prescribing"] = float(rx["net_ingredient_cost_gbp"].sum())
    out["items"] = float(rx["items"].sum())
    lists = t["list_sizes"]
    lists = lists.loc[(lists["financial_year"] == ACTIVITY_YEAR) & lists["practice_id"].isin(ids)]
    out["list_size"] = float(lists["registered_patients"].sum())
    return out


# Hospital points of delivery in the budget statement's order, and the planned (priced) ones.
HOSPITAL_PODS = tuple(pod for pod in budgets.COMPONENTS if pod != "prescribing")
PLANNED_PODS = demand.PRICED_STEPS


def _expected(locality: str | None, year: str) -> dict:
    """Expected counts, prices and costs in ``year`` if nothing changes (data trend [D])."""
    base, trend = _activity_base(locality), _trends()
    years_on = parse_financial_year(year) - parse_financial_year(ACTIVITY_YEAR)
    price_factor = (1 + TARIFF_UPLIFT) ** (
        parse_financial_year(year) - parse_financial_year(FIRST_YEAR)
    )
    first = _unit_costs_first_year()
    prices = {
        "op_first": first.first,
        "op_follow_up": first.follow_up,
        "elective_inpatient": first.elective,
        "day_case": first.day_case,
        "non_elective": first.emergency,
    }
    t = _tables()["prices"]
    prices["ae_attendance"] = float(
        t.loc[
            (t["financial_year"] == FIRST_YEAR) & (t["pod"] == "ae_attendance"), "unit_price_gbp"
        ].iloc[0]
    )
    prices = {pod: p * price_factor for pod, p in prices.items()}
    counts = {
        pod: base.get(pod, 0.0) * (1 + trend[pod]) ** years_on
        for pod in (*HOSPITAL_PODS, "gp_referral")
    }
    rx = base["prescribing"] * (1 + trend["prescribing"]) ** years_on
    hospital = sum(counts[p] * prices[p] for p in HOSPITAL_PODS)
    return {
        "counts": counts,
        "prices": prices,
        "prescribing": rx,
        "hospital": hospital,
        "price_factor": price_factor,
        "list_size": base["list_size"],
    }


def growth_allowance_share(round_no: int = 1) -> float:
    """[D] The growth allowance as a share of the strict-rule pot in a round: the PCT-wide rise in
    activity at the data set's trend (added to budgets when ``Scenario.growth_allowance``)."""
    return _pot(round_no, True) / _pot(round_no, False) - 1


def _rtt_share_for(year: int) -> float:
    return RTT_BASELINE[min(max(year, min(RTT_BASELINE)), max(RTT_BASELINE))]


@dataclass(frozen=True)
class _Base:
    """One locality in one round if nothing changes (cached; treat as read-only)."""

    locality: str
    round_no: int
    year: str
    list_size: float
    counts: dict = field(repr=False)
    prices: dict = field(repr=False)
    prescribing: float
    hospital: float
    unit: demand.UnitCosts
    budget: float
    rule_budget: float
    target: float
    sd_own: float
    sd_capped: float
    stop_loss_excess: float
    admitted: float
    capacity: float
    list_start: float


@functools.lru_cache(maxsize=256)
def _base(locality: str, round_no: int, allowance: bool) -> _Base:
    year = round_year(round_no)
    e = _expected(locality, year)
    ids = _locality_ids(locality)
    budget_series, target_series = _budget_path(allowance)[round_no]
    budget = float(budget_series.reindex(ids).sum())
    target = float(target_series.reindex(ids).sum())
    rule_budget = float(_budget_path(False)[round_no][0].reindex(ids).sum())
    x = _patient_costs()
    capped = np.minimum(x, STOP_LOSS_GBP)
    n = int(e["list_size"])
    sd_own = budget_risk.analytic_cv(x, n) * e["hospital"]
    sd_capped = budget_risk.analytic_cv(capped, n) * e["hospital"] * float(capped.mean() / x.mean())
    excess = e["hospital"] * float(np.maximum(x - STOP_LOSS_GBP, 0.0).mean() / x.mean())
    admitted, capacity, list_start = _rtt_baseline(locality, round_no)
    f = e["price_factor"]
    first = _unit_costs_first_year()
    unit = replace(
        first,
        first=first.first * f,
        follow_up=first.follow_up * f,
        elective=first.elective * f,
        day_case=first.day_case * f,
        emergency=first.emergency * f,
    )
    return _Base(
        locality,
        round_no,
        year,
        e["list_size"],
        e["counts"],
        e["prices"],
        e["prescribing"],
        e["hospital"],
        unit,
        budget,
        rule_budget,
        target,
        sd_own,
        sd_capped,
        excess,
        admitted,
        capacity,
        list_start,
    )


def _rtt_baseline(locality: str, round_no: int) -> tuple[float, float, float]:
    """Admitted pathways a year, the trust's capacity for them in this round, and the list at
    the start of round 1, such that a locality that changes nothing follows England's path."""
    demand_by_round = []
    for r in range(1, round_no + 1):
        counts = _expected(locality, round_year(r))["counts"]
        demand_by_round.append(counts["elective_inpatient"] + counts["day_case"])

    def list_for(r_demand: float, share: float) -> float:
        return r_demand / WEEKS_PER_YEAR * waiting_list.mean_wait_for_standard(share)

    start = list_for(demand_by_round[0], RTT_START)
    previous = start
    capacity = 0.0
    for r, lam in enumerate(demand_by_round, start=1):
        year = parse_financial_year(round_year(r))
        end = list_for(lam, _rtt_share_for(year))
        capacity = lam + previous - end
        previous = end
    return demand_by_round[-1], capacity, start


# --------------------------------------------------------------------------------------------
# Events and chance, from the seed only
# --------------------------------------------------------------------------------------------
EVENT_STREAM = 101  # seed-sequence keys: separate streams for placement, sizes and chance
PLACEMENT_STREAM = 7
CHANCE_STREAM = 1_000


@functools.lru_cache(maxsize=64)
def _draw_events(seed: int, rounds: int, events: tuple[str, ...]) -> tuple:
    placement = np.random.default_rng([seed, PLACEMENT_STREAM, rounds]).permutation(rounds)
    tail = np.sort(_patient_costs()[_patient_costs() > STOP_LOSS_GBP])
    by_round: list[list[dict]] = [[] for _ in range(rounds)]
    for i, key in enumerate(EVENT_ORDER):
        rng = np.random.default_rng([seed, EVENT_STREAM + i])
        if key == "high_cost_patient":
            size = float(tail[int(rng.integers(0, tail.size))])
        else:
            low, high = EVENTS[key]["range"]
            size = float(rng.uniform(low, high))
        if key in events:
            r = int(placement[i % rounds]) + 1
            by_round[r - 1].append(_event_record(key, size, r))
    return tuple(tuple(evs) for evs in by_round)


def _event_record(key: str, size: float, round_no: int) -> dict:
    spec = EVENTS[key]
    if key == "hard_winter":
        effect, text = size, f"{spec['label']}: emergency admissions up {pct(size)} on the trend."
    elif key == "new_drug":
        effect, text = size, f"{spec['label']}: prescribing costs up {pct(size)} this year."
    else:
        factor = (1 + TARIFF_UPLIFT) ** (
            parse_financial_year(round_year(round_no)) - parse_financial_year(ACTIVITY_YEAR)
        )
        effect = round(size * factor, 2)
        text = f"{spec['label']}: one patient's hospital care costs {gbp(effect)} this year."
    return {
        "key": key,
        "label": spec["label"],
        "effect": effect,
        "unit": spec["unit"],
        "text": text,
        "source": spec["source"],
    }


def draw_events(scenario: Scenario) -> list[dict]:
    """Which events hit in each round and how hard: from the seed only, the same for every team.

    Each event switched on happens once, in a round drawn from the seed (events spread over
    different rounds when there are enough); its size comes from its own stream of the seed, so
    switching one event off never changes another.
    """
    scenario = _check_scenario(scenario)
    drawn = _draw_events(int(scenario.seed), int(scenario.rounds), tuple(scenario.events))
    return [
        {"round": r, "year": round_year(r), "events": [dict(e) for e in evs]}
        for r, evs in enumerate(drawn, start=1)
    ]


def _chance(seed: int, round_no: int) -> dict[str, float]:
    """One standard normal draw per locality for this round (seed and round only)."""
    z = np.random.default_rng([seed, CHANCE_STREAM + round_no]).standard_normal(len(LOCALITIES))
    return {loc: float(v) for loc, v in zip(LOCALITIES, z, strict=True)}


# --------------------------------------------------------------------------------------------
# What each decision does
# --------------------------------------------------------------------------------------------
def _referral_management(b: _Base, choice: str) -> dict:
    """Central-value arithmetic of demand.ReferralManagement (see _draw_referral_management)."""
    in_scope = b.counts["gp_referral"] * REFERRAL_SCOPES[choice]
    triaged = in_scope * SHARE_TRIAGED
    scale = max(SHARE_REDIRECTED + SHARE_RETURNED, 1.0)
    redirected, returned = triaged * SHARE_REDIRECTED / scale, triaged * SHARE_RETURNED / scale
    avoided = redirected + returned
    induced = redirected * INDUCED_PER_REDIRECTED
    per_referral = (
        b.unit.outpatients_per_referral + ADMISSION_FACTOR * b.unit.admissions_per_referral
    )
    admissions_per_referral = b.unit.attended * (
        b.unit.electives_per_first + b.unit.day_cases_per_first
    )
    triage_cost = triaged * TRIAGE_COST
    community_cost = (redirected + induced) * COMMUNITY_PRICE
    return {
        "in_scope": in_scope,
        "triaged": triaged,
        "avoided": avoided,
        "induced": induced,
        "acute_saving": avoided * per_referral,
        "admissions_avoided": avoided * ADMISSION_FACTOR * admissions_per_referral,
        "community_cost": community_cost,
        "cost": triage_cost + community_cost,
        "triaged_share": REFERRAL_SCOPES[choice] * SHARE_TRIAGED,
    }


def _case_management(b: _Base, managers: int, priority: str) -> dict:
    patients = min(managers * CASELOAD, HIGH_RISK_SHARE * b.list_size)
    older = priority == "older_people"
    effect = PRIORITY_CASE_MANAGEMENT_EFFECT if older else CASE_MANAGEMENT_EFFECT
    admissions = patients * ADMISSIONS_PER_HIGH_RISK_PATIENT
    return {
        "patients": patients,
        "effect": effect,
        "avoided": admissions * effect,
        "cost": managers * CASE_MANAGER_COST,
    }


def _admitted_price(b: _Base) -> float:
    """[D] Average price of an elective or day-case admission this year (the data's mix)."""
    ip, dc = b.counts["elective_inpatient"], b.counts["day_case"]
    return (ip * b.prices["elective_inpatient"] + dc * b.prices["day_case"]) / (ip + dc)


def _pool(scenario: Scenario, round_no: int) -> list[_Base]:
    """Every cluster of the workshop in this round (the risk-share pool)."""
    return [_base(loc, round_no, scenario.growth_allowance) for loc in scenario.localities]


def _risk_parts(scenario: Scenario, b: _Base, choice: str) -> dict:
    """The chance spread the team carries and its weight in the pool."""
    capped = choice in ("stop_loss", "pool_and_stop_loss")
    pooled = choice in ("pool", "pool_and_stop_loss")

    def sd(x: _Base) -> float:
        return x.sd_capped if capped else x.sd_own

    if not pooled:
        return {
            "capped": capped,
            "pooled": False,
            "weight": 1.0,
            "sd": sd(b),
            "members": [b.locality],
        }
    members = _pool(scenario, b.round_no)
    weight = b.budget / sum(m.budget for m in members)
    spread = weight * math.sqrt(sum(sd(m) ** 2 for m in members))
    return {
        "capped": capped,
        "pooled": True,
        "weight": weight,
        "sd": spread,
        "members": [m.locality for m in members],
        "member_bases": members,
    }


def decision_costs(scenario: Scenario, locality: str, decisions: dict, round_no: int) -> dict:
    """Each decision's cost to the budget this year (£), and the total.

    Freed-up resources are spent from the practices' share of last year's underspend, outside
    the budget, and the priority costs nothing by itself, so both show £0 here.
    """
    scenario = _check_scenario(scenario)
    locality = _check_locality(scenario, locality)
    round_no = _check_round(scenario, round_no)
    d = validate_decisions(decisions)
    b = _base(locality, round_no, scenario.growth_allowance)
    capped = d["risk_share"] in ("stop_loss", "pool_and_stop_loss")
    out = {
        "referral_management": _referral_management(b, d["referral_management"])["cost"],
        "case_managers": _case_management(b, d["case_managers"], d["priority"])["cost"],
        "prescribing_initiative": (
            PRESCRIBING_COST_PER_HEAD * b.list_size if d["prescribing_initiative"] else 0.0
        ),
        "freed_up_use": 0.0,
        "risk_share": b.stop_loss_excess if capped else 0.0,
        "priority": 0.0,
    }
    out = {k: round(float(v), 2) for k, v in out.items()}
    out["total"] = round(sum(out.values()), 2)
    return out


def net_decision_cost(costs: Mapping) -> float:
    """The decisions' net cost to the budget (£): :func:`decision_costs`' total less what the PCT
    pays above the £6,000 stop-loss. That payment equals the stop-loss top-slice (the PCT's
    expected payment, ``costs["risk_share"]``), so a stop-loss's net cost is £0."""
    return round(float(costs["total"]) - float(costs["risk_share"]), 2)


# --------------------------------------------------------------------------------------------
# Previous round's state
# --------------------------------------------------------------------------------------------
STATE_KEYS = ("round", "locality", "seed", "waiting_list", "freed_up_gbp", "history")


def _check_previous(
    scenario: Scenario, locality: str, round_no: int, previous: dict | None
) -> dict | None:
    if round_no == 1:
        if previous is not None:
            raise WorkshopError("Round 1 has no previous round: pass previous=None.")
        return None
    if not isinstance(previous, Mapping):
        raise WorkshopError(
            f"Round {round_no} needs this team's outcome of round {round_no - 1} (previous); "
            f"got {type(previous).__name__}."
        )
    missing = [k for k in STATE_KEYS if k not in previous]
    if missing:
        raise WorkshopError(
            f"The previous outcome lacks {', '.join(missing)}: pass the dictionary play_round "
            "returned for the round before."
        )
    if previous["round"] != round_no - 1 or previous["locality"] != locality:
        raise WorkshopError(
            f"The previous outcome is round {previous['round']} for {previous['locality']!r}; "
            f"round {round_no} for {locality!r} needs round {round_no - 1} for {locality!r}."
        )
    if previous["seed"] != scenario.seed:
        raise WorkshopError(
            "The previous outcome comes from a workshop with another seed: replay this team's "
            "rounds with the same scenario."
        )
    for key in ("waiting_list", "freed_up_gbp"):
        value = previous[key]
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not (math.isfinite(value) and 0 <= value <= 1e10)
        ):
            raise WorkshopError(
                f"The previous outcome's {key} must be a number ≥ 0; got {value!r}."
            )
    history = previous["history"]
    if not isinstance(history, list) or len(history) != round_no - 1:
        raise WorkshopError(f"The previous outcome's history must list {round_no - 1} round(s).")
    for entry in history:
        amounts = (
            [entry.get(k) for k in ("budget_gbp", "spend_gbp")]
            if isinstance(entry, Mapping)
            else [None]
        )
        if not all(
            isinstance(a, int | float)
            and not isinstance(a, bool)
            and math.isfinite(a)
            and 0 <= a <= 1e10
            for a in amounts
        ):
            raise WorkshopError(
                "Each round in the previous outcome's history needs budget_gbp "
                "and spend_gbp as amounts of £0 or more."
            )
    return previous


# --------------------------------------------------------------------------------------------
# One round
# --------------------------------------------------------------------------------------------
def play_round(
    scenario: Scenario, locality: str, round_no: int, decisions: dict, previous: dict | None = None
) -> dict:
    """The outcome of one round for one team (plain JSON; see the module docstring).

    ``previous`` is this team's outcome of round ``round_no - 1`` (None for round 1); it carries
    the admitted waiting list, the freed-up resources to spend and the budget history.

    Main keys: ``indicative_budget_gbp``; ``spend_gbp`` (``spend_breakdown`` lists its lines);
    ``variance_gbp`` (budget - spend, + = underspend); ``freed_up_gbp`` (the practices' 70% of an
    underspend, after repaying any overspend carried: ``carried_overspend_gbp``,
    ``budget_status``); ``bought`` (what last round's freed-up resources bought);
    ``emergency_admissions``, ``emergency_per_1000``; ``waiting_list``, ``mean_wait_weeks``,
    ``rtt_within_18_weeks`` (share of admitted pathways); ``risk_of_overspend`` (the chance, at
    the start of the year, that spend exceeds the budget: the plan's expected spend, before
    events, against the budget, with the chance spread the team carries, normal approximation);
    ``risk_carried_gbp`` (a 1-in-20 bad year's chance variation: 1.645 SD; what a risk share or
    stop-loss reduces); ``risk_taken`` (a label); ``decisions`` (as played), ``costs`` (each
    decision's, gross), ``net_decision_cost_gbp`` (their total less what the PCT paid above the
    stop-loss, which matches its top-slice: :func:`net_decision_cost`), ``events``, ``notes``.
    """
    scenario = _check_scenario(scenario)
    locality = _check_locality(scenario, locality)
    round_no = _check_round(scenario, round_no)
    d = validate_decisions(decisions)
    previous = _check_previous(scenario, locality, round_no, previous)
    b = _base(locality, round_no, scenario.growth_allowance)
    events = draw_events(scenario)[round_no - 1]["events"]
    sizes = {e["key"]: e["effect"] for e in events}
    costs = decision_costs(scenario, locality, d, round_no)
    rm = _referral_management(b, d["referral_management"])
    cm = _case_management(b, d["case_managers"], d["priority"])
    risk = _risk_parts(scenario, b, d["risk_share"])
    available = float(previous["freed_up_gbp"]) if previous else 0.0
    bought = _bought(b, d, available)

    winter_extra = b.counts["non_elective"] * sizes.get("hard_winter", 0.0)
    emergency = max(b.counts["non_elective"] - cm["avoided"] - bought["admissions_avoided"], 0.0)
    high_cost = sizes.get("high_cost_patient", 0.0)
    chance_gbp = _chance_gbp(scenario, round_no, locality, risk)
    lines = _spend_lines(b, d, costs, rm, risk, emergency, winter_extra, sizes, chance_gbp)
    spend = float(sum(line[2] for line in lines))
    planned = float(sum(line[2] for line in lines if line[3]))
    history, settled = _settle(previous, round_no, b, spend)
    rtt = _rtt(b, rm, winter_extra, bought, previous)
    counts = {
        "emergency": emergency + winter_extra,
        "gp_referrals_to_hospital": b.counts["gp_referral"] - rm["avoided"],
    }
    cv_plan = risk["sd"] / planned
    outcome = {
        "round": round_no,
        "year": b.year,
        "locality": locality,
        "seed": int(scenario.seed),
        "list_size": int(b.list_size),
        "indicative_budget_gbp": round(b.budget, 2),
        "fair_share_target_gbp": round(b.target, 2),
        "distance_from_target": b.budget / b.target - 1,
        "spend_gbp": round(spend, 2),
        "variance_gbp": round(b.budget - spend, 2),
        "variance_share": (b.budget - spend) / b.budget,
        "planned_spend_gbp": round(planned, 2),
        "spend_breakdown": [
            {"item": k, "label": label, "gbp": round(float(v), 2)} for k, label, v, _ in lines
        ],
        "freed_up_gbp": round(float(settled["freed_up"]), 2),
        "repaid_gbp": round(float(settled["repaid"]), 2),
        "carried_overspend_gbp": round(float(settled["carried"]), 2),
        "budget_status": str(settled["status"]),
        "freed_up_available_gbp": round(available, 2),
        "bought": bought,
        "emergency_admissions": int(round(counts["emergency"])),
        "emergency_per_1000": counts["emergency"] / b.list_size * 1000,
        "emergency_avoided": cm["avoided"] + bought["admissions_avoided"],
        "gp_referrals_to_hospital": int(round(counts["gp_referrals_to_hospital"])),
        "referrals_avoided": rm["avoided"],
        **rtt,
        "risk_share": d["risk_share"],
        "risk_taken": _risk_label(risk, b.list_size),
        "risk_of_overspend": budget_risk.normal_prob_overspend(
            cv_plan, (b.budget - planned) / planned
        ),
        "risk_carried_gbp": round(BAD_YEAR_Z * risk["sd"], 2),
        "pool": risk["members"],
        "chance_gbp": round(chance_gbp, 2),
        "acute_income_gbp": round(_acute_income(lines, bought, high_cost), 2),
        "community_income_gbp": round(rm["community_cost"] + bought["community_gbp"], 2),
        "decisions": d,
        "costs": costs,
        "net_decision_cost_gbp": round(
            costs["total"] + next(v for k, _, v, _ in lines if k == "stop_loss"), 2
        ),
        "events": [dict(e) for e in events],
        "history": history,
    }
    patient_part = next(v for k, _, v, _ in lines if k == "high_cost_patient")
    outcome["notes"] = _notes(outcome, b, rm, cm, winter_extra, high_cost, patient_part)
    return _json_ready(outcome)


def _chance_gbp(scenario: Scenario, round_no: int, locality: str, risk: dict) -> float:
    """This round's chance variation for the team: its own draw x its spread, or its weight in
    the pool x the pool's members' draws (each x its spread)."""
    chance = _chance(scenario.seed, round_no)
    if not risk["pooled"]:
        return chance[locality] * risk["sd"]
    capped = risk["capped"]
    return risk["weight"] * sum(
        chance[m.locality] * (m.sd_capped if capped else m.sd_own) for m in risk["member_bases"]
    )


def _spend_lines(
    b: _Base,
    d: dict,
    costs: dict,
    rm: dict,
    risk: dict,
    emergency: float,
    winter_extra: float,
    sizes: dict,
    chance_gbp: float,
) -> list[tuple[str, str, float, bool]]:
    """(key, label, £, part of the plan known at the start of the year) for each line of spend."""
    rx_kept = 1 - (PRESCRIBING_SAVING if d["prescribing_initiative"] else 0.0)
    high_cost = sizes.get("high_cost_patient", 0.0)
    patient_part = min(high_cost, STOP_LOSS_GBP) if risk["capped"] else high_cost
    emergency_price, ae = b.prices["non_elective"], b.counts["ae_attendance"]
    return [
        (
            "planned_care",
            "Outpatients and planned admissions at tariff",
            sum(b.counts[p] * b.prices[p] for p in PLANNED_PODS),
            True,
        ),
        ("referral_management_saving", "Referrals kept out of hospital", -rm["acute_saving"], True),
        ("emergency", "Emergency admissions at tariff", emergency * emergency_price, True),
        ("ae", "A&E attendances at tariff", ae * b.prices["ae_attendance"], True),
        ("prescribing", "Prescribing", b.prescribing * rx_kept, True),
        ("decisions", "Cost of this round's decisions", costs["total"], True),
        (
            "stop_loss",
            "Paid by the PCT above the £6,000 stop-loss",
            -b.stop_loss_excess if risk["capped"] else 0.0,
            True,
        ),
        (
            "hard_winter",
            "Hard winter: extra emergency admissions",
            winter_extra * emergency_price,
            False,
        ),
        (
            "new_drug",
            "Costly new drug",
            b.prescribing * sizes.get("new_drug", 0.0) * rx_kept,
            False,
        ),
        (
            "high_cost_patient",
            "High-cost patient (this cluster's part)",
            patient_part * risk["weight"],
            False,
        ),
        ("chance", "Chance variation for a list of this size", chance_gbp, False),
    ]


def _settle(previous: dict | None, round_no: int, b: _Base, spend: float) -> tuple[list, object]:
    """The budget history to date and this year's settlement (budgets.settle_years' last row)."""
    history = list(previous["history"]) if previous else []
    history.append(
        {
            "round": round_no,
            "year": b.year,
            "budget_gbp": round(b.budget, 2),
            "spend_gbp": round(spend, 2),
        }
    )
    table = budgets.settle_years(
        [h["budget_gbp"] for h in history],
        [h["spend_gbp"] for h in history],
        share=demand.savings_share(b.year),
    )
    return history, table.iloc[-1]


def _bought(b: _Base, d: dict, available: float) -> dict:
    """What last round's freed-up resources buy this round (outside the budget)."""
    use = d["freed_up_use"]
    out = {
        "use": use,
        "label": FREED_UP_USES[use],
        "amount_gbp": round(available, 2),
        "extra_pathways": 0.0,
        "admissions_avoided": 0.0,
        "community_gbp": 0.0,
        "acute_gbp": 0.0,
        "effect": "",
    }
    if available <= 0:
        out["effect"] = "No freed-up resources to spend this round."
    elif use == "outpatient_capacity":
        out["extra_pathways"] = available / _admitted_price(b)
        out["acute_gbp"] = available
        out["effect"] = (
            f"{number(out['extra_pathways'])} more patients treated from the "
            "admitted list, at tariff."
        )
    elif use == "community_services":
        out["community_gbp"] = available
        if d["priority"] == "older_people":
            out["admissions_avoided"] = min(
                available / COMMUNITY_COST_PER_ADMISSION_AVOIDED, b.counts["non_elective"]
            )
            out["effect"] = (
                f"Community services for older people avoided "
                f"{number(out['admissions_avoided'])} emergency admissions (an "
                "assumed £3,500 each)."
            )
        else:
            out["effect"] = (
                f"{gbp(available)} for {PRIORITIES[d['priority']].lower()}: its "
                "benefits are outside this data set's measures."
            )
    elif use == "premises_it":
        out["effect"] = "Premises and IT for the practices: no change in this year's measures."
    else:
        out["effect"] = "Handed back to the PCT for its other pressures."
    return out


def _rtt(b: _Base, rm: dict, winter_extra: float, bought: dict, previous: dict | None) -> dict:
    """The admitted list a year on, the mean wait (Little's law) and the share within 18 weeks."""
    demand_year = max(b.admitted - rm["admissions_avoided"], 1e-9)
    capacity = b.capacity - winter_extra * WINTER_DISPLACEMENT + bought["extra_pathways"]
    start = float(previous["waiting_list"]) if previous else b.list_start
    end = max(start + demand_year - capacity, 0.0)
    wait = end / (demand_year / WEEKS_PER_YEAR) + rm["triaged_share"] * TRIAGE_WEEKS
    share = waiting_list.share_within(wait) if wait > 0 else 1.0
    return {
        "admitted_pathways": demand_year,
        "admitted_capacity": capacity,
        "waiting_list": end,
        "mean_wait_weeks": wait,
        "rtt_within_18_weeks": share,
        "rtt_standard": waiting_list.ADMITTED_STANDARD,
        "rtt_meets_standard": bool(share >= waiting_list.ADMITTED_STANDARD - 1e-9),
    }


def _acute_income(lines: list, bought: dict, high_cost: float) -> float:
    """The trust's income from this cluster: its activity at tariff, this round's events (the
    high-cost patient in full, whoever pays) and any capacity bought; chance variation left out."""
    hospital = {"planned_care", "referral_management_saving", "emergency", "ae", "hard_winter"}
    activity = float(sum(v for k, _, v, _ in lines if k in hospital))
    return activity + high_cost + bought["acute_gbp"]


def _risk_label(risk: dict, list_size: float) -> str:
    if risk["pooled"]:
        text = f"Risk share across {len(risk['members'])} clusters"
        return text + " with a £6,000 stop-loss" if risk["capped"] else text
    text = f"Own risk ({number(list_size)} patients)"
    return text + " with a £6,000 stop-loss" if risk["capped"] else text


def _notes(
    o: dict,
    b: _Base,
    rm: dict,
    cm: dict,
    winter_extra: float,
    high_cost: float,
    patient_paid: float,
) -> list[str]:
    """Plain-English sentences: what happened this round, and why."""
    notes = [
        f"Indicative budget for {b.year}: {gbp(b.budget)} ({gbp(b.budget / b.list_size)} a "
        f"patient); fair share {gbp(b.target)}."
    ]
    v = o["variance_gbp"]
    word = "an underspend" if v >= 0 else "an overspend"
    notes.append(
        f"Spend came to {gbp(o['spend_gbp'])}: {word} of {gbp(abs(v))} "
        f"({pct(abs(o['variance_share']))} of the budget)."
    )
    if o["freed_up_gbp"] > 0:
        notes.append(
            f"Under the {pct(SAVINGS_SHARE, 0)} rule the practices keep "
            f"{gbp(o['freed_up_gbp'])} to reinvest next round."
        )
    if o["repaid_gbp"] > 0:
        notes.append(f"{gbp(o['repaid_gbp'])} of the underspend first repaid an earlier overspend.")
    if o["carried_overspend_gbp"] > 0:
        overdue = "budget at risk" in o["budget_status"]
        notes.append(
            f"{gbp(o['carried_overspend_gbp'])} of overspend is carried forward"
            + (
                f"; part of it is {budgets.OFFSET_YEARS} years old, so the budget is at risk."
                if overdue
                else f" and must be offset within {budgets.OFFSET_YEARS} years."
            )
        )
    for e in o["events"]:
        if e["key"] == "hard_winter":
            notes.append(
                f"The hard winter added {number(winter_extra)} emergency admissions "
                f"({gbp(winter_extra * b.prices['non_elective'])}); their beds cancelled "
                f"{number(winter_extra * WINTER_DISPLACEMENT)} planned operations."
            )
        elif e["key"] == "new_drug":
            added = next(x["gbp"] for x in o["spend_breakdown"] if x["item"] == "new_drug")
            notes.append(f"The costly new drug added {gbp(added)} to prescribing.")
        else:
            notes.append(
                f"One patient cost {gbp(high_cost)}; under your risk arrangements the "
                f"cluster paid {gbp(patient_paid)}."
            )
    if rm["triaged"] > 0:
        notes.append(
            f"Referral management kept {number(rm['avoided'])} referrals out of hospital "
            f"(saving {gbp(rm['acute_saving'])} at tariff) for {gbp(rm['cost'])}; its triage "
            f"adds {number(TRIAGE_WEEKS)} weeks to the 18-week clock for "
            f"{pct(rm['triaged_share'], 0)} of pathways."
        )
    if cm["patients"] > 0:
        notes.append(
            f"{number(o['decisions']['case_managers'])} case managers ({gbp(cm['cost'])}) "
            f"looked after {number(cm['patients'])} high-risk patients and avoided "
            + (
                "no emergency admissions (Evercare found no significant effect)."
                if cm["effect"] == 0
                else f"{number(cm['avoided'], 1)} emergency admissions (an assumed effect for an "
                "older-people plan)."
            )
        )
    if o["costs"]["risk_share"] > 0:
        notes.append(
            f"The stop-loss top-slice of {gbp(o['costs']['risk_share'])} was offset by the PCT "
            f"paying patients' costs above {gbp(STOP_LOSS_GBP)} (the same amount expected), so "
            "its net cost was £0; what it changed was the risk carried."
        )
    if o["bought"]["amount_gbp"] > 0:
        notes.append(
            f"Freed-up resources of {gbp(o['bought']['amount_gbp'])}: {o['bought']['effect']}"
        )
    notes.append(
        f"{pct(o['rtt_within_18_weeks'])} of admitted patients were treated within 18 weeks "
        f"(standard {pct(waiting_list.ADMITTED_STANDARD, 0)}); {number(o['waiting_list'])} "
        "are still waiting."
    )
    change = "added" if o["chance_gbp"] >= 0 else "saved"
    notes.append(
        f"Chance variation {change} {gbp(abs(o['chance_gbp']))}. At the start of the "
        f"year the chance of overspending was {pct(o['risk_of_overspend'], 0)}."
    )
    return notes


def _json_ready(obj):
    """Plain Python types throughout; a NaN or infinity is a bug, so it raises."""
    if isinstance(obj, dict):
        return {str(k): _json_ready(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_json_ready(v) for v in obj]
    if isinstance(obj, bool | np.bool_):
        return bool(obj)
    if isinstance(obj, int | np.integer):
        return int(obj)
    if isinstance(obj, float | np.floating):
        value = float(obj)
        if not math.isfinite(value):
            raise WorkshopError(
                "The engine produced a number that is not finite; please report this as a bug."
            )
        return value
    if obj is None or isinstance(obj, str):
        return obj
    raise TypeError(f"Not JSON-ready: {type(obj).__name__}")


def replay(scenario: Scenario, locality: str, decisions_by_round: list[dict]) -> list[dict]:
    """Rounds 1..n from stored decisions: ``play_round`` chained, exactly."""
    scenario = _check_scenario(scenario)
    if not isinstance(decisions_by_round, list | tuple) or not (
        1 <= len(decisions_by_round) <= scenario.rounds
    ):
        raise WorkshopError(
            f"Give a list of 1 to {scenario.rounds} rounds of decisions; got "
            f"{decisions_by_round!r}."[:300]
        )
    outcomes: list[dict] = []
    for round_no, decisions in enumerate(decisions_by_round, start=1):
        previous = outcomes[-1] if outcomes else None
        outcomes.append(play_round(scenario, locality, round_no, decisions, previous))
    return outcomes


# --------------------------------------------------------------------------------------------
# The team's data pack
# --------------------------------------------------------------------------------------------
PACK_MEASURES = {  # point of delivery -> words (per 1,000 registered patients a year)
    "gp_referral": "GP referrals",
    **{pod: budgets.COMPONENTS[pod] for pod in HOSPITAL_PODS},
}
LAST_ROUND_KEYS = (
    "round",
    "year",
    "indicative_budget_gbp",
    "spend_gbp",
    "variance_gbp",
    "freed_up_gbp",
    "carried_overspend_gbp",
    "budget_status",
    "emergency_admissions",
    "emergency_per_1000",
    "rtt_within_18_weeks",
    "waiting_list",
    "risk_taken",
    "risk_of_overspend",
    "notes",
    "events",
    "decisions",
    "bought",
)


def _older_share(ids: list[str] | None) -> float:
    pop = _tables()["population"]
    if ids is not None:
        pop = pop.loc[pop["practice_id"].isin(ids)]
    older = pop.loc[pop["age_band"].isin(data.OLDER_BANDS), "persons"].sum()
    return float(older / pop["persons"].sum())


def _practice_rows(locality: str, round_no: int, allowance: bool) -> list[dict]:
    t = _tables()
    budget, target = _budget_path(allowance)[round_no]
    mine = t["practices"].loc[t["practices"]["locality"] == locality].sort_values("practice_name")
    rows = []
    for p in mine.itertuples():
        rows.append(
            {
                "practice_id": p.practice_id,
                "practice_name": p.practice_name,
                "list_size": int(p.list_size),
                "need_index": float(p.need_index),
                "aged_65_plus_share": _older_share([p.practice_id]),
                "indicative_budget_gbp": round(float(budget[p.practice_id]), 2),
                "fair_share_target_gbp": round(float(target[p.practice_id]), 2),
                "distance_from_target": float(budget[p.practice_id] / target[p.practice_id] - 1),
            }
        )
    return rows


def _activity_rows(locality: str, b: _Base) -> list[dict]:
    mine, pct_all = _activity_base(locality), _activity_base(None)
    rows = []
    for pod, label in PACK_MEASURES.items():
        own = mine.get(pod, 0.0) / mine["list_size"] * 1000
        avg = pct_all.get(pod, 0.0) / pct_all["list_size"] * 1000
        rows.append(
            {
                "measure": pod,
                "label": label,
                "unit": "per 1,000 patients",
                "locality": own,
                "pct_average": avg,
                "ratio_to_pct": own / avg,
                "locality_count": int(mine.get(pod, 0.0)),
                "expected_this_year": b.counts[pod],
            }
        )
    for key, label, unit in (
        ("prescribing", "Prescribing cost", "£ per patient"),
        ("items", "Prescription items", "items per patient"),
    ):
        own, avg = mine[key] / mine["list_size"], pct_all[key] / pct_all["list_size"]
        rows.append(
            {
                "measure": key,
                "label": label,
                "unit": unit,
                "locality": own,
                "pct_average": avg,
                "ratio_to_pct": own / avg,
                "locality_count": int(round(mine[key])),
                "expected_this_year": b.prescribing if key == "prescribing" else None,
            }
        )
    return rows


def _expected_lines(b: _Base) -> list[dict]:
    rows = [
        {
            "item": pod,
            "label": PACK_MEASURES[pod],
            "count": b.counts[pod],
            "unit_price_gbp": round(b.prices[pod], 2),
            "cost_gbp": round(b.counts[pod] * b.prices[pod], 2),
        }
        for pod in HOSPITAL_PODS
    ]
    rows.append(
        {
            "item": "prescribing",
            "label": "Prescribing",
            "count": None,
            "unit_price_gbp": None,
            "cost_gbp": round(b.prescribing, 2),
        }
    )
    return rows


def _highlights(locality: str, activity: list[dict], b: _Base, older: float) -> list[str]:
    out = []
    for row in activity:
        if row["measure"] in ("gp_referral", "non_elective", "elective_inpatient", "prescribing"):
            gap = row["ratio_to_pct"] - 1
            side = "above" if gap >= 0 else "below"
            own, avg, unit = row["locality"], row["pct_average"], row["unit"]
            if unit.startswith("£ "):  # money: "£160.40 per patient", never "160.4 £ per ..."
                own_text, avg_text = f"{gbp(own, 2)} {unit[2:]}", gbp(avg, 2)
            else:
                own_text, avg_text = f"{number(own, 1)} {unit}", number(avg, 1)
            out.append(
                f"{row['label']}: {own_text}, {pct(abs(gap), 0)} {side} the PCT average "
                f"({avg_text})."
            )
    out.append(
        f"{pct(older)} of {locality}'s patients are aged 65 or over "
        f"(PCT {pct(_older_share(None))}); older lists have more emergency admissions."
    )
    dft = b.budget / b.target - 1
    band = "within" if abs(dft) <= budgets.FAIR_SHARE_BAND else "outside"
    out.append(
        f"The indicative budget is {pct(abs(dft))} {'over' if dft >= 0 else 'under'} fair "
        f"share, {band} the ±{pct(budgets.FAIR_SHARE_BAND, 0)} band."
    )
    return out


def data_pack(
    scenario: Scenario, locality: str, round_no: int = 1, previous: dict | None = None
) -> dict:
    """The team's evidence for a round: practices, needs and activity against the PCT average,
    the indicative budget and fair share, the waiting list, the risk, and last round's outcome.

    Tables are lists of row dictionaries; ``sources`` lists the citations to show.
    """
    scenario = _check_scenario(scenario)
    locality = _check_locality(scenario, locality)
    round_no = _check_round(scenario, round_no)
    previous = _check_previous(scenario, locality, round_no, previous)
    b = _base(locality, round_no, scenario.growth_allowance)
    ids = _locality_ids(locality)
    older = _older_share(ids)
    practices = _practice_rows(locality, round_no, scenario.growth_allowance)
    activity = _activity_rows(locality, b)
    expected = b.hospital + b.prescribing
    own_sd = b.sd_own
    need = sum(r["need_index"] * r["list_size"] for r in practices) / b.list_size
    pack = {
        "scenario": scenario.name,
        "locality": locality,
        "round": round_no,
        "year": b.year,
        "activity_year": ACTIVITY_YEAR,
        "summary": {
            "practices": len(practices),
            "list_size": int(b.list_size),
            "need_index": need,
            "aged_65_plus_share": older,
            "pct_aged_65_plus_share": _older_share(None),
            "predecessor_pcts": sorted(
                _tables()["practices"]
                .loc[lambda p: p["locality"] == locality, "predecessor_pct"]
                .unique()
                .tolist()
            ),
        },
        "practices": practices,
        "activity": activity,
        "budget": {
            "year": b.year,
            "indicative_budget_gbp": round(b.budget, 2),
            "budget_per_patient_gbp": round(b.budget / b.list_size, 2),
            "fair_share_target_gbp": round(b.target, 2),
            "distance_from_target": b.budget / b.target - 1,
            "within_fair_share_band": bool(abs(b.budget / b.target - 1) <= budgets.FAIR_SHARE_BAND),
            "fair_share_band": budgets.FAIR_SHARE_BAND,
            "pace_of_change": PACE_OF_CHANGE,
            "growth_allowance_gbp": round(b.budget - b.rule_budget, 2),
            "expected_spend_gbp": round(expected, 2),
            "expected_variance_gbp": round(b.budget - expected, 2),
            "savings_share": demand.savings_share(b.year),
        },
        "expected_spend": _expected_lines(b),
        "waiting": {
            "admitted_list_at_start": float(previous["waiting_list"]) if previous else b.list_start,
            "admitted_pathways_expected": b.admitted,
            "rtt_within_18_weeks_last_year": (
                float(previous["rtt_within_18_weeks"]) if previous else RTT_START
            ),
            "standard": waiting_list.ADMITTED_STANDARD,
        },
        "risk": {
            "own_risk_carried_gbp": round(BAD_YEAR_Z * own_sd, 2),
            "chance_of_overspend_if_no_change": budget_risk.normal_prob_overspend(
                own_sd / expected, (b.budget - expected) / expected
            ),
            "stop_loss_top_slice_gbp": round(b.stop_loss_excess, 2),
        },
        "freed_up_available_gbp": round(float(previous["freed_up_gbp"]), 2) if previous else 0.0,
        "last_round": (
            {k: previous[k] for k in LAST_ROUND_KEYS if k in previous} if previous else None
        ),
        "highlights": _highlights(locality, activity, b, older),
        "sources": list(SOURCES),
    }
    return _json_ready(pack)


# --------------------------------------------------------------------------------------------
# The PCT's and the trust's view, and the debrief
# --------------------------------------------------------------------------------------------
SUMMED = (
    "indicative_budget_gbp",
    "spend_gbp",
    "variance_gbp",
    "freed_up_gbp",
    "carried_overspend_gbp",
    "emergency_admissions",
    "list_size",
    "waiting_list",
    "admitted_pathways",
    "acute_income_gbp",
    "community_income_gbp",
    "chance_gbp",
)


def _check_outcomes(outcomes_by_team: object) -> dict:
    if not isinstance(outcomes_by_team, Mapping) or not outcomes_by_team:
        raise WorkshopError(
            "Give the outcomes as a dictionary of team name -> outcome, with at least one team."
        )
    if len(outcomes_by_team) > MAX_TEAMS:
        raise WorkshopError(
            f"At most {MAX_TEAMS} teams can be summarised; got {len(outcomes_by_team)}."
        )
    for team, o in outcomes_by_team.items():
        if not isinstance(o, Mapping) or any(k not in o for k in (*SUMMED, "round", "locality")):
            raise WorkshopError(f"The outcome for team {team!r} is not a play_round outcome.")
    rounds = {o["round"] for o in outcomes_by_team.values()}
    if len(rounds) > 1:
        raise WorkshopError(f"Summarise one round at a time; got rounds {sorted(rounds)}.")
    return dict(outcomes_by_team)


def pct_summary(outcomes_by_team: dict[str, dict]) -> dict:
    """PCT-wide totals of one round across teams, the acute trust's view, and one row per team.

    Teams play parallel copies of localities: where two teams chose the same locality the totals
    add parallel worlds (``shared_localities`` says so).
    """
    outcomes = _check_outcomes(outcomes_by_team)
    teams = sorted(outcomes)
    total = {k: float(sum(outcomes[t][k] for t in teams)) for k in SUMMED}
    first = outcomes[teams[0]]
    localities = [outcomes[t]["locality"] for t in teams]
    rtt = (
        sum(outcomes[t]["rtt_within_18_weeks"] * outcomes[t]["admitted_pathways"] for t in teams)
        / total["admitted_pathways"]
    )
    rows = [
        {
            "team": t,
            "locality": outcomes[t]["locality"],
            **{
                k: outcomes[t][k]
                for k in (
                    "indicative_budget_gbp",
                    "spend_gbp",
                    "variance_gbp",
                    "freed_up_gbp",
                    "emergency_per_1000",
                    "rtt_within_18_weeks",
                    "risk_of_overspend",
                    "risk_taken",
                )
            },
            "bought": outcomes[t]["bought"]["label"],
            "bought_gbp": outcomes[t]["bought"]["amount_gbp"],
            "priority": PRIORITIES[outcomes[t]["decisions"]["priority"]],
        }
        for t in teams
    ]
    out = {
        "round": first["round"],
        "year": first["year"],
        "teams": len(teams),
        "localities": sorted(set(localities)),
        "shared_localities": len(set(localities)) < len(localities),
        **{k: round(v, 2) for k, v in total.items()},
        "emergency_admissions": int(total["emergency_admissions"]),
        "list_size": int(total["list_size"]),
        "emergency_per_1000": total["emergency_admissions"] / total["list_size"] * 1000,
        "variance_share": total["variance_gbp"] / total["indicative_budget_gbp"],
        "rtt_within_18_weeks": rtt,
        "teams_overspent": sum(outcomes[t]["variance_gbp"] < 0 for t in teams),
        "teams_meeting_rtt_standard": sum(bool(outcomes[t]["rtt_meets_standard"]) for t in teams),
        "teams_in_risk_share": sum(
            outcomes[t]["risk_share"] in ("pool", "pool_and_stop_loss") for t in teams
        ),
        "acute_trust": {
            "income_gbp": round(total["acute_income_gbp"], 2),
            "emergency_admissions": int(total["emergency_admissions"]),
            "admitted_pathways": total["admitted_pathways"],
            "waiting_list": total["waiting_list"],
            "rtt_within_18_weeks": rtt,
        },
        "rows": rows,
    }
    return _json_ready(out)


def role_view(role: str, outcomes_by_team: dict[str, dict]) -> dict:
    """What a role sees of one round's outcomes.

    "cluster": each team's own figures (the rows of :func:`pct_summary`); "pct": the PCT-wide
    totals and the rows; "acute_trust": the trust's income, activity and 18-week position, with
    one row per team.
    """
    if role not in ROLES:
        raise WorkshopError(
            f"Unknown role {role!r}. Choose from: {_choices(ROLE_LABELS)}.{_suggest(role, ROLES)}"
        )
    summary = pct_summary(outcomes_by_team)
    head = {
        "role": role,
        "label": ROLE_LABELS[role],
        "round": summary["round"],
        "year": summary["year"],
    }
    if role == "cluster":
        return {**head, "rows": summary["rows"]}
    if role == "pct":
        return {**head, **summary}
    rows = [
        {
            "team": team,
            "locality": o["locality"],
            "income_gbp": o["acute_income_gbp"],
            "emergency_admissions": o["emergency_admissions"],
            "admitted_pathways": o["admitted_pathways"],
            "waiting_list": o["waiting_list"],
            "rtt_within_18_weeks": o["rtt_within_18_weeks"],
            "referrals_avoided": o["referrals_avoided"],
        }
        for team, o in sorted(outcomes_by_team.items())
    ]
    return _json_ready({**head, **summary["acute_trust"], "rows": rows})


def debrief_rows(outcomes_by_team: dict[str, list[dict]]) -> list[dict]:
    """Tidy rows for the facilitator's charts: one per team, round and measure.

    ``outcomes_by_team`` maps team name -> that team's outcomes, round by round.
    """
    if not isinstance(outcomes_by_team, Mapping) or len(outcomes_by_team) > MAX_TEAMS:
        raise WorkshopError(f"Give a dictionary of up to {MAX_TEAMS} teams -> list of outcomes.")
    rows = []
    for team in sorted(outcomes_by_team):
        rounds = outcomes_by_team[team]
        if not isinstance(rounds, list | tuple) or len(rounds) > MAX_ROUNDS:
            raise WorkshopError(f"Team {team!r}: give a list of up to {MAX_ROUNDS} outcomes.")
        for o in rounds:
            values = {k: o.get(k) for k in DEBRIEF_MEASURES}
            values["bought_gbp"] = o.get("bought", {}).get("amount_gbp")
            for key, label in DEBRIEF_MEASURES.items():
                if values[key] is None:
                    raise WorkshopError(
                        f"Team {team!r}, round {o.get('round')}: the outcome has no {key}."
                    )
                rows.append(
                    {
                        "team": team,
                        "locality": o["locality"],
                        "round": o["round"],
                        "year": o["year"],
                        "measure": key,
                        "label": label,
                        "value": values[key],
                    }
                )
    return _json_ready(rows)
