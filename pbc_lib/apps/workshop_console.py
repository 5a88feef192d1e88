"""The facilitator's console for workshop mode: create or sign in to a workshop, show the join
code for the slide, watch teams join and submit, open, close and reveal each round, and debrief
with every team side by side, round by round; export everything (CSV, xlsx) and a printable
handout.

Facilitators ran practice-based commissioning simulations with teams in their real roles
(Mullins & Harvey, HSJ 1 Dec 2005: Havering and Waltham Forest PCTs). The outcomes come from
:mod:`pbc_lib.workshop.engine` (the models the workbooks use; the same random events for every
team, drawn from the workshop's seed) and everything is kept in :mod:`pbc_lib.workshop.store`
(SQLite by default, ``PBC_WORKSHOP_DB`` to choose another file or a PostgreSQL URL).

Revealing a round is one step: every cluster team's rounds are replayed with
:func:`~pbc_lib.workshop.engine.replay` from the decisions stored for it, the outcomes are saved
and the round is revealed. A team that did not submit in a round keeps the decisions it last
submitted (the team app starts its controls from them), or plays
:func:`~pbc_lib.workshop.engine.default_decisions` if it never submitted; the console's note says
which. The decisions actually played are saved in each outcome (``decisions``, with
``submitted`` and ``decisions_from_round``), so every round replays exactly from the results alone.

A team that lost its page rejoins with its rejoin key (:meth:`~pbc_lib.workshop.store.Store.resume`,
in the team app); if it lost the key too, the console issues a new one
(:meth:`~pbc_lib.workshop.store.Store.reissue_token`) after a confirming second click, and shows it
once.

Refreshing under Voilà: ipywidgets has no kernel-side timer that stops when the page goes away, so
a hidden ``Play`` widget ticks in the browser every :data:`REFRESH_SECONDS` seconds once the
console is signed in; each tick re-reads the store (and renews the console's lease every
:data:`HEARTBEAT_SECONDS`). Closing the tab stops the ticks, so an abandoned console leaves its
kernel idle (and culled) and its lease lapses. :meth:`FacilitatorConsole.close` stops it too.

Downloads are ``<a download>`` links carrying the file as a ``data:`` URI built in the kernel
(sizes are tens of kilobytes), made only when asked for; with ``export_folder`` the files are
also written there.
"""

from __future__ import annotations

import html
import io
import logging
import secrets
import time
import zipfile
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import altair as alt
import ipywidgets as widgets
import pandas as pd

from pbc_lib import charts
from pbc_lib.apps.base import App
from pbc_lib.ui import (
    ChartView,
    ErrorPanel,
    data_link,
    gbp,
    guard,
    number,
    pct,
    source_caption,
    table_html,
)
from pbc_lib.workshop import engine
from pbc_lib.workshop.store import display_name

log = logging.getLogger(__name__)

REFRESH_SECONDS = 5  # the teams table and round state are re-read this often while signed in
HEARTBEAT_SECONDS = 30  # the console renews its lease (store.CONSOLE_LEASE_SECONDS = 120)
TICKER_MAX = 1_000_000  # the Play widget's range: it repeats, so any large number will do
STYLE = {"description_width": "initial"}
SOURCE = (
    "PbC Workbooks workshop engine on the synthetic Wyndmoor PCT data, with this workshop's "
    "decisions"
)
ROLE_NAMES = {"cluster": "Locality cluster", "pct": "PCT", "acute_trust": "Acute trust"}
MEASURE_CHARTS = ("spend", "freed_up", "emergency", "rtt", "risk")
DISCUSSION_QUESTIONS = (
    "Every team met the same events and the same chance variation for its locality. Which "
    "differences in spend come from decisions, and which from the locality itself?",
    "Did referral management pay for itself? The evidence for referral-management centres was "
    "thin (Davies & Elwyn, BMJ 2006): what would have convinced you?",
    "The Evercare pilots found no significant fall in emergency admissions (Gravelle et al., BMJ "
    "2007). Who employed case managers, and why?",
    "Who pooled risk with other clusters or bought a stop-loss, and what did it cost or save them "
    "in the year a high-cost patient arrived?",
    "What did freed-up resources buy, and who benefited: the practices, the patients on the "
    "waiting list, or the PCT?",
    f"The admitted 18-week standard was {engine.RTT_STANDARD_TEXT}. What did the teams that met "
    "it do differently, and at what cost?",
    "If you ran your cluster for real next year, what would you change first?",
)
CSS = """<style>
.pbc-ws h2{color:#005EB8;margin:0.6em 0 0.3em 0}
.pbc-ws-code-box{border:3px solid #005EB8;padding:0.5em 1em;margin:0.5em 0;max-width:520px}
.pbc-join-code{font-size:3.2rem;font-weight:bold;letter-spacing:0.12em;color:#003087;
 font-family:'Courier New',monospace;margin:0.1em 0;line-height:1.1}
@media (max-width:600px){.pbc-join-code{font-size:2.2rem}}
.pbc-ws-status{font-size:1.1rem;color:#231F20;margin:0.4em 0}
.pbc-ws-help{color:#425563;font-size:0.9rem;margin:0.2em 0 0.6em 0}
.pbc-ws-note{border-left:6px solid #768692;padding:0.3em 0.8em;margin:0.4em 0;color:#231F20}
.pbc-ws-cost{color:#231F20;font-weight:bold;padding-top:4px}
.pbc-ws-decision{border-bottom:1px solid #E8EDEE;padding:0.3em 0}
.pbc-ws-links a{display:inline-block;margin:0.2em 1em 0.2em 0}
</style>"""


def wide() -> widgets.Layout:
    """A fresh 520px-wide layout: one per widget, because showing or hiding a widget sets its
    layout's ``display``, and a shared layout would show or hide every widget using it."""
    return widgets.Layout(width="520px", max_width="100%")


# --- shared helpers (the team app uses these too) ----------------------------------------------
def clock(ts: str | None) -> str:
    """A store timestamp (UTC ISO 8601) as "14:30" in this machine's local time."""
    if not ts:
        return "\u2013"
    try:
        moment = datetime.fromisoformat(str(ts).replace("Z", "+00:00"))
    except ValueError:
        return "\u2013"
    return moment.astimezone().strftime("%H:%M")


def make_ticker(seconds: float, description: str) -> widgets.Play:
    """A hidden ``Play`` widget that, once ``playing``, ticks in the browser every ``seconds``.

    The browser drives it, so it stops when the page closes; the kernel starts it by setting
    ``playing`` (a view must exist to start it: nothing happens headless or at render).
    """
    ticker = widgets.Play(
        value=0,
        min=0,
        max=TICKER_MAX,
        step=1,
        interval=int(seconds * 1000),
        repeat=True,
        show_repeat=False,
        description=description,
        layout=widgets.Layout(display="none"),
    )
    ticker.add_class("pbc-ws-ticker")
    return ticker


def note_html(text: str, cls: str = "pbc-ws-note") -> str:
    """A paragraph of plain text (escaped) in a styled box."""
    return f'<p class="{cls}">{html.escape(text)}</p>'


escape = display_name  # names and free text, escaped (whitespace collapsed) before display


