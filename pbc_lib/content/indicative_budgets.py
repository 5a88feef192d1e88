"""Content for workbook 01, "Indicative budgets": the check-your-understanding questions.

Every answer rests on a source named in its explanation (see shared/domain/brief.md, section 1).
"""

from __future__ import annotations

from pbc_lib.quiz import MultipleChoice, NumericAnswer, Quiz

# A made-up practice for the arithmetic question: round numbers, so the sum is the point.
EXAMPLE_HISTORIC = 5_500_000
EXAMPLE_TARGET = 5_000_000
EXAMPLE_LAMBDA = 0.40


def _questions() -> list:
    lam, hist, target = EXAMPLE_LAMBDA, EXAMPLE_HISTORIC, EXAMPLE_TARGET
    blended = hist + lam * (target - hist)
    return [
        MultipleChoice(
            question=(
                "Under the 2006/07 rules, what share of freed-up resources could a practice "
                "use, at the least?"
            ),
            options=["50%", "70%", "95p per patient", "All of it"],
            answer="70%",
            explanation=(
                "From 2006/07 practices could access and redirect at least 70% of freed-up "
                "resources (Hansard, 6 Nov 2006); under the 2004 rules it had been 50%."
            ),
            hint="50% was the first rule, in 2004; the government raised it for 2006/07.",
        ),
        NumericAnswer(
            question=(
                f"A practice's historic budget is £{hist:,.0f} and its fair share is "
                f"£{target:,.0f}. The PCT moves every practice {lam:.0%} of the way to its fair "
                "share this year. What is the practice's indicative budget, in pounds?"
            ),
            answer=blended,
            tolerance=500,
            unit="£",
            explanation=(
                f"Budget = historic + λ × (fair share − historic) = £{hist:,.0f} + {lam} × "
                f"(£{target:,.0f} − £{hist:,.0f}) = £{blended:,.0f}: the practice loses "
                f"£{hist - blended:,.0f}, {(hist - blended) / hist:.1%} of its budget "
                "(the pace-of-change blend, DH toolkit for 2007/08)."
            ),
            hint="Work out the gap between fair share and historic budget, then take λ of it.",
        ),
        MultipleChoice(
            question=(
                "Smith (BMJ 1999) argued that rewards and penalties tied to practice budgets "
                "should be modest. Why?"
            ),
            options=[
                "GPs do not respond to financial incentives",
                "Even a good formula leaves many practices far from budget, for reasons "
                "largely outside their control",
                "Weighted capitation was too costly for PCTs to compute",
                "Practices could already keep all their savings",
            ],
            answer=(
                "Even a good formula leaves many practices far from budget, for reasons "
                "largely outside their control"
            ),
            explanation=(
                "Chance and case mix move a practice's spending a long way from any formula, so a "
                "big reward or penalty would mostly reward luck (Smith, BMJ 1999;318:776). Later "
                "evidence agrees: even the 2010 person-based formula left about a third of "
                "practices 10% or more from target, small ones more often (Dixon et al., BMJ "
                "2011)."
            ),
            hint="Think about how much of a small practice's spending is chance.",
        ),
    ]


def quiz() -> Quiz:
    """The three questions of "Check your understanding" (the workbook gives the heading)."""
    return Quiz(_questions(), title=None)
