"""The one-page indicative budget statement a PCT would send a practice, as HTML and CSV.

Built from the figures the practice view has already worked out (nothing is computed here but
sums of those figures); the HTML is a complete page that prints on one A4 sheet, and the CSV
holds the same lines for a spreadsheet. Both are offered as downloads through ``data:`` links,
so nothing is written on the server and nothing is fetched from elsewhere.
"""

from __future__ import annotations

import csv
import html
import io
from dataclasses import dataclass

import pandas as pd

from pbc_lib.ui import data_link, gbp, number, pct, table_html  # noqa: F401 (data_link: the app imports it from here)

PCT_NAME = "Wyndmoor PCT"
YEAR = "2007/08"


@dataclass(frozen=True)
class Statement:
    """Everything the statement shows for one practice (money in £, shares as fractions)."""

    practice_id: str
    practice_name: str
    locality: str
    list_size: int
    components: pd.DataFrame  # label, activity, unit_price, cost, outturn
    share_of_pct: float
    target: float
    historic: float
    dft_before: float
    lam: float
    threshold_text: str
    budget: float
    outturn: float
    savings_share: float
    freed_up: float
    des_due: float
    des_paid: float
    years_to_band: float | None
    path_text: str

    @property
    def variance(self) -> float:
        return self.budget - self.outturn

    def lines(self) -> pd.DataFrame:
        """The statement as (section, item, value, unit) rows: the CSV and the summary table."""
        rows = [
            ("Practice", "Name", self.practice_name, ""),
            ("Practice", "Code", self.practice_id, ""),
            ("Practice", "Locality", self.locality, ""),
            ("Practice", "Registered patients", self.list_size, "patients"),
        ]
        for r in self.components.itertuples():
            rows.append(("Historic budget", r.label, round(r.cost, 2), "£"))
        rows += [
            ("Historic budget", "Total", round(self.historic, 2), "£"),
            (
                "Fair share",
                "Share of the PCT's weighted population",
                round(self.share_of_pct, 6),
                "fraction",
            ),
            ("Fair share", "Fair-share target", round(self.target, 2), "£"),
            (
                "Fair share",
                "Distance from fair share (historic)",
                round(self.dft_before, 4),
                "fraction",
            ),
            ("Budget", "Pace of change", self.lam, "fraction of the gap"),
            ("Budget", "Applied to", self.threshold_text, ""),
            ("Budget", f"Indicative budget {YEAR}", round(self.budget, 2), "£"),
            ("Forecast", "Forecast outturn", round(self.outturn, 2), "£"),
            ("Forecast", "Underspend (+) or overspend (-)", round(self.variance, 2), "£"),
            ("Forecast", "Practice's share of an underspend", self.savings_share, "fraction"),
            ("Forecast", "Freed-up resources", round(self.freed_up, 2), "£"),
            ("Forecast", "Towards PBC DES component 2 due", round(self.des_due, 2), "£"),
            ("Forecast", "Towards PBC DES component 2 paid", round(self.des_paid, 2), "£"),
        ]
        return pd.DataFrame(rows, columns=["section", "item", "value", "unit"])


def to_csv(statement: Statement) -> str:
    """The statement's lines as CSV text (UTF-8, one header row)."""
    buffer = io.StringIO()
    statement.lines().to_csv(buffer, index=False, quoting=csv.QUOTE_MINIMAL, lineterminator="\n")
    return buffer.getvalue()


def _components_table(s: Statement) -> str:
    comps = s.components
    table = pd.DataFrame(
        {
            "Component": list(comps["label"]) + ["Total"],
            "2006/07 activity": list(comps["activity"]) + [float("nan")],
            f"{YEAR} price (£)": list(comps["unit_price"]) + [float("nan")],
            "Historic budget (£)": list(comps["cost"]) + [s.historic],
            "Forecast outturn (£)": list(comps["outturn"]) + [s.outturn],
        }
    )
    return table_html(
        table,
        formats={
            "2006/07 activity": "number",
            f"{YEAR} price (£)": "gbp2",
            "Historic budget (£)": "gbp",
            "Forecast outturn (£)": "gbp",
        },
        caption="1. How the historic budget is built: 2006/07 activity at 2007/08 prices",
    )


