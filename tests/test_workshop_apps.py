"""Workshop mode's two apps driven headless on a temporary SQLite store: a facilitator console and
three team apps run a 2-round workshop end to end; bad input gets a plain-English message in the
app's panel (never an exception); names are escaped wherever they are shown; the exports hold
everything."""

from __future__ import annotations

import html
import io
import re
import zipfile

import openpyxl
import pytest

from pbc_lib import charts
from pbc_lib.apps import workshop_console as wc
from pbc_lib.apps.base import walk
from pbc_lib.apps.workshop_console import FacilitatorConsole
from pbc_lib.apps.workshop_team import TeamApp
from pbc_lib.ui import GENERIC_ERROR
from pbc_lib.workshop import engine
from pbc_lib.workshop import store as store_mod
from pbc_lib.workshop.store import CODE_ALPHABET, open_store

PASSPHRASE = "correct horse battery"
MARKUP_NAME = "<b>Team</b> & co"
ESCAPED_NAME = "&lt;b&gt;Team&lt;/b&gt; &amp; co"
TEAMS = (  # name, locality, decisions
    (MARKUP_NAME, "City Centre", {"case_managers": 4, "priority": "older_people"}),
    ("North GPs", "City North", {"referral_management": "msk_icats", "risk_share": "pool"}),
    ("Dales", "Fellside Dales", {"prescribing_initiative": True, "risk_share": "stop_loss"}),
)
KEY_RE = re.compile(rf"[{CODE_ALPHABET}]{{4}}-[{CODE_ALPHABET}]{{4}}-[{CODE_ALPHABET}]{{4}}")
PLAY_KEYS = ("submitted", "decisions_from_round")  # what the console adds to engine outcomes


def played(outcome: dict) -> dict:
    """An outcome without the console's record of where its decisions came from."""
    return {k: v for k, v in outcome.items() if k not in PLAY_KEYS}


def carried_plan(stored: dict[int, dict], rounds: int) -> list[dict]:
    """The decisions a team plays: each round's submission, else the last one, else defaults."""
    plan, current = [], engine.default_decisions()
    for r in range(1, rounds + 1):
        if r in stored:
            current = engine.validate_decisions(stored[r])
        plan.append(current)
    return plan


@pytest.fixture
def store(tmp_path):
    s = open_store(tmp_path / "workshop.sqlite")
    yield s
    s.close()


def create(console: FacilitatorConsole, rounds: int = 2, name: str = "Away day") -> str:
    console.name.value = name
    console.new_passphrase.value = PASSPHRASE
    console.new_passphrase_again.value = PASSPHRASE
    console.rounds.value = rounds
    console.create_button.click()
    assert not console.errors.visible, console.errors.message
    return console.info.join_code


def rejoin(store, code: str, name: str, key: str) -> TeamApp:
    """A new page (or a restarted kernel) coming back with the team's rejoin key."""
    team = TeamApp(store=store)
    team.mode.value = "rejoin"
    team.code.value = code
    team.team_name.value = name
    team.rejoin_key.value = key
    team.rejoin_button.click()
    return team


def join(store, code: str, name: str, locality: str = "City Centre", role: str = "cluster"):
    team = TeamApp(store=store)
    team.code.value = code
    team.team_name.value = name
    team.role.value = role
    if role == "cluster":
        team.locality.value = locality
    team.join_button.click()
    return team


def submit(team: TeamApp, decisions: dict) -> None:
    team._refresh_from_store()
    for key, value in decisions.items():
        team.controls[key].value = value
    team.submit_button.click()
    assert not team.errors.visible, team.errors.message


def symbol_marks(svg: str) -> int:
    groups = re.findall(r'<g class="mark-symbol role-mark[^"]*"[^>]*>(.*?)</g>', svg, re.S)
    return sum(len(re.findall(r"<path\b", g)) for g in groups)


@pytest.fixture
def workshop(store):
    """A console and three cluster teams, joined, with round 1 not yet open."""
    console = FacilitatorConsole(store=store)
    code = create(console)
    teams = [join(store, code, name, locality) for name, locality, _ in TEAMS]
    for team in teams:
        assert team.joined and not team.errors.visible, team.errors.message
    return console, teams


