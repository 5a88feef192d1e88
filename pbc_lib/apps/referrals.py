"""A practice's referrals: its referral pathway and what it costs at tariff beside the PCT, and a
funnel plot of every practice's GP referrals against the number expected.

Under Payment by Results every step after a GP referral (first attendance, follow-ups, elective
and day-case admissions) is paid at tariff, so a practice's referral pattern has a price. Figures
come from the synthetic data set through :mod:`pbc_lib.models.demand` (pathway, expected
referrals) and :mod:`pbc_lib.models.funnel` (limits); the funnel chart is shared with workbook 04
(:mod:`pbc_lib.funnel_charts`).
"""

from __future__ import annotations

import html

import ipywidgets as widgets
import pandas as pd

from pbc_lib import data, demand_charts, funnel_charts
from pbc_lib.apps.base import App
from pbc_lib.models import demand as dm
from pbc_lib.models import funnel as fn
from pbc_lib.ui import ChartView, gbp, guard, number, pct, table_html

STYLE = {"description_width": "initial"}
# Titles, subtitles and source lines kept to one line each where they can be: every extra line
# of text costs vl-convert time on each redraw (see benchmarks/demand_latency.py).
SOURCE = "Synthetic data: activity, list sizes{extra}, {year}"
EXPECTED = [
    ("Allowing for each practice's age mix", "age"),
    ("Crude: the PCT's rate × the list size", "crude"),
]
LIMITS = [
    ("Exact Poisson limits (chance alone)", "none"),
    ("Widened for overdispersion (φ)", "multiplicative"),
]
PCT_LABEL = "At the PCT's rates"
FUNNEL_GRID_POINTS = 80  # points along each limit curve: smooth at 340 px, and quick to draw
FIRST_PER_REFERRAL_NOTE = (
    "First attendances come from every source (GPs, A&E, other consultants), not only GP "
    "referrals, so there are about {ratio:.2f} per GP referral across the PCT"
)


def load_tables() -> dict[str, pd.DataFrame]:
    """The validated tables this app needs."""
    return data.load_tables("practices", "population", "activity", "prices", "list_sizes")