def _summary_table(s: Statement) -> str:
    des = (
        f"{gbp(s.des_due)} due; not paid, as freed-up resources exceed it"
        if s.des_paid == 0 and s.des_due > 0
        else f"{gbp(s.des_paid)}"
    )
    rows = [
        ("Share of the PCT's weighted population", pct(s.share_of_pct, 2)),
        ("Fair-share target", gbp(s.target)),
        ("Historic budget", gbp(s.historic)),
        ("Distance from fair share", pct(s.dft_before)),
        ("Pace of change", f"{pct(s.lam, 0)} of the gap; {s.threshold_text.lower()}"),
        (f"Indicative budget {YEAR}", gbp(s.budget)),
        ("Forecast outturn", gbp(s.outturn)),
        ("Underspend (+) or overspend (−)", gbp(s.variance)),
        (f"Freed-up resources at {pct(s.savings_share, 0)}", gbp(s.freed_up)),
        ("Towards PBC DES component 2 (95p a patient)", des),
    ]
    return table_html(
        pd.DataFrame(rows, columns=["Item", "Amount"]),
        caption="2. Fair share, budget and forecast",
    )


PRINT_CSS = """
body{font-family:Arial,'Liberation Sans',Helvetica,sans-serif;color:#231F20;margin:1.5em;
 font-size:10.5pt;max-width:48em}
h1{color:#005EB8;font-size:16pt;margin:0 0 .2em}
h2{font-size:11pt;margin:1em 0 .3em}
.pbc-table{border-collapse:collapse;width:100%;margin:.3em 0;font-variant-numeric:tabular-nums}
.pbc-table caption{text-align:left;font-weight:bold;padding:.2em 0}
.pbc-table th,.pbc-table td{border-bottom:1px solid #AEB7BD;padding:.2em .4em;text-align:left}
.pbc-table .num{text-align:right}
.note{color:#425563;font-size:9pt}
@page{size:A4;margin:12mm}
@media print{body{margin:0}}
"""


def to_html(statement: Statement) -> str:
    """A complete, self-contained HTML page (no scripts, no links) that prints on one page."""
    s, e = statement, html.escape
    rule = (
        "Under the 2006/07 rules a practice could use at least 70% of freed-up resources "
        "(Hansard, 6 Nov 2006); the PCT keeps the rest. An overspend is carried forward and must "
        "be offset within three years, or the practice may lose its budget after arbitration "
        "(Health Foundation policy navigator). The Towards PBC DES paid 95p per registered patient "
        "but was not paid where freed-up resources exceeded it (BMA guidance, Mar 2007)."
    )
    return (
        '<!DOCTYPE html><html lang="en-GB"><head><meta charset="utf-8">'
        f"<title>Indicative budget statement {YEAR}: {e(s.practice_name)}</title>"
        f"<style>{PRINT_CSS}</style></head><body>"
        f"<h1>{PCT_NAME}: indicative budget statement {YEAR}</h1>"
        f"<p><strong>{e(s.practice_name)}</strong> ({e(s.practice_id)}), {e(s.locality)} "
        f"locality, {number(s.list_size)} registered patients.</p>"
        "<p>This is an <strong>indicative</strong> budget: the PCT holds the money and the "
        "contracts. It shows what your patients' care would cost on last year's pattern, what a "
        "fair share of the PCT's money would be, and what the practice could gain by managing "
        "demand.</p>"
        f"{_components_table(s)}{_summary_table(s)}"
        f"<h2>3. Moving toward fair shares</h2><p>{e(s.path_text)}</p>"
        f'<h2>4. The rules</h2><p class="note">{e(rule)}</p>'
        '<p class="note">Synthetic data for a fictional PCT and practice (PbC Workbooks data '
        "set: activity, prices, prescribing, practices, population). Not a real statement.</p>"
        "</body></html>"
    )


