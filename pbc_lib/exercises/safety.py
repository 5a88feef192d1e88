"""Exercises for workbook 04, risk in primary care: seven tasks checked against the data set.

Use in a notebook::

    from pbc_lib.exercises import safety as ex
    ex.check(1, my_answer)   # in code (JupyterLab)
    ex.task(1)               # as a box with a Check button (the web app)
    ex.summary()             # what is done and what is left

Every expected value is worked out here from ``data/safety.csv`` through
:mod:`pbc_lib.models.funnel` and :mod:`pbc_lib.models.safety`, so a trainee may use any method
that reaches the same figure (tolerances are in each task).
"""

from __future__ import annotations

import functools
import math
from typing import Any

import ipywidgets as widgets
import pandas as pd

from pbc_lib import data
from pbc_lib.exercises import Exercise, Result, SummaryText, Task, TaskBox, numeric_judge
from pbc_lib.models import funnel as fp
from pbc_lib.models import safety as sf
from pbc_lib.ui import number, pct, table_html

YEAR = "2006/07"
PRACTICE = "WM001"  # Bridge End Surgery: tasks 1 and 2
OUTLIER = "WM007"  # Abbey Fields Surgery: above the 99.8% limit before any adjustment
AUDIT_PRACTICE = "WM013"  # Kings Park Practice: the highest error rate in the audit
CHOOSE = "Choose a flag"  # the task-6 box's empty choice (a Dropdown value cannot be None)
PHI_TOLERANCE = 0.07  # ways of working out the 10th and 90th percentiles differ by up to ~0.06


# --- the figures the tasks are checked against --------------------------------------------------
@functools.cache
def _year() -> pd.DataFrame:
    safety = data.load_safety()
    return safety.loc[safety["financial_year"] == YEAR].set_index("practice_id")


def _prescribing(adjustment: str = "none") -> fp.Funnel:
    rows = _year()
    return fp.funnel(
        "proportion",
        rows["prescribing_errors"],
        rows["items_checked"],
        units=rows.index,
        adjustment=adjustment,
    )


def expected_errors() -> float:
    """Task 1: errors a year to expect at WM001 at the project's 16 per 100,000."""
    return float(_year().at[PRACTICE, "consultations"]) * sf.PROJECT_ERROR_RATE_PER_100K / 100_000


def no_report_chance() -> float:
    """Task 2: the chance (%) of a year with no report at WM001 if 5,706/48,000 are reported."""
    return math.exp(-expected_errors() * sf.REPORTING_COMPLETENESS) * 100


def pooled_rate() -> float:
    """Task 3: the PCT's prescribing error rate in 2006/07 (%), the funnel's target."""
    rows = _year()
    return float(rows["prescribing_errors"].sum() / rows["items_checked"].sum()) * 100


def exact_upper_limit() -> float:
    """Task 4: the exact (interpolated) 99.8% upper limit (%) at WM007's audit size."""
    n = _year().at[OUTLIER, "items_checked"]
    return float(fp.exact_limit("proportion", pooled_rate() / 100, n, 0.999)) * 100


def phi() -> float:
    """Task 5: the overdispersion ratio phi, 10% winsorised at each end."""
    return float(_prescribing().phi)


def flag_after_adjustment() -> str:
    """Task 6: WM007's flag once the limits are widened by sqrt(phi)."""
    units = _prescribing("multiplicative").units.set_index("unit")
    return str(units.at[OUTLIER, "flag"])


def audit_items() -> int:
    """Task 7: items WM013 must check for +/-1 point at 95%, planning on its 2006/07 rate."""
    row = _year().loc[AUDIT_PRACTICE]
    return sf.items_to_check(row["prescribing_errors"] / row["items_checked"])


# --- task 6: a flag chosen from a list ----------------------------------------------------------
def judge_flag(answer: Any) -> tuple[bool, str]:
    """Right if the answer names the flag the model gives after the multiplicative adjustment."""
    if not isinstance(answer, str) or answer.strip().lower() not in {f.lower() for f in fp.FLAGS}:
        raise ValueError(f"give one of the flags: {'; '.join(fp.FLAGS)}")
    chosen = answer.strip().lower()
    expected = flag_after_adjustment()
    if chosen == expected:
        return True, (
            f"After widening by √φ, Abbey Fields Surgery is '{expected}': its high rate is within "
            "what the real spread between practices allows."
        )
    return False, f"'{chosen}' is not the flag the widened limits give."


def _flag_box() -> tuple[widgets.Widget, Any]:
    choice = widgets.Dropdown(
        options=[CHOOSE, *fp.FLAGS[::-1]],
        value=CHOOSE,
        description="Flag",
        style={"description_width": "initial"},
    )
    return choice, lambda: ... if choice.value == CHOOSE else choice.value


def _pct2(value: float) -> str:
    return f"{value:.2f}%"


