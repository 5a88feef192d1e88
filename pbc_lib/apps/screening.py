"""The regulation screening simulator: screen practices on their reported incident rates, as a
light-touch, risk-based regulator might, and count who is caught.

Each of 1,000 simulated practices has a true error rate (around the project's 16 per 100,000
consultations, kept within Sandars & Esmail's 5-80) and a share of its errors that it reports
(on average 5,706 NRLS reports ÷ 48,000 errors). A practice is flagged when its reported rate is
above the funnel's upper limit. Which practices are truly unsafe, and how far a good safety
culture goes with fuller reporting, are assumptions the reader sets. Figures come from
:func:`pbc_lib.models.safety.screen_practices`.
"""

from __future__ import annotations

import ipywidgets as widgets
import pandas as pd

from pbc_lib import safety_charts
from pbc_lib.apps.base import App
from pbc_lib.models import funnel as fp
from pbc_lib.models import safety as sf
from pbc_lib.ui import ChartView, guard, number, pct, table_html

STYLE = {"description_width": "initial"}


def _wide(px: int = 620) -> widgets.Layout:
    return widgets.Layout(width=f"{px}px", max_width="100%")


N_PRACTICES = 1_000  # simulated practices: enough for stable shares, quick to draw
LEVELS = [
    ("Flag practices above the 99.8% limit (alarm)", fp.ALARM_LEVEL),
    ("Flag practices above the 95% limit (alert)", fp.ALERT_LEVEL),
]
COMPLETENESS = [
    ("2%", 0.02),
    ("5%", 0.05),
    (f"{sf.REPORTING_COMPLETENESS:.1%} (NRLS)", sf.REPORTING_COMPLETENESS),
    ("25%", 0.25),
    ("50%", 0.50),
    ("90%", 0.90),
]
SCENARIOS = [  # (label, changes from the defaults) for the record under the app
    ("Defaults: 1 year, 99.8% rule, safer practices report more (0.5)", {}),
    ("Five years of reports pooled", {"years": 5}),
    ("The 95% rule instead", {"level": fp.ALERT_LEVEL}),
    ("Reporting unrelated to safety (link 0)", {"culture_link": 0.0}),
    ("Safer practices report much more (link 0.9)", {"culture_link": 0.9}),
]
SOURCE = (
    "Simulation (pbc_lib.models.safety): Sandars & Esmail 2003 (5-80 per 100,000); HSJ (5,706 "
    "NRLS reports); unsafe threshold and culture link are assumptions"
)


