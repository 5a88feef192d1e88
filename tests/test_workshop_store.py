"""The workshop store against real SQLite and real PostgreSQL (pbc_lib.workshop.store).

Every store test runs twice, ``[sqlite]`` on a fresh file and ``[postgresql]`` on a fresh database
(tests/pg_server.py: the server CI names in ``PBC_TEST_POSTGRES_URL``, else a throwaway cluster).
Teams' kernels are stood in for by separate OS processes running tests/workshop_writer.py. The
figures measured (round times, rows checked) are printed at the end of the module and written to
tests/artifacts/workshop_store_figures.json.
"""

from __future__ import annotations

import hashlib
import json
import os
import queue
import random
import re
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import threading
import time
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import pg_server
import pytest
from sqlalchemy import inspect, select, text

from pbc_lib.workshop import store as store_mod
from pbc_lib.workshop.store import (
    CODE_ALPHABET,
    LATEST_SCHEMA_VERSION,
    TEAM_NAME_MAX,
    Store,
    WorkshopStoreError,
    display_name,
    escape,
    migrate,
    new_join_code,
    new_rejoin_key,
    normalise_code,
    normalise_rejoin_key,
    open_store,
    spreadsheet_safe,
)

REPO = Path(__file__).resolve().parent.parent
WRITER = Path(__file__).with_name("workshop_writer.py")
ARTIFACTS = REPO / "tests" / "artifacts"
PASSPHRASE = "tangerine-octopus-42"
CONSOLE = "console-A"
N_TEAMS = 20
N_REPEATS = 20
FIGURES: dict[str, Any] = {}
CODE_RE = re.compile(rf"^[{CODE_ALPHABET}]{{4}}-[{CODE_ALPHABET}]{{4}}$")
KEY_RE = re.compile(rf"^[{CODE_ALPHABET}]{{4}}-[{CODE_ALPHABET}]{{4}}-[{CODE_ALPHABET}]{{4}}$")


# ------------------------------------------------------------------------------------------
# Fixtures: backends, stores, writer processes
# ------------------------------------------------------------------------------------------


def _unavailable(exc: Exception, what: str) -> None:
    """No PostgreSQL here: a failure in CI (``CI`` set), a skip on a developer's machine."""
    if os.environ.get("CI"):
        pytest.fail(f"{what} required in CI: {exc}")
    pytest.skip(str(exc))


def _postgres_or_skip() -> pg_server.PostgresServer:
    try:
        return pg_server.get_server()
    except pg_server.PostgresUnavailable as exc:
        _unavailable(exc, "PostgreSQL is")


@pytest.fixture(scope="session")
def postgres() -> Any:
    server = _postgres_or_skip()
    yield server
    pg_server.stop_server()


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def store_url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> Any:
    if backend == "sqlite":
        yield str(tmp_path / "workshop.sqlite")
        return
    server = request.getfixturevalue("postgres")
    url = server.create_database()
    yield url
    server.drop_database(url)


@pytest.fixture
def store(store_url: str) -> Any:
    s = open_store(store_url)
    yield s
    s.close()


@pytest.fixture
def workshop(store: Store) -> Any:
    return store.create_workshop(
        "Wyndmoor <PBC> day",
        PASSPHRASE,
        {"pct": "Wyndmoor", "localities": 3},
        3,
        events=[{"flu": True}],
        seed=7,
        console_id=CONSOLE,
    )


