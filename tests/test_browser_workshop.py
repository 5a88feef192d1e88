"""Workshop mode in a real browser (Voilà + headless Chromium): a facilitator and three teams, each
in a browser context of its own, run a 2-round workshop end to end through the pages, with the
automatic refresh carrying the round's state between them. Each team is shown its rejoin key at
join; in round 2 one team closes its page, opens a new one and rejoins with its key, and sees its
submitted decisions and its round 1 results. The debrief then shows all three teams (names
escaped), a chart per measure with one dot per team and round, the teams see their revealed
results, and the downloads arrive as files."""

from __future__ import annotations

import io
import re
import zipfile

import openpyxl
import pytest
from conftest import ARTIFACTS

pytestmark = pytest.mark.browser

CONSOLE = "workbooks/workshop/facilitator.ipynb"
TEAM = "workbooks/workshop/team.ipynb"
PASSPHRASE = "correct horse battery"
MARKUP_NAME = "<b>Team</b> & co"
ESCAPED_NAME = "&lt;b&gt;Team&lt;/b&gt; &amp; co"
TEAMS = (  # name, locality, {decision label: option label} for rounds 1 and 2
    (
        MARKUP_NAME,
        "City Centre",
        (
            {"Commissioning-plan priority": "Older people"},
            {"Risk share": "Stop-loss: the PCT pays any one patient's cost above £6,000"},
        ),
    ),
    (
        "North GPs",
        "City North",
        (
            {"Referral management": "Musculoskeletal assessment service (ICATS)"},
            {"What to do with last round's freed-up resources":
             "Extra outpatient and theatre sessions (18-week wait)"},
        ),
    ),
    (
        "Dales",
        "Fellside Dales",
        ({"Risk share": "Risk share with the other clusters"},
         {"Referral management": "Referral-management centre for all referrals"}),
    ),
)
KEY_RE = re.compile(r"[2-9A-HJKMNP-Z]{4}-[2-9A-HJKMNP-Z]{4}-[2-9A-HJKMNP-Z]{4}")
KEY_NOTE = (
    "Write this down: you need it to get back in if this page is closed or the laptop sleeps."
)
WAIT_MS = 60_000  # a state change reaches another page within one automatic refresh (5 s)
SHOTS = ARTIFACTS / "screenshots"


