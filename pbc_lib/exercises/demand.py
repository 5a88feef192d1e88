"""Exercises for workbook 02, demand management and the 18-week target: seven tasks checked
against the data set and the models.

Use in a notebook::

    from pbc_lib.exercises import demand as ex
    ex.check(1, my_answer)   # in code (JupyterLab)
    ex.task(1)               # as a box with a Check button (the web app)
    ex.summary()             # what is done and what is left

Every expected value is worked out here from the data set through :mod:`pbc_lib.models.demand`
and :mod:`pbc_lib.models.waiting_list`, so any method that reaches the same figure passes
(tolerances are in each task). Task 7 is checked by simulation: the capacity given must meet the
standard, and be close to the least that does.
"""

from __future__ import annotations

import functools
import math
from typing import Any

import ipywidgets as widgets
import pandas as pd

from pbc_lib import data
from pbc_lib.exercises import Exercise, Result, SummaryText, Task, TaskBox, numeric_judge
from pbc_lib.models import demand as dm
from pbc_lib.models import waiting_list as wl
from pbc_lib.quiz import parse_number
from pbc_lib.ui import gbp, number, table_html

PRACTICE = "WM004"  # Highfield Health Centre: a high referrer
YEAR, PRICE_YEAR = "2006/07", "2007/08"
ICATS_REFERRALS = 1_000  # task 5: in-scope referrals a year (round, so the rule is the point)
# Task 7: one specialty's list. Demand from the data (see weekly_demand); the backlog and the
# seed are the task's own settings [U].
TASK7_START, TASK7_MEAN_WAIT, TASK7_WEEK, TASK7_WINDOW, TASK7_SEED = 3_000, 20.0, 52, 4, 5
TASK4_EFFECT = 0.15  # an optimistic 15% of admissions avoided (the designer's "hoped for") [U]
TASK7_MARGIN = 0.03  # an answer may be up to 3% above the least capacity that meets the standard


# --- the figures the tasks are checked against --------------------------------------------------
@functools.cache
def _tables() -> dict[str, pd.DataFrame]:
    return {
        "activity": data.load_activity(),
        "prices": data.load_prices(),
        "list_sizes": data.load_list_sizes(),
        "practices": data.load_practices().set_index("practice_id"),
    }


def costs() -> dm.UnitCosts:
    """2007/08 prices with the PCT's 2006/07 ratios (follow-ups etc. per first attendance)."""
    t = _tables()
    return dm.unit_costs(t["prices"], PRICE_YEAR, t["activity"], YEAR)


def pathway_cost() -> float:
    """Task 1: WM004's 2006/07 pathway (firsts, follow-ups, electives, day cases) at 2006/07
    prices (£)."""
    t = _tables()
    return dm.referral_pathway(t["activity"], t["prices"], t["list_sizes"], PRACTICE, YEAR).cost


def referral_ratio() -> float:
    """Task 2: WM004's GP referrals over the number expected at the PCT's rate (crude)."""
    t = _tables()
    counts = dm.expected_referrals(t["activity"], t["list_sizes"], YEAR).set_index("practice_id")
    return float(counts.at[PRACTICE, "ratio"])


def cost_per_referral() -> float:
    """Task 3: the acute cost of one GP referral's pathway at 2007/08 tariff (£)."""
    return costs().per_referral


def break_even_caseload() -> float:
    """Task 4: patients a case manager must carry to pay for themselves at the task's figures."""
    saving_per_patient = dm.ADMISSION_RATE_HIGH_RISK.central * TASK4_EFFECT * costs().emergency
    return dm.CASE_MANAGER_COST.central / saving_per_patient


