"""Content for workbook 04, "Risk in primary care": the check-your-understanding questions.

Every answer rests on a source named in its explanation (see shared/domain/brief.md, sections 0
and 4, and seed article 002).
"""

from __future__ import annotations

from pbc_lib.models import safety as sf
from pbc_lib.quiz import MultipleChoice, NumericAnswer, Quiz

REPORTS_MORE = "Not much: B may simply notice and report a larger share of its errors"


def _questions() -> list:
    contacts, rate = sf.GP_CONTACTS_PER_YEAR, sf.PROJECT_ERROR_RATE_PER_100K
    per_year = contacts * rate / 100_000
    per_day = per_year / sf.DAYS_PER_YEAR
    return [
        MultipleChoice(
            question=(
                "Practice B reports twice as many patient-safety incidents per consultation as "
                "practice A, which is the same size. What can you conclude about their safety?"
            ),
            options=[
                "B is less safe than A",
                "A is less safe than B",
                REPORTS_MORE,
                "Both are unsafe, because both report incidents",
            ],
            answer=REPORTS_MORE,
            explanation=(
                "Reports are not errors. Only 5,706 reports a year reached the National "
                "Reporting and Learning System from general practice (HSJ), against about "
                f"{per_year:,.0f} errors at 16 per 100,000 contacts, so most errors are never "
                "reported, and how many are depends on each practice's safety culture. A "
                "practice that reports more may be the safer one."
            ),
            hint="Compare the number of reports reaching the NRLS with the number of errors.",
        ),
        NumericAnswer(
            question=(
                "GPs had about 300 million patient contacts a year. At 16 errors per 100,000 "
                "contacts, how many errors is that a day, on average (365 days a year)?"
            ),
            answer=round(per_day, 1),
            tolerance=1.0,
            unit="errors a day",
            explanation=(
                f"300,000,000 × 16 / 100,000 = {per_year:,.0f} a year, and {per_year:,.0f} / 365 "
                f"= {per_day:.1f} a day: a little above the '120 mistakes per day' quoted at "
                "the 2007 Manchester conference (seed article 002), which would imply about 274 "
                "million contacts. Sandars & Esmail (Fam Pract 2003) give a range of 5 to 80 "
                "errors per 100,000 consultations, so anything from about 41 to 658 a day fits "
                "the published evidence."
            ),
            hint="Work out the errors a year first, then divide by 365.",
        ),
        MultipleChoice(
            question=(
                "On Wyndmoor's funnel plot of prescribing errors, φ is well above 1. What does "
                "an overdispersion adjustment do to the flags?"
            ),
            options=[
                "It narrows the limits, so more practices are flagged",
                "It widens the limits, so only practices unusual even allowing for real "
                "differences between practices are flagged",
                "It removes the practices with the fewest items checked",
                "It moves the target to the median practice",
            ],
            answer=(
                "It widens the limits, so only practices unusual even allowing for real "
                "differences between practices are flagged"
            ),
            explanation=(
                "When practices differ more than chance allows (φ > 1), limits built on chance "
                "alone flag too many. Spiegelhalter (Stat Med 2005) widens them, either by √φ "
                "(multiplicative) or by adding a between-practice variance τ² (additive), as "
                "the NHS FunnelPlotR package does; neither ever narrows them."
            ),
            hint="Think about what φ > 1 says about the spread of the points.",
        ),
    ]


def quiz() -> Quiz:
    """The three questions of "Check your understanding" (the workbook gives the heading)."""
    return Quiz(_questions(), title=None)
