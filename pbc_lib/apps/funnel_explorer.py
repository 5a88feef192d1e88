"""The funnel plot explorer: which Wyndmoor practices stand out on incident reporting or
prescribing errors, and how much that depends on the limits chosen.

Controls: the measure (incidents reported per 100,000 consultations, or prescribing errors per
item checked in the audit), the year (or all three pooled), the limits (exact or normal) and the
overdispersion adjustment (none, multiplicative phi or additive tau2, after Spiegelhalter, Stat
Med 2005, and the NHS FunnelPlotR package), and a practice to highlight. Figures come from
``data/safety.csv`` through :func:`pbc_lib.models.funnel.funnel`; the chart is the shared
:func:`pbc_lib.funnel_charts.funnel_chart`.
"""

from __future__ import annotations

import html
from dataclasses import dataclass

import ipywidgets as widgets
import pandas as pd

from pbc_lib import data, funnel_charts
from pbc_lib.apps.base import App
from pbc_lib.models import funnel as fp
from pbc_lib.ui import ChartView, guard, number, table_html

STYLE = {"description_width": "initial"}
WIDE = widgets.Layout(width="520px", max_width="100%")
ALL_YEARS = "all"  # Dropdown sentinel: the three years pooled
YEARS = [
    ("2006/07", "2006/07"),
    ("2005/06", "2005/06"),
    ("2004/05", "2004/05"),
    ("All three years pooled (2004/05 to 2006/07)", ALL_YEARS),
]
LIMITS = [("Exact (binomial or Poisson)", "exact"), ("Normal approximation", "normal")]
ADJUSTMENTS = [
    ("None", "none"),
    ("Multiplicative: widen by √φ (if φ > 1)", "multiplicative"),
    ("Additive: add a between-practice variance τ²", "additive"),
]
HEADLINE_ROWS = [  # (label, method, adjustment) for the record under the app
    ("Exact limits, no adjustment", "exact", "none"),
    ("Normal approximation, no adjustment", "normal", "none"),
    ("Normal, widened by √φ (multiplicative)", "exact", "multiplicative"),
    ("Normal plus τ² (additive)", "exact", "additive"),
]
GRID_POINTS = 60  # points along each limit curve; 120 look the same and cost ~25 ms more to draw
SOURCE = "Synthetic data for the fictional Wyndmoor PCT (safety.csv), {years}"


@dataclass(frozen=True)
class Measure:
    """One funnel the explorer can draw, and how to show it."""

    label: str
    kind: str
    numerator: str
    denominator: str
    per: float
    value_title: str
    denominator_title: str
    value_format: str
    table_format: str
    unit: str
    spread_unit: str
    caveat: str


MEASURES = {
    "prescribing": Measure(
        label="Prescribing errors per item checked (the audit)",
        kind="proportion",
        numerator="prescribing_errors",
        denominator="items_checked",
        per=1.0,
        value_title="Items with an error (%)",
        denominator_title="Items checked in the audit",
        value_format=".1%",
        table_format="pct",
        unit="",
        spread_unit="percentage points",
        caveat=(
            "These errors were found by checking a sample of items, so a practice's reporting "
            "culture does not move them; the size of its sample does. The PRACtICe study found "
            "an error in 4.9% of items (Avery et al., GMC 2012)."
        ),
    ),
    "incidents": Measure(
        label="Incidents reported per 100,000 consultations",
        kind="rate",
        numerator="incidents_reported",
        denominator="consultations",
        per=100_000,
        value_title="Incidents reported per 100,000 consultations",
        denominator_title="GP consultations",
        value_format=",.1f",
        table_format="number1",
        unit=" per 100,000",
        spread_unit="per 100,000",
        caveat=(
            "Reports are not errors. Only about 1 error in 8 reached the national reporting "
            "system from general practice (5,706 reports a year, HSJ), and a practice that "
            "looks for and reports its errors may be the safer one. A practice above the funnel "
            "may have a good reporting culture; one at zero may have a poor one."
        ),
    ),
}


def _measure_options() -> list[tuple[str, str]]:
    return [(m.label, key) for key, m in MEASURES.items()]