TASKS = [
    Task(
        1,
        "Errors to expect at one practice",
        f"Bridge End Surgery ({PRACTICE}) had the number of GP consultations in {YEAR} given "
        "in <code>safety.csv</code>. At the project's working figure of 16 errors per 100,000 "
        "consultations, how many errors should it expect in a year? Give it to 2 decimal places.",
        numeric_judge(expected_errors, 0.005, "", lambda v: f"{v:.2f}"),
        "Errors = consultations × 16 / 100,000. Use the 2006/07 row for WM001.",
    ),
    Task(
        2,
        "A year without a single report",
        "Nationally only 5,706 of about 48,000 errors a year were reported to the NRLS "
        "(a share of 5,706 / 48,000). If Bridge End Surgery reports that share of its errors, "
        "and reports follow a Poisson distribution, what is the chance (as a percentage) that it "
        "reports no incident at all in a year? Give it to 1 decimal place.",
        numeric_judge(no_report_chance, 0.05, "%", lambda v: f"{v:.1f}%"),
        "Reports expected = errors from task 1 × 5,706 / 48,000. For a Poisson count with mean "
        "λ, the chance of 0 is e^(−λ).",
        unit="%",
    ),
    Task(
        3,
        "The funnel's target",
        f"The target of the prescribing-error funnel plot is the PCT's pooled rate: all errors "
        f"found in {YEAR} divided by all items checked. What is it, as a percentage to 2 "
        "decimal places?",
        numeric_judge(pooled_rate, 0.005, "%", _pct2),
        "Add up prescribing_errors and items_checked over all 48 practices first; do not average "
        "the practices' own rates.",
        unit="%",
    ),
    Task(
        4,
        "A 99.8% exact limit by hand",
        f"Abbey Fields Surgery ({OUTLIER}) checked the number of items shown in "
        "<code>safety.csv</code> for 2006/07. Work out the upper 99.8% exact limit at that "
        "number of items, around the target from task 3, with Spiegelhalter's interpolation: "
        "with F the binomial cumulative distribution, take r, the smallest count with "
        "F(r) ≥ 0.999; then α = (F(r) − 0.999) / (F(r) − F(r − 1)), and the limit is "
        "(r − α) / n. Give it as a percentage to 2 decimal places. Is the practice above it?",
        numeric_judge(exact_upper_limit, 0.01, "%", _pct2),
        "The 99.8% limits leave 0.1% in each tail, so the upper one is the 0.999 quantile. "
        "scipy.stats.binom(n, p).ppf and .cdf give r and F. The normal approximation "
        "(target + 3.09 × s) gives a different answer.",
        unit="%",
    ),
    Task(
        5,
        "Is there overdispersion?",
        "Work out each practice's z-score, z = (y/n − p₀) / √(p₀(1 − p₀)/n), with p₀ the target "
        "from task 3. Winsorise them (pull the lowest 10% up to the 10th percentile and the "
        "highest 10% down to the 90th) and take the mean of the squares: that is φ. What is φ, "
        f"to 2 decimal places? (Answers within ±{PHI_TOLERANCE} are accepted, as ways of "
        "working out percentiles differ.)",
        numeric_judge(phi, PHI_TOLERANCE, "", lambda v: f"{v:.2f}"),
        "numpy.quantile(z, [0.1, 0.9]) gives the two percentiles and numpy.clip pulls the "
        "z-scores in. Without winsorising you get a larger number.",
    ),
    Task(
        6,
        "An outlier after overdispersion?",
        "Widen the limits for the overdispersion you found: the multiplicative method uses "
        "p₀ ± z × √φ × s, with z = 1.96 for 95% and 3.09 for 99.8%. Which flag does Abbey "
        "Fields Surgery get now? In code, give the flag's words, for example "
        '"above 95% (alert)".',
        judge_flag,
        "Work out s = √(p₀(1 − p₀)/n) at its number of items, multiply by √φ from task 5, "
        "and compare its error rate with the widened 95% and 99.8% limits.",
        box=_flag_box,
    ),
    Task(
        7,
        "Size an audit",
        f"Kings Park Practice ({AUDIT_PRACTICE}) had the highest error rate in the {YEAR} audit. "
        "Using its own 2006/07 rate as the planning figure, how many items must it check next "
        "year to estimate its error rate to within ±1 percentage point with 95% confidence, by "
        "the normal approximation n = 1.96² × p(1 − p) / 0.01²? Round up to a whole item.",
        numeric_judge(audit_items, 1.0, "items", number),
        "p is its prescribing_errors divided by items_checked in 2006/07. Any fraction of an "
        "item means one more item.",
        unit="items",
    ),
]

EXERCISE = Exercise("Risk in primary care", TASKS)


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
    """The figures the tasks may use, from safety.csv and the brief."""
    rows = _year()
    out = [
        (f"Bridge End Surgery ({PRACTICE}), GP consultations {YEAR}",
         number(rows.at[PRACTICE, "consultations"])),
        (f"Abbey Fields Surgery ({OUTLIER}), items checked / errors found {YEAR}",
         f"{number(rows.at[OUTLIER, 'items_checked'])} / "
         f"{number(rows.at[OUTLIER, 'prescribing_errors'])}"),
        (f"Kings Park Practice ({AUDIT_PRACTICE}), items checked / errors found {YEAR}",
         f"{number(rows.at[AUDIT_PRACTICE, 'items_checked'])} / "
         f"{number(rows.at[AUDIT_PRACTICE, 'prescribing_errors'])}"),
        ("Error rate, the project's working figure (conference report, 2007)",
         "16 per 100,000 consultations"),
        ("Share of errors reported (5,706 NRLS reports / 48,000 errors)",
         pct(sf.REPORTING_COMPLETENESS)),
    ]  # fmt: skip
    return pd.DataFrame(out, columns=["Figure", "Value"])


def facts_html() -> str:
    """The figures every task may use, as an HTML table."""
    return table_html(facts(), caption="Figures you may need (from safety.csv and the brief)")
