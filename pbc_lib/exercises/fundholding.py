"""Exercises for workbook 03, fundholding against practice-based commissioning: eight tasks on
budget risk, the stop-loss, balancing, pooling and management costs, checked against the data set.

Use in a notebook::

    from pbc_lib.exercises import fundholding as ex
    ex.check(1, my_answer)   # in code (JupyterLab)
    ex.task(1)               # as a box with a Check button (the web app)
    ex.summary()             # what is done and what is left

Every expected value is worked out here, at check time, from ``patient_costs.csv`` and
``practices.csv`` through :mod:`pbc_lib.models.budget_risk` and
:mod:`pbc_lib.models.transaction_costs`. Simulated answers depend a little on the random draws, so
their tolerances are wide enough for any fair method: another seed, more or fewer simulated years,
or the normal approximation, 1 − Φ(k / CV) (brief, model formula 3). Each task states its own.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np
import pandas as pd

from pbc_lib import data
from pbc_lib.exercises import Exercise, Result, SummaryText, Task, TaskBox, numeric_judge
from pbc_lib.models import budget_risk as br
from pbc_lib.models import transaction_costs as tc
from pbc_lib.quiz import parse_number
from pbc_lib.ui import gbp, number, table_html

SEED = br.DEFAULT_SEED
YEARS = br.DEFAULT_YEARS
CRUMP_SIZE = br.CRUMP_LIST_SMALL  # task 1 and 2: 9,000 patients
PRACTICE_SIZE = 7_000  # tasks 4 to 6: a 7,000-patient practice
CAP = br.STOP_LOSS_1994_GBP  # £6,000
TASK3_K, TASK3_CHANCE = 0.10, 0.05  # under 5% chance of a 10% overspend
TASK3_GRID = range(2_000, 5_001, 50)  # list sizes searched for task 3
TASK3_YEARS = 40_000  # more years, so the 5% crossing is sharp
TASK6_WINDOW, TASK6_K = br.BALANCE_YEARS, 0.05
TASK7_SIZE, TASK7_TARGET = 5_000, 3.5  # 5,000-patient practices; 1-in-20 overspend under 3.5%
TASK7_MAX = 20


# --- data ----------------------------------------------------------------------------------------
@functools.cache
def costs(scope: str) -> np.ndarray:
    """Each sampled person's annual cost (£) in a budget scope."""
    return br.scope_costs(data.load_patient_costs(), scope)


# --- the figures the tasks are checked against ---------------------------------------------------
def crump_cv() -> float:
    """Task 1: the CV (%) of a year's elective inpatient spend for 9,000 people, by formula."""
    return br.analytic_cv(costs("elective_inpatient"), CRUMP_SIZE) * 100


@functools.cache
def crump_spread() -> float:
    """Task 2: the simulated 5th-95th percentile spread (% of budget) at 9,000, elective scope."""
    curve = br.risk_curve(costs("elective_inpatient"), [CRUMP_SIZE], YEARS, seed=SEED)
    return float(curve["spread_5_95_pct"].iloc[0])


@functools.cache
def smallest_safe_list() -> float:
    """Task 3: the smallest list size (on a 50-patient grid) whose chance of overspending a
    fundholding budget by more than 10% in a year is under 5%."""
    curve = br.risk_curve(
        costs("fundholding"), list(TASK3_GRID), TASK3_YEARS, ks=(TASK3_K,), seed=SEED
    )
    chance = curve[br.overspend_column(TASK3_K)].to_numpy()
    safe = np.nonzero(chance < TASK3_CHANCE)[0]
    return float(curve["n_people"].iloc[int(safe[0])])


def authority_share() -> float:
    """Task 4: what the health authority pays a year above a £6,000 cap for 7,000 people (£):
    7,000 × the mean of max(cost − £6,000, 0)."""
    return float(PRACTICE_SIZE * br.authority_part(costs("fundholding"), CAP).mean())


@functools.cache
def cap_cut() -> float:
    """Task 5: how many percentage points the £6,000 cap takes off a 7,000-patient practice's
    1-in-20 overspend (fundholding scope)."""
    x = costs("fundholding")
    plain = br.risk_curve(x, [PRACTICE_SIZE], YEARS, seed=SEED)["overspend_p95_pct"].iloc[0]
    capped = br.risk_curve(x, [PRACTICE_SIZE], YEARS, CAP, seed=SEED)["overspend_p95_pct"].iloc[0]
    return float(plain - capped)


