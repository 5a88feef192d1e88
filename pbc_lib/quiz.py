"""'Check your understanding': quick questions with instant, plain-English feedback.

Each question is an ipywidgets VBox a workbook can display, and has a ``check()`` method that
tests call directly. Feedback is "Correct." plus the explanation, or "Not quite." plus a hint
(the answer is never given away on a wrong try). :class:`Quiz` keeps a running score that counts
only the questions that have been checked and says how many are still unanswered; it never says
"all correct" unless every question has been checked and is right (the otter-grader rule).

Changing an answer after checking it resets that question to "not yet checked", so the score
always describes the answers on screen.
"""

from __future__ import annotations

import html
import math
import re
from collections.abc import Callable, Sequence
from typing import Any

import ipywidgets as widgets

UNANSWERED, CORRECT, WRONG = "unanswered", "correct", "wrong"
DEFAULT_HINT = "Have another look at the section above, then try again."
CHOOSE_FIRST = "Choose an answer first."
ENTER_NUMBER = "Type a number first, for example 1,234 or £1,234."
# Longest answer read, in characters. A typed number is never longer; the cap keeps a pasted
# megabyte from costing the kernel anything. (The old pattern, \d+\.?\d*, backtracked: 10,000
# digits and a letter took 4 s, 30,000 took 41 s.)
MAX_ANSWER_CHARS = 100
_NUMBER = re.compile(r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)")  # one way to match each string: linear


class QuizError(ValueError):
    """A question was set up wrongly (for example, its answer is not one of its options)."""


def parse_number(text: str) -> float | None:
    """Read a number typed by a person: "1,234", "£1,234.50", "−5", "12%", " 3 000 ".

    Text longer than :data:`MAX_ANSWER_CHARS` is not read at all (no answer is that long), and
    the pattern cannot backtrack, so a huge paste costs a moment, not minutes.

    Returns
    -------
    float or None
        None if the text is empty, too long or not a number.
    """
    if not isinstance(text, str) or len(text) > MAX_ANSWER_CHARS:
        return None
    cleaned = text.strip().replace("\u2212", "-").replace("\u2013", "-")
    cleaned = re.sub(r"[£,\s\u00a0\u2009%]", "", cleaned)
    if not _NUMBER.fullmatch(cleaned):
        return None
    value = float(cleaned)
    return value if math.isfinite(value) else None


class _Question(widgets.VBox):
    """Shared parts: the question text, a Check button, the feedback line and the status."""

    def __init__(
        self, question: str, explanation: str, hint: str | None, control: widgets.Widget
    ) -> None:
        for name, value in (("question", question), ("explanation", explanation)):
            if not isinstance(value, str) or not value.strip():
                raise QuizError(f"A question needs a non-empty {name}; got {value!r}.")
        self.question, self.explanation = question, explanation
        self.hint = hint or DEFAULT_HINT
        self.status = UNANSWERED
        self.attempts = 0
        self._listeners: list[Callable[[], None]] = []
        self.prompt = widgets.HTML(f'<p class="pbc-question">{html.escape(question)}</p>')
        self.control = control
        self.button = widgets.Button(
            description="Check", button_style="primary", tooltip="Check your answer"
        )
        self.feedback = widgets.HTML("")
        self.button.on_click(lambda _b: self.check())
        control.observe(self._on_change, names="value")
        super().__init__([self.prompt, control, self.button, self.feedback])
        self.add_class("pbc-quiz-question")

    def on_status(self, callback: Callable[[], None]) -> None:
        """Call ``callback()`` whenever this question's status changes (used by :class:`Quiz`)."""
        self._listeners.append(callback)

    def _set(self, status: str, css: str, text: str) -> None:
        self.status = status
        self.feedback.value = (
            (f'<div class="pbc-feedback {css}" role="status">{html.escape(text)}</div>')
            if text
            else ""
        )
        for callback in self._listeners:
            callback()

    def _on_change(self, _change: Any) -> None:
        if self.status != UNANSWERED or self.feedback.value:
            self._set(UNANSWERED, "", "")

    def _mark(self, correct: bool, wrong_detail: str = "") -> bool:
        self.attempts += 1
        if correct:
            self._set(CORRECT, "pbc-correct", f"Correct. {self.explanation}")
        else:
            detail = f" {wrong_detail}" if wrong_detail else ""
            self._set(WRONG, "pbc-wrong", f"Not quite.{detail} Hint: {self.hint}")
        return correct


