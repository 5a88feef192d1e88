"""The team app for workshop mode: join with the facilitator's code, read the data pack, take the
round's decisions with the cost of each beside it, submit, and see the results once revealed.

A team plays a locality cluster of practices by default (its own copy of one Wyndmoor locality,
Mullins & Harvey, HSJ 1 Dec 2005: "provide practices or clusters of practices with sound
quantitative and qualitative evidence about health needs and service activity"). Two other roles
have views of their own and no decisions to submit, because the engine's decisions are a
cluster's: the **PCT** sees the PCT-wide picture (every locality's budget against fair share
before the results, :func:`~pbc_lib.workshop.engine.pct_summary` after), and the **acute trust**
sees the activity it can expect and, after the results, its income, admissions and 18-week
performance.

At join the team is shown its **rejoin key** (``XXXX-XXXX-XXXX``) to write down. If the page is
closed or reloaded, the laptop sleeps too long, or the kernel or the server restarts, the team
opens the app again and chooses **Rejoin my team** (join code, team name, rejoin key:
:meth:`~pbc_lib.workshop.store.Store.resume`); its submissions, the current round and its revealed
results come back from the store. A team that lost its key gets a new one from the facilitator's
console. Until the facilitator reveals a round a team sees only its own decisions (the store
enforces it); after that, every team's outcome side by side.

In a round the team does not submit, it keeps the decisions it last submitted (the controls start
from them), or the default decisions if it never submitted.

The round's state is re-read every few seconds by a hidden ``Play`` widget ticking in the browser
(see :mod:`pbc_lib.apps.workshop_console`), and on the Refresh button.
"""

from __future__ import annotations

import html
import logging
from typing import Any

import ipywidgets as widgets
import pandas as pd

from pbc_lib import charts
from pbc_lib.apps.base import App
from pbc_lib.apps.workshop_console import (
    CSS,
    REFRESH_SECONDS,
    ROLE_NAMES,
    STYLE,
    StoreUser,
    bought_label,
    clock,
    decision_label,
    escape,
    events_html,
    make_button,
    make_ticker,
    note_html,
    wide,
)
from pbc_lib.ui import ChartView, ErrorPanel, gbp, guard, number, pct, source_caption, table_html
from pbc_lib.workshop import engine

log = logging.getLogger(__name__)

SOURCE = "PbC Workbooks workshop engine on the synthetic Wyndmoor PCT data"
RESTART_NOTE = (
    "If this page is closed or reloaded, or the laptop sleeps, open the team app again, choose "
    "Rejoin my team and type the join code, your team name and your rejoin key: your decisions "
    "and results come back."
)
KEY_NOTE = (
    "Write this down: you need it to get back in if this page is closed or the laptop sleeps. "
    "Choose Rejoin my team on the team app and type the join code, your team name and this key. "
    "Keep it to your team: anyone with it can submit as you."
)
JOIN, REJOIN = "join", "rejoin"
KEY_CSS = """<style>
.pbc-rejoin-key{font-size:2.6rem;word-break:break-word}
@media (max-width:600px){.pbc-rejoin-key{font-size:1.7rem}}
</style>"""


def decisions_reference() -> Any:
    """A plain table of every decision, its choices, what it does and its source."""
    from IPython.display import HTML

    rows = []
    for spec in engine.decision_options().values():
        if spec["kind"] == "choice":
            choices = "; ".join(o["label"] for o in spec["options"])
        elif spec["kind"] == "int":
            choices = f"{number(spec['min'])} to {number(spec['max'])}"
        else:
            choices = "Yes or no"
        rows.append({"Decision": spec["label"], "Choices": choices, "What it does": spec["help"],
                     "Source": spec["source"]})
    frame = pd.DataFrame(rows)
    table = table_html(frame, {c: "text" for c in frame.columns}, "The decisions of each round")
    return HTML(f'<div class="pbc-table-wrap">{table}</div>')


def _cost_text(key: str, costs: dict[str, float], freed_up: float) -> str:
    if key == "risk_share":
        top_slice = costs.get("risk_share", 0.0)
        if top_slice > 0:
            return (
                f"Top-slice {gbp(top_slice)}, offset by the PCT paying costs above "
                f"{engine.STOP_LOSS_TEXT} "
                "(the same amount expected): net cost £0"
            )
        return "No cost"
    if key == "freed_up_use":
        return (
            f"Spends {gbp(freed_up)} of freed-up resources (outside the budget)"
            if freed_up > 0
            else "No freed-up resources to spend this round"
        )
    if key == "priority":
        return "No cost by itself"
    return f"Cost this year: {gbp(costs.get(key, 0.0))}"


