"""Risk against list size: how much a year's spend can swing for a budget of N people, with the
chosen practice, its locality cluster and the PCTs marked, and what a stop-loss, multi-year
balancing and pooling do for one practice.

Figures come from :mod:`pbc_lib.models.budget_risk`, resampling the 20,000 people of
``patient_costs.csv``. Speed: every control change must redraw within 250 ms of kernel time, so

* the drawn curve has 13 list sizes from 1,000 to 400,000 at 3,000 simulated years each
  (``CURVE_SIZES``, ``CURVE_YEARS``), and curves are cached by (scope, stop-loss); the three
  curves with no stop-loss are made when the app starts;
* the marked holders and the protection steps use the model's full 10,000 years
  (``HOLDER_YEARS``), one list size at a time, cached by (scope, stop-loss, size);
* every simulation uses the same seed, so the same settings always give the same figures.
"""

from __future__ import annotations

import functools
import html
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

import ipywidgets as widgets
import numpy as np
import pandas as pd

from pbc_lib import data, risk_charts
from pbc_lib.apps.base import App
from pbc_lib.models import budget_risk as br
from pbc_lib.ui import ChartView, gbp, guard, number, pct, table_html

STYLE = {"description_width": "initial"}
WIDE = widgets.Layout(width="440px", max_width="100%")
SOURCE = (
    "Synthetic data for the fictional Wyndmoor PCT: patient_costs.csv and practices.csv, 2006/07"
)
CRUMP_SOURCE = "Crump et al., BMJ 1991;302:1582"
MERGED_PCT = "Wyndmoor PCT"  # the PCT the three predecessors merged into (fictional)
SCOPES = {  # model scope -> (label for the list, words for a sentence)
    "fundholding": (
        "Fundholding: elective inpatient, day case and outpatient care",
        "elective inpatient, day-case and outpatient care",
    ),
    "elective_inpatient": (
        "Elective inpatient care only (nearest to Crump's surgical procedures)",
        "elective inpatient care",
    ),
    "all_hospital": ("All hospital care, emergencies included", "all hospital care"),
}
NO_CAP = 0  # a slider cannot hold None: 0 means no stop-loss
STOP_LOSS_OPTIONS = [("none", NO_CAP)] + [
    (f"£{v:,}", v)
    for v in (1_000, 2_000, 3_000, 4_000, 5_000, 6_000, 8_000, 10_000, 15_000, 20_000)
]
CURVE_SIZES = tuple(
    int(float(f"{n:.2g}")) for n in np.geomspace(*risk_charts.X_DOMAIN, 13)
)  # 1,000, 1,600, 2,700 ... 400,000 (two significant figures)
CURVE_YEARS = 3_000  # simulated years per size on the drawn curve
HOLDER_YEARS = br.DEFAULT_YEARS  # simulated years for the marked holders and the steps
SEED = br.DEFAULT_SEED
MAX_BALANCE_YEARS = 5
MAX_POOL = 10  # most practices in one pool (the largest locality has 9)
CACHE_SIZE = 256  # curves; holders, steps and their frames (each a few KB)
THRESHOLDS = (
    br.COMMUNITY_FUNDHOLDING_MIN_LIST_1996,
    br.FUNDHOLDING_MIN_LIST_1996,
    br.FUNDHOLDING_MIN_LIST_1991,
)


class RiskAppError(ValueError):
    """A control of the risk app is outside what it accepts."""


@dataclass(frozen=True)
class Measure:
    """A risk measure: its name in the list, axis title, model column and scale to a fraction."""

    label: str
    axis: str
    column: str
    scale: float
    title: str


MEASURES = {
    "bad_year": Measure(
        "A bad year: the 1-in-20 overspend",
        "1-in-20 overspend (% of budget)",
        "overspend_p95_pct",
        0.01,
        "A bad year's overspend",
    ),
    "spread": Measure(
        "Spread of spend, 5th to 95th percentile (Crump's measure)",
        "5th-95th percentile spread (% of budget)",
        "spread_5_95_pct",
        0.01,
        "How far a year's spend can swing",
    ),
    "over5": Measure(
        "Chance of overspending by more than 5%",
        "Chance of a 5%+ overspend (%)",
        "p_overspend_5pct",
        1.0,
        "Chance of overspending by more than 5%",
    ),
    "over10": Measure(
        "Chance of overspending by more than 10%",
        "Chance of a 10%+ overspend (%)",
        "p_overspend_10pct",
        1.0,
        "Chance of overspending by more than 10%",
    ),
}


