"""Content for workbook 03, "Fundholding vs practice-based commissioning": the side-by-side table
of the two schemes, the dated events, the check against Crump et al. (1991) and the
check-your-understanding questions.

Every fact in the comparison and every quiz answer names its source (shared/domain/brief.md,
sections 1 and 3, and the seed articles); the events come from ``data/timeline.csv``; the
calibration figures are computed here from the data set by :mod:`pbc_lib.models.budget_risk`.
"""

from __future__ import annotations

import functools

import pandas as pd

from pbc_lib import data
from pbc_lib.apps.risk_by_size import SEED, scope_costs
from pbc_lib.models import budget_risk as br
from pbc_lib.quiz import MultipleChoice, NumericAnswer, Quiz
from pbc_lib.ui import table_html

FUNDHOLDING, PBC = "GP fundholding, 1991-98", "Practice-based commissioning, from 2004"
COMPARISON = [  # (what, fundholding, PbC): each cell names its source
    (
        "Who holds the money",
        "The practice: a real budget (the fund) from which it bought part of its patients' care "
        "(SI 1991/582).",
        "The PCT. The practice has an indicative budget; the PCT keeps the real money and the "
        "contracts (DH, Engaging practices in commissioning, Oct 2004; Health Foundation policy "
        "navigator).",
    ),
    (
        "Who can join",
        "Practices of 9,000 patients or more (SI 1991/582). From April 1996, 5,000 for standard "
        "and 3,000 for community fundholding (SI 1996/706).",
        "Every practice, alone or in groups: all PCTs reported universal coverage by December "
        "2006 (DH data; Management in Practice, 27 Apr 2007).",
    ),
    (
        "What the budget covers",
        "A defined range of care, such as \u201cthe 113 surgical procedures covered by the "
        "general practitioner fund\u201d (Crump et al., BMJ 1991). In all, fundholders' budgets "
        "were about 8% of the HCHS budget in 1995 (Dixon & Glennerster, BMJ 1995).",
        "Hospital care, prescribing and some community services (Health Foundation policy "
        "navigator).",
    ),
    (
        "Savings",
        "Kept by the practice, for up to 4 years. In 1995-96 fundholders kept £84.8m, 2.4% of "
        "their budgets (Hansard, 24 Sep 1997; Independent).",
        "Freed-up resources: 50% of savings under the 2004 rules, at least 70% from 2006/07 "
        "(Health Foundation policy navigator; Hansard, 6 Nov 2006).",
    ),
    (
        "Overspends and risk",
        "Carried by the practice, with a stop-loss: the most any one patient could cost the fund "
        "in a year rose from £5,000 to £6,000 in April 1994 (SI 1994/640).",
        "Carried by the PCT. An overspend can be offset in a later year, but the budget must "
        "balance over three years (Health Foundation policy navigator).",
    ),
    (
        "Paying for management",
        "A management allowance of about 2% of the budget (Hansard, 6 Dec 1994): £66m in "
        "England in 1994-95, plus £12-19m a year for computers (Hansard WA, 19 Jul 1995).",
        "The Towards PBC Directed Enhanced Service: 95p per registered patient in 2006/07 (BMA "
        "guidance, Mar 2007).",
    ),
    (
        "Larger groups",
        "Total purchasing pilots: 4 pioneers in 1994, 52 first-wave pilots evaluated in "
        "1996-97; single-practice and small multi-practice pilots achieved more than large ones "
        "(King's Fund, 1999).",
        "Practices may commission alone or in clusters; PCT simulations concluded that practices "
        "must form their own networks (HSJ, 1 Dec 2005).",
    ),
    (
        "Take-up",
        "Just over 40% of the population in 1995 (Dixon & Glennerster); more than 50% expected "
        "from April 1996 (Hansard, 13 Feb 1996).",
        "56% of practices had a budget in summer 2007 (Ipsos MORI for DH); 84% of PbC leads by "
        "late 2009, though 62% had received no freed-up resources (DH survey of PBC leads).",
    ),
    (
        "What it achieved",
        "Waits for chargeable electives 4-7 days shorter (Dusheiko et al., Health Econ 2004); "
        "prescribing savings but higher transaction costs (Smith & Wilton, BJGP 1998).",
        "Only 13% of practices said PbC had improved care by 2007 (Ipsos MORI for DH).",
    ),
]
TIMELINE_CATEGORIES = ("Fundholding", "PCTs", "Practice-based commissioning")
TIMELINE_END = "2006-12-31"


# --- tables --------------------------------------------------------------------------------------
def comparison() -> pd.DataFrame:
    """The two schemes side by side, one row per feature."""
    return pd.DataFrame(COMPARISON, columns=["", FUNDHOLDING, PBC])


