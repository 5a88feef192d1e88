"""Fair shares, the PCT view: every practice's historic budget against its weighted-capitation
target, and what a pace-of-change rule does to the spread and to each practice's cash.

Controls: the age weighting and the weight on additional need (the formula), the pace of change
λ and the threshold beyond which practices move. Figures come from the synthetic data set through
``pbc_lib.models.budgets``; the national comparison is Nuffield's analysis of 8,238 practices.
Other apps (the practice view) can listen for changes with :meth:`FairShares.on_change`.
"""

from __future__ import annotations

from collections.abc import Callable

import ipywidgets as widgets
import pandas as pd

from pbc_lib import budget_charts, data
from pbc_lib.apps.base import App
from pbc_lib.models import budgets as b
from pbc_lib.ui import ChartView, gbp, guard, number, pct, table_html

SOURCE = (
    "Synthetic data for the fictional Wyndmoor PCT (activity, prices, prescribing, population), "
    "{year} budgets"
)
NATIONAL_LABEL = "England, c. 2010 (Nuffield)"
THRESHOLDS = [
    ("Every practice", 0.0),
    ("Practices more than 5% away", 0.05),
    ("Practices more than 10% away (DH guidance)", b.FAIR_SHARE_BAND),
    ("Practices more than 20% away", 0.20),
]
STYLE = {"description_width": "initial"}


def load_tables() -> dict[str, pd.DataFrame]:
    """The validated tables the budget apps need."""
    return data.load_tables(*data.BUDGET_TABLES)