# --- a whole workshop ----------------------------------------------------------------------------
def test_a_three_team_two_round_workshop_end_to_end(store, workshop):
    console, teams = workshop
    assert console.failed is None and all(t.failed is None for t in teams)
    console.refresh()
    assert "Round 1 not open yet" in console.teams_html.value
    console.open_button.click()
    assert "Round 1 of 2 (2007/08) is open" in console.state_line.value

    for team, (_, _, decisions) in zip(teams, TEAMS, strict=True):
        submit(team, decisions)
        assert re.search(r"Submitted at \d\d:\d\d \(revision 1\)", team.status_text())
    submit(teams[0], {**TEAMS[0][2], "case_managers": 6})  # a change of mind while open
    assert "(revision 2)" in teams[0].status_text()
    console.refresh()
    assert console.teams_html.value.count("\u2713") == 3
    assert "3 of 3 team(s) have submitted" in console.state_line.value

    console.close_button.click()
    console.reveal_button.click()
    assert not console.errors.visible, console.errors.message
    assert "Every cluster team submitted" in console.reveal_note.value

    # Round 2: the Dales do not submit and keep their round 1 decisions.
    console.open_button.click()
    submit(teams[0], {"freed_up_use": "community_services"})
    submit(teams[1], {"freed_up_use": "outpatient_capacity"})
    teams[2]._refresh_from_store()
    assert teams[2].decisions() == engine.validate_decisions(TEAMS[2][2])  # preloaded
    assert "If your team submits nothing this round, it keeps its round 1 decisions" in (
        teams[2].receipt_html.value
    )
    console.close_button.click()
    teams[2]._refresh_from_store()
    assert "No decisions were received from your team this round: it keeps its round 1 " in (
        teams[2].status_text()
    )
    console.reveal_button.click()
    assert not console.errors.visible, console.errors.message
    assert "Team Dales did not submit in round 2: it kept its round 1 decisions." in (
        console.reveal_note.value
    )

    # Every stored outcome replays exactly, from the stored submissions (carried forward) and
    # from the decisions each outcome says were played.
    rows = store.debrief(console.info.id, console.console_id)
    assert len(rows) == 6
    scenario = engine.Scenario.from_dict(console.info.scenario)
    for team, (name, locality, _) in zip(teams, TEAMS, strict=True):
        stored = store.all_decisions(console.info.id, team._session.team_id)
        plan = carried_plan(stored, 2)
        expected = engine.replay(scenario, locality, plan)
        mine = sorted((r for r in rows if r["team"] == name), key=lambda r: r["round"])
        assert [m["outcome"]["decisions"] for m in mine] == plan
        from_outcomes = engine.replay(scenario, locality, [m["outcome"]["decisions"] for m in mine])
        for got, want, again in zip(mine, expected, from_outcomes, strict=True):
            assert played(got["outcome"]) == want == again
    dales = [r["outcome"] for r in rows if r["team"] == "Dales"]
    assert [o["submitted"] for o in dales] == [True, False]
    assert [o["decisions_from_round"] for o in dales] == [1, 1]
    assert dales[1]["decisions"] == engine.validate_decisions(TEAMS[2][2])

    # The export shows what was played, and where it came from.
    tables = console.export_tables()
    results = tables["results"].set_index(["round", "team"])
    assert results.loc[(2, "Dales"), "outcome.decisions.risk_share"] == "stop_loss"
    assert bool(results.loc[(2, "Dales"), "outcome.decisions.prescribing_initiative"]) is True
    debrief = tables["debrief"].set_index(["round", "team"])
    assert debrief.loc[(2, "Dales"), "decisions_played"] == (
        "Not submitted: kept its round 1 decisions"
    )
    assert debrief.loc[(2, "Dales"), "decision.risk_share"] == "stop_loss"
    assert debrief.loc[(2, "North GPs"), "decisions_played"] == "Submitted (revision 1)"

    # The debrief: five charts, every team on each, one dot per team and round.
    assert len(console.frame) == 6
    for key in wc.MEASURE_CHARTS:
        view = console.views[key]
        assert view in console.charts_box.children and "<svg" in view.svg
        assert ESCAPED_NAME in view.svg and "North GPs" in view.svg and "Dales" in view.svg
        assert "<b>Team" not in view.svg
        assert symbol_marks(view.svg) == 6, key
        meta = charts.chart_meta(view.chart)
        assert meta["title"] and meta["description"] and meta["source"]
    assert ESCAPED_NAME in console.summary_html.value
    assert "<b>Team" not in console.summary_html.value
    assert console.decisions_round.value == 2
    assert "Not submitted: kept its round 1 decisions" in console.decisions_html.value
    console.decisions_round.value = 1
    assert "Musculoskeletal assessment service" in console.decisions_html.value
    # The Dales' stop-loss shows at its net cost (£0): only the prescribing initiative counts.
    dales_1 = next(r["outcome"] for r in rows if r["team"] == "Dales" and r["round"] == 1)
    top_slice = dales_1["costs"]["risk_share"]
    assert top_slice > 1_000_000
    dales_row = re.search(r"<tr>.*?Dales.*?</tr>", console.decisions_html.value, re.S).group(0)
    assert wc.gbp(dales_1["costs"]["prescribing_initiative"]) in dales_row
    assert wc.gbp(dales_1["costs"]["total"]) not in dales_row
    assert "Net cost of decisions (£)" in console.decisions_html.value
    assert "a stop-loss nets to £0" in console.decisions_html.value

    # Each team sees its own results and every team's side by side.
    for team in teams:
        team._refresh_from_store()
        assert "Round 2's results (2008/09) are revealed" in team.status_text()
        assert team.results_box.layout.display is None
        assert "Your results, round 2 (2008/09)" in team.own_html.value
        assert ESCAPED_NAME in team.league_html.value and "Dales" in team.league_html.value
        assert symbol_marks(team.league_view.svg) == 0 and "<svg" in team.league_view.svg
    assert "<b>Team" not in teams[1].league_view.svg

    console.finish_button.click()
    assert "Click again" in console.finish_button.description
    assert "will not be worked out" not in console.reveal_note.value  # every round revealed
    console.finish_button.click()
    assert not console.errors.visible, console.errors.message
    assert "has finished" in console.state_line.value and console.finish_button.disabled
    teams[2]._refresh_from_store()
    assert "The workshop has finished" in teams[2].status_text()