class MultipleChoice(_Question):
    """One question with radio-button options.

    Parameters
    ----------
    question
        The question text.
    options
        The choices, as shown (at least two, all different).
    answer
        The correct option (one of ``options``, by text).
    explanation
        Shown after "Correct.": why it is right.
    hint
        Shown after "Not quite.": a nudge that does not give the answer away.
    """

    def __init__(
        self,
        question: str,
        options: Sequence[str],
        answer: str,
        explanation: str,
        hint: str | None = None,
    ) -> None:
        options = list(options)
        if len(options) < 2 or len(set(options)) != len(options):
            raise QuizError(
                f"A multiple-choice question needs two or more different options; got {options!r}."
            )
        if answer not in options:
            raise QuizError(f"The answer {answer!r} is not one of the options {options!r}.")
        self.options, self.answer = options, answer
        radio = widgets.RadioButtons(
            options=options, value=None, layout=widgets.Layout(width="auto")
        )
        super().__init__(question, explanation, hint, radio)

    def check(self) -> bool:
        """Mark the selected option; with nothing selected, ask for an answer (not counted)."""
        if self.control.value is None:
            self._set(UNANSWERED, "pbc-prompt", CHOOSE_FIRST)
            return False
        return self._mark(self.control.value == self.answer)


class NumericAnswer(_Question):
    """A question answered with a number, right within ± ``tolerance``.

    A text box (not ``FloatText``) so "£1,234", "1,234" or "12%" are accepted as typed; the unit
    is shown next to the box.

    Parameters
    ----------
    question, explanation, hint
        As for :class:`MultipleChoice`.
    answer
        The correct value.
    tolerance
        Largest accepted absolute difference (≥ 0), e.g. 0.5 for "to the nearest whole number".
    unit
        Shown as the box's label, e.g. "£ per head" or "%".
    """

    def __init__(
        self,
        question: str,
        answer: float,
        tolerance: float,
        unit: str,
        explanation: str,
        hint: str | None = None,
    ) -> None:
        if not all(isinstance(v, int | float) and math.isfinite(v) for v in (answer, tolerance)):
            raise QuizError(f"Answer and tolerance must be numbers; got {answer!r}, {tolerance!r}.")
        if tolerance < 0:
            raise QuizError(f"Tolerance must be 0 or more; got {tolerance}.")
        self.answer, self.tolerance, self.unit = float(answer), float(tolerance), unit
        box = widgets.Text(
            value="",
            placeholder="Your answer",
            description=unit,
            style={"description_width": "initial"},
        )
        super().__init__(question, explanation, hint, box)

    def check(self) -> bool:
        """Mark the typed number; empty or unreadable text asks for a number (not counted)."""
        value = parse_number(self.control.value)
        if value is None:
            self._set(UNANSWERED, "pbc-prompt", ENTER_NUMBER)
            return False
        if abs(value - self.answer) <= self.tolerance + 1e-9 * max(1.0, abs(self.answer)):
            return self._mark(True)
        direction = "Your answer is too high." if value > self.answer else "Your answer is too low."
        return self._mark(False, direction)


def score_text(statuses: Sequence[str]) -> str:
    """Running score: "2 of 3 checked answers correct; 1 question not yet answered."

    Only checked questions count; "All N correct" appears only when every question is checked
    and right.
    """
    total = len(statuses)
    correct = sum(s == CORRECT for s in statuses)
    checked = sum(s in (CORRECT, WRONG) for s in statuses)
    waiting = total - checked
    if checked == 0:
        return f"No answers checked yet ({total} question{'s' if total != 1 else ''})."
    if correct == total:
        return f"All {total} correct. Well done."
    text = f"{correct} of {checked} checked answer{'s' if checked != 1 else ''} correct"
    if waiting:
        text += f"; {waiting} question{'s' if waiting != 1 else ''} not yet answered"
    return text + "."


class Quiz(widgets.VBox):
    """A "Check your understanding" block: the questions and a running score under them."""

    def __init__(
        self, questions: Sequence[_Question], title: str | None = "Check your understanding"
    ) -> None:
        self.questions = list(questions)
        if not self.questions:
            raise QuizError("A quiz needs at least one question.")
        self.score = widgets.HTML("")
        for q in self.questions:
            q.on_status(self._update)
        heading = [widgets.HTML(f"<h2>{html.escape(title)}</h2>")] if title else []
        super().__init__([*heading, *self.questions, self.score])
        self.add_class("pbc-quiz")
        self._update()

    @property
    def score_text(self) -> str:
        """The score sentence currently shown."""
        return score_text([q.status for q in self.questions])

    def _update(self) -> None:
        self.score.value = f'<p class="pbc-score" role="status">{html.escape(self.score_text)}</p>'
