"""The audit planner: how many prescription items a practice must check to know its error rate
to within a margin.

With an expected error rate p, a margin m and a normal multiplier z, the normal approximation
needs n = z² p (1 − p) / m² items: for PRACtICe's 4.9% (Avery et al., GMC 2012) to ±1 percentage
point at 95%, 1.96² × 0.049 × 0.951 / 0.01² = 1,790.1, so 1,791 items. The Wilson and exact
(Clopper-Pearson) intervals are shown beside it; they need more when errors are rare. The chart
also marks how many items Wyndmoor's practices checked on average in 2006/07 (``safety.csv``).
Figures come from :mod:`pbc_lib.models.safety`.
"""

from __future__ import annotations

import ipywidgets as widgets
import numpy as np
import pandas as pd

from pbc_lib import data, safety_charts
from pbc_lib.apps.base import App
from pbc_lib.models import safety as sf
from pbc_lib.ui import ChartView, guard, number, pct, table_html

STYLE = {"description_width": "initial"}
YEAR = "2006/07"
MARGINS = [
    ("± 0.5 percentage points", 0.005),
    ("± 1 percentage point (the planning target)", sf.DEFAULT_MARGIN),
    ("± 2 percentage points", 0.02),
    ("± 3 percentage points", 0.03),
    ("± 5 percentage points", 0.05),
]
CONFIDENCES = [("90%", 0.90), ("95%", sf.DEFAULT_CONFIDENCE), ("99%", 0.99)]
P_MIN, P_MAX, P_STEP = 0.005, 0.20, 0.001
CHART_POINTS = 150
SOURCE = (
    "Normal, Wilson and Clopper-Pearson intervals; PRACtICe (Avery et al., GMC 2012) for 4.9%; "
    "audit size from safety.csv, {year} (synthetic)"
)


def points(margin: float) -> str:
    """±1 percentage point, ±2 percentage points."""
    value = margin * 100
    return f"±{value:g} percentage point{'' if value == 1 else 's'}"