class TeamApp(App):
    """Join a workshop; data pack, decisions with costs, submit, results.

    Parameters
    ----------
    store
        A :class:`pbc_lib.workshop.store.Store`; by default ``open_store()`` on first use.
    """

    summary = (
        "Workshop team app: join with the facilitator's code, read your data pack, take the "
        "round's decisions with their costs, submit, and see the results when they are revealed "
        "(interactive in Voilà)."
    )

    def __init__(self, store: Any = None) -> None:
        super().__init__()
        self.stores = StoreUser(store)
        self._session: Any = None  # TeamSession: the token stays in this kernel only
        self.scenario: engine.Scenario | None = None
        self.view: dict[str, Any] = {}
        self.pack: dict[str, Any] | None = None
        self.costs: dict[str, float] = {}
        self._key: tuple | None = None
        self._pack_key: tuple | None = None
        self._prefilled: int | None = None
        self._quiet = False
        self._build_join()
        self._build_joined()
        self.poll_errors = ErrorPanel()
        self.ticker = make_ticker(REFRESH_SECONDS, "Automatic refresh")
        self.ticker.observe(lambda _: self._tick(), names="value")
        self.widget = widgets.VBox(
            [widgets.HTML(CSS), self.join_box, self.errors, self.joined_box,
             self.poll_errors, self.ticker]
        )
        self.widget.add_class("pbc-ws")

    # --- building ---------------------------------------------------------------------------
    def _build_join(self) -> None:
        self.code = widgets.Text(
            description="Join code", placeholder="e.g. K7QF-2MXD", continuous_update=False,
            style=STYLE, layout=wide(),
        )
        self.team_name = widgets.Text(
            description="Team name", placeholder="e.g. City North GPs", style=STYLE, layout=wide()
        )
        self.role = widgets.Dropdown(
            options=[(label, key) for key, label in engine.ROLE_LABELS.items()],
            value=engine.DEFAULT_ROLE,
            description="Your role",
            style=STYLE,
            layout=wide(),
        )
        self.locality = widgets.Dropdown(
            options=list(engine.LOCALITIES),
            value=engine.LOCALITIES[0],
            description="Locality (your cluster of practices)",
            style=STYLE,
            layout=wide(),
        )
        self.workshop_hint = widgets.HTML()
        self.join_button = make_button("Join the workshop", "primary", "sign-in")
        self.mode = widgets.ToggleButtons(
            options=[("Join as a new team", JOIN), ("Rejoin my team", REJOIN)],
            value=JOIN,
            tooltips=[
                "Your team hasn't joined this workshop yet",
                "Your team joined earlier: come back with your rejoin key",
            ],
            style={"button_width": "auto"},
        )
        self.rejoin_key = widgets.Text(
            description="Rejoin key", placeholder="e.g. HX4M-9TQC-R2WP", style=STYLE,
            layout=wide(),
        )
        self.rejoin_button = make_button("Rejoin the workshop", "primary", "sign-in")
        self.join_help = widgets.HTML()
        self.code.observe(lambda _: self._look_up_code(), names="value")
        self.role.observe(lambda _: self._show_role(), names="value")
        self.mode.observe(lambda _: self._show_mode(), names="value")
        self.join_button.on_click(lambda _: self._join())
        self.rejoin_button.on_click(lambda _: self._rejoin())
        self.join_box = widgets.VBox(
            [
                widgets.HTML("<h2>Join the workshop</h2>"),
                self.mode,
                self.join_help,
                self.code,
                self.workshop_hint,
                self.team_name,
                self.role,
                self.locality,
                self.rejoin_key,
                self.join_button,
                self.rejoin_button,
            ]
        )
        self._show_mode()

    def _build_joined(self) -> None:
        self.heading = widgets.HTML()
        self.welcome_html = widgets.HTML()
        self.key_html = widgets.HTML()
        self._key_shown = False
        self.key_toggle = make_button("Hide our rejoin key", "", "key")
        self.key_toggle.on_click(lambda _: self._show_key(not self._key_shown))
        self.state_line = widgets.HTML()
        self.refresh_button = make_button("Refresh", "", "refresh")
        self.refresh_button.on_click(lambda _: self._refresh_from_store())
        # decisions
        self.controls: dict[str, widgets.Widget] = {}
        self.cost_labels: dict[str, widgets.HTML] = {}
        rows = []
        for key, spec in engine.decision_options().items():
            control = self._decision_control(spec)
            control.observe(lambda _: self._controls_changed(), names="value")
            self.controls[key] = control
            self.cost_labels[key] = widgets.HTML(layout=widgets.Layout(margin="0 0 0 8px"))
            self.cost_labels[key].add_class("pbc-ws-cost")
            help_text = (
                f'<p class="pbc-ws-help">{html.escape(spec["help"])} '
                f"<em>Source: {html.escape(spec['source'])}</em></p>"
            )
            row = widgets.VBox(
                [
                    widgets.HBox([control, self.cost_labels[key]],
                                 layout=widgets.Layout(flex_flow="row wrap")),
                    widgets.HTML(help_text),
                ]
            )
            row.add_class("pbc-ws-decision")
            rows.append(row)
        self.total_html = widgets.HTML()
        self.submit_button = make_button("Submit our decisions", "primary", "check")
        self.submit_button.on_click(lambda _: self._submit())
        self.receipt_html = widgets.HTML()
        self.decisions_box = widgets.VBox(
            [widgets.HTML("<h2>Your decisions</h2>"), *rows, self.total_html,
             self.submit_button, self.receipt_html],
            layout=widgets.Layout(display="none"),
        )
        # results
        self.results_round = widgets.Dropdown(
            options=[("No results yet", 0)], value=0, description="Results for", style=STYLE
        )
        self.results_round.observe(lambda _: self._show_results(), names="value")
        self.own_html = widgets.HTML()
        # Chart views join the page when they first have a chart (an empty one is never shown).
        self.league_view = ChartView(narrow_width=None)
        self.league_box = widgets.VBox([])
        self.league_html = widgets.HTML()
        self.results_box = widgets.VBox(
            [widgets.HTML("<h2>Results</h2>"), self.results_round, self.own_html,
             self.league_box, self.league_html],
            layout=widgets.Layout(display="none"),
        )
        # data pack
        self.pack_intro = widgets.HTML()
        self.rates_view = ChartView(narrow_width=None)
        self.rates_box = widgets.VBox([])
        self.pack_tables = widgets.HTML()
        self.pack_box = widgets.VBox(
            [self.pack_intro, self.rates_box, self.pack_tables],
            layout=widgets.Layout(display="none"),
        )
        # the PCT's and the trust's views before results
        self.overview_html = widgets.HTML()
        self.joined_box = widgets.VBox(
            [widgets.HTML(KEY_CSS), self.heading, self.welcome_html, self.key_html,
             self.key_toggle, self.state_line, self.refresh_button, self.decisions_box,
             self.results_box, self.pack_box, self.overview_html],
            layout=widgets.Layout(display="none"),
        )

    @staticmethod
    def _decision_control(spec: dict[str, Any]) -> widgets.Widget:
        layout = widgets.Layout(width="440px", max_width="100%")
        if spec["kind"] == "choice":
            layout = widgets.Layout(width="640px", max_width="100%")
            return widgets.Dropdown(
                options=[(o["label"], o["value"]) for o in spec["options"]],
                value=spec["default"], description=spec["label"], style=STYLE, layout=layout,
            )
        if spec["kind"] == "int":
            return widgets.IntSlider(
                value=spec["default"], min=spec["min"], max=spec["max"], step=spec["step"],
                description=spec["label"], style=STYLE, layout=layout, continuous_update=False,
            )
        return widgets.Checkbox(
            value=bool(spec["default"]), description=spec["label"], indent=False,
            layout=widgets.Layout(width="auto", max_width="100%"),
        )

    # --- joining ----------------------------------------------------------------------------
    def _look_up_code(self) -> None:
        """Offer the workshop's own localities once a valid code is typed (quietly otherwise)."""
        if self._session is not None:
            return
        try:
            info = self.stores.store.workshop(self.code.value)
            scenario = engine.Scenario.from_dict(info.scenario)
        except Exception as exc:  # noqa: BLE001 - a half-typed code: say nothing until Join
            log.debug("Join code lookup: %s", exc)
            self.workshop_hint.value = ""
            return
        localities = list(scenario.localities)
        if list(self.locality.options) != localities:
            keep = self.locality.value if self.locality.value in localities else localities[0]
            self.locality.options = localities
            self.locality.value = keep
        self.workshop_hint.value = note_html(f"Workshop found: {info.name}.", "pbc-ws-help")

    def _show_role(self) -> None:
        joining = self.mode.value == JOIN
        self.locality.layout.display = (
            None if joining and self.role.value == "cluster" else "none"
        )

    def _show_mode(self) -> None:
        """New team: code, name, role, locality. Rejoin: code, name and the rejoin key."""
        joining = self.mode.value == JOIN
        for w in (self.role, self.join_button):
            w.layout.display = None if joining else "none"
        for w in (self.rejoin_key, self.rejoin_button):
            w.layout.display = "none" if joining else None
        self._show_role()
        self.join_help.value = note_html(
            "Type the join code on the facilitator's slide, a name for your team and your role. "
            "A locality cluster runs its practices' commissioning; the PCT and the acute trust "
            "watch the whole picture."
            if joining
            else "Type the join code, your team name as you joined and the rejoin key you wrote "
            "down. Your decisions and results come back. Lost the key? Ask the facilitator for "
            "a new one.",
            "pbc-ws-help",
        )

    def _join(self) -> None:
        if self._session is not None:
            return
        with guard(self.errors, what="joining a workshop"):
            store = self.stores.store
            info = store.workshop(self.code.value)
            scenario = engine.Scenario.from_dict(info.scenario)
            role = self.role.value
            locality = self.locality.value if role == "cluster" else None
            if role == "cluster" and locality not in scenario.localities:
                raise engine.WorkshopError(
                    f"{locality} is not one of this workshop's localities. Choose from: "
                    f"{', '.join(scenario.localities)}."
                )
            session = store.join(self.code.value, self.team_name.value, role, locality)
            self._enter(session, scenario, rejoined=False)

    def _rejoin(self) -> None:
        """Back in as a team that joined earlier: join code, team name and rejoin key."""
        if self._session is not None:
            return
        with guard(self.errors, what="rejoining a workshop"):
            store = self.stores.store
            session = store.resume(self.code.value, self.team_name.value, self.rejoin_key.value)
            scenario = engine.Scenario.from_dict(store.workshop(session.workshop_id).scenario)
            self._enter(session, scenario, rejoined=True)

    def _enter(self, session: Any, scenario: engine.Scenario, *, rejoined: bool) -> None:
        """Joined or rejoined: show the rejoin key, then the team's view from the store."""
        self._session = session
        self.scenario = scenario
        self.rejoin_key.value = ""  # the key is shown in its own box, not left in the form
        self.join_box.layout.display = "none"
        self.joined_box.layout.display = None
        self.welcome_html.value = note_html(
            f"Welcome back, {' '.join(session.name.split())}: your decisions and results are "
            "as you left them."
            if rejoined
            else f"You have joined as {' '.join(session.name.split())}."
        )
        self._show_key(True)
        self._poll()
        self.ticker.playing = self.view["workshop"]["round_state"] != "finished"

    def _show_key(self, shown: bool) -> None:
        """The rejoin key in large type (or hidden, with a button to show it again)."""
        if self._session is None:
            return
        self._key_shown = shown
        self.key_toggle.description = "Hide our rejoin key" if shown else "Show our rejoin key"
        self.key_html.value = (
            '<div class="pbc-ws-code-box"><p>Your team\'s rejoin key</p>'
            f'<p class="pbc-join-code pbc-rejoin-key" aria-label="Rejoin key">'
            f"{escape(self._session.token)}</p>"
            f"<p><strong>{html.escape(KEY_NOTE)}</strong></p></div>"
            if shown
            else ""
        )

    @property
    def rejoin_key_text(self) -> str:
        """This team's rejoin key (empty before joining)."""
        return self._session.token if self._session is not None else ""

    @property
    def joined(self) -> bool:
        """Whether this page has joined a workshop."""
        return self._session is not None

    @property
    def is_cluster(self) -> bool:
        return self._session is not None and self._session.role == "cluster"

    def close(self) -> None:
        """Stop the automatic refresh (the page closing stops it too)."""
        self.ticker.playing = False

    # --- refreshing -------------------------------------------------------------------------
    def refresh(self) -> None:
        """Recompute each decision's cost and the total (no store access)."""
        with guard(self.errors, what="costing the team's decisions"):
            self._show_costs()

    def _controls_changed(self) -> None:
        if not self._quiet:
            self.refresh()

    def _refresh_from_store(self) -> None:
        with guard(self.errors, what="refreshing the team app"):
            self._poll()

    def _tick(self) -> None:
        with guard(self.poll_errors, what="automatic refresh of the team app"):
            self.check_controls()
            self._poll()

    def _poll(self) -> None:
        if self._session is None:
            return
        s = self._session
        self.view = self.stores.store.team_view(s.team_id, s.token)
        ws = self.view["workshop"]
        rnd, state = ws["current_round"], ws["round_state"]
        revealed = tuple(self.view["revealed_rounds"])
        self._show_heading()
        self._show_state()
        self._show_receipt()
        key = (rnd, state, revealed)
        if state == "finished":
            self.ticker.playing = False  # nothing will change any more
        if key == self._key:
            return
        self._key = key
        if state == "open" and self._prefilled != rnd:
            self._prefill(rnd)
        self._update_pack()
        self.decisions_box.layout.display = None if state == "open" and self.is_cluster else "none"
        self._update_results()
        self.refresh()

    @property
    def pack_round(self) -> int:
        """The round the data pack and the costs are for: the open round, else the next one."""
        ws = self.view.get("workshop", {})
        rnd, state = ws.get("current_round", 0), ws.get("round_state", "not_started")
        rounds = ws.get("rounds", 1)
        if state == "revealed" and rnd < rounds:
            return rnd + 1
        return max(rnd, 1)

    def decisions(self) -> dict[str, Any]:
        """The decisions as the controls hold them."""
        return {key: control.value for key, control in self.controls.items()}

    def last_submitted(self, upto: int) -> int | None:
        """The latest round up to ``upto`` this team submitted decisions for (None if none)."""
        rounds = [r for r in self.view.get("submissions", {}) if int(r) <= upto]
        return max(rounds) if rounds else None

    def _prefill(self, rnd: int) -> None:
        """Set the controls to what the team would play if it submitted nothing more: this
        round's own submission, else the one it last submitted, else the defaults."""
        source = self.last_submitted(rnd)
        chosen = self.view["submissions"][source]["decisions"] if source else {}
        try:
            values = engine.validate_decisions(chosen or {})
        except engine.WorkshopError:
            values = engine.default_decisions()
        self._quiet = True
        try:
            for key, control in self.controls.items():
                control.value = values[key]
        finally:
            self._quiet = False
        self._prefilled = rnd

    def _previous(self, locality: str, round_no: int) -> dict | None:
        """This team's outcome of the round before ``round_no`` (defaults replayed if none)."""
        if round_no <= 1:
            return None
        mine = self.view.get("results", {}).get(round_no - 1)
        if mine is not None and self.is_cluster and mine.get("locality") == locality:
            return mine
        played = [engine.default_decisions()] * (round_no - 1)
        return engine.replay(self.scenario, locality, played)[-1]

    # --- what the team sees -----------------------------------------------------------------
    def _show_heading(self) -> None:
        s, ws = self._session, self.view["workshop"]
        where = f", {escape(s.locality)}" if s.locality else ""
        self.heading.value = (
            f"<h2>{escape(s.name)}</h2>"
            f"<p>{html.escape(ROLE_NAMES.get(s.role, s.role))}{where}, in the workshop "
            f"<strong>{escape(ws['name'])}</strong> ({ws['rounds']} round(s) from "
            f"{engine.round_year(1)}).</p>" + note_html(RESTART_NOTE, "pbc-ws-help")
        )

    def status_text(self) -> str:
        """The status line as plain text."""
        ws = self.view["workshop"]
        rnd, state, rounds = ws["current_round"], ws["round_state"], ws["rounds"]
        year = engine.round_year(rnd) if rnd else ""
        mine = self.view.get("submissions", {}).get(rnd) if rnd else None
        if state == "not_started":
            return "Waiting for the facilitator to open round 1. Meanwhile, read your data pack."
        if state == "finished":
            return "The workshop has finished. Thank you for taking part."
        if state == "open":
            text = f"Round {rnd} of {rounds} ({year}) is open: choose your decisions and submit."
            if not self.is_cluster:
                return f"Round {rnd} of {rounds} ({year}) is open: the clusters are deciding."
            if mine:
                text += (
                    f" Submitted at {clock(mine['submitted_at'])} (revision {mine['revision']}). "
                    "You can change your decisions and submit again until the round closes."
                )
            else:
                text += " Not submitted yet."
            return text
        if state == "closed":
            text = f"Round {rnd} ({year}) is closed: waiting for the facilitator to reveal results."
            if self.is_cluster:
                text += f" Your submission of {clock(mine['submitted_at'])} stands." if mine else (
                    " No decisions were received from your team this round: "
                    + self._kept_text(rnd)
                )
            return text
        nxt = f" Waiting for round {rnd + 1} to open." if rnd < rounds else (
            " That was the last round: the facilitator will lead the debrief."
        )
        return f"Round {rnd}'s results ({year}) are revealed below.{nxt}"

    def _kept_text(self, rnd: int) -> str:
        source = self.last_submitted(rnd - 1)
        if source:
            return f"it keeps its round {source} decisions."
        return "it plays the default decisions (no changes)."

    def _show_receipt(self) -> None:
        """What the store holds for this team in the open round (so a rejoined page shows it)."""
        ws = self.view.get("workshop", {})
        rnd = ws.get("current_round", 0)
        mine = self.view.get("submissions", {}).get(rnd) if rnd else None
        if not self.is_cluster or ws.get("round_state") != "open":
            self.receipt_html.value = ""
            return
        if mine is None:
            self.receipt_html.value = note_html(
                "Not submitted yet. If your team submits nothing this round, "
                + self._kept_text(rnd),
                "pbc-ws-help",
            )
            return
        played = engine.decision_options()
        chosen = "; ".join(
            f"{spec['label']}: {decision_label(key, mine['decisions'].get(key, spec['default']))}"
            for key, spec in played.items()
        )
        self.receipt_html.value = note_html(
            f"Your submission for round {rnd}, at {clock(mine['submitted_at'])} (revision "
            f"{mine['revision']}): {chosen}. You can change your decisions and submit again "
            "until the facilitator closes the round."
        )

    def _show_state(self) -> None:
        self.state_line.value = (
            f'<p class="pbc-ws-status" role="status">{html.escape(self.status_text())}</p>'
            f'<p class="pbc-ws-help">Updated automatically every {REFRESH_SECONDS} seconds.</p>'
        )

    def _show_costs(self) -> None:
        if not self.is_cluster or self.scenario is None:
            return
        decisions = engine.validate_decisions(self.decisions())
        rnd = self.pack_round
        self.costs = engine.decision_costs(self.scenario, self._session.locality, decisions, rnd)
        freed_up = float((self.pack or {}).get("freed_up_available_gbp", 0.0))
        for key, label in self.cost_labels.items():
            label.value = html.escape(_cost_text(key, self.costs, freed_up))
        budget = (self.pack or {}).get("budget", {})
        top_slice = self.costs["risk_share"]
        offset = (
            f" The stop-loss top-slice of {gbp(top_slice)} is offset by the PCT paying costs "
            f"above {engine.STOP_LOSS_TEXT}, so it adds nothing here."
            if top_slice > 0
            else ""
        )
        self.total_html.value = (
            f'<p class="pbc-ws-status">Net cost of these decisions in round {rnd} '
            f"({engine.round_year(rnd)}): <strong>{gbp(engine.net_decision_cost(self.costs))}"
            f"</strong>, from an indicative budget of {gbp(budget.get('indicative_budget_gbp'))}."
            f"{html.escape(offset)} Savings they bring show in the results.</p>"
        )

    def _submit(self) -> None:
        if not self.is_cluster:
            log.info("Ignored a submission from a page that has not joined as a cluster")
            return
        with guard(self.errors, what="submitting a team's decisions"):
            decisions = engine.validate_decisions(self.decisions())
            rnd = self.view["workshop"]["current_round"]
            self.stores.store.submit(self._session.team_id, self._session.token, rnd, decisions)
            self._poll()  # the receipt: what the store now holds

    # --- the data pack ----------------------------------------------------------------------
    def _update_pack(self) -> None:
        rnd = self.pack_round
        ws = self.view.get("workshop", {})
        key = (rnd, tuple(self.view.get("revealed_rounds", ())), ws.get("current_round"))
        if key == self._pack_key:
            return
        self._pack_key = key
        if self.is_cluster:
            self._cluster_pack(rnd)
            self.overview_html.value = ""
        else:
            self.pack = None
            self.pack_box.layout.display = "none"
            self.overview_html.value = self._overview(rnd)

    def _cluster_pack(self, rnd: int) -> None:
        locality = self._session.locality
        self.pack = engine.data_pack(self.scenario, locality, rnd, self._previous(locality, rnd))
        p = self.pack
        highlights = "".join(f"<li>{html.escape(h)}</li>" for h in p["highlights"])
        events = events_html(self.view["workshop"].get("events", []))
        self.pack_intro.value = (
            f"<h2>Your data pack: {escape(locality)}, {p['year']}</h2>"
            f"<p>{p['summary']['practices']} practices, {number(p['summary']['list_size'])} "
            f"registered patients. Activity is for {p['activity_year']}, the last full year.</p>"
            f"<ul>{highlights}</ul><h3>Events so far</h3>{events}"
        )
        rates = pd.DataFrame(
            [
                {"measure": r["label"], "unit": r["unit"], "practice_rate": r["locality"],
                 "pct_rate": r["pct_average"]}
                for r in p["activity"]
                if r["unit"] == "per 1,000 patients"
            ]
        )
        chart = charts.rate_comparison(
            rates, locality, title=f"{locality}: activity against the PCT average",
            subtitle=f"Per 1,000 registered patients, {p['activity_year']}", source=SOURCE,
            width=charts.ONE_SIZE_WIDTH - 60,
        )
        table = rates.rename(
            columns={"measure": "Measure", "unit": "Unit", "practice_rate": locality,
                     "pct_rate": "PCT average"}
        )
        self.rates_view.update(chart, table, formats={locality: "number1",
                                                      "PCT average": "number1"})
        self.rates_box.children = [self.rates_view]
        self.pack_tables.value = self._pack_tables(p)
        self.pack_box.layout.display = None

    @staticmethod
    def _pack_tables(p: dict[str, Any]) -> str:
        b, w, risk = p["budget"], p["waiting"], p["risk"]
        money = pd.DataFrame(
            [
                ("Indicative budget", gbp(b["indicative_budget_gbp"])),
                ("Per registered patient", gbp(b["budget_per_patient_gbp"])),
                ("Fair share (capitation target)", gbp(b["fair_share_target_gbp"])),
                ("Distance from fair share", pct(b["distance_from_target"])),
                ("Growth allowance in the budget", gbp(b["growth_allowance_gbp"])),
                ("Expected spend if nothing changes", gbp(b["expected_spend_gbp"])),
                ("Expected underspend (+) or overspend (−)", gbp(b["expected_variance_gbp"])),
                ("Freed-up resources to spend this round", gbp(p["freed_up_available_gbp"])),
                ("Share of an underspend the practices keep", pct(b["savings_share"], 0)),
                ("Admitted patients waiting at the start", number(w["admitted_list_at_start"])),
                ("Treated within 18 weeks last year", pct(w["rtt_within_18_weeks_last_year"])),
                ("Chance of overspending if nothing changes",
                 pct(risk["chance_of_overspend_if_no_change"], 0)),
                ("A 1-in-20 bad year could add (own risk)", gbp(risk["own_risk_carried_gbp"])),
                ("Stop-loss top-slice, offset by the PCT paying costs above "
                 f"{engine.STOP_LOSS_TEXT}",
                 gbp(risk["stop_loss_top_slice_gbp"])),
            ],
            columns=["Item", "Value"],
        )
        practices = pd.DataFrame(
            [
                {
                    "Practice": r["practice_name"],
                    "List size": r["list_size"],
                    "Need index": r["need_index"],
                    "Aged 65+": r["aged_65_plus_share"],
                    "Indicative budget (£)": r["indicative_budget_gbp"],
                    "Fair share (£)": r["fair_share_target_gbp"],
                    "Distance from fair share": r["distance_from_target"],
                }
                for r in p["practices"]
            ]
        )
        formats = {"List size": "number", "Need index": "number2", "Aged 65+": "pct",
                   "Indicative budget (£)": "gbp", "Fair share (£)": "gbp",
                   "Distance from fair share": "pct"}
        sources = "".join(f"<li>{html.escape(s)}</li>" for s in p["sources"])
        return (
            '<div class="pbc-table-wrap">'
            + table_html(money, {"Value": "text"}, f"Budget, waiting and risk, {p['year']}")
            + table_html(practices, formats, "Your practices")
            + "</div>"
            + f'<details><summary>Sources</summary><ul class="pbc-ws-help">{sources}</ul>'
            "</details>"
        )

    def _overview(self, rnd: int) -> str:
        """The PCT's or the trust's view of every locality before results (modest but real)."""
        rows = []
        for loc in self.scenario.localities:
            p = engine.data_pack(self.scenario, loc, rnd, self._previous(loc, rnd))
            lines = {line["item"]: line for line in p["expected_spend"]}
            rows.append(
                {
                    "Locality": loc,
                    "Patients": p["summary"]["list_size"],
                    "Indicative budget (£)": p["budget"]["indicative_budget_gbp"],
                    "Distance from fair share": p["budget"]["distance_from_target"],
                    "Expected spend (£)": p["budget"]["expected_spend_gbp"],
                    "Expected first outpatients": lines["op_first"]["count"],
                    "Expected elective admissions": lines["elective_inpatient"]["count"]
                    + lines["day_case"]["count"],
                    "Expected emergency admissions": lines["non_elective"]["count"],
                }
            )
        frame = pd.DataFrame(rows)
        year = engine.round_year(rnd)
        if self._session.role == "pct":
            cols = ["Locality", "Patients", "Indicative budget (£)", "Distance from fair share",
                    "Expected spend (£)"]
            title = f"The PCT's view: every locality's budget, {year}"
            text = ("You hold the real budget. Each cluster's indicative budget against its fair "
                    "share, and what it would spend if nothing changed. After each round, the "
                    "PCT-wide results appear above.")
        else:
            cols = ["Locality", "Patients", "Expected first outpatients",
                    "Expected elective admissions", "Expected emergency admissions"]
            title = f"The acute trust's view: activity to expect, {year}"
            text = ("You are paid at tariff for what the clusters send you. The activity each "
                    "locality would bring if nothing changed; after each round, your income, "
                    "admissions and 18-week performance appear above.")
        formats = {c: "gbp" if "£" in c else "pct" if "Distance" in c else "number"
                   for c in cols[1:]}
        return (
            f"<h2>{html.escape(title)}</h2><p>{html.escape(text)}</p>"
            f'<div class="pbc-table-wrap">{table_html(frame[cols], formats, title)}</div>'
            + source_caption(SOURCE)
        )

    # --- results ----------------------------------------------------------------------------
    def _update_results(self) -> None:
        revealed = list(self.view.get("revealed_rounds", []))
        if not revealed:
            self.results_box.layout.display = "none"
            return
        options = [(f"Round {r} ({engine.round_year(r)})", r) for r in revealed]
        self._quiet = True
        try:
            self.results_round.options = options
            self.results_round.value = revealed[-1]
        finally:
            self._quiet = False
        self.results_box.layout.display = None
        self._show_results()

    def league(self, round_no: int) -> dict[str, dict]:
        """Every team's revealed outcome for a round, by team name."""
        return {
            row["team"]: row["outcome"]
            for row in self.view.get("league", [])
            if row["round"] == round_no
        }

    def _show_results(self) -> None:
        if self._quiet or not self.results_round.value:
            return
        with guard(self.errors, what="showing a round's results"):
            rnd = int(self.results_round.value)
            outcomes = self.league(rnd)
            if self.is_cluster:
                self.own_html.value = self._own_results(rnd)
            elif outcomes:
                self.own_html.value = self._summary_results(rnd, outcomes)
            else:
                self.own_html.value = "<p>No cluster's results for this round.</p>"
            self._league(rnd, outcomes)

    def _own_results(self, rnd: int) -> str:
        o = self.view.get("results", {}).get(rnd)
        if o is None:
            return "<p>Your team has no result for this round (it joined later).</p>"
        variance = o["variance_gbp"]
        rows = [
            ("Indicative budget", gbp(o["indicative_budget_gbp"])),
            ("Spend", gbp(o["spend_gbp"])),
            ("Underspend" if variance >= 0 else "Overspend", gbp(abs(variance))),
            ("Freed-up resources kept for next round", gbp(o["freed_up_gbp"])),
            ("Freed-up resources spent this round", gbp(o["bought"]["amount_gbp"])),
            ("What they bought", bought_label(o["bought"])),
            ("Emergency admissions", number(o["emergency_admissions"])),
            ("Emergency admissions per 1,000 patients", number(o["emergency_per_1000"], 1)),
            ("Admitted patients treated within 18 weeks", pct(o["rtt_within_18_weeks"])),
            ("Risk taken", o["risk_taken"]),
            ("Chance of overspending at the start", pct(o["risk_of_overspend"], 0)),
        ]
        table = table_html(pd.DataFrame(rows, columns=["Item", "Value"]), {"Value": "text"},
                           f"Your results, round {rnd} ({o['year']})")
        notes = [html.escape(n) for n in o.get("notes", [])]
        if not o.get("submitted", True):
            source = o.get("decisions_from_round")
            notes.insert(0, html.escape(
                f"Your team did not submit in round {rnd}: it kept its round {source} decisions."
                if source
                else f"Your team did not submit in round {rnd}: it played the default decisions "
                "(no changes)."
            ))
        items = "".join(f"<li>{n}</li>" for n in notes)
        return (
            f'<div class="pbc-table-wrap">{table}</div><h3>What happened</h3><ul>{items}</ul>'
        )

    def _summary_results(self, rnd: int, outcomes: dict[str, dict]) -> str:
        s = engine.pct_summary(outcomes)
        if self._session.role == "pct":
            rows = [
                ("Teams (clusters)", number(s["teams"])),
                ("Indicative budgets, all clusters", gbp(s["indicative_budget_gbp"])),
                ("Spend, all clusters", gbp(s["spend_gbp"])),
                ("Underspend (+) or overspend (−)", gbp(s["variance_gbp"])),
                ("As a share of the budgets", pct(s["variance_share"])),
                ("Clusters that overspent", number(s["teams_overspent"])),
                ("Freed-up resources the practices keep", gbp(s["freed_up_gbp"])),
                ("Emergency admissions per 1,000", number(s["emergency_per_1000"], 1)),
                ("Treated within 18 weeks (admitted)", pct(s["rtt_within_18_weeks"])),
                (f"Clusters meeting the {engine.RTT_STANDARD_TEXT} standard",
                 number(s["teams_meeting_rtt_standard"])),
                ("Clusters in a risk share", number(s["teams_in_risk_share"])),
            ]
            caption = f"The PCT's view, round {rnd} ({s['year']})"
        else:
            t = s["acute_trust"]
            rows = [
                ("Income from the clusters at tariff", gbp(t["income_gbp"])),
                ("Emergency admissions", number(t["emergency_admissions"])),
                ("Admitted pathways (elective and day case)", number(t["admitted_pathways"])),
                ("Patients still waiting (admitted)", number(t["waiting_list"])),
                ("Treated within 18 weeks (admitted)", pct(t["rtt_within_18_weeks"])),
            ]
            caption = f"The acute trust's view, round {rnd} ({s['year']})"
        note = (
            " Two or more teams played the same locality, so these totals add parallel worlds."
            if s["shared_localities"] else ""
        )
        table = table_html(pd.DataFrame(rows, columns=["Item", "Value"]), {"Value": "text"},
                           caption)
        return f'<div class="pbc-table-wrap">{table}</div>' + (
            f"<p>{html.escape(note.strip())}</p>" if note else ""
        )

    def _league(self, rnd: int, outcomes: dict[str, dict]) -> None:
        if not outcomes:
            self.league_box.children = []
            self.league_html.value = ""
            return
        own = self._session.name if self.is_cluster and self._session.name in outcomes else None
        frame = pd.DataFrame(
            [
                {
                    "team": team,
                    "locality": o["locality"],
                    "variance": o["variance_gbp"],
                    "spend": o["spend_gbp"],
                    "rtt": o["rtt_within_18_weeks"],
                    "emergency": o["emergency_per_1000"],
                    "risk": o["risk_taken"],
                }
                for team, o in outcomes.items()
            ]
        )
        year = engine.round_year(rnd)
        if self._session.role == "acute_trust":
            chart = charts.ranked_bar(
                frame, "rtt", "team", own, value_title="Admitted patients within 18 weeks (%)",
                label_title="Team", title=f"18-week performance by team, {year}",
                subtitle="Every cluster, side by side", source=SOURCE, value_format=".0%",
                width=charts.ONE_SIZE_WIDTH - 60,
            )
        else:
            chart = charts.ranked_bar(
                frame, "variance", "team", own,
                value_title="Underspend (+) or overspend (−) (£)", label_title="Team",
                title=f"Every team's underspend or overspend, {year}",
                subtitle="Your team is highlighted" if own else "Every cluster, side by side",
                source=SOURCE, value_format="$,.0f", width=charts.ONE_SIZE_WIDTH - 60,
            )
        table = frame.rename(
            columns={"team": "Team", "locality": "Locality",
                     "variance": "Underspend (+) or overspend (−) (£)", "spend": "Spend (£)",
                     "rtt": "Within 18 weeks", "emergency": "Emergency admissions per 1,000",
                     "risk": "Risk taken"}
        )
        formats = {"Locality": "text", "Underspend (+) or overspend (−) (£)": "gbp",
                   "Spend (£)": "gbp", "Within 18 weeks": "pct",
                   "Emergency admissions per 1,000": "number1", "Risk taken": "text"}
        self.league_view.update(chart, table, formats=formats)
        self.league_box.children = [self.league_view]
        self.league_html.value = (
            '<div class="pbc-table-wrap">'
            + table_html(table, formats, f"Every team's results, round {rnd} ({year})")
            + "</div>"
        )
