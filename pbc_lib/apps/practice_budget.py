"""The practice view of indicative budgets: one practice's budget by component, a forecast
outturn under a savings scenario, freed-up resources beside the Towards PBC DES, a multi-year
glide path toward fair share, and its indicative budget statement to download.

It takes its formula and pace of change from a :class:`~pbc_lib.apps.fair_shares.FairShares`
app and redraws when that app changes. Figures come from ``pbc_lib.models.budgets``.
"""

from __future__ import annotations

import html

import ipywidgets as widgets
import pandas as pd

from pbc_lib import budget_charts
from pbc_lib.apps.base import App
from pbc_lib.apps.fair_shares import SOURCE, THRESHOLDS, FairShares
from pbc_lib.content import budget_statement as bs
from pbc_lib.models import budgets as b
from pbc_lib.ui import ChartView, gbp, guard, number, pct, table_html

STYLE = {"description_width": "initial"}
SAVING_DEFAULTS = {"outpatients": -5, "planned": 0, "emergency": 0, "prescribing": 0}
# A Dropdown cannot hold None as a value (ipywidgets reads it as "nothing chosen"), so "no
# limit" is a 100% cut allowed, which the model treats as no limit at all.
NO_LIMIT = 1.0
MAX_CUTS = [("No limit", NO_LIMIT), ("1% a year", 0.01), ("3% a year", 0.03), ("5% a year", 0.05)]


def _percent_slider(value: float, description: str) -> widgets.IntSlider:
    return widgets.IntSlider(
        value=value,
        min=-20,
        max=20,
        step=1,
        description=description,
        readout_format="+d",
        style=STYLE,
        continuous_update=False,
        layout=widgets.Layout(width="440px", max_width="100%"),
    )


def _format_line(value: object, unit: str) -> str:
    """A statement line's value as a reader sees it: £, patients, or a percentage."""
    if unit == "£":
        return gbp(value)
    if unit == "patients":
        return number(value)
    if unit.startswith("fraction"):
        return pct(value, 2 if abs(float(value)) < 0.1 else 1)
    return str(value)


