"""A scheme designer: choose demand-management schemes and their assumptions, and see the net
saving with its uncertainty and who gains (practices, the PCT, the acute trust, the community
provider).

Two schemes, as :mod:`pbc_lib.models.demand` models them: case managers for patients at high risk
of emergency admission, and an assessment service (ICATS, a referral-management centre) for a
share of GP referrals. Every uncertain input is a range with its source and tag, drawn 10,000
times (seeded). A ready-made "Bolton-style" example (25 case managers and an assessment service,
after the Bolton PCT talk reported in 2007) loads with one button; its figures were not verified
in any source, so it is labelled illustrative throughout.
"""

from __future__ import annotations

import html
from dataclasses import replace

import ipywidgets as widgets
import pandas as pd

from pbc_lib import data, demand_charts
from pbc_lib.apps.base import App
from pbc_lib.models import demand as dm
from pbc_lib.models.budgets import SAVINGS_SHARE_2004, SAVINGS_SHARE_2006
from pbc_lib.ui import MISSING, ChartView, gbp, guard, number, pct, table_html

STYLE = {"description_width": "initial"}
WIDE = {"width": "600px", "max_width": "100%"}
ACTIVITY_YEAR, PRICE_YEAR = "2006/07", "2007/08"
DRAWS, SEED, INTERVAL = dm.DEFAULT_DRAWS, 2007, 0.90
WHOLE_PCT = "Whole PCT"
DEFAULT_AREA = "City North"
DEFAULT_CASE_MANAGERS = 2
EFFECTS = {
    "range": (
        "A range: Evercare's 16.5% more to a hoped-for 15% fewer",
        dm.CASE_MANAGEMENT_EFFECT,
    ),
    "evercare": ("Evercare as measured: +16.5% (95% CI −5.7% to +38.7%)", dm.EVERCARE_EFFECT),
    "hoped": (
        "Hoped for: 15% fewer, for certain (assumption)",
        dm.fixed(0.15, "An optimistic 15% fewer emergency admissions, with no uncertainty", "[U]"),
    ),
}
MARGINAL = [
    ("Full tariff", 1.0),
    ("50% of tariff: above the 2005/06 outturn (2007/08 rule)", dm.EMERGENCY_MARGINAL_RATE_2007),
    ("30% of tariff: above the 2008/09 baseline (2010/11 rule)", dm.EMERGENCY_MARGINAL_RATE_2010),
]
SHARES = [
    ("At least 70% (2006/07 rules)", SAVINGS_SHARE_2006),
    ("50% (2004 rules)", SAVINGS_SHARE_2004),
]
PARTIES = {
    "practice": "Practices: freed-up resources",
    "pct": "PCT: its share, or the loss",
    "acute_income": "Acute trust: income at tariff",
    "community_income": "Community provider: income",
}
SOURCE = "Simulation, 10,000 draws; synthetic prices and activity"
BOLTON_NOTE = (
    "Illustrative: a Bolton-style scenario. Bolton PCT was reported in 2007 to employ 25 case "
    "managers and to run an assessment service (ICATS) in the town centre; those figures were "
    "not verified in any source, and every input here is a changeable assumption."
)


def defaults() -> dict[str, object]:
    """The designer's starting values, control by control."""
    return {
        "area": DEFAULT_AREA,
        "case_managers": DEFAULT_CASE_MANAGERS,
        "effect": "range",
        "marginal": 1.0,
        "scope": round(dm.MSK_SCOPE_SHARE * 100),
        "redirected": round(dm.SHARE_REDIRECTED.central * 100),
        "induced": dm.INDUCED_REFERRALS.central,
        "share": SAVINGS_SHARE_2006,
    }


def bolton_settings() -> dict[str, object]:
    """The Bolton-style scenario (illustrative) as control values: the model's own defaults."""
    return {**defaults(), "area": WHOLE_PCT, "case_managers": dm.BOLTON_CASE_MANAGERS}