# --- data ----------------------------------------------------------------------------------------
@functools.cache
def scope_costs(scope: str) -> np.ndarray:
    """Each sampled person's annual cost (£) in a budget scope, from ``patient_costs.csv``."""
    return br.scope_costs(data.load_patient_costs(), scope)


def cap_of(stop_loss: int) -> float | None:
    """The model's cap for a slider value: None for ``NO_CAP``."""
    return None if stop_loss == NO_CAP else float(stop_loss)


def cap_words(stop_loss: int) -> str:
    return "no stop-loss" if stop_loss == NO_CAP else f"a £{stop_loss:,} stop-loss"


def holders_of(practices: pd.DataFrame, practice_id: str) -> pd.DataFrame:
    """The four budget holders a practice belongs to: itself, its locality cluster, its
    predecessor PCT and the merged PCT. Columns ``kind``, ``label``, ``name``, ``n_people``."""
    rows = practices.loc[practices["practice_id"] == practice_id]
    if rows.empty:
        raise RiskAppError(f"There is no practice with the code {practice_id!r} in the data.")
    row = rows.iloc[0]
    sizes = practices["list_size"]
    locality = int(sizes[practices["locality"] == row["locality"]].sum())
    pct_size = int(sizes[practices["predecessor_pct"] == row["predecessor_pct"]].sum())
    found = [
        ("Practice", str(row["practice_name"]), int(row["list_size"])),
        ("Locality cluster", f"{row['locality']} cluster", locality),
        ("PCT before the merger", str(row["predecessor_pct"]), pct_size),
        ("Merged PCT", MERGED_PCT, int(sizes.sum())),
    ]
    shown = [n if k != "Merged PCT" else f"{n}, merged" for k, n, _ in found]
    return pd.DataFrame(
        {
            "kind": [k for k, _, _ in found],
            "name": [n for _, n, _ in found],
            "n_people": [s for _, _, s in found],
            "label": [f"{n} ({s:,})" for n, (_, _, s) in zip(shown, found, strict=True)],
        }
    )


def pool_members(practices: pd.DataFrame, practice_id: str, k: int) -> pd.DataFrame:
    """The practice and ``k - 1`` partners: first its own locality (by code, from the practice
    on), then the rest of its predecessor PCT, then the other PCTs."""
    if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= MAX_POOL:
        raise RiskAppError(f"a pool has 1 to {MAX_POOL} practices; got {k!r}.")
    p = practices.sort_values("practice_id")
    me = p.loc[p["practice_id"] == practice_id]
    if me.empty:
        raise RiskAppError(f"There is no practice with the code {practice_id!r} in the data.")
    locality, pct_name = me.iloc[0]["locality"], me.iloc[0]["predecessor_pct"]
    local = list(p.loc[p["locality"] == locality, "practice_id"])
    i = local.index(practice_id)
    same_pct = (p["predecessor_pct"] == pct_name) & (p["locality"] != locality)
    order = local[i:] + local[:i] + list(p.loc[same_pct, "practice_id"])
    order += list(p.loc[p["predecessor_pct"] != pct_name, "practice_id"])
    return p.set_index("practice_id").loc[order[:k]].reset_index()


def _join(parts: list[str]) -> str:
    """Protection step label: "stop-loss", "pool of 4" -> "Stop-loss + pool of 4"."""
    text = " + ".join(parts)
    return text[:1].upper() + text[1:]


class _Cache(OrderedDict):
    """A small least-recently-used cache: ``get(key, make)``."""

    def get_or_make(self, key: tuple, make: Callable[[], object]) -> object:
        if key in self:
            self.move_to_end(key)
            return self[key]
        value = self[key] = make()
        while len(self) > CACHE_SIZE:
            self.popitem(last=False)
        return value