@functools.cache
def three_year_chance() -> float:
    """Task 6: the chance (%) that a 7,000-patient practice's three-year total overspends its
    three-year budget by more than 5% (fundholding scope, no cap)."""
    rolled = br.rolling_balance(
        costs("fundholding"), PRACTICE_SIZE, TASK6_WINDOW, YEARS, ks=(TASK6_K,), seed=SEED
    )
    return float(rolled[br.overspend_column(TASK6_K)].iloc[1] * 100)


@functools.cache
def practices_to_pool() -> float:
    """Task 7: the fewest 5,000-patient practices whose pooled 1-in-20 overspend is under 3.5%."""
    for k in range(1, TASK7_MAX + 1):
        pool = br.pooled_risk(costs("fundholding"), [TASK7_SIZE] * k, n_years=YEARS, seed=SEED)
        if pool["overspend_p95_pct"].iloc[-1] < TASK7_TARGET:
            return float(k)
    raise ValueError(f"no pool of up to {TASK7_MAX} practices gets under {TASK7_TARGET}%")


def cluster_cost_per_head() -> float:
    """Task 8: the locality-cluster configuration's management cost per head (£), default costs."""
    flat = np.array([costs("fundholding").mean()])  # costs do not depend on the risk
    table = tc.configuration_table(data.load_practices(), flat, n_years=br.MIN_YEARS, seed=SEED)
    row = table.set_index("configuration").loc["locality clusters"]
    return float(row["management_per_head_gbp"])


def _judge_count(answer: Any) -> tuple[bool, str]:
    """Task 7 wants a whole number of practices (typed text such as "5" is read too)."""
    value = parse_number(answer) if isinstance(answer, str) else answer
    if isinstance(value, bool) or not isinstance(value, int | float) or value != int(value):
        raise ValueError("a whole number of practices was expected")
    judge = numeric_judge(practices_to_pool, 0.0, "practices", lambda v: f"{v:.0f} practices")
    return judge(int(value))


def _pct(v: float) -> str:
    return f"{v:.2f}%"


def _pp(v: float) -> str:
    return f"{v:.2f} percentage points"