def area_referrals(activity: pd.DataFrame, practices: pd.DataFrame, area: str) -> int:
    """GP referrals in ``ACTIVITY_YEAR`` by the practices of a locality (or the whole PCT)."""
    rows = activity.loc[
        (activity["financial_year"] == ACTIVITY_YEAR) & (activity["pod"] == "gp_referral")
    ]
    if area != WHOLE_PCT:
        ids = practices.loc[practices["locality"] == area, "practice_id"]
        if ids.empty:
            raise dm.DemandError(f"There is no locality called {area!r} in the data.")
        rows = rows.loc[rows["practice_id"].isin(ids)]
    return int(rows["activity"].sum())


def schemes_for(settings: dict[str, object], referrals: float) -> list[dm.Scheme]:
    """The schemes the settings describe (a scheme with no staff or no referrals is left out)."""
    out: list[dm.Scheme] = []
    managers = float(settings["case_managers"])  # type: ignore[arg-type]
    if managers > 0:
        out.append(
            dm.CaseManagement(
                case_managers=managers,
                effect=EFFECTS[str(settings["effect"])][1],
                marginal_rate=float(settings["marginal"]),  # type: ignore[arg-type]
                name=f"{managers:g} case manager{'s' if managers != 1 else ''}",
            )
        )
    scope = float(settings["scope"]) / 100  # type: ignore[arg-type]
    if scope > 0:
        out.append(
            dm.ReferralManagement(
                referrals=referrals * scope,
                share_redirected=replace(
                    dm.SHARE_REDIRECTED,
                    central=float(settings["redirected"]) / 100,  # type: ignore[arg-type]
                ),
                induced_per_redirected=replace(
                    dm.INDUCED_REFERRALS,
                    central=float(settings["induced"]),  # type: ignore[arg-type]
                ),
                name="Assessment service (ICATS)",
            )
        )
    return out


def _slider(kind, value, low, high, step, description, fmt):
    return kind(
        value=value,
        min=low,
        max=high,
        step=step,
        description=description,
        readout_format=fmt,
        style=STYLE,
        continuous_update=False,
        layout=widgets.Layout(**WIDE),
    )