def icats_net_saving() -> float:
    """Task 5: the assessment service's net saving a year with every input at its central value."""
    central = {
        name: dm.fixed(u.central, u.source, u.tag)
        for name, u in (
            ("share_triaged", dm.SHARE_TRIAGED),
            ("share_redirected", dm.SHARE_REDIRECTED),
            ("share_returned", dm.SHARE_RETURNED),
            ("admission_factor", dm.ADMISSION_FACTOR),
            ("community_price", dm.COMMUNITY_PRICE),
            ("triage_cost", dm.TRIAGE_COST),
            ("induced_per_redirected", dm.INDUCED_REFERRALS),
        )
    }
    scheme = dm.ReferralManagement(referrals=ICATS_REFERRALS, **central)
    return float(dm.simulate(scheme, costs(), draws=100, seed=0).net_saving[0])


def weekly_demand() -> float:
    """Referrals a week for one specialty: the PCT's 2006/07 GP referrals ÷ 52 × 15% [U]."""
    act = _tables()["activity"]
    rows = act.loc[(act["financial_year"] == YEAR) & (act["pod"] == "gp_referral")]
    return round(rows["activity"].sum() / 52 * dm.MSK_SCOPE_SHARE)


def target_list() -> float:
    """Task 6: the largest steady list that meets 90% within 18 weeks (Little's law)."""
    return wl.target_queue_size(weekly_demand(), wl.ADMITTED_STANDARD)


def _task7_start() -> Any:
    return wl.steady_start_list(TASK7_START, TASK7_MEAN_WAIT)


@functools.cache
def least_capacity() -> float:
    """Task 7: the least weekly capacity that meets 90% in weeks 49-52 (seeded simulation)."""
    return wl.capacity_needed(
        weekly_demand(),
        wl.ADMITTED_STANDARD,
        by_week=TASK7_WEEK,
        start_list=_task7_start(),
        window=TASK7_WINDOW,
        seed=TASK7_SEED,
    )


def share_met(capacity: float) -> float:
    """Task 7: the share within 18 weeks of patients treated in weeks 49-52 with ``capacity``."""
    r = wl.simulate_waiting_list(
        weekly_demand(),
        capacity,
        TASK7_WEEK,
        start_list=_task7_start(),
        seed=TASK7_SEED,
    )
    return float(r.pooled_within(TASK7_WEEK - TASK7_WINDOW + 1, TASK7_WEEK)[0])


def judge_capacity(answer: Any) -> tuple[bool, str]:
    """Simulate the list with the trainee's capacity: it must meet 90%, and not by a wide margin."""
    value = parse_number(answer) if isinstance(answer, str) else answer
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError("a number of patients a week was expected")
    if not 0 < value <= wl.MAX_WEEKLY:
        raise ValueError(f"capacity must be above 0 and at most {wl.MAX_WEEKLY:,.0f} a week")
    share = share_met(float(value))
    least = least_capacity()
    said = f"With {number(value, 1)} a week, {share:.1%} of the patients treated in weeks 49-52"
    if share < wl.ADMITTED_STANDARD:
        return False, f"{said} had waited 18 weeks or less: short of 90%, so it is too low."
    if value > least * (1 + TASK7_MARGIN):
        return False, f"{said} were within 18 weeks, but a smaller capacity also does: too high."
    return True, f"{said} were within 18 weeks: the standard is met, with little to spare."


def _pct2(value: float) -> str:
    return f"{value:.2f}"


