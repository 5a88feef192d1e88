"""Exercise checking: one small entry point per exercise notebook, with plain-English feedback.

An :class:`Exercise` is a numbered list of :class:`Task` objects. A trainee answers a task in
either of two ways, and both go through the same check:

* in JupyterLab, in code: ``ex.check(3, my_answer)`` (any method that gives the right number
  passes: the expected value is worked out from the data set by ``pbc_lib``, and the check allows
  a stated tolerance);
* in the web app (Voilà), in a box: ``ex.task(3)`` shows the task with an answer box and a
  **Check** button.

Feedback is "Correct." with why, or "Not quite." with what is off and a hint; an answer left as
``...`` (or an empty box) is "not answered yet". :meth:`Exercise.summary` counts only the tasks
that have been checked, lists the rest by number, and says "all correct" only when every task
has been checked and is right (the otter-grader rule).
"""

from __future__ import annotations

import html
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import ipywidgets as widgets

from pbc_lib.quiz import parse_number
from pbc_lib.ui import ErrorPanel, guard

NOT_ANSWERED, CORRECT, WRONG = "not answered", "correct", "wrong"


class ExerciseError(ValueError):
    """A task number that does not exist, or a task set up wrongly."""


@dataclass(frozen=True)
class Result:
    """The outcome of one check: shown as a coloured box in a notebook, or as plain text."""

    number: int
    status: str
    message: str

    @property
    def correct(self) -> bool:
        return self.status == CORRECT

    def text(self) -> str:
        lead = {CORRECT: "Correct.", WRONG: "Not quite.", NOT_ANSWERED: "Not answered yet."}
        return f"Task {self.number}: {lead[self.status]} {self.message}".strip()

    def __repr__(self) -> str:
        return self.text()

    def _repr_html_(self) -> str:
        return self.to_html()

    def to_html(self) -> str:
        css = {CORRECT: "pbc-correct", WRONG: "pbc-wrong", NOT_ANSWERED: "pbc-prompt"}
        return (
            f'<div class="pbc-feedback {css[self.status]}" role="status">'
            f"{html.escape(self.text())}</div>"
        )


@dataclass(frozen=True)
class Task:
    """One task: its statement, how to check an answer, and a hint.

    ``judge(answer)`` returns ``(correct, message)``; it is only called with an answer that is
    not ``...``/None/empty. ``kind`` picks the answer box the web app shows ("number" or a
    custom widget factory in ``box``).
    """

    number: int
    title: str
    statement: str
    judge: Callable[[Any], tuple[bool, str]]
    hint: str
    unit: str = ""
    box: Callable[[], tuple[widgets.Widget, Callable[[], Any]]] | None = None


@dataclass
class Exercise:
    """A numbered set of tasks and the record of what has been checked in this session."""

    title: str
    tasks: list[Task]
    results: dict[int, Result] = field(default_factory=dict)
    listeners: list[Callable[[], None]] = field(default_factory=list)

    def __post_init__(self) -> None:
        numbers = [t.number for t in self.tasks]
        if numbers != list(range(1, len(numbers) + 1)):
            raise ExerciseError(f"Tasks must be numbered 1, 2, 3...; got {numbers}.")

    def _task(self, number: int) -> Task:
        if not isinstance(number, int) or not 1 <= number <= len(self.tasks):
            raise ExerciseError(
                f"There is no task {number!r}: this exercise has tasks 1 to {len(self.tasks)}."
            )
        return self.tasks[number - 1]

    def check(self, number: int, answer: Any) -> Result:
        """Check ``answer`` to task ``number``; the result is recorded for :meth:`summary`."""
        task = self._task(number)
        if answer is ... or answer is None or (isinstance(answer, str) and not answer.strip()):
            result = Result(
                number, NOT_ANSWERED, "Replace the ... with your answer, then run again."
            )
        else:
            try:
                correct, message = task.judge(answer)
            except (TypeError, ValueError) as exc:
                correct, message = False, f"That answer could not be read: {exc}"
            hint = "" if correct else f" Hint: {task.hint}"
            result = Result(number, CORRECT if correct else WRONG, message + hint)
        self.results[number] = result
        for listener in self.listeners:
            listener()
        return result

    def summary(self) -> SummaryText:
        """Where the trainee stands: checked, correct, still to do. Never "all correct" early."""
        return SummaryText(self._summary_text())

    def _summary_text(self) -> str:
        total = len(self.tasks)
        answered = {n: r for n, r in self.results.items() if r.status != NOT_ANSWERED}
        right = sorted(n for n, r in answered.items() if r.correct)
        wrong = sorted(n for n, r in answered.items() if not r.correct)
        todo = [t.number for t in self.tasks if t.number not in answered]
        if not answered:
            return f"No tasks answered yet: {total} to do."
        if len(right) == total:
            return f"All {total} tasks answered and correct. Well done."
        parts = [f"{len(answered)} of {total} tasks answered: {len(right)} correct"]
        if wrong:
            parts.append(f"try again: {_numbers(wrong)}")
        if todo:
            parts.append(f"not answered yet: {_numbers(todo)}")
        return "; ".join(parts) + "."

    def task(self, number: int) -> TaskBox:
        """The task as a widget: statement, answer box, Check button, feedback (for Voilà)."""
        return TaskBox(self, self._task(number))

    def progress(self) -> Progress:
        """A live summary line that updates whenever a task is checked (for Voilà)."""
        return Progress(self)


