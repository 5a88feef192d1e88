"""Commissioning configurations: who holds the budget for the PCT's population, what it costs to
manage, and how much financial risk each budget holder carries; and how many PbC groups a PCT must
deal with before and after a merger.

Figures come from :mod:`pbc_lib.models.transaction_costs` (configurations, management costs)
and :mod:`pbc_lib.models.budget_risk` (risk), for the fundholding scope (elective inpatient, day
case and outpatient care). Only the fundholders' 2% allowance is a published figure; the PCT's
running cost is derived from the claimed merger saving and the locality cost is an assumption, so
both are controls the user can change.

Speed: the risk each holder carries does not depend on the cost controls, so it is simulated once,
when the app starts (10,000 years, the model's default). A cost control then re-runs only the
cost arithmetic: the same ``transaction_costs.configuration_table`` on a flat cost table with the
PCT's mean cost per head, which gives identical budgets and management costs and no risk to
simulate.
"""

from __future__ import annotations

import dataclasses

import ipywidgets as widgets
import numpy as np
import pandas as pd

from pbc_lib import data, risk_charts
from pbc_lib.apps.base import App
from pbc_lib.apps.risk_by_size import MERGED_PCT, SEED, scope_costs
from pbc_lib.models import budget_risk as br
from pbc_lib.models import transaction_costs as tc
from pbc_lib.ui import ChartView, gbp, guard, number, pct, table_html

STYLE = {"description_width": "initial"}
WIDE = widgets.Layout(width="520px", max_width="100%")
SCOPE = "fundholding"
YEARS = br.DEFAULT_YEARS
K = 0.05  # overspend threshold for the "holders overspending" count
SOURCE = (
    "Synthetic data for the fictional Wyndmoor PCT: practices.csv and patient_costs.csv, 2006/07; "
    "costs: Hansard, 6 Dec 1994 (2% allowance); digitalhealth.net, May 2006 (£250m saving); "
    "other costs are assumptions"
)
RELATIONSHIP_SOURCE = "Synthetic data for the fictional Wyndmoor PCT: practices.csv, 2006/07"
NAMES = {  # model configuration -> how the page names it
    "single-practice fundholders": "Single-practice fundholders",
    "locality clusters": "Locality clusters",
    "three PCTs of ~100,000": "Three PCTs of ~100,000",
    "one PCT of ~300,000": "One PCT of ~300,000",
}
PCT_COST_OPTIONS = [(f"£{v / 1e6:.2f}m", float(v)) for v in range(500_000, 3_000_001, 250_000)]
PCT_COST_OPTIONS.insert(5, (f"£{tc.PCT_FIXED_COST_GBP / 1e6:.2f}m", tc.PCT_FIXED_COST_GBP))


LOCALITY_COST_OPTIONS = [(f"£{v:,}", v) for v in range(0, 300_001, 10_000)]


class ConfigurationError(ValueError):
    """A cost control is outside what the configurations app accepts."""


def cost_models(allowance: float, locality_cost: float, pct_cost: float) -> dict[str, tc.CostModel]:
    """The model's default cost models with the three controllable figures replaced."""
    checks = (
        ("the fundholders' allowance", allowance, 0.0, 0.05),
        ("a locality cluster's running cost", locality_cost, 0.0, 1e6),
        ("a PCT's running cost", pct_cost, 0.0, 1e7),
    )
    for name, value, low, high in checks:
        if not (isinstance(value, int | float) and low <= value <= high):
            raise ConfigurationError(
                f"{name} must be between {low:,g} and {high:,g}; got {value!r}."
            )
    d = tc.DEFAULT_COSTS
    replace = dataclasses.replace
    return {
        "single-practice fundholders": replace(
            d["single-practice fundholders"], share_of_budget=allowance, overhead_gbp=pct_cost
        ),
        "locality clusters": replace(
            d["locality clusters"], fixed_gbp=locality_cost, overhead_gbp=pct_cost
        ),
        "three PCTs of ~100,000": replace(d["three PCTs of ~100,000"], fixed_gbp=pct_cost),
        "one PCT of ~300,000": replace(d["one PCT of ~300,000"], fixed_gbp=pct_cost),
    }


def relationships(practices: pd.DataFrame) -> pd.DataFrame:
    """PbC groups each PCT deals with: practices and locality clusters, per predecessor PCT and
    for the merged PCT. Columns ``pct``, ``practices``, ``localities``."""
    per = practices.groupby("predecessor_pct", sort=True).agg(
        practices=("practice_id", "nunique"), localities=("locality", "nunique")
    )
    merged = pd.DataFrame(
        {
            "practices": [practices["practice_id"].nunique()],
            "localities": [practices["locality"].nunique()],
        },
        index=[f"{MERGED_PCT}, merged"],
    )
    return pd.concat([per, merged]).rename_axis("pct").reset_index()