def test_a_team_sees_only_its_own_decisions_until_the_reveal(store, workshop):
    console, teams = workshop
    console.open_button.click()
    submit(teams[0], TEAMS[0][2])
    submit(teams[1], TEAMS[1][2])
    teams[1]._refresh_from_store()
    assert set(teams[1].view["submissions"]) == {1} and teams[1].view["league"] == []
    assert teams[1].results_box.layout.display == "none"
    text = " ".join(str(v) for v in teams[1].view.values())
    assert "older_people" not in text  # team 0's priority


def test_the_decision_costs_update_as_the_controls_change(store, workshop):
    console, teams = workshop
    console.open_button.click()
    team = teams[1]
    team._refresh_from_store()
    assert "Cost this year: £0" in team.cost_labels["case_managers"].value
    team.controls["case_managers"].value = 3
    assert "Cost this year: £135,000" in team.cost_labels["case_managers"].value
    team.controls["prescribing_initiative"].value = True
    costs = engine.decision_costs(
        team.scenario, "City North", team.decisions(), 1
    )
    assert team.costs == costs
    assert wc.gbp(costs["total"]) in team.total_html.value


def test_a_team_joining_gets_the_workshops_localities(store):
    console = FacilitatorConsole(store=store)
    console.localities.value = ("City North", "Fellside Dales")
    code = create(console)
    team = TeamApp(store=store)
    team.code.value = code
    assert list(team.locality.options) == ["City North", "Fellside Dales"]
    assert "Workshop found: Away day" in team.workshop_hint.value


def test_pct_and_acute_trust_roles_have_views_of_their_own(store, workshop):
    console, teams = workshop
    pct_team = join(store, console.info.join_code, "PCT board", role="pct")
    trust = join(store, console.info.join_code, "Trust", role="acute_trust")
    assert "The PCT&#x27;s view: every locality" in pct_team.overview_html.value
    assert "Expected emergency admissions" in trust.overview_html.value
    console.open_button.click()
    for team in (pct_team, trust):
        team._refresh_from_store()
        assert team.decisions_box.layout.display == "none"
        assert "the clusters are deciding" in team.status_text()
    assert "Not needed (no decisions)" in (console.refresh() or console.teams_html.value)
    submit(teams[0], TEAMS[0][2])
    console.refresh()
    line = html.unescape(console.state_line.value)
    assert "1 of 3 team(s) have submitted." in line  # the three clusters, not all five teams
    assert "The 2 PCT and acute trust team(s) take no decisions, so they are not counted." in line
    console.close_button.click()
    console.reveal_button.click()
    assert not console.errors.visible, console.errors.message
    pct_team._refresh_from_store()
    trust._refresh_from_store()
    assert "Clusters that overspent" in pct_team.own_html.value
    assert "Income from the clusters at tariff" in trust.own_html.value
    assert "18-week performance by team" in charts.chart_meta(trust.league_view.chart)["title"]


# --- bad input: a clear message, never an exception ---------------------------------------------
@pytest.mark.parametrize(
    ("name", "code", "words"),
    [
        ("", None, "Please type a team name"),
        ("   ", None, "Please type a team name"),
        ("x" * 500, None, "at most 60 characters; that one has 500"),
        ("Team", "ABCD-EFGH", "doesn't match a workshop"),
        ("Team", "0000-0000", "never contain 0, O, 1, I or L"),
        ("Team", "", "Please type the workshop's join code"),
    ],
    ids=["empty", "spaces", "500-chars", "wrong-code", "mistyped-code", "no-code"],
)
def test_bad_join_input_gets_a_clear_message(store, workshop, name, code, words):
    console, _ = workshop
    team = join(store, console.info.join_code if code is None else code, name)
    assert not team.joined
    assert team.errors.visible and words in team.errors.message
    assert team.errors.message != GENERIC_ERROR
    assert "Traceback" not in team.errors.value


def test_a_duplicate_team_name_is_refused(store, workshop):
    console, _ = workshop
    team = join(store, console.info.join_code, "north gps")
    assert "already joined" in team.errors.message
    assert "choose 'Rejoin my team' on the team page" in team.errors.message
    assert team.mode.options[1] == ("Rejoin my team", "rejoin")  # and the page has it