class Screening(App):
    """Screening rule, years, reporting and assumption controls; one scatter chart."""

    summary = (
        "Risk-based screening simulator: flag practices on reported incidents and count the "
        "unsafe ones caught, missed and the safe ones flagged (interactive in Voilà)."
    )

    def __init__(self, seed: int = 0) -> None:
        super().__init__()
        self.seed = seed
        self.level = widgets.Dropdown(
            options=LEVELS, value=fp.ALARM_LEVEL, description="Rule", style=STYLE, layout=_wide(520)
        )
        self.years = widgets.IntSlider(
            value=1,
            min=1,
            max=sf.MAX_YEARS,
            description="Years of reports pooled",
            style=STYLE,
            continuous_update=False,
            layout=_wide(440),
        )
        self.completeness = widgets.SelectionSlider(
            options=COMPLETENESS,
            value=sf.REPORTING_COMPLETENESS,
            description="Share of errors reported, on average",
            style=STYLE,
            continuous_update=False,
            layout=_wide(),
        )
        self.culture_link = widgets.FloatSlider(
            value=sf.DEFAULT_CULTURE_LINK,
            min=-0.9,
            max=0.9,
            step=0.1,
            readout_format=".1f",
            description="Safer practices report more: strength of link (assumption)",
            style=STYLE,
            continuous_update=False,
            layout=_wide(),
        )
        self.unsafe_at = widgets.IntSlider(
            value=int(sf.UNSAFE_RATE_PER_100K),
            min=20,
            max=int(sf.ERROR_RATE_HIGH_PER_100K),
            description="'Unsafe' means errors per 100,000 of at least (assumption)",
            style=STYLE,
            continuous_update=False,
            layout=_wide(),
        )
        self.redraw = widgets.Button(
            description="Draw another PCT",
            tooltip="Simulate a new set of practices",
            icon="refresh",
        )
        self.summary_html = widgets.HTML()
        self.view = ChartView(narrow_width=None)
        controls = (self.level, self.years, self.completeness, self.culture_link, self.unsafe_at)
        for control in controls:
            control.observe(lambda _: self.refresh(), names="value")
        self.redraw.on_click(lambda _: self.new_sample())
        self.widget = widgets.VBox(
            [*controls, self.redraw, self.errors, self.summary_html, self.view]
        )
        self.refresh()

    # --- figures ---------------------------------------------------------------------------
    def settings(self, **changes) -> dict:
        chosen = {
            "years": self.years.value,
            "completeness": self.completeness.value,
            "culture_link": self.culture_link.value,
            "unsafe_rate_per_100k": self.unsafe_at.value,
            "level": self.level.value,
            "seed": self.seed,
        }
        return chosen | changes

    def run(self, **changes) -> sf.Screening:
        return sf.screen_practices(N_PRACTICES, **self.settings(**changes))

    def new_sample(self) -> None:
        """Another draw of the same PCT (the seed moves on by one)."""
        self.seed += 1
        self.refresh()

    # --- refresh ---------------------------------------------------------------------------
    def refresh(self) -> None:
        with guard(self.errors, what="updating the screening simulation"):
            result = self.run()
            chart, table, formats = self._chart(result)
            self.view.update(chart, table, formats=formats)
            self.result = result
            self.summary_html.value = self._summary(result)

    def measures(self, result: sf.Screening) -> dict[str, float]:
        s = result.summary.set_index("measure")["value"]
        return {
            "catch": s["share of unsafe practices caught"],
            "ppv": s["share of flagged practices truly unsafe"],
            "rho": s["rank correlation, reported v true rate"],
            "paradox": s["pairs where the higher reporter is safer"],
        }

    def _summary(self, result: sf.Screening) -> str:
        c, m = result.counts, self.measures(result)
        ppv = (
            f"{pct(m['ppv'], 0)} of the flagged practices are truly unsafe"
            if c["flagged"]
            else "no practice is flagged at all"
        )
        return (
            f"<p>Of {number(c['practices'])} simulated practices, <strong>{c['truly_unsafe']}"
            f"</strong> are truly unsafe (errors at {self.unsafe_at.value} or more per 100,000; "
            f"an assumption). The rule flags {c['flagged']}: it catches <strong>{c['caught']}"
            f"</strong> unsafe practices (a catch rate of <strong>{pct(m['catch'], 0)}</strong>) "
            f"and misses {c['missed']}, while <strong>{c['safe_flagged']}</strong> safe practices "
            f"are flagged (false alarms); {ppv}. Pick two practices at random: the one that "
            f"reports more is the safer one in <strong>{pct(m['paradox'], 0)}</strong> of pairs. "
            f"The rank correlation between reported and true rates is {m['rho']:.2f}.</p>"
        )

    def headline(self) -> pd.DataFrame:
        """A few scenarios side by side (seed 0): what the rule catches and what it gets wrong."""
        rows = []
        for label, changes in SCENARIOS:
            result = sf.screen_practices(N_PRACTICES, **(self.settings(seed=0) | changes))
            c, m = result.counts, self.measures(result)
            rows.append(
                (
                    label,
                    f"{c['caught']} of {c['truly_unsafe']}",
                    c["safe_flagged"],
                    pct(m["paradox"], 0),
                )
            )
        return pd.DataFrame(
            rows,
            columns=[
                "Scenario (1,000 practices)",
                "Unsafe caught",
                "Safe flagged",
                "Higher reporter safer",
            ],
        )

    def headline_html(self) -> str:
        caption = (
            f"Screening on reported incidents: {N_PRACTICES:,} simulated practices, 'unsafe' at "
            f"{self.unsafe_at.value} or more errors per 100,000 (assumption)"
        )
        return table_html(self.headline(), caption=caption)

    # --- chart -----------------------------------------------------------------------------
    def _chart(self, result: sf.Screening):
        practices = result.practices
        years = self.years.value
        rule = "99.8%" if self.level.value == fp.ALARM_LEVEL else "95%"
        chart = safety_charts.screening_chart(
            practices,
            unsafe_at=self.unsafe_at.value,
            title="Who a reported-incident screen flags",
            subtitle=(
                f"{N_PRACTICES:,} simulated practices, {years} year{'s' if years > 1 else ''} of "
                f"reports, flagged above the {rule} limit"
            ),
            source=SOURCE,
        )
        grouped = practices.groupby("outcome")
        table = pd.DataFrame(
            {
                "Outcome": list(safety_charts.OUTCOMES),
                "Practices": [int(grouped.size().get(o, 0)) for o in safety_charts.OUTCOMES],
                "Median true errors per 100,000": [
                    grouped["true_rate_per_100k"].median().get(o) for o in safety_charts.OUTCOMES
                ],
                "Median reported incidents per 100,000": [
                    grouped["reported_rate_per_100k"].median().get(o)
                    for o in safety_charts.OUTCOMES
                ],
            }
        )
        formats = {
            "Practices": "number",
            "Median true errors per 100,000": "number1",
            "Median reported incidents per 100,000": "number1",
        }
        return chart, table, formats
