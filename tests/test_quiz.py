"""Tests for pbc_lib.quiz: feedback for right, wrong and missing answers, number parsing, and the
running score (checked questions only; never "all correct" early)."""

from __future__ import annotations

import pytest

from pbc_lib import quiz
from pbc_lib.quiz import CORRECT, UNANSWERED, WRONG


def mc() -> quiz.MultipleChoice:
    return quiz.MultipleChoice(
        "Who held the real budget under PbC?",
        ["The practice", "The PCT", "The SHA"],
        answer="The PCT",
        explanation="Practices had indicative budgets; the PCT held the money.",
        hint="Think about what 'indicative' means.",
    )


def num() -> quiz.NumericAnswer:
    return quiz.NumericAnswer(
        "A practice saves £20,000 and keeps 70%. How much does it keep?",
        answer=14_000,
        tolerance=0.5,
        unit="£",
        explanation="70% of £20,000 is £14,000.",
    )


def test_correct_answer():
    q = mc()
    q.control.value = "The PCT"
    assert q.check() is True and q.status == CORRECT
    assert "Correct. Practices had indicative budgets" in q.feedback.value
    assert "pbc-correct" in q.feedback.value


def test_wrong_answer_gives_hint_not_answer():
    q = mc()
    q.control.value = "The SHA"
    assert q.check() is False and q.status == WRONG
    assert "Not quite." in q.feedback.value and "indicative" in q.feedback.value
    assert "Correct" not in q.feedback.value and "The PCT" not in q.feedback.value


def test_no_selection_asks_for_an_answer():
    q = mc()
    assert q.check() is False and q.status == UNANSWERED
    assert quiz.CHOOSE_FIRST in q.feedback.value and q.attempts == 0


def test_check_button_runs_check():
    q = mc()
    q.control.value = "The PCT"
    q.button.click()
    assert q.status == CORRECT


def test_changing_the_answer_resets_the_check():
    q = mc()
    q.control.value = "The PCT"
    q.check()
    q.control.value = "The practice"
    assert q.status == UNANSWERED and q.feedback.value == ""


def test_multiple_choice_setup_errors():
    with pytest.raises(quiz.QuizError, match="not one of the options"):
        quiz.MultipleChoice("Q?", ["A", "B"], "C", "Because.")
    with pytest.raises(quiz.QuizError, match="two or more"):
        quiz.MultipleChoice("Q?", ["A"], "A", "Because.")
    with pytest.raises(quiz.QuizError, match="explanation"):
        quiz.MultipleChoice("Q?", ["A", "B"], "A", "")


@pytest.mark.parametrize(
    "text, value",
    [
        ("14000", 14000),
        ("£14,000", 14000),
        (" 14 000 ", 14000),
        ("14,000.4", 14000.4),
        ("\u22125", -5),
        ("-5", -5),
        ("12%", 12),
        (".5", 0.5),
        ("£1,234.50", 1234.5),
    ],
)
def test_parse_number(text, value):
    assert quiz.parse_number(text) == pytest.approx(value)


@pytest.mark.parametrize("text", ["", "   ", "fourteen", "1.2.3", "£", "1e400", "--5", None])
def test_parse_number_rejects(text):
    assert quiz.parse_number(text) is None


@pytest.mark.parametrize(
    "typed, ok", [("£14,000", True), ("14000.5", True), ("14000.6", False), ("13,999.4", False)]
)
def test_numeric_answer_tolerance(typed, ok):
    q = num()
    q.control.value = typed
    assert q.check() is ok
    assert ("Correct." in q.feedback.value) is ok
    assert ("Not quite." in q.feedback.value) is not ok


def test_numeric_wrong_says_which_way_and_not_the_answer():
    q = num()
    q.control.value = "20000"
    q.check()
    assert "too high" in q.feedback.value and "14,000" not in q.feedback.value


def test_numeric_unreadable_asks_for_a_number():
    q = num()
    q.control.value = "lots"
    assert q.check() is False and q.status == UNANSWERED
    assert "Type a number first" in q.feedback.value


def test_numeric_setup_errors():
    with pytest.raises(quiz.QuizError, match="Tolerance"):
        quiz.NumericAnswer("Q?", 1, -1, "£", "Because.")
    with pytest.raises(quiz.QuizError, match="numbers"):
        quiz.NumericAnswer("Q?", "1", 0, "£", "Because.")


@pytest.mark.parametrize(
    "statuses, text",
    [
        ([UNANSWERED] * 3, "No answers checked yet (3 questions)."),
        (
            [CORRECT, UNANSWERED, UNANSWERED],
            "1 of 1 checked answer correct; 2 questions not yet answered.",
        ),
        (
            [CORRECT, WRONG, UNANSWERED],
            "1 of 2 checked answers correct; 1 question not yet answered.",
        ),
        ([CORRECT, CORRECT, WRONG], "2 of 3 checked answers correct."),
        ([CORRECT, CORRECT, CORRECT], "All 3 correct. Well done."),
    ],
)
def test_score_text(statuses, text):
    assert quiz.score_text(statuses) == text


def test_quiz_keeps_a_running_score():
    a, b, c = mc(), num(), mc()
    q = quiz.Quiz([a, b, c])
    assert "No answers checked yet" in q.score.value
    a.control.value = "The PCT"
    a.check()
    assert q.score_text == "1 of 1 checked answer correct; 2 questions not yet answered."
    assert "All" not in q.score_text
    b.control.value = "99"
    b.check()
    c.check()  # nothing chosen: not counted
    assert q.score_text == "1 of 2 checked answers correct; 1 question not yet answered."
    b.control.value = "14,000"
    assert q.score_text.startswith("1 of 1 checked")  # changed answer is unchecked again
    b.check()
    c.control.value = "The PCT"
    c.check()
    assert q.score_text == "All 3 correct. Well done." and "All 3 correct" in q.score.value


def test_empty_quiz_is_an_error():
    with pytest.raises(quiz.QuizError):
        quiz.Quiz([])