def test_markup_in_a_name_is_escaped_in_the_console_and_the_team_page(store, workshop):
    console, teams = workshop
    console.refresh()
    assert ESCAPED_NAME in console.teams_html.value
    assert "<b>Team" not in console.teams_html.value
    assert ESCAPED_NAME in teams[0].heading.value and "<b>Team" not in teams[0].heading.value


def test_wrong_passphrase_and_a_second_console(store, workshop):
    console, _ = workshop
    code = console.info.join_code
    other = FacilitatorConsole(store=store)
    other.code.value = code
    other.passphrase.value = "not the passphrase"
    other.sign_in_button.click()
    assert other.info is None and "passphrase doesn't match" in other.errors.message

    other.passphrase.value = PASSPHRASE
    other.sign_in_button.click()
    assert other.info is None
    assert "already open in another facilitator console" in other.errors.message
    assert "Take over" in other.errors.message

    other.take_over.value = True
    other.passphrase.value = PASSPHRASE
    other.sign_in_button.click()
    assert other.info is not None and not other.errors.visible
    assert other.passphrase.value == ""  # not left in the page
    console.open_button.click()
    assert console.errors.visible and "Another console has taken over" in console.errors.message
    other.open_button.click()
    assert not other.errors.visible and "Round 1 of 2" in other.state_line.value


def test_a_submission_after_the_round_closes_is_refused(store, workshop):
    console, teams = workshop
    console.open_button.click()
    submit(teams[0], TEAMS[0][2])
    teams[1]._refresh_from_store()  # its page still shows the round open
    console.close_button.click()
    teams[1].submit_button.click()
    assert teams[1].errors.visible and "Round 1 closed at" in teams[1].errors.message
    assert "no decisions from your team were received" in teams[1].errors.message
    teams[0].submit_button.click()
    assert "your last submission" in teams[0].errors.message


@pytest.mark.parametrize(
    ("field", "value", "words"),
    [
        ("name", "", "Please give the workshop a name"),
        ("new_passphrase_again", "something else", "two passphrases are different"),
        ("new_passphrase", "short", "at least 8 characters"),
        ("localities", (), "at least one locality"),
    ],
)
def test_creating_a_workshop_checks_the_form(store, field, value, words):
    console = FacilitatorConsole(store=store)
    console.name.value = "Away day"
    console.new_passphrase.value = console.new_passphrase_again.value = PASSPHRASE
    if field == "new_passphrase":
        console.new_passphrase_again.value = value
    getattr(console, field).value = value
    console.create_button.click()
    assert console.info is None and words in console.errors.message


def test_buttons_out_of_turn_say_why(store, workshop):
    console, _ = workshop
    console.reveal_button.click()  # disabled on the page; a crafted click still gets a message
    assert console.errors.visible and "no closed round" in console.errors.message.lower()
    console.close_button.click()
    assert "Open round 1 first" in console.errors.message


def test_a_store_failure_shows_the_generic_message_and_no_traceback(store, workshop, monkeypatch):
    console, teams = workshop

    def broken(*args, **kwargs):
        raise RuntimeError("internal detail 4711")

    monkeypatch.setattr(store, "status", broken)
    console.refresh_button.click()
    assert console.errors.message == GENERIC_ERROR
    monkeypatch.setattr(store, "team_view", broken)
    teams[0].ticker.value += 1  # the automatic refresh has a panel of its own
    assert teams[0].poll_errors.message == GENERIC_ERROR and not teams[0].errors.visible
    for text in (console.errors.value, teams[0].poll_errors.value):
        assert "4711" not in text and "Traceback" not in text


# --- refreshing ---------------------------------------------------------------------------------
def test_the_automatic_refresh_picks_up_new_teams_and_submissions(store):
    console = FacilitatorConsole(store=store)
    code = create(console)
    assert "No team has joined yet" in console.teams_html.value
    team = join(store, code, "Late arrivals")
    console.ticker.value += 1  # a tick from the browser
    assert "Late arrivals" in console.teams_html.value
    console.open_button.click()
    team.ticker.value += 1
    assert "Round 1 of 2 (2007/08) is open" in team.status_text()
    assert team.decisions_box.layout.display is None
    assert "Round 1 (2007/08)</strong>" in team.pack_intro.value  # this round's events


def test_a_crafted_ticker_range_is_refused(store):
    console = FacilitatorConsole(store=store)
    create(console)
    seen: list[str] = []
    console.poll_errors.observe(lambda change: seen.append(change["new"]), names="value")
    console.ticker.set_state({"value": 10**9, "max": 10**9})  # as a crafted message would
    assert (console.ticker.min, console.ticker.max) == (0, wc.TICKER_MAX)
    assert console.ticker.value <= wc.TICKER_MAX
    assert any("Automatic refresh can be from 0 to 1e+06" in m for m in seen), seen


