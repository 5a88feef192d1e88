"""From the nation to one practice: how many errors to expect, and how few reach a report.

GPs had about 300 million patient contacts a year (300.4m consultations in 2008, NHS IC /
QResearch). Sandars & Esmail (Fam Pract 2003) put errors at 5-80 per 100,000 consultations; the
project's working figure, 16, was quoted at a 2007 conference (seed article 002) but its primary
source was not found, so it is shown with the range. Only 5,706 reports a year reached the National
Reporting and Learning System from general practice (HSJ).

Controls: the error rate, the practice (a typical one from the brief, or a Wyndmoor practice's
2006/07 consultations from ``safety.csv``) and the share of errors reported. Outputs: the national
and practice sums step by step, and a chart of errors and reports a year across the 5-80 range,
with the Poisson range chance alone gives. Figures come from ``pbc_lib.models.safety``.
"""

from __future__ import annotations

import html

import ipywidgets as widgets
import numpy as np
import pandas as pd

from pbc_lib import data, safety_charts
from pbc_lib.apps.base import App
from pbc_lib.models import safety as sf
from pbc_lib.ui import ChartView, guard, number, pct, table_html

STYLE = {"description_width": "initial"}
WIDE = widgets.Layout(width="520px", max_width="100%")
YEAR = "2006/07"
TYPICAL = "typical"  # Dropdown sentinel: the brief's typical practice (values cannot be None)
RATES = np.arange(sf.ERROR_RATE_LOW_PER_100K, sf.ERROR_RATE_HIGH_PER_100K + 1)  # 5, 6, ... 80
SHARES = [
    (
        f"{sf.REPORTING_COMPLETENESS:.1%}: 5,706 NRLS reports ÷ 48,000 errors (derived)",
        sf.REPORTING_COMPLETENESS,
    ),
    ("5% (assumption)", 0.05),
    ("25% (assumption)", 0.25),
    ("50% (assumption)", 0.50),
    ("100%: every error reported (assumption)", 1.0),
]
CHART_SOURCE = (
    "Sandars & Esmail, Fam Pract 2003 (5-80 per 100,000); Manchester conference report, Sep "
    "2007 (16); HSJ (5,706 NRLS reports); {practice}"
)
# How each step's value is shown, by its unit.
UNIT_FORMATS = {
    "contacts": lambda v: number(v),
    "consultations": lambda v: number(v),
    "per 100,000": lambda v: f"{number(v)} per 100,000",
    "errors": lambda v: number(v, 0 if v >= 1000 or float(v).is_integer() else 1 if v >= 10 else 2),
    "weeks": lambda v: f"{number(v, 1)} weeks",
    "share": lambda v: pct(v),
    "probability": lambda v: pct(v),
    "reports": lambda v: number(v, 0 if v >= 1000 else 2),
}


def _steps_html(steps: pd.DataFrame, caption: str) -> str:
    """A step table as plain HTML: the sum written out, the value in its unit, source and tag."""
    shown = pd.DataFrame(
        {
            "Step": steps["step"],
            "Quantity": steps["quantity"],
            "Sum": steps["sum"],
            "Value": [
                UNIT_FORMATS[u](v) for v, u in zip(steps["value"], steps["unit"], strict=True)
            ],
            "Source": steps["source"],
            "Tag": [f"[{t}]" for t in steps["tag"]],
        }
    )
    return table_html(shown, caption=caption, formats={"Step": "number"})