def _open(browser, url: str, width: int = 1280):
    context = browser.new_context(viewport={"width": width, "height": 900}, accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(120_000)
    page.goto(url, wait_until="domcontentloaded")
    page.wait_for_selector("#rendered_cells", state="visible")
    return context, page


def _select(page, label: str, option: str) -> None:
    page.locator(".widget-dropdown", has_text=label).locator("select").select_option(label=option)


def _wait_text(page, text: str, timeout: int = WAIT_MS) -> None:
    page.wait_for_function(
        "t => document.body.innerText.includes(t)", arg=text, timeout=timeout
    )


def _screenshot(page, name: str) -> None:
    """The whole page (Voilà scrolls inside #rendered_cells, so grow the viewport to fit)."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    size = page.viewport_size
    height = page.evaluate(
        "() => { const r = document.querySelector('#rendered_cells');"
        " return r ? r.scrollHeight : document.documentElement.scrollHeight; }"
    )
    page.set_viewport_size({"width": size["width"], "height": min(max(height, 600), 20000)})
    page.wait_for_timeout(300)
    page.screenshot(path=str(SHOTS / name))
    page.set_viewport_size(size)


def _no_errors(page) -> None:
    body = page.inner_text("body")
    assert not re.search(r"Traceback|An exception occurred|Error displaying widget", body)
    assert page.locator(".pbc-error:visible").count() == 0, page.locator(
        ".pbc-error:visible"
    ).all_inner_texts()


def _play_round(console, teams, round_no: int, year: str, before_close=None) -> None:
    console.get_by_role("button", name=f"Open round {round_no} ({year})").click()
    _wait_text(console, f"Round {round_no} of 2 ({year}) is open")
    for page, (_, _, plans) in zip(teams, TEAMS, strict=True):
        _wait_text(page, f"Round {round_no} of 2 ({year}) is open")  # the automatic refresh
        for label, option in plans[round_no - 1].items():
            _select(page, label, option)
        if round_no == 1:
            page.locator(".widget-slider", has_text="Case managers").locator(
                ".noUi-handle"
            ).click()
            page.keyboard.press("ArrowRight")
            page.locator(".pbc-ws-cost", has_text="£45,000").wait_for()
            if page is teams[0]:
                _screenshot(page, "workshop_team_decisions.png")
        page.get_by_role("button", name="Submit our decisions").click()
        _wait_text(page, "(revision 1)")
    _wait_text(console, "3 of 3 team(s) have submitted")
    if before_close is not None:
        before_close()
    console.get_by_role("button", name=f"Close round {round_no}").click()
    console.get_by_role("button", name=f"Reveal round {round_no}'s results").click()
    _wait_text(console, "results revealed at")
    for page in teams:
        _wait_text(page, f"Round {round_no}'s results ({year}) are revealed")


def test_a_three_team_two_round_workshop_in_the_browser(voila_url, browser, tmp_path):
    contexts = []
    try:
        context, console = _open(browser, f"{voila_url}voila/render/{CONSOLE}")
        contexts.append(context)
        _screenshot(console, "workshop_console_start.png")
        console.get_by_placeholder("e.g. Wyndmoor PbC away day").fill("Browser workshop")
        console.get_by_placeholder("at least 8 characters").fill(PASSPHRASE)
        console.get_by_placeholder("the same passphrase").fill(PASSPHRASE)
        _select(console, "Rounds (financial years)", "2 rounds (2007/08 to 2008/09)")
        console.get_by_role("button", name="Create the workshop").click()
        code_box = console.locator(".pbc-join-code")
        code_box.wait_for()
        code = code_box.inner_text().strip()
        assert re.fullmatch(r"[2-9A-HJKMNP-Z]{4}-[2-9A-HJKMNP-Z]{4}", code), code

        teams, keys = [], []
        for name, locality, _ in TEAMS:
            context, page = _open(browser, f"{voila_url}voila/render/{TEAM}")
            contexts.append(context)
            page.get_by_placeholder("e.g. K7QF-2MXD").fill(code)
            page.get_by_placeholder("e.g. City North GPs").fill(name)
            _wait_text(page, "Workshop found: Browser workshop")
            _select(page, "Locality (your cluster of practices)", locality)
            page.get_by_role("button", name="Join the workshop").click()
            _wait_text(page, "Waiting for the facilitator to open round 1")
            page.locator("figure.pbc-chart svg").first.wait_for()  # the data pack's chart
            key = page.locator(".pbc-rejoin-key").inner_text().strip()
            assert KEY_RE.fullmatch(key), key
            assert KEY_NOTE in page.locator(".pbc-ws-code-box").inner_text()
            teams.append(page)
            keys.append(key)
        assert len(set(keys)) == 3
        _screenshot(teams[0], "workshop_team_joined.png")

        # The facilitator's table fills in by itself, with the markup shown as text.
        _wait_text(console, "3 team(s) in this workshop")
        table = console.locator("table.pbc-table", has_text="team(s) in this workshop")
        assert MARKUP_NAME in table.inner_text()
        assert ESCAPED_NAME in table.inner_html()

        def lose_and_rejoin() -> None:
            """The first team closes its page, opens a new one and rejoins with its key."""
            old = teams[0]
            context = old.context
            old.close()
            page = context.new_page()
            page.set_default_timeout(120_000)
            page.goto(f"{voila_url}voila/render/{TEAM}", wait_until="domcontentloaded")
            page.wait_for_selector("#rendered_cells", state="visible")
            page.get_by_role("button", name="Rejoin my team").click()
            page.get_by_placeholder("e.g. K7QF-2MXD").fill(code.lower())
            page.get_by_placeholder("e.g. City North GPs").fill(MARKUP_NAME)
            page.get_by_placeholder("e.g. HX4M-9TQC-R2WP").fill(keys[0].lower().replace("-", ""))
            page.get_by_role("button", name="Rejoin the workshop").click()
            _wait_text(page, "Welcome back")
            _wait_text(page, "Your submission for round 2")
            receipt = page.locator(".pbc-ws-note", has_text="Your submission for round 2")
            text = receipt.inner_text()
            assert "(revision 1)" in text
            assert "Risk share: Stop-loss: the PCT pays any one patient's cost above £6,000" in text
            assert "Commissioning-plan priority: Older people" in text  # kept from round 1
            chosen = page.locator(".widget-dropdown", has_text="Risk share").locator("select")
            assert chosen.evaluate("el => el.options[el.selectedIndex].text").startswith(
                "Stop-loss"
            )
            page.locator("table.pbc-table", has_text="Your results, round 1 (2007/08)").wait_for()
            assert page.locator(".pbc-rejoin-key").inner_text().strip() == keys[0]
            _no_errors(page)
            _screenshot(page, "workshop_team_rejoined.png")
            teams[0] = page

        _play_round(console, teams, 1, "2007/08")
        _play_round(console, teams, 2, "2008/09", before_close=lose_and_rejoin)
        _no_errors(console)

        # The debrief: five charts, every team on each, one dot per team and round.
        console.wait_for_function(
            "() => document.querySelectorAll('figure.pbc-chart svg').length >= 5"
        )
        svgs = console.eval_on_selector_all(
            "figure.pbc-chart svg", "els => els.map(e => e.outerHTML)"
        )
        assert len(svgs) == 5
        for svg in svgs:
            assert ESCAPED_NAME in svg and "North GPs" in svg and "Dales" in svg
            groups = re.findall(r'<g class="mark-symbol role-mark[^"]*"[^>]*>(.*?)</g>', svg, re.S)
            assert sum(len(re.findall(r"<path\b", g)) for g in groups) == 3 * 2
        assert console.locator("b", has_text="Team").count() == 0  # never rendered as markup
        assert MARKUP_NAME in console.inner_text("body")
        _wait_text(console, "That was the last round")
        _screenshot(console, "workshop_console_debrief.png")

        # Each team sees its revealed results, and every team side by side.
        for page in teams:
            page.locator("table.pbc-table", has_text="Your results, round 2 (2008/09)").wait_for()
            assert MARKUP_NAME in page.locator(
                "table.pbc-table", has_text="Every team's results, round 2"
            ).inner_text()
            _no_errors(page)
        _screenshot(teams[1], "workshop_team_results.png")

        # The downloads arrive as files.
        console.get_by_role("button", name="Prepare the downloads").click()
        for link, check in (
            ("All tables as an Excel workbook (xlsx)", _check_xlsx),
            ("All tables as CSV files (zip)", _check_zip),
            ("Debrief handout to print (HTML)", _check_handout),
        ):
            with console.expect_download() as info:
                console.get_by_role("link", name=link).click()
            download = info.value
            assert code in download.suggested_filename
            saved = tmp_path / download.suggested_filename
            download.save_as(saved)
            check(saved.read_bytes())

        # The same pages at a phone's width.
        for page, name in ((console, "workshop_console.phone.png"),
                           (teams[0], "workshop_team.phone.png")):
            page.set_viewport_size({"width": 375, "height": 800})
            page.wait_for_timeout(500)
            _screenshot(page, name)
    finally:
        for context in contexts:
            context.close()


def _check_xlsx(payload: bytes) -> None:
    book = openpyxl.load_workbook(io.BytesIO(payload), read_only=True)
    assert {"teams", "results", "debrief"} <= set(book.sheetnames)
    assert len(list(book["results"].iter_rows(values_only=True))) == 1 + 6


def _check_zip(payload: bytes) -> None:
    with zipfile.ZipFile(io.BytesIO(payload)) as archive:
        assert "debrief.csv" in archive.namelist()
        assert MARKUP_NAME in archive.read("teams.csv").decode("utf-8")


def _check_handout(payload: bytes) -> None:
    page = payload.decode("utf-8")
    assert page.count("<figure><svg") == 5 and ESCAPED_NAME in page and "<b>Team" not in page
