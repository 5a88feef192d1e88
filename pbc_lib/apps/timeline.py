"""Timeline of NHS commissioning, 1991-2009, with a filter by strand.

The events are hand-compiled from cited sources (``data/timeline.csv``, each row with its source);
the chart shows them in date order, and the table under it gives each event's detail and source.
"""

from __future__ import annotations

import ipywidgets as widgets
import pandas as pd

from pbc_lib import charts, data
from pbc_lib.apps.base import App
from pbc_lib.ui import ChartView, guard

ALL = "All strands"


class TimelineExplorer(App):
    """Strand filter (all, or one category) and the timeline chart with its table."""

    summary = (
        "Timeline of NHS commissioning 1991-2009: fundholding, PCTs, practice-based "
        "commissioning, and targets and payment (interactive in Voilà)."
    )

    def __init__(self) -> None:
        super().__init__()
        self.events = data.load_table("timeline")
        categories = list(dict.fromkeys(self.events.sort_values("date")["category"].astype(str)))
        self.strand = widgets.ToggleButtons(
            options=[ALL, *categories],
            value=ALL,
            description="Show",
            style={"button_width": "auto"},
        )
        self.view = ChartView(narrow_width=None)  # one drawing for laptop and phone
        self.strand.observe(lambda _: self.refresh(), names="value")
        self.widget = widgets.VBox([self.strand, self.errors, self.view])
        self.refresh()

    def selected(self) -> pd.DataFrame:
        """The events of the chosen strand, in date order."""
        rows = (
            self.events
            if self.strand.value == ALL
            else self.events.loc[self.events["category"].astype(str) == self.strand.value]
        )
        return rows.sort_values("date", ignore_index=True)

    def refresh(self) -> None:
        with guard(self.errors, what="filtering the timeline"):
            rows = self.selected()
            strand = "" if self.strand.value == ALL else f": {self.strand.value}"
            chart = charts.timeline_chart(
                rows, title=f"NHS commissioning, 1991-2009{strand}", width=charts.ONE_SIZE_WIDTH
            )
            table = pd.DataFrame(
                {
                    "Date": pd.to_datetime(rows["date"]).dt.strftime("%d %b %Y"),
                    "Event": rows["event"],
                    "What happened": rows["detail"],
                    "Source": rows["source"],
                }
            )
            self.view.update(chart, table)
