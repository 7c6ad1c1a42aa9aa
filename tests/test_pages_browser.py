"""Both pages in a real browser: headless Chromium (the distribution's package) driven by
Playwright, against a real `mockpbx serve`. Screenshots go to reports/screenshots/.

Without Playwright or a Chromium these tests are skipped with the reason, except in CI (CI=true),
where .ci/run installs both and a missing browser fails them. MOCKPBX_CHROMIUM names the browser
when it is not on PATH as chromium.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests

from tests.conftest import DEMO, DEMO_API_KEY

ROOT = Path(__file__).resolve().parents[1]
SHOTS = ROOT / "reports" / "screenshots"
START = "2026-11-27T05:00:00Z"
CONTROL_TOKEN = "ctl-7f3a9e"
WAIT_MS = 15_000  # the longest any expectation waits for the page: a bound, not a timing


def _unavailable(reason: str) -> None:
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"browser tests cannot run in CI: {reason} (.ci/run installs them)")
    pytest.skip(f"browser tests skipped: {reason}")


def chromium_path() -> str | None:
    """The browser to drive: MOCKPBX_CHROMIUM, else a Chromium or Chrome on PATH."""
    explicit = os.environ.get("MOCKPBX_CHROMIUM")
    if explicit:
        return explicit if Path(explicit).is_file() else None
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        if found := shutil.which(name):
            return found
    return None


class Mock:
    def __init__(self, process: subprocess.Popen[str], url: str) -> None:
        self.process, self.url = process, url

    def control(self, method: str, path: str, **kwargs: Any) -> Any:
        headers = {"Authorization": f"Bearer {CONTROL_TOKEN}"}
        response = requests.request(method, f"{self.url}/_mock{path}", headers=headers, timeout=10, **kwargs)
        response.raise_for_status()
        return response.json()

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.communicate(timeout=5)


def serve(*args: str) -> Mock:
    """`mockpbx serve` on a free loopback port, with a frozen clock; returns once it listens."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MOCKPBX_")}
    process = subprocess.Popen(
        [sys.executable, "-m", "mockpbx", "serve", "--host", "127.0.0.1", "--port", "0", "--days", "3",
         "--calls-per-day", "40", "--clock-start", START, "--freeze-clock", *args],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env)
    assert process.stdout is not None
    banner = process.stdout.readline()  # the banner is printed once a worker accepts connections
    match = re.search(r"http://127\.0\.0\.1:\d+", banner)
    if not match:
        process.kill()
        raise AssertionError(f"mockpbx serve did not start: {banner!r}")
    return Mock(process, match.group(0))


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    try:
        from playwright.sync_api import Error, expect, sync_playwright
    except ImportError:
        _unavailable("the playwright package is not installed (pip install -e '.[test]')")
    executable = chromium_path()
    if executable is None:
        _unavailable("no Chromium found (apt-get install chromium, or set MOCKPBX_CHROMIUM)")
    expect.set_options(timeout=WAIT_MS)
    with sync_playwright() as playwright:
        try:
            chromium = playwright.chromium.launch(executable_path=executable, headless=True)
        except Error as error:
            _unavailable(f"{executable} does not start: {error.message.splitlines()[0]}")
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def mock() -> Iterator[Mock]:
    server = serve("--control-token", CONTROL_TOKEN)
    yield server
    server.stop()


@pytest.fixture
def page(browser: Any, mock: Mock) -> Iterator[Any]:
    mock.control("POST", "/reset", json={"coverage": True})
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    opened = context.new_page()
    opened.set_default_timeout(WAIT_MS)
    seen = Seen()
    opened.on("console", seen.console)
    opened.on("pageerror", lambda error: seen.errors.append(str(error)))
    opened.on("request", lambda request: seen.requested.append(request.url))
    opened.on("response", lambda response: response.status >= 400 and seen.failed.append(
        (response.status, urlsplit(response.url).path)))
    opened.seen = seen
    yield opened
    context.close()


class Seen:
    """What a page did: the URLs it asked for, the answers of 400 and over, and its script errors."""

    def __init__(self) -> None:
        self.requested: list[str] = []
        self.failed: list[tuple[int, str]] = []
        self.errors: list[str] = []

    def console(self, message: Any) -> None:
        # A failed fetch is also logged as a console error; the answers themselves are in `failed`.
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            self.errors.append(message.text)