TASKS = [
    Task(
        1,
        "Cost a referral pattern",
        "Under Payment by Results every step after a GP referral is paid at tariff. What did "
        "the outpatient and planned hospital care of Highfield Health Centre's (WM004) patients "
        "cost in 2006/07: its first attendances, follow-ups, elective inpatient admissions and "
        "day cases, each at the 2006/07 price in <code>prices.csv</code>? Give it to the "
        "nearest £100.",
        numeric_judge(pathway_cost, 100.0, "£", gbp),
        "Take WM004's 2006/07 rows of <code>activity.csv</code> for the four priced steps "
        "(GP referrals have no price), multiply each by its 2006/07 price, and add up.",
        unit="£",
    ),
    Task(
        2,
        "Referrals against the number expected",
        "Across the PCT, 2006/07 GP referrals divided by 2006/07 registered patients gives the "
        "PCT's referral rate. At that rate, how many referrals would WM004's list be expected to "
        "make, and what is its ratio of observed to expected referrals? Give the ratio to 2 "
        "decimal places (1.00 = as expected).",
        numeric_judge(referral_ratio, 0.005, "", _pct2),
        "Expected = PCT rate × WM004's 2006/07 list size (from <code>list_sizes.csv</code>); "
        "the ratio is WM004's GP referrals ÷ expected.",
    ),
    Task(
        3,
        "What one GP referral costs",
        "Using 2007/08 prices and the PCT's 2006/07 ratios per first outpatient attendance "
        "(follow-ups, elective admissions and day cases, each ÷ first attendances), and allowing "
        "for the 8% of appointments not attended (HES, 2008-09), the acute cost of one GP "
        "referral is 0.92 × (first + follow-ups per first × follow-up price + electives per "
        "first × elective price + day cases per first × day-case price). What is it, to the "
        "nearest pound?",
        numeric_judge(cost_per_referral, 1.0, "£", gbp),
        "Work out the three ratios from the PCT's 2006/07 totals in <code>activity.csv</code> "
        "(all practices), then put them and the 2007/08 prices into the formula.",
        unit="£",
    ),
    Task(
        4,
        "Break-even caseload for a case manager",
        f"A case manager costs {gbp(dm.CASE_MANAGER_COST.central)} a year (an assumption). Each "
        f"patient on the caseload would have {dm.ADMISSION_RATE_HIGH_RISK.central:.2f} "
        "emergency admissions a year without the scheme (Murphy's '2% of chronic patients cause "
        f"30% of unplanned admissions' × {dm.PCT_EMERGENCY_RATE:.0f} admissions per 1,000), each "
        "paid at the 2007/08 emergency tariff in <code>prices.csv</code>. If case management "
        f"avoided {TASK4_EFFECT:.0%} of those admissions (an optimistic assumption: Evercare "
        "found no significant effect), how many patients must one case manager carry to pay "
        "for themselves? Give a whole number.",
        numeric_judge(break_even_caseload, 0.5, "patients", lambda v: f"{v:,.1f} patients"),
        "Saving per patient = admissions a year × share avoided × emergency price. Divide the "
        "case manager's cost by it, and round to the nearest whole patient.",
        unit="patients",
    ),
    Task(
        5,
        "An assessment service at its central assumptions",
        f"An assessment service (ICATS) receives {ICATS_REFERRALS:,} GP referrals a year: "
        f"{dm.SHARE_TRIAGED.central:.0%} are triaged; of those, "
        f"{dm.SHARE_REDIRECTED.central:.0%} are redirected to a community service and "
        f"{dm.SHARE_RETURNED.central:.0%} sent back to the GP. Each referral kept out of "
        "hospital saves the outpatient cost of a referral (0.92 × (first + follow-ups per first "
        f"× follow-up price)) plus {dm.ADMISSION_FACTOR.central:g} × its admission cost (0.92 × "
        "(electives per first × elective price + day cases per first × day-case price)), at "
        "2007/08 prices and the ratios of task 3. The service costs "
        f"{gbp(dm.TRIAGE_COST.central)} per referral triaged and "
        f"{gbp(dm.COMMUNITY_PRICE.central)} per community episode; each redirected referral "
        f"also draws in {dm.INDUCED_REFERRALS.central:g} extra referrals, seen in the "
        "community. These are the scheme designer's central assumptions. What is the net "
        "saving a year, to the nearest £10?",
        numeric_judge(icats_net_saving, 10.0, "£", gbp),
        "Kept out = triaged × (redirected share + returned share). Costs = triaged × triage "
        "cost + redirected × (1 + extra referrals per redirected one) × community price. Net "
        "saving = kept out × saving per referral − costs.",
        unit="£",
    ),
    Task(
        6,
        "How long a list can meet the standard?",
        "One specialty receives the PCT's 2006/07 GP referrals ÷ 52 × 15% (the share assumed "
        "to be musculoskeletal) each week, rounded to a whole number. If waits are roughly "
        "exponential, 90% within 18 weeks needs a mean wait of at most 18 ÷ ln 10 weeks. By "
        "Little's law (list = demand × mean wait), what is the largest steady list that meets "
        "the standard? Give it to the nearest 10 patients.",
        numeric_judge(target_list, 10.0, "patients", lambda v: f"{v:,.0f} patients"),
        "Mean wait = 18 / ln(10) = 7.82 weeks. Multiply by the referrals a week.",
        unit="patients",
    ),
    Task(
        7,
        "The capacity that meets 90% by a date",
        f"The same specialty (task 6's referrals a week, Poisson) starts with {TASK7_START:,} "
        f"patients already waiting, whose waits so far average {TASK7_MEAN_WAIT:.0f} weeks "
        "(<code>waiting_list.steady_start_list</code>). Patients are seen first come, first "
        "served. What weekly capacity makes the patients treated in weeks 49-52 (a monthly "
        "return) meet 90% within 18 weeks? Use <code>waiting_list.simulate_waiting_list</code> "
        f"with <code>seed={TASK7_SEED}</code> and <code>pooled_within(49, 52)</code>. Any "
        f"capacity that meets the standard and is within {TASK7_MARGIN:.0%} of the least that "
        "does is right.",
        judge_capacity,
        "Try capacities above the demand: the backlog must shrink to a few weeks' worth by "
        "week 49. Bisection (or <code>waiting_list.capacity_needed</code>) finds the least.",
        unit="a week",
    ),
]

