"""Exercises for workbook 01, indicative budgets: eight tasks checked against the data set.

Use in a notebook::

    from pbc_lib.exercises import budgets as ex
    ex.check(1, my_answer)   # in code (JupyterLab)
    ex.task(1)               # as a box with a Check button (the web app)
    ex.summary()             # what is done and what is left

Every expected value is worked out here from the data set through :mod:`pbc_lib.models.budgets`,
so a trainee may use any method that reaches the same figure (tolerances are in each task).
"""

from __future__ import annotations

import functools
from typing import Any

import ipywidgets as widgets
import pandas as pd

from pbc_lib import data
from pbc_lib.exercises import Exercise, Result, SummaryText, Task, TaskBox, numeric_judge
from pbc_lib.models import budgets as b
from pbc_lib.ui import gbp, number, pct, table_html

PRACTICE = "WM001"  # Bridge End Surgery: the practice most tasks use
OVER_PRACTICE = "WM034"  # Saltmarsh Medical Centre: far over its fair share
TASK5_LAMBDA = 0.30
# Task 6: an illustrative three-year run for a practice (round numbers, so the rule is the point)
TASK6_BUDGETS = (2_000_000, 2_000_000, 2_000_000)
TASK6_OUTTURNS = (2_060_000, 1_980_000, 1_950_000)
TASK8_YEARS, TASK8_CUT = 3, 0.03


# --- the figures the tasks are checked against --------------------------------------------------
@functools.cache
def _tables() -> dict[str, pd.DataFrame]:
    rx, lists = data.load_prescribing(), data.load_list_sizes()
    uplift = b.prescribing_growth(rx, lists, b.ACTIVITY_YEAR)
    comps = b.budget_components(
        data.load_activity(), data.load_prices(), rx, prescribing_uplift=uplift
    )
    historic = b.historic_budgets(comps)
    targets = b.capitation_targets(data.load_practices(), data.load_population(), historic.sum())
    return {"historic": historic, "targets": targets.set_index("practice_id")}


def age_index() -> float:
    """Task 1: WM001's age-cost index."""
    return float(_tables()["targets"].at[PRACTICE, "age_index"])


def share() -> float:
    """Task 2: WM001's share of the PCT's weighted population, as a percentage."""
    return float(_tables()["targets"].at[PRACTICE, "share"]) * 100


def historic() -> float:
    """Task 3: WM001's historic budget for 2007/08 (£)."""
    return float(_tables()["historic"][PRACTICE])


def pot() -> float:
    """The PCT's pot for 2007/08: the sum of every practice's historic budget (£)."""
    return float(_tables()["historic"].sum())


def distance() -> float:
    """Task 4: WM001's distance from its fair share, as a percentage."""
    t = _tables()
    return (
        float(b.distance_from_target(t["historic"][PRACTICE], t["targets"].at[PRACTICE, "target"]))
        * 100
    )


def blended() -> float:
    """Task 5: WM034's 2007/08 budget with λ = 0.3 applied to every practice (£)."""
    t = _tables()
    budget = b.pace_of_change(t["historic"], t["targets"]["target"], TASK5_LAMBDA, 0.0)
    return float(budget[OVER_PRACTICE])


def year3_freed_up() -> float:
    """Task 6: freed-up resources in year 3 of the illustrative run, at 70% (£)."""
    settled = b.settle_years(TASK6_BUDGETS, TASK6_OUTTURNS, b.SAVINGS_SHARE_2006)
    return float(settled["freed_up"].iloc[-1])


def des_break_even() -> float:
    """Task 7: the underspend above which WM001's DES component 2 is no longer paid (£)."""
    lists = data.load_practices().set_index("practice_id")["list_size"]
    return b.des_payment(lists[PRACTICE]) / b.SAVINGS_SHARE_2006