def screenshot(target: Any, name: str, mask: list[Any] | None = None, whole: bool = True) -> None:
    """A PNG of a page (whole, or what the window shows) or of one element, for a person to look at;
    `mask` paints over elements that show a secret (reports never hold one)."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    if hasattr(target, "goto"):
        target.screenshot(path=str(SHOTS / name), full_page=whole, mask=mask or [])
    else:
        target.screenshot(path=str(SHOTS / name), mask=mask or [])


def open_dashboard(page: Any, mock: Mock) -> None:
    from playwright.sync_api import expect
    page.goto(mock.url + "/_mock/ui")
    expect(page.locator("#token-form")).to_be_visible()
    page.fill("#token-input", CONTROL_TOKEN)
    page.click("#token-form button[type=submit]")
    expect(page.locator("#panels")).to_be_visible()
    page.seen.failed.clear()  # the 401s of the first load, before the token


def test_the_dashboard_asks_for_the_control_token_and_shows_nothing_without_it(page: Any, mock: Mock) -> None:
    from playwright.sync_api import expect
    page.goto(mock.url + "/_mock/ui")
    expect(page.locator("#token-form")).to_be_visible()
    expect(page.locator("#status")).to_have_text("the control API needs its token")
    expect(page.locator("#panels")).to_be_hidden()
    expect(page.locator("#reset")).to_be_disabled()
    screenshot(page, "dashboard-token.png")
    page.fill("#token-input", "not-the-token")
    page.click("#token-form button[type=submit]")
    expect(page.locator("#token-error")).to_contain_text("The token was not accepted")
    expect(page.locator("#panels")).to_be_hidden()
    assert page.locator("#clock-now").inner_text() == "–" and page.locator("#journal tbody tr").count() == 0
    page.fill("#token-input", CONTROL_TOKEN)
    page.click("#token-form button[type=submit]")
    expect(page.locator("#clock-now")).to_have_text(START)
    assert page.evaluate("sessionStorage.getItem('mockpbx.controlToken')") == CONTROL_TOKEN
    page.reload()  # the tab keeps the token
    expect(page.locator("#clock-now")).to_have_text(START)
    assert CONTROL_TOKEN not in page.content()
    page.click("#forget-token")
    expect(page.locator("#token-form")).to_be_visible()
    expect(page.locator("#panels")).to_be_hidden()


def test_the_dashboard_moves_the_clock_adds_a_fault_shows_the_journal_and_resets(page: Any, mock: Mock) -> None:
    from playwright.sync_api import expect
    open_dashboard(page, mock)
    clock, state = page.locator("#clock-now"), page.locator("#clock-state")
    expect(clock).to_have_text(START)
    expect(state).to_have_text("frozen")
    page.get_by_role("button", name="+1 hour", exact=True).click()
    expect(clock).to_have_text("2026-11-27T06:00:00Z")
    page.get_by_role("button", name="+1 day", exact=True).click()
    expect(clock).to_have_text("2026-11-28T06:00:00Z")
    assert mock.control("GET", "/clock")["now"] == "2026-11-28T06:00:00Z"
    page.get_by_role("button", name="Unfreeze", exact=True).click()
    expect(state).to_have_text("running")
    page.get_by_role("button", name="Freeze", exact=True).click()
    expect(state).to_have_text("frozen")
    assert mock.control("GET", "/clock")["frozen"] is True

    page.select_option("#fault-preset", "503")
    page.select_option("#fault-method", "GET")
    page.fill("#fault-path", "/v1/call/log")
    page.fill("#fault-times", "1")
    page.click("#add-fault")
    row = page.locator("#faults tbody tr")
    expect(row).to_have_count(1)  # the page shows it once the mock has it: only then ask the mock
    expect(row).to_contain_text("/v1/call/log")
    expect(row).to_contain_text("503")
    fault, = mock.control("GET", "/faults")["data"]
    assert (fault["method"], fault["path"], fault["status"], fault["times"]) == ("GET", "/v1/call/log", 503, 1)
    assert fault["headers"] == {"Retry-After": "1"}

    # A client of the API, not the page: its requests show up in the journal by auto-refresh.
    requests.post(mock.url + "/v1/auth", json=DEMO, timeout=10).raise_for_status()
    token = requests.post(mock.url + "/v1/auth/token", json={"api_key": DEMO_API_KEY}, timeout=10).json()["data"]["token"]
    calls = requests.get(mock.url + "/v1/call/log", headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert calls.status_code == 503
    rows = page.locator("#journal tbody tr")
    expect(rows).to_have_count(3)
    expect(rows.nth(0)).to_contain_text("/v1/call/log")  # newest first
    expect(rows.nth(0)).to_contain_text("503")
    expect(rows.nth(0)).to_contain_text(f"#{fault['id']} error")
    expect(rows.nth(2)).to_contain_text("POST")
    expect(rows.nth(2)).to_contain_text("/v1/auth")
    expect(page.locator("#faults-empty")).to_be_visible()  # its one time is used up
    coverage = mock.control("GET", "/coverage")
    assert coverage["exercised"] == 3  # login 200, token 200, the call log's injected 503
    expect(page.locator("#coverage-summary")).to_have_text(f"(3 of {coverage['total']} outcomes exercised)")
    met = page.locator("#coverage tbody tr", has_text="fault: error").filter(has_text="GET /v1/call/log")
    expect(met.filter(has_text="503")).to_contain_text("1")

    detail = page.locator("#journal-detail")
    rows.nth(2).click()
    expect(detail).to_contain_text('"password": "<redacted>"')
    page.fill("#journal-filter", "/v1/auth")
    expect(rows).to_have_count(2)
    expect(page.locator("#journal-count")).to_have_text("(2 matching of 3)")
    page.fill("#journal-filter", "")
    expect(rows).to_have_count(3)
    rows.nth(0).click()
    expect(detail).to_contain_text('"Authorization": "Bearer <redacted>"')
    expect(page.locator("#accounts")).to_contain_text("foo@test.tel4vn.com")
    expect(page.locator("#domains")).to_contain_text("dddddddd-1111-2222-3333-eeeeeeee")
    page.select_option("#fault-preset", "delay")
    page.fill("#fault-times", "")
    page.click("#add-fault")
    expect(page.locator("#faults tbody tr")).to_contain_text("2000 ms")
    shown = page.locator("body").inner_text()
    for secret in (token, DEMO["password"], DEMO_API_KEY, CONTROL_TOKEN):
        assert secret not in shown
    screenshot(page, "dashboard.png")

    page.get_by_role("button", name="Reset mock", exact=True).click()
    expect(clock).to_have_text(START)
    expect(rows).to_have_count(0)
    expect(page.locator("#faults tbody tr")).to_have_count(0)
    assert mock.control("GET", "/faults")["data"] == []
    expect(page.locator("#journal-empty")).to_be_visible()
    assert mock.control("GET", "/requests")["total"] == 0
    expect(page.locator("#coverage-panel")).to_be_visible()  # the reset keeps the coverage counts
    assert page.seen.errors == [] and page.seen.failed == []


def test_the_dashboard_removes_one_fault_and_clears_the_rest(page: Any, mock: Mock) -> None:
    from playwright.sync_api import expect
    open_dashboard(page, mock)
    for preset, path in (("delay", "/v1/auth"), ("429", "/v1/call/log"), ("drop", "/v1/auth/token")):
        page.select_option("#fault-preset", preset)
        page.fill("#fault-path", path)
        page.fill("#fault-times", "")  # until cleared
        page.click("#add-fault")
        expect(page.locator("#faults tbody tr", has_text=path)).to_contain_text("until cleared")
    rows = page.locator("#faults tbody tr")
    expect(rows).to_have_count(3)
    rows.filter(has_text="429").get_by_role("button", name="Remove", exact=True).click()
    expect(rows).to_have_count(2)
    assert sorted(f["kind"] for f in mock.control("GET", "/faults")["data"]) == ["delay", "drop"]
    page.get_by_role("button", name="Clear all", exact=True).click()
    expect(rows).to_have_count(0)
    assert mock.control("GET", "/faults")["data"] == []


def test_docs_render_the_contract_and_try_it_out_calls_the_mock(page: Any, mock: Mock) -> None:
    from playwright.sync_api import expect
    page.goto(mock.url + "/docs")
    expect(page.locator(".info .title")).to_contain_text("TEL4VN PBX billing API")
    expect(page.locator(".servers select")).to_contain_text(mock.url)
    expect(page.locator("#docs-status")).to_be_empty()  # Swagger UI is done: the loading note is gone
    screenshot(page, "docs.png", whole=False)  # the top of the page, as a person first sees it
    operation = page.locator("#operations-auth-login")
    operation.locator(".opblock-summary").click()
    operation.get_by_role("button", name="Try it out", exact=True).click()
    operation.get_by_role("button", name="Execute", exact=True).click()
    status = operation.locator(".live-responses-table .response .response-col_status")
    expect(status).to_have_text("200")
    expect(operation.locator(".live-responses-table .response .response-col_description")).to_contain_text("api_key")
    logins = mock.control("GET", "/requests", params={"path": "/v1/auth"})["data"]
    assert [(e["method"], e["status"], e["body"]["password"]) for e in logins] == [("POST", 200, "<redacted>")]

    # The bearer token through Authorize, then a page of calls through "Try it out".
    token = requests.post(mock.url + "/v1/auth/token", json={"api_key": DEMO_API_KEY}, timeout=10).json()["data"]["token"]
    page.locator(".auth-wrapper .btn.authorize").click()
    page.fill("#auth-bearer-value", token)
    page.get_by_role("button", name="Apply credentials").click()
    page.get_by_role("button", name="Close", exact=True).click()
    calls = page.locator("#operations-calls-listCalls")
    calls.locator(".opblock-summary").click()
    calls.get_by_role("button", name="Try it out", exact=True).click()
    calls.locator('tr[data-param-name="start_date"] input').fill("2026-11-26 00:00:00")
    calls.locator('tr[data-param-name="end_date"] input').fill("2026-11-27 12:00:00")
    calls.get_by_role("button", name="Execute", exact=True).click()
    expect(calls.locator(".live-responses-table .response .response-col_status")).to_have_text("200")
    expect(calls.locator(".live-responses-table .response .response-col_description")).to_contain_text('"total"')
    screenshot(calls, "docs-try-it-out.png", mask=[calls.locator(".curl-command")])  # it shows the token
    listed = mock.control("GET", "/requests", params={"path": "/v1/call/log"})["data"]
    assert [(e["status"], e["headers"]["Authorization"]) for e in listed] == [(200, "Bearer <redacted>")]
    assert listed[0]["query"]["start_date"] == ["2026-11-26 00:00:00"]
    origin = urlsplit(mock.url)
    foreign = [url for url in page.seen.requested if urlsplit(url)[:2] != origin[:2] and not url.startswith("data:")]
    assert foreign == [], "the docs page fetched from elsewhere"
    assert page.seen.errors == [] and page.seen.failed == []


def test_the_coverage_panel_hides_itself_where_the_mock_does_not_count_coverage(page: Any, mock: Mock) -> None:
    """A mock without GET /_mock/coverage (an older one: here the browser answers 404 for it) gets
    no coverage panel, and the page is not bothered by that 404 again."""
    from playwright.sync_api import expect
    asked: list[str] = []

    def missing(route: Any) -> None:
        asked.append(route.request.url)
        route.fulfill(status=404, json={"error": "not found: /_mock/coverage"})
    page.route("**/_mock/coverage", missing)
    open_dashboard(page, mock)
    expect(page.locator("#clock-now")).to_have_text(START)
    expect(page.locator("#coverage-panel")).to_be_hidden()
    with page.expect_response(lambda response: response.url.endswith("/_mock/accounts")):
        page.click("#refresh")  # a whole refresh: the coverage would be asked before the accounts
    assert len(asked) == 1  # on the first load, then never again


def test_docs_follow_the_running_profile(browser: Any) -> None:
    """The page renders whatever /openapi.json serves, so `--profile revised` shows that contract."""
    from playwright.sync_api import expect
    revised = serve("--profile", "revised")
    try:
        context = browser.new_context()
        page = context.new_page()
        page.goto(revised.url + "/docs")
        expect(page.locator(".info .title")).to_contain_text("(revised shape)")
        context.close()
    finally:
        revised.stop()
