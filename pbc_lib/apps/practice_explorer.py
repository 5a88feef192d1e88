"""Practice explorer: one practice of the fictional Wyndmoor PCT against the PCT as a whole.

Choose a locality (the natural PbC cluster), a practice and a year; see the practice's headline
facts, its list size among all practices, its age-sex pyramid over the PCT's, and its activity per
1,000 patients beside the PCT average. Figures come from the synthetic data set (``data/``) through
``pbc_lib.models.practice_profile``.
"""

from __future__ import annotations

import html

import ipywidgets as widgets
import pandas as pd

from pbc_lib import charts, data
from pbc_lib.apps.base import App
from pbc_lib.models import practice_profile as pp
from pbc_lib.ui import ChartView, gbp, guard, number, pct, table_html

DEFAULT_YEAR = "2006/07"
# Plot widths (px) that keep each drawing at ~410-470 px with its labels, like the other workbooks'
# one-size charts (charts.ONE_SIZE_WIDTH): a 375 px phone shrinks them by a fifth at most.
RANKING_WIDTH = 260  # 48 practice names
RATES_WIDTH = 240  # long measure names
RANK_FORMATS = {"list": ",.0f", "need": ".2f", "older": ".1f", "rate": ",.0f"}
RANK_FILES = {
    "list": "practices.csv",
    "need": "practices.csv",
    "older": "population.csv",
    "rate": "activity.csv, list_sizes.csv",
}
DATA_SOURCE = (
    "Synthetic data for the fictional Wyndmoor PCT (PbC Workbooks data set, {files}), {year}"
)


