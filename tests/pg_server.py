"""A real PostgreSQL server for the tests: the one CI names, or a throwaway cluster started here.

- ``PBC_TEST_POSTGRES_URL`` set (CI): that server is used. The URL names a role that may create
  databases (``CREATEDB``) and a database it can connect to, e.g.
  ``postgresql+psycopg://pbc:pbc@127.0.0.1:5432/pbc_test``. Each test gets a fresh database
  ``pbc_t_<random>``, dropped afterwards.
- Otherwise a throwaway cluster: ``initdb`` into a temporary folder, ``postgres`` listening on
  127.0.0.1 on a free port with a random password (scram-sha-256), stopped and deleted when the
  test session ends. PostgreSQL refuses to run as root, so as root the cluster runs as the
  ``postgres`` user (``runuser``) and its folder belongs to that user. Binaries are found through
  ``PBC_PG_BINDIR``, then ``/usr/lib/postgresql/<newest>/bin``, then ``pg_config --bindir``.

:func:`get_server` raises :class:`PostgresUnavailable` with the reason when neither is possible;
the tests turn that into a failure under CI (``CI`` set) and a skip elsewhere.
"""

from __future__ import annotations

import atexit
import glob
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL, make_url

ENV_URL = "PBC_TEST_POSTGRES_URL"
START_TIMEOUT_S = 60


class PostgresUnavailable(RuntimeError):
    """No PostgreSQL server for the tests: neither a URL nor usable server binaries."""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _bindir() -> Path | None:
    candidates: list[str] = []
    if os.environ.get("PBC_PG_BINDIR"):
        candidates.append(os.environ["PBC_PG_BINDIR"])

    def version(path: str) -> float:
        try:
            return float(Path(path).parent.name)
        except ValueError:
            return 0.0

    candidates += sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=version, reverse=True)
    pg_config = shutil.which("pg_config")
    if pg_config:
        out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, check=False)
        if out.returncode == 0:
            candidates.append(out.stdout.strip())
    for c in candidates:
        if (Path(c) / "initdb").exists() and (Path(c) / "pg_ctl").exists():
            return Path(c)
    return None


class PostgresServer:
    """A server reachable through ``admin_url``; hands out one fresh database per test."""

    def __init__(self, admin_url: str, *, cluster: _Cluster | None = None) -> None:
        self.admin_url = make_url(admin_url)
        if self.admin_url.drivername in ("postgresql", "postgres"):
            self.admin_url = self.admin_url.set(drivername="postgresql+psycopg")
        self._cluster = cluster
        self._admin = create_engine(
            self.admin_url, isolation_level="AUTOCOMMIT", pool_size=1, max_overflow=2
        )
        self.origin = "throwaway cluster" if cluster else f"${ENV_URL}"
        self.started_in_s = 0.0

    def check(self) -> None:
        try:
            with self._admin.connect() as conn:
                conn.execute(text("SELECT 1"))
        except Exception as exc:  # noqa: BLE001 - reported as the reason
            safe = self.admin_url.render_as_string(hide_password=True)
            raise PostgresUnavailable(
                f"PostgreSQL at {safe} ({self.origin}) can't be reached: {str(exc).splitlines()[0]}"
            ) from exc

    def create_database(self) -> str:
        """A new empty database; returns its URL (with the password, for other processes)."""
        name = "pbc_t_" + secrets.token_hex(6)
        with self._admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        url: URL = self.admin_url.set(database=name)
        return url.render_as_string(hide_password=False)

    def drop_database(self, url: str) -> None:
        name = make_url(url).database
        assert name and name.startswith("pbc_t_"), name
        with self._admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))

    def stop(self) -> None:
        self._admin.dispose()
        if self._cluster is not None:
            self._cluster.stop()
            self._cluster = None

    # For the crash test: only a throwaway cluster may be crashed and restarted.
    @property
    def can_crash(self) -> bool:
        return self._cluster is not None

    def crash_and_restart(self) -> None:
        """Stop the server as a crash would (immediate shutdown: no checkpoint), then restart."""
        assert self._cluster is not None
        self._admin.dispose()
        self._cluster.pg_ctl("stop", "-m", "immediate")
        self._cluster.start()