TASKS = [
    Task(
        1,
        "Crump's CV by formula",
        "For independent patients the coefficient of variation (CV) of a year's spend for N people "
        "is √((E[X²]/E[X]² − 1) / N), where X is one person's yearly cost. Using the elective "
        "inpatient costs in <code>patient_costs.csv</code>, what is the CV for a practice of "
        "9,000 patients, as a percentage to 2 decimal places? (Crump et al. found 7.49%.)",
        numeric_judge(crump_cv, 0.05, "%", _pct),
        "E[X²]/E[X]² is the mean of the squared costs over the square of the mean cost. Take 1 "
        "off, divide by 9,000 and take the square root; multiply by 100 for a percentage.",
        unit="%",
    ),
    Task(
        2,
        "Crump's measure, simulated",
        "Simulate many years of elective inpatient spend for 9,000 patients drawn from the same "
        "costs (for example with <code>budget_risk.spend_distribution</code>, 10,000 years). What "
        "is the spread from the 5th to the 95th percentile, as a percentage of the budget (the "
        "mean cost per head × 9,000)? Give it to 1 decimal place; any fair simulation within ±1 "
        "percentage point is right. (Crump et al. found 27.5%.)",
        numeric_judge(crump_spread, 1.0, "%", lambda v: f"{v:.1f}%"),
        "Take np.percentile of the simulated totals at 5 and 95, subtract, and divide by the "
        "budget.",
        unit="%",
    ),
    Task(
        3,
        "How small is too small?",
        "A fundholding budget covers elective inpatient, day-case and outpatient care (no "
        "stop-loss). What is the smallest list size with <strong>under a 5% chance of "
        "overspending by more than 10%</strong> in a year? Answer to the nearest 50 patients; "
        "answers within ±400 patients are right, so the normal approximation passes too.",
        numeric_judge(smallest_safe_list, 400.0, "patients", lambda v: f"{v:,.0f} patients"),
        "Work out the chance for a range of list sizes with budget_risk.risk_curve(..., "
        "ks=(0.10,)) and find where it first drops below 0.05. Bigger lists are safer.",
        unit="patients",
    ),
    Task(
        4,
        "What the stop-loss passes on",
        "Under the 1994 stop-loss, a fundholder paid at most £6,000 for any one patient in a "
        "year and the health authority paid the rest. For a 7,000-patient practice, how much a "
        "year does the health authority expect to pay (£, fundholding scope)? Answers within "
        "±£2,000 are right.",
        numeric_judge(authority_share, 2_000.0, "£", gbp),
        "For each person the authority pays max(cost − £6,000, 0). Take the mean over the "
        "sample and multiply by 7,000.",
        unit="£",
    ),
    Task(
        5,
        "What the stop-loss is worth in a bad year",
        "For the same 7,000-patient practice, by how many percentage points does the £6,000 "
        "stop-loss cut its 1-in-20 overspend (the 95th percentile of spend over budget, as % of "
        "budget)? Compare with no cap; each budget is the expected spend of what the practice "
        "pays. Answers within ±0.3 points are right.",
        numeric_judge(cap_cut, 0.3, "percentage points", _pp),
        "budget_risk.risk_curve gives overspend_p95_pct; run it with cap=None and cap=6000 and "
        "take the difference.",
        unit="points",
    ),
    Task(
        6,
        "Three years to balance",
        "Under PbC an overspend could be offset, but the budget had to balance over three "
        "years. For a 7,000-patient practice (fundholding scope, no cap), what is the chance, "
        "in %, that its three-year total overspends its three-year budget by more than 5%? "
        "Answers within ±0.5 percentage points are right.",
        numeric_judge(three_year_chance, 0.5, "%", _pct),
        "budget_risk.rolling_balance(costs, 7000, 3) gives p_overspend_5pct for the three-year "
        "totals in its second row. With independent years the CV of a three-year total is the "
        "one-year CV ÷ √3.",
        unit="%",
    ),
    Task(
        7,
        "Pooling",
        "Practices of 5,000 patients pool their fundholding budgets (no cap). How many must "
        "pool before the pool's 1-in-20 overspend falls below 3.5% of its budget? Give a whole "
        "number.",
        _judge_count,
        "budget_risk.pooled_risk(costs, [5000] * k) gives the pool in its last row; try k = 1, "
        "2, 3... A pool of k practices is as risky as one practice k times the size.",
        unit="practices",
    ),
    Task(
        8,
        "What locality clusters cost to run",
        "Using the model's default management costs "
        "(<code>transaction_costs.DEFAULT_COSTS</code>: a fixed cost for each cluster, £1.90 a "
        "head, and the PCT behind them), what does the locality-cluster configuration cost per "
        "head of the PCT's population, in £ to the nearest penny? The fixed costs are "
        "assumptions, not published figures.",
        numeric_judge(cluster_cost_per_head, 0.02, "£", lambda v: gbp(v, 2)),
        "Add one fixed cost for each locality cluster, £1.90 × the PCT's list, and one PCT's "
        "running cost, then divide by the PCT's list.",
        unit="£",
    ),
]

EXERCISE = Exercise("Fundholding vs practice-based commissioning", TASKS)


def check(number: int, answer: Any) -> Result:
    """Check your answer to task ``number`` (1-8): "Correct." or "Not quite." with a hint."""
    return EXERCISE.check(number, answer)


def task(number: int) -> TaskBox:
    """Task ``number`` as a box with a Check button (for the web app)."""
    return EXERCISE.task(number)


def progress():
    """A live line saying how many tasks are answered and correct (for the web app)."""
    return EXERCISE.progress()


def summary() -> SummaryText:
    """How many tasks are answered and correct, and which are left."""
    return EXERCISE.summary()


def facts() -> pd.DataFrame:
    """The figures the tasks may use, from the data set and the model's constants."""
    sample = data.load_patient_costs()
    rows = [
        ("People in the cost sample (patient_costs.csv)", number(len(sample))),
        ("Mean cost per head, fundholding scope", gbp(costs("fundholding").mean(), 2)),
        ("Mean cost per head, elective inpatient care", gbp(costs("elective_inpatient").mean(), 2)),
        ("Stop-loss from April 1994 (SI 1994/640)", gbp(CAP)),
        ("Patients in the PCT (practices.csv)", number(data.load_practices()["list_size"].sum())),
    ]
    return pd.DataFrame(rows, columns=["Figure", "Value"])


def facts_html() -> str:
    """The figures every task may use, as an HTML table."""
    return table_html(facts(), caption="Figures you may need (from the data set)")