class Writer:
    """A tests/workshop_writer.py process: JSON lines in, JSON lines out (read by a thread)."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, str(WRITER)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            bufsize=1,
            cwd=REPO,
        )
        self.lines: queue.Queue[dict | None] = queue.Queue()
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            if line.strip():
                self.lines.put(json.loads(line))
        self.lines.put(None)

    def send(self, obj: dict) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(obj) + "\n")
        self.proc.stdin.flush()

    def recv(self, timeout: float = 60) -> dict:
        item = self.lines.get(timeout=timeout)
        if item is None:
            raise AssertionError(f"writer {self.proc.pid} ended (exit {self.proc.poll()})")
        return item

    def close(self) -> None:
        if self.proc.poll() is None:
            try:
                self.send({"op": "quit"})
                self.proc.wait(timeout=10)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait()


def _start_writers(n: int) -> list[Writer]:
    writers = [Writer() for _ in range(n)]
    for w in writers:
        assert "ready" in w.recv(timeout=120)
    return writers


@pytest.fixture(scope="session")
def writers() -> Any:
    """20 team processes, started once and reused (each holds one store at a time)."""
    t0 = time.perf_counter()
    pool = _start_writers(N_TEAMS)
    FIGURES["writer processes started"] = f"{N_TEAMS} in {time.perf_counter() - t0:.1f} s"
    yield pool
    for w in pool:
        w.close()


@pytest.fixture(scope="module", autouse=True)
def _report_figures(request: pytest.FixtureRequest) -> Any:
    yield
    if not FIGURES:
        return
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "workshop_store_figures.json").write_text(json.dumps(FIGURES, indent=2))
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    capman = request.config.pluginmanager.get_plugin("capturemanager")
    if reporter is None:
        return
    with capman.global_and_fixture_disabled() if capman else nullcontext():
        reporter.write_line("")
        reporter.write_line("workshop store figures:")
        for key, value in FIGURES.items():
            reporter.write_line(f"  {key}: {value}")


def _count(store: Store, sql: str, **params: Any) -> Any:
    with store.engine.connect() as conn:
        return conn.execute(text(sql), params).all()


def _join_teams(store: Store, code: str, n: int, prefix: str = "Team") -> list:
    return [store.join(code, f"{prefix} {i:02d}") for i in range(n)]


def _run_round(store: Store, wid: int, rnd: int, outcomes: dict[int, dict] | None = None) -> None:
    store.close_round(wid, CONSOLE)
    if outcomes is None:
        outcomes = {
            tid: {"score": len(d)} for tid, d in store.decisions_for(wid, rnd, CONSOLE).items()
        }
    store.save_results(wid, CONSOLE, rnd, outcomes)
    store.reveal(wid, CONSOLE)


# ------------------------------------------------------------------------------------------
# Migrations
# ------------------------------------------------------------------------------------------


def test_migration_is_idempotent(store_url: str) -> None:
    first = open_store(store_url)
    assert first.migrate() == LATEST_SCHEMA_VERSION
    second = open_store(store_url)
    assert migrate(second.engine) == LATEST_SCHEMA_VERSION
    assert second.migrate() == LATEST_SCHEMA_VERSION
    rows = _count(second, "SELECT version FROM schema_version ORDER BY version")
    assert [r[0] for r in rows] == list(range(1, LATEST_SCHEMA_VERSION + 1))
    names = set(inspect(second.engine).get_table_names())
    assert {
        "schema_version",
        "workshops",
        "rounds",
        "teams",
        "submissions",
        "results",
        "events_log",
    } <= names
    first.close()
    second.close()


def test_newer_schema_is_refused_clearly(store_url: str) -> None:
    s = open_store(store_url)
    with s.engine.connect() as conn:
        conn.execution_options(pbc_write=True)  # the store's engines read in read-only mode
        with conn.begin():
            conn.execute(
                text(
                    "INSERT INTO schema_version (version, description, applied_at) "
                    "VALUES (99, 'future', 'x')"
                )
            )
    s.close()
    with pytest.raises(WorkshopStoreError, match="newer version of PbC Workbooks"):
        open_store(store_url)


def test_concurrent_migrations_from_separate_processes(
    backend: str, tmp_path: Path, writers: list[Writer], request: pytest.FixtureRequest
) -> None:
    """Four processes migrate the same empty store at the same instant, three times over."""
    for attempt in range(3):
        if backend == "sqlite":
            url = str(tmp_path / f"fresh{attempt}.sqlite")
        else:
            server = request.getfixturevalue("postgres")
            url = server.create_database()
        start_at = time.time() + 0.3
        for w in writers[:4]:
            w.send({"op": "migrate", "url": url, "start_at": start_at})
        replies = [w.recv() for w in writers[:4]]
        assert all(r["ok"] for r in replies), replies
        assert {r["version"] for r in replies} == {LATEST_SCHEMA_VERSION}
        s = open_store(url)
        rows = _count(s, "SELECT version FROM schema_version ORDER BY version")
        assert [r[0] for r in rows] == list(range(1, LATEST_SCHEMA_VERSION + 1))
        s.close()
        if backend == "postgresql":
            server.drop_database(url)


# ------------------------------------------------------------------------------------------
# The happy path and the rules of a round
# ------------------------------------------------------------------------------------------


def test_happy_path_create_login_join_submit_close_reveal(store: Store) -> None:
    info = store.create_workshop(
        "Wyndmoor PBC", PASSPHRASE, {"pct": "Wyndmoor"}, 2, events=[{"e": 1}, {"e": 2}], seed=11
    )
    assert CODE_RE.match(info.join_code)
    assert (info.rounds, info.current_round, info.round_state) == (2, 0, "not_started")
    assert info.scenario == {"pct": "Wyndmoor"} and info.seed == 11
    logged = store.facilitator_login(info.join_code.lower().replace("-", " "), PASSPHRASE, CONSOLE)
    assert logged.id == info.id
    assert store.facilitator_login(info.id, PASSPHRASE, CONSOLE).id == info.id  # again: fine

    north = store.join(info.join_code, "North cluster", locality="North")
    south = store.join(info.join_code, "South cluster", role="cluster", locality="South")
    assert north.token and north.token != south.token
    status = store.status(info.id)
    assert [t["name"] for t in status["teams"]] == ["North cluster", "South cluster"]
    assert not any(t["submitted"] for t in status["teams"])

    store.open_round(info.id, CONSOLE)
    r = store.submit(north.team_id, north.token, 1, {"beds": 3, "note": "shift to community"})
    assert (r.round, r.revision) == (1, 1)
    status = store.status(info.id)
    assert status["round_state"] == "open" and status["submitted_count"] == 1
    assert status["deciding_count"] == 2 and status["team_count"] == 2
    by_name = {t["name"]: t for t in status["teams"]}
    assert by_name["North cluster"]["submitted"] and by_name["North cluster"]["submitted_at"]
    assert not by_name["South cluster"]["submitted"]
    store.submit(south.team_id, south.token, 1, {"beds": 1})

    store.close_round(info.id, CONSOLE)
    with pytest.raises(WorkshopStoreError, match="private to each team until the facilitator"):
        store.decisions_for(info.id, 1)  # without the console's id: not before reveal
    assert store.all_decisions(info.id, north.team_id) == {}
    assert store.decisions_for(info.id, 1, CONSOLE) == {
        north.team_id: {"beds": 3, "note": "shift to community"},
        south.team_id: {"beds": 1},
    }
    assert store.all_decisions(info.id, north.team_id, CONSOLE) == {
        1: {"beds": 3, "note": "shift to community"}
    }
    assert (
        store.save_results(
            info.id, CONSOLE, 1, {north.team_id: {"spend": 1.5}, south.team_id: {"spend": 0.9}}
        )
        == 2
    )
    assert store.debrief(info.id) == []  # not revealed yet
    revealed = store.reveal(info.id, CONSOLE)
    assert revealed.round_state == "revealed"
    assert store.decisions_for(info.id, 1)[south.team_id] == {"beds": 1}  # revealed: open
    assert store.all_decisions(info.id, south.team_id) == {1: {"beds": 1}}
    view = store.team_view(north.team_id, north.token)
    assert view["results"] == {1: {"spend": 1.5}}
    assert view["workshop"]["events"] == [{"e": 1}]  # only opened rounds' events
    debrief = store.debrief(info.id, CONSOLE)
    assert [(d["round"], d["team"], d["outcome"]) for d in debrief] == [
        (1, "North cluster", {"spend": 1.5}),
        (1, "South cluster", {"spend": 0.9}),
    ]

    store.open_round(info.id, CONSOLE)
    store.submit(south.team_id, south.token, 2, {"beds": 2})
    _run_round(store, info.id, 2)
    with pytest.raises(WorkshopStoreError, match="last of 2. Finish"):
        store.open_round(info.id, CONSOLE)
    done = store.finish(info.id, CONSOLE)
    assert done.round_state == "finished" and done.finished_at
    with pytest.raises(WorkshopStoreError, match="finished, so no more teams can join"):
        store.join(info.join_code, "Late team")
    with pytest.raises(WorkshopStoreError, match="has finished; submissions are closed"):
        store.submit(south.team_id, south.token, 2, {"beds": 5})
    assert [d["round"] for d in store.debrief(info.id)] == [1, 1, 2]


def test_resubmission_replaces_the_earlier_one(store: Store, workshop: Any) -> None:
    team = store.join(workshop.join_code, "Resubmitters")
    store.open_round(workshop.id, CONSOLE)
    first = store.submit(team.team_id, team.token, 1, {"beds": 1})
    second = store.submit(team.team_id, team.token, 1, {"beds": 2, "note": "changed our mind"})
    assert (first.revision, second.revision) == (1, 2)
    rows = _count(
        store,
        "SELECT revision, decisions_json, submitted_at, first_submitted_at "
        "FROM submissions WHERE team_id = :t AND round = 1",
        t=team.team_id,
    )
    assert len(rows) == 1
    revision, decisions, submitted_at, first_at = rows[0]
    assert revision == 2 and json.loads(decisions) == {"beds": 2, "note": "changed our mind"}
    assert first_at == first.submitted_at and submitted_at == second.submitted_at
    assert store.team_view(team.team_id, team.token)["submissions"][1]["revision"] == 2


def test_only_deciding_teams_count_in_the_status(store: Store, workshop: Any) -> None:
    a = store.join(workshop.join_code, "Cluster A", locality="North")
    store.join(workshop.join_code, "Cluster B", locality="South")
    store.join(workshop.join_code, "The PCT", role="pct")
    store.join(workshop.join_code, "The trust", role="acute_trust")
    store.open_round(workshop.id, CONSOLE)
    store.submit(a.team_id, a.token, 1, {"beds": 1})
    status = store.status(workshop.id)
    assert (status["team_count"], status["deciding_count"], status["submitted_count"]) == (4, 2, 1)
    assert [t["name"] for t in status["teams"]][2:] == ["The PCT", "The trust"]  # still listed


def test_submission_after_close_is_refused_and_the_last_one_stands(
    store: Store, workshop: Any
) -> None:
    a = store.join(workshop.join_code, "Team A")
    b = store.join(workshop.join_code, "Team B")
    store.open_round(workshop.id, CONSOLE)
    store.submit(a.team_id, a.token, 1, {"beds": 4})
    store.close_round(workshop.id, CONSOLE)
    with pytest.raises(WorkshopStoreError) as exc:
        store.submit(a.team_id, a.token, 1, {"beds": 9})
    message = str(exc.value)
    assert re.match(
        r"Round 1 closed at \d\d:\d\d; your last submission \(at \d\d:\d\d\) stands\. "
        r"Ask the facilitator if you need a change\.$",
        message,
    ), message
    with pytest.raises(WorkshopStoreError, match="no decisions from your team were received"):
        store.submit(b.team_id, b.token, 1, {"beds": 1})
    assert store.decisions_for(workshop.id, 1, CONSOLE) == {a.team_id: {"beds": 4}}
    # Still refused once revealed and the next round is open.
    with pytest.raises(WorkshopStoreError, match="Round 1 is already closed"):
        store.close_round(workshop.id, CONSOLE)
    store.save_results(workshop.id, CONSOLE, 1, {a.team_id: {"x": 1}})
    store.reveal(workshop.id, CONSOLE)
    store.open_round(workshop.id, CONSOLE)
    with pytest.raises(WorkshopStoreError, match="Round 1 closed at"):
        store.submit(a.team_id, a.token, 1, {"beds": 9})


def test_submission_before_open_and_outside_the_rounds_is_refused(
    store: Store, workshop: Any
) -> None:
    team = store.join(workshop.join_code, "Early birds")
    with pytest.raises(WorkshopStoreError, match="Round 1 hasn't opened yet. Wait for the"):
        store.submit(team.team_id, team.token, 1, {"beds": 1})
    store.open_round(workshop.id, CONSOLE)
    with pytest.raises(
        WorkshopStoreError,
        match=r"Round 2 hasn't opened yet; the current round "
        r"is 1 \(open\)",
    ):
        store.submit(team.team_id, team.token, 2, {"beds": 1})
    with pytest.raises(WorkshopStoreError, match="There is no round 4: this workshop has 3"):
        store.submit(team.team_id, team.token, 4, {"beds": 1})
    with pytest.raises(WorkshopStoreError, match="There is no round 0"):
        store.submit(team.team_id, team.token, 0, {"beds": 1})
    with pytest.raises(WorkshopStoreError, match="must be a whole number"):
        store.submit(team.team_id, team.token, True, {"beds": 1})
    assert _count(store, "SELECT count(*) FROM submissions")[0][0] == 0


def test_decisions_must_be_a_small_json_dictionary(store: Store, workshop: Any) -> None:
    team = store.join(workshop.join_code, "Validators")
    store.open_round(workshop.id, CONSOLE)
    with pytest.raises(WorkshopStoreError, match="must be a dictionary"):
        store.submit(team.team_id, team.token, 1, ["beds", 1])  # type: ignore[arg-type]
    with pytest.raises(WorkshopStoreError, match="isn't finite"):
        store.submit(team.team_id, team.token, 1, {"beds": float("nan")})
    with pytest.raises(WorkshopStoreError, match="only numbers, text"):
        store.submit(team.team_id, team.token, 1, {"beds": {1, 2}})
    with pytest.raises(WorkshopStoreError, match=r"too large to save: 2\d\.\d KB; the limit is 20"):
        store.submit(team.team_id, team.token, 1, {"note": "x" * 21_000})
    ok = store.submit(team.team_id, team.token, 1, {"note": "é" * 9_000})  # 18 KB of UTF-8
    assert ok.revision == 1


def test_wrong_token_is_refused(store: Store, workshop: Any) -> None:
    a = store.join(workshop.join_code, "Team A")
    b = store.join(workshop.join_code, "Team B")
    store.open_round(workshop.id, CONSOLE)
    for token in (b.token, "", "not-a-token", None):
        with pytest.raises(WorkshopStoreError, match="session doesn't match"):
            store.submit(a.team_id, token, 1, {"beds": 1})  # type: ignore[arg-type]
        with pytest.raises(WorkshopStoreError, match="session doesn't match"):
            store.team_view(a.team_id, token)  # type: ignore[arg-type]
    with pytest.raises(WorkshopStoreError, match="session doesn't match"):
        store.submit(999_999, a.token, 1, {"beds": 1})
    assert _count(store, "SELECT count(*) FROM submissions")[0][0] == 0


def test_resume_and_reissued_sessions(store: Store, workshop: Any) -> None:
    team = store.join(workshop.join_code, "Restarted kernel")
    assert KEY_RE.match(team.token)  # the token is the rejoin key the team writes down
    store.open_round(workshop.id, CONSOLE)
    store.submit(team.team_id, team.token, 1, {"beds": 4})
    typed = team.token.lower().replace("-", " ")  # as written down and typed back
    again = store.resume(workshop.join_code.lower(), "  restarted   KERNEL ", typed)
    assert (again.team_id, again.name) == (team.team_id, "Restarted kernel")
    assert again.token == team.token
    assert (again.role, again.join_code, again.workshop_name) == (
        "cluster", workshop.join_code, workshop.name
    )
    view = store.team_view(again.team_id, again.token)  # the rejoined page sees its submission
    assert view["submissions"][1]["decisions"] == {"beds": 4}
    assert view["workshop"]["current_round"] == 1 and view["workshop"]["round_state"] == "open"
    kinds = store.export_tables(workshop.id, CONSOLE)["events"]["kind"].tolist()
    assert kinds.count("rejoin") == 1

    fresh = store.reissue_token(workshop.id, CONSOLE, team.team_id)
    assert KEY_RE.match(fresh.token) and fresh.token != team.token
    with pytest.raises(WorkshopStoreError, match="issued your team a new rejoin key"):
        store.submit(team.team_id, team.token, 1, {"beds": 1})  # the old key stops working
    with pytest.raises(WorkshopStoreError, match="That rejoin key isn't Restarted kernel's"):
        store.resume(workshop.join_code, "Restarted kernel", team.token)
    assert store.resume(workshop.join_code, "restarted kernel", fresh.token).team_id == team.team_id
    assert store.submit(fresh.team_id, fresh.token, 1, {"beds": 1}).revision == 2


@pytest.mark.parametrize(
    ("field", "message"),
    [
        ("code", "That join code doesn't match a workshop. Check the code on the facilitator's"),
        ("name", "No team called 'Nobody' has joined this workshop (Wyndmoor <PBC> day)"),
        ("key", "That rejoin key isn't Lost page's. Check the key you wrote down"),
    ],
)
def test_a_wrong_rejoin_says_which_part_is_wrong_after_a_delay(
    store: Store, workshop: Any, field: str, message: str
) -> None:
    team = store.join(workshop.join_code, "Lost page")
    other = new_rejoin_key()
    assert other != team.token
    args = {
        "code": ("ZZZZ-ZZZZ", "Lost page", team.token),
        "name": (workshop.join_code, "Nobody", team.token),
        "key": (workshop.join_code, "Lost page", other),
    }[field]
    t0 = time.perf_counter()
    with pytest.raises(WorkshopStoreError) as exc:
        store.resume(*args)
    assert time.perf_counter() - t0 >= store_mod.WRONG_REJOIN_DELAY_S  # no quick guessing
    assert message in str(exc.value)
    assert team.token not in str(exc.value) and other not in str(exc.value)
    kinds = store.export_tables(workshop.id, CONSOLE)["events"]["kind"].tolist()
    assert "rejoin" not in kinds


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("", "Please type your team's rejoin key"),
        ("ABCD-EFGH", "That isn't a rejoin key"),
        ("ABCD-EFGH-JKMN-P", "That isn't a rejoin key"),
        ("ABCD-EFGH-JKM0", "never contain 0, O, 1, I or L"),
        ("ABCD-EFGH-JKM!", "That isn't a rejoin key"),
    ],
)
def test_a_mistyped_rejoin_key_gets_a_clear_message(
    store: Store, workshop: Any, typed: str, message: str
) -> None:
    store.join(workshop.join_code, "Lost page")
    with pytest.raises(WorkshopStoreError) as exc:
        store.resume(workshop.join_code, "Lost page", typed)
    assert message in str(exc.value) and "12 letters and digits in 3 groups of 4" in str(exc.value)


def test_rejoin_key_format_and_entropy() -> None:
    assert len(CODE_ALPHABET) ** 12 > 2**59  # > 50 bits: guessing at 2 tries a second is hopeless
    keys = [new_rejoin_key() for _ in range(20_000)]
    assert all(KEY_RE.match(k) for k in keys) and len(set(keys)) == len(keys)
    counts = {ch: 0 for ch in CODE_ALPHABET}
    for k in keys:
        for ch in k.replace("-", ""):
            counts[ch] += 1
    expected = 12 * len(keys) / len(CODE_ALPHABET)
    assert all(abs(n - expected) < 0.1 * expected for n in counts.values()), counts
    for typed in ("hx4m-9tqc-r2wp", " HX4M 9TQC R2WP ", "hx4m9tqcr2wp", "HX4M—9TQC—R2WP"):
        assert normalise_rejoin_key(typed) == "HX4M-9TQC-R2WP"


def test_keys_are_stored_salted_and_first_release_tokens_still_work(
    store: Store, workshop: Any
) -> None:
    team = store.join(workshop.join_code, "Salted")
    stored = _count(store, f"SELECT token_hash FROM teams WHERE id = {team.team_id}")[0][0]
    plain = hashlib.sha256(team.token.encode()).hexdigest()
    assert re.fullmatch(r"[0-9a-f]{64}", stored) and stored != plain
    legacy = "a-192-bit-token-from-the-first-release-xyz"  # token_urlsafe(24) length
    with store.engine.connect() as conn:
        conn.execution_options(pbc_write=True)  # the store's engines read in read-only mode
        with conn.begin():
            conn.execute(
                text("UPDATE teams SET token_hash = :h WHERE id = :i"),
                {"h": hashlib.sha256(legacy.encode()).hexdigest(), "i": team.team_id},
            )
    assert store.team_view(team.team_id, legacy)["team"]["name"] == "Salted"
    with pytest.raises(WorkshopStoreError, match="doesn't match the workshop store"):
        store.team_view(team.team_id, team.token)


def test_a_team_sees_only_its_own_decisions_and_results_only_after_reveal(
    store: Store, workshop: Any
) -> None:
    a = store.join(workshop.join_code, "Team A")
    b = store.join(workshop.join_code, "Team B")
    store.open_round(workshop.id, CONSOLE)
    store.submit(a.team_id, a.token, 1, {"plan": "A-SECRET-PLAN"})
    store.submit(b.team_id, b.token, 1, {"plan": "B-SECRET-PLAN"})

    def view_text(team: Any) -> str:
        return json.dumps(store.team_view(team.team_id, team.token))

    assert "A-SECRET-PLAN" in view_text(a) and "B-SECRET-PLAN" not in view_text(a)
    assert "B-SECRET-PLAN" in view_text(b) and "A-SECRET-PLAN" not in view_text(b)
    store.close_round(workshop.id, CONSOLE)
    store.save_results(
        workshop.id,
        CONSOLE,
        1,
        {a.team_id: {"score": "A-RESULT"}, b.team_id: {"score": "B-RESULT"}},
    )
    for team in (a, b):  # saved but not revealed: nobody sees any result
        view = store.team_view(team.team_id, team.token)
        assert view["results"] == {} and view["league"] == [] and view["revealed_rounds"] == []
        assert "RESULT" not in json.dumps(view)
    store.reveal(workshop.id, CONSOLE)
    view = store.team_view(a.team_id, a.token)
    assert view["results"] == {1: {"score": "A-RESULT"}}
    assert {row["team"] for row in view["league"]} == {"Team A", "Team B"}
    assert "B-SECRET-PLAN" not in json.dumps(view)  # outcomes after reveal, never decisions
    assert "B-SECRET-PLAN" not in json.dumps(store.status(workshop.id))


def test_round_state_machine_refusals(store: Store, workshop: Any) -> None:
    wid = workshop.id
    team = store.join(workshop.join_code, "Team A")
    with pytest.raises(WorkshopStoreError, match="No round is open yet"):
        store.close_round(wid, CONSOLE)
    with pytest.raises(WorkshopStoreError, match="No round is open yet"):
        store.reveal(wid, CONSOLE)
    store.open_round(wid, CONSOLE)
    with pytest.raises(WorkshopStoreError, match="Round 1 is already open"):
        store.open_round(wid, CONSOLE)
    with pytest.raises(WorkshopStoreError, match="Close round 1 before saving"):
        store.save_results(wid, CONSOLE, 1, {})
    with pytest.raises(WorkshopStoreError, match="Close round 1 before revealing"):
        store.reveal(wid, CONSOLE)
    store.submit(team.team_id, team.token, 1, {"beds": 1})
    store.close_round(wid, CONSOLE)
    with pytest.raises(WorkshopStoreError, match="haven't been revealed yet. Reveal them before"):
        store.open_round(wid, CONSOLE)
    with pytest.raises(WorkshopStoreError, match="results haven't been saved yet"):
        store.reveal(wid, CONSOLE)
    with pytest.raises(WorkshopStoreError, match="teams that aren't in this workshop"):
        store.save_results(wid, CONSOLE, 1, {team.team_id: {"x": 1}, 424242: {"x": 2}})
    with pytest.raises(WorkshopStoreError, match="round just closed"):
        store.save_results(wid, CONSOLE, 2, {team.team_id: {"x": 1}})
    store.save_results(wid, CONSOLE, 1, {})  # saved, but the team that submitted has none
    with pytest.raises(WorkshopStoreError, match="1 team.s. submitted for round 1 but have no"):
        store.reveal(wid, CONSOLE)
    store.save_results(wid, CONSOLE, 1, {str(team.team_id): {"x": 1}})  # replaces; str keys ok
    store.reveal(wid, CONSOLE)
    with pytest.raises(WorkshopStoreError, match="already revealed"):
        store.reveal(wid, CONSOLE)
    with pytest.raises(WorkshopStoreError, match="revealed and can't be changed"):
        store.save_results(wid, CONSOLE, 1, {team.team_id: {"x": 2}})
    with pytest.raises(WorkshopStoreError, match="There is no workshop 9999"):
        store.status(9999)
    store.finish(wid, CONSOLE)
    with pytest.raises(WorkshopStoreError, match="already finished"):
        store.finish(wid, CONSOLE)
    with pytest.raises(WorkshopStoreError, match="finished; no more rounds"):
        store.open_round(wid, CONSOLE)


def test_create_workshop_input_is_checked(store: Store) -> None:
    cases = [
        (("", PASSPHRASE, {}, 3), "Please give the workshop a name"),
        (("W", "short", {}, 3), "at least 8 characters; that one has 5"),
        (("W", "        ", {}, 3), "Please type the facilitator passphrase"),
        (("W", PASSPHRASE, {}, 0), "between 1 and 50 rounds; 0"),
        (("W", PASSPHRASE, {}, 51), "between 1 and 50 rounds; 51"),
        (("W", PASSPHRASE, ["not", "a dict"], 3), "scenario must be a dictionary"),
        (("W", PASSPHRASE, {"x": float("inf")}, 3), "isn't finite"),
    ]
    for args, message in cases:
        with pytest.raises(WorkshopStoreError, match=message):
            store.create_workshop(*args)
    with pytest.raises(WorkshopStoreError, match="3 rounds of events for a 2-round"):
        store.create_workshop("W", PASSPHRASE, {}, 2, events=[1, 2, 3])
    assert _count(store, "SELECT count(*) FROM workshops")[0][0] == 0


# ------------------------------------------------------------------------------------------
# Facilitator: passphrase, console lease
# ------------------------------------------------------------------------------------------


def test_passphrase_is_stored_hashed_and_nowhere_in_plain_text(
    store: Store, store_url: str, backend: str
) -> None:
    info = store.create_workshop("Hashing", PASSPHRASE, {"k": "v"}, 2, console_id=CONSOLE)
    store.facilitator_login(info.join_code, PASSPHRASE, "console-B", take_over=True)
    team = store.join(info.join_code, "Team A")
    stored = _count(store, "SELECT passphrase_hash FROM workshops")[0][0]
    assert re.match(r"^scrypt\$16384\$8\$1\$[0-9a-f]{32}\$[0-9a-f]{64}$", stored)
    assert store_mod.verify_passphrase(PASSPHRASE, stored)
    assert not store_mod.verify_passphrase(PASSPHRASE + "x", stored)
    assert store_mod.hash_passphrase(PASSPHRASE) != stored  # salted
    with store.engine.connect() as conn:
        dump = ""
        for table in store_mod.metadata.sorted_tables:
            dump += repr(conn.execute(select(table)).all())
    assert PASSPHRASE not in dump and team.token not in dump
    if backend == "sqlite":
        store.close()
        blob = b"".join(
            p.read_bytes() for p in Path(store_url).parent.glob(Path(store_url).name + "*")
        )
        assert PASSPHRASE.encode() not in blob and team.token.encode() not in blob


def test_wrong_passphrase_is_refused_after_a_delay(store: Store, workshop: Any) -> None:
    t0 = time.perf_counter()
    with pytest.raises(WorkshopStoreError, match="passphrase doesn't match this workshop's"):
        store.facilitator_login(workshop.join_code, PASSPHRASE.upper(), "console-B")
    assert time.perf_counter() - t0 >= store_mod.WRONG_PASSPHRASE_DELAY_S
    with pytest.raises(WorkshopStoreError, match="join code doesn't match a workshop"):
        store.facilitator_login("ABCD-EFGH", PASSPHRASE, "console-B")
    assert store.status(workshop.id)["console_seen_at"]  # the holder is unchanged
    with pytest.raises(WorkshopStoreError, match="Another console has taken over"):
        store.open_round(workshop.id, "console-B")


def test_second_facilitator_is_refused_take_over_works_old_console_refused(
    store: Store, workshop: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    wid, code = workshop.id, workshop.join_code
    with pytest.raises(WorkshopStoreError) as exc:
        store.facilitator_login(code, PASSPHRASE, "console-B")
    assert re.match(
        r"This workshop is already open in another facilitator console \(last active \d+ "
        r"seconds? ago\)\. Close that console, or tick 'Take over' to run it from here\.$",
        str(exc.value),
    ), str(exc.value)
    store.console_heartbeat(wid, CONSOLE)
    taken = store.facilitator_login(code, PASSPHRASE, "console-B", take_over=True)
    assert taken.id == wid
    for action in (
        lambda: store.open_round(wid, CONSOLE),
        lambda: store.console_heartbeat(wid, CONSOLE),
        lambda: store.export_tables(wid, CONSOLE),
        lambda: store.debrief(wid, CONSOLE),
    ):
        with pytest.raises(
            WorkshopStoreError,
            match="Another console has taken over this workshop .*tick 'Take over'",
        ):
            action()
    assert store.open_round(wid, "console-B").round_state == "open"
    # A lease that has run out (the console was closed) needs no take-over.
    monkeypatch.setattr(store_mod, "CONSOLE_LEASE_SECONDS", 0)
    assert store.facilitator_login(code, PASSPHRASE, CONSOLE).id == wid
    assert store.close_round(wid, CONSOLE).round_state == "closed"
    events = store.export_tables(wid, CONSOLE)["events"]
    assert list(events["kind"]) == ["created", "take_over", "open", "login", "close"]


def test_facilitator_actions_need_a_login(store: Store) -> None:
    info = store.create_workshop("No console yet", PASSPHRASE, {}, 1)
    with pytest.raises(WorkshopStoreError, match="Log in as the facilitator first"):
        store.open_round(info.id, CONSOLE)
    with pytest.raises(WorkshopStoreError, match="console has no id"):
        store.facilitator_login(info.id, PASSPHRASE, "")
    store.facilitator_login(info.id, PASSPHRASE, CONSOLE)
    assert store.open_round(info.id, CONSOLE).current_round == 1


# ------------------------------------------------------------------------------------------
# Bad input: names, codes
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("", "Please type a team name."),
        ("   \t\n ", "Please type a team name."),
        (None, "Please type a team name."),
        ("x" * 500, f"at most {TEAM_NAME_MAX} characters; that one has 500. Please shorten it."),
        ("x" * 61, "that one has 61"),
        ("Bell\x07s", "printable characters"),
        ("Zero\u200bwidth", "printable characters"),
    ],
    ids=["empty", "whitespace", "none", "500-chars", "61-chars", "control", "zero-width"],
)
def test_bad_team_names_get_a_clear_message(
    store: Store, workshop: Any, name: Any, message: str
) -> None:
    with pytest.raises(WorkshopStoreError) as exc:
        store.join(workshop.join_code, name)
    assert message in str(exc.value)
    assert "Traceback" not in str(exc.value) and "SELECT" not in str(exc.value)
    assert _count(store, "SELECT count(*) FROM teams")[0][0] == 0


def test_markup_in_names_is_stored_verbatim_and_escaped_for_display(
    store: Store, workshop: Any
) -> None:
    raw = '<b>Bold</b> & <script>alert("x")</script>'
    team = store.join(workshop.join_code, f"  {raw}  ")
    assert team.name == raw
    stored = _count(store, "SELECT name FROM teams WHERE id = :i", i=team.team_id)[0][0]
    assert stored == raw
    assert store.status(workshop.id)["teams"][0]["name"] == raw
    shown = display_name(stored)
    assert "<" not in shown and ">" not in shown and '"' not in shown
    assert shown == (
        "&lt;b&gt;Bold&lt;/b&gt; &amp; &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;"
    )
    assert escape(None) == "" and escape("O'Neil") == "O&#x27;Neil"
    assert store.workshop(workshop.id).name == "Wyndmoor <PBC> day"  # verbatim too
    assert spreadsheet_safe("=HYPERLINK(1)") == "'=HYPERLINK(1)" and spreadsheet_safe(-3) == -3
    exported = store.export_tables(workshop.id, CONSOLE)["teams"]
    assert exported["team"].tolist() == [raw]


def test_duplicate_team_names_are_refused(store: Store, workshop: Any) -> None:
    store.join(workshop.join_code, "North Cluster")
    for dup in ("north cluster", "  NORTH   cluster ", "Ｎｏｒｔｈ Cluster"):
        with pytest.raises(WorkshopStoreError, match="A team with that name has already") as e:
            store.join(workshop.join_code, dup)
        assert "choose 'Rejoin my team' on the team page and type the rejoin key" in str(e.value)
    other = store.create_workshop("Another", PASSPHRASE, {}, 1)
    assert store.join(other.join_code, "North Cluster").name == "North Cluster"  # other workshop


@pytest.mark.parametrize(
    ("code", "message"),
    [
        ("", "Please type the workshop's join code"),
        ("ABC", "That isn't a join code"),
        ("ABCD-EFGH-J", "That isn't a join code"),
        ("K7QF-2MX0", "never contain 0, O, 1, I or L"),
        ("KIQF-2MXD", "never contain 0, O, 1, I or L"),
        ("K7QF-2MX!", "That isn't a join code"),
        (
            "ZZZZ-ZZZZ",
            "That join code doesn't match a workshop. Check the code on the "
            "facilitator's slide: 8 letters and digits, e.g. K7QF-2MXD.",
        ),
    ],
)
def test_wrong_join_code_gets_a_clear_message(
    store: Store, workshop: Any, code: str, message: str
) -> None:
    with pytest.raises(WorkshopStoreError) as exc:
        store.join(code, "Team A")
    assert message in str(exc.value)


def test_join_code_format_and_unguessability() -> None:
    assert not set("0O1IL") & set(CODE_ALPHABET) and len(CODE_ALPHABET) == 31
    assert len(CODE_ALPHABET) ** 8 > 2**39  # ~40 bits: guessing online is hopeless
    codes = [new_join_code() for _ in range(20_000)]
    assert all(CODE_RE.match(c) for c in codes)
    assert len(set(codes)) == len(codes)
    counts = {ch: 0 for ch in CODE_ALPHABET}
    for c in codes:
        for ch in c.replace("-", ""):
            counts[ch] += 1
    expected = 8 * len(codes) / len(CODE_ALPHABET)  # ~5161 each
    assert all(abs(n - expected) < 0.1 * expected for n in counts.values()), counts
    for typed in ("k7qf-2mxd", " K7QF 2MXD ", "k7qf2mxd", "K7QF—2MXD", "k7qf_2mxd"):
        assert normalise_code(typed) == "K7QF-2MXD"


def test_workshops_get_distinct_codes(store: Store) -> None:
    infos = [store.create_workshop(f"W{i}", PASSPHRASE, {}, 1) for i in range(12)]
    assert len({i.join_code for i in infos}) == 12
    assert all(CODE_RE.match(i.join_code) for i in infos)
    assert store.workshop(infos[3].join_code.lower()).id == infos[3].id


# ------------------------------------------------------------------------------------------
# Export, locations, errors
# ------------------------------------------------------------------------------------------


def test_export_tables(store: Store, workshop: Any) -> None:
    a = store.join(workshop.join_code, "=SUM(A1)", locality="North")
    b = store.join(workshop.join_code, "Plain")
    store.open_round(workshop.id, CONSOLE)
    store.submit(a.team_id, a.token, 1, {"beds": 2, "mix": {"gp": 0.5}, "tags": ["x"]})
    store.submit(b.team_id, b.token, 1, {"beds": 1})
    _run_round(store, workshop.id, 1, {a.team_id: {"spend": 1.0}, b.team_id: {"spend": 2.0}})
    tables = store.export_tables(workshop.id, CONSOLE)
    assert set(tables) == {"workshop", "rounds", "teams", "submissions", "results", "events"}
    text_dump = "".join(df.to_csv() for df in tables.values())
    assert "scrypt$" not in text_dump and a.token not in text_dump
    assert PASSPHRASE not in text_dump
    subs = tables["submissions"]
    assert {"decision.beds", "decision.mix.gp", "decision.tags"} <= set(subs.columns)
    assert subs["decision.beds"].tolist() == [2, 1]
    assert subs["team"].tolist() == ["'=SUM(A1)", "Plain"]  # formula defused
    assert tables["results"]["outcome.spend"].tolist() == [1.0, 2.0]
    assert tables["rounds"]["revealed_at"].notna().all()
    raw = store.export_tables(workshop.id, CONSOLE, safe_for_spreadsheets=False)
    assert raw["teams"]["team"].tolist() == ["=SUM(A1)", "Plain"]


def test_sqlite_settings_and_locations(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(store_mod.ENV_DB, raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    s = open_store()
    assert s.url == str(tmp_path / "xdg" / "pbc-workbooks" / "workshop.sqlite")
    assert Path(s.url).exists()
    with s.engine.connect() as conn:
        pragma = {
            name: conn.exec_driver_sql(f"PRAGMA {name}").scalar()
            for name in ("journal_mode", "synchronous", "foreign_keys", "busy_timeout")
        }
    assert pragma == {
        "journal_mode": "wal",
        "synchronous": 2,
        "foreign_keys": 1,
        "busy_timeout": 10_000,
    }
    s.close()
    monkeypatch.setenv(store_mod.ENV_DB, str(tmp_path / "env" / "ws.sqlite"))
    with open_store() as s2:
        assert s2.url == str(tmp_path / "env" / "ws.sqlite")
    with open_store(f"sqlite:///{tmp_path / 'url.sqlite'}") as s3:
        assert s3.backend == "sqlite"
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    with pytest.raises(WorkshopStoreError, match="folder .* can't be created"):
        open_store(blocker / "sub" / "x.sqlite")
    for bad, message in [
        ("mysql://u:p@h/db", "must be SQLite .* or PostgreSQL"),
        ("sqlite://", "must be a file"),
        ("   ", "location is empty"),
    ]:
        with pytest.raises(WorkshopStoreError, match=message):
            open_store(bad)


def test_unreachable_postgres_gives_a_clear_message_without_the_password() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(WorkshopStoreError) as exc:
        open_store(f"postgresql://facil:s3cr3t-pw@127.0.0.1:{port}/workshops")
    message = str(exc.value)
    assert message.startswith(
        f"The workshop store at postgresql://facil@127.0.0.1:{port}/workshops can't be reached:"
    ), message
    assert "s3cr3t-pw" not in message and "Traceback" not in message


def test_a_store_opened_before_fork_works_in_the_child(tmp_path: Path) -> None:
    """The hosting's fork server may create kernels from a process that opened a store."""
    s = open_store(tmp_path / "fork.sqlite")
    info = s.create_workshop("Forked", PASSPHRASE, {}, 1, console_id=CONSOLE)
    pid = os.fork()
    if pid == 0:  # child: use the inherited Store, then leave without running pytest's exit
        code = 1
        try:
            team = s.join(info.join_code, "Child team")
            code = 0 if team.team_id else 1
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert [t["name"] for t in s.status(info.id)["teams"]] == ["Child team"]
    s.close()


