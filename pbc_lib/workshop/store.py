"""The workshop store: workshops, teams, submissions and results, shared by every kernel.

One schema and one migration path for two databases (SQLAlchemy Core):

- **SQLite** (the default): one file, ``$XDG_DATA_HOME/pbc-workbooks/workshop.sqlite`` unless
  ``PBC_WORKSHOP_DB`` or the caller names another. WAL mode, ``synchronous=FULL`` (a committed
  submission survives a killed kernel or a power cut), ``foreign_keys=ON`` and a 10 s busy timeout.
  Every write transaction starts with ``BEGIN IMMEDIATE``, so concurrent writers from many kernels
  queue for the write lock instead of failing half-way.
- **PostgreSQL** by URL (``postgresql://user:password@host/db``) for a hosted deployment whose
  kernels run on several machines. Connections are checked before use (``pool_pre_ping``);
  serialisation failures and deadlocks are retried.

Every submission is one transaction: it checks the team's token, locks the workshop row (SQLite:
the write lock; PostgreSQL: ``FOR KEY SHARE``, which :meth:`Store.close_round`'s ``FOR UPDATE``
waits for) and checks that the round is open *inside* that transaction, then upserts the single
row keyed ``(team_id, round)``. A resubmission while the round is open replaces the earlier one
(``revision`` + 1); once the round is closed the write is refused with a message saying when it
closed and which submission stands.

Every refusal is a :class:`WorkshopStoreError` whose message says, in plain English, what is wrong
and what to do. Database errors are logged in full and reach the user only as such a message
(the URL shown without its password). Names and free text are stored verbatim; anything that
shows them must escape them (:func:`escape`, :func:`display_name`; :func:`spreadsheet_safe` for
exported cells). The facilitator's passphrase is stored only as an scrypt hash.

A team's token is its **rejoin key**: ``XXXX-XXXX-XXXX``, 12 symbols from :data:`CODE_ALPHABET`
(about 59 bits), short enough to write down at join and type back in with :meth:`Store.resume`
after a lost page, a kernel restart or a server restart (:meth:`Store.reissue_token` gives a team
that lost it a new one). It is stored only as a SHA-256 hash salted with the workshop and the
team's name. Guessing it online is hopeless: every failed rejoin waits
:data:`WRONG_REJOIN_DELAY_S`, and 2**59 keys at thousands of guesses a second is millions of
years. Offline, from a copy of the database, a fast hash would still take about a GPU-year per
team, and such a copy already shows everything a key protects.

Timestamps are UTC ISO 8601 strings (``2025-12-05T14:32:01.123456Z``), which sort as text.
"""

from __future__ import annotations

import hashlib
import hmac
import html
import json
import logging
import os
import random
import re
import secrets
import sqlite3
import time
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
    create_engine,
    delete,
    event,
    func,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import URL, Connection, Engine, make_url
from sqlalchemy.exc import (
    ArgumentError,
    DBAPIError,
    IntegrityError,
    OperationalError,
    SQLAlchemyError,
)

if TYPE_CHECKING:  # pandas is imported only when exporting
    import pandas as pd

__all__ = [
    "CODE_ALPHABET",
    "CONSOLE_LEASE_SECONDS",
    "DECIDING_ROLE",
    "ENV_DB",
    "LATEST_SCHEMA_VERSION",
    "ROUND_STATES",
    "TEAM_NAME_MAX",
    "Store",
    "SubmissionReceipt",
    "TeamSession",
    "WorkshopInfo",
    "WorkshopStoreError",
    "clean_team_name",
    "default_location",
    "display_name",
    "escape",
    "hash_passphrase",
    "metadata",
    "migrate",
    "new_join_code",
    "new_rejoin_key",
    "normalise_code",
    "normalise_rejoin_key",
    "open_store",
    "spreadsheet_safe",
    "verify_passphrase",
]

_log = logging.getLogger(__name__)
T = TypeVar("T")

ENV_DB = "PBC_WORKSHOP_DB"
CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"  # no 0/O, 1/I/L: 31 symbols, 8 of them ≈ 40 bits
CODE_LENGTH = 8
CODE_EXAMPLE = "K7QF-2MXD"
KEY_GROUPS, KEY_GROUP_LENGTH = 3, 4  # a rejoin key: 12 of 31 symbols ≈ 59.4 bits
KEY_EXAMPLE = "HX4M-9TQC-R2WP"
DECIDING_ROLE = "cluster"  # teams in this role submit decisions; other roles (PCT, trust) watch
CONSOLE_LEASE_SECONDS = 120
TEAM_NAME_MAX = 60
WORKSHOP_NAME_MAX = 100
ROLE_MAX = 40
LOCALITY_MAX = 60
CONSOLE_ID_MAX = 100
PASSPHRASE_MIN = 8
PASSPHRASE_MAX = 1024
MAX_ROUNDS = 50
MAX_TEAMS = 200
MAX_DECISIONS_BYTES = 20 * 1024
MAX_OUTCOME_BYTES = 100 * 1024
MAX_SCENARIO_BYTES = 1024 * 1024
WRONG_PASSPHRASE_DELAY_S = 0.5
WRONG_REJOIN_DELAY_S = 0.5  # every failed rejoin (wrong code, name or key) waits this long
SQLITE_BUSY_TIMEOUT_MS = 10_000
ROUND_STATES = ("not_started", "open", "closed", "revealed", "finished")
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1
_MAX_ATTEMPTS = 6  # transient failures (PostgreSQL serialisation/deadlock, SQLite busy)
_PG_MIGRATION_LOCK = 0x5042_4357_534D  # "PBCWSM": advisory lock key held while migrating


class WorkshopStoreError(ValueError):
    """A refusal or failure, with a plain-English message saying what is wrong and what to do."""


# --------------------------------------------------------------------------------------------
# Schema
# --------------------------------------------------------------------------------------------

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

schema_version = Table(
    "schema_version",
    metadata,
    Column("version", Integer, primary_key=True, autoincrement=False),
    Column("description", String(200), nullable=False),
    Column("applied_at", String(32), nullable=False),
)

workshops = Table(
    "workshops",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(WORKSHOP_NAME_MAX), nullable=False),
    Column("join_code", String(9), nullable=False, unique=True),
    Column("passphrase_hash", String(300), nullable=False),
    Column("scenario_json", Text, nullable=False),
    Column("events_json", Text, nullable=False),
    Column("seed", BigInteger, nullable=False),
    Column("rounds", Integer, nullable=False),
    Column("current_round", Integer, nullable=False),
    Column("round_state", String(20), nullable=False),
    Column("console_id", String(CONSOLE_ID_MAX)),
    Column("console_seen_at", String(32)),
    Column("created_at", String(32), nullable=False),
    Column("finished_at", String(32)),
    CheckConstraint(
        "round_state IN ('not_started', 'open', 'closed', 'revealed', 'finished')",
        name="round_state",
    ),
    CheckConstraint(f"rounds BETWEEN 1 AND {MAX_ROUNDS}", name="rounds"),
    CheckConstraint("current_round BETWEEN 0 AND rounds", name="current_round"),
)

rounds_table = Table(
    "rounds",
    metadata,
    Column("workshop_id", Integer, ForeignKey("workshops.id", ondelete="CASCADE"), nullable=False),
    Column("round", Integer, nullable=False),
    Column("opened_at", String(32), nullable=False),
    Column("closed_at", String(32)),
    Column("results_saved_at", String(32)),
    Column("revealed_at", String(32)),
    PrimaryKeyConstraint("workshop_id", "round"),
)

teams = Table(
    "teams",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("workshop_id", Integer, ForeignKey("workshops.id", ondelete="CASCADE"), nullable=False),
    Column("name", String(TEAM_NAME_MAX), nullable=False),
    Column("name_key", Text, nullable=False),
    Column("role", String(ROLE_MAX), nullable=False),
    Column("locality", String(LOCALITY_MAX)),
    Column("token_hash", String(64), nullable=False),
    Column("joined_at", String(32), nullable=False),
    UniqueConstraint("workshop_id", "name_key"),
)

submissions = Table(
    "submissions",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("workshop_id", Integer, ForeignKey("workshops.id", ondelete="CASCADE"), nullable=False),
    Column("team_id", Integer, ForeignKey("teams.id", ondelete="CASCADE"), nullable=False),
    Column("round", Integer, nullable=False),
    Column("decisions_json", Text, nullable=False),
    Column("submitted_at", String(32), nullable=False),
    Column("first_submitted_at", String(32), nullable=False),
    Column("revision", Integer, nullable=False),
    UniqueConstraint("team_id", "round"),
    Index(None, "workshop_id", "round"),
)

results = Table(
    "results",
    metadata,
    Column("workshop_id", Integer, ForeignKey("workshops.id", ondelete="CASCADE"), nullable=False),
    Column("team_id", Integer, ForeignKey("teams.id", ondelete="CASCADE"), nullable=False),
    Column("round", Integer, nullable=False),
    Column("outcome_json", Text, nullable=False),
    Column("saved_at", String(32), nullable=False),
    PrimaryKeyConstraint("team_id", "round"),
    Index(None, "workshop_id", "round"),
)

events_log = Table(
    "events_log",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("workshop_id", Integer, ForeignKey("workshops.id", ondelete="CASCADE"), nullable=False),
    Column("at", String(32), nullable=False),
    Column("actor", String(120), nullable=False),
    Column("kind", String(40), nullable=False),
    Column("detail_json", Text, nullable=False),
    Index(None, "workshop_id", "id"),
)