def comparison_html() -> str:
    return table_html(
        comparison(),
        {FUNDHOLDING: "text", PBC: "text"},
        caption="Fundholding and practice-based commissioning compared",
    )


def timeline() -> pd.DataFrame:
    """Dated fundholding, PCT and PbC events to the end of 2006, from ``timeline.csv``."""
    events = data.load_table("timeline")
    keep = events["category"].astype(str).isin(TIMELINE_CATEGORIES)
    rows = events.loc[keep & (pd.to_datetime(events["date"]) <= TIMELINE_END)]
    rows = rows.sort_values("date", ignore_index=True)
    return pd.DataFrame(
        {
            "Date": pd.to_datetime(rows["date"]).dt.strftime("%d %b %Y"),
            "Event": rows["event"],
            "Source": rows["source"],
        }
    )


def timeline_html() -> str:
    return table_html(
        timeline(),
        caption="From fundholding to practice-based commissioning (data/timeline.csv)",
    )


@functools.cache
def crump_table() -> pd.DataFrame:
    """Crump et al.'s spreads and CVs beside the model's, for two budget scopes.

    The model runs ``budget_risk.crump_comparison`` (10,000 simulated years, the app's seed) on
    the elective inpatient scope, the like-for-like comparison with Crump's surgical procedures,
    and on the wider fundholding scope.
    """
    el = br.crump_comparison(scope_costs("elective_inpatient"), seed=SEED)
    fh = br.crump_comparison(scope_costs("fundholding"), seed=SEED)
    return pd.DataFrame(
        {
            "People covered": el["n_people"],
            "Crump et al. 1991: spread": el["crump_spread_pct"] / 100,
            "Model, elective inpatient: spread": el["spread_5_95_pct"] / 100,
            "Model, fundholding scope: spread": fh["spread_5_95_pct"] / 100,
            "Crump et al. 1991: CV": el["crump_cv"],
            "Model, elective inpatient: CV": el["cv"],
        }
    )


def crump_html() -> str:
    formats = {c: "pct" for c in crump_table().columns if c != "People covered"}
    return table_html(
        crump_table(),
        {"People covered": "number", **formats},
        caption=(
            "Spread of a year's spend (5th to 95th percentile, % of budget) and coefficient of "
            "variation (CV): Crump et al. (BMJ 1991;302:1582) against the model"
        ),
    )


# --- check your understanding --------------------------------------------------------------------
def _questions() -> list:
    return [
        MultipleChoice(
            question=(
                "Crump et al. (1991) found that a 9,000-patient practice's spending could swing "
                "across 27.5% of its budget (5th to 95th percentile). What did their simulated "
                "budget cover?"
            ),
            options=[
                "All hospital care, emergencies included",
                "The surgical procedures covered by the fund",
                "Prescribing only",
                "Everything a PCT later commissioned",
            ],
            answer="The surgical procedures covered by the fund",
            explanation=(
                "Crump et al. simulated \u201cthe 113 surgical procedures covered by the general "
                "practitioner fund\u201d (BMJ 1991;302:1582). Surgery is rare and dear, so its "
                "spend swings widely; a broader budget mixes in many cheaper, commoner costs "
                "and swings much less, as the table above shows."
            ),
            hint="Look at the note under the table comparing the model with Crump.",
        ),
        NumericAnswer(
            question=(
                "A budget for 5,000 people has a coefficient of variation (CV) of 4%. What CV "
                "would a budget for 20,000 people drawn from the same population have, in %?"
            ),
            answer=2.0,
            tolerance=0.05,
            unit="%",
            explanation=(
                "The CV falls as 1/\u221aN (Crump et al. 1991; Bachmann & Bevan, BMJ 1996): four "
                "times the people halves the CV, from 4% to 2%. Doubling the people cuts it only "
                "by about 29%, which is why the gains from pooling flatten with size."
            ),
            hint="The CV is proportional to one over the square root of the number of people.",
        ),
        MultipleChoice(
            question=(
                "In the model, a three-year rolling balance cuts a practice's risk sharply. Why "
                "would it help less in real life?"
            ),
            options=[
                "Because high spending persists from one year to the next",
                "Because prices rise every year",
                "Because the stop-loss was only for one year",
                "Because list sizes grow",
            ],
            answer="Because high spending persists from one year to the next",
            explanation=(
                "The model treats years as independent, but the same patients tend to cost a "
                "lot year after year (Kelly, Stoye & Vera-Hernández, Fiscal Studies 2016), so a "
                "bad year is more often followed by another. Bachmann & Bevan (BMJ 1996) still "
                "advised a 10,000-patient practice to spread its risk over at least 3 years."
            ),
            hint="Think about whether this year's expensive patients are gone next year.",
        ),
    ]


def quiz() -> Quiz:
    """The three questions of "Check your understanding" (the workbook gives the heading)."""
    return Quiz(_questions(), title=None)
