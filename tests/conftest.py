"""Shared fixtures: a real Voilà server started with the project's own settings, and headless
Chromium (Debian's, at /usr/bin/chromium) driven by Playwright. Never downloads a browser."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = REPO / "tests" / "artifacts"
SERVER_START_TIMEOUT_S = 90
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-extensions",
    "--metrics-recording-only",
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _need_chromium() -> None:
    """Browser tests never skip in CI; elsewhere they skip with the reason if chromium is absent."""
    if os.path.exists(CHROMIUM):
        return
    message = f"{CHROMIUM} not found: install Debian's chromium (`apt-get install chromium`)."
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="session")
def workshop_db(tmp_path_factory) -> Path:
    """The workshop store (SQLite file) the test server's kernels share: a fresh one per run."""
    return tmp_path_factory.mktemp("workshop") / "workshop.sqlite"


@pytest.fixture(scope="session")
def voila_url(workshop_db):
    """Start `python -m pbc_lib.hosting` (what `make serve` runs) on a free port; stop it after.
    Its kernels use a temporary workshop store (``PBC_WORKSHOP_DB``), never the user's."""
    port = _free_port()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    log = open(ARTIFACTS / "voila.log", "w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "pbc_lib.hosting", "--port", str(port)],
        cwd=REPO,
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ, "PBC_WORKSHOP_DB": str(workshop_db)},
    )
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + SERVER_START_TIMEOUT_S
    while True:
        try:
            with urllib.request.urlopen(url, timeout=5) as resp:
                if resp.status == 200:
                    break
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            log.close()
            pytest.fail(f"Voilà did not start; see {ARTIFACTS / 'voila.log'}")
        time.sleep(0.3)
    yield url
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
    log.close()


@pytest.fixture(scope="session")
def browser():
    _need_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


class RecordedPage:
    """A page plus every URL it asked for (HTTP and websockets) and its console errors."""

    def __init__(self, page):
        self.page = page
        self.urls: list[str] = []
        self.console_errors: list[str] = []
        page.on("request", lambda r: self.urls.append(r.url))
        page.on("websocket", lambda ws: self.urls.append(ws.url))
        page.on("console", lambda m: m.type == "error" and self.console_errors.append(m.text))

    def foreign_requests(self) -> list[str]:
        from urllib.parse import urlparse

        bad = []
        for url in self.urls:
            parsed = urlparse(url)
            if parsed.scheme in ("data", "blob", "about"):
                continue
            if parsed.hostname != "127.0.0.1":
                bad.append(url)
        return bad


@pytest.fixture
def recorded_page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(120_000)
    yield RecordedPage(page)
    context.close()


# Property tests explore new examples on every local run; in CI they use a fixed derivation so a
# run can be repeated exactly (a failure found locally is kept in .hypothesis/ and replayed).
from hypothesis import settings as _hypothesis_settings  # noqa: E402

_hypothesis_settings.register_profile("ci", derandomize=True, deadline=None, print_blob=True)
if os.environ.get("CI"):
    _hypothesis_settings.load_profile("ci")

# The apps skip Vega-Lite schema validation to save ~10 ms a redraw; the tests turn it back on,
# so every chart a test builds (unit, app and chart tests) is checked against the schema.
from pbc_lib import charts as _charts  # noqa: E402

_charts.VALIDATE_SPECS = True


def open_notebook(page, voila_url: str, notebook: str, charts: int) -> None:
    """Open a notebook in Voilà and wait until it has run and drawn ``charts`` charts."""
    page.goto(f"{voila_url}voila/render/{notebook}", wait_until="domcontentloaded")
    page.wait_for_selector("#rendered_cells", state="visible")
    if charts:
        page.wait_for_function(
            "n => document.querySelectorAll('figure.pbc-chart svg').length >= n", arg=charts
        )


def chart_svgs(page) -> list[str]:
    """The markup of every chart drawn on the page, in page order."""
    return page.eval_on_selector_all("figure.pbc-chart svg", "els => els.map(e => e.outerHTML)")