class FairShares(App):
    """Formula and pace-of-change controls; distance-from-target and spread charts."""

    summary = (
        "Fair shares, PCT view: every practice's historic budget against its weighted-capitation "
        "target, and what a pace-of-change rule does (interactive in Voilà)."
    )

    def __init__(self, lam: float = 0.25, threshold: float = b.FAIR_SHARE_BAND) -> None:
        super().__init__()
        t = self.tables = load_tables()
        self.rx_uplift = b.prescribing_growth(t["prescribing"], t["list_sizes"], b.ACTIVITY_YEAR)
        self.components = b.budget_components(
            t["activity"], t["prices"], t["prescribing"], prescribing_uplift=self.rx_uplift
        )
        self.historic = b.historic_budgets(self.components)
        self._listeners: list[Callable[[], None]] = []
        self.highlight: str | None = None
        self.age_weighting = widgets.Dropdown(
            options=list(b.AGE_WEIGHTINGS),
            description="Age weighting",
            style=STYLE,
            layout=widgets.Layout(width="520px", max_width="100%"),
        )
        self.age_weighting.add_class("pbc-control")
        self.need_weight = widgets.FloatSlider(
            value=1.0,
            min=0.0,
            max=1.0,
            step=0.1,
            description="Weight on additional need",
            readout_format=".0%",
            style=STYLE,
            continuous_update=False,
        )
        self.lam = widgets.FloatSlider(
            value=lam,
            min=0.0,
            max=1.0,
            step=0.05,
            description="Pace of change (λ)",
            readout_format=".0%",
            style=STYLE,
            continuous_update=False,
        )
        self.threshold = widgets.Dropdown(
            options=THRESHOLDS,
            value=threshold,
            description="Move",
            style=STYLE,
            layout=widgets.Layout(width="420px", max_width="100%"),
        )
        self.weights_table, self.summary_html = widgets.HTML(), widgets.HTML()
        # One drawing each, sized for desktop and phone alike (see charts.ONE_SIZE_WIDTH).
        self.distance_view = ChartView(narrow_width=None)
        self.spread_view = ChartView(narrow_width=None)
        for control in (self.age_weighting, self.need_weight):
            control.observe(lambda _: self.refresh(), names="value")
        for control in (self.lam, self.threshold):
            control.observe(lambda _: self.refresh(formula=False), names="value")
        formula = widgets.VBox([self.age_weighting, self.weights_table, self.need_weight])
        pace = widgets.HBox([self.lam, self.threshold], layout=widgets.Layout(flex_flow="row wrap"))
        self.widget = widgets.VBox(
            [
                widgets.HTML("<h3>The formula</h3>"),
                formula,
                widgets.HTML("<h3>Pace of change for 2007/08</h3>"),
                pace,
                self.errors,
                self.summary_html,
                self.distance_view,
                self.spread_view,
            ]
        )
        self.refresh()

    # --- state -----------------------------------------------------------------------------
    @property
    def weights(self) -> dict[str, float]:
        return b.AGE_WEIGHTINGS[self.age_weighting.value]

    def on_change(self, callback: Callable[[], None]) -> None:
        """Call ``callback()`` after every change of formula or pace of change."""
        self._listeners.append(callback)

    def refresh(self, formula: bool = True) -> None:
        """Recompute targets (if the formula changed) and budgets; redraw; tell the listeners."""
        with guard(self.errors, what="updating the fair-shares view"):
            if formula or not hasattr(self, "targets"):
                self.targets = b.capitation_targets(
                    self.tables["practices"],
                    self.tables["population"],
                    self.historic.sum(),
                    weights=self.weights,
                    need_weight=self.need_weight.value,
                )
                self.weights_table.value = self._weights_html()
            self.table = b.pct_budgets(
                self.tables["practices"],
                self.historic,
                self.targets,
                self.lam.value,
                self.threshold.value,
            )
            self.summary_html.value = self._summary_html()
            _show(self.distance_view, *self._distance_chart())
            if formula or self.spread_view.chart is None:
                _show(self.spread_view, *self._spread_chart())
            for listener in self._listeners:
                listener()

    def set_highlight(self, practice_name: str | None) -> None:
        """Label one practice on the distance chart (the practice view calls this)."""
        with guard(self.errors, what="highlighting a practice"):
            self.highlight = practice_name
            _show(self.distance_view, *self._distance_chart())

    # --- text and tables -------------------------------------------------------------------
    def spread(self) -> pd.DataFrame:
        """Share of practices beyond 5, 10 and 20% from target: Wyndmoor's historic budgets
        against England's (the move is on the distance chart, so a change of pace redraws one
        chart, not two)."""
        before = b.spread_summary(self.table.set_index("practice_id")["dft_before"])
        rows = []
        for label, column in (
            ("Wyndmoor, historic budgets", "share"),
            (NATIONAL_LABEL, "national_share"),
        ):
            frame = before
            for band, share in zip(frame["band"], frame[column], strict=True):
                rows.append(
                    {"band_label": f"More than {band:.0%} off", "group": label, "share": share}
                )
        return pd.DataFrame(rows)

    def headline(self) -> pd.DataFrame:
        """The PCT's headline figures for the current settings, as a plain table."""
        tab = self.table
        band = b.FAIR_SHARE_BAND
        losers, gainers = tab.loc[tab["change"] < -0.5], tab.loc[tab["change"] > 0.5]
        rows = [
            ("Practices", number(len(tab))),
            ("Budget pot for 2007/08 (historic budgets)", gbp(tab["historic"].sum())),
            ("Prescribing uplift on 2006/07 (PCT growth per head)", pct(self.rx_uplift, 2)),
            (
                "More than 10% from fair share, historic",
                number((tab["dft_before"].abs() > band).sum()),
            ),
            (
                "More than 10% from fair share, after the move",
                number((tab["dft_after"].abs() > band).sum()),
            ),
            ("Practices gaining / losing cash", f"{len(gainers)} / {len(losers)}"),
            ("Largest cut", pct(-tab["change_pct"].min()) if len(losers) else "none"),
            ("Largest rise", pct(tab["change_pct"].max()) if len(gainers) else "none"),
        ]
        return pd.DataFrame(rows, columns=["Measure", "Value"])

    def headline_html(self) -> str:
        threshold = dict((v, k) for k, v in THRESHOLDS)[self.threshold.value]
        caption = (
            f"Wyndmoor PCT, 2007/08. Age weighting: {self.age_weighting.value}; weight on need "
            f"{self.need_weight.value:.0%}; pace of change {self.lam.value:.0%}, applied to: "
            f"{threshold}"
        )
        return table_html(self.headline(), caption=caption)

    def _weights_html(self) -> str:
        w = pd.DataFrame(
            {"Age band": list(self.weights), "Weight (16-44 = 1)": list(self.weights.values())}
        )
        return table_html(
            w.T.reset_index().set_axis(["", *w["Age band"]], axis=1).iloc[1:],
            caption="Cost weight per patient by age band, as used in the formula",
            formats=dict.fromkeys(w["Age band"], "number2"),
        )

    def _summary_html(self) -> str:
        tab, band = self.table, b.FAIR_SHARE_BAND
        over = int((tab["dft_before"] > band).sum())
        under = int((tab["dft_before"] < -band).sum())
        after = int((tab["dft_after"].abs() > band).sum())
        losers, gainers = tab.loc[tab["change"] < -0.5], tab.loc[tab["change"] > 0.5]
        worst = tab.loc[tab["change_pct"].idxmin()]
        cut = (
            f" The largest cut is {pct(-worst['change_pct'])} ({worst['practice_name']})."
            if len(losers)
            else ""
        )
        return (
            f"<p>The pot is <strong>{gbp(tab['historic'].sum())}</strong>: every practice's "
            f"2006/07 activity at 2007/08 prices plus its prescribing. On historic budgets "
            f"<strong>{over}</strong> practices are more than 10% over their fair share and "
            f"<strong>{under}</strong> more than 10% under. After this year's move "
            f"<strong>{after}</strong> of {len(tab)} are more than 10% away. "
            f"{len(gainers)} practices gain {gbp(gainers['change'].sum())} in all and "
            f"{len(losers)} lose the same amount: the pot does not change.{cut}</p>"
        )

    # --- charts ----------------------------------------------------------------------------
    def _distance_chart(self):
        tab = self.table
        chart = budget_charts.distance_chart(
            tab,
            band=b.FAIR_SHARE_BAND,
            highlight=self.highlight,
            title="How far each practice is from its fair share, 2007/08",
            subtitle=f"Bars: historic budget; diamonds: after a {self.lam.value:.0%} move",
            source=SOURCE.format(year="2007/08"),
        )
        table = tab.sort_values("dft_before")[
            ["practice_name", "locality", "historic", "target", "dft_before", "budget", "change"]
        ].rename(
            columns={
                "practice_name": "Practice",
                "locality": "Locality",
                "historic": "Historic budget (£)",
                "target": "Fair share (£)",
                "dft_before": "Distance from fair share",
                "budget": "Budget after move (£)",
                "change": "Change (£)",
            }
        )
        formats = {
            "Historic budget (£)": "gbp",
            "Fair share (£)": "gbp",
            "Distance from fair share": "pct",
            "Budget after move (£)": "gbp",
            "Change (£)": "gbp",
        }
        return chart, table, formats

    def _spread_chart(self):
        spread = self.spread()
        chart = budget_charts.spread_chart(
            spread,
            title="Practices far from fair share: Wyndmoor against England",
            subtitle="Share of practices more than 5%, 10% and 20% above or below target",
            source=(
                f"{SOURCE.format(year='2007/08')}; {b.NUFFIELD_SOURCE} (acute spend against target)"
            ),
        )
        table = spread.rename(
            columns={"band_label": "Distance", "group": "Group", "share": "Share of practices"}
        )
        return chart, table, {"Share of practices": "pct0"}


def _show(view: ChartView, chart, table: pd.DataFrame, formats: dict[str, str]) -> None:
    view.update(chart, table, formats=formats)