def _migration_1(conn: Connection) -> None:
    # Version 1 is the schema above. When a later version changes a table, copy that table's
    # version-1 definition into this step first, so a new store still passes through every step.
    metadata.create_all(
        conn,
        tables=[workshops, rounds_table, teams, submissions, results, events_log],
        checkfirst=False,
    )


# Numbered steps, applied in order, each in its own transaction, each recorded in schema_version.
MIGRATIONS: list[tuple[int, str, Callable[[Connection], None]]] = [
    (1, "workshops, rounds, teams, submissions, results, events_log", _migration_1),
]
LATEST_SCHEMA_VERSION = MIGRATIONS[-1][0]


def _is_pg(conn_or_engine: Connection | Engine) -> bool:
    return conn_or_engine.dialect.name == "postgresql"


def migrate(engine: Engine) -> int:
    """Bring the schema up to date; returns the schema version. Idempotent, and safe when several
    processes call it at once: each step runs under the write lock (SQLite ``BEGIN IMMEDIATE``;
    PostgreSQL a transaction-scoped advisory lock) and re-reads the version first."""
    while True:
        with engine.connect() as conn:
            conn.execution_options(pbc_write=True)
            with conn.begin():
                if _is_pg(conn):
                    conn.execute(
                        text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_MIGRATION_LOCK}
                    )
                schema_version.create(conn, checkfirst=True)
                current = conn.scalar(select(func.max(schema_version.c.version))) or 0
                if current > LATEST_SCHEMA_VERSION:
                    raise WorkshopStoreError(
                        f"This workshop store was written by a newer version of PbC Workbooks "
                        f"(schema {current}; this version knows up to {LATEST_SCHEMA_VERSION}). "
                        "Update PbC Workbooks on this machine, or use another store."
                    )
                pending = [m for m in MIGRATIONS if m[0] > current]
                if not pending:
                    return current
                version, description, step = pending[0]
                step(conn)
                conn.execute(
                    insert(schema_version).values(
                        version=version, description=description, applied_at=_now()
                    )
                )
                _log.info("workshop store migrated to schema %d (%s)", version, description)


# --------------------------------------------------------------------------------------------
# Plain values returned to the apps
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class WorkshopInfo:
    id: int
    name: str
    join_code: str
    rounds: int
    current_round: int
    round_state: str
    scenario: dict = field(repr=False)
    seed: int
    events: list = field(repr=False)
    created_at: str
    finished_at: str | None = None


@dataclass(frozen=True)
class TeamSession:
    team_id: int
    workshop_id: int
    name: str
    token: str = field(repr=False)  # the rejoin key (secret): only its hash is stored
    role: str = "cluster"
    locality: str | None = None
    join_code: str = ""
    workshop_name: str = ""


@dataclass(frozen=True)
class SubmissionReceipt:
    team_id: int
    round: int
    revision: int
    submitted_at: str


# --------------------------------------------------------------------------------------------
# Helpers: time, text, codes, hashes, JSON
# --------------------------------------------------------------------------------------------


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _parse(ts: str) -> datetime:
    return datetime.fromisoformat(ts.replace("Z", "+00:00"))


def _clock(ts: str | None) -> str:
    """ "14:32", in this machine's local time."""
    return _parse(ts).astimezone().strftime("%H:%M") if ts else "?"


def _ago(ts: str | None) -> str:
    if not ts:
        return "a while ago"
    seconds = max(0, int((datetime.now(UTC) - _parse(ts)).total_seconds()))
    if seconds < 90:
        return f"{seconds} second{'s' if seconds != 1 else ''} ago"
    return f"{round(seconds / 60)} minutes ago"


def escape(value: object) -> str:
    """HTML-escape any text from the store (names, free text) before putting it in a page."""
    return html.escape("" if value is None else str(value), quote=True)


def display_name(name: object) -> str:
    """A team or workshop name ready for HTML: escaped, whitespace collapsed."""
    return escape(" ".join(str("" if name is None else name).split()))


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value: object) -> object:
    """Text that a spreadsheet would run as a formula (``=``, ``+``, ``-``, ``@``...) gets a
    leading apostrophe; everything else is returned unchanged."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def _collapse(value: str) -> str:
    return " ".join(unicodedata.normalize("NFC", value).split())


def clean_team_name(name: object) -> str:
    """The team name as stored: trimmed, inner whitespace collapsed, 1-60 printable characters.
    Markup is allowed and kept verbatim (escape it when showing it)."""
    if not isinstance(name, str) or not name.strip():
        raise WorkshopStoreError("Please type a team name.")
    cleaned = _collapse(name)
    if len(cleaned) > TEAM_NAME_MAX:
        raise WorkshopStoreError(
            f"Team names can be at most {TEAM_NAME_MAX} characters; that one has "
            f"{len(cleaned)}. Please shorten it."
        )
    if not cleaned.isprintable():
        raise WorkshopStoreError(
            "Team names can only contain printable characters (letters, digits, spaces and "
            "punctuation). Please retype it."
        )
    return cleaned


def _name_key(cleaned: str) -> str:
    """Duplicate check key: compatibility-normalised, case-folded, whitespace collapsed."""
    return " ".join(unicodedata.normalize("NFKC", cleaned).casefold().split())


def _clean_text(value: object, label: str, limit: int, *, missing: str | None) -> str | None:
    """Trimmed, whitespace-collapsed, printable text of at most ``limit`` characters. ``label``
    names it in messages ("Workshop names"); ``missing``: the message when it is empty, or None
    if it may be left out."""
    if value is None or (isinstance(value, str) and not value.strip()):
        if missing:
            raise WorkshopStoreError(missing)
        return None
    if not isinstance(value, str):
        raise WorkshopStoreError(f"{label} must be text.")
    cleaned = _collapse(value)
    if len(cleaned) > limit:
        raise WorkshopStoreError(
            f"{label} can be at most {limit} characters; that one has {len(cleaned)}. Please "
            "shorten it."
        )
    if not cleaned.isprintable():
        raise WorkshopStoreError(f"{label} can only contain printable characters.")
    return cleaned


def new_join_code() -> str:
    """A random join code, ``XXXX-XXXX`` from :data:`CODE_ALPHABET` (about 40 bits)."""
    raw = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
    return f"{raw[:4]}-{raw[4:]}"


_CODE_HELP = (
    f"Check the code on the facilitator's slide: 8 letters and digits, e.g. {CODE_EXAMPLE}."
)


def normalise_code(code: object) -> str:
    """``k7qf 2mxd``, ``K7QF2MXD`` or `` k7qf-2mxd `` -> ``K7QF-2MXD``; anything that can't be a
    join code raises :class:`WorkshopStoreError`."""
    if not isinstance(code, str) or not code.strip():
        raise WorkshopStoreError(f"Please type the workshop's join code. {_CODE_HELP}")
    raw = re.sub(r"[\s\-\u2010-\u2015_.]", "", code).upper()
    if set(raw) & set("0O1IL"):
        raise WorkshopStoreError(
            "Join codes never contain 0, O, 1, I or L, so that one has been mistyped. " + _CODE_HELP
        )
    if len(raw) != CODE_LENGTH or not set(raw) <= set(CODE_ALPHABET):
        raise WorkshopStoreError("That isn't a join code. " + _CODE_HELP)
    return f"{raw[:4]}-{raw[4:]}"


def new_rejoin_key() -> str:
    """A random rejoin key, ``XXXX-XXXX-XXXX`` from :data:`CODE_ALPHABET` (about 59 bits)."""
    raw = "".join(secrets.choice(CODE_ALPHABET) for _ in range(KEY_GROUPS * KEY_GROUP_LENGTH))
    return _key_groups(raw)


def _key_groups(raw: str) -> str:
    n = KEY_GROUP_LENGTH
    return "-".join(raw[i : i + n] for i in range(0, len(raw), n))


_KEY_HELP = (
    f"A rejoin key is {KEY_GROUPS * KEY_GROUP_LENGTH} letters and digits in {KEY_GROUPS} groups "
    f"of {KEY_GROUP_LENGTH}, e.g. {KEY_EXAMPLE}: check what you wrote down at join. If your team "
    "has lost it, ask the facilitator for a new one."
)


def normalise_rejoin_key(key: object) -> str:
    """``hx4m 9tqc r2wp``, ``HX4M9TQCR2WP`` or `` hx4m-9tqc-r2wp `` -> ``HX4M-9TQC-R2WP``; anything
    that can't be a rejoin key raises :class:`WorkshopStoreError`."""
    if not isinstance(key, str) or not key.strip():
        raise WorkshopStoreError("Please type your team's rejoin key. " + _KEY_HELP)
    raw = re.sub(r"[\s\-\u2010-\u2015_.]", "", key).upper()
    if set(raw) & set("0O1IL"):
        raise WorkshopStoreError(
            "Rejoin keys never contain 0, O, 1, I or L, so that one has been mistyped. " + _KEY_HELP
        )
    if len(raw) != KEY_GROUPS * KEY_GROUP_LENGTH or not set(raw) <= set(CODE_ALPHABET):
        raise WorkshopStoreError("That isn't a rejoin key. " + _KEY_HELP)
    return _key_groups(raw)


