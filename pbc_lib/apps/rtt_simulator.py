"""The 18-week simulator: referrals, outpatient and admitted capacity and the lists already waiting,
week by week for two years from April 2007, against the 90% (admitted) and 95% (non-admitted)
standards due by December 2008.

The model is :func:`pbc_lib.models.waiting_list.simulate_rtt`: first come, first served at
outpatients, then a quarter of patients (25.5% of completed pathways were admitted, DH 2011 [D])
wait again for admission with their clock still running. 20 runs give a band. Under strict first
come, first served everyone seen in the same week waited about as long, so a single week's share
within 18 weeks flips between 0 and 100%: the app shows the share over each four-week period (as
a monthly return counted it) and the share of the patients still waiting.

A second chart shows why lists explode as demand approaches capacity: the list after two years
against load, simulated and from queueing theory, computed once for the starting capacity.
"""

from __future__ import annotations

import functools
from datetime import date

import ipywidgets as widgets
import numpy as np
import pandas as pd

from pbc_lib import data, demand_charts
from pbc_lib.apps.base import App
from pbc_lib.models import demand as dm
from pbc_lib.models import waiting_list as wl
from pbc_lib.ui import ChartView, guard, number, pct, table_html

STYLE = {"description_width": "initial"}
WIDE = {"width": "440px", "max_width": "100%"}
START = date(2007, 4, 2)  # week 1: the first week of April 2007 (illustrative start)
DEADLINE = date(2008, 12, 31)  # [V] the 18-week pledge was for delivery by December 2008
DEADLINE_WEEK = (DEADLINE - START).days // 7 + 1  # week 92 holds 31 Dec 2008
WEEKS, RUNS, SEED, PERIOD = 104, 20, 2008, 4
# Illustrative starting values [U]: a list a little short of capacity, with a backlog.
OP_CAPACITY, IP_CAPACITY = 160, 41
OP_START, IP_START, WAITED = 1_500, 400, 8
LOADS = (0.5, 0.7, 0.8, 0.9, 0.95, 0.98, 1.0, 1.02, 1.05)
LOAD_RUNS = 40
# One line each where possible: every extra line of text costs time on each redraw.
SOURCE = "Simulation, 20 runs; demand: activity.csv 2006/07 × 15%"
EXPLOSION_SOURCE = "Simulation, 40 runs; theory: Kingman (NHSRwaitinglist)"
LIST_SERIES = ("All waiting", "Waiting for a first appointment", "Waiting for admission")
WITHIN_SERIES = (
    "Admitted pathways (4-weekly)",
    "Non-admitted pathways (4-weekly)",
    "Still waiting (end of period)",
)


def default_demand() -> int:
    """Referrals a week for one specialty: the PCT's GP referrals in 2006/07 ÷ 52 × the 15% in a
    musculoskeletal/orthopaedic scope (an assumption, ``MSK_SCOPE_SHARE`` [U])."""
    act = data.load_activity()
    rows = act.loc[(act["financial_year"] == "2006/07") & (act["pod"] == "gp_referral")]
    return round(rows["activity"].sum() / 52 * dm.MSK_SCOPE_SHARE)


@functools.cache
def explosion(capacity: float) -> pd.DataFrame:
    """The list after two years, from empty, at each load in ``LOADS`` (cached).

    Columns: load, demand, capacity, list_mean, list_low, list_high (5% and 95% of the runs'
    lists at week 104), list_year2 (the mean list over weeks 53-104 and all runs) and
    steady_list, the steady-state mean from queueing theory as
    :func:`pbc_lib.models.waiting_list.list_size_by_load` gives it (infinite from load 1).
    """
    theory = wl.list_size_by_load(capacity, loads=LOADS, weeks=1, runs=1, seed=SEED)
    rows = []
    for load in LOADS:
        r = wl.simulate_waiting_list(load * capacity, capacity, WEEKS, runs=LOAD_RUNS, seed=SEED)
        end = r.list_size[:, -1]
        low, high = np.quantile(end, [0.05, 0.95])
        year2 = float(r.list_size[:, 52:].mean())
        rows.append(
            {"list_mean": end.mean(), "list_low": low, "list_high": high, "list_year2": year2}
        )
    return pd.concat(
        [theory[["load", "demand", "capacity", "steady_list"]], pd.DataFrame(rows)], axis=1
    )


