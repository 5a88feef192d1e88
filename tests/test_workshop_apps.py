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
from pbc_lib.apps.workshop_console import FacilitatorConsole
from pbc_lib.apps.workshop_team import TeamApp
from pbc_lib.ui import GENERIC_ERROR
from pbc_lib.workshop import engine
from pbc_lib.workshop.store import open_store

PASSPHRASE = "correct horse battery"
MARKUP_NAME = "<b>Team</b> & co"
ESCAPED_NAME = "&lt;b&gt;Team&lt;/b&gt; &amp; co"
TEAMS = (  # name, locality, decisions
    (MARKUP_NAME, "City Centre", {"case_managers": 4, "priority": "older_people"}),
    ("North GPs", "City North", {"referral_management": "msk_icats", "risk_share": "pool"}),
    ("Dales", "Fellside Dales", {"prescribing_initiative": True, "risk_share": "stop_loss"}),
)


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

    # Round 2: the Dales do not submit and play the default decisions.
    console.open_button.click()
    submit(teams[0], {"freed_up_use": "community_services"})
    submit(teams[1], {"freed_up_use": "outpatient_capacity"})
    console.close_button.click()
    console.reveal_button.click()
    assert not console.errors.visible, console.errors.message
    assert "did not submit" in console.reveal_note.value and "Dales" in console.reveal_note.value

    # Every stored outcome replays exactly from the stored decisions.
    rows = store.debrief(console.info.id, console.console_id)
    assert len(rows) == 6
    scenario = engine.Scenario.from_dict(console.info.scenario)
    for team, (name, locality, _) in zip(teams, TEAMS, strict=True):
        stored = store.all_decisions(console.info.id, team._session.team_id)
        plan = [stored.get(r, engine.default_decisions()) for r in (1, 2)]
        expected = engine.replay(scenario, locality, plan)
        mine = sorted((r for r in rows if r["team"] == name), key=lambda r: r["round"])
        for got, want in zip(mine, expected, strict=True):
            assert {k: v for k, v in got["outcome"].items() if k != "submitted"} == want
    assert [r["outcome"]["submitted"] for r in rows if r["team"] == "Dales"] == [True, False]

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
    assert "No: played the default decisions" in console.decisions_html.value
    console.decisions_round.value = 1
    assert "Musculoskeletal assessment service" in console.decisions_html.value

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
    got = {k: v for k, v in late.view["results"][2].items() if k != "submitted"}
    assert got == expected