class PracticeBudget(App):
    """Practice, savings scenario, savings share and glide-path controls; two charts, the
    statement and its downloads."""

    summary = (
        "Practice budget view: one practice's indicative budget, forecast outturn, freed-up "
        "resources, DES and glide path, with a downloadable statement (interactive in Voilà)."
    )

    def __init__(self, pct_view: FairShares, practice_id: str = "WM001") -> None:
        super().__init__()
        if pct_view.failed is not None:
            raise RuntimeError("The fair-shares view above could not start, so neither can this.")
        self.pct_view = pct_view
        practices = pct_view.tables["practices"].sort_values("practice_name")
        options = [
            (f"{r.practice_name} ({r.practice_id}), {r.locality}", r.practice_id)
            for r in practices.itertuples()
        ]
        if practice_id not in dict((v, k) for k, v in options):
            raise b.BudgetError(f"There is no practice with the code {practice_id!r} in the data.")
        self.practice = widgets.Dropdown(
            options=options,
            value=practice_id,
            description="Practice",
            style=STYLE,
            layout=widgets.Layout(width="520px", max_width="100%"),
        )
        self.practice.add_class("pbc-control")
        self.savings = {
            g: _percent_slider(SAVING_DEFAULTS[g], f"{b.SAVING_GROUP_LABELS[g]}, change (%)")
            for g in b.SAVING_GROUPS
        }
        self.share = widgets.FloatSlider(
            value=b.SAVINGS_SHARE_2006,
            min=0.0,
            max=1.0,
            step=0.05,
            readout_format=".0%",
            description="Practice's share of an underspend",
            style=STYLE,
            continuous_update=False,
            layout=widgets.Layout(width="440px", max_width="100%"),
        )
        self.growth = widgets.FloatSlider(
            value=b.ALLOCATION_GROWTH,
            min=0.0,
            max=0.10,
            step=0.005,
            readout_format=".1%",
            description="Growth in the pot each year",
            style=STYLE,
            continuous_update=False,
            layout=widgets.Layout(width="440px", max_width="100%"),
        )
        self.years = widgets.IntSlider(
            value=5,
            min=1,
            max=b.MAX_PATH_YEARS,
            description="Years",
            style=STYLE,
            continuous_update=False,
        )
        self.max_cut = widgets.Dropdown(
            options=MAX_CUTS,
            value=NO_LIMIT,
            description="Largest cut allowed",
            style=STYLE,
        )
        self.statement_html, self.downloads = widgets.HTML(), widgets.HTML()
        self.path_text = widgets.HTML()
        self.components_view = ChartView(narrow_width=None)  # one size: see budget_charts
        self.path_view = ChartView(narrow_width=None)
        self.practice.observe(lambda _: self._on_practice(), names="value")
        for slider in self.savings.values():
            slider.observe(lambda _: self.refresh(path=False), names="value")
        self.share.observe(lambda _: self.refresh(path=False, chart=False), names="value")
        for control in (self.growth, self.years, self.max_cut):
            control.observe(lambda _: self.refresh(chart=False), names="value")
        pct_view.on_change(lambda: self.refresh(chart=False))
        self.widget = widgets.VBox(self._layout())
        self._on_practice()

    def _on_practice(self) -> None:
        """A new practice: redraw this view, and label the practice on the PCT chart."""
        self.refresh()
        self.pct_view.set_highlight(self.row["practice_name"])

    def _layout(self) -> list[widgets.Widget]:
        wrap = widgets.Layout(flex_flow="row wrap")
        return [
            self.practice,
            self.errors,
            widgets.HTML("<h3>Savings scenario for 2007/08</h3>"),
            widgets.HBox(list(self.savings.values()), layout=wrap),
            self.share,
            self.statement_html,
            self.components_view,
            self.downloads,
            widgets.HTML("<h3>Glide path toward fair share</h3>"),
            widgets.HBox([self.growth, self.years, self.max_cut], layout=wrap),
            self.path_text,
            self.path_view,
        ]

    # --- figures ---------------------------------------------------------------------------
    @property
    def row(self) -> pd.Series:
        tab = self.pct_view.table
        return tab.loc[tab["practice_id"] == self.practice.value].iloc[0]

    def path_settings(self) -> b.PathSettings:
        return b.PathSettings(
            lam=self.pct_view.lam.value,
            threshold=self.pct_view.threshold.value,
            growth=self.growth.value,
            years=self.years.value,
            max_cut=None if self.max_cut.value == NO_LIMIT else self.max_cut.value,
        )

    def forecast(self) -> pd.DataFrame:
        comps = self.pct_view.components
        mine = comps.loc[comps["practice_id"] == self.practice.value]
        changes = {g: s.value / 100 for g, s in self.savings.items()}
        return b.forecast_outturn(mine, changes)

    def path(self) -> pd.DataFrame:
        view = self.pct_view
        shares = view.targets.set_index("practice_id")["share"]
        return b.glide_path(view.historic, shares, self.path_settings())

    def statement(self) -> bs.Statement:
        row, out = self.row, self.forecast()
        budget, outturn = float(row["budget"]), float(out["outturn"].sum())
        inc = b.incentives(int(row["list_size"]), budget, outturn, self.share.value)
        years = b.years_to_band(self._path).get(self.practice.value)
        return bs.Statement(
            practice_id=row["practice_id"],
            practice_name=row["practice_name"],
            locality=row["locality"],
            list_size=int(row["list_size"]),
            components=out[["label", "activity", "unit_price", "cost", "outturn"]],
            share_of_pct=float(row["share"]),
            target=float(row["target"]),
            historic=float(row["historic"]),
            dft_before=float(row["dft_before"]),
            lam=self.pct_view.lam.value,
            threshold_text=dict((v, k) for k, v in THRESHOLDS)[self.pct_view.threshold.value],
            budget=budget,
            outturn=outturn,
            savings_share=self.share.value,
            freed_up=float(inc["paid"].iloc[0]),
            des_due=float(inc["due"].iloc[1]),
            des_paid=float(inc["paid"].iloc[1]),
            years_to_band=None if pd.isna(years) else float(years),
            path_text=self._path_sentence(years),
        )

    # --- refresh ---------------------------------------------------------------------------
    def refresh(self, path: bool = True, chart: bool = True) -> None:
        """Recompute and redraw: ``path`` the glide path, ``chart`` the component chart."""
        with guard(self.errors, what="updating the practice budget"):
            if path or not hasattr(self, "_path"):
                self._path = self.path()
                drawing, table, formats = self._path_chart()
                self.path_view.update(drawing, table, formats=formats)
            statement = self.statement()
            if chart:
                drawing, table, formats = self._components_chart(statement)
                self.components_view.update(drawing, table, formats=formats)
            self.statement_html.value = self._statement_summary(statement)
            self.path_text.value = f"<p>{html.escape(statement.path_text)}</p>"
            self.downloads.value = self._download_links(statement)

    def _path_sentence(self, years: float) -> str:
        s = self.path_settings()
        last = self._path.loc[self._path["step"] == self._path["step"].max()]
        outside = int((last["dft"].abs() > b.FAIR_SHARE_BAND + 1e-12).sum())
        moved = self._path.loc[self._path["step"] > 0]
        cut = max(0.0, -float(moved["change"].min()))
        mine = "is already within 10% of its fair share"
        if pd.isna(years):
            mine = f"is still more than 10% from its fair share after {s.years} years"
        elif years > 0:
            mine = f"comes within 10% of its fair share in {int(years)} year(s) and stays there"
        return (
            f"With the pot growing {s.growth:.1%} a year and a {s.lam:.0%} pace of change, this "
            f"practice {mine}. Across the PCT, {outside} of {last.shape[0]} practices are still "
            f"more than 10% away after {s.years} years, and the largest cash cut any practice "
            f"takes in one year is {cut:.1%}."
        )

    def _statement_summary(self, s: bs.Statement) -> str:
        gap = "over" if s.dft_before > 0 else "under"
        result = (
            f"an underspend of {gbp(s.variance)}, of which the practice may use "
            f"{pct(s.savings_share, 0)}: <strong>{gbp(s.freed_up)}</strong> of freed-up resources"
            if s.variance > 0
            else f"an overspend of {gbp(-s.variance)}, to be offset within three years"
        )
        des = (
            f"The Towards PBC DES would have paid {gbp(s.des_due)} (95p a patient), but not "
            "when freed-up resources exceed it, as here."
            if s.des_paid == 0 and s.des_due > 0
            else f"The Towards PBC DES pays {gbp(s.des_paid)} (95p a patient)."
        )
        return (
            f"<p><strong>{html.escape(s.practice_name)}</strong>: historic budget "
            f"{gbp(s.historic)} against a fair share of {gbp(s.target)}, {pct(abs(s.dft_before))} "
            f"{gap} target. Its indicative budget for 2007/08 is <strong>{gbp(s.budget)}</strong>. "
            f"On this scenario the forecast outturn is {gbp(s.outturn)}: {result}. {des}</p>"
        )

    def _download_links(self, s: bs.Statement) -> str:
        stem = f"indicative_budget_{s.practice_id}_2007-08"
        return (
            '<p class="pbc-downloads">Indicative budget statement: '
            + bs.data_link(bs.to_html(s), f"{stem}.html", "text/html", "download to print (HTML)")
            + " · "
            + bs.data_link(bs.to_csv(s), f"{stem}.csv", "text/csv", "download the figures (CSV)")
            + "</p>"
        )

    def headline_html(self) -> str:
        """The statement's figures as a plain table (what nbval compares)."""
        s = self.statement()
        lines = s.lines()
        shown = lines.assign(
            value=[_format_line(v, u) for v, u in zip(lines["value"], lines["unit"], strict=True)]
        )[["section", "item", "value"]].rename(
            columns={"section": "Section", "item": "Item", "value": "Value"}
        )
        return table_html(shown, caption=f"Indicative budget statement 2007/08: {s.practice_name}")

    # --- charts ----------------------------------------------------------------------------
    def _components_chart(self, s: bs.Statement):
        comps = s.components
        long = pd.concat(
            [
                pd.DataFrame(
                    {"label": comps["label"], "series": "Historic budget", "cost": comps["cost"]}
                ),
                pd.DataFrame(
                    {
                        "label": comps["label"],
                        "series": "Forecast outturn",
                        "cost": comps["outturn"],
                    }
                ),
            ],
            ignore_index=True,
        )
        chart = budget_charts.component_chart(
            long,
            title=f"{s.practice_name}: budget by component, 2007/08",
            subtitle="Historic budget (last year's activity at this year's prices) and forecast",
            source=SOURCE.format(year="2007/08"),
        )
        table = comps.rename(
            columns={
                "label": "Component",
                "activity": "2006/07 activity",
                "unit_price": "2007/08 price (£)",
                "cost": "Historic budget (£)",
                "outturn": "Forecast outturn (£)",
            }
        )
        formats = {
            "2006/07 activity": "number",
            "2007/08 price (£)": "gbp2",
            "Historic budget (£)": "gbp",
            "Forecast outturn (£)": "gbp",
        }
        return chart, table, formats

    def _path_chart(self):
        mine = self._path.loc[self._path["practice_id"] == self.practice.value]
        name = self.row["practice_name"]
        labels = ["Historic", *mine["year"].iloc[1:]]
        data = pd.DataFrame({"year": labels, "dft": mine["dft"].to_numpy()})
        chart = budget_charts.glide_chart(
            data,
            band=b.FAIR_SHARE_BAND,
            practice=name,
            title=f"{name}: distance from fair share, year by year",
            subtitle="The shaded band is within 10% of fair share",
            source=SOURCE.format(year="2007/08 onward"),
        )
        table = pd.DataFrame(
            {
                "Year": labels,
                "Budget (£)": mine["budget"].to_numpy(),
                "Fair share (£)": mine["target"].to_numpy(),
                "Distance from fair share": mine["dft"].to_numpy(),
                "Cash change on the year before": [float("nan"), *mine["change"].iloc[1:]],
            }
        )
        formats = {
            "Budget (£)": "gbp",
            "Fair share (£)": "gbp",
            "Distance from fair share": "pct",
            "Cash change on the year before": "pct",
        }
        return chart, table, formats