# --- task 8: a pace of change that meets two conditions -----------------------------------------
def judge_plan(answer: Any) -> tuple[bool, str]:
    """Run the glide path with the trainee's settings and test both conditions."""
    if not isinstance(answer, dict) or "lam" not in answer:
        raise ValueError(
            'give a dictionary such as {"lam": 0.4, "threshold": 0.0, "max_cut": 0.03}'
        )
    settings = b.PathSettings(
        lam=float(answer["lam"]),
        threshold=float(answer.get("threshold", 0.0)),
        growth=b.ALLOCATION_GROWTH,
        years=TASK8_YEARS,
        max_cut=answer.get("max_cut"),
    )
    t = _tables()
    path = b.glide_path(t["historic"], t["targets"]["share"], settings)
    end = path.loc[path["step"] == TASK8_YEARS]
    outside = int((end["dft"].abs() > b.FAIR_SHARE_BAND + 1e-9).sum())
    worst = -float(path.loc[path["step"] > 0, "change"].min())
    ok_band, ok_cut = outside == 0, worst <= TASK8_CUT + 1e-9
    result = (
        f"With λ = {settings.lam:.0%}, {outside} practice(s) are still more than 10% from fair "
        f"share after {TASK8_YEARS} years, and the largest cut in one year is {worst:.1%}."
    )
    if ok_band and ok_cut:
        return True, result + " Both conditions are met."
    missing = [] if ok_band else ["bring every practice within 10%"]
    missing += [] if ok_cut else ["keep every cut to 3% or less"]
    return False, result + " It does not " + " or ".join(missing) + "."


def _plan_box() -> tuple[widgets.Widget, Any]:
    lam = widgets.FloatSlider(
        value=0.25,
        min=0,
        max=1,
        step=0.05,
        description="Pace of change (λ)",
        readout_format=".0%",
        style={"description_width": "initial"},
    )
    threshold = widgets.Dropdown(
        options=[
            ("Every practice", 0.0),
            ("More than 5% away", 0.05),
            ("More than 10% away", 0.10),
        ],
        value=0.0,
        description="Move",
        style={"description_width": "initial"},
    )
    cut = widgets.Dropdown(
        options=[("No limit", 1.0), ("1% a year", 0.01), ("3% a year", 0.03)],
        value=1.0,
        description="Largest cut allowed",
        style={"description_width": "initial"},
    )
    box = widgets.VBox([lam, threshold, cut])
    return box, lambda: {
        "lam": lam.value,
        "threshold": threshold.value,
        "max_cut": None if cut.value == 1.0 else cut.value,
    }


def _pct(value: float) -> str:
    return f"{value:.2f}%"