EXERCISE = Exercise("Demand management and the 18-week target", TASKS)


def check(number: int, answer: Any) -> Result:
    """Check your answer to task ``number`` (1-7): "Correct." or "Not quite." with a hint."""
    return EXERCISE.check(number, answer)


def task(number: int) -> TaskBox:
    """Task ``number`` as a box with a Check button (for the web app)."""
    return EXERCISE.task(number)


def progress() -> widgets.HTML:
    """A live line saying how many tasks are answered and correct (for the web app)."""
    return EXERCISE.progress()


def summary() -> SummaryText:
    """How many tasks are answered and correct, and which are left."""
    return EXERCISE.summary()


def facts() -> pd.DataFrame:
    """The figures the tasks may use, as a small table (shown at the top of the notebook)."""
    t = _tables()
    prices = t["prices"].loc[t["prices"]["financial_year"] == PRICE_YEAR].set_index("pod")
    lists = t["list_sizes"].loc[t["list_sizes"]["financial_year"] == YEAR]
    rows = [
        (
            "Highfield Health Centre (WM004), registered patients 2006/07",
            number(lists.set_index("practice_id").at[PRACTICE, "registered_patients"]),
        ),
        ("The PCT's registered patients, 2006/07", number(lists["registered_patients"].sum())),
        *(
            (f"2007/08 price: {label}", gbp(prices.at[pod, "unit_price_gbp"], 2))
            for pod, label in (
                ("op_first", "first outpatient attendance"),
                ("op_follow_up", "follow-up attendance"),
                ("elective_inpatient", "elective inpatient admission"),
                ("day_case", "day case"),
                ("non_elective", "emergency admission"),
            )
        ),
        ("Appointments not attended (HES, 2008-09)", f"{dm.DNA_RATE:.0%}"),
    ]
    return pd.DataFrame(rows, columns=["Figure", "Value"])


def facts_html() -> str:
    """The figures every task may use, as an HTML table."""
    return table_html(facts(), caption="Figures you may need (from the data set and the brief)")