class ReferralExplorer(App):
    """Practice, year, expected-count and limit controls; pathway (with cost) and funnel charts."""

    summary = (
        "Referral explorer: one practice's referral pathway and its cost at tariff against the "
        "PCT, and a funnel plot of every practice's referrals (interactive in Voilà)."
    )

    def __init__(self, practice_id: str = "WM001", year: str = "2006/07") -> None:
        super().__init__()
        t = self.tables = load_tables()
        years = sorted(t["activity"]["financial_year"].unique())
        practices = t["practices"].sort_values("practice_name")
        self.names = t["practices"].set_index("practice_id")["practice_name"]
        options = [
            (f"{r.practice_name} ({r.practice_id})", r.practice_id) for r in practices.itertuples()
        ]
        if practice_id not in self.names.index:
            raise dm.DemandError(f"There is no practice with the code {practice_id!r} in the data.")
        if year not in years:
            raise dm.DemandError(f"There is no activity for {year}; years: {', '.join(years)}.")
        wide = widgets.Layout(width="440px", max_width="100%")
        self.practice = widgets.Dropdown(
            options=options, value=practice_id, description="Practice", style=STYLE, layout=wide
        )
        self.practice.add_class("pbc-control")
        self.year = widgets.Dropdown(options=years, value=year, description="Year", style=STYLE)
        self.expected = widgets.Dropdown(
            options=EXPECTED,
            value="age",
            description="Expected referrals",
            style=STYLE,
            layout=wide,
        )
        self.limits = widgets.Dropdown(
            options=LIMITS, value="none", description="Funnel limits", style=STYLE, layout=wide
        )
        self.text, self.funnel_text = widgets.HTML(), widgets.HTML()
        self.pathway_view = ChartView(narrow_width=None)
        self.funnel_view = ChartView(narrow_width=None)
        self._funnels: dict[tuple[str, str, str], fn.Funnel] = {}
        for control in (self.practice, self.year):
            control.observe(lambda _: self.refresh(), names="value")
        for control in (self.expected, self.limits):
            control.observe(lambda _: self.refresh(pathway=False), names="value")
        wrap = widgets.Layout(flex_flow="row wrap")
        self.widget = widgets.VBox(
            [
                widgets.HBox([self.practice, self.year], layout=wrap),
                self.errors,
                self.text,
                self.pathway_view,
                widgets.HTML("<h3>Every practice's GP referrals against the number expected</h3>"),
                widgets.HBox([self.expected, self.limits], layout=wrap),
                self.funnel_text,
                self.funnel_view,
            ]
        )
        self.refresh()

    # --- figures ---------------------------------------------------------------------------
    def pathway(self) -> dm.PathwayReport:
        """The chosen practice's pathway in the chosen year, at that year's prices."""
        t = self.tables
        return dm.referral_pathway(
            t["activity"], t["prices"], t["list_sizes"], self.practice.value, self.year.value
        )

    def funnel(self) -> fn.Funnel:
        """Observed against expected GP referrals for every practice (cached per setting)."""
        key = (self.year.value, self.expected.value, self.limits.value)
        if key not in self._funnels:
            t = self.tables
            population = t["population"] if self.expected.value == "age" else None
            counts = dm.expected_referrals(
                t["activity"], t["list_sizes"], self.year.value, population=population
            )
            self._funnels[key] = fn.funnel(
                "ratio",
                counts["observed"].to_numpy(),
                counts["expected"].to_numpy(),
                units=counts["practice_id"].map(self.names).to_numpy(),
                adjustment=self.limits.value,
                grid_points=FUNNEL_GRID_POINTS,
            )
        return self._funnels[key]

    # --- refresh ---------------------------------------------------------------------------
    def refresh(self, pathway: bool = True) -> None:
        """Recompute and redraw: ``pathway`` the practice's pathway chart; the funnel always
        (the practice is highlighted on it)."""
        with guard(self.errors, what="updating the referral explorer"):
            if pathway or not hasattr(self, "report"):
                report = self.pathway()
                drawing, table, formats = self._pathway_chart(report)
                self.pathway_view.update(drawing, table, formats=formats)
                self.report = report
            funnel = self.funnel()
            drawing, table, formats = self._funnel_chart(funnel)
            self.funnel_view.update(drawing, table, formats=formats)
            self.text.value = self._summary_html(self.report)
            self.funnel_text.value = self._funnel_html(funnel)

    # --- words -----------------------------------------------------------------------------
    def _summary_html(self, r: dm.PathwayReport) -> str:
        steps = r.steps.set_index("pod")
        name = html.escape(str(self.names[r.practice_id]))
        ref = steps.loc["gp_referral"]
        ratio = steps.at["op_first", "pct_ratio_to_previous"]
        dearer = "more" if r.difference > 0 else "less"
        return (
            f"<p><strong>{name}</strong> ({number(r.list_size)} patients) made "
            f"<strong>{number(ref['count'])}</strong> GP referrals in {r.year}: "
            f"{number(ref['per_1000'], 1)} per 1,000 patients against the PCT's "
            f"{number(ref['pct_per_1000'], 1)}. At {r.price_year} tariff prices its patients' "
            f"outpatient and planned hospital care cost <strong>{gbp(r.cost)}</strong>, "
            f"{gbp(abs(r.difference))} {dearer} than its list would cost at the PCT's rates "
            f"({gbp(r.cost_at_pct_rate)}). {FIRST_PER_REFERRAL_NOTE.format(ratio=ratio)}.</p>"
        )

    def _funnel_html(self, f: fn.Funnel) -> str:
        units = f.units
        me = units.loc[units["unit"] == self.names[self.practice.value]].iloc[0]
        above = int(units["flag"].str.startswith("above").sum())
        below = int(units["flag"].str.startswith("below").sum())
        basis = "its age mix" if self.expected.value == "age" else "its list size"
        gap = me["value"] - 1
        phi = ""
        if f.phi is not None:
            phi = (
                f" The spread between practices is φ = {number(f.phi, 1)} times what chance "
                "alone would give."
            )
        return (
            f"<p>In {self.year.value}, {html.escape(str(me['unit']))} made "
            f"{number(me['numerator'])} GP referrals against {number(me['expected'])} expected "
            f"from {basis}: {pct(abs(gap), 0)} {'more' if gap >= 0 else 'fewer'}, "
            f"<strong>{html.escape(str(me['flag']))}</strong>. Of {len(units)} practices, "
            f"{above} are above the 95% limit and {below} below it.{phi}</p>"
        )

    def headline(self) -> pd.DataFrame:
        """The chosen practice's pathway, step by step, as a plain table."""
        s = self.report.steps
        priced = s["pod"].isin(dm.PRICED_STEPS)  # GP referrals have no price: shown as a dash
        return pd.DataFrame(
            {
                "Step": s["step"],
                "Count": s["count"],
                "Per 1,000 patients": s["per_1000"],
                "PCT per 1,000": s["pct_per_1000"],
                "Cost at tariff (£)": s["cost"].where(priced),
                "Cost at PCT rates (£)": s["cost_at_pct_rate"].where(priced),
            }
        )

    def headline_html(self) -> str:
        """The pathway table and the funnel's summary line (what nbval compares)."""
        r, f = self.report, self.funnel()
        caption = (
            f"{self.names[r.practice_id]}, {r.year}: referral pathway at {r.price_year} prices "
            f"(total {gbp(r.cost)}; at the PCT's rates {gbp(r.cost_at_pct_rate)})"
        )
        formats = {
            "Count": "number",
            "Per 1,000 patients": "number1",
            "PCT per 1,000": "number1",
            "Cost at tariff (£)": "gbp",
            "Cost at PCT rates (£)": "gbp",
        }
        return table_html(self.headline(), formats, caption) + self._funnel_html(f)

    # --- charts ----------------------------------------------------------------------------
    def _pathway_chart(self, r: dm.PathwayReport):
        name = str(self.names[r.practice_id])
        s = r.steps
        priced = s["pod"].isin(dm.PRICED_STEPS)  # GP referrals have no price
        long = pd.concat(
            [
                pd.DataFrame(
                    {
                        "step": s["step"],
                        "series": name,
                        "per_1000": s["per_1000"],
                        "cost": s["cost"].where(priced),
                    }
                ),
                pd.DataFrame(
                    {
                        "step": s["step"],
                        "series": PCT_LABEL,
                        "per_1000": s["pct_per_1000"],
                        "cost": s["cost_at_pct_rate"].where(priced),
                    }
                ),
            ],
            ignore_index=True,
        )
        ratio = s.set_index("pod").at["op_first", "pct_ratio_to_previous"]
        chart = demand_charts.pathway_chart(
            long,
            price_year=r.price_year,
            title=f"The referral pathway and its cost, {r.year}",
            subtitle=f"First attendances (all sources) per GP referral: {ratio:.2f}",
            source=SOURCE.format(extra=", prices", year=r.year),
        )
        table = pd.DataFrame(
            {
                "Step": s["step"],
                "Count": s["count"],
                "Per 1,000 patients": s["per_1000"],
                "PCT per 1,000": s["pct_per_1000"],
                "Ratio to the step before": s["previous_step"],
                "Practice ratio": s["ratio_to_previous"],
                "PCT ratio": s["pct_ratio_to_previous"],
                f"{r.price_year} price (£)": s["unit_price"].where(priced),
                "Cost at tariff (£)": s["cost"].where(priced),
                "Cost at PCT rates (£)": s["cost_at_pct_rate"].where(priced),
            }
        )
        formats = {
            "Count": "number",
            "Per 1,000 patients": "number1",
            "PCT per 1,000": "number1",
            "Practice ratio": "number2",
            "PCT ratio": "number2",
            f"{r.price_year} price (£)": "gbp2",
            "Cost at tariff (£)": "gbp",
            "Cost at PCT rates (£)": "gbp",
        }
        return chart, table, formats

    def _funnel_chart(self, f: fn.Funnel):
        units, limits = funnel_charts.funnel_inputs(f)
        basis = "the practice's age mix" if self.expected.value == "age" else "its list size"
        extra = ", population" if self.expected.value == "age" else ""
        name = str(self.names[self.practice.value])
        chart = funnel_charts.funnel_chart(
            units[["unit", "denominator", "value", "flag"]],
            limits[["denominator", "limit", "value"]],
            target=1.0,
            value_title="Observed ÷ expected GP referrals",
            denominator_title="Expected GP referrals a year",
            title=f"Referrals against expected, {self.year.value}",
            subtitle=f"Expected from {basis}; {f.note} limits",
            source=SOURCE.format(extra=extra, year=self.year.value),
            highlight=name,
            value_format=".2f",
        )
        table = f.units[["unit", "numerator", "expected", "value", "lower_95", "upper_95", "flag"]]
        table = table.sort_values("value").rename(
            columns={
                "unit": "Practice",
                "numerator": "GP referrals",
                "expected": "Expected",
                "value": "Observed ÷ expected",
                "lower_95": "95% lower limit",
                "upper_95": "95% upper limit",
                "flag": "Against the limits",
            }
        )
        formats = {
            "GP referrals": "number",
            "Expected": "number",
            "Observed ÷ expected": "number2",
            "95% lower limit": "number2",
            "95% upper limit": "number2",
        }
        return chart, table, formats