def decision_label(key: str, value: Any) -> str:
    """How one decision reads in a table: the option's label, a number, Yes or No."""
    spec = engine.decision_options().get(key)
    if spec is None:
        return str(value)
    if spec["kind"] == "choice":
        return next((o["label"] for o in spec["options"] if o["value"] == value), str(value))
    if spec["kind"] == "bool":
        return "Yes" if value else "No"
    return number(value) if isinstance(value, int | float) else str(value)


NOTHING_BOUGHT = "Nothing: no freed-up resources to spend"


def bought_label(bought: Mapping[str, Any] | None) -> str:
    """What a round's freed-up resources bought (the chosen use only if there was money)."""
    bought = bought or {}
    if float(bought.get("amount_gbp") or 0.0) <= 0:
        return NOTHING_BOUGHT
    return str(bought.get("label", ""))


def events_html(rounds: Sequence[Mapping[str, Any]], upto: int | None = None) -> str:
    """The events of each round (as ``engine.draw_events`` gives them), escaped, as a list."""
    items = []
    for r in rounds:
        if upto is not None and r.get("round", 0) > upto:
            continue
        texts = [e.get("text", "") for e in r.get("events", [])] or ["No event this year."]
        items.append(
            f"<li><strong>Round {int(r['round'])} ({escape(r.get('year', ''))})</strong>: "
            + " ".join(escape(t) for t in texts)
            + "</li>"
        )
    return f"<ul>{''.join(items)}</ul>" if items else "<p>No round has opened yet.</p>"


def events_reference() -> Any:
    """A plain table of the events a workshop can switch on (for the notebook and print)."""
    from IPython.display import HTML

    frame = pd.DataFrame(
        [
            {"Event": spec["label"], "What happens": spec["description"], "Source": spec["source"]}
            for spec in engine.EVENTS.values()
        ]
    )
    caption = "Events: each happens once, in a round drawn from the seed, to every team alike"
    table = table_html(frame, {c: "text" for c in frame.columns}, caption)
    return HTML(f'<div class="pbc-table-wrap">{table}</div>')


# --- the debrief: tidy table, charts, decisions ------------------------------------------------
def played_text(outcome: Mapping[str, Any], row: Mapping[str, Any] | None = None) -> str:
    """Where a round's played decisions came from: "Submitted (revision 2)", "Not submitted:
    kept its round 1 decisions" or "Not submitted: played the default decisions"."""
    row = row or {}
    if bool(outcome.get("submitted", row.get("decisions") is not None)):
        return f"Submitted (revision {int(row.get('revision') or 1)})"
    source = outcome.get("decisions_from_round")
    if source:
        return f"Not submitted: kept its round {int(source)} decisions"
    return "Not submitted: played the default decisions"


def net_cost(outcome: Mapping[str, Any]) -> float:
    """The decisions' net cost in an outcome: their cost less what the PCT paid above the
    stop-loss (£6,000), which matches the stop-loss top-slice (so a stop-loss nets to £0)."""
    if "net_decision_cost_gbp" in outcome:
        return float(outcome["net_decision_cost_gbp"])
    costs = outcome.get("costs") or {}
    if not costs:
        return 0.0
    return engine.net_decision_cost({"risk_share": 0.0, **costs})