def hash_passphrase(passphrase: str) -> str:
    """``scrypt$n$r$p$salt_hex$hash_hex`` with a random 16-byte salt."""
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(
        passphrase.encode("utf-8"),
        salt=salt,
        n=SCRYPT_N,
        r=SCRYPT_R,
        p=SCRYPT_P,
        maxmem=64 * 1024 * 1024,
        dklen=32,
    )
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${salt.hex()}${digest.hex()}"


def verify_passphrase(passphrase: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt_hex, hash_hex = stored.split("$")
        if scheme != "scrypt":
            return False
        expected = bytes.fromhex(hash_hex)
        candidate = hashlib.scrypt(
            passphrase.encode("utf-8"),
            salt=bytes.fromhex(salt_hex),
            n=int(n),
            r=int(r),
            p=int(p),
            maxmem=256 * 1024 * 1024,
            dklen=len(expected),
        )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(candidate, expected)


def _check_passphrase_text(passphrase: object) -> str:
    if not isinstance(passphrase, str) or not passphrase.strip():
        raise WorkshopStoreError("Please type the facilitator passphrase.")
    value = unicodedata.normalize("NFC", passphrase.strip())
    if len(value) > PASSPHRASE_MAX:
        raise WorkshopStoreError(f"Passphrases can be at most {PASSPHRASE_MAX} characters.")
    return value


def _hash_token(token: str, workshop_id: int, name_key: str) -> str:
    """SHA-256 of the team's token (its rejoin key), salted with its workshop and name."""
    salted = f"pbc-team\x00{int(workshop_id)}\x00{name_key}\x00{token}"
    return hashlib.sha256(salted.encode("utf-8")).hexdigest()


def _token_matches(token: object, team: Any) -> bool:
    """Whether ``token`` is the team's (``team``: its row). Tokens stored unsalted by the first
    release (192-bit ``token_urlsafe`` strings, never shown to anyone) still match."""
    if not isinstance(token, str) or not token:
        return False
    salted = _hash_token(token, team.workshop_id, team.name_key)
    legacy = hashlib.sha256(token.encode("utf-8")).hexdigest()
    return hmac.compare_digest(salted, team.token_hash) or hmac.compare_digest(
        legacy, team.token_hash
    )


def _dumps(value: object, what: str, limit: int) -> str:
    try:
        encoded = json.dumps(
            value, ensure_ascii=False, allow_nan=False, sort_keys=True, separators=(",", ":")
        )
    except ValueError as exc:
        raise WorkshopStoreError(
            f"{what} can't be saved: it contains a number that isn't finite (NaN or infinity)."
        ) from exc
    except TypeError as exc:
        raise WorkshopStoreError(
            f"{what} can't be saved: only numbers, text, true/false, lists and dictionaries "
            f"with text keys can be stored ({exc})."
        ) from exc
    size = len(encoded.encode("utf-8"))
    if size > limit:
        raise WorkshopStoreError(
            f"{what} are too large to save: {size / 1024:.1f} KB; the limit is "
            f"{limit // 1024} KB. Shorten any notes and try again."
        )
    return encoded


def _int_arg(value: object, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        if isinstance(value, float) and value.is_integer():
            return int(value)
        raise WorkshopStoreError(f"{what} must be a whole number; got {value!r}.")
    return value


def default_location() -> Path:
    """``$XDG_DATA_HOME/pbc-workbooks/workshop.sqlite`` (``~/.local/share`` by default)."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base).expanduser() / "pbc-workbooks" / "workshop.sqlite"


# --------------------------------------------------------------------------------------------
# Engines
# --------------------------------------------------------------------------------------------


def _resolve_url(location: str | os.PathLike[str] | None) -> URL:
    if location is None:
        location = os.environ.get(ENV_DB) or default_location()
    if isinstance(location, os.PathLike):
        location = os.fspath(location)
    if not isinstance(location, str) or not location.strip():
        raise WorkshopStoreError(
            "The workshop store location is empty. Give a file path or a database URL "
            "(postgresql://user:password@host/database)."
        )
    value = location.strip()
    if "://" not in value:
        path = Path(value).expanduser().resolve()
        return URL.create("sqlite", database=str(path))
    try:
        url = make_url(value)
    except ArgumentError as exc:
        raise WorkshopStoreError(
            "The workshop store URL isn't valid. Use postgresql://user:password@host/database "
            "or a file path."
        ) from exc
    backend = url.get_backend_name()
    if backend in ("postgresql", "postgres"):
        if url.drivername in ("postgresql", "postgres", "postgresql+psycopg"):
            url = url.set(drivername="postgresql+psycopg")
        return url
    if backend == "sqlite":
        if not url.database or url.database == ":memory:" or url.database.startswith("file:"):
            raise WorkshopStoreError(
                "An SQLite workshop store must be a file (sqlite:///path/to/workshop.sqlite), so "
                "that every kernel shares it."
            )
        return url.set(database=str(Path(url.database).expanduser().resolve()))
    raise WorkshopStoreError(
        f"The workshop store must be SQLite (a file path) or PostgreSQL (postgresql://...); "
        f"'{backend}' isn't supported."
    )


def _safe_url(url: URL) -> str:
    """The URL for messages: no password, no query, no driver."""
    if url.get_backend_name() == "sqlite":
        return str(url.database)
    bare = URL.create(
        "postgresql", username=url.username, host=url.host, port=url.port, database=url.database
    )
    return bare.render_as_string(hide_password=False)


def _sqlite_wal(cur: Any) -> None:
    """Switch to WAL mode. Several processes opening a brand-new file at once can find it
    locked while one of them converts it (SQLite doesn't wait on the busy handler for that), so
    retry until the busy timeout."""
    deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            mode = cur.execute("PRAGMA journal_mode").fetchone()
            if not mode or str(mode[0]).lower() != "wal":
                mode = cur.execute("PRAGMA journal_mode = WAL").fetchone()
            break
        except sqlite3.OperationalError as exc:
            text_ = str(exc).lower()
            if ("locked" not in text_ and "busy" not in text_) or time.monotonic() > deadline:
                raise
            time.sleep(random.uniform(0.005, 0.03))
    if not mode or str(mode[0]).lower() != "wal":
        _log.warning("SQLite workshop store is not in WAL mode: %r", mode)


def _sqlite_begin_immediate(conn: Connection) -> None:
    """``BEGIN IMMEDIATE``: take the write lock before reading anything, so that a write
    transaction never fails half-way. SQLite's own busy handler backs off to polling every
    100 ms, which made 20 simultaneous submissions take about a second; polling here every
    0.5-4 ms (random, so waiting writers don't move in step) serves them in turn within the same
    overall limit (:data:`SQLITE_BUSY_TIMEOUT_MS`)."""
    conn.exec_driver_sql("PRAGMA busy_timeout = 0")
    try:
        deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_MS / 1000
        while True:
            try:
                conn.exec_driver_sql("BEGIN IMMEDIATE")
                return
            except OperationalError as exc:
                if not _retryable(exc) or time.monotonic() > deadline:
                    raise
            time.sleep(random.uniform(0.0005, 0.004))
    finally:
        conn.exec_driver_sql(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")


def _make_engine(url: URL) -> Engine:
    if url.get_backend_name() == "sqlite":
        Path(str(url.database)).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url,
            connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000},
            pool_size=3,
            max_overflow=5,
        )

        @event.listens_for(engine, "connect")
        def _sqlite_connect(dbapi_conn: Any, _record: Any) -> None:
            dbapi_conn.isolation_level = None  # SQLAlchemy's "begin" hook below emits BEGIN
            cur = dbapi_conn.cursor()
            try:
                cur.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
                _sqlite_wal(cur)
                cur.execute("PRAGMA synchronous = FULL")
                cur.execute("PRAGMA foreign_keys = ON")
            finally:
                cur.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn: Connection) -> None:
            if conn.get_execution_options().get("pbc_write"):
                _sqlite_begin_immediate(conn)
            else:
                conn.exec_driver_sql("BEGIN")

        return engine

    engine = create_engine(
        url,
        pool_pre_ping=True,
        pool_size=1,  # one idle connection per kernel: 100 kernels fit max_connections=100+
        max_overflow=4,
        pool_recycle=1800,
        connect_args={"connect_timeout": 10, "application_name": "pbc-workshop"},
    )

    @event.listens_for(engine, "begin")
    def _pg_begin(conn: Connection) -> None:
        if not conn.get_execution_options().get("pbc_write"):
            # One consistent snapshot for multi-query reads; writes stay READ COMMITTED and
            # lock the rows they depend on.
            conn.exec_driver_sql("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")

    return engine


def open_store(location: str | os.PathLike[str] | None = None) -> Store:
    """Open (creating and migrating if needed) the workshop store.

    ``location``: a SQLAlchemy URL (``postgresql://...``, ``sqlite:///...``) or a file path
    (SQLite). ``None``: ``$PBC_WORKSHOP_DB`` if set, else :func:`default_location`.
    """
    url = _resolve_url(location)
    try:
        engine = _make_engine(url)
    except ModuleNotFoundError as exc:
        raise WorkshopStoreError(
            f"The database driver for {_safe_url(url)} isn't installed ({exc.name}). Use "
            "postgresql:// (psycopg, installed with PbC Workbooks) or a file path."
        ) from exc
    except OSError as exc:
        raise WorkshopStoreError(
            f"The workshop store folder for {_safe_url(url)} can't be created: "
            f"{exc.strerror or exc}. Choose a folder you can write to."
        ) from exc
    store = Store(engine, url)
    try:
        store.migrate()
    except BaseException:
        engine.dispose()
        raise
    return store


# --------------------------------------------------------------------------------------------
# The store
# --------------------------------------------------------------------------------------------


def _retryable(exc: DBAPIError) -> bool:
    orig = exc.orig
    sqlstate = getattr(orig, "sqlstate", None)
    if sqlstate in ("40001", "40P01", "55P03"):  # serialisation failure, deadlock, lock timeout
        return True
    message = str(orig).lower()
    return "database is locked" in message or "database is busy" in message


def _first_line(exc: BaseException) -> str:
    orig = getattr(exc, "orig", None) or exc
    lines = [ln.strip() for ln in str(orig).splitlines() if ln.strip()]
    return (lines[0] if lines else type(orig).__name__)[:200]


_GENERIC_CLOSED = "Ask the facilitator if you need a change."


class Store:
    """The shared workshop store. Use one per kernel; many kernels share the database."""

    def __init__(self, engine: Engine, url: URL | None = None) -> None:
        self.engine = engine
        self._url = url or engine.url
        self.url = _safe_url(self._url)  # for messages: never the password
        self.backend = engine.dialect.name
        self._pid = os.getpid()

    # ---- plumbing -------------------------------------------------------------------------

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Store({self.url!r})"

    def migrate(self) -> int:
        """Bring the schema up to date (see :func:`migrate`); returns the schema version."""
        self._check_fork()
        for attempt in range(1, _MAX_ATTEMPTS + 1):
            try:
                with self.engine.connect():
                    break
            except DBAPIError as exc:
                if attempt < _MAX_ATTEMPTS and _retryable(exc):
                    time.sleep(0.05 * attempt)
                    continue
                raise self._database_error(exc, connecting=True) from exc
        for attempt in range(1, _MAX_ATTEMPTS + 1):
            try:
                return migrate(self.engine)
            except WorkshopStoreError:
                raise
            except DBAPIError as exc:
                if attempt < _MAX_ATTEMPTS and _retryable(exc):
                    time.sleep(0.05 * attempt)
                    continue
                raise self._database_error(exc) from exc
            except SQLAlchemyError as exc:
                raise self._database_error(exc) from exc
        raise AssertionError("unreachable")  # pragma: no cover

    def _check_fork(self) -> None:
        # A Store created before a fork (the hosting's fork server) must not share sockets.
        if os.getpid() != self._pid:
            self.engine.dispose(close=False)
            self._pid = os.getpid()

    def _database_error(
        self, exc: BaseException, *, connecting: bool = False
    ) -> WorkshopStoreError:
        _log.error("workshop store %s: %s", self.url, exc, exc_info=exc)
        reason = _first_line(exc)
        password = self._url.password
        if password:
            reason = reason.replace(str(password), "***")
        if connecting:
            if self.backend == "sqlite":
                return WorkshopStoreError(
                    f"The workshop store at {self.url} can't be opened: {reason}. Check that "
                    "its folder exists and you can write to it."
                )
            return WorkshopStoreError(
                f"The workshop store at {self.url} can't be reached: {reason}. Check that the "
                "database server is running and the address is right, then try again."
            )
        if isinstance(exc, DBAPIError) and _retryable(exc):
            return WorkshopStoreError(
                "The workshop store is busy (many teams are saving at once). Nothing was "
                "changed; please try again in a moment."
            )
        if isinstance(exc, DBAPIError) and exc.connection_invalidated:
            return WorkshopStoreError(
                f"The connection to the workshop store at {self.url} was lost ({reason}). "
                "Your last action may not have been saved: check, and try again."
            )
        return WorkshopStoreError(
            f"The workshop store at {self.url} reported a problem: {reason}. Nothing was "
            "changed; try again, and tell the facilitator if it keeps happening."
        )

    def _run(self, fn: Callable[[Connection], T], *, write: bool, raw_integrity: bool = False) -> T:
        """Run ``fn`` in one transaction (a write transaction takes the write lock first on
        SQLite), retrying transient conflicts. Refusals raised inside roll everything back.
        ``raw_integrity``: let IntegrityError through for the caller to explain."""
        self._check_fork()
        delay = 0.02
        for attempt in range(1, _MAX_ATTEMPTS + 1):
            try:
                conn = self.engine.connect()
            except DBAPIError as exc:
                if attempt < _MAX_ATTEMPTS and _retryable(exc):
                    time.sleep(delay * (1 + random.random()))
                    delay = min(delay * 2, 0.5)
                    continue
                raise self._database_error(exc, connecting=True) from exc
            try:
                with conn:
                    if write:
                        conn.execution_options(pbc_write=True)
                    with conn.begin():
                        return fn(conn)
            except WorkshopStoreError:
                raise
            except IntegrityError as exc:
                if raw_integrity:
                    raise
                raise self._database_error(exc) from exc
            except DBAPIError as exc:
                waited = write and self.backend == "sqlite"  # BEGIN IMMEDIATE already waited
                if attempt < _MAX_ATTEMPTS and _retryable(exc) and not waited:
                    _log.info("workshop store: retrying after %s", _first_line(exc))
                    time.sleep(delay * (1 + random.random()))
                    delay = min(delay * 2, 0.5)
                    continue
                raise self._database_error(exc) from exc
            except SQLAlchemyError as exc:
                raise self._database_error(exc) from exc
        raise AssertionError("unreachable")  # pragma: no cover

    def _run_integrity(self, fn: Callable[[Connection], T], *, message: str) -> T:
        try:
            return self._run(fn, write=True, raw_integrity=True)
        except IntegrityError as exc:
            _log.info("workshop store integrity refusal: %s", _first_line(exc))
            raise WorkshopStoreError(message) from exc

    # ---- row helpers ----------------------------------------------------------------------

    @staticmethod
    def _info(row: Any) -> WorkshopInfo:
        return WorkshopInfo(
            id=row.id,
            name=row.name,
            join_code=row.join_code,
            rounds=row.rounds,
            current_round=row.current_round,
            round_state=row.round_state,
            scenario=json.loads(row.scenario_json),
            seed=int(row.seed),
            events=json.loads(row.events_json),
            created_at=row.created_at,
            finished_at=row.finished_at,
        )

    @staticmethod
    def _workshop_row(conn: Connection, workshop_id: object, *, lock: str | None = None) -> Any:
        """``lock``: None, "share" (FOR KEY SHARE: submissions) or "update" (FOR UPDATE: state
        changes). SQLite ignores both; its write transactions already hold the write lock."""
        wid = _int_arg(workshop_id, "The workshop id")
        stmt = select(workshops).where(workshops.c.id == wid)
        if lock == "share":
            stmt = stmt.with_for_update(read=True, key_share=True)
        elif lock == "update":
            stmt = stmt.with_for_update()
        row = conn.execute(stmt).first()
        if row is None:
            raise WorkshopStoreError(
                f"There is no workshop {wid} in this store. Check that the console and the "
                "teams use the same workshop store."
            )
        return row

    @staticmethod
    def _by_code(conn: Connection, code: str) -> Any:
        row = conn.execute(select(workshops).where(workshops.c.join_code == code)).first()
        if row is None:
            raise WorkshopStoreError("That join code doesn't match a workshop. " + _CODE_HELP)
        return row

    @staticmethod
    def _log_event(
        conn: Connection, workshop_id: int, actor: str, kind: str, **detail: object
    ) -> None:
        conn.execute(
            insert(events_log).values(
                workshop_id=workshop_id,
                at=_now(),
                actor=actor[:120],
                kind=kind,
                detail_json=json.dumps(detail, sort_keys=True, default=str),
            )
        )

    @staticmethod
    def _check_console_id(console_id: object) -> str:
        if not isinstance(console_id, str) or not console_id.strip():
            raise WorkshopStoreError("The facilitator console has no id; reload the console.")
        if len(console_id) > CONSOLE_ID_MAX:
            raise WorkshopStoreError(
                f"Console ids can be at most {CONSOLE_ID_MAX} characters; reload the console."
            )
        return console_id

    def _hold_console(self, conn: Connection, workshop_id: object, console_id: object) -> Any:
        """Lock the workshop row for a state change by the console holding it; renew its lease."""
        cid = self._check_console_id(console_id)
        row = self._workshop_row(conn, workshop_id, lock="update")
        self._require_holder(row, cid)
        now = _now()
        conn.execute(update(workshops).where(workshops.c.id == row.id).values(console_seen_at=now))
        return row

    @staticmethod
    def _require_holder(row: Any, console_id: str) -> None:
        if row.console_id is None:
            raise WorkshopStoreError("Log in as the facilitator first (join code and passphrase).")
        if row.console_id != console_id:
            raise WorkshopStoreError(
                "Another console has taken over this workshop (last active "
                f"{_ago(row.console_seen_at)}). This console can no longer change it: log in "
                "again and tick 'Take over' to run it from here."
            )

    @staticmethod
    def _team_row(conn: Connection, team_id: object, token: object) -> Any:
        tid = _int_arg(team_id, "The team id")
        row = conn.execute(select(teams).where(teams.c.id == tid)).first()
        if row is None or not _token_matches(token, row):
            raise WorkshopStoreError(
                "This page's team session doesn't match the workshop store any more: the "
                "facilitator may have issued your team a new rejoin key. Reload this page, choose "
                "'Rejoin my team' and type the join code, your team name and the new key."
            )
        return row

    @staticmethod
    def _round_row(conn: Connection, workshop_id: int, rnd: int) -> Any:
        return conn.execute(
            select(rounds_table).where(
                rounds_table.c.workshop_id == workshop_id, rounds_table.c.round == rnd
            )
        ).first()

    # ---- facilitator: workshop and console --------------------------------------------------

    def create_workshop(
        self,
        name: str,
        passphrase: str,
        scenario: Mapping[str, Any],
        rounds: int,
        *,
        events: Sequence[Any] | None = None,
        seed: int | None = None,
        console_id: str | None = None,
    ) -> WorkshopInfo:
        """A new workshop with a fresh join code. ``events``: one entry per round (at most
        ``rounds``), any JSON; ``seed``: the engine's random seed (random if None). With
        ``console_id`` the creating console is logged in straight away."""
        clean_name = _clean_text(
            name, "Workshop names", WORKSHOP_NAME_MAX, missing="Please give the workshop a name."
        )
        assert clean_name is not None
        phrase = _check_passphrase_text(passphrase)
        if len(phrase) < PASSPHRASE_MIN:
            raise WorkshopStoreError(
                f"The facilitator passphrase must be at least {PASSPHRASE_MIN} characters; that "
                f"one has {len(phrase)}. A few words together are easy to remember."
            )
        if not isinstance(scenario, Mapping):
            raise WorkshopStoreError("The scenario must be a dictionary of settings.")
        scenario_json = _dumps(dict(scenario), "The scenario", MAX_SCENARIO_BYTES)
        n_rounds = _int_arg(rounds, "The number of rounds")
        if not 1 <= n_rounds <= MAX_ROUNDS:
            raise WorkshopStoreError(
                f"A workshop has between 1 and {MAX_ROUNDS} rounds; {n_rounds} was asked for."
            )
        event_list = [] if events is None else events
        if isinstance(event_list, (str, bytes)) or not isinstance(event_list, Sequence):
            raise WorkshopStoreError("The events must be a list with one entry per round.")
        if len(event_list) > n_rounds:
            raise WorkshopStoreError(
                f"There are {len(event_list)} rounds of events for a {n_rounds}-round workshop."
            )
        events_json = _dumps(list(event_list), "The events", MAX_SCENARIO_BYTES)
        if seed is None:
            seed = secrets.randbelow(2**31)
        seed = _int_arg(seed, "The seed")
        if not 0 <= seed < 2**63:
            raise WorkshopStoreError("The seed must be a whole number from 0 to 2**63 - 1.")
        cid = self._check_console_id(console_id) if console_id is not None else None
        phash = hash_passphrase(phrase)

        def work(conn: Connection) -> WorkshopInfo:
            now = _now()
            values = dict(
                name=clean_name,
                join_code=new_join_code(),
                passphrase_hash=phash,
                scenario_json=scenario_json,
                events_json=events_json,
                seed=seed,
                rounds=n_rounds,
                current_round=0,
                round_state="not_started",
                console_id=cid,
                console_seen_at=now if cid else None,
                created_at=now,
            )
            wid = conn.execute(insert(workshops).values(**values).returning(workshops.c.id))
            new_id = wid.scalar_one()
            self._log_event(conn, new_id, "facilitator", "created", rounds=n_rounds, seed=seed)
            return self._info(self._workshop_row(conn, new_id))

        for attempt in range(5):  # a join code collision (1 in ~10^12) just draws another
            try:
                return self._run(work, write=True, raw_integrity=True)
            except IntegrityError as exc:
                if attempt == 4:
                    raise self._database_error(exc) from exc
        raise AssertionError("unreachable")  # pragma: no cover

    def workshop(self, workshop_id_or_code: int | str) -> WorkshopInfo:
        """The workshop by id (int) or join code (str)."""

        def work(conn: Connection) -> WorkshopInfo:
            if isinstance(workshop_id_or_code, str):
                return self._info(self._by_code(conn, normalise_code(workshop_id_or_code)))
            return self._info(self._workshop_row(conn, workshop_id_or_code))

        return self._run(work, write=False)

    def facilitator_login(
        self,
        join_code_or_workshop_id: int | str,
        passphrase: str,
        console_id: str,
        *,
        take_over: bool = False,
    ) -> WorkshopInfo:
        """Log a console in. Refused while another console was active within
        :data:`CONSOLE_LEASE_SECONDS`, unless ``take_over``."""
        cid = self._check_console_id(console_id)
        phrase = _check_passphrase_text(passphrase)

        def find(conn: Connection) -> Any:
            if isinstance(join_code_or_workshop_id, str):
                return self._by_code(conn, normalise_code(join_code_or_workshop_id))
            return self._workshop_row(conn, join_code_or_workshop_id)

        row = self._run(find, write=False)
        if not verify_passphrase(phrase, row.passphrase_hash):
            time.sleep(WRONG_PASSPHRASE_DELAY_S)
            raise WorkshopStoreError(
                "That passphrase doesn't match this workshop's. Check it (capitals count) and "
                "try again."
            )

        def claim(conn: Connection) -> WorkshopInfo:
            current = self._workshop_row(conn, row.id, lock="update")
            now = _now()
            other = current.console_id is not None and current.console_id != cid
            recent = False
            if other and current.console_seen_at:
                age = (datetime.now(UTC) - _parse(current.console_seen_at)).total_seconds()
                recent = age < CONSOLE_LEASE_SECONDS
            if other and recent and not take_over:
                raise WorkshopStoreError(
                    "This workshop is already open in another facilitator console (last active "
                    f"{_ago(current.console_seen_at)}). Close that console, or tick 'Take over' "
                    "to run it from here."
                )
            conn.execute(
                update(workshops)
                .where(workshops.c.id == current.id)
                .values(console_id=cid, console_seen_at=now)
            )
            kind = "take_over" if other and recent else "login"
            self._log_event(conn, current.id, f"facilitator:{cid[:12]}", kind)
            return self._info(self._workshop_row(conn, current.id))

        return self._run(claim, write=True)

    def console_heartbeat(self, workshop_id: int, console_id: str) -> WorkshopInfo:
        """Renew this console's lease (call every ~30 s); refused if another console took over."""

        def work(conn: Connection) -> WorkshopInfo:
            row = self._hold_console(conn, workshop_id, console_id)
            return self._info(row)

        return self._run(work, write=True)

    # ---- facilitator: rounds ----------------------------------------------------------------

    def open_round(self, workshop_id: int, console_id: str) -> WorkshopInfo:
        """Open the next round (round 1 first). The previous round must have been revealed."""

        def work(conn: Connection) -> WorkshopInfo:
            row = self._hold_console(conn, workshop_id, console_id)
            state, rnd = row.round_state, row.current_round
            if state == "finished":
                raise WorkshopStoreError("This workshop has finished; no more rounds can open.")
            if state == "open":
                raise WorkshopStoreError(f"Round {rnd} is already open.")
            if state == "closed":
                raise WorkshopStoreError(
                    f"Round {rnd} is closed but its results haven't been revealed yet. Reveal "
                    f"them before opening round {rnd + 1}."
                )
            if rnd >= row.rounds:
                raise WorkshopStoreError(
                    f"Round {rnd} was the last of {row.rounds}. Finish the workshop to close it."
                )
            nxt, now = rnd + 1, _now()
            conn.execute(
                update(workshops)
                .where(workshops.c.id == row.id)
                .values(current_round=nxt, round_state="open")
            )
            conn.execute(insert(rounds_table).values(workshop_id=row.id, round=nxt, opened_at=now))
            self._log_event(conn, row.id, f"facilitator:{console_id[:12]}", "open", round=nxt)
            return self._info(self._workshop_row(conn, row.id))

        return self._run(work, write=True)

    def close_round(self, workshop_id: int, console_id: str) -> WorkshopInfo:
        """Close the open round: from this commit on, submissions for it are refused."""

        def work(conn: Connection) -> WorkshopInfo:
            row = self._hold_console(conn, workshop_id, console_id)
            if row.round_state != "open":
                raise WorkshopStoreError(self._not_open_message(row, "close"))
            now = _now()
            conn.execute(
                update(workshops).where(workshops.c.id == row.id).values(round_state="closed")
            )
            conn.execute(
                update(rounds_table)
                .where(
                    rounds_table.c.workshop_id == row.id,
                    rounds_table.c.round == row.current_round,
                )
                .values(closed_at=now)
            )
            n = conn.scalar(
                select(func.count())
                .select_from(submissions)
                .where(
                    submissions.c.workshop_id == row.id,
                    submissions.c.round == row.current_round,
                )
            )
            self._log_event(
                conn,
                row.id,
                f"facilitator:{console_id[:12]}",
                "close",
                round=row.current_round,
                submissions=n,
            )
            return self._info(self._workshop_row(conn, row.id))

        return self._run(work, write=True)

    @staticmethod
    def _not_open_message(row: Any, action: str) -> str:
        if row.round_state == "finished":
            return "This workshop has finished."
        if row.round_state == "not_started":
            return f"No round is open yet, so there is nothing to {action}. Open round 1 first."
        if row.round_state == "closed":
            return f"Round {row.current_round} is already closed."
        return (
            f"Round {row.current_round} is closed and its results revealed; open round "
            f"{row.current_round + 1} next."
        )

    def save_results(
        self,
        workshop_id: int,
        console_id: str,
        round: int,  # noqa: A002 - the domain word
        outcomes: Mapping[int, Mapping[str, Any]],
    ) -> int:
        """Store every team's outcome for the closed round in one transaction (replacing any
        saved before for that round). Returns the number of results saved."""
        rnd = _int_arg(round, "The round")
        if not isinstance(outcomes, Mapping):
            raise WorkshopStoreError("Results must be a dictionary {team id: outcome}.")
        prepared: dict[int, str] = {}
        for key, outcome in outcomes.items():
            try:
                tid = int(key)
            except (TypeError, ValueError):
                raise WorkshopStoreError(f"Results are keyed by team id; got {key!r}.") from None
            if not isinstance(outcome, Mapping):
                raise WorkshopStoreError(f"The outcome for team {tid} must be a dictionary.")
            prepared[tid] = _dumps(dict(outcome), f"Results for team {tid}", MAX_OUTCOME_BYTES)

        def work(conn: Connection) -> int:
            row = self._hold_console(conn, workshop_id, console_id)
            if rnd != row.current_round or row.round_state not in ("closed",):
                if rnd == row.current_round and row.round_state == "open":
                    raise WorkshopStoreError(f"Close round {rnd} before saving its results.")
                if rnd == row.current_round and row.round_state in ("revealed", "finished"):
                    raise WorkshopStoreError(
                        f"Round {rnd}'s results have been revealed and can't be changed."
                    )
                raise WorkshopStoreError(
                    f"Results can only be saved for the round just closed (round "
                    f"{row.current_round}, {row.round_state}); round {rnd} was given."
                )
            known = set(conn.scalars(select(teams.c.id).where(teams.c.workshop_id == row.id)).all())
            unknown = sorted(set(prepared) - known)
            if unknown:
                raise WorkshopStoreError(
                    f"The results name teams that aren't in this workshop (ids {unknown})."
                )
            now = _now()
            conn.execute(
                delete(results).where(results.c.workshop_id == row.id, results.c.round == rnd)
            )
            if prepared:
                conn.execute(
                    insert(results),
                    [
                        dict(
                            workshop_id=row.id,
                            team_id=tid,
                            round=rnd,
                            outcome_json=js,
                            saved_at=now,
                        )
                        for tid, js in prepared.items()
                    ],
                )
            conn.execute(
                update(rounds_table)
                .where(rounds_table.c.workshop_id == row.id, rounds_table.c.round == rnd)
                .values(results_saved_at=now)
            )
            self._log_event(
                conn,
                row.id,
                f"facilitator:{console_id[:12]}",
                "results",
                round=rnd,
                teams=len(prepared),
            )
            return len(prepared)

        return self._run(work, write=True)

    def reveal(self, workshop_id: int, console_id: str) -> WorkshopInfo:
        """Reveal the closed round's results to every team (results must be saved first)."""

        def work(conn: Connection) -> WorkshopInfo:
            row = self._hold_console(conn, workshop_id, console_id)
            rnd = row.current_round
            if row.round_state != "closed":
                if row.round_state == "open":
                    raise WorkshopStoreError(f"Close round {rnd} before revealing its results.")
                if row.round_state == "revealed":
                    raise WorkshopStoreError(f"Round {rnd}'s results are already revealed.")
                raise WorkshopStoreError(self._not_open_message(row, "reveal"))
            info = self._round_row(conn, row.id, rnd)
            if info is None or info.results_saved_at is None:
                raise WorkshopStoreError(
                    f"Round {rnd}'s results haven't been saved yet. Run the round, then reveal."
                )
            missing = (
                conn.execute(
                    select(teams.c.id)
                    .join(submissions, submissions.c.team_id == teams.c.id)
                    .outerjoin(
                        results, (results.c.team_id == teams.c.id) & (results.c.round == rnd)
                    )
                    .where(
                        teams.c.workshop_id == row.id,
                        submissions.c.round == rnd,
                        results.c.team_id.is_(None),
                    )
                )
                .scalars()
                .all()
            )
            if missing:
                raise WorkshopStoreError(
                    f"{len(missing)} team(s) submitted for round {rnd} but have no saved result "
                    "(they may have joined after the results were computed). Run the round again, "
                    "then reveal."
                )
            now = _now()
            conn.execute(
                update(workshops).where(workshops.c.id == row.id).values(round_state="revealed")
            )
            conn.execute(
                update(rounds_table)
                .where(rounds_table.c.workshop_id == row.id, rounds_table.c.round == rnd)
                .values(revealed_at=now)
            )
            self._log_event(conn, row.id, f"facilitator:{console_id[:12]}", "reveal", round=rnd)
            return self._info(self._workshop_row(conn, row.id))

        return self._run(work, write=True)

    def finish(self, workshop_id: int, console_id: str) -> WorkshopInfo:
        """End the workshop (at any point; an open round is closed first). Teams can no longer
        join or submit; the debrief and the export stay available."""

        def work(conn: Connection) -> WorkshopInfo:
            row = self._hold_console(conn, workshop_id, console_id)
            if row.round_state == "finished":
                raise WorkshopStoreError("This workshop has already finished.")
            now = _now()
            if row.round_state == "open":
                conn.execute(
                    update(rounds_table)
                    .where(
                        rounds_table.c.workshop_id == row.id,
                        rounds_table.c.round == row.current_round,
                    )
                    .values(closed_at=now)
                )
            conn.execute(
                update(workshops)
                .where(workshops.c.id == row.id)
                .values(round_state="finished", finished_at=now)
            )
            self._log_event(conn, row.id, f"facilitator:{console_id[:12]}", "finish")
            return self._info(self._workshop_row(conn, row.id))

        return self._run(work, write=True)

    def reissue_token(self, workshop_id: int, console_id: str, team_id: int) -> TeamSession:
        """A new rejoin key for a team that lost its own (the old key stops working at once, on
        every page still using it). The key is in the returned session's ``token``; the store
        keeps only its hash, so show it to the facilitator once."""

        def work(conn: Connection) -> TeamSession:
            row = self._hold_console(conn, workshop_id, console_id)
            tid = _int_arg(team_id, "The team id")
            team = conn.execute(
                select(teams).where(teams.c.id == tid, teams.c.workshop_id == row.id)
            ).first()
            if team is None:
                raise WorkshopStoreError(f"There is no team {tid} in this workshop.")
            token = new_rejoin_key()
            conn.execute(
                update(teams)
                .where(teams.c.id == tid)
                .values(token_hash=_hash_token(token, row.id, team.name_key))
            )
            self._log_event(conn, row.id, f"facilitator:{console_id[:12]}", "reissue", team=tid)
            return TeamSession(
                team_id=tid,
                workshop_id=row.id,
                name=team.name,
                token=token,
                role=team.role,
                locality=team.locality,
                join_code=row.join_code,
                workshop_name=row.name,
            )

        return self._run(work, write=True)

    # ---- teams ------------------------------------------------------------------------------

    def join(
        self,
        join_code: str,
        team_name: str,
        role: str = "cluster",
        locality: str | None = None,
    ) -> TeamSession:
        """Join a workshop as a new team. The session's token is the team's rejoin key, returned
        only here: show it to the team to write down (:meth:`resume` takes it back)."""
        code = normalise_code(join_code)
        name = clean_team_name(team_name)
        key = _name_key(name)
        clean_role = _clean_text(role, "Roles", ROLE_MAX, missing="Please choose a role.")
        assert clean_role is not None
        clean_locality = _clean_text(locality, "Locality names", LOCALITY_MAX, missing=None)
        token = new_rejoin_key()
        duplicate = (
            "A team with that name has already joined this workshop (capitals and spaces "
            "don't count). If it is your team, choose 'Rejoin my team' on the team page and "
            "type the rejoin key you wrote down at join (the facilitator can issue a new one if "
            "you have lost it). Otherwise choose another name."
        )

        def work(conn: Connection) -> TeamSession:
            ws = self._by_code(conn, code)
            ws = self._workshop_row(conn, ws.id, lock="share")
            if ws.round_state == "finished":
                raise WorkshopStoreError(
                    "This workshop has finished, so no more teams can join. Thank you for coming."
                )
            taken = conn.scalar(
                select(teams.c.id).where(teams.c.workshop_id == ws.id, teams.c.name_key == key)
            )
            if taken is not None:
                raise WorkshopStoreError(duplicate)
            count = conn.scalar(
                select(func.count()).select_from(teams).where(teams.c.workshop_id == ws.id)
            )
            if count >= MAX_TEAMS:
                raise WorkshopStoreError(
                    f"This workshop already has {MAX_TEAMS} teams, the most it can take. Join "
                    "another team in the room."
                )
            now = _now()
            tid = conn.execute(
                insert(teams)
                .values(
                    workshop_id=ws.id,
                    name=name,
                    name_key=key,
                    role=clean_role,
                    locality=clean_locality,
                    token_hash=_hash_token(token, ws.id, key),
                    joined_at=now,
                )
                .returning(teams.c.id)
            ).scalar_one()
            self._log_event(conn, ws.id, f"team:{tid}", "join", name=name, role=clean_role)
            return TeamSession(
                team_id=tid,
                workshop_id=ws.id,
                name=name,
                token=token,
                role=clean_role,
                locality=clean_locality,
                join_code=ws.join_code,
                workshop_name=ws.name,
            )

        return self._run_integrity(work, message=duplicate)

    def resume(self, join_code: str, team_name: str, rejoin_key: str) -> TeamSession:
        """Rejoin as a team that already joined (after a lost page, a kernel restart or a server
        restart), proved by its rejoin key (the token it was given at join, or the one the
        facilitator reissued). Capitals, spaces and hyphens don't matter in the code, the name
        or the key.

        A wrong join code, team name or key gets a message saying which, after
        :data:`WRONG_REJOIN_DELAY_S`, so keys can't be guessed quickly."""
        code = normalise_code(join_code)
        name = clean_team_name(team_name)
        key = _name_key(name)
        token = normalise_rejoin_key(rejoin_key)

        def find(conn: Connection) -> TeamSession | str:
            ws = conn.execute(select(workshops).where(workshops.c.join_code == code)).first()
            if ws is None:
                return "That join code doesn't match a workshop. " + _CODE_HELP
            team = conn.execute(
                select(teams).where(teams.c.workshop_id == ws.id, teams.c.name_key == key)
            ).first()
            if team is None:
                return (
                    f"No team called '{name}' has joined this workshop ({ws.name}). Type your "
                    "team name as you typed it at join (capitals and spaces don't matter); the "
                    "facilitator's console lists every team. If your team never joined, choose "
                    "'Join as a new team'."
                )
            if not _token_matches(token, team):
                return (
                    f"That rejoin key isn't {team.name}'s. Check the key you wrote down (capitals "
                    "don't matter). If your team has lost it, ask the facilitator to issue a new "
                    "one: the old key then stops working."
                )
            return TeamSession(
                team_id=team.id,
                workshop_id=ws.id,
                name=team.name,
                token=token,
                role=team.role,
                locality=team.locality,
                join_code=ws.join_code,
                workshop_name=ws.name,
            )

        found = self._run(find, write=False)
        if isinstance(found, str):
            _log.info("workshop store: a failed rejoin attempt for workshop %s", code)
            time.sleep(WRONG_REJOIN_DELAY_S)
            raise WorkshopStoreError(found)

        def log(conn: Connection) -> None:
            self._log_event(conn, found.workshop_id, f"team:{found.team_id}", "rejoin")

        self._run(log, write=True)
        return found

    def submit(
        self,
        team_id: int,
        token: str,
        round: int,  # noqa: A002 - the domain word
        decisions: Mapping[str, Any],
    ) -> SubmissionReceipt:
        """Save the team's decisions for the open round: one transaction, one row per team and
        round. A resubmission while the round is open replaces the earlier one."""
        rnd = _int_arg(round, "The round")
        if not isinstance(decisions, Mapping):
            raise WorkshopStoreError("The decisions must be a dictionary of choices.")
        decisions_json = _dumps(dict(decisions), "Your decisions", MAX_DECISIONS_BYTES)

        def work(conn: Connection) -> SubmissionReceipt:
            team = self._team_row(conn, team_id, token)
            ws = self._workshop_row(conn, team.workshop_id, lock="share")
            self._check_round_open(conn, ws, team.id, rnd)
            now = _now()
            values = dict(
                workshop_id=ws.id,
                team_id=team.id,
                round=rnd,
                decisions_json=decisions_json,
                submitted_at=now,
                first_submitted_at=now,
                revision=1,
            )
            ins = (pg_insert if _is_pg(conn) else sqlite_insert)(submissions).values(**values)
            stmt = ins.on_conflict_do_update(
                index_elements=[submissions.c.team_id, submissions.c.round],
                set_={
                    "decisions_json": ins.excluded.decisions_json,
                    "submitted_at": ins.excluded.submitted_at,
                    "revision": submissions.c.revision + 1,
                },
            ).returning(submissions.c.revision)
            revision = conn.execute(stmt).scalar_one()
            self._log_event(conn, ws.id, f"team:{team.id}", "submit", round=rnd, revision=revision)
            return SubmissionReceipt(
                team_id=team.id, round=rnd, revision=revision, submitted_at=now
            )

        return self._run(work, write=True)

    def _check_round_open(self, conn: Connection, ws: Any, team_id: int, rnd: int) -> None:
        if not 1 <= rnd <= ws.rounds:
            raise WorkshopStoreError(
                f"There is no round {rnd}: this workshop has {ws.rounds} rounds."
            )
        current, state = ws.current_round, ws.round_state
        if rnd == current and state == "open":
            return
        if state == "finished" and rnd >= current:
            raise WorkshopStoreError(
                "The workshop has finished; submissions are closed. Thank you for taking part."
            )
        if rnd > current or (rnd == current and state == "not_started"):
            extra = f"; the current round is {current} ({state})" if current else ""
            raise WorkshopStoreError(
                f"Round {rnd} hasn't opened yet{extra}. Wait for the facilitator to open it, "
                "then submit."
            )
        closed = self._round_row(conn, ws.id, rnd)
        closed_at = closed.closed_at if closed is not None else None
        mine = conn.execute(
            select(submissions.c.submitted_at).where(
                submissions.c.team_id == team_id, submissions.c.round == rnd
            )
        ).first()
        if mine is not None:
            stands = f"your last submission (at {_clock(mine.submitted_at)}) stands."
        else:
            stands = "no decisions from your team were received for it."
        raise WorkshopStoreError(
            f"Round {rnd} closed at {_clock(closed_at)}; {stands} {_GENERIC_CLOSED}"
        )

    def team_view(self, team_id: int, token: str) -> dict[str, Any]:
        """What a team may see: the workshop's state, its own submissions (every round), its own
        results and every team's outcomes for revealed rounds only. Never another team's
        decisions."""

        def work(conn: Connection) -> dict[str, Any]:
            team = self._team_row(conn, team_id, token)
            ws = self._workshop_row(conn, team.workshop_id)
            revealed = [
                r.round
                for r in conn.execute(
                    select(rounds_table.c.round)
                    .where(
                        rounds_table.c.workshop_id == ws.id,
                        rounds_table.c.revealed_at.is_not(None),
                    )
                    .order_by(rounds_table.c.round)
                )
            ]
            own = {
                s.round: {
                    "decisions": json.loads(s.decisions_json),
                    "revision": s.revision,
                    "submitted_at": s.submitted_at,
                }
                for s in conn.execute(
                    select(submissions)
                    .where(submissions.c.team_id == team.id)
                    .order_by(submissions.c.round)
                )
            }
            league = []
            if revealed:
                league = [
                    {
                        "round": r.round,
                        "team_id": r.team_id,
                        "team": r.name,
                        "role": r.role,
                        "locality": r.locality,
                        "outcome": json.loads(r.outcome_json),
                    }
                    for r in conn.execute(
                        select(
                            results.c.round,
                            results.c.team_id,
                            results.c.outcome_json,
                            teams.c.name,
                            teams.c.role,
                            teams.c.locality,
                        )
                        .join(teams, teams.c.id == results.c.team_id)
                        .where(results.c.workshop_id == ws.id, results.c.round.in_(revealed))
                        .order_by(results.c.round, teams.c.name)
                    )
                ]
            mine = {row["round"]: row["outcome"] for row in league if row["team_id"] == team.id}
            events = json.loads(ws.events_json)
            return {
                "workshop": {
                    "id": ws.id,
                    "name": ws.name,
                    "join_code": ws.join_code,
                    "rounds": ws.rounds,
                    "current_round": ws.current_round,
                    "round_state": ws.round_state,
                    "scenario": json.loads(ws.scenario_json),
                    "seed": int(ws.seed),
                    "events": events[: ws.current_round],  # only rounds that have opened
                },
                "team": {
                    "id": team.id,
                    "name": team.name,
                    "role": team.role,
                    "locality": team.locality,
                    "joined_at": team.joined_at,
                },
                "submissions": own,
                "revealed_rounds": revealed,
                "results": mine,
                "league": league,
            }

        return self._run(work, write=False)

    # ---- facilitator: reading ---------------------------------------------------------------

    def status(self, workshop_id: int) -> dict[str, Any]:
        """The live picture for the console: the round and, per team, whether it has submitted
        this round (never what it decided). ``deciding_count`` counts the teams that submit
        decisions (role :data:`DECIDING_ROLE`) and ``submitted_count`` those of them that have
        submitted this round; ``team_count`` counts every team, watching roles included."""

        def work(conn: Connection) -> dict[str, Any]:
            ws = self._workshop_row(conn, workshop_id)
            rnd = ws.current_round
            subs = {
                s.team_id: s
                for s in conn.execute(
                    select(
                        submissions.c.team_id, submissions.c.submitted_at, submissions.c.revision
                    ).where(submissions.c.workshop_id == ws.id, submissions.c.round == rnd)
                )
            }
            team_rows = []
            for t in conn.execute(
                select(teams)
                .where(teams.c.workshop_id == ws.id)
                .order_by(teams.c.joined_at, teams.c.id)
            ):
                s = subs.get(t.id)
                team_rows.append(
                    {
                        "team_id": t.id,
                        "name": t.name,
                        "role": t.role,
                        "locality": t.locality,
                        "joined_at": t.joined_at,
                        "submitted": s is not None,
                        "submitted_at": s.submitted_at if s else None,
                        "revision": s.revision if s else 0,
                    }
                )
            rinfo = self._round_row(conn, ws.id, rnd) if rnd else None
            return {
                "workshop_id": ws.id,
                "name": ws.name,
                "join_code": ws.join_code,
                "rounds": ws.rounds,
                "current_round": rnd,
                "round_state": ws.round_state,
                "opened_at": rinfo.opened_at if rinfo else None,
                "closed_at": rinfo.closed_at if rinfo else None,
                "revealed_at": rinfo.revealed_at if rinfo else None,
                "console_seen_at": ws.console_seen_at,
                "teams": team_rows,
                "team_count": len(team_rows),
                "deciding_count": sum(1 for t in team_rows if t["role"] == DECIDING_ROLE),
                "submitted_count": sum(
                    1 for t in team_rows if t["submitted"] and t["role"] == DECIDING_ROLE
                ),
            }

        return self._run(work, write=False)

    @staticmethod
    def _revealed(conn: Connection, workshop_id: int) -> set[int]:
        return set(
            conn.scalars(
                select(rounds_table.c.round).where(
                    rounds_table.c.workshop_id == workshop_id,
                    rounds_table.c.revealed_at.is_not(None),
                )
            ).all()
        )

    def _read_as_console(self, conn: Connection, workshop_id: int, console_id: str | None) -> Any:
        row = self._workshop_row(conn, workshop_id)
        if console_id is not None:
            self._require_holder(row, self._check_console_id(console_id))
        return row

    def debrief(self, workshop_id: int, console_id: str | None = None) -> list[dict[str, Any]]:
        """Rows (round, team, decisions, outcome) for the revealed rounds, round by round."""

        def work(conn: Connection) -> list[dict[str, Any]]:
            ws = self._read_as_console(conn, workshop_id, console_id)
            query = (
                select(
                    results.c.round,
                    results.c.team_id,
                    results.c.outcome_json,
                    teams.c.name,
                    teams.c.role,
                    teams.c.locality,
                    submissions.c.decisions_json,
                    submissions.c.revision,
                    submissions.c.submitted_at,
                )
                .join(teams, teams.c.id == results.c.team_id)
                .join(
                    rounds_table,
                    (rounds_table.c.workshop_id == results.c.workshop_id)
                    & (rounds_table.c.round == results.c.round),
                )
                .outerjoin(
                    submissions,
                    (submissions.c.team_id == results.c.team_id)
                    & (submissions.c.round == results.c.round),
                )
                .where(results.c.workshop_id == ws.id, rounds_table.c.revealed_at.is_not(None))
                .order_by(results.c.round, teams.c.name, teams.c.id)
            )
            return [
                {
                    "round": r.round,
                    "team_id": r.team_id,
                    "team": r.name,
                    "role": r.role,
                    "locality": r.locality,
                    "decisions": json.loads(r.decisions_json) if r.decisions_json else None,
                    "revision": r.revision or 0,
                    "submitted_at": r.submitted_at,
                    "outcome": json.loads(r.outcome_json),
                }
                for r in conn.execute(query)
            ]

        return self._run(work, write=False)

    def decisions_for(
        self,
        workshop_id: int,
        round: int,  # noqa: A002 - the domain word
        console_id: str | None = None,
    ) -> dict[int, dict[str, Any]]:
        """Every team's stored decisions for a round, ``{team_id: decisions}`` (the engine's
        input when the facilitator runs or replays the round). Before the round is revealed
        only the console holding the workshop may read them (pass its ``console_id``)."""
        rnd = _int_arg(round, "The round")

        def work(conn: Connection) -> dict[int, dict[str, Any]]:
            ws = self._read_as_console(conn, workshop_id, console_id)
            if console_id is None and rnd not in self._revealed(conn, ws.id):
                raise WorkshopStoreError(
                    f"Round {rnd}'s decisions stay private to each team until the facilitator "
                    "reveals the round; before then only the facilitator console can read them."
                )
            return {
                s.team_id: json.loads(s.decisions_json)
                for s in conn.execute(
                    select(submissions.c.team_id, submissions.c.decisions_json)
                    .where(submissions.c.workshop_id == ws.id, submissions.c.round == rnd)
                    .order_by(submissions.c.team_id)
                )
            }

        return self._run(work, write=False)

    def all_decisions(
        self, workshop_id: int, team_id: int, console_id: str | None = None
    ) -> dict[int, dict[str, Any]]:
        """One team's decisions, ``{round: decisions}``: every round for the console holding the
        workshop (``console_id``), otherwise revealed rounds only."""
        tid = _int_arg(team_id, "The team id")

        def work(conn: Connection) -> dict[int, dict[str, Any]]:
            ws = self._read_as_console(conn, workshop_id, console_id)
            visible = None if console_id is not None else self._revealed(conn, ws.id)
            return {
                s.round: json.loads(s.decisions_json)
                for s in conn.execute(
                    select(submissions.c.round, submissions.c.decisions_json)
                    .where(submissions.c.workshop_id == ws.id, submissions.c.team_id == tid)
                    .order_by(submissions.c.round)
                )
                if visible is None or s.round in visible
            }

        return self._run(work, write=False)

    def export_tables(
        self, workshop_id: int, console_id: str, *, safe_for_spreadsheets: bool = True
    ) -> dict[str, pd.DataFrame]:
        """Everything about the workshop as tables for CSV/xlsx: ``workshop``, ``rounds``,
        ``teams``, ``submissions`` (decisions flattened to ``decision.<key>`` columns),
        ``results`` (``outcome.<key>``) and ``events``. No passphrase hash, no tokens. With
        ``safe_for_spreadsheets``, text that a spreadsheet would run as a formula is prefixed
        with an apostrophe (:func:`spreadsheet_safe`)."""
        import pandas as pd

        def work(conn: Connection) -> dict[str, list[dict[str, Any]]]:
            ws = self._read_as_console(conn, workshop_id, console_id)
            ws_row = {
                "workshop_id": ws.id,
                "name": ws.name,
                "join_code": ws.join_code,
                "rounds": ws.rounds,
                "current_round": ws.current_round,
                "round_state": ws.round_state,
                "seed": int(ws.seed),
                "created_at": ws.created_at,
                "finished_at": ws.finished_at,
                "scenario_json": ws.scenario_json,
                "events_json": ws.events_json,
            }
            rnds = [
                dict(r._mapping)
                for r in conn.execute(
                    select(
                        rounds_table.c.round,
                        rounds_table.c.opened_at,
                        rounds_table.c.closed_at,
                        rounds_table.c.results_saved_at,
                        rounds_table.c.revealed_at,
                    )
                    .where(rounds_table.c.workshop_id == ws.id)
                    .order_by(rounds_table.c.round)
                )
            ]
            team_rows = [
                dict(r._mapping)
                for r in conn.execute(
                    select(
                        teams.c.id.label("team_id"),
                        teams.c.name.label("team"),
                        teams.c.role,
                        teams.c.locality,
                        teams.c.joined_at,
                    )
                    .where(teams.c.workshop_id == ws.id)
                    .order_by(teams.c.id)
                )
            ]
            subs = [
                dict(r._mapping)
                for r in conn.execute(
                    select(
                        submissions.c.round,
                        submissions.c.team_id,
                        teams.c.name.label("team"),
                        submissions.c.revision,
                        submissions.c.first_submitted_at,
                        submissions.c.submitted_at,
                        submissions.c.decisions_json,
                    )
                    .join(teams, teams.c.id == submissions.c.team_id)
                    .where(submissions.c.workshop_id == ws.id)
                    .order_by(submissions.c.round, submissions.c.team_id)
                )
            ]
            res = [
                dict(r._mapping)
                for r in conn.execute(
                    select(
                        results.c.round,
                        results.c.team_id,
                        teams.c.name.label("team"),
                        results.c.saved_at,
                        results.c.outcome_json,
                    )
                    .join(teams, teams.c.id == results.c.team_id)
                    .where(results.c.workshop_id == ws.id)
                    .order_by(results.c.round, results.c.team_id)
                )
            ]
            evs = [
                dict(r._mapping)
                for r in conn.execute(
                    select(
                        events_log.c.at,
                        events_log.c.actor,
                        events_log.c.kind,
                        events_log.c.detail_json.label("detail"),
                    )
                    .where(events_log.c.workshop_id == ws.id)
                    .order_by(events_log.c.id)
                )
            ]
            return {
                "workshop": [ws_row],
                "rounds": rnds,
                "teams": team_rows,
                "submissions": subs,
                "results": res,
                "events": evs,
            }

        raw = self._run(work, write=False)

        def flattened(rows: list[dict[str, Any]], column: str, prefix: str) -> pd.DataFrame:
            base = pd.DataFrame([{k: v for k, v in r.items() if k != column} for r in rows])
            if not rows:
                return base
            flat = pd.json_normalize([json.loads(r[column]) for r in rows], sep=".")
            flat = flat.map(
                lambda v: json.dumps(v, ensure_ascii=False) if isinstance(v, (list, dict)) else v
            )
            flat.columns = [f"{prefix}.{c}" for c in flat.columns]
            return pd.concat([base, flat], axis=1)

        tables = {
            "workshop": pd.DataFrame(raw["workshop"]),
            "rounds": pd.DataFrame(
                raw["rounds"],
                columns=["round", "opened_at", "closed_at", "results_saved_at", "revealed_at"],
            ),
            "teams": pd.DataFrame(
                raw["teams"], columns=["team_id", "team", "role", "locality", "joined_at"]
            ),
            "submissions": flattened(raw["submissions"], "decisions_json", "decision"),
            "results": flattened(raw["results"], "outcome_json", "outcome"),
            "events": pd.DataFrame(raw["events"], columns=["at", "actor", "kind", "detail"]),
        }
        if safe_for_spreadsheets:
            for name, df in tables.items():
                tables[name] = df.map(spreadsheet_safe) if len(df) else df
        return tables