class SchemeDesigner(App):
    """Scheme and assumption controls; net-saving histogram and who-gains charts."""

    summary = (
        "Scheme designer: case managers and an assessment service (ICATS), with simulated net "
        "saving, its interval and who gains or loses (interactive in Voilà)."
    )

    def __init__(self, bolton: bool = False) -> None:
        super().__init__()
        self.activity, self.practices = data.load_activity(), data.load_practices()
        self.costs = dm.unit_costs(data.load_prices(), PRICE_YEAR, self.activity, ACTIVITY_YEAR)
        start = bolton_settings() if bolton else defaults()
        areas = [WHOLE_PCT, *sorted(self.practices["locality"].unique())]
        self.area = widgets.Dropdown(
            options=areas, value=start["area"], description="Commissioned for", style=STYLE
        )
        self.case_managers = _slider(
            widgets.IntSlider, start["case_managers"], 0, 40, 1, "Case managers (0 = none)", "d"
        )
        self.effect = widgets.Dropdown(
            options=[(label, k) for k, (label, _) in EFFECTS.items()],
            value=start["effect"],
            description="Effect on emergency admissions",
            style=STYLE,
            layout=widgets.Layout(**WIDE),
        )
        self.marginal = widgets.Dropdown(
            options=MARGINAL,
            value=start["marginal"],
            description="PCT saves per admission avoided",
            style=STYLE,
            layout=widgets.Layout(**WIDE),
        )
        self.scope = _slider(
            widgets.IntSlider, start["scope"], 0, 30, 1, "GP referrals sent to ICATS (%)", "d"
        )
        self.redirected = _slider(
            widgets.IntSlider,
            start["redirected"],
            0,
            30,
            1,
            "Of those, redirected (%, central)",
            "d",
        )
        self.induced = _slider(
            widgets.FloatSlider,
            start["induced"],
            0.0,
            1.0,
            0.05,
            "Extra referrals drawn in per redirected one",
            ".2f",
        )
        self.share = widgets.Dropdown(
            options=SHARES,
            value=start["share"],
            description="Practices keep of a saving",
            style=STYLE,
            layout=widgets.Layout(**WIDE),
        )
        self.bolton_button = widgets.Button(
            description="Load the Bolton-style scenario (illustrative)",
            layout=widgets.Layout(width="auto"),
        )
        self.reset_button = widgets.Button(
            description="Back to the starting design", layout=widgets.Layout(width="auto")
        )
        self.text, self.evidence = widgets.HTML(), widgets.HTML()
        self.histogram_view = ChartView(narrow_width=None)
        self.gains_view = ChartView(narrow_width=None)
        self._loading = False
        self._referrals: dict[str, int] = {}
        for control in self.controls().values():
            control.observe(lambda _: self.refresh(), names="value")
        self.bolton_button.on_click(lambda _: self.load(bolton_settings()))
        self.reset_button.on_click(lambda _: self.load(defaults()))
        self.widget = widgets.VBox(self._layout())
        self.refresh()

    def _layout(self) -> list[widgets.Widget]:
        wrap = widgets.Layout(flex_flow="row wrap")
        return [
            widgets.HBox([self.bolton_button, self.reset_button], layout=wrap),
            self.area,
            widgets.HTML("<h4>Case management</h4>"),
            self.case_managers,
            self.effect,
            self.marginal,
            widgets.HTML("<h4>Assessment service (ICATS)</h4>"),
            self.scope,
            self.redirected,
            self.induced,
            self.share,
            self.errors,
            self.text,
            self.histogram_view,
            self.gains_view,
            self.evidence,
        ]

    # --- state -----------------------------------------------------------------------------
    def controls(self) -> dict[str, widgets.Widget]:
        """The controls by setting name (the keys of :func:`defaults`)."""
        return {
            "area": self.area,
            "case_managers": self.case_managers,
            "effect": self.effect,
            "marginal": self.marginal,
            "scope": self.scope,
            "redirected": self.redirected,
            "induced": self.induced,
            "share": self.share,
        }

    def settings(self) -> dict[str, object]:
        return {name: control.value for name, control in self.controls().items()}

    def load(self, settings: dict[str, object]) -> None:
        """Set every control at once, then redraw once."""
        self._loading = True
        try:
            for name, control in self.controls().items():
                control.value = settings[name]
        finally:
            self._loading = False
        self.refresh()

    @property
    def is_bolton(self) -> bool:
        """Whether the controls hold the Bolton-style scenario."""
        return self.settings() == bolton_settings()

    def referrals(self) -> int:
        """GP referrals by the chosen area's practices (worked out once per area)."""
        area = self.area.value
        if area not in self._referrals:
            self._referrals[area] = area_referrals(self.activity, self.practices, area)
        return self._referrals[area]

    def schemes(self) -> list[dm.Scheme]:
        return schemes_for(self.settings(), self.referrals())

    def simulate(self, schemes: list[dm.Scheme] | None = None) -> dm.SchemeResult:
        """The chosen schemes together (or ``schemes``), 10,000 seeded draws."""
        chosen = self.schemes() if schemes is None else schemes
        if not chosen:
            raise dm.DemandError(
                "Choose at least one scheme: some case managers, or a share of referrals for the "
                "assessment service."
            )
        return dm.simulate(chosen, self.costs, DRAWS, SEED, float(self.share.value))

    # --- refresh ---------------------------------------------------------------------------
    def refresh(self) -> None:
        """Simulate the chosen schemes and redraw both charts."""
        if self._loading:
            return
        with guard(self.errors, what="updating the scheme designer"):
            schemes = self.schemes()
            result = self.simulate(schemes)
            parts = {s.name: self.simulate([s]) for s in schemes} if len(schemes) > 1 else {}
            table = result.summary(INTERVAL)
            drawing = self._histogram_chart(result, table)
            gains = self._gains_chart(table)
            self.histogram_view.update(*drawing[:2], formats=drawing[2])
            self.gains_view.update(*gains[:2], formats=gains[2])
            self.result, self.table = result, table
            self.text.value = self._summary_html(result, table, parts)
            self.evidence.value = self._evidence_html()

    # --- words -----------------------------------------------------------------------------
    def _summary_html(
        self, result: dm.SchemeResult, table: pd.DataFrame, parts: dict[str, dm.SchemeResult]
    ) -> str:
        row = table.set_index("key")
        net = row.loc["net_saving"]
        lines = [
            f"<strong>Net saving: {gbp(net['median'])} a year</strong> (median; {INTERVAL:.0%} "
            f"interval {gbp(net['low'])} to {gbp(net['high'])}). The schemes lose money in "
            f"<strong>{pct(result.loss_probability, 0)}</strong> of {number(DRAWS)} simulated "
            "years."
        ]
        if len(parts) > 1:
            alone = "; ".join(
                f"{html.escape(name)}, a loss in {pct(part.loss_probability, 0)} of draws"
                for name, part in parts.items()
            )
            lines.append(f"Each scheme on its own: {alone}.")
        if any(isinstance(s, dm.CaseManagement) for s in self.schemes()):
            lines.append(
                "Case management rarely pays for itself: in the Evercare pilots (62 practices) it "
                "made no significant difference to emergency admissions (Gravelle et al., BMJ "
                "2007)."
            )
        scope = self.scope.value / 100
        if scope > 0:
            referrals = self.referrals()
            lines.append(
                f"{html.escape(self.area.value)} made {number(referrals)} GP referrals in "
                f"{ACTIVITY_YEAR}; {self.scope.value}% of them ({number(referrals * scope)}) "
                "go to the assessment service, which keeps a median of "
                f"{number(row.loc['referrals_avoided', 'median'])} out of hospital."
            )
        note = (
            f'<p class="pbc-illustrative"><strong>{BOLTON_NOTE}</strong></p>'
            if self.is_bolton
            else ""
        )
        return note + "<p>" + " ".join(lines) + "</p>"

    def _evidence_html(self) -> str:
        frames = []
        for scheme in self.schemes():
            t = dm.assumptions_table(scheme)
            frames.append(t.assign(scheme=scheme.name))
        if not frames:
            return ""
        t = pd.concat(frames, ignore_index=True)
        shown = t[["scheme", "input", "central", "low", "high", "shape", "tag", "source"]].rename(
            columns={
                "scheme": "Scheme",
                "input": "Input",
                "central": "Central",
                "low": "Low",
                "high": "High",
                "shape": "Shape",
                "tag": "Tag",
                "source": "What it is, and its source",
            }
        )
        formats = {"Central": _plain, "Low": _plain, "High": _plain}
        body = table_html(
            shown, formats, "Every input, its range and its evidence", row_headers=False
        )
        return (
            "<details><summary>Show the assumptions and their evidence</summary>"
            f'<div class="pbc-table-wrap">{body}</div></details>'
        )

    def headline(self) -> pd.DataFrame:
        """Each measure's median and interval, and the chance of a loss, as a plain table."""
        return headline_table(self.result)

    def headline_html(self) -> str:
        """The current design's figures as a plain table (what nbval compares)."""
        names = " + ".join(s.name for s in self.schemes())
        return _headline_html(self.result, names, self.area.value, self.is_bolton)

    # --- charts ----------------------------------------------------------------------------
    def _histogram_chart(self, result: dm.SchemeResult, table: pd.DataFrame):
        bins = demand_charts.histogram_bins(result.net_saving)
        median = float(table.set_index("key").at["net_saving", "median"])
        title = f"Net saving: a loss in {pct(result.loss_probability, 0)} of draws"
        if self.is_bolton:
            title = f"Bolton-style (illustrative): a loss in {pct(result.loss_probability, 0)}"
        parts = [
            f"{s.case_managers:g} case managers" if isinstance(s, dm.CaseManagement) else "ICATS"
            for s in self.schemes()
        ]
        chart = demand_charts.saving_histogram(
            bins,
            median=median,
            title=title,
            subtitle=f"{' + '.join(parts)}; {self.area.value}; {PRICE_YEAR}",
            source=SOURCE,
        )
        shown = bins.rename(
            columns={
                "start": "From (£)",
                "end": "To (£)",
                "share": "Share of simulated years",
                "outcome": "Outcome",
            }
        )
        formats = {"From (£)": "gbp", "To (£)": "gbp", "Share of simulated years": "pct"}
        return chart, shown, formats

    def _gains_chart(self, table: pd.DataFrame):
        rows = table.set_index("key").loc[list(PARTIES)]
        frame = pd.DataFrame(
            {
                "party": list(PARTIES.values()),
                "median": rows["median"].to_numpy(),
                "low": rows["low"].to_numpy(),
                "high": rows["high"].to_numpy(),
            }
        )
        chart = demand_charts.gains_chart(
            frame,
            interval=INTERVAL,
            title="Who gains and who loses, £ a year",
            subtitle=f"Median and {INTERVAL:.0%} interval of {number(DRAWS)} draws",
            source=SOURCE,
        )
        shown = frame.rename(
            columns={"party": "Party", "median": "Median (£)", "low": "Low (£)", "high": "High (£)"}
        )
        return chart, shown, {"Median (£)": "gbp", "Low (£)": "gbp", "High (£)": "gbp"}