def debrief_frame(rows: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """One row per team and revealed round, from ``store.debrief`` rows."""
    records = []
    for r in rows:
        o = r["outcome"]
        bought = o.get("bought") or {}
        records.append(
            {
                "team_id": r["team_id"],
                "team": r["team"],
                "locality": o.get("locality", r.get("locality")),
                "round": int(r["round"]),
                "year": o.get("year", engine.round_year(int(r["round"]))),
                "submitted": bool(o.get("submitted", r.get("decisions") is not None)),
                "decisions_played": played_text(o, r),
                "indicative_budget_gbp": float(o["indicative_budget_gbp"]),
                "spend_gbp": float(o["spend_gbp"]),
                "variance_gbp": float(o["variance_gbp"]),
                "spend_share": float(o["spend_gbp"]) / float(o["indicative_budget_gbp"]),
                "freed_up_gbp": float(o["freed_up_gbp"]),
                "bought_gbp": float(bought.get("amount_gbp", 0.0)),
                "bought": bought_label(bought),
                "emergency_admissions": int(o["emergency_admissions"]),
                "emergency_per_1000": float(o["emergency_per_1000"]),
                "rtt_within_18_weeks": float(o["rtt_within_18_weeks"]),
                "risk_share": engine.RISK_SHARES.get(o.get("risk_share", ""), ""),
                "risk_taken": str(o.get("risk_taken", "")),
                "risk_carried_gbp": float(o["risk_carried_gbp"]),
                "risk_of_overspend": float(o["risk_of_overspend"]),
                "cost_of_decisions_gbp": float((o.get("costs") or {}).get("total", 0.0)),
                "net_cost_of_decisions_gbp": net_cost(o),
                **{
                    f"decision.{key}": value
                    for key, value in (o.get("decisions") or engine.default_decisions()).items()
                },
            }
        )
    frame = pd.DataFrame.from_records(records)
    if frame.empty:
        return frame
    return frame.sort_values(["round", "team_id"], ignore_index=True)


def _team_order(frame: pd.DataFrame) -> list[str]:
    return list(dict.fromkeys(frame.sort_values("team_id")["team"]))


def _describe(frame: pd.DataFrame, value: str, what: str, fmt: Callable[[Any], str]) -> str:
    years = list(dict.fromkeys(frame["year"]))
    last = frame.loc[frame["year"] == years[-1]]
    top, low = last.loc[last[value].idxmax()], last.loc[last[value].idxmin()]
    return (
        f"Dot chart of {what} for {frame['team'].nunique()} teams over {len(years)} financial "
        f"year(s), {years[0]} to {years[-1]}. In {years[-1]} the highest was {top['team']} "
        f"({fmt(top[value])}) and the lowest {low['team']} ({fmt(low[value])})."
    )


def team_rounds_chart(
    frame: pd.DataFrame,
    value: str,
    *,
    value_title: str,
    value_format: str,
    title: str,
    subtitle: str,
    what: str,
    fmt: Callable[[Any], str],
    rule: float | None = None,
    rule_label: str | None = None,
    shape: str | None = None,
    shape_title: str | None = None,
    width: int = charts.ONE_SIZE_WIDTH,
) -> alt.VConcatChart:
    """Every team on its own row, one dot per financial year (colour and, unless ``shape`` names
    a category column, shape by year), with an optional reference line.

    Parameters
    ----------
    frame
        :func:`debrief_frame` rows (at least one).
    value
        The column to plot; ``value_title`` names it with its unit, ``value_format`` is the d3
        format of its axis and ``fmt`` its formatter for the alt text.
    shape, shape_title
        A category column shown by the dots' shape (and its legend title).
    """
    charts.require_columns(frame, ["team", "year", value], what=title, numeric=[value])
    columns = ["team", "year", value] + ([shape] if shape else [])
    data = frame.loc[:, columns].reset_index(drop=True)
    years = list(dict.fromkeys(frame.sort_values("round")["year"]))
    teams = _team_order(frame)
    colour = alt.Color(
        "year:N",
        title="Financial year",
        scale=alt.Scale(domain=years, range=charts.CATEGORY_COLOURS[: len(years)]),
    )
    if shape:
        kinds = list(dict.fromkeys(data[shape]))
        shape_enc = alt.Shape(
            f"{shape}:N",
            title=shape_title,
            scale=alt.Scale(domain=kinds, range=charts.CATEGORY_SHAPES[: len(kinds)]),
            legend=alt.Legend(orient="bottom", direction="vertical", labelLimit=420),
        )
    else:
        shape_enc = alt.Shape(
            "year:N",
            title="Financial year",
            scale=alt.Scale(domain=years, range=charts.CATEGORY_SHAPES[: len(years)]),
        )
    x = alt.X(
        f"{value}:Q", title=value_title, axis=alt.Axis(format=value_format, tickCount=5),
        scale=alt.Scale(zero=rule is None),
    )
    y = alt.Y("team:N", title="Team", sort=teams, axis=alt.Axis(labelLimit=170))
    dots = (
        alt.Chart(data)
        .mark_point(filled=True, size=130, opacity=0.9)
        .encode(x=x, y=y, color=colour, shape=shape_enc)
    )
    layers: list[alt.Chart] = [dots]
    if rule is not None:
        ref = pd.DataFrame({"x": [rule], "label": [rule_label or ""]})
        base = alt.Chart(ref).encode(x=alt.X("x:Q"))
        layers.insert(0, base.mark_rule(color=charts.REFERENCE, strokeDash=[6, 4], strokeWidth=2))
        layers.append(
            base.mark_text(align="left", dx=4, dy=-6, baseline="bottom", fontSize=12)
            .encode(text="label:N", y=alt.value(0))
        )
    chart = alt.layer(*layers).properties(width=width, height={"step": 30})
    return charts.finish(
        chart,
        title=title,
        subtitle=subtitle,
        description=_describe(frame, value, what, fmt),
        source=SOURCE,
    )


def debrief_charts(frame: pd.DataFrame) -> dict[str, tuple[alt.TopLevelMixin, pd.DataFrame, dict]]:
    """The five debrief charts, each with the table shown under it and that table's formats."""

    def table(columns: dict[str, str], formats: dict[str, str]) -> tuple[pd.DataFrame, dict]:
        shown = frame.loc[:, ["team", "year", *columns]].rename(
            columns={"team": "Team", "year": "Financial year", **columns}
        )
        return shown, formats

    out: dict[str, tuple[alt.TopLevelMixin, pd.DataFrame, dict]] = {}
    out["spend"] = (
        team_rounds_chart(
            frame, "spend_share", value_title="Spend as a share of the indicative budget (%)",
            value_format=".0%", title="Spend against indicative budget",
            subtitle="Right of the line is an overspend, left of it an underspend",
            what="spend as a share of the indicative budget", fmt=lambda v: pct(v),
            rule=1.0, rule_label="On budget",
        ),
        *table(
            {
                "indicative_budget_gbp": "Indicative budget (£)",
                "spend_gbp": "Spend (£)",
                "variance_gbp": "Underspend (+) or overspend (−) (£)",
                "spend_share": "Spend as a share of budget",
            },
            {
                "Indicative budget (£)": "gbp",
                "Spend (£)": "gbp",
                "Underspend (+) or overspend (−) (£)": "gbp",
                "Spend as a share of budget": "pct",
            },
        ),
    )
    out["freed_up"] = (
        team_rounds_chart(
            frame, "bought_gbp", value_title="Freed-up resources spent this year (£)",
            value_format="$,.0f", title="Freed-up resources and what they bought",
            subtitle=("Spent the year after an underspend (the practices keep "
                      f"{engine.SAVINGS_SHARE_TEXT} of it)"),
            what="freed-up resources spent", fmt=gbp, shape="bought",
            shape_title="What they bought",
        ),
        *table(
            {
                "freed_up_gbp": "Freed-up resources kept for next year (£)",
                "bought_gbp": "Freed-up resources spent this year (£)",
                "bought": "What they bought",
            },
            {
                "Freed-up resources kept for next year (£)": "gbp",
                "Freed-up resources spent this year (£)": "gbp",
                "What they bought": "text",
            },
        ),
    )
    out["emergency"] = (
        team_rounds_chart(
            frame, "emergency_per_1000", value_title="Emergency admissions per 1,000 patients",
            value_format=",.0f", title="Emergency admissions",
            subtitle="Per 1,000 registered patients in the year, events included",
            what="emergency admissions per 1,000 patients", fmt=lambda v: number(v, 1),
        ),
        *table(
            {
                "emergency_admissions": "Emergency admissions",
                "emergency_per_1000": "Per 1,000 patients",
            },
            {"Emergency admissions": "number", "Per 1,000 patients": "number1"},
        ),
    )
    out["rtt"] = (
        team_rounds_chart(
            frame, "rtt_within_18_weeks",
            value_title="Admitted patients treated within 18 weeks (%)", value_format=".0%",
            title="18-week performance",
            subtitle=f"The admitted standard was {engine.RTT_STANDARD_TEXT}",
            what="the share of admitted patients treated within 18 weeks", fmt=lambda v: pct(v),
            rule=engine.RTT_STANDARD, rule_label=f"{engine.RTT_STANDARD_TEXT} standard",
        ),
        *table(
            {"rtt_within_18_weeks": "Within 18 weeks (admitted)"},
            {"Within 18 weeks (admitted)": "pct"},
        ),
    )
    out["risk"] = (
        team_rounds_chart(
            frame, "risk_carried_gbp",
            value_title="Chance variation carried in a 1-in-20 bad year (£)",
            value_format="$,.0f", title="Risk taken",
            subtitle="What a 1-in-20 bad year could add; the shape shows the arrangement",
            what="risk carried in a 1-in-20 bad year", fmt=gbp, shape="risk_share",
            shape_title="Risk arrangement",
        ),
        *table(
            {
                "risk_taken": "Risk taken",
                "risk_carried_gbp": "1-in-20 bad year (£)",
                "risk_of_overspend": "Chance of overspending (at the start)",
            },
            {
                "Risk taken": "text",
                "1-in-20 bad year (£)": "gbp",
                "Chance of overspending (at the start)": "pct0",
            },
        ),
    )
    return out


NET_COST = "Net cost of decisions (£)"
NET_COST_NOTE = (
    "Net cost: what the decisions cost the budget less what the PCT paid above the "
    f"{engine.STOP_LOSS_TEXT} stop-loss. That payment matches the stop-loss top-slice, so a "
    "stop-loss nets to £0 here; "
    "its effect is on the risk carried (the Risk taken chart). A team that did not submit kept "
    "the decisions it last submitted, or the defaults if it never submitted."
)


def decisions_table(rows: Sequence[Mapping[str, Any]], round_no: int) -> str:
    """HTML table of every team's decisions in one revealed round (escaped)."""
    options = engine.decision_options()
    records = []
    for r in rows:
        if int(r["round"]) != round_no:
            continue
        o = r["outcome"]
        played = o.get("decisions") or engine.default_decisions()
        record = {"Team": r["team"], "Decisions played": played_text(o, r)}
        for key, spec in options.items():
            record[spec["label"]] = decision_label(key, played.get(key, spec["default"]))
        record[NET_COST] = net_cost(o)
        records.append(record)
    if not records:
        return "<p>No results for this round yet.</p>"
    frame = pd.DataFrame.from_records(records)
    formats = {c: "text" for c in frame.columns if c != NET_COST}
    formats[NET_COST] = "gbp"
    caption = f"Decisions played in round {round_no} ({engine.round_year(round_no)})"
    return (
        f'<div class="pbc-table-wrap">{table_html(frame, formats, caption)}</div>'
        + note_html(NET_COST_NOTE, "pbc-ws-help")
    )


def summary_table(frame: pd.DataFrame) -> str:
    """HTML table: every team's headline results, round by round (escaped)."""
    if frame.empty:
        return "<p>No results have been revealed yet.</p>"
    shown = frame.loc[
        :,
        [
            "team", "year", "indicative_budget_gbp", "spend_gbp", "variance_gbp",
            "freed_up_gbp", "bought", "emergency_per_1000", "rtt_within_18_weeks", "risk_taken",
        ],
    ].rename(
        columns={
            "team": "Team",
            "year": "Financial year",
            "indicative_budget_gbp": "Indicative budget (£)",
            "spend_gbp": "Spend (£)",
            "variance_gbp": "Underspend (+) or overspend (−) (£)",
            "freed_up_gbp": "Freed-up resources kept (£)",
            "bought": "Freed-up resources spent on",
            "emergency_per_1000": "Emergency admissions per 1,000",
            "rtt_within_18_weeks": "Within 18 weeks",
            "risk_taken": "Risk taken",
        }
    )
    formats = {
        "Financial year": "text",
        "Indicative budget (£)": "gbp",
        "Spend (£)": "gbp",
        "Underspend (+) or overspend (−) (£)": "gbp",
        "Freed-up resources kept (£)": "gbp",
        "Freed-up resources spent on": "text",
        "Emergency admissions per 1,000": "number1",
        "Within 18 weeks": "pct",
        "Risk taken": "text",
    }
    table = table_html(shown, formats, "Results by team and financial year")
    return f'<div class="pbc-table-wrap">{table}</div>'


# --- exports ----------------------------------------------------------------------------------
def export_frames(tables: Mapping[str, pd.DataFrame], frame: pd.DataFrame) -> dict[str, Any]:
    """The store's tables plus the tidy ``debrief`` table (one row per team and round)."""
    out = dict(tables)
    out["debrief"] = frame.copy()
    return out


def csv_zip(tables: Mapping[str, pd.DataFrame]) -> bytes:
    """A zip of one CSV (UTF-8) per table."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, frame in tables.items():
            info = zipfile.ZipInfo(f"{name}.csv", date_time=(2007, 4, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, frame.to_csv(index=False).encode("utf-8"))
    return buffer.getvalue()


def xlsx_bytes(tables: Mapping[str, pd.DataFrame]) -> bytes:
    """An Excel workbook (openpyxl) with one sheet per table."""
    buffer = io.BytesIO()
    with pd.ExcelWriter(buffer, engine="openpyxl") as writer:
        for name, frame in tables.items():
            frame.to_excel(writer, sheet_name=name[:31], index=False)
    return buffer.getvalue()


HANDOUT_CSS = """
body{font-family:Arial,'Liberation Sans',Helvetica,sans-serif;color:#231F20;margin:1.5em;
 max-width:60em}
h1{color:#005EB8;font-size:1.6rem}h2{color:#005EB8;font-size:1.25rem;margin-top:1.4em}
figure{margin:1em 0;page-break-inside:avoid;break-inside:avoid}
figure svg{max-width:100%;height:auto}
figcaption{color:#425563;font-size:0.85rem}
table{border-collapse:collapse;margin:0.5em 0;font-size:0.85rem;page-break-inside:avoid}
caption{text-align:left;font-weight:bold;padding:0.25em 0}
th,td{border-bottom:1px solid #AEB7BD;padding:0.25em 0.5em;text-align:left;vertical-align:top}
thead th{border-bottom:2px solid #425563}.num{text-align:right}
.note,.pbc-ws-help{color:#425563;font-size:0.85rem}
.sr{position:absolute;width:1px;height:1px;margin:-1px;overflow:hidden;clip:rect(0,0,0,0)}
ol li{margin:0.4em 0}
@media print{body{margin:0}h2{page-break-after:avoid}a{color:#231F20}}
@page{margin:15mm}
"""


def handout_html(
    workshop_name: str,
    scenario: engine.Scenario,
    teams: Sequence[Mapping[str, Any]],
    rows: Sequence[Mapping[str, Any]],
    events: Sequence[Mapping[str, Any]],
) -> str:
    """A self-contained, printable debrief page: charts as SVG, tables, events, questions."""
    frame = debrief_frame(rows)
    rounds = sorted(frame["round"].unique().tolist()) if not frame.empty else []
    team_rows = pd.DataFrame(
        [
            {
                "Team": t["name"],
                "Role": ROLE_NAMES.get(t["role"], t["role"]),
                "Locality": t.get("locality") or "\u2013",
            }
            for t in teams
        ],
        columns=["Team", "Role", "Locality"],
    )
    parts = [
        f"<h1>Workshop debrief: {escape(workshop_name)}</h1>",
        f"<p>{escape(scenario.name)}: {len(teams)} team(s), {scenario.rounds} round(s) from "
        f"{engine.round_year(1)} to {engine.round_year(scenario.rounds)}; results revealed for "
        f"{len(rounds)} round(s). Seed {scenario.seed} (the same events for every team).</p>",
        "<h2>Teams</h2>",
        table_html(team_rows, {c: "text" for c in team_rows.columns}, "Teams"),
        "<h2>What happened each year</h2>",
        events_html(events, upto=max(rounds) if rounds else 0),
    ]
    if rounds:
        parts.append("<h2>Every team side by side</h2>")
        for chart, _, _ in debrief_charts(frame).values():
            meta = charts.chart_meta(chart)
            parts.append(
                f"<figure>{charts.to_svg(chart)}<figcaption class=\"sr\">Source: "
                f"{escape(meta['source'])}</figcaption></figure>"
            )
        parts.append(summary_table(frame))
        parts.append("<h2>The decisions</h2>")
        parts.extend(decisions_table(rows, r) for r in rounds)
    else:
        parts.append("<p>No results have been revealed yet.</p>")
    questions = "".join(f"<li>{escape(q)}</li>" for q in DISCUSSION_QUESTIONS)
    sources = "".join(f"<li>{escape(s)}</li>" for s in engine.SOURCES)
    parts += [
        f"<h2>Questions for discussion</h2><ol>{questions}</ol>",
        f'<h2>Sources</h2><ul class="note">{sources}</ul>',
        '<p class="note">All practices, people and figures for Wyndmoor PCT are fictional, drawn '
        "by a seeded generator calibrated to published national figures.</p>",
    ]
    return (
        '<!DOCTYPE html><html lang="en-GB"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>Workshop debrief: {escape(workshop_name)}</title>"
        f"<style>{HANDOUT_CSS}</style></head><body>{''.join(parts)}</body></html>"
    )


# --- the app ----------------------------------------------------------------------------------
KEY_BUTTON = "Issue a new rejoin key"


def submitted_line(status: Mapping[str, Any]) -> str:
    """ "N of M team(s) have submitted.", counting only the teams that submit decisions (the
    clusters); the PCT and acute trust teams are listed in the table but never counted missing."""
    deciding = int(status.get("deciding_count", status.get("team_count", 0)))
    others = int(status.get("team_count", 0)) - deciding
    if deciding == 0:
        text = "No cluster team has joined, so there are no decisions to wait for."
    else:
        text = f"{status['submitted_count']} of {deciding} team(s) have submitted."
    if others > 0:
        text += (
            f" The {others} PCT and acute trust team(s) take no decisions, so they are not "
            "counted."
        )
    return text


def finish_warning(state: str | None, rnd: int | None) -> str:
    """What the first click on Finish says: an open or closed-but-not-revealed round's results
    will not be worked out."""
    if state == "open":
        return (
            f"Round {rnd} is still open. If you finish now, round {rnd} closes and its results "
            "will not be worked out or revealed, and it can't be reopened. To give teams their "
            f"results, close round {rnd} and reveal it first. Click again to finish anyway."
        )
    if state == "closed":
        return (
            f"Round {rnd} is closed but its results have not been revealed. If you finish now, "
            f"round {rnd}'s results will not be worked out or revealed. To give teams their "
            f"results, press Reveal round {rnd}'s results first. Click again to finish anyway."
        )
    return (
        "Finishing ends the workshop: no team can join or submit after it, and no more rounds "
        "open. The debrief and the export stay available. Click again to finish."
    )


class StoreUser:
    """Opens the workshop store on first use (``open_store()``: ``PBC_WORKSHOP_DB`` or the
    default file), so showing the forms touches no database."""

    def __init__(self, store: Any = None) -> None:
        self._store = store

    @property
    def store(self) -> Any:
        if self._store is None:
            from pbc_lib.workshop.store import open_store

            self._store = open_store()
        return self._store


def make_button(description: str, style: str = "", icon: str = "") -> widgets.Button:
    button = widgets.Button(
        description=description,
        button_style=style,
        icon=icon,
        layout=widgets.Layout(
            width="auto", min_width="150px", margin="2px 6px 2px 0", align_self="flex-start"
        ),
    )
    return button


class FacilitatorConsole(App):
    """Sign in or create a workshop; run its rounds; debrief and export.

    Parameters
    ----------
    store
        A :class:`pbc_lib.workshop.store.Store`; by default ``open_store()`` on first use.
    export_folder
        If given, prepared downloads are also written there.
    console_id
        This console's id in the store (random by default: one per page view).
    """

    summary = (
        "Workshop facilitator console: create or sign in to a workshop, open and close rounds, "
        "reveal results, debrief with every team side by side and export (interactive in Voilà)."
    )

    def __init__(
        self,
        store: Any = None,
        *,
        export_folder: str | Path | None = None,
        console_id: str | None = None,
    ) -> None:
        super().__init__()
        self.stores = StoreUser(store)
        self.export_folder = Path(export_folder) if export_folder is not None else None
        self.console_id = console_id or f"console-{secrets.token_hex(8)}"
        self.info: Any = None  # WorkshopInfo once signed in
        self.scenario: engine.Scenario | None = None
        self.status: dict[str, Any] = {}
        self.rows: list[dict[str, Any]] = []
        self.frame = pd.DataFrame()
        self.defaulted: list[str] = []
        self._debrief_key: tuple | None = None
        self._last_heartbeat = 0.0
        self._confirm_finish = False
        self._confirm_key: int | None = None  # the team a new rejoin key awaits a second click for
        self._keeping_key_team = False
        self.files: dict[str, bytes] = {}
        self._build_setup()
        self._build_running()
        self.poll_errors = ErrorPanel()
        self.ticker = make_ticker(REFRESH_SECONDS, "Automatic refresh")
        self.ticker.observe(lambda _: self._tick(), names="value")
        self.widget = widgets.VBox(
            [widgets.HTML(CSS), self.errors, self.setup_box, self.running_box,
             self.poll_errors, self.ticker]
        )
        self.widget.add_class("pbc-ws")

    # --- building ---------------------------------------------------------------------------
    def _build_setup(self) -> None:
        self.code = widgets.Text(
            description="Join code", placeholder="e.g. K7QF-2MXD", style=STYLE, layout=wide()
        )
        self.passphrase = widgets.Password(
            description="Facilitator passphrase", placeholder="the passphrase you chose",
            style=STYLE, layout=wide(),
        )
        self.take_over = widgets.Checkbox(
            value=False, description="Take over from another console", indent=False
        )
        self.sign_in_button = make_button("Sign in", "primary", "sign-in")
        self.sign_in_button.on_click(lambda _: self._sign_in())
        self.name = widgets.Text(
            description="Workshop name", placeholder="e.g. Wyndmoor PbC away day",
            style=STYLE, layout=wide(),
        )
        self.new_passphrase = widgets.Password(
            description="Choose a passphrase", placeholder="at least 8 characters",
            style=STYLE, layout=wide(),
        )
        self.new_passphrase_again = widgets.Password(
            description="Type it again", placeholder="the same passphrase",
            style=STYLE, layout=wide(),
        )
        self.localities = widgets.SelectMultiple(
            options=list(engine.LOCALITIES),
            value=tuple(engine.LOCALITIES),
            rows=len(engine.LOCALITIES),
            description="Localities teams may choose",
            style=STYLE,
            layout=wide(),
        )
        self.rounds = widgets.Dropdown(
            options=[
                (
                    f"{n} round{'s' if n > 1 else ''} ({engine.round_year(1)}"
                    + (f" to {engine.round_year(n)})" if n > 1 else ")"),
                    n,
                )
                for n in range(1, engine.MAX_ROUNDS + 1)
            ],
            value=engine.DEFAULT_ROUNDS,
            description="Rounds (financial years)",
            style=STYLE,
            layout=wide(),
        )
        self.events = {
            key: widgets.Checkbox(
                value=True, description=spec["label"], indent=False,
                layout=widgets.Layout(width="auto", max_width="100%"),
            )
            for key, spec in engine.EVENTS.items()
        }
        self.seed = widgets.BoundedIntText(
            value=engine.DEFAULT_SEED,
            min=0,
            max=engine.MAX_SEED,
            description="Seed (the same events for every team)",
            style=STYLE,
            layout=wide(),
        )
        self.seed.observe(lambda _: self.refresh(), names="value")
        self.create_button = make_button("Create the workshop", "primary", "plus")
        self.create_button.on_click(lambda _: self._create())
        help_events = (
            "Each event switched on happens once, in a round drawn from the seed, and hits every "
            "team alike. "
            + " ".join(f"{spec['label']}: {spec['description']}" for spec in engine.EVENTS.values())
        )
        self.setup_box = widgets.VBox(
            [
                widgets.HTML("<h2>Sign in to a workshop</h2>"),
                widgets.HTML(
                    '<p class="pbc-ws-help">Use the join code on your slide and the passphrase '
                    "you chose. If the workshop is open in another window or on another "
                    "computer, tick Take over.</p>"
                ),
                self.code,
                self.passphrase,
                self.take_over,
                self.sign_in_button,
                widgets.HTML("<h2>Or create a new workshop</h2>"),
                self.name,
                self.new_passphrase,
                self.new_passphrase_again,
                self.localities,
                widgets.HTML(
                    '<p class="pbc-ws-help">Hold Ctrl (or Cmd) to choose several localities. '
                    "Teams play a cluster of practices in one of them.</p>"
                ),
                self.rounds,
                widgets.HTML(
                    f"<p><strong>Events</strong></p>{note_html(help_events, 'pbc-ws-help')}"
                ),
                *self.events.values(),
                self.seed,
                self.create_button,
            ]
        )

    def _build_running(self) -> None:
        self.heading = widgets.HTML()
        self.state_line = widgets.HTML()
        self.open_button = make_button("Open round 1", "primary", "play")
        self.close_button = make_button("Close the round", "warning", "stop")
        self.reveal_button = make_button("Reveal results", "success", "eye")
        self.finish_button = make_button("Finish the workshop", "", "flag-checkered")
        self.refresh_button = make_button("Refresh", "", "refresh")
        for button, action in (
            (self.open_button, self._open_round),
            (self.close_button, self._close_round),
            (self.reveal_button, self._reveal),
            (self.finish_button, self._finish),
        ):
            button.on_click(lambda _, act=action: self._act(act))
        self.refresh_button.on_click(lambda _: self.refresh())
        self.teams_html = widgets.HTML()
        self.key_team = widgets.Dropdown(
            options=[("No team has joined yet", 0)], value=0, description="Team", style=STYLE,
            layout=wide(),
        )
        self.key_team.observe(lambda _: self._cancel_key(), names="value")
        self.key_button = make_button(KEY_BUTTON, "", "key")
        self.key_button.on_click(lambda _: self._act(self._issue_key))
        self.key_html = widgets.HTML()
        self.hide_key_button = make_button("Hide the key", "", "eye-slash")
        self.hide_key_button.layout.display = "none"
        self.hide_key_button.on_click(lambda _: self._hide_key())
        self.events_html = widgets.HTML()
        self.reveal_note = widgets.HTML()
        self.debrief_intro = widgets.HTML()
        # The chart views join the page with the first results (an empty chart is never shown).
        self.views = {key: ChartView(narrow_width=None) for key in MEASURE_CHARTS}
        self.charts_box = widgets.VBox([])
        self.summary_html = widgets.HTML()
        self.decisions_round = widgets.Dropdown(
            options=[("No round revealed yet", 0)], value=0,
            description="Decisions in round", style=STYLE,
        )
        self.decisions_round.observe(lambda _: self._show_decisions(), names="value")
        self.decisions_html = widgets.HTML()
        self.prepare_button = make_button("Prepare the downloads", "", "download")
        self.prepare_button.on_click(lambda _: self._act(self._prepare_downloads))
        self.downloads = widgets.HTML()
        row = widgets.Layout(flex_flow="row wrap")
        self.running_box = widgets.VBox(
            [
                self.heading,
                self.state_line,
                widgets.HBox(
                    [self.open_button, self.close_button, self.reveal_button,
                     self.finish_button, self.refresh_button],
                    layout=row,
                ),
                self.reveal_note,
                widgets.HTML("<h2>Teams</h2>"),
                self.teams_html,
                widgets.HTML(
                    "<h3>A team lost its rejoin key</h3>"
                    '<p class="pbc-ws-help">A team that closed its page rejoins with its rejoin '
                    "key (Rejoin my team on the team app). If it has lost the key too, choose "
                    "the team and issue a new one: the old key stops working, and the new one "
                    "is shown here once. Switch the projector off first.</p>"
                ),
                self.key_team,
                widgets.HBox(
                    [self.key_button, self.hide_key_button],
                    layout=widgets.Layout(flex_flow="row wrap"),
                ),
                self.key_html,
                widgets.HTML("<h2>Events so far</h2>"),
                self.events_html,
                widgets.HTML("<h2>Debrief</h2>"),
                self.debrief_intro,
                self.charts_box,
                self.summary_html,
                self.decisions_round,
                self.decisions_html,
                widgets.HTML("<h2>Export</h2>"),
                widgets.HTML(
                    '<p class="pbc-ws-help">Every table (workshop, rounds, teams, submissions, '
                    "results, log, debrief) as CSV files in a zip or as one Excel workbook, and "
                    "a debrief handout to print (HTML).</p>"
                ),
                self.prepare_button,
                self.downloads,
            ],
            layout=widgets.Layout(display="none"),
        )

    # --- signing in -------------------------------------------------------------------------
    def _sign_in(self) -> None:
        with guard(self.errors, what="signing in to a workshop"):
            from pbc_lib.workshop.store import normalise_code

            normalise_code(self.code.value)  # the code first: it is the first box on the form
            info = self.stores.store.facilitator_login(
                self.code.value, self.passphrase.value, self.console_id,
                take_over=bool(self.take_over.value),
            )
            self._start(info)

    def _create(self) -> None:
        with guard(self.errors, what="creating a workshop"):
            if not self.name.value.strip():
                raise engine.WorkshopError(
                    "Please give the workshop a name (it is shown to teams)."
                )
            if self.new_passphrase.value != self.new_passphrase_again.value:
                raise engine.WorkshopError(
                    "The two passphrases are different. Type the same passphrase in both boxes."
                )
            if not self.new_passphrase.value.strip():
                raise engine.WorkshopError(
                    "Please choose a facilitator passphrase (at least 8 characters): you need it "
                    "to sign in again."
                )
            scenario = engine.Scenario(
                localities=tuple(self.localities.value),
                rounds=int(self.rounds.value),
                events=tuple(k for k, box in self.events.items() if box.value),
                seed=int(self.seed.value),
            )
            info = self.stores.store.create_workshop(
                self.name.value, self.new_passphrase.value, scenario.to_dict(), scenario.rounds,
                events=engine.draw_events(scenario), seed=scenario.seed,
                console_id=self.console_id,
            )
            self._start(info)

    def _start(self, info: Any) -> None:
        """Signed in: show the running screen and start the automatic refresh."""
        self.info = info
        self.scenario = engine.Scenario.from_dict(info.scenario)
        for box in (self.passphrase, self.new_passphrase, self.new_passphrase_again):
            box.value = ""  # the passphrase does not linger in the page's widget state
        self._debrief_key = None
        self._last_heartbeat = time.monotonic()
        self.setup_box.layout.display = "none"
        self.running_box.layout.display = None
        self._poll()
        self.ticker.playing = self.status.get("round_state") != "finished"

    def close(self) -> None:
        """Stop the automatic refresh (the page closing stops it too)."""
        self.ticker.playing = False

    # --- refreshing -------------------------------------------------------------------------
    def refresh(self) -> None:
        """Re-read the workshop from the store and redraw (nothing before signing in)."""
        with guard(self.errors, what="refreshing the facilitator console"):
            self._poll()

    def _tick(self) -> None:
        """One tick of the automatic refresh: its problems go to their own panel, so a message
        about a button the facilitator pressed stays until the next action."""
        with guard(self.poll_errors, what="automatic refresh of the facilitator console"):
            self.check_controls()
            self._poll()

    def _poll(self) -> None:
        if self.info is None:
            return
        store = self.stores.store
        if time.monotonic() - self._last_heartbeat >= HEARTBEAT_SECONDS:
            self._last_heartbeat = time.monotonic()
            store.console_heartbeat(self.info.id, self.console_id)
        self.status = store.status(self.info.id)
        self._show_status()
        key = (self.status["current_round"], self.status["round_state"])
        if key != self._debrief_key:
            self._update_debrief()
            self._debrief_key = key
        if self.status["round_state"] == "finished":
            self.ticker.playing = False

    def _show_status(self) -> None:
        s, info = self.status, self.info
        rnd, state, rounds = s["current_round"], s["round_state"], s["rounds"]
        self.heading.value = (
            f"<h2>{escape(s['name'])}</h2>"
            '<div class="pbc-ws-code-box"><p>Join code for the slide</p>'
            f'<p class="pbc-join-code" aria-label="Join code">{escape(s["join_code"])}</p>'
            "<p>Teams open the Team app and type this code, a team name and their role.</p>"
            "</div>"
        )
        year = engine.round_year(rnd) if rnd else ""
        submitted = submitted_line(s)
        lines = {
            "not_started": f"{s['team_count']} team(s) have joined. Open round 1 when everyone "
            "is in.",
            "open": f"Round {rnd} of {rounds} ({year}) is open since {clock(s['opened_at'])}. "
            + submitted,
            "closed": f"Round {rnd} of {rounds} ({year}) closed at {clock(s['closed_at'])}. "
            + submitted + " Reveal the results when you are ready.",
            "revealed": f"Round {rnd} of {rounds} ({year}): results revealed at "
            f"{clock(s['revealed_at'])}."
            + (f" Open round {rnd + 1} when you are ready." if rnd < rounds else
               " That was the last round: finish the workshop, then debrief."),
            "finished": "The workshop has finished: debrief and export below.",
        }
        self.state_line.value = (
            f'<p class="pbc-ws-status" role="status">{html.escape(lines[state])}</p>'
            f'<p class="pbc-ws-help">Updated automatically every {REFRESH_SECONDS} seconds '
            "while this page is open.</p>"
        )
        can_open = state in ("not_started", "revealed") and rnd < rounds
        self.open_button.disabled = not can_open
        self.open_button.description = (
            f"Open round {rnd + 1} ({engine.round_year(rnd + 1)})" if rnd < rounds
            else "No more rounds"
        )
        self.close_button.disabled = state != "open"
        self.close_button.description = f"Close round {rnd}" if state == "open" else "Close round"
        self.reveal_button.disabled = state != "closed"
        self.reveal_button.description = (
            f"Reveal round {rnd}'s results" if state == "closed" else "Reveal results"
        )
        self.finish_button.disabled = state == "finished"
        if not self._confirm_finish:
            self.finish_button.description = "Finish the workshop"
        if self._confirm_key is None:
            self.key_button.description = KEY_BUTTON
        self.teams_html.value = self._teams_table()
        self._key_options()
        self.events_html.value = events_html(info.events or [], upto=rnd)

    def _teams_table(self) -> str:
        s = self.status
        if not s["teams"]:
            return "<p>No team has joined yet.</p>"
        rnd = s["current_round"]
        heading = f"Submitted round {rnd}" if rnd else "Submitted"
        rows = []
        for t in s["teams"]:
            if t["role"] != "cluster":
                done = "Not needed (no decisions)"
            elif not rnd:
                done = "Round 1 not open yet"
            elif t["submitted"]:
                done = f"\u2713 {clock(t['submitted_at'])}" + (
                    f" (revision {t['revision']})" if t["revision"] > 1 else ""
                )
            else:
                done = "\u2013 not yet"
            rows.append(
                {
                    "Team": t["name"],
                    "Role": ROLE_NAMES.get(t["role"], t["role"]),
                    "Locality": t["locality"] or "\u2013",
                    "Joined": clock(t["joined_at"]),
                    heading: done,
                }
            )
        frame = pd.DataFrame.from_records(rows)
        caption = f"{len(rows)} team(s) in this workshop"
        return (
            '<div class="pbc-table-wrap">'
            f"{table_html(frame, {c: 'text' for c in frame.columns}, caption)}</div>"
        )

    # --- actions ----------------------------------------------------------------------------
    def _act(self, action: Callable[[], None]) -> None:
        """Run a button's action with the friendly panel; then re-read the store."""
        if self.info is None:
            log.info("Ignored a console action before signing in")
            return
        if action != self._finish:
            self._confirm_finish = False
        if action != self._issue_key:
            self._confirm_key = None
            self._hide_key()  # a new rejoin key is shown once: gone with the next action
        with guard(self.errors, what=f"console action {action.__name__}"):
            action()
            self._poll()

    def _open_round(self) -> None:
        self.reveal_note.value = ""
        self.stores.store.open_round(self.info.id, self.console_id)

    def _close_round(self) -> None:
        self.stores.store.close_round(self.info.id, self.console_id)

    def _finish(self) -> None:
        state, rnd = self.status.get("round_state"), self.status.get("current_round")
        if not self._confirm_finish:
            self._confirm_finish = True
            self.finish_button.description = "Click again to finish"
            self.reveal_note.value = note_html(finish_warning(state, rnd))
            return
        self._confirm_finish = False
        self.stores.store.finish(self.info.id, self.console_id)
        self.finish_button.description = "Finish the workshop"
        self.reveal_note.value = note_html(
            "The workshop has finished: no team can join or submit now. "
            + (
                f"Round {rnd}'s results were not worked out. "
                if state in ("open", "closed")
                else ""
            )
            + "The debrief and the export below stay available."
        )

    # --- rejoin keys ------------------------------------------------------------------------
    def _key_options(self) -> None:
        """The teams the facilitator can issue a new rejoin key for (kept in step with the
        store; the choice is kept while that team is listed)."""
        teams = self.status.get("teams", [])
        options = [
            (
                f"{' '.join(str(t['name']).split())} ({ROLE_NAMES.get(t['role'], t['role'])}"
                + (f", {t['locality']})" if t["locality"] else ")"),
                int(t["team_id"]),
            )
            for t in teams
        ] or [("No team has joined yet", 0)]
        if list(self.key_team.options) != options:
            keep = self.key_team.value
            ids = [value for _, value in options]
            self._keeping_key_team = keep in ids  # a pending confirmation survives a new team
            try:
                self.key_team.options = options
                self.key_team.value = keep if keep in ids else ids[0]
            finally:
                self._keeping_key_team = False

    def _team_name(self, team_id: int) -> str:
        for t in self.status.get("teams", []):
            if int(t["team_id"]) == team_id:
                return str(t["name"])
        raise engine.WorkshopError("That team isn't in this workshop; choose it again.")

    def _cancel_key(self) -> None:
        """A different team chosen: a pending confirmation no longer applies."""
        if self._confirm_key is not None and not self._keeping_key_team:
            self._confirm_key = None
            self.key_button.description = KEY_BUTTON
            self.key_html.value = ""

    def _issue_key(self) -> None:
        """First click: ask to confirm. Second click: a new rejoin key, shown once."""
        team_id = int(self.key_team.value or 0)
        if not team_id:
            raise engine.WorkshopError(
                "No team has joined yet, so there is no rejoin key to issue."
            )
        name = self._team_name(team_id)
        if self._confirm_key != team_id:
            self._confirm_key = team_id
            self.key_button.description = "Click again to issue the new key"
            self.key_html.value = note_html(
                f"Issue a new rejoin key for {name}? Its old key stops working at once, on any "
                "laptop still using it. Check that the projector isn't showing this screen, then "
                "click again."
            )
            return
        self._confirm_key = None
        self.key_button.description = KEY_BUTTON
        session = self.stores.store.reissue_token(self.info.id, self.console_id, team_id)
        self.key_html.value = (
            '<div class="pbc-ws-code-box">'
            f"<p>New rejoin key for <strong>{escape(session.name)}</strong></p>"
            f'<p class="pbc-join-code pbc-rejoin-key" aria-label="Rejoin key">'
            f"{escape(session.token)}</p>"
            "<p>Give it to the team now: it is shown only this once (the store keeps only a "
            "scrambled copy). On the team app they choose Rejoin my team and type the join code, "
            "their team name and this key.</p></div>"
        )
        self.hide_key_button.layout.display = None

    def _hide_key(self) -> None:
        self.key_html.value = ""
        self.hide_key_button.layout.display = "none"

    def outcomes_for_round(self) -> tuple[int, dict[int, dict], list[str]]:
        """Every cluster team's outcome for the closed round, replayed from stored decisions.

        In a round without a (valid) submission a team keeps the decisions it last submitted, or
        plays the default decisions if it never submitted. Each outcome records what was played:
        ``decisions``, ``submitted`` (this round) and ``decisions_from_round`` (the round whose
        submission was played; None for the defaults). Returns the round, ``{team_id: outcome}``
        and one sentence for each team that did not submit this round.
        """
        store, wid = self.stores.store, self.info.id
        status = store.status(wid)
        rnd = status["current_round"]
        if status["round_state"] != "closed":
            raise engine.WorkshopError(
                f"Close round {rnd} before revealing its results."
                if status["round_state"] == "open"
                else "There is no closed round to reveal."
            )
        outcomes: dict[int, dict] = {}
        missed: list[str] = []
        self.defaulted = []
        stored = {r: store.decisions_for(wid, r, self.console_id) for r in range(1, rnd + 1)}
        for team in status["teams"]:
            if team["role"] != "cluster" or not team["locality"]:
                continue
            played, current, source, valid = [], engine.default_decisions(), None, False
            for r in range(1, rnd + 1):
                mine = stored[r].get(team["team_id"])
                valid = False
                if mine is not None:
                    try:
                        current, source, valid = engine.validate_decisions(mine), r, True
                    except engine.WorkshopError:
                        log.warning("Team %s: its decisions for round %s are invalid", team, r)
                played.append(current)
            outcome = engine.replay(self.scenario, team["locality"], played)[-1]
            outcome["submitted"] = valid
            outcome["decisions_from_round"] = source
            if not valid:
                name = " ".join(str(team["name"]).split())
                what = (
                    f"did not submit in round {rnd}"
                    if team["team_id"] not in stored[rnd]
                    else f"sent round {rnd} decisions that could not be used"
                )
                kept = (
                    f"it kept its round {source} decisions"
                    if source
                    else "it played the default decisions (no changes)"
                )
                missed.append(f"Team {name} {what}: {kept}.")
                if not source:
                    self.defaulted.append(team["name"])
            outcomes[team["team_id"]] = outcome
        return rnd, outcomes, missed

    def _reveal(self) -> None:
        store = self.stores.store
        rnd, outcomes, missed = self.outcomes_for_round()
        store.save_results(self.info.id, self.console_id, rnd, outcomes)
        store.reveal(self.info.id, self.console_id)
        text = f"Round {rnd}'s results are revealed to every team." + (
            " " + " ".join(missed) if missed else " Every cluster team submitted."
        )
        self.reveal_note.value = note_html(text)

    # --- debrief ----------------------------------------------------------------------------
    def _update_debrief(self) -> None:
        self.rows = self.stores.store.debrief(self.info.id, self.console_id)
        self.frame = debrief_frame(self.rows)
        if self.frame.empty:
            self.debrief_intro.value = (
                "<p>The charts appear here when the first round's results are revealed: every "
                "team side by side, round by round.</p>"
            )
            self.charts_box.children = []
            self.summary_html.value = ""
            self.decisions_round.options = [("No round revealed yet", 0)]
            self.decisions_html.value = ""
            return
        years = list(dict.fromkeys(self.frame["year"]))
        self.debrief_intro.value = (
            f"<p>{self.frame['team'].nunique()} team(s), results for {', '.join(years)}. Each "
            "row is a team; each dot a financial year. Under each chart, Show as table gives "
            "the figures.</p>"
        )
        for key, (chart, table, formats) in debrief_charts(self.frame).items():
            self.views[key].update(chart, table, formats=formats)
        if not self.charts_box.children:
            self.charts_box.children = list(self.views.values())
        self.summary_html.value = summary_table(self.frame)
        revealed = sorted(self.frame["round"].unique().tolist())
        options = [(f"Round {r} ({engine.round_year(r)})", r) for r in revealed]
        if list(self.decisions_round.options) != options:  # a new reveal: show the latest round
            self.decisions_round.options = options
            self.decisions_round.value = revealed[-1]
        self._show_decisions()

    def _show_decisions(self) -> None:
        with guard(self.errors, what="showing a round's decisions"):
            value = self.decisions_round.value
            self.decisions_html.value = decisions_table(self.rows, value) if value else ""

    # --- exports ----------------------------------------------------------------------------
    def export_tables(self) -> dict[str, pd.DataFrame]:
        """Every table of the workshop, plus the tidy debrief table."""
        tables = self.stores.store.export_tables(self.info.id, self.console_id)
        return export_frames(tables, debrief_frame(self.stores.store.debrief(
            self.info.id, self.console_id)))

    def handout(self) -> str:
        """The printable debrief page (HTML)."""
        store = self.stores.store
        status = store.status(self.info.id)
        rows = store.debrief(self.info.id, self.console_id)
        return handout_html(status["name"], self.scenario, status["teams"], rows,
                            self.info.events or [])

    def _prepare_downloads(self) -> None:
        tables = self.export_tables()
        stem = f"pbc_workshop_{self.info.join_code}"
        self.files = {
            f"{stem}_tables.zip": csv_zip(tables),
            f"{stem}.xlsx": xlsx_bytes(tables),
            f"{stem}_debrief_handout.html": self.handout().encode("utf-8"),
        }
        mimes = {
            ".zip": ("application/zip", "All tables as CSV files (zip)"),
            ".xlsx": (
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                "All tables as an Excel workbook (xlsx)",
            ),
            ".html": ("text/html", "Debrief handout to print (HTML)"),
        }
        links = []
        for name, payload in self.files.items():
            mime, label = mimes[Path(name).suffix]
            links.append(data_link(payload, name, mime, label))
        saved = ""
        if self.export_folder is not None:
            self.export_folder.mkdir(parents=True, exist_ok=True)
            for name, payload in self.files.items():
                (self.export_folder / name).write_bytes(payload)
            saved = note_html(f"Also saved in {self.export_folder}.", "pbc-ws-help")
        stamp = datetime.now().strftime("%H:%M")
        self.downloads.value = (
            f'<p class="pbc-downloads pbc-ws-links">{"".join(links)}</p>'
            + note_html(
                f"Prepared at {stamp}. Prepare them again after later rounds.", "pbc-ws-help"
            )
            + saved
            + source_caption("this workshop's store; charts from the workshop engine")
        )