def test_nothing_touches_the_store_before_signing_in(monkeypatch, tmp_path):
    monkeypatch.setenv("PBC_WORKSHOP_DB", str(tmp_path / "never.sqlite"))
    console, team = FacilitatorConsole(), TeamApp()
    console.refresh()
    team.refresh()
    console.ticker.value += 1
    team.ticker.value += 1
    assert not (tmp_path / "never.sqlite").exists()
    assert not console.errors.visible and not team.errors.visible


# --- exports ------------------------------------------------------------------------------------
@pytest.fixture
def finished(store, workshop):
    console, teams = workshop
    for decisions_round in (1, 2):
        console.open_button.click()
        for team, (_, _, decisions) in zip(teams, TEAMS, strict=True):
            submit(team, decisions if decisions_round == 1 else {})
        console.close_button.click()
        console.reveal_button.click()
    console.prepare_button.click()
    assert not console.errors.visible, console.errors.message
    return console, teams


def test_csv_zip_holds_every_table(finished):
    console, _ = finished
    name = next(n for n in console.files if n.endswith(".zip"))
    with zipfile.ZipFile(io.BytesIO(console.files[name])) as archive:
        names = sorted(archive.namelist())
        assert names == sorted(
            f"{t}.csv"
            for t in ("workshop", "rounds", "teams", "submissions", "results", "events", "debrief")
        )
        teams_csv = archive.read("teams.csv").decode("utf-8")
        results_csv = archive.read("results.csv").decode("utf-8")
        debrief_csv = archive.read("debrief.csv").decode("utf-8")
    assert MARKUP_NAME in teams_csv and "North GPs" in teams_csv
    assert len(results_csv.strip().splitlines()) == 1 + 6
    assert len(debrief_csv.strip().splitlines()) == 1 + 6
    assert "passphrase" not in archive.filename if archive.filename else True
    assert console.info.join_code in name
    assert "download=" in console.downloads.value and "data:application/zip;base64," in (
        console.downloads.value
    )


def test_xlsx_opens_with_every_sheet_and_row(finished):
    console, _ = finished
    name = next(n for n in console.files if n.endswith(".xlsx"))
    book = openpyxl.load_workbook(io.BytesIO(console.files[name]), read_only=True)
    assert book.sheetnames == [
        "workshop", "rounds", "teams", "submissions", "results", "events", "debrief"
    ]
    rows = {sheet: list(book[sheet].iter_rows(values_only=True)) for sheet in book.sheetnames}
    assert len(rows["teams"]) == 1 + 3 and len(rows["results"]) == 1 + 6
    assert len(rows["submissions"]) == 1 + 6 and len(rows["rounds"]) == 1 + 2
    assert {r[1] for r in rows["teams"][1:]} == {MARKUP_NAME, "North GPs", "Dales"}
    header = rows["workshop"][0]
    assert not any("passphrase" in str(h) for h in header)


def test_the_handout_has_every_team_escaped_and_a_chart_per_measure(finished):
    console, _ = finished
    name = next(n for n in console.files if n.endswith(".html"))
    page = console.files[name].decode("utf-8")
    assert page.startswith("<!DOCTYPE html>") and "@media print" in page
    assert page.count(ESCAPED_NAME) >= 5 and "<b>Team" not in page
    assert "North GPs" in page and "Dales" in page
    assert page.count("<figure><svg") == len(wc.MEASURE_CHARTS)
    for title in ("Spend against indicative budget", "Freed-up resources and what they bought",
                  "Emergency admissions", "18-week performance", "Risk taken"):
        assert title in page
    assert "Questions for discussion" in page and "Round 2 (2008/09)" in page
    lowered = page.lower()
    i = lowered.find("<script")
    assert i < 0, page[i - 300 : i + 100]
    assert not re.search(r"""(src|href)=["']?https?:""", page)


def test_the_downloads_are_also_written_to_a_folder_if_given(store, tmp_path):
    folder = tmp_path / "exports"
    console = FacilitatorConsole(store=store, export_folder=folder)
    create(console)
    console.prepare_button.click()
    assert not console.errors.visible, console.errors.message
    assert sorted(p.name for p in folder.iterdir()) == sorted(console.files)
    assert "Also saved in" in console.downloads.value


def test_the_reference_tables_are_plain_and_escaped():
    events = wc.events_reference().data
    assert "A hard winter" in events and "<script" not in events
    from pbc_lib.apps.workshop_team import decisions_reference

    decisions = decisions_reference().data
    for spec in engine.decision_options().values():
        assert html.escape(spec["label"]) in decisions