class _Cluster:
    """A throwaway PostgreSQL cluster in a temporary folder."""

    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        self.run_as: str | None = None
        if os.geteuid() == 0:
            try:
                pwd.getpwnam("postgres")
            except KeyError as exc:
                raise PostgresUnavailable(
                    "Running as root and there is no 'postgres' user to run a throwaway "
                    "PostgreSQL cluster as (PostgreSQL refuses to run as root). Set "
                    f"{ENV_URL} to a server's URL instead."
                ) from exc
            self.run_as = "postgres"
        self.dir = Path(tempfile.mkdtemp(prefix="pbc-pg-"))
        self.data = self.dir / "data"
        self.password = secrets.token_urlsafe(18)
        self.port = 0
        self.started = False
        if self.run_as:
            entry = pwd.getpwnam(self.run_as)
            os.chown(self.dir, entry.pw_uid, entry.pw_gid)
        os.chmod(self.dir, 0o700)

    def _cmd(self, *args: str) -> list[str]:
        prefix = ["runuser", "-u", self.run_as, "--"] if self.run_as else []
        return prefix + list(args)

    def _run(self, *args: str, timeout: float = START_TIMEOUT_S) -> None:
        out = subprocess.run(
            self._cmd(*args),
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=self.dir,
            check=False,
        )
        if out.returncode != 0:
            log = self.dir / "server.log"
            tail = ""
            if log.exists():
                tail = "\n".join(log.read_text(errors="replace").splitlines()[-15:])
            raise PostgresUnavailable(
                f"{' '.join(args[:2])} failed ({out.returncode}): {out.stderr.strip()}\n{tail}"
            )

    def pg_ctl(self, *args: str) -> None:
        self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), *args)

    def init(self) -> None:
        pwfile = self.dir / "pw"
        pwfile.write_text(self.password + "\n")
        if self.run_as:
            entry = pwd.getpwnam(self.run_as)
            os.chown(pwfile, entry.pw_uid, entry.pw_gid)
        os.chmod(pwfile, 0o600)
        self._run(
            str(self.bindir / "initdb"),
            "-D",
            str(self.data),
            "-U",
            "pbc",
            "-E",
            "UTF8",
            "--locale=C",
            "--auth=scram-sha-256",
            f"--pwfile={pwfile}",
            "--no-sync",
        )
        pwfile.unlink()

    def start(self) -> None:
        last: Exception | None = None
        restart = bool(self.port)  # a restart keeps its port (clients reconnect to it)
        for _ in range(1 if restart else 3):  # a free port can be taken before we listen
            if not restart:
                self.port = _free_port()
            opts = (
                f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.dir} "
                "-c max_connections=200 -c shared_buffers=32MB"
            )
            try:
                self.pg_ctl(
                    "-w",
                    "-t",
                    str(START_TIMEOUT_S),
                    "-l",
                    str(self.dir / "server.log"),
                    "-o",
                    opts,
                    "start",
                )
            except PostgresUnavailable as exc:
                last = exc
                continue
            self.started = True
            return
        raise PostgresUnavailable(f"The throwaway PostgreSQL cluster didn't start: {last}")

    def stop(self) -> None:
        if self.started:
            try:
                self.pg_ctl("-m", "fast", "-w", "stop", timeout=30)
            except Exception:  # noqa: BLE001 - best effort at the end of a session
                pass
            self.started = False
        shutil.rmtree(self.dir, ignore_errors=True)

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://pbc:{self.password}@127.0.0.1:{self.port}/postgres"


_server: PostgresServer | None = None
_failure: PostgresUnavailable | None = None


def start_throwaway() -> PostgresServer:
    """A new throwaway cluster of its own (e.g. to crash it); the caller stops it."""
    bindir = _bindir()
    if bindir is None:
        raise PostgresUnavailable(
            f"No PostgreSQL server binaries: install them (apt-get install postgresql) or set "
            f"PBC_PG_BINDIR; {ENV_URL} alone isn't enough for a test that crashes the server."
        )
    cluster = _Cluster(bindir)
    try:
        t0 = time.perf_counter()
        cluster.init()
        cluster.start()
        server = PostgresServer(cluster.url, cluster=cluster)
        server.started_in_s = time.perf_counter() - t0
        server.check()
    except BaseException:
        cluster.stop()
        raise
    return server


def get_server() -> PostgresServer:
    """The session's server (started on first use); raises :class:`PostgresUnavailable`."""
    global _server, _failure
    if _server is not None:
        return _server
    if _failure is not None:
        raise _failure
    try:
        if os.environ.get(ENV_URL):
            server = PostgresServer(os.environ[ENV_URL])
            server.check()
        elif _bindir() is None:
            raise PostgresUnavailable(
                f"No PostgreSQL for the tests: set {ENV_URL} (CI starts Debian's postgresql "
                "and sets it), or install the server binaries (apt-get install postgresql) "
                "so a throwaway cluster can be started."
            )
        else:
            server = start_throwaway()
            atexit.register(server.stop)
    except PostgresUnavailable as exc:
        _failure = exc
        raise
    _server = server
    return server


def stop_server() -> None:
    global _server
    if _server is not None:
        _server.stop()
        _server = None