class PracticeExplorer(App):
    """Locality, practice and year controls; facts, list-size, age and activity charts."""

    summary = (
        "Practice explorer: choose a locality and a practice to compare its list, age "
        "profile and activity per 1,000 patients with the PCT (interactive in Voilà)."
    )

    def __init__(self, practice_id: str | None = None, year: str = DEFAULT_YEAR) -> None:
        super().__init__()
        self.practices = data.load_practices()
        self.population = data.load_population()
        self.list_sizes = data.load_list_sizes()
        self.activity = data.load_activity()
        self.prescribing = data.load_prescribing()
        practice_id = practice_id or self.practices["practice_id"].iloc[0]
        home = self.practices.loc[self.practices["practice_id"] == practice_id, "locality"]
        if home.empty:
            raise pp.ProfileError(
                f"There is no practice with the code {practice_id!r} in the data."
            )
        self.locality = widgets.Dropdown(
            options=sorted(self.practices["locality"].unique()),
            value=home.iloc[0],
            description="Locality",
            style={"description_width": "initial"},
        )
        self.locality.add_class("pbc-control")
        self.practice = widgets.Dropdown(
            options=self._practice_options(home.iloc[0]),
            value=practice_id,
            description="Practice",
            style={"description_width": "initial"},
        )
        self.year = widgets.Dropdown(
            options=sorted(self.activity["financial_year"].unique()),
            value=year,
            description="Year",
            style={"description_width": "initial"},
            layout=widgets.Layout(width="170px"),
        )
        self.rank_by = widgets.Dropdown(
            options=list(pp.RANKINGS),
            value="List size",
            description="Rank every practice by",
            style={"description_width": "initial"},
            layout=widgets.Layout(width="440px", max_width="100%"),
        )
        self.facts = widgets.HTML()
        # One drawing per chart, read on a laptop and on a phone alike (charts.ONE_SIZE_WIDTH): a
        # second, phone-sized drawing doubled every redraw and the bytes of every page view.
        self.list_view, self.pyramid_view, self.rates_view = (
            ChartView(narrow_width=None) for _ in range(3)
        )
        self.locality.observe(self._on_locality, names="value")
        self._quiet = False  # True while the locality is swapping the practice list
        self.practice.observe(lambda _: self._quiet or self.refresh(), names="value")
        self.year.observe(lambda _: self.refresh(year_only=True), names="value")
        self.rank_by.observe(lambda _: self.refresh_ranking(), names="value")
        controls = widgets.HBox(
            [self.locality, self.practice, self.year], layout=widgets.Layout(flex_flow="row wrap")
        )
        self.widget = widgets.VBox(
            [
                controls,
                self.errors,
                self.facts,
                self.rank_by,
                self.list_view,
                self.pyramid_view,
                self.rates_view,
            ]
        )
        self.refresh()

    def _practice_options(self, locality: str) -> list[tuple[str, str]]:
        rows = pp.practices_in_locality(self.practices, locality)
        return [(f"{r.practice_name} ({r.practice_id})", r.practice_id) for r in rows.itertuples()]

    def _on_locality(self, change: dict) -> None:
        with guard(self.errors, what="choosing a locality"):
            options = self._practice_options(change["new"])
            self._quiet = True
            try:
                self.practice.options = options
                self.practice.value = options[0][1]
            finally:
                self._quiet = False
            self.refresh()

    @property
    def practice_id(self) -> str:
        return self.practice.value

    def refresh(self, year_only: bool = False) -> None:
        """Recompute the figures for the chosen practice and year, and redraw.

        A change of year redraws only what depends on the year: the activity chart, and the
        ranking when it ranks a rate.
        """
        with guard(self.errors, what="updating the practice explorer"):
            facts = pp.practice_facts(self.practices, self.population, self.practice_id)
            name = facts["practice_name"]
            if not year_only:
                self.facts.value = self._facts_html(facts)
                self.pyramid_view.update(*self._pyramid_chart(name))
            if not year_only or pp.RANKINGS[self.rank_by.value][0] == "rate":
                self.list_view.update(*self._ranking_chart(name))
            self.rates_view.update(*self._rates_chart(name))

    def refresh_ranking(self) -> None:
        """Redraw only the ranking of every practice (after a change of measure)."""
        with guard(self.errors, what="ranking the practices"):
            facts = pp.practice_facts(self.practices, self.population, self.practice_id)
            self.list_view.update(*self._ranking_chart(facts["practice_name"]))

    def headline(self) -> pd.DataFrame:
        """The chosen practice's headline figures beside the PCT's, as a plain table."""
        facts = pp.practice_facts(self.practices, self.population, self.practice_id)
        rx = pp.prescribing_per_head(
            self.prescribing, self.list_sizes, self.practice_id, self.year.value
        )
        rates = pp.activity_rates(self.activity, self.list_sizes, self.practice_id, self.year.value)
        rows = [
            (
                "Registered patients (2006/07)",
                number(facts["list_size"]),
                f"{number(self.practices['list_size'].sum())} in all",
            ),
            ("Aged 65 and over", pct(facts["older_share"]), pct(facts["pct_older_share"])),
            (
                "Additional-need index",
                f"{facts['need_index']:.2f}",
                f"{facts['pct_need_index']:.2f}",
            ),
            (
                "Prescribing items per patient",
                f"{rx['practice_items']:.1f}",
                f"{rx['pct_items']:.1f}",
            ),
            ("Prescribing cost per patient", gbp(rx["practice_cost"]), gbp(rx["pct_cost"])),
        ]
        rows += [
            (f"{r.measure} per 1,000", number(r.practice_rate), number(r.pct_rate))
            for r in rates.itertuples()
        ]
        return pd.DataFrame(rows, columns=["Measure", facts["practice_name"], "PCT average"])

    def headline_html(self) -> str:
        caption = f"Headline figures, {self.year.value}. " + DATA_SOURCE.format(
            files="practices, population, activity, prescribing", year=self.year.value
        )
        return table_html(self.headline(), caption=caption)

    def _facts_html(self, f: dict) -> str:
        e = html.escape
        return (
            f"<p><strong>{e(f['practice_name'])}</strong> ({e(f['practice_id'])}), "
            f"{e(f['locality'])} locality, formerly part of {e(f['predecessor_pct'])}. "
            f"{number(f['list_size'])} registered patients: number {f['list_rank']} of "
            f"{f['practices']} practices by size. {pct(f['older_share'])} of its patients are "
            f"aged 65 or over (PCT {pct(f['pct_older_share'])}); additional-need index "
            f"{f['need_index']:.2f} (PCT average {f['pct_need_index']:.2f}).</p>"
        )

    def _ranking_chart(self, name: str):
        measure, year = self.rank_by.value, self.year.value
        kind, _, axis = pp.RANKINGS[measure]
        ranked = pp.practice_ranking(
            self.practices, self.population, self.activity, self.list_sizes, measure, year
        )
        when = year if kind == "rate" else "2006/07"
        chart = charts.ranked_bar(
            ranked,
            "value",
            "practice_name",
            highlight=name,
            value_title=axis,
            title=f"{measure}: every practice in Wyndmoor PCT, {when}",
            subtitle=f"{name} highlighted",
            value_format=RANK_FORMATS[kind],
            source=DATA_SOURCE.format(files=RANK_FILES[kind], year=when),
            width=RANKING_WIDTH,
        )
        table = ranked.rename(
            columns={"practice_name": "Practice", "locality": "Locality", "value": axis}
        )[["Practice", "Locality", axis]]
        return chart, table.round(2)

    def _pyramid_chart(self, name: str):
        shares = pp.age_sex_shares(self.population, self.practice_id, name)
        chart = charts.age_pyramid(
            shares,
            name,
            pp.PCT_LABEL,
            title=f"Age and sex of {name}'s patients",
            subtitle="Bars: the practice; outlines: Wyndmoor PCT as a whole",
            source=DATA_SOURCE.format(files="population.csv", year="2006/07"),
            width=charts.ONE_SIZE_WIDTH,
        )
        table = shares.assign(share=(shares["share"] * 100).round(1)).rename(
            columns={
                "age_band": "Age band",
                "sex": "Sex",
                "share": "Share of list (%)",
                "group": "Group",
            }
        )
        return chart, table

    def _rates_chart(self, name: str):
        year = self.year.value
        rates = pp.activity_rates(self.activity, self.list_sizes, self.practice_id, year)
        rates = rates.assign(unit="per 1,000 patients a year")
        chart = charts.rate_comparison(
            rates,
            name,
            title=f"Hospital activity per 1,000 patients, {year}",
            subtitle=f"{name} against the Wyndmoor PCT average",
            source=DATA_SOURCE.format(files="activity.csv, list_sizes.csv", year=year),
            width=RATES_WIDTH,
        )
        table = (
            rates[["measure", "practice_count", "practice_rate", "pct_rate"]]
            .rename(
                columns={
                    "measure": "Measure",
                    "practice_count": "Practice count",
                    "practice_rate": "Practice per 1,000",
                    "pct_rate": "PCT per 1,000",
                }
            )
            .round(1)
        )
        return chart, table