TASKS = [
    Task(
        1,
        "An age-cost index by hand",
        "Using <code>population.csv</code> and the age weights in "
        "<code>budgets.AGE_COST_WEIGHTS</code> (16-44 = 1), work out Bridge End Surgery's "
        "(WM001) age-cost index: the sum over age bands of patients × weight, divided by its "
        "list size. Give it to 3 decimal places.",
        numeric_judge(age_index, 0.0015, "", lambda v: f"{v:.3f}"),
        "Add up persons × weight over both sexes and all seven bands, then divide by the "
        "practice's list size (in the table above).",
    ),
    Task(
        2,
        "The practice's fair share of the pot",
        "With every practice's weighted population = list size × age-cost index × need index, "
        "what percentage of the PCT's weighted population is Bridge End Surgery's? "
        "(You may use <code>budgets.age_cost_index</code> for the other practices.) Give it to "
        "2 decimal places, as a percentage.",
        numeric_judge(share, 0.005, "%", _pct),
        "Work out the weighted population of all 48 practices, then take WM001's over the total.",
        unit="%",
    ),
    Task(
        3,
        "A historic budget",
        "Bridge End Surgery's historic budget for 2007/08 is its 2006/07 activity at 2007/08 "
        "prices (every point of delivery that has a price) plus its 2006/07 prescribing cost "
        "grown by the PCT's growth in prescribing cost per head "
        "(<code>budgets.prescribing_growth</code>). What is it, to the nearest pound?",
        numeric_judge(historic, 1.0, "£", gbp),
        "GP referrals have no price. Join activity to prices on the point of delivery, using "
        "2006/07 activity and 2007/08 prices.",
        unit="£",
    ),
    Task(
        4,
        "Distance from fair share",
        "The pot is the sum of all 48 practices' historic budgets, and each practice's fair share "
        "is the pot × its share from task 2. How far is Bridge End Surgery's historic budget "
        "from its fair share, as a percentage of the fair share (negative if under)? Give it to "
        "1 decimal place.",
        numeric_judge(distance, 0.05, "%", lambda v: pct(v / 100)),
        "Distance = (historic − fair share) / fair share. Under target gives a negative number.",
        unit="%",
    ),
    Task(
        5,
        "A pace-of-change move",
        f"The PCT moves every practice {TASK5_LAMBDA:.0%} of the way from its historic budget to "
        "its fair share (no threshold). What is Saltmarsh Medical Centre's (WM034) 2007/08 "
        "budget, to the nearest £100?",
        numeric_judge(blended, 100.0, "£", gbp),
        "Budget = historic + λ × (fair share − historic). With no threshold every practice moves, "
        "and the pot is unchanged.",
        unit="£",
    ),
    Task(
        6,
        "An overspend offset over three years",
        "A practice's indicative budget is £2,000,000 in each of three years. It spends "
        "£2,060,000, then £1,980,000, then £1,950,000. An underspend first pays off any overspend "
        "still carried; the practice may use 70% of what is left. How much freed-up resource "
        "does it get in year 3?",
        numeric_judge(year3_freed_up, 1.0, "£", gbp),
        "Year 1 leaves £60,000 to offset. Follow what is still owed into years 2 and 3 before "
        "taking 70% of anything left.",
        unit="£",
    ),
    Task(
        7,
        "When does the DES stop?",
        "The Towards PBC DES component 2 paid 95p per registered patient, but not where freed-up "
        "resources exceeded it. At a 70% share of savings, above what underspend (£, to the "
        "nearest pound) would Bridge End Surgery lose its DES payment? (Its list size is in the "
        "table above.)",
        numeric_judge(des_break_even, 1.0, "£", gbp),
        "The DES is 0.95 × the list. Freed-up resources are 0.70 × the underspend. Find the "
        "underspend at which the two are equal.",
        unit="£",
    ),
    Task(
        8,
        "Choose a pace of change",
        f"With the pot growing {b.ALLOCATION_GROWTH:.1%} a year, choose a pace of change (λ), "
        "which practices move, and a limit on cuts, so that after three years every practice is "
        "within 10% of its fair share and no practice's budget is ever cut by more than 3% in a "
        'year. In code, give a dictionary: {"lam": 0.4, "threshold": 0.0, "max_cut": 0.03}.',
        judge_plan,
        "A fast pace brings practices in quickly but cuts the furthest-over practices hard in the "
        "first year; a limit on cuts protects them. Try the glide path in the workbook.",
        box=_plan_box,
    ),
]

EXERCISE = Exercise("Indicative budgets", TASKS)


def check(number: int, answer: Any) -> Result:
    """Check your answer to task ``number`` (1-8): "Correct." or "Not quite." with a hint."""
    return EXERCISE.check(number, answer)


def task(number: int) -> TaskBox:
    """Task ``number`` as a box with a Check button (for the web app)."""
    return EXERCISE.task(number)


def progress() -> widgets.HTML:
    """A live line saying how many tasks are answered and correct (for the web app)."""
    return EXERCISE.progress()


def facts_html() -> str:
    """The figures every task may use, as an HTML table."""
    return table_html(facts(), caption="Figures you may need (from the data set)")


def summary() -> SummaryText:
    """How many tasks are answered and correct, and which are left."""
    return EXERCISE.summary()


def facts() -> pd.DataFrame:
    """The figures every task may use, as a small table (shown at the top of the notebook)."""
    lists = data.load_practices().set_index("practice_id")["list_size"]
    rows = [
        ("Bridge End Surgery (WM001), registered patients", number(lists[PRACTICE])),
        ("The PCT's pot for 2007/08 (sum of historic budgets)", gbp(pot())),
        (
            "Prescribing uplift (PCT growth in cost per head, 2005/06 to 2006/07)",
            pct(
                b.prescribing_growth(
                    data.load_prescribing(), data.load_list_sizes(), b.ACTIVITY_YEAR
                ),
                2,
            ),
        ),
    ]
    return pd.DataFrame(rows, columns=["Figure", "Value"])
