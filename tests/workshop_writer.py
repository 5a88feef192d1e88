"""A team kernel stand-in for tests/test_workshop_store.py: a separate OS process that talks to
the workshop store exactly as a team's kernel would.

Protocol: one JSON object per line on stdin, answers as JSON lines on stdout (flushed at once).
It prints ``{"ready": pid}`` when imported, then serves:

- ``{"op": "open", "url": U}``: open (and migrate) the store; ``{"ok": true}``.
- ``{"op": "migrate", "url": U, "start_at": T}``: at wall-clock time T, open a new store (which
  migrates) and migrate again; ``{"ok": true, "version": v}``.
- ``{"op": "submit", "url": U, "team_id", "token", "round", "decisions", "start_at": T}``: at T,
  submit once; ``{"ok": true, "revision", "submitted_at", "seconds"}`` or
  ``{"ok": false, "error": message}``.
- ``{"op": "join", "url": U, "code", "name", "start_at": T}``: at T, join as a new team;
  ``{"ok": true, "team_id"}`` or ``{"ok": false, "error": message}``.
- ``{"op": "spam", "url": U, "teams": [[id, token], ...], "round", "pause": s, "limit": n,
  "deadline": T}``: submit again and again (team ``seq % len(teams)``, decisions
  ``{"seq": seq, ...}``), printing ``{"ack": seq, "team_id", "revision", "submitted_at"}`` only
  after each commit returned. A refusal because the round closed ends the loop with
  ``{"refused": message, "seq": seq}``; any other error is reported as ``{"error": message}`` and
  the loop carries on (a restarting server) until ``deadline``. Ends with ``{"done": count}``.
- ``{"op": "quit"}``.
"""

from __future__ import annotations

import json
import os
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pbc_lib.workshop.store import Store, WorkshopStoreError, open_store  # noqa: E402

_store: Store | None = None
_url: str | None = None


def _out(obj: object) -> None:
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def _store_for(url: str) -> Store:
    global _store, _url
    if _store is None or url != _url:
        if _store is not None:
            _store.close()
        _store, _url = open_store(url), url
    return _store


def _wait_until(t: float | None) -> None:
    if t:
        delay = t - time.time()
        if delay > 0:
            time.sleep(delay)


def _spam(cmd: dict) -> None:
    store = _store_for(cmd["url"])
    teams = cmd["teams"]
    pause = float(cmd.get("pause", 0))
    limit = int(cmd.get("limit", 10**9))
    deadline = float(cmd.get("deadline", time.time() + 60))
    count = 0
    seq = 0
    while count < limit and time.time() < deadline:
        team_id, token = teams[seq % len(teams)]
        decisions = {"seq": seq, "team": team_id, "pid": os.getpid(), "note": "x" * (seq % 50)}
        try:
            receipt = store.submit(team_id, token, cmd["round"], decisions)
        except WorkshopStoreError as exc:
            message = str(exc)
            if " closed at " in message or "has finished" in message:
                _out({"refused": message, "seq": seq})
                break
            _out({"error": message, "seq": seq})
            time.sleep(0.1)
        else:
            count += 1
            _out(
                {
                    "ack": seq,
                    "team_id": team_id,
                    "revision": receipt.revision,
                    "submitted_at": receipt.submitted_at,
                }
            )
        seq += 1
        if pause:
            time.sleep(pause * random.uniform(0.5, 1.5))
    _out({"done": count})


def main() -> None:
    _out({"ready": os.getpid()})
    for line in sys.stdin:
        if not line.strip():
            continue
        cmd = json.loads(line)
        op = cmd["op"]
        try:
            if op == "quit":
                break
            if op == "open":
                _store_for(cmd["url"])
                _out({"ok": True})
            elif op == "migrate":
                _wait_until(cmd.get("start_at"))
                store = open_store(cmd["url"])
                try:
                    version = store.migrate()
                finally:
                    store.close()
                _out({"ok": True, "version": version})
            elif op == "submit":
                store = _store_for(cmd["url"])
                _wait_until(cmd.get("start_at"))
                t0 = time.perf_counter()
                receipt = store.submit(cmd["team_id"], cmd["token"], cmd["round"], cmd["decisions"])
                _out(
                    {
                        "ok": True,
                        "revision": receipt.revision,
                        "submitted_at": receipt.submitted_at,
                        "seconds": time.perf_counter() - t0,
                    }
                )
            elif op == "join":
                store = _store_for(cmd["url"])
                _wait_until(cmd.get("start_at"))
                session = store.join(cmd["code"], cmd["name"])
                _out({"ok": True, "team_id": session.team_id})
            elif op == "spam":
                _spam(cmd)
            else:
                _out({"ok": False, "error": f"unknown op {op!r}"})
        except WorkshopStoreError as exc:
            _out({"ok": False, "error": str(exc)})
    if _store is not None:
        _store.close()


if __name__ == "__main__":
    main()