def _long(frame: pd.DataFrame, x: str, names: tuple[str, ...], keys: tuple[str, ...]):
    """Columns ``key``, ``key_low``, ``key_high`` for each key, stacked long with a series name."""
    return pd.concat(
        [
            pd.DataFrame(
                {
                    x: frame[x].to_numpy(),
                    "series": name,
                    "value": frame[key].to_numpy(),
                    "low": frame[f"{key}_low"].to_numpy(),
                    "high": frame[f"{key}_high"].to_numpy(),
                }
            )
            for name, key in zip(names, keys, strict=True)
        ],
        ignore_index=True,
    )


def _int_slider(value, low, high, step, description):
    return widgets.IntSlider(
        value=value,
        min=low,
        max=high,
        step=step,
        description=description,
        style=STYLE,
        continuous_update=False,
        layout=widgets.Layout(**WIDE),
    )


class RttSimulator(App):
    """Demand, capacity and starting-list controls; week-by-week and list-explosion charts."""

    summary = (
        "18-week simulator: referrals, capacity and the lists already waiting, week by week, "
        "against the 90% and 95% standards (interactive in Voilà)."
    )

    def __init__(self) -> None:
        super().__init__()
        self.start_demand = default_demand()
        self.demand = _int_slider(self.start_demand, 20, 400, 2, "Referrals a week")
        self.op_capacity = _int_slider(OP_CAPACITY, 20, 500, 2, "Outpatient capacity a week")
        self.ip_capacity = _int_slider(IP_CAPACITY, 5, 150, 1, "Admissions a week (capacity)")
        self.op_start = _int_slider(OP_START, 0, 10_000, 100, "Already waiting: outpatients")
        self.ip_start = _int_slider(IP_START, 0, 3_000, 50, "Already waiting: admission")
        self.waited = _int_slider(WAITED, 1, 30, 1, "Their average wait so far (weeks)")
        self.holidays = widgets.Checkbox(
            value=True,
            description="Holiday weeks: 60% of capacity (assumed)",
            style=STYLE,
            layout=widgets.Layout(width="auto"),
        )
        self.text = widgets.HTML()
        self.weeks_view = ChartView(narrow_width=None)
        self.explosion_view = ChartView(narrow_width=None)
        for control in self.controls():
            control.observe(lambda _: self.refresh(), names="value")
        wrap = widgets.Layout(flex_flow="row wrap")
        self.widget = widgets.VBox(
            [
                widgets.HBox([self.demand, self.op_capacity, self.ip_capacity], layout=wrap),
                widgets.HBox([self.op_start, self.ip_start, self.waited], layout=wrap),
                self.holidays,
                self.errors,
                self.text,
                self.weeks_view,
                self.explosion_view,
            ]
        )
        self.refresh()

    def controls(self) -> list[widgets.Widget]:
        return [
            self.demand,
            self.op_capacity,
            self.ip_capacity,
            self.op_start,
            self.ip_start,
            self.waited,
            self.holidays,
        ]

    # --- figures ---------------------------------------------------------------------------
    def capacities(self) -> tuple[np.ndarray, np.ndarray]:
        """Outpatient and admitted capacity week by week (holiday weeks cut if chosen)."""
        share = wl.HOLIDAY_CAPACITY if self.holidays.value else 1.0
        return tuple(
            wl.weekly_capacity(float(c.value), WEEKS, holiday_capacity=share)
            for c in (self.op_capacity, self.ip_capacity)
        )  # type: ignore[return-value]

    def simulate(self) -> wl.RttResult:
        op, ip = self.capacities()
        return wl.simulate_rtt(
            float(self.demand.value),
            op,
            ip,
            WEEKS,
            op_start=wl.steady_start_list(self.op_start.value, self.waited.value),
            ip_start=wl.steady_start_list(self.ip_start.value, self.waited.value),
            runs=RUNS,
            seed=SEED,
        )

    def periods(self, result: wl.RttResult) -> pd.DataFrame:
        """Each four-week period: pooled shares within 18 weeks (median and band over runs)."""
        rows = []
        incomplete = result.incomplete_within
        for end in range(PERIOD, WEEKS + 1, PERIOD):
            first = end - PERIOD + 1
            adm = result.pooled_within("admitted", first, end)
            non = result.pooled_within("non_admitted", first, end)
            still = incomplete[:, end - 1]
            row = {"week": end}
            for name, values in (("admitted", adm), ("non_admitted", non), ("waiting", still)):
                values = values[np.isfinite(values)]
                if values.size:
                    low, mid, high = np.quantile(values, [0.05, 0.5, 0.95])
                else:
                    low = mid = high = np.nan
                row |= {name: mid, f"{name}_low": low, f"{name}_high": high}
            row["admitted_met"] = float(np.mean(adm >= wl.ADMITTED_STANDARD))
            row["non_admitted_met"] = float(np.mean(non >= wl.NON_ADMITTED_STANDARD))
            rows.append(row)
        return pd.DataFrame(rows)

    def load(self) -> float:
        """Referrals over the average weekly outpatient capacity (holiday weeks included)."""
        op, _ = self.capacities()
        return self.demand.value / max(float(op[:52].mean()), 1e-9)

    # --- refresh ---------------------------------------------------------------------------
    def refresh(self) -> None:
        """Simulate two years and redraw the week-by-week chart; the explosion chart's curve is
        fixed, so it is redrawn only when its marker (the load) moves."""
        with guard(self.errors, what="updating the 18-week simulator"):
            result = self.simulate()
            weekly, periods = result.table(), self.periods(result)
            views = [self.weeks_view]
            charts = [self._weeks_chart(weekly, periods)]
            load = self.load()
            if load != getattr(self, "_drawn_load", None):
                views.append(self.explosion_view)
                charts.append(self._explosion_chart())
            for view, (drawing, table, formats) in zip(views, charts, strict=True):
                view.update(drawing, table, formats=formats)
            self.result, self.weekly, self.period_table = result, weekly, periods
            self._drawn_load = load
            self.text.value = self._summary_html()

    # --- words -----------------------------------------------------------------------------
    def deadline_row(self) -> pd.Series:
        """The four-week period holding 31 December 2008 (weeks 89-92)."""
        end = -(-DEADLINE_WEEK // PERIOD) * PERIOD
        return self.period_table.set_index("week").loc[end]

    def _summary_html(self) -> str:
        load, w, d = self.load(), self.weekly, self.deadline_row()
        op, _ = self.capacities()
        verdict = "the list grows without limit" if load >= 1 else "the list can shrink"
        return (
            f"<p>Demand is <strong>{number(self.demand.value)}</strong> referrals a week against "
            f"outpatient capacity averaging {number(op[:52].mean(), 1)} a week over a year: a "
            f"load of <strong>{pct(load, 0)}</strong>, so {verdict}. All waiting: "
            f"{number(w['total_list'].iloc[0])} at the end of week 1, "
            f"{number(w['total_list'].iloc[-1])} after two years (median of {RUNS} runs).</p>"
            f"<p>In the four weeks to the end of December 2008 (weeks {DEADLINE_WEEK - 3} to "
            f"{DEADLINE_WEEK}): admitted pathways <strong>{pct(d['admitted'], 0)}</strong> "
            f"within 18 weeks (standard 90%, met in {pct(d['admitted_met'], 0)} of runs); "
            f"non-admitted <strong>{pct(d['non_admitted'], 0)}</strong> (standard 95%, met in "
            f"{pct(d['non_admitted_met'], 0)} of runs); of those still waiting, "
            f"{pct(d['waiting'], 0)} have waited under 18 weeks.</p>"
        )

    def headline(self) -> pd.DataFrame:
        """The starting scenario's key figures as a plain table."""
        w, d = self.weekly, self.deadline_row()
        rows = [
            ("Referrals a week", number(self.demand.value)),
            ("Load (demand ÷ average outpatient capacity)", pct(self.load(), 1)),
            ("All waiting, end of week 1 (median)", number(w["total_list"].iloc[0])),
            ("All waiting, end of week 52 (median)", number(w["total_list"].iloc[51])),
            ("All waiting, end of week 104 (median)", number(w["total_list"].iloc[-1])),
            ("Admitted within 18 weeks, Dec 2008 period (median)", pct(d["admitted"], 0)),
            ("Runs meeting the 90% admitted standard then", pct(d["admitted_met"], 0)),
            ("Non-admitted within 18 weeks, Dec 2008 period (median)", pct(d["non_admitted"], 0)),
            ("Runs meeting the 95% non-admitted standard then", pct(d["non_admitted_met"], 0)),
            ("Still waiting under 18 weeks, end of Dec 2008 period", pct(d["waiting"], 0)),
        ]
        return pd.DataFrame(rows, columns=["Measure", "Value"])

    def headline_html(self) -> str:
        caption = (
            f"18-week simulator, starting values ({RUNS} runs, seed {SEED}): outpatient capacity "
            f"{self.op_capacity.value} and admissions {self.ip_capacity.value} a week; "
            f"{number(self.op_start.value)} and {number(self.ip_start.value)} already waiting"
        )
        return table_html(self.headline(), caption=caption)

    # --- charts ----------------------------------------------------------------------------
    def _weeks_chart(self, weekly: pd.DataFrame, periods: pd.DataFrame):
        """The lists and the share within 18 weeks, one drawing on one week axis."""
        columns = ("total_list", "op_list", "ip_list")
        lists = _long(weekly, "week", LIST_SERIES, columns)
        keys = ("admitted", "non_admitted", "waiting")
        within = _long(periods, "week", WITHIN_SERIES, keys).dropna(subset=["value"])
        within["low"] = within["low"].fillna(within["value"])
        within["high"] = within["high"].fillna(within["value"])
        standards = pd.DataFrame(
            {
                "series": WITHIN_SERIES[:2],
                "value": [wl.ADMITTED_STANDARD, wl.NON_ADMITTED_STANDARD],
                "label": ["90% admitted standard", "95% non-admitted standard"],
            }
        )
        chart = demand_charts.rtt_chart(
            lists,
            within,
            standards,
            weeks=WEEKS,
            deadline_week=DEADLINE_WEEK,
            title="Two years, week by week",
            subtitle=f"Median of {RUNS} runs; band: 90% of runs; dashed: standards",
            source=SOURCE,
        )
        # One row per four-week period (a table of 104 weeks takes longer to build than it helps)
        table = weekly[["week", *columns]].merge(
            periods[
                ["week", "admitted", "admitted_met", "non_admitted", "non_admitted_met", "waiting"]
            ],
            on="week",
        )
        table = table.rename(
            columns={
                "week": "Week (end of period)",
                "total_list": "All waiting",
                "op_list": "Waiting for a first appointment",
                "ip_list": "Waiting for admission",
                "admitted": "Admitted within 18 weeks (4 weeks to here)",
                "admitted_met": "Runs meeting 90%",
                "non_admitted": "Non-admitted within 18 weeks (4 weeks to here)",
                "non_admitted_met": "Runs meeting 95%",
                "waiting": "Still waiting, under 18 weeks",
            }
        )
        formats = dict.fromkeys(table.columns[1:4], "number")
        formats |= dict.fromkeys(table.columns[4:], "pct0")
        return chart, table, formats

    def _explosion_chart(self):
        frame = explosion(float(OP_CAPACITY))
        chart = demand_charts.explosion_chart(
            frame,
            current_load=self.load(),
            title="Lists explode near capacity",
            subtitle=f"Capacity {OP_CAPACITY} a week; solid: simulated, dashed: theory",
            source=EXPLOSION_SOURCE,
        )
        table = frame[["load", "demand", "list_mean", "list_low", "list_high", "steady_list"]]
        table = table.assign(
            steady_list=table["steady_list"].where(np.isfinite(table["steady_list"]))
        ).rename(
            columns={
                "load": "Demand ÷ capacity",
                "demand": "Referrals a week",
                "list_mean": "List after 2 years (mean of runs)",
                "list_low": "Low (5%)",
                "list_high": "High (95%)",
                "steady_list": "Steady state, theory",
            }
        )
        formats = {"Demand ÷ capacity": "pct0", "Referrals a week": "number1"}
        formats |= dict.fromkeys(table.columns[2:], "number")
        return chart, table, formats