class FunnelExplorer(App):
    """Measure, year, limits, overdispersion and practice controls; one funnel plot."""

    summary = (
        "Funnel plot explorer: Wyndmoor practices' incident reporting and prescribing errors "
        "against 95% and 99.8% limits, with overdispersion adjustments (interactive in Voilà)."
    )

    def __init__(self, measure: str = "prescribing", practice_id: str = "WM007") -> None:
        super().__init__()
        self.safety = data.load_safety()
        practices = data.load_practices().sort_values("practice_name")
        self.names = practices.set_index("practice_id")["practice_name"]
        if practice_id not in self.names.index:
            raise fp.FunnelError(f"There is no practice with the code {practice_id!r} in the data.")
        if measure not in MEASURES:
            raise fp.FunnelError(f"measure must be one of {', '.join(MEASURES)}; got {measure!r}")
        self.measure = widgets.Dropdown(
            options=_measure_options(), value=measure, description="Measure", style=STYLE
        )
        self.measure.layout = WIDE
        self.year = widgets.Dropdown(
            options=YEARS, value="2006/07", description="Year", style=STYLE
        )
        self.year.layout = widgets.Layout(width="440px", max_width="100%")
        self.method = widgets.Dropdown(options=LIMITS, value="exact", description="Limits")
        self.method.style = STYLE
        self.adjustment = widgets.Dropdown(
            options=ADJUSTMENTS, value="none", description="Overdispersion", style=STYLE
        )
        self.adjustment.layout = WIDE
        self.practice = widgets.Dropdown(
            options=[(f"{n} ({p})", p) for p, n in self.names.items()],
            value=practice_id,
            description="Highlight practice",
            style=STYLE,
            layout=WIDE,
        )
        self.summary_html, self.caveat_html = widgets.HTML(), widgets.HTML()
        self.view = ChartView(narrow_width=None)
        for control in (self.measure, self.year, self.method, self.adjustment):
            control.observe(lambda _: self.refresh(), names="value")
        self.practice.observe(lambda _: self.refresh(model=False), names="value")
        self.widget = widgets.VBox(
            [
                self.measure,
                self.year,
                widgets.HBox(
                    [self.method, self.adjustment], layout=widgets.Layout(flex_flow="row wrap")
                ),
                self.practice,
                self.errors,
                self.summary_html,
                widgets.HBox(
                    [self.view, self.caveat_html],
                    layout=widgets.Layout(flex_flow="row wrap", align_items="flex-start"),
                ),
            ]
        )
        self.refresh()

    # --- figures ---------------------------------------------------------------------------
    @property
    def spec(self) -> Measure:
        return MEASURES[self.measure.value]

    def rows(self) -> pd.DataFrame:
        """One row per practice for the chosen year (summed over the years if pooled)."""
        m = self.spec
        table = self.safety
        if self.year.value != ALL_YEARS:
            table = table.loc[table["financial_year"] == self.year.value]
        return table.groupby("practice_id", sort=True)[[m.numerator, m.denominator]].sum()

    def result(self) -> fp.Funnel:
        m, rows = self.spec, self.rows()
        return fp.funnel(
            m.kind,
            rows[m.numerator],
            rows[m.denominator],
            units=rows.index,
            per=m.per,
            method=self.method.value,
            adjustment=self.adjustment.value,
            grid_points=GRID_POINTS,
        )

    @property
    def years_text(self) -> str:
        return "2004/05 to 2006/07" if self.year.value == ALL_YEARS else self.year.value

    # --- refresh ---------------------------------------------------------------------------
    def refresh(self, model: bool = True) -> None:
        """Recompute the funnel (unless only the highlight moved) and redraw."""
        with guard(self.errors, what="updating the funnel plot"):
            if model or not hasattr(self, "funnel"):
                funnel = self.result()
            else:
                funnel = self.funnel
            chart, table, formats = self._chart(funnel)
            self.view.update(chart, table, formats=formats)
            self.funnel = funnel
            self.summary_html.value = self._summary(funnel)
            self.caveat_html.value = (
                '<aside class="pbc-caveat" style="max-width:22em;border-left:6px solid #ED8B00;'
                'padding:0.4em 0.8em;margin:0.5em 0.5em">'
                f"<strong>Reading this plot.</strong> {html.escape(self.spec.caveat)}</aside>"
            )

    def counts(self, funnel: fp.Funnel | None = None) -> dict[str, int]:
        """Practices beyond each limit: above and below 95% (alarms included) and 99.8%."""
        flags = (funnel or self.funnel).units["flag"]
        alarm_hi, alarm_lo = (
            (flags == fp.FLAG_ABOVE_ALARM).sum(),
            (flags == fp.FLAG_BELOW_ALARM).sum(),
        )
        return {
            "above_95": int(alarm_hi + (flags == fp.FLAG_ABOVE_ALERT).sum()),
            "below_95": int(alarm_lo + (flags == fp.FLAG_BELOW_ALERT).sum()),
            "above_99_8": int(alarm_hi),
            "below_99_8": int(alarm_lo),
        }

    def _format(self, value: float) -> str:
        return funnel_charts.python_format(value, self.spec.value_format) + self.spec.unit

    def limits_words(self, funnel: fp.Funnel) -> str:
        """Which limits the flags rest on, in words (tau2 as a between-practice SD, in units)."""
        exact = "exact (binomial)" if funnel.kind == "proportion" else "exact (Poisson)"
        base = exact if funnel.limits_used == "exact" else "normal approximation"
        applied = set(funnel_charts.funnel_inputs(funnel)[1]["adjustment"])
        if "multiplicative phi" in applied:
            return f"normal approximation widened by √φ = {funnel.phi**0.5:.2f}"
        if "additive tau2" in applied:
            sd = funnel.tau2**0.5 * funnel.per * (100 if funnel.kind == "proportion" else 1)
            return (
                f"normal approximation plus τ², a between-practice SD of {sd:.2g} "
                f"{self.spec.spread_unit}"
            )
        if self.adjustment.value != "none":
            return f"{base}; φ ≤ 1, so there is nothing to adjust for"
        return base

    def _summary(self, funnel: fp.Funnel) -> str:
        c, n = self.counts(funnel), len(funnel.units)
        phi = funnel.phi
        spread = (
            f"φ = {phi:.2f} (10% winsorised): the practices differ more than chance alone "
            "allows, so an adjustment is worth considering."
            if phi > 1
            else f"φ = {phi:.2f} (10% winsorised): no sign that the practices differ more than "
            "chance allows, so the adjustments change nothing."
        )
        row = funnel.units.set_index("unit").loc[self.practice.value]
        name = html.escape(f"{self.names[self.practice.value]} ({self.practice.value})")
        return (
            f"<p>{n} practices, {self.years_text}. Target (the PCT as a whole): "
            f"<strong>{self._format(funnel.target)}</strong>. {spread} Limits used: "
            f"{html.escape(self.limits_words(funnel))}. Beyond the 95% limits: "
            f"<strong>{c['above_95']}</strong> above and <strong>{c['below_95']}</strong> "
            "below; beyond 99.8%: "
            f"<strong>{c['above_99_8']}</strong> above and <strong>{c['below_99_8']}</strong> "
            f"below. <strong>{name}</strong>: {self._format(row['value'])} "
            f"({number(row['numerator'])} of {number(row['denominator'])}); 99.8% limits "
            f"{funnel_charts.python_format(row['lower_99_8'], self.spec.value_format)} to "
            f"{self._format(row['upper_99_8'])}: "
            f"<strong>{row['flag']}</strong>.</p>"
        )

    # --- the record under the app ----------------------------------------------------------
    def headline(self) -> pd.DataFrame:
        """For the current measure and year: the flags under each limit and adjustment."""
        m, rows = self.spec, self.rows()
        out = []
        for label, method, adjustment in HEADLINE_ROWS:
            f = fp.funnel(
                m.kind,
                rows[m.numerator],
                rows[m.denominator],
                units=rows.index,
                per=m.per,
                method=method,
                adjustment=adjustment,
                grid_points=2,
            )
            c = self.counts(f)
            out.append((label, c["above_95"], c["below_95"], c["above_99_8"], c["below_99_8"]))
        return pd.DataFrame(
            out,
            columns=[
                "Limits, overdispersion",
                "Above 95%",
                "Below 95%",
                "Above 99.8%",
                "Below 99.8%",
            ],
        )

    def headline_html(self) -> str:
        f = self.result()
        caption = (
            f"{self.spec.label}, {self.years_text}: practices beyond each limit "
            f"(target {self._format(f.target)}; φ = {f.phi:.2f})"
        )
        return table_html(self.headline(), caption=caption)

    # --- chart -----------------------------------------------------------------------------
    def _chart(self, funnel: fp.Funnel):
        m = self.spec
        units, limits = funnel_charts.funnel_inputs(funnel)
        chart = funnel_charts.funnel_chart(
            units,
            limits,
            target=funnel.target,
            value_title=m.value_title,
            denominator_title=m.denominator_title,
            title=f"{m.label.split(' (')[0]}, {self.years_text}",
            subtitle=f"Limits: {self.limits_words(funnel)}",
            highlight=self.practice.value,
            value_format=m.value_format,
            source=SOURCE.format(years=self.years_text),
        )
        table = units.assign(practice=units["unit"].map(self.names))[
            ["unit", "practice", "numerator", "denominator", "value", "lower_99_8", "lower_95",
             "upper_95", "upper_99_8", "flag"]
        ].sort_values("value", ascending=False)  # fmt: skip
        columns = {
            "unit": "Code",
            "practice": "Practice",
            "numerator": "Events (count)",
            "denominator": m.denominator_title,
            "value": m.value_title,
            "lower_99_8": "99.8% lower",
            "lower_95": "95% lower",
            "upper_95": "95% upper",
            "upper_99_8": "99.8% upper",
            "flag": "Flag",
        }
        table = table.rename(columns=columns)
        formats = {
            "Events (count)": "number",
            m.denominator_title: "number",
            **dict.fromkeys(
                [m.value_title, "99.8% lower", "95% lower", "95% upper", "99.8% upper"],
                m.table_format,
            ),
        }
        return chart, table, formats