# ------------------------------------------------------------------------------------------
# Concurrency: 20 team processes, close races, a killed writer, a crashed server
# ------------------------------------------------------------------------------------------


def test_twenty_teams_submit_at_once_from_separate_processes(
    store: Store, store_url: str, backend: str, writers: list[Writer]
) -> None:
    """20 processes submit at the same instant, 20 rounds over: exactly 20 rows each round."""
    info = store.create_workshop("Concurrency", PASSPHRASE, {}, N_REPEATS, console_id=CONSOLE)
    teams = _join_teams(store, info.join_code, N_TEAMS)
    for w in writers:
        w.send({"op": "open", "url": store_url})
    assert all(w.recv()["ok"] for w in writers)
    round_times, submit_times = [], []
    for rnd in range(1, N_REPEATS + 1):
        store.open_round(info.id, CONSOLE)
        start_at = time.time() + 0.05
        sent = {}
        for w, team in zip(writers, teams, strict=True):
            sent[team.team_id] = {"round": rnd, "team": team.team_id, "pick": random.random()}
            w.send(
                {
                    "op": "submit",
                    "url": store_url,
                    "team_id": team.team_id,
                    "token": team.token,
                    "round": rnd,
                    "decisions": sent[team.team_id],
                    "start_at": start_at,
                }
            )
        replies = [w.recv() for w in writers]
        round_times.append(time.time() - start_at)
        assert all(r["ok"] and r["revision"] == 1 for r in replies), replies
        submit_times += [r["seconds"] for r in replies]
        store.close_round(info.id, CONSOLE)
        stored = store.decisions_for(info.id, rnd, CONSOLE)
        assert stored == sent  # exactly 20, each team's own decisions: none lost or mixed up
        assert store.status(info.id)["submitted_count"] == N_TEAMS
        store.save_results(info.id, CONSOLE, rnd, {tid: {"r": rnd} for tid in stored})
        store.reveal(info.id, CONSOLE)
    rows = _count(
        store,
        "SELECT count(*), count(DISTINCT team_id), min(revision), max(revision) "
        "FROM submissions WHERE workshop_id = :w GROUP BY round",
        w=info.id,
    )
    assert rows == [(N_TEAMS, N_TEAMS, 1, 1)] * N_REPEATS
    FIGURES[f"{backend}: {N_TEAMS} processes x {N_REPEATS} rounds"] = (
        f"{N_TEAMS * N_REPEATS} rows checked; round (all 20 committed) median "
        f"{statistics.median(round_times) * 1000:.0f} ms, max {max(round_times) * 1000:.0f} ms; "
        f"one submit median {statistics.median(submit_times) * 1000:.0f} ms, "
        f"p95 {statistics.quantiles(submit_times, n=20)[18] * 1000:.0f} ms"
    )