class SafetyArithmetic(App):
    """Error rate, practice and reporting-share controls; step tables and one chart."""

    summary = (
        "Errors in primary care from the nation to one practice: expected errors, their Poisson "
        "range and how few are reported (interactive in Voilà)."
    )

    def __init__(self, rate: int = int(sf.PROJECT_ERROR_RATE_PER_100K)) -> None:
        super().__init__()
        safety = data.load_safety()
        names = data.load_practices().set_index("practice_id")["practice_name"]
        year = safety.loc[safety["financial_year"] == YEAR].set_index("practice_id")
        self.consultations = year["consultations"].astype(float)
        self.names = names
        options = [
            (
                f"A typical practice: {sf.CONSULTATIONS_PER_PRACTICE:,} consultations a year "
                "(brief)",
                TYPICAL,
            )
        ]
        options += [
            (f"{names[p]} ({p}): {c:,.0f} consultations in {YEAR}", p)
            for p, c in self.consultations.sort_index().items()
        ]
        self.rate = widgets.IntSlider(
            value=rate,
            min=int(sf.ERROR_RATE_LOW_PER_100K),
            max=int(sf.ERROR_RATE_HIGH_PER_100K),
            step=1,
            description="Error rate (errors per 100,000 consultations)",
            style=STYLE,
            continuous_update=False,
            layout=widgets.Layout(width="520px", max_width="100%"),
        )
        self.rate.add_class("pbc-control")
        self.practice = widgets.Dropdown(
            options=options, value=TYPICAL, description="Practice", style=STYLE, layout=WIDE
        )
        self.share = widgets.Dropdown(
            options=SHARES,
            value=sf.REPORTING_COMPLETENESS,
            description="Share of errors reported",
            style=STYLE,
            layout=WIDE,
        )
        self.national_html, self.practice_html = widgets.HTML(), widgets.HTML()
        self.summary_html = widgets.HTML()
        self.view = ChartView(narrow_width=None)
        self.rate.observe(lambda _: self.refresh(), names="value")
        for control in (self.practice, self.share):
            control.observe(lambda _: self.refresh(national=False), names="value")
        self.widget = widgets.VBox(
            [
                self.rate,
                self.practice,
                self.share,
                self.errors,
                self.summary_html,
                self.view,
                widgets.HTML("<h4>The national sum</h4>"),
                self.national_html,
                widgets.HTML("<h4>The same sum for this practice</h4>"),
                self.practice_html,
            ]
        )
        self.refresh()

    # --- figures ---------------------------------------------------------------------------
    @property
    def practice_consultations(self) -> float:
        if self.practice.value == TYPICAL:
            return float(sf.CONSULTATIONS_PER_PRACTICE)
        return float(self.consultations[self.practice.value])

    @property
    def practice_label(self) -> str:
        if self.practice.value == TYPICAL:
            return "a typical practice"
        return f"{self.names[self.practice.value]} ({self.practice.value})"

    def national(self) -> pd.DataFrame:
        return sf.national_arithmetic(rate_per_100k=self.rate.value)

    def practice_steps(self) -> pd.DataFrame:
        """The practice sum; step 1 names where the consultations come from."""
        steps = sf.practice_arithmetic(
            self.practice_consultations, self.rate.value, self.share.value
        )
        if self.practice.value != TYPICAL:
            steps.loc[steps["step"] == 1, ["quantity", "source", "tag"]] = [
                "Consultations a year",
                f"safety.csv, {YEAR} (synthetic)",
                "data",
            ]
        return steps

    def curves(self) -> pd.DataFrame:
        """Errors and reports a year at this practice for every rate from 5 to 80."""
        c, share = self.practice_consultations, self.share.value
        errors = sf.expected_incidents(c, RATES)
        reports = sf.expected_incidents(c * share, RATES)
        return pd.concat(
            [errors.assign(series="Errors"), reports.assign(series="Reported incidents")],
            ignore_index=True,
        )

    # --- refresh ---------------------------------------------------------------------------
    def refresh(self, national: bool = True) -> None:
        """Recompute the sums and redraw the chart (the national sum only if the rate moved)."""
        with guard(self.errors, what="updating the error arithmetic"):
            steps = self.practice_steps()
            chart, table, formats = self._chart()
            self.view.update(chart, table, formats=formats)
            if national:
                self.national_html.value = _steps_html(
                    self.national(),
                    f"England: GP contacts to errors at {self.rate.value} per 100,000",
                )
            self.practice_html.value = _steps_html(
                steps, f"{self.practice_label}: errors and reports in a year"
            )
            self.summary_html.value = self._summary(steps)

    def _summary(self, steps: pd.DataFrame) -> str:
        v = steps.set_index("step")["value"]
        return (
            f"<p>At <strong>{self.rate.value} errors per 100,000 consultations</strong>, "
            f"{html.escape(self.practice_label)} ({number(v[1])} consultations a year) can "
            f"expect <strong>{number(v[3], 1)}</strong> errors a year, about one every "
            f"{number(v[4], 1)} weeks; chance alone puts a year anywhere from {number(v[5])} to "
            f"{number(v[6])}. If {pct(v[7])} of errors are reported, that is "
            f"<strong>{number(v[8], 2)}</strong> reports a year, and in {pct(v[9], 0)} of years "
            "there would be none at all.</p>"
        )

    def headline(self) -> pd.DataFrame:
        """The default figures: the nation and the practice, as a plain table."""
        nat = self.national().set_index("step")["value"]
        own = self.practice_steps().set_index("step")["value"]
        rows = [
            ("GP contacts a year, England", number(nat[1])),
            ("Errors a year at this rate", number(nat[3])),
            ("Errors a day", number(nat[4], 1)),
            ("Errors a year across 5-80 per 100,000", f"{number(nat[5])} to {number(nat[6])}"),
            ("Share of errors reported (5,706 NRLS reports)", pct(nat[9])),
            (f"Errors a year at {self.practice_label}", number(own[3], 2)),
            ("95% range of errors that year (Poisson)", f"{number(own[5])} to {number(own[6])}"),
            ("Reports expected a year", number(own[8], 2)),
            ("Chance of a year with no report", pct(own[9])),
        ]
        return pd.DataFrame(rows, columns=["Measure", "Value"])

    def headline_html(self) -> str:
        caption = (
            f"Errors at {self.rate.value} per 100,000 consultations; {self.practice_label}; "
            f"{pct(self.share.value)} of errors reported"
        )
        return table_html(self.headline(), caption=caption)

    # --- chart -----------------------------------------------------------------------------
    def _chart(self):
        curves = self.curves()
        where = (
            "brief: a typical practice (34,200 consultations)"
            if self.practice.value == TYPICAL
            else f"safety.csv, {YEAR} (synthetic)"
        )
        chart = safety_charts.expected_errors_chart(
            curves,
            chosen_rate=self.rate.value,
            title=f"Errors and reports a year: {self.practice_label}",
            subtitle=(
                f"Lines: expected; shading: 95% range by chance. {pct(self.share.value)} of "
                "errors reported"
            ),
            source=CHART_SOURCE.format(practice=where),
        )
        table = curves.rename(
            columns={
                "series": "Series",
                "rate_per_100k": "Error rate (per 100,000)",
                "contacts": "Consultations (reported share applied for reports)",
                "expected": "Expected a year",
                "lower": "95% range, low",
                "upper": "95% range, high",
                "per_day": "Expected a day",
            }
        )[
            [
                "Series",
                "Error rate (per 100,000)",
                "Expected a year",
                "95% range, low",
                "95% range, high",
            ]
        ]
        shown = {5, 10, 16, 20, 40, 60, 80, self.rate.value}
        table = table.loc[table["Error rate (per 100,000)"].isin(shown)]
        formats = {
            "Error rate (per 100,000)": "number",
            "Expected a year": "number2",
            "95% range, low": "number",
            "95% range, high": "number",
        }
        return chart, table, formats