class Configurations(App):
    """Configuration chooser and cost controls; the cost-against-risk chart and the chart of PbC
    relationships per PCT."""

    summary = (
        "Commissioning configurations: management cost per head against the financial risk each "
        "budget holder carries, and the PbC groups a merged PCT must deal with (interactive in "
        "Voilà)."
    )

    def __init__(self) -> None:
        super().__init__()
        self.practices = data.load_practices()
        costs = scope_costs(SCOPE)
        self.flat = np.array([costs.mean()])  # same budgets, no risk: for the cost arithmetic
        self.risk = tc.configuration_table(
            self.practices, costs, tc.DEFAULT_COSTS, K, YEARS, SEED
        ).set_index("configuration")
        counts = self.risk["holders"]
        self.chosen = widgets.Dropdown(
            options=[(f"{NAMES[c]} ({counts[c]} budget holders)", c) for c in tc.CONFIGURATIONS],
            value="locality clusters",
            description="Configuration",
            style=STYLE,
            layout=WIDE,
        )
        self.allowance = widgets.FloatSlider(
            value=tc.FUNDHOLDING_ALLOWANCE_SHARE,
            min=0.0,
            max=0.05,
            step=0.0025,
            readout_format=".2%",
            description="Fundholders' allowance",
            style=STYLE,
            continuous_update=False,
            layout=WIDE,
        )
        self.locality_cost = widgets.SelectionSlider(
            options=LOCALITY_COST_OPTIONS,
            value=int(tc.LOCALITY_FIXED_COST_GBP),
            description="Cluster cost a year (assumed)",
            style=STYLE,
            continuous_update=False,
            layout=WIDE,
        )
        self.pct_cost = widgets.SelectionSlider(
            options=PCT_COST_OPTIONS,
            value=tc.PCT_FIXED_COST_GBP,
            description="PCT cost a year (derived)",
            style=STYLE,
            continuous_update=False,
            layout=WIDE,
        )
        self.text, self.relationship_text = widgets.HTML(), widgets.HTML()
        self.view = ChartView(narrow_width=None)
        self.relationship_view = ChartView(narrow_width=None)
        self.chosen.observe(lambda _: self.refresh(costs=False), names="value")
        for control in (self.allowance, self.locality_cost, self.pct_cost):
            control.observe(lambda _: self.refresh(), names="value")
        self.widget = widgets.VBox(
            [
                self.chosen,
                self.allowance,
                self.locality_cost,
                self.pct_cost,
                self.errors,
                self.text,
                self.view,
                widgets.HTML("<h3>How many PbC groups a PCT deals with</h3>"),
                self.relationship_text,
                self.relationship_view,
            ]
        )
        self.refresh()
        self._draw_relationships()

    # --- figures ---------------------------------------------------------------------------
    def table(self) -> pd.DataFrame:
        """The model's configuration table: management costs for the current controls, risk
        from the start-up simulation (it does not depend on the costs)."""
        models = cost_models(self.allowance.value, self.locality_cost.value, self.pct_cost.value)
        costs = tc.configuration_table(self.practices, self.flat, models, K, br.MIN_YEARS, SEED)
        costs = costs.set_index("configuration")
        cost_columns = [
            "holder_costs_gbp",
            "overhead_gbp",
            "management_cost_gbp",
            "management_per_head_gbp",
            "management_pct_of_budget",
        ]
        out = self.risk.copy()
        out[cost_columns] = costs.loc[out.index, cost_columns]
        return out.reset_index()

    def refresh(self, costs: bool = True) -> None:
        """Recompute the costs (if a cost control moved) and redraw the chart."""
        with guard(self.errors, what="updating the configurations view"):
            if costs or not hasattr(self, "_table"):
                self._table = self.table()
            chart, table = self._chart()
            self.view.update(chart, table, formats=TABLE_FORMATS)
            self.text.value = self._summary_html()

    # --- words -----------------------------------------------------------------------------
    def _summary_html(self) -> str:
        row = self._table.set_index("configuration").loc[self.chosen.value]
        sizes = (
            f"of {number(row['population_min'])} to {number(row['population_max'])} people"
            if row["holders"] > 1
            else f"of {number(row['population_max'])} people"
        )
        return (
            f"<p><strong>{NAMES[self.chosen.value]}</strong>: {number(row['holders'])} budget "
            f"holder(s) {sizes}. Management costs "
            f"<strong>{gbp(row['management_cost_gbp'])}</strong> a year, "
            f"{gbp(row['management_per_head_gbp'], 2)} a head "
            f"({pct(row['management_pct_of_budget'] / 100)} of the budget). One year in 20 the "
            "median holder overspends by more than "
            f"<strong>{pct(row['overspend_p95_pct_median'] / 100)}</strong> and the riskiest by "
            f"more than {pct(row['overspend_p95_pct_worst'] / 100)}; in a typical year "
            f"{number(row['expected_holders_overspending'], 2)} of its holders overspend by more "
            "than 5% (the expected number).</p>"
        )

    # --- charts ----------------------------------------------------------------------------
    def _chart(self):
        t = self._table
        df = pd.DataFrame(
            {
                "configuration": t["configuration"].map(NAMES),
                "cost_per_head": t["management_per_head_gbp"],
                "risk_median": t["overspend_p95_pct_median"] / 100,
                "risk_worst": t["overspend_p95_pct_worst"] / 100,
            }
        )
        chart = risk_charts.configuration_chart(
            df,
            highlight=NAMES[self.chosen.value],
            y_title="1-in-20 overspend (% of budget)",
            title="Management cost against risk",
            subtitle="Dot: the median budget holder; line: up to the riskiest; ring: chosen",
            source=SOURCE,
        )
        table = pd.DataFrame(
            {
                "Configuration": df["configuration"],
                "Budget holders": t["holders"],
                "Smallest holder (people)": t["population_min"],
                "Largest holder (people)": t["population_max"],
                "Management cost (£ a year)": t["management_cost_gbp"],
                "Management cost (£ a head)": t["management_per_head_gbp"],
                "Management cost (% of budget)": t["management_pct_of_budget"] / 100,
                "1-in-20 overspend, median holder": df["risk_median"],
                "1-in-20 overspend, riskiest holder": df["risk_worst"],
                "Holders overspending by 5%+ in a year (expected)": t[
                    "expected_holders_overspending"
                ],
            }
        )
        return chart, table

    def _draw_relationships(self) -> None:
        r = relationships(self.practices)
        long = pd.concat(
            [
                pd.DataFrame(
                    {
                        "pct": r["pct"],
                        "series": "Practices commissioning alone",
                        "count": r["practices"],
                    }
                ),
                pd.DataFrame(
                    {"pct": r["pct"], "series": "Locality clusters", "count": r["localities"]}
                ),
            ],
            ignore_index=True,
        )
        chart = risk_charts.relationships_chart(
            long,
            title="PbC groups each PCT deals with",
            subtitle="Three PCTs before the Oct 2006 merger, one after",
            source=RELATIONSHIP_SOURCE,
        )
        table = r.rename(
            columns={
                "pct": "PCT",
                "practices": "Practices commissioning alone",
                "localities": "Locality clusters",
            }
        )
        self.relationship_view.update(chart, table)
        before, merged = r.iloc[:-1], r.iloc[-1]
        self.relationship_text.value = (
            f"<p>Before the merger each PCT dealt with {number(before['practices'].min())} to "
            f"{number(before['practices'].max())} practices in "
            f"{number(before['localities'].min())} to {number(before['localities'].max())} "
            "localities. The merged PCT must deal with "
            f"<strong>{number(merged['practices'])}</strong> practices, or "
            f"<strong>{number(merged['localities'])}</strong> locality clusters if practices "
            "commission together.</p>"
        )

    # --- the default state as a plain table --------------------------------------------------
    def headline(self) -> pd.DataFrame:
        """Every configuration's figures for the current settings."""
        return self._chart()[1]

    def headline_html(self) -> str:
        caption = (
            f"Commissioning configurations for the fundholding scope: allowance "
            f"{pct(self.allowance.value)} of budget, locality cluster "
            f"{gbp(self.locality_cost.value)} a year, PCT {gbp(self.pct_cost.value)} a year"
        )
        return table_html(self.headline(), TABLE_FORMATS, caption=caption)


TABLE_FORMATS = {
    "Budget holders": "number",
    "Smallest holder (people)": "number",
    "Largest holder (people)": "number",
    "Management cost (£ a year)": "gbp",
    "Management cost (£ a head)": "gbp2",
    "Management cost (% of budget)": "pct",
    "1-in-20 overspend, median holder": "pct",
    "1-in-20 overspend, riskiest holder": "pct",
    "Holders overspending by 5%+ in a year (expected)": "number2",
}
