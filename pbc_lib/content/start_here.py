"""Content for workbook 00, "Start here": the who-is-who table and the check-your-understanding
questions. Every answer rests on a source named in its explanation (see shared/domain/brief.md)."""

from __future__ import annotations

from pbc_lib import data
from pbc_lib.quiz import MultipleChoice, Quiz
from pbc_lib.ui import table_html

QUESTIONS = [
    {
        "question": "Under practice-based commissioning, who held the real budget?",
        "options": [
            "Each GP practice",
            "The primary care trust",
            "The strategic health authority",
            "The acute trust",
        ],
        "answer": "The primary care trust",
        "explanation": (
            "Practices held only indicative budgets; the PCT kept the real budget and "
            "the contracts (DH, Engaging practices in commissioning, Oct 2004, via the "
            "Health Foundation policy navigator)."
        ),
        "hint": (
            "The word 'indicative' is the clue: ask who signed the contracts with hospitals. "
            "Holding the real cash was the fundholding model of the 1990s."
        ),
    },
    {
        "question": (
            "Commissioning a Patient-led NHS (July 2005) set a date by which every "
            "practice should be involved in PbC. When was it?"
        ),
        "options": ["October 2004", "October 2006", "December 2006", "December 2008"],
        "answer": "December 2006",
        "explanation": (
            "All practices were to be involved by December 2006, two months after the "
            "PCT mergers of 1 October 2006 (Health Committee, HC 646, 2005-06, "
            "para 29)."
        ),
        "hint": (
            "Check the timeline: October 2004 is when PbC was launched, October 2006 when "
            "the PCTs merged, and December 2008 the 18-week deadline."
        ),
    },
    {
        "question": (
            "Greaves and colleagues (2012) compared all 152 PCTs on 36 indicators. What "
            "did they find about PCT size?"
        ),
        "options": [
            "Larger PCTs performed better on most indicators",
            "Smaller PCTs were better at clinical engagement",
            "No link between size and performance once population was allowed for",
            "Larger PCTs performed better on financial indicators only",
        ],
        "answer": "No link between size and performance once population was allowed for",
        "explanation": (
            "After adjusting for the populations they served, no indicator was "
            "related to PCT size (Greaves et al., BJGP 2012;62:e46)."
        ),
        "hint": (
            "The 100,000-versus-300,000 argument came from earlier research; this asks what "
            "the 2012 study found after adjusting for population."
        ),
    },
]


def quiz() -> Quiz:
    """The three questions of "Check your understanding" (the workbook gives the heading)."""
    return Quiz([MultipleChoice(**q) for q in QUESTIONS], title=None)


def roles_html() -> str:
    """Who is who in PbC, as a table (from data/roles.csv)."""
    roles = data.load_table("roles").rename(
        columns={
            "role": "Who",
            "what_they_do": "What they did",
            "in_pbc": "Their part in PbC",
            "source": "Source",
        }
    )
    return table_html(
        roles,
        caption="Who is who in practice-based commissioning "
        "(sources in the last column; data/roles.csv)",
    )