class AuditPlanner(App):
    """Expected error rate, margin and confidence controls; a table and one chart."""

    summary = (
        "Audit planner: how many prescription items a practice must check to know its error "
        "rate to within a margin, by three interval methods (interactive in Voilà)."
    )

    def __init__(self, p: float = sf.PRACTICE_ERROR_RATE) -> None:
        super().__init__()
        safety = data.load_safety()
        year = safety.loc[safety["financial_year"] == YEAR]
        self.current_items = float(year["items_checked"].mean())
        self.p = widgets.FloatSlider(
            value=p,
            min=P_MIN,
            max=P_MAX,
            step=P_STEP,
            readout_format=".1%",
            description="Error rate you expect (planning figure)",
            style=STYLE,
            continuous_update=False,
            layout=widgets.Layout(width="520px", max_width="100%"),
        )
        self.margin = widgets.Dropdown(
            options=MARGINS,
            value=sf.DEFAULT_MARGIN,
            description="Margin wanted",
            style=STYLE,
            layout=widgets.Layout(width="440px", max_width="100%"),
        )
        self.confidence = widgets.Dropdown(
            options=CONFIDENCES,
            value=sf.DEFAULT_CONFIDENCE,
            description="Confidence",
            style=STYLE,
        )
        self.table_html, self.summary_html = widgets.HTML(), widgets.HTML()
        self.view = ChartView(narrow_width=None)
        for control in (self.p, self.margin, self.confidence):
            control.observe(lambda _: self.refresh(), names="value")
        self.widget = widgets.VBox(
            [
                self.p,
                widgets.HBox(
                    [self.margin, self.confidence], layout=widgets.Layout(flex_flow="row wrap")
                ),
                self.errors,
                self.summary_html,
                self.table_html,
                self.view,
            ]
        )
        self.refresh()

    # --- figures ---------------------------------------------------------------------------
    def needed(self) -> pd.DataFrame:
        return sf.audit_sample_sizes(self.p.value, self.margin.value, self.confidence.value)

    def now_half_width(self) -> float:
        """The normal half-width an audit of the current average size gives at this rate."""
        widths = sf.half_widths([self.current_items], self.p.value, self.confidence.value)
        return float(widths["normal"].iloc[0])

    def curves(self, needed: pd.DataFrame) -> pd.DataFrame:
        top = 1.6 * max(float(needed["items"].max()), self.current_items)
        grid = np.unique(np.round(np.geomspace(20, top, CHART_POINTS)))
        widths = sf.half_widths(grid, self.p.value, self.confidence.value)
        return widths.melt(id_vars="items", var_name="method", value_name="half_width")

    # --- refresh ---------------------------------------------------------------------------
    def refresh(self) -> None:
        """Recompute the audit sizes and redraw the chart."""
        with guard(self.errors, what="updating the audit planner"):
            needed = self.needed()
            chart, table, formats = self._chart(needed)
            self.view.update(chart, table, formats=formats)
            self.needed_table = needed
            self.table_html.value = table_html(
                self._needed_table(needed),
                caption="Items to check, by interval method",
                formats={"Items to check": "number"},
            )
            self.summary_html.value = self._summary(needed)

    def _needed_table(self, needed: pd.DataFrame) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "Interval": needed["method"].map(safety_charts.METHOD_LABELS),
                "Items to check": needed["items"],
                "Margin it gives (± points)": [f"{w * 100:.2f}" for w in needed["half_width"]],
            }
        )

    def _summary(self, needed: pd.DataFrame) -> str:
        n = needed.set_index("method")["items"]
        p, m = self.p.value, self.margin.value
        errors = p * n["normal"]
        width = self.now_half_width()
        now = (
            f"at this rate that pins the error rate down only to about ±{width * 100:.1f} points"
            if width > m
            else f"enough for this margin (about ±{width * 100:.1f} points)"
        )
        return (
            f"<p>To estimate an error rate near <strong>{pct(p)}</strong> to within "
            f"<strong>{points(m)}</strong> with {pct(self.confidence.value, 0)} "
            f"confidence, a practice must check <strong>{number(n['normal'])}</strong> items "
            f"(normal approximation; it expects to find about {number(errors)} errors), "
            f"{number(n['wilson'])} by the Wilson interval or {number(n['exact'])} by the exact "
            f"one. Wyndmoor's practices checked {number(self.current_items)} items each on "
            f"average in {YEAR}: {now}.</p>"
        )

    def headline(self) -> pd.DataFrame:
        """The default figures (4.9%, ±1 point, 95%) as a plain table."""
        n = self.needed().set_index("method")["items"]
        rows = [
            ("Items to check, normal approximation", number(n["normal"])),
            ("Items to check, Wilson interval", number(n["wilson"])),
            ("Items to check, exact (Clopper-Pearson) interval", number(n["exact"])),
            (f"Average items checked per practice, {YEAR}", number(self.current_items)),
            (
                "Margin that average gives (± percentage points)",
                f"{self.now_half_width() * 100:.1f}",
            ),
        ]
        return pd.DataFrame(rows, columns=["Measure", "Value"])

    def headline_html(self) -> str:
        caption = (
            f"Audit sizes for an error rate of {pct(self.p.value)}, {points(self.margin.value)}, "
            f"{pct(self.confidence.value, 0)} confidence"
        )
        return table_html(self.headline(), caption=caption)

    # --- chart -----------------------------------------------------------------------------
    def _chart(self, needed: pd.DataFrame):
        curves = self.curves(needed)
        chart = safety_charts.audit_chart(
            curves,
            needed,
            margin=self.margin.value,
            current_items=self.current_items,
            title="How big must a prescribing audit be?",
            subtitle=(
                f"Error rate {pct(self.p.value)}; the black line is {points(self.margin.value)}; "
                "grey, the average audit now"
            ),
            source=SOURCE.format(year=YEAR),
        )
        wide = curves.pivot(index="items", columns="method", values="half_width").reset_index()
        table = pd.DataFrame(
            {
                "Items checked": wide["items"],
                **{
                    f"{safety_charts.METHOD_LABELS[m]}: margin (±)": wide[m]
                    for m in safety_charts.METHODS
                },
            }
        ).iloc[:: max(1, len(wide) // 25)]
        formats = {"Items checked": "number"} | {
            c: "pct" for c in table.columns if c != "Items checked"
        }
        return chart, table, formats