def test_same_name_joined_from_ten_processes_at_once(
    store: Store, store_url: str, writers: list[Writer]
) -> None:
    """Ten kernels join with the same name (give or take capitals) at the same instant: exactly
    one team is created; the others are told the name is taken."""
    info = store.create_workshop("Join race", PASSPHRASE, {}, 1, console_id=CONSOLE)
    start_at = time.time() + 0.2
    for i, w in enumerate(writers[:10]):
        name = "Race Team" if i % 2 else "race   TEAM"
        w.send(
            {
                "op": "join",
                "url": store_url,
                "code": info.join_code,
                "name": name,
                "start_at": start_at,
            }
        )
    replies = [w.recv() for w in writers[:10]]
    assert sum(r["ok"] for r in replies) == 1, replies
    refused = [r["error"] for r in replies if not r["ok"]]
    assert all(e.startswith("A team with that name has already joined") for e in refused)
    assert store.status(info.id)["team_count"] == 1


def _collect_spam(ws: list[Writer], until: Any, timeout: float = 60) -> list[list[dict]]:
    """Read every writer's lines into per-writer lists until ``until(lists)`` is true."""
    logs: list[list[dict]] = [[] for _ in ws]
    deadline = time.time() + timeout
    while not until(logs):
        assert time.time() < deadline, [lg[-3:] for lg in logs]
        progressed = False
        for i, w in enumerate(ws):
            try:
                while True:
                    item = w.lines.get_nowait()
                    if item is None:
                        logs[i].append({"eof": True})
                        break
                    logs[i].append(item)
                    progressed = True
            except queue.Empty:
                pass
        if not progressed:
            time.sleep(0.005)
    return logs