def test_crafted_decisions_play_the_defaults_and_a_late_team_is_replayed(store, workshop):
    console, teams = workshop
    console.open_button.click()
    # Stored through the store directly (no team app would send these): refused by the engine.
    session = teams[2]._session
    store.submit(session.team_id, session.token, 1, {"case_managers": 10**6})
    console.close_button.click()
    console.reveal_button.click()
    assert not console.errors.visible, console.errors.message
    assert "Dales" in console.reveal_note.value
    console.open_button.click()
    late = join(store, console.info.join_code, "Late team", "City South")
    submit(late, {"prescribing_initiative": True})
    console.close_button.click()
    console.reveal_button.click()
    assert not console.errors.visible, console.errors.message
    late._refresh_from_store()
    assert "Your results, round 2 (2008/09)" in late.own_html.value
    scenario = engine.Scenario.from_dict(console.info.scenario)
    defaults = engine.default_decisions()
    plan = [defaults, {**defaults, "prescribing_initiative": True}]
    expected = engine.replay(scenario, "City South", plan)[-1]
    assert played(late.view["results"][2]) == expected


# --- rejoining: the rejoin key, a lost page, a lost key -----------------------------------------
def test_a_team_is_shown_its_rejoin_key_at_join(store, workshop):
    _, teams = workshop
    team = teams[1]
    key = team.rejoin_key_text
    assert KEY_RE.fullmatch(key)
    box = html.unescape(team.key_html.value)
    assert f'class="pbc-join-code pbc-rejoin-key" aria-label="Rejoin key">{key}<' in box
    assert (
        "Write this down: you need it to get back in if this page is closed or the laptop sleeps."
        in box
    )
    assert team.rejoin_key.value == ""  # not left in the form
    team.key_toggle.click()
    assert team.key_html.value == "" and team.key_toggle.description == "Show our rejoin key"
    team.key_toggle.click()
    assert key in team.key_html.value
    assert {t.rejoin_key_text for t in teams} == {t._session.token for t in teams}
    assert len({t.rejoin_key_text for t in teams}) == 3
    # No page tells a team to join again under a new name any more.
    words = " ".join(
        html.unescape(w.value) for w in walk(team.widget) if isinstance(getattr(w, "value", 0), str)
    )
    assert "new name" not in words and "join again" not in words.lower()
    assert "Rejoin my team" in words


def test_a_team_that_lost_its_page_rejoins_and_sees_its_decisions_and_results(store, workshop):
    console, teams = workshop
    code, first = console.info.join_code, teams[0]
    console.open_button.click()
    for team, (_, _, decisions) in zip(teams, TEAMS, strict=True):
        submit(team, decisions)
    console.close_button.click()
    console.reveal_button.click()
    console.open_button.click()
    submit(first, {"risk_share": "pool", "freed_up_use": "community_services"})

    # A new page: a reload, a restarted kernel or a restarted server all start here.
    key = first.rejoin_key_text.lower().replace("-", " ")
    page = rejoin(store, code.lower(), "  <B>team</b>   &  CO ", key)
    assert page.joined and not page.errors.visible, page.errors.message
    assert page._session.team_id == first._session.team_id
    assert page.rejoin_key_text == first.rejoin_key_text and page.rejoin_key.value == ""
    assert "Welcome back" in page.welcome_html.value and ESCAPED_NAME in page.heading.value
    assert page.join_box.layout.display == "none" and page.joined_box.layout.display is None
    # Its submission, the current round and the revealed results, as the store holds them.
    assert "Round 2 of 2 (2008/09) is open" in page.status_text()
    assert "(revision 1)" in page.status_text()
    assert page.decisions() == first.decisions() == engine.validate_decisions(
        {**TEAMS[0][2], "risk_share": "pool", "freed_up_use": "community_services"}
    )
    receipt = html.unescape(page.receipt_html.value)
    assert "Your submission for round 2" in receipt
    assert "Risk share: Risk share with the other clusters" in receipt
    assert "Commissioning-plan priority: Older people" in receipt
    assert page.results_round.value == 1
    assert "Your results, round 1 (2007/08)" in page.own_html.value
    assert page.decisions_box.layout.display is None
    # The rejoined page can submit; the old page (if still open) keeps working too.
    submit(page, {"case_managers": 2})
    assert "(revision 2)" in page.status_text()
    first._refresh_from_store()
    assert not first.poll_errors.visible and not first.errors.visible
    assert "(revision 2)" in first.status_text()


@pytest.mark.parametrize(
    ("field", "words"),
    [
        ("code", "That join code doesn't match a workshop"),
        ("name", "No team called 'Nobody' has joined this workshop"),
        ("key", "That rejoin key isn't North GPs's"),
        ("typo", "Rejoin keys never contain 0, O, 1, I or L"),
        ("empty", "Please type your team's rejoin key"),
    ],
)
def test_a_wrong_rejoin_gets_a_clear_message(store, workshop, field, words):
    console, teams = workshop
    code, key = console.info.join_code, teams[1].rejoin_key_text
    wrong = "ZZZZ-ZZZZ-ZZZZ" if key != "ZZZZ-ZZZZ-ZZZZ" else "YYYY-YYYY-YYYY"
    args = {
        "code": ("ZZZZ-ZZZZ", "North GPs", key),
        "name": (code, "Nobody", key),
        "key": (code, "North GPs", wrong),
        "typo": (code, "North GPs", key[:-1] + "0"),
        "empty": (code, "North GPs", ""),
    }[field]
    page = rejoin(store, *args)
    assert not page.joined and page.errors.visible
    assert words in page.errors.message and page.errors.message != GENERIC_ERROR
    assert key not in page.errors.message and "Traceback" not in page.errors.value