def _plain(value: object) -> str:
    if not isinstance(value, int | float):
        return str(value)
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.3g}"


def _fmt(key: str, value: float) -> str:
    if key == "roi":
        return number(value, 2)
    if key in ("referrals_avoided", "admissions_avoided"):
        return number(value)
    return gbp(value)


def headline_table(result: dm.SchemeResult) -> pd.DataFrame:
    """Each measure's median and interval, and the chance of a loss, as a plain table."""
    t = result.summary(INTERVAL)
    rows = [
        (m, _fmt(k, med), _fmt(k, lo), _fmt(k, hi))
        for m, k, med, lo, hi in zip(
            t["measure"], t["key"], t["median"], t["low"], t["high"], strict=True
        )
    ]
    rows.append(("Chance of losing money", pct(result.loss_probability, 1), MISSING, MISSING))
    return pd.DataFrame(rows, columns=["Measure", "Median", "Low (5%)", "High (95%)"])


def _headline_html(result: dm.SchemeResult, schemes: str, area: str, bolton: bool) -> str:
    caption = (
        f"{schemes}, {area}, {PRICE_YEAR} prices: {number(DRAWS)} simulated years (seed {SEED})"
    )
    if bolton:
        caption = f"Bolton-style scenario, illustrative only (not Bolton's results): {caption}"
    return table_html(headline_table(result), caption=caption)


def bolton_scenario() -> dm.Scenario:
    """The model's Bolton-style scenario (illustrative) for the whole PCT's GP referrals."""
    referrals = area_referrals(data.load_activity(), data.load_practices(), WHOLE_PCT)
    return dm.bolton_style_scenario(referrals)


def bolton_result() -> dm.SchemeResult:
    """The Bolton-style scenario (illustrative), simulated as the designer would."""
    activity = data.load_activity()
    costs = dm.unit_costs(data.load_prices(), PRICE_YEAR, activity, ACTIVITY_YEAR)
    return dm.simulate(bolton_scenario(), costs, DRAWS, SEED, SAVINGS_SHARE_2006)


def bolton_headline_html() -> str:
    """The Bolton-style scenario's figures as a plain table (illustrative)."""
    names = " + ".join(s.name for s in bolton_scenario().schemes)
    return _headline_html(bolton_result(), names, WHOLE_PCT, True)