def test_resubmissions_racing_close_round(
    store: Store, store_url: str, backend: str, writers: list[Writer]
) -> None:
    """10 processes resubmit as fast as they can while the facilitator closes the round: every
    submission acknowledged before the close is the one stored, and none is accepted after."""
    racers = writers[:10]
    info = store.create_workshop("Race", PASSPHRASE, {}, 1, console_id=CONSOLE)
    teams = _join_teams(store, info.join_code, len(racers))
    store.open_round(info.id, CONSOLE)
    for w, team in zip(racers, teams, strict=True):
        w.send(
            {
                "op": "spam",
                "url": store_url,
                "teams": [[team.team_id, team.token]],
                "round": 1,
                "pause": 0.004,
                "deadline": time.time() + 60,
            }
        )
    before_close = _collect_spam(
        racers, lambda logs: all(sum("ack" in x for x in lg) >= 5 for lg in logs)
    )
    closed = store.close_round(info.id, CONSOLE)
    assert closed.round_state == "closed"
    rest = _collect_spam(racers, lambda logs: all(lg and "done" in lg[-1] for lg in logs))
    closed_at = store.status(info.id)["closed_at"]
    total_acks = 0
    stored = {
        r.team_id: r
        for r in _count(
            store,
            "SELECT team_id, revision, decisions_json, submitted_at "
            "FROM submissions WHERE workshop_id = :w",
            w=info.id,
        )
    }
    for team, before, after in zip(teams, before_close, rest, strict=True):
        log = before + after
        acks = [x for x in log if "ack" in x]
        refusals = [x for x in log if "refused" in x]
        assert not [x for x in log if "error" in x], log
        assert len(refusals) == 1 and "Round 1 closed at" in refusals[0]["refused"]
        assert [a["revision"] for a in acks] == list(range(1, len(acks) + 1))
        assert all(a["submitted_at"] < closed_at for a in acks)
        row = stored[team.team_id]
        assert row.revision == acks[-1]["revision"]  # the last acknowledged one stands
        assert json.loads(row.decisions_json)["seq"] == acks[-1]["ack"]
        total_acks += len(acks)
    assert len(stored) == len(teams)
    FIGURES[f"{backend}: close_round racing 10 resubmitting processes"] = (
        f"{total_acks} acknowledged submissions, every team's last one stored, 10 refused after "
        "close, none accepted after"
    )