def test_wrong_rejoins_are_slowed_down(store, workshop, monkeypatch):
    console, teams = workshop
    slept: list[float] = []
    monkeypatch.setattr(store_mod.time, "sleep", slept.append)
    page = rejoin(store, console.info.join_code, "North GPs", "ZZZZ-ZZZZ-ZZZ2")
    page.rejoin_button.click()
    assert page.errors.visible and slept.count(store_mod.WRONG_REJOIN_DELAY_S) == 2
    assert store_mod.WRONG_REJOIN_DELAY_S >= 0.5


def test_the_facilitator_issues_a_new_rejoin_key_after_a_second_click(store, workshop):
    console, teams = workshop
    lost = teams[2]
    console.refresh()
    assert [label for label, _ in console.key_team.options] == [
        f"{MARKUP_NAME} (Locality cluster, City Centre)",
        "North GPs (Locality cluster, City North)",
        "Dales (Locality cluster, Fellside Dales)",
    ]
    console.key_team.value = lost._session.team_id
    console.key_button.click()
    assert not console.errors.visible, console.errors.message
    assert console.key_button.description == "Click again to issue the new key"
    assert "Issue a new rejoin key for Dales? Its old key stops working" in html.unescape(
        console.key_html.value
    )
    assert not KEY_RE.search(console.key_html.value)  # nothing issued yet
    lost._refresh_from_store()
    assert not lost.poll_errors.visible and not lost.errors.visible  # the old key still works

    console.key_team.value = teams[1]._session.team_id  # another team: the confirmation lapses
    assert console.key_html.value == "" and console.key_button.description == wc.KEY_BUTTON
    console.key_team.value = lost._session.team_id
    console.key_button.click()
    console.key_button.click()
    assert not console.errors.visible, console.errors.message
    new_key = KEY_RE.search(console.key_html.value).group(0)
    assert new_key != lost.rejoin_key_text and "shown only this once" in console.key_html.value
    assert console.hide_key_button.layout.display is None

    lost._refresh_from_store()  # the old key stops working at once
    assert lost.errors.visible and "issued your team a new rejoin key" in lost.errors.message
    again = rejoin(store, console.info.join_code, "dales", lost.rejoin_key_text)
    assert not again.joined and "That rejoin key isn't Dales's" in again.errors.message
    page = rejoin(store, console.info.join_code, "Dales", new_key)
    assert page.joined and page._session.team_id == lost._session.team_id
    assert page.rejoin_key_text == new_key

    console.open_button.click()  # the key is shown once: gone with the next action
    assert console.key_html.value == "" and console.hide_key_button.layout.display == "none"


def test_issuing_a_key_before_any_team_joins_says_why(store):
    console = FacilitatorConsole(store=store)
    create(console)
    console.key_button.click()
    assert console.errors.visible and "No team has joined yet" in console.errors.message


# --- finishing early ----------------------------------------------------------------------------
@pytest.mark.parametrize("state", ["open", "closed"])
def test_finishing_with_a_round_not_revealed_warns_that_its_results_will_not_be_worked_out(
    store, workshop, state
):
    console, teams = workshop
    console.open_button.click()
    submit(teams[0], TEAMS[0][2])
    if state == "closed":
        console.close_button.click()
    console.finish_button.click()
    note = html.unescape(console.reveal_note.value)
    assert console.finish_button.description == "Click again to finish"
    opening = "Round 1 is still open." if state == "open" else "Round 1 is closed but"
    assert note.startswith(f'<p class="pbc-ws-note">{opening}')
    assert "results will not be worked out or revealed" in note
    assert "Click again to finish anyway" in note
    assert store.status(console.info.id)["round_state"] == state  # nothing happened yet
    console.finish_button.click()
    assert not console.errors.visible, console.errors.message
    assert store.status(console.info.id)["round_state"] == "finished"
    assert "Round 1's results were not worked out" in html.unescape(console.reveal_note.value)
    assert store.debrief(console.info.id, console.console_id) == []


def test_another_action_cancels_a_pending_finish(store, workshop):
    console, _ = workshop
    console.finish_button.click()
    assert "Click again" in console.finish_button.description
    console.open_button.click()
    assert console.finish_button.description == "Finish the workshop"
    console.finish_button.click()
    assert "will not be worked out" in html.unescape(console.reveal_note.value)
    assert store.status(console.info.id)["round_state"] == "open"