def _numbers(items: list[int]) -> str:
    words = [f"task {n}" if i == 0 else str(n) for i, n in enumerate(items)]
    if len(items) > 1:
        words[0] = f"tasks {items[0]}"
        return ", ".join(words[:-1]) + f" and {words[-1]}"
    return words[0]


@dataclass(frozen=True)
class SummaryText:
    """The summary line, shown in bold in a notebook."""

    text: str

    def __repr__(self) -> str:
        return self.text

    def _repr_html_(self) -> str:
        return f'<p class="pbc-score" role="status">{html.escape(self.text)}</p>'


class Progress(widgets.HTML):
    """The summary line as a widget, redrawn after every check."""

    def __init__(self, exercise: Exercise) -> None:
        super().__init__()
        self.exercise = exercise
        exercise.listeners.append(self.update)
        self.update()

    def update(self) -> None:
        self.value = self.exercise.summary()._repr_html_()

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any]:
        bundle = super()._repr_mimebundle_(**kwargs)
        bundle["text/plain"] = self.exercise.summary().text
        return bundle


class TaskBox(widgets.VBox):
    """One task with an answer box (a number, unless the task brings its own) and Check."""

    def __init__(self, exercise: Exercise, task: Task) -> None:
        self.exercise, self.task_spec = exercise, task
        self.errors = ErrorPanel()
        if task.box is not None:
            control, self._read = task.box()
        else:
            control = widgets.Text(placeholder="Your answer", description=task.unit or "Answer")
            self._read = lambda: control.value
        self.control = control
        self.button = widgets.Button(description="Check", tooltip=f"Check task {task.number}")
        self.feedback = widgets.HTML(Result(task.number, NOT_ANSWERED, "").to_html())
        self.button.on_click(lambda _: self.press())
        heading = widgets.HTML(
            f"<h3>Task {task.number}: {html.escape(task.title)}</h3><p>{task.statement}</p>"
        )
        super().__init__([heading, control, self.button, self.errors, self.feedback])
        self.add_class("pbc-task")

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any]:
        bundle = super()._repr_mimebundle_(**kwargs)
        done = self.exercise.results.get(self.task_spec.number)
        status = done.text() if done else f"Task {self.task_spec.number}: not answered yet."
        bundle["text/plain"] = f"{status} (Answer in the box and press Check.)"
        return bundle

    def press(self) -> Result | None:
        """Read the box and check it (what the button does)."""
        with guard(self.errors, what=f"checking task {self.task_spec.number}"):
            raw = self._read()
            if isinstance(raw, str) and self.task_spec.box is None:
                number = parse_number(raw)
                raw = ... if not raw.strip() else (number if number is not None else raw)
            result = self.exercise.check(self.task_spec.number, raw)
            self.feedback.value = result.to_html()
            return result
        return None


def numeric_judge(
    expected: Callable[[], float], tolerance: float, unit: str, describe: Callable[[float], str]
) -> Callable[[Any], tuple[bool, str]]:
    """A judge for a number: right within ± ``tolerance``; says whether a wrong one is high or low.

    ``expected`` is called at check time (the value comes from the data set through the models);
    ``describe`` formats a value for the message (e.g. pounds).
    """

    def judge(answer: Any) -> tuple[bool, str]:
        value = parse_number(answer) if isinstance(answer, str) else answer
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"a number was expected{f' ({unit})' if unit else ''}")
        target = float(expected())
        if abs(float(value) - target) <= tolerance:
            return True, f"{describe(float(value))} is right."
        side = "too high" if value > target else "too low"
        return False, f"{describe(float(value))} is {side}."

    return judge