def _check_acked_are_stored(store: Store, wid: int, acks: list[dict]) -> tuple[int, int]:
    """Each team's stored row holds at least its last acknowledged revision; where it holds
    exactly that revision, the decisions are the acknowledged ones. Returns (teams checked,
    teams whose stored revision is ahead of their last acknowledgement)."""
    last: dict[int, dict] = {}
    for a in acks:
        last[a["team_id"]] = a
    stored = {
        r.team_id: r
        for r in _count(
            store,
            "SELECT team_id, revision, decisions_json FROM submissions "
            "WHERE workshop_id = :w AND round = 1",
            w=wid,
        )
    }
    ahead = 0
    for team_id, ack in last.items():
        row = stored[team_id]
        assert row.revision >= ack["revision"], (team_id, row.revision, ack)
        if row.revision == ack["revision"]:
            assert json.loads(row.decisions_json)["seq"] == ack["ack"]
        else:
            ahead += 1
    return len(last), ahead


def test_writer_killed_mid_round_loses_nothing_and_the_workshop_continues(
    store: Store, store_url: str, backend: str
) -> None:
    info = store.create_workshop("Kill", PASSPHRASE, {}, 2, console_id=CONSOLE)
    teams = _join_teams(store, info.join_code, 30)
    store.open_round(info.id, CONSOLE)
    victim = Writer()
    assert "ready" in victim.recv(timeout=120)
    victim.send(
        {
            "op": "spam",
            "url": store_url,
            "round": 1,
            "pause": 0,
            "teams": [[t.team_id, t.token] for t in teams],
            "deadline": time.time() + 60,
        }
    )
    target = random.randint(60, 120)
    log = _collect_spam([victim], lambda logs: sum("ack" in x for x in logs[0]) >= target)[0]
    time.sleep(random.uniform(0, 0.01))  # land anywhere in the next transaction
    os.kill(victim.proc.pid, signal.SIGKILL)
    victim.proc.wait(timeout=10)
    log += _collect_spam([victim], lambda logs: logs[0] and "eof" in logs[0][-1])[0]
    assert victim.proc.returncode == -signal.SIGKILL
    acks = [x for x in log if "ack" in x]
    assert not [x for x in log if "error" in x or "refused" in x], log
    checked, ahead = _check_acked_are_stored(store, info.id, acks)
    # At most the one transaction in flight at the kill committed without being acknowledged.
    assert ahead <= 1
    rows = _count(
        store, "SELECT count(*), sum(revision) FROM submissions WHERE workshop_id = :w", w=info.id
    )[0]
    assert rows[1] - len(acks) in (0, 1)  # every committed revision is accounted for
    if backend == "sqlite":
        with sqlite3.connect(store_url) as conn:
            assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
            assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
    # The workshop carries on: a new team joins and submits, the round closes and reveals.
    late = store.join(info.join_code, "Latecomers")
    assert store.submit(late.team_id, late.token, 1, {"seq": -1}).revision == 1
    assert store.submit(teams[0].team_id, teams[0].token, 1, {"seq": -2}).revision >= 2
    _run_round(store, info.id, 1)
    assert store.status(info.id)["submitted_count"] == rows[0] + 1
    assert store.open_round(info.id, CONSOLE).current_round == 2
    FIGURES[f"{backend}: writer SIGKILLed mid-round"] = (
        f"{len(acks)} acknowledged submissions over {checked} teams all intact; "
        f"{ahead} committed-but-unacknowledged at the kill; "
        + ("integrity_check ok; " if backend == "sqlite" else "")
        + "workshop continued"
    )