# --- a team that does not submit keeps what it last submitted ----------------------------------
def test_a_team_keeps_its_last_submitted_decisions_across_rounds_it_misses(store):
    console = FacilitatorConsole(store=store)
    code = create(console, rounds=3)
    keen = join(store, code, "Keen", "City North")
    quiet = join(store, code, "Quiet", "City South")
    never = join(store, code, "Never", "Fellside Dales")
    chosen = {"case_managers": 5, "priority": "older_people", "risk_share": "stop_loss"}
    console.open_button.click()
    submit(quiet, chosen)
    submit(keen, {})
    console.close_button.click()
    console.reveal_button.click()
    for rnd in (2, 3):
        console.open_button.click()
        submit(keen, {"case_managers": rnd})
        quiet._refresh_from_store()
        assert quiet.decisions() == engine.validate_decisions(chosen)  # preloaded, 2 rounds on
        console.close_button.click()
        console.reveal_button.click()
        note = console.reveal_note.value
        assert f"Team Quiet did not submit in round {rnd}: it kept its round 1 decisions." in note
        assert (
            f"Team Never did not submit in round {rnd}: it played the default decisions "
            "(no changes)." in note
        )
        assert "Keen" not in note
    rows = store.debrief(console.info.id, console.console_id)
    scenario = engine.Scenario.from_dict(console.info.scenario)
    for name, team, locality in (("Quiet", quiet, "City South"), ("Never", never, "Fellside Dales"),
                                 ("Keen", keen, "City North")):
        stored = store.all_decisions(console.info.id, team._session.team_id)
        mine = sorted((r for r in rows if r["team"] == name), key=lambda r: r["round"])
        plan = carried_plan(stored, 3)
        assert [m["outcome"]["decisions"] for m in mine] == plan
        assert [played(m["outcome"]) for m in mine] == engine.replay(scenario, locality, plan)
    quiet_rounds = [r["outcome"]["decisions_from_round"] for r in rows if r["team"] == "Quiet"]
    assert quiet_rounds == [1, 1, 1]
    never_rounds = [r["outcome"]["decisions_from_round"] for r in rows if r["team"] == "Never"]
    assert never_rounds == [None, None, None]
    quiet._refresh_from_store()
    assert quiet.results_round.value == 3
    assert "Your team did not submit in round 3: it kept its round 1 decisions." in (
        quiet.own_html.value
    )
    console.decisions_round.value = 3
    assert "Not submitted: played the default decisions" in console.decisions_html.value


# --- the stop-loss's cost, net ----------------------------------------------------------------
def test_the_stop_loss_shows_its_top_slice_offset_to_a_net_cost_of_nil(store, workshop):
    console, teams = workshop
    console.open_button.click()
    team = teams[1]
    team._refresh_from_store()
    team.controls["prescribing_initiative"].value = True
    before = html.unescape(team.total_html.value)
    team.controls["risk_share"].value = "stop_loss"
    top_slice = team.costs["risk_share"]
    assert top_slice > 1_000_000
    label = html.unescape(team.cost_labels["risk_share"].value)
    assert label == (
        f"Top-slice {wc.gbp(top_slice)}, offset by the PCT paying costs above £6,000 (the same "
        "amount expected): net cost £0"
    )
    total = html.unescape(team.total_html.value)
    net = wc.gbp(team.costs["prescribing_initiative"])
    assert f"Net cost of these decisions in round 1 (2007/08): <strong>{net}</strong>" in total
    assert f"Net cost of these decisions in round 1 (2007/08): <strong>{net}</strong>" in before
    assert f"The stop-loss top-slice of {wc.gbp(top_slice)} is offset" in total
    team.controls["risk_share"].value = "pool"
    assert team.cost_labels["risk_share"].value == "No cost"
    assert "Stop-loss top-slice, offset by the PCT paying costs above £6,000" in html.unescape(
        team.pack_tables.value
    )


def test_the_join_form_shows_the_fields_each_choice_needs(store):
    team, other = TeamApp(store=store), TeamApp(store=store)

    def shown(app: TeamApp) -> set[str]:
        names = ("code", "team_name", "role", "locality", "rejoin_key", "join_button",
                 "rejoin_button")
        return {n for n in names if getattr(app, n).layout.display != "none"}

    new_team = {"code", "team_name", "role", "locality", "join_button"}
    assert shown(team) == shown(other) == new_team
    team.role.value = "pct"  # no locality for the PCT; nothing else disappears
    assert shown(team) == new_team - {"locality"} and shown(other) == new_team
    team.mode.value = "rejoin"
    assert shown(team) == {"code", "team_name", "rejoin_key", "rejoin_button"}
    assert shown(other) == new_team  # another page (same kernel) is unaffected
    team.mode.value = "join"
    team.role.value = "cluster"
    assert shown(team) == new_team
    assert "Rejoin my team" in [label for label, _ in team.mode.options]