# --- the app -------------------------------------------------------------------------------------
class RiskBySize(App):
    """Practice, scope, measure and stop-loss controls for the risk curve; balancing and pooling
    controls for the practice's protection steps."""

    summary = (
        "Risk against list size: how far a year's spend can stray from budget for a practice, a "
        "locality cluster and a PCT, with a stop-loss, multi-year balancing and pooling "
        "(interactive in Voilà)."
    )

    def __init__(self, practice_id: str = "WM001") -> None:
        super().__init__()
        self.practices = data.load_practices()
        self._curves, self._holders = _Cache(), _Cache()
        options = [
            (f"{r.practice_name} ({r.practice_id}), {r.list_size:,} patients", r.practice_id)
            for r in self.practices.sort_values("practice_name").itertuples()
        ]
        holders_of(self.practices, practice_id)  # a plain error for an unknown practice
        self.practice = widgets.Dropdown(
            options=options,
            value=practice_id,
            description="Practice",
            style=STYLE,
            layout=widgets.Layout(width="520px", max_width="100%"),
        )
        self.practice.add_class("pbc-control")
        self.scope = widgets.Dropdown(
            options=[(label, key) for key, (label, _) in SCOPES.items()],
            value="fundholding",
            description="Budget covers",
            style=STYLE,
            layout=widgets.Layout(width="520px", max_width="100%"),
        )
        self.measure = widgets.Dropdown(
            options=[(m.label, key) for key, m in MEASURES.items()],
            value="bad_year",
            description="Measure",
            style=STYLE,
            layout=widgets.Layout(width="520px", max_width="100%"),
        )
        self.stop_loss = widgets.SelectionSlider(
            options=STOP_LOSS_OPTIONS,
            value=int(br.STOP_LOSS_1994_GBP),
            description="Stop-loss per patient a year",
            style=STYLE,
            continuous_update=False,
            layout=WIDE,
        )
        self.years = widgets.IntSlider(
            value=br.BALANCE_YEARS,
            min=1,
            max=MAX_BALANCE_YEARS,
            description="Years to balance the budget",
            style=STYLE,
            continuous_update=False,
            layout=WIDE,
        )
        self.pool = widgets.IntSlider(
            value=1,
            min=1,
            max=MAX_POOL,
            description="Practices pooling a budget",
            style=STYLE,
            continuous_update=False,
            layout=WIDE,
        )
        self.text = widgets.HTML()
        self.protection_text = widgets.HTML()
        self.curve_view = ChartView(narrow_width=None)
        self.protection_view = ChartView(narrow_width=None)
        for control in (self.practice, self.scope, self.measure, self.stop_loss):
            control.observe(lambda _: self.refresh(), names="value")
        for control in (self.years, self.pool):
            control.observe(lambda _: self.refresh(curve=False), names="value")
        for scope in SCOPES:  # the no-stop-loss curves, ready for any scope
            self.curve(scope, NO_CAP)
        self.widget = widgets.VBox(self._layout())
        self.refresh()

    def _layout(self) -> list[widgets.Widget]:
        return [
            self.practice,
            self.scope,
            self.measure,
            self.stop_loss,
            self.errors,
            self.text,
            self.curve_view,
            widgets.HTML("<h3>What protects one practice</h3>"),
            widgets.HBox([self.years, self.pool], layout=widgets.Layout(flex_flow="row wrap")),
            self.protection_text,
            self.protection_view,
        ]

    def clear_cache(self, curves: bool = True) -> None:
        """Forget the simulated holders and steps and (with ``curves``) every curve but the
        start-up ones, so the next change pays for its simulations in full (for the benchmark)."""
        if curves:
            for key in [k for k in self._curves if k[1] != NO_CAP]:
                del self._curves[key]
        self._holders.clear()

    # --- figures ---------------------------------------------------------------------------
    def curve(self, scope: str, stop_loss: int) -> pd.DataFrame:
        """The risk curve (``budget_risk.risk_curve`` over ``CURVE_SIZES``), cached."""
        return self._curves.get_or_make(
            (scope, stop_loss),
            lambda: br.risk_curve(
                scope_costs(scope), CURVE_SIZES, CURVE_YEARS, cap_of(stop_loss), seed=SEED
            ),
        )

    def holder_risk(self, scope: str, stop_loss: int, n_people: int) -> pd.Series:
        """One list size's risk at the full ``HOLDER_YEARS``, cached."""
        return self._holders.get_or_make(
            ("holder", scope, stop_loss, int(n_people)),
            lambda: br.risk_curve(
                scope_costs(scope), [int(n_people)], HOLDER_YEARS, cap_of(stop_loss), seed=SEED
            ).iloc[0],
        )

    def balanced_risk(self, scope: str, stop_loss: int, n_people: int, years: int) -> pd.Series:
        """The risk of a ``years``-year rolling balance (``budget_risk.rolling_balance``)."""
        return self._holders.get_or_make(
            ("balanced", scope, stop_loss, int(n_people), years),
            lambda: br.rolling_balance(
                scope_costs(scope), int(n_people), years, HOLDER_YEARS, cap_of(stop_loss), seed=SEED
            ).iloc[1],
        )

    def pool_risk(self, total: int) -> pd.Series:
        """The risk of a pool of practices with ``total`` patients in all, for one year.

        A pool's spend is the sum of its members' spends; each member's patients are drawn
        independently from the same PCT-wide costs, so the sum has exactly the distribution of
        one budget of ``total`` people (``budget_risk.pooled_risk`` simulates the members one by
        one and gives the same answer; the tests check it). One simulation instead of one per
        member keeps the pooling slider within its time budget.
        """
        return self.holder_risk(self.scope.value, self.stop_loss.value, total)

    def _mine(self) -> pd.DataFrame:
        """``holders_of`` the chosen practice, cached (it does not depend on the settings)."""
        pid = self.practice.value
        return self._holders.get_or_make(("mine", pid), lambda: holders_of(self.practices, pid))

    def pool_of(self, k: int) -> pd.DataFrame:
        """``pool_members`` of the chosen practice, cached."""
        pid = self.practice.value
        return self._holders.get_or_make(
            ("pool", pid, k), lambda: pool_members(self.practices, pid, k)
        )

    def holders(self) -> pd.DataFrame:
        """The marked holders with their risk at the current scope and stop-loss."""
        key = ("holders", self.practice.value, self.scope.value, self.stop_loss.value)
        return self._holders.get_or_make(key, self._holders_now)

    def _holders_now(self) -> pd.DataFrame:
        h = self._mine()
        risks = pd.DataFrame(
            [self.holder_risk(self.scope.value, self.stop_loss.value, n) for n in h["n_people"]]
        ).reset_index(drop=True)
        return pd.concat([h, risks.drop(columns=["n_people"])], axis=1)

    def protection(self) -> pd.DataFrame:
        """The practice's risk as protections are added: one row per step, with the measures."""
        key = (
            "steps",
            self.practice.value,
            self.scope.value,
            self.stop_loss.value,
            self.years.value,
            self.pool.value,
        )
        return self._holders.get_or_make(key, self._protection_now)

    def _protection_now(self) -> pd.DataFrame:
        scope, stop_loss, w = self.scope.value, self.stop_loss.value, self.years.value
        n = int(self._mine().iloc[0]["n_people"])
        steps = [("No protection", n, self.holder_risk(scope, NO_CAP, n))]
        first = [] if stop_loss == NO_CAP else ["stop-loss"]
        if first:
            steps.append(("Stop-loss", n, self.holder_risk(scope, stop_loss, n)))
        if w > 1:
            rolled = self.balanced_risk(scope, stop_loss, n, w)
            steps.append((_join([*first, f"{w}-year balance"]), n, rolled))
        k = self.pool.value
        if k > 1:
            total = int(self.pool_of(k)["list_size"].sum())
            steps.append((_join([*first, f"pool of {k}"]), total, self.pool_risk(total)))
            if w > 1:
                both = self.balanced_risk(scope, stop_loss, total, w)
                steps.append(("All three" if first else "Pool + balance", total, both))
        rows = [
            {"step": s, "people": p, **dict(r.drop(labels=["n_people"], errors="ignore"))}
            for s, p, r in steps
        ]
        return pd.DataFrame(rows)

    # --- refresh ---------------------------------------------------------------------------
    def refresh(self, curve: bool = True, protection: bool = True) -> None:
        """Recompute and redraw: ``curve`` the risk curve, ``protection`` the steps chart."""
        with guard(self.errors, what="updating the risk-by-size view"):
            holders = self.holders()
            steps = self.protection() if protection else None
            if curve:
                self.curve_view.update(*self._curve_chart(holders)[:2], formats=CURVE_FORMATS)
                self.text.value = self._summary_html(holders)
            if steps is not None:
                chart, table = self._protection_chart(steps)
                self.protection_view.update(chart, table, formats=STEP_FORMATS)
                self.protection_text.value = self._protection_html(steps)

    # --- words -----------------------------------------------------------------------------
    def _summary_html(self, holders: pd.DataFrame) -> str:
        me, cluster, merged = holders.iloc[0], holders.iloc[1], holders.iloc[3]
        x = scope_costs(self.scope.value)
        per_head = float(br.practice_part(x, cap_of(self.stop_loss.value)).mean())
        words = SCOPES[self.scope.value][1]
        cap_part = "" if self.stop_loss.value == NO_CAP else " up to the stop-loss"
        return (
            f"<p><strong>{html.escape(me['name'])}</strong> has {number(me['n_people'])} "
            f"patients. A budget for their {words}, with {cap_words(self.stop_loss.value)}, "
            f"would be <strong>{gbp(me['budget_gbp'])}</strong> a year (the PCT's average cost "
            f"per head{cap_part}, {gbp(per_head, 2)}, times the list). One year in 20 the "
            "practice would overspend it by more than "
            f"<strong>{pct(me['overspend_p95_pct'] / 100)}</strong> "
            f"({gbp(me['overspend_p95_pct'] / 100 * me['budget_gbp'])}); the chance of "
            f"overspending by more than 5% in a year is {pct(me['p_overspend_5pct'])}. Its "
            f"locality, {html.escape(cluster['name'])} ({number(cluster['n_people'])} people), "
            f"would overspend by more than {pct(cluster['overspend_p95_pct'] / 100)} one year in "
            f"20, and the merged PCT ({number(merged['n_people'])}) by more than "
            f"{pct(merged['overspend_p95_pct'] / 100)}.</p>"
        )

    def _protection_html(self, steps: pd.DataFrame) -> str:
        first, last = steps.iloc[0], steps.iloc[-1]
        pool = ""
        if self.pool.value > 1:
            members = self.pool_of(self.pool.value)
            pool = (
                f" The pool: {html.escape(', '.join(members['practice_name']))} "
                f"({number(members['list_size'].sum())} patients)."
            )
        if len(steps) == 1:
            return (
                "<p>Choose a stop-loss, more years to balance or a pool of practices to see how "
                "much each protects the practice.</p>"
            )
        return (
            f"<p>On its own with no protection, one year in 20 the practice overspends by more "
            f"than {pct(first['overspend_p95_pct'] / 100)}; with everything chosen here "
            f"({html.escape(last['step'].lower())}), by more than "
            f"{pct(last['overspend_p95_pct'] / 100)}. In this model years are independent of "
            "each other and every practice's patients are drawn from the same PCT-wide costs "
            "(assumptions): real high spend persists from year to year (Kelly et al., 2016), so "
            f"balancing over several years helps less than shown.{pool}</p>"
        )

    # --- charts ----------------------------------------------------------------------------
    def _curve_chart(self, holders: pd.DataFrame):
        scope, stop_loss, m = self.scope.value, self.stop_loss.value, MEASURES[self.measure.value]
        frames = []
        names = [("No stop-loss", NO_CAP)]
        if stop_loss != NO_CAP:
            names.append((f"£{stop_loss:,} stop-loss", stop_loss))
        for name, cap in names:
            c = self.curve(scope, cap)
            frames.append(
                pd.DataFrame(
                    {
                        "n_people": c["n_people"],
                        "value": c[m.column] * m.scale,
                        "series": name,
                        "budget": c["budget_gbp"],
                    }
                )
            )
        lines = pd.concat(frames, ignore_index=True)
        lines_words = (
            "Blue line: no stop-loss"
            if stop_loss == NO_CAP
            else f"Blue line: £{stop_loss:,} stop-loss; grey: none"
        )
        marks = pd.DataFrame(
            {
                "n_people": holders["n_people"],
                "value": holders[m.column] * m.scale,
                "label": holders["label"],
            }
        )
        crump = None
        source = SOURCE
        if self.measure.value == "spread":
            crump = pd.DataFrame(
                {
                    "n_people": [br.CRUMP_LIST_SMALL, br.CRUMP_LIST_LARGE, br.CRUMP_DISTRICT],
                    "value": [
                        br.CRUMP_SPREAD_SMALL,
                        br.CRUMP_SPREAD_LARGE,
                        br.CRUMP_SPREAD_DISTRICT,
                    ],
                }
            )
            source = f"{SOURCE}; diamonds: {CRUMP_SOURCE} (surgical procedures only)"
        chart = risk_charts.risk_curve_chart(
            lines,
            marks,
            measure_title=m.axis,
            thresholds=THRESHOLDS,
            crump=crump,
            title=f"{m.title}, by size of budget",
            subtitle=(
                f"Budget for {SCOPES[scope][1]}. {lines_words}. Dashed: the 3,000, 5,000 and "
                "9,000 fundholding thresholds"
            ),
            source=source,
        )
        table = pd.concat(
            [
                pd.DataFrame(
                    {
                        "Budget holder": holders["label"],
                        "Series": "Marked holder",
                        "People": holders["n_people"],
                        "Budget (£ a year)": holders["budget_gbp"],
                        m.axis: holders[m.column] * m.scale,
                    }
                ),
                pd.DataFrame(
                    {
                        "Budget holder": "Curve point",
                        "Series": lines["series"],
                        "People": lines["n_people"],
                        "Budget (£ a year)": lines["budget"],
                        m.axis: lines["value"],
                    }
                ),
            ],
            ignore_index=True,
        )
        return chart, table.rename(columns={m.axis: "Value (see chart)"}), m

    def _protection_chart(self, steps: pd.DataFrame):
        m = MEASURES[self.measure.value]
        values = steps[m.column] * m.scale
        name = self._mine().iloc[0]["name"]
        chart = risk_charts.protection_chart(
            pd.DataFrame({"step": steps["step"], "value": values}),
            measure_title=m.axis,
            title=f"{name}: what protects its budget",
            subtitle=f"Budget for {SCOPES[self.scope.value][1]}; {cap_words(self.stop_loss.value)}",
            source=f"{SOURCE}; simulated, {HOLDER_YEARS:,} years a step",
        )
        table = pd.DataFrame(
            {
                "Step": steps["step"],
                "People": steps["people"],
                "Budget (£ a year)": steps["budget_gbp"],
                "1-in-20 overspend (% of budget)": steps["overspend_p95_pct"] / 100,
                "Chance of a 5%+ overspend": steps["p_overspend_5pct"],
                "Chance of a 10%+ overspend": steps["p_overspend_10pct"],
            }
        )
        return chart, table

    # --- the default state as a plain table --------------------------------------------------
    def headline(self) -> pd.DataFrame:
        """The marked holders' figures for the current settings."""
        h = self.holders()
        return pd.DataFrame(
            {
                "Budget holder": h["kind"] + ": " + h["name"],
                "People": h["n_people"],
                "Budget (£ a year)": h["budget_gbp"],
                "1-in-20 overspend (% of budget)": h["overspend_p95_pct"] / 100,
                "1-in-20 overspend (£)": h["overspend_p95_pct"] / 100 * h["budget_gbp"],
                "Chance of a 5%+ overspend": h["p_overspend_5pct"],
                "Chance of a 10%+ overspend": h["p_overspend_10pct"],
            }
        )

    def headline_html(self) -> str:
        caption = (
            f"Risk by size of budget: {SCOPES[self.scope.value][1]}, "
            f"{cap_words(self.stop_loss.value)}, one year ({HOLDER_YEARS:,} simulated years)"
        )
        return table_html(self.headline(), HEADLINE_FORMATS, caption=caption)


CURVE_FORMATS = {"People": "number", "Budget (£ a year)": "gbp", "Value (see chart)": "pct"}
STEP_FORMATS = {
    "People": "number",
    "Budget (£ a year)": "gbp",
    "1-in-20 overspend (% of budget)": "pct",
    "Chance of a 5%+ overspend": "pct",
    "Chance of a 10%+ overspend": "pct",
}
HEADLINE_FORMATS = {
    "People": "number",
    "Budget (£ a year)": "gbp",
    "1-in-20 overspend (% of budget)": "pct",
    "1-in-20 overspend (£)": "gbp",
    "Chance of a 5%+ overspend": "pct",
    "Chance of a 10%+ overspend": "pct",
}