def test_postgres_server_crash_loses_no_committed_submission(tmp_path: Path) -> None:
    """PostgreSQL killed (immediate shutdown: no checkpoint, like a crash) while a team process
    submits: after the restart every acknowledged submission is there and the round goes on."""
    try:
        server = pg_server.start_throwaway()
    except pg_server.PostgresUnavailable as exc:
        _unavailable(exc, "PostgreSQL server binaries are")
    writer = None
    try:
        url = server.create_database()
        store = open_store(url)
        info = store.create_workshop("Crash", PASSPHRASE, {}, 1, console_id=CONSOLE)
        teams = _join_teams(store, info.join_code, 10)
        store.open_round(info.id, CONSOLE)
        writer = Writer()
        assert "ready" in writer.recv(timeout=120)
        writer.send(
            {
                "op": "spam",
                "url": url,
                "round": 1,
                "pause": 0.002,
                "teams": [[t.team_id, t.token] for t in teams],
                "deadline": time.time() + 60,
            }
        )
        log = _collect_spam([writer], lambda lg: sum("ack" in x for x in lg[0]) >= 50)[0]
        acked_before = sum("ack" in x for x in log)
        t0 = time.perf_counter()
        server.crash_and_restart()
        restart_s = time.perf_counter() - t0
        log += _collect_spam([writer], lambda lg: sum("ack" in x for x in lg[0]) >= 30)[0]
        store.close_round(info.id, CONSOLE)
        log += _collect_spam([writer], lambda lg: lg[0] and "done" in lg[0][-1])[0]
        acks = [x for x in log if "ack" in x]
        errors = [x for x in log if "error" in x]
        assert errors, "the crash should have been noticed by the writer"
        assert all(
            "can't be reached" in e["error"]
            or "was lost" in e["error"]
            or "reported a problem" in e["error"]
            for e in errors
        ), errors
        checked, ahead = _check_acked_are_stored(store, info.id, acks)
        store.save_results(info.id, CONSOLE, 1, {t.team_id: {"ok": 1} for t in teams})
        assert store.reveal(info.id, CONSOLE).round_state == "revealed"
        store.close()
        FIGURES["postgresql: server crashed and restarted mid-round"] = (
            f"{acked_before} acknowledged before the crash, {len(acks)} in all, intact over "
            f"{checked} teams ({ahead} ahead of their last acknowledgement); "
            f"{len(errors)} errors reported during the outage; restart {restart_s:.1f} s"
        )
    finally:
        if writer is not None:
            writer.close()
        server.stop()
