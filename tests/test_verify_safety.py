"""`mockpbx verify` is safe to point at staging: a hard request budget, only the contract's
operations, Retry-After honoured, an early stop after a burst of 5xx or timeouts."""

from __future__ import annotations

import gzip
import itertools
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from werkzeug.wrappers import Response

from tests.verify.broken import CALL_LOG, Recording, Rewrite, serve, small_mock
from tests.verify.run import run_verify

WSGIApp = Callable[..., Any]
DECLARED = {("POST", "/v1/auth"), ("POST", "/v1/auth/token"), ("GET", "/v1/call/log")}


@pytest.fixture(scope="module")
def mock() -> WSGIApp:
    return small_mock()


@pytest.mark.parametrize("budget", [10, 45, 150])
def test_the_request_budget_holds(budget: int, mock: WSGIApp, tmp_path: Path) -> None:
    recording = Recording(mock)
    with serve(recording) as url:
        outcome = run_verify(url, tmp_path, max_requests=budget)
    assert outcome.report is not None
    received = len(recording.requests)
    assert received <= budget
    assert received == outcome.report["requests"]["sent"]
    assert outcome.code == 0, outcome.out
    if budget < 100:
        assert received == budget  # small budgets are spent to the last request, never beyond


class VirtualTime:
    """A clock that only moves when the code under test sleeps: the pacing is checked exactly,
    with no wall-clock measurement (which a busy machine would make flaky)."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.starts: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_the_rate_limit_spaces_every_request_start(mock: WSGIApp) -> None:
    from mockpbx.redaction import Redactor
    from mockpbx.verify.client import BudgetedClient
    virtual = VirtualTime()
    recording = Recording(mock)
    with serve(recording) as url:
        client = BudgetedClient(url, budget=30, rate=20, timeout=10, redactor=Redactor(),
                                clock=virtual.clock, sleep=virtual.sleep)
        for _ in range(30):
            client.send("GET", "/healthz", origin="test")
            virtual.starts.append(virtual.now)
        client.close()
    gaps = [round(b - a, 9) for a, b in itertools.pairwise(virtual.starts)]
    assert len(recording.requests) == 30
    assert gaps == [0.05] * 29  # exactly 1/20 s apart, however fast the server answers


def test_verify_spends_its_budget_under_a_rate_limit(mock: WSGIApp, tmp_path: Path) -> None:
    recording = Recording(mock)
    with serve(recording) as url:
        outcome = run_verify(url, tmp_path, max_requests=30, rate_limit="20/s")
    assert outcome.code == 0 and len(recording.requests) == 30


def test_only_the_contracts_operations_are_sent(mock: WSGIApp, tmp_path: Path) -> None:
    recording = Recording(mock)
    with serve(recording) as url:
        outcome = run_verify(url, tmp_path, max_requests=150)
    assert recording.operations() <= DECLARED
    assert outcome.report is not None and outcome.report["requests"]["not_sent"] > 0
    assert "outside the contract were not sent" in outcome.out


def test_probe_methods_sends_undeclared_methods(mock: WSGIApp, tmp_path: Path) -> None:
    recording = Recording(mock)
    with serve(recording) as url:
        outcome = run_verify(url, tmp_path, max_requests=150, probe_methods=True)
    assert outcome.code == 0, outcome.out
    assert {m for m, _ in recording.operations() - DECLARED} >= {"PUT", "DELETE"}
    assert {p for _, p in recording.operations()} <= {p for _, p in DECLARED}  # never undeclared paths


def _call_log_answers(app: WSGIApp, answer: Callable[[], Response | None]) -> WSGIApp:
    """The mock, but the call log answers with `answer()` when it returns a response."""
    def query(q: dict[str, str]) -> dict[str, str] | Response:
        return answer() or q
    return Rewrite(app, query=query)


def test_a_burst_of_server_errors_stops_the_run(mock: WSGIApp, tmp_path: Path) -> None:
    broken = _call_log_answers(mock, lambda: Response('{"error": "boom"}', 500, content_type="application/json"))
    recording = Recording(broken)
    with serve(recording) as url:
        outcome = run_verify(url, tmp_path)
    assert outcome.code == 1
    assert len(recording.requests) <= 2 + 5  # login, token, then five 500s in a row
    assert "stopped early after 5 server errors or timeouts in a row" in outcome.out


def test_a_burst_of_timeouts_stops_the_run(mock: WSGIApp, tmp_path: Path) -> None:
    def slow() -> None:
        time.sleep(0.6)
    recording = Recording(_call_log_answers(mock, slow))
    with serve(recording) as url:
        outcome = run_verify(url, tmp_path, timeout=0.2)
    assert outcome.code == 2, outcome.out
    assert len([r for r in recording.requests if r[2] == CALL_LOG]) == 5
    assert "host stopped answering" in outcome.err
    assert len(outcome.err.strip().splitlines()[-1]) < 300


def test_retry_after_is_honoured(mock: WSGIApp, tmp_path: Path) -> None:
    limited = iter([Response('{"error": "slow down"}', 429, {"Retry-After": "1"}, content_type="application/json")])
    recording = Recording(_call_log_answers(mock, lambda: next(limited, None)))
    with serve(recording) as url:
        outcome = run_verify(url, tmp_path, max_requests=40)
    calls = [t for t, _, path in recording.requests if path == CALL_LOG]
    assert calls[1] - calls[0] >= 0.95  # the second call-log request waited out the Retry-After
    assert outcome.code == 0, outcome.out


def test_a_long_retry_after_stops_the_run(mock: WSGIApp, tmp_path: Path) -> None:
    response = Response('{"error": "come back later"}', 429, {"Retry-After": "3600"}, content_type="application/json")
    recording = Recording(_call_log_answers(mock, lambda: response))
    with serve(recording) as url:
        outcome = run_verify(url, tmp_path)
    assert outcome.code == 2
    assert "asked to wait 3600 s" in outcome.err
    assert len(recording.requests) == 3


def _cut_off(outcome: Any, reason: str) -> bool:
    """Whether verify ran to its report, failing the host for answers it cut off for `reason`."""
    return outcome.code == 1 and outcome.report is not None and reason in json.dumps(outcome.report)


def test_an_endless_answer_is_cut_off_not_read_into_memory(mock: WSGIApp, tmp_path: Path) -> None:
    """(Before: verify read a host's endless body whole: 20 GB of memory within a minute.)"""
    sent: list[int] = []
    def endless() -> Any:
        chunk = b'{"a": 1},' * 7000  # about 64 KiB
        for _ in range(2048):  # 128 MiB at most, should verify never stop reading
            sent.append(len(chunk))
            yield chunk
    answer = lambda: Response(endless(), 200, content_type="application/json")  # noqa: E731
    with serve(_call_log_answers(mock, answer)) as url:
        outcome = run_verify(url, tmp_path, max_requests=30)
    assert _cut_off(outcome, "HTTP 200 with an answer over 16 MiB: not read further"), outcome.out
    answers = outcome.report["requests"]["sent"] - 2  # after the login and the token
    assert len(sent) < 2048 * answers / 4  # each cut off after a sixth or so of what it would send


def test_a_compression_bomb_is_decoded_only_up_to_the_bound(mock: WSGIApp, tmp_path: Path) -> None:
    bomb = gzip.compress(b"{" + b" " * (48 << 20), 9)  # 48 MiB once decoded, 47 KiB sent
    answer = lambda: Response(bomb, 200, {"Content-Encoding": "gzip"}, content_type="application/json")  # noqa: E731
    with serve(_call_log_answers(mock, answer)) as url:
        outcome = run_verify(url, tmp_path, max_requests=30)
    assert _cut_off(outcome, "HTTP 200 with an answer over 16 MiB: not read further"), outcome.out


def test_an_answer_still_trickling_in_at_the_timeout_is_cut_off(mock: WSGIApp, tmp_path: Path) -> None:
    """urllib3's timeout bounds each read, not the answer: a byte at a time would go on for hours."""
    stop = threading.Event()
    def trickle() -> Any:
        yield b"{"
        for _ in range(600):  # a minute at most, should verify wait on
            if stop.wait(0.1):
                return
            yield b" "
    answer = lambda: Response(trickle(), 200, content_type="application/json")  # noqa: E731
    try:
        with serve(_call_log_answers(mock, answer)) as url:
            outcome = run_verify(url, tmp_path, max_requests=12, timeout=0.5)
    finally:
        stop.set()
    assert _cut_off(outcome, "HTTP 200 with an answer still coming after 0.5 s (timeout)"), outcome.out


class _HeaderTrickler:
    """A raw-socket host that answers every request with a status line and then one header byte
    every 50 ms: urllib3's timeout, which bounds each read, never fires. Each connection trickles
    for a minute at most, should the client wait on; the bytes it sent are counted."""

    LIMIT = 1200

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        self.stop = threading.Event()
        self.trickled: list[int] = []
        self.threads = [threading.Thread(target=self._accept, daemon=True)]
        self.threads[0].start()

    def _accept(self) -> None:
        self.listener.settimeout(0.05)
        while not self.stop.is_set():
            try:
                conn, _ = self.listener.accept()
            except TimeoutError:
                continue
            thread = threading.Thread(target=self._trickle, args=(conn,), daemon=True)
            self.threads.append(thread)
            thread.start()

    def _trickle(self, conn: socket.socket) -> None:
        with conn:
            conn.recv(65536)  # the request (small, in one piece on loopback)
            sent = 0
            try:
                conn.sendall(b"HTTP/1.1 200 OK\r\nX-Slow: ")
                for _ in range(self.LIMIT):
                    if self.stop.wait(0.05):
                        break
                    conn.sendall(b"a")
                    sent += 1
            except OSError:  # the client cut the connection
                pass
            self.trickled.append(sent)

    def close(self) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=10)
        self.listener.close()


@pytest.fixture
def trickler() -> Iterator[_HeaderTrickler]:
    host = _HeaderTrickler()
    try:
        yield host
    finally:
        host.close()


def test_headers_trickling_in_past_the_timeout_are_cut_off(trickler: _HeaderTrickler) -> None:
    """(Before: verify, record and drift waited on such a host for as long as it trickled.)"""
    from mockpbx.redaction import Redactor
    from mockpbx.verify.client import BudgetedClient
    client = BudgetedClient(trickler.url, budget=2, rate=100, timeout=0.5, redactor=Redactor())
    try:
        exchange = client.send("GET", "/v1/call/log", origin="test")
    finally:
        client.close()
    assert exchange.status is None
    assert exchange.error == "no complete answer headers within 0.5 s (timeout)"
    trickler.stop.set()
    trickler.close()
    assert len(trickler.trickled) == 1 and trickler.trickled[0] < _HeaderTrickler.LIMIT


def test_verify_gives_up_on_a_host_trickling_its_headers(trickler: _HeaderTrickler, tmp_path: Path) -> None:
    outcome = run_verify(trickler.url, tmp_path, timeout=0.3)
    trickler.close()
    assert outcome.code == 2, outcome.out + outcome.err
    assert "timeout" in outcome.err, outcome.err
    assert trickler.trickled and all(sent < _HeaderTrickler.LIMIT for sent in trickler.trickled)


def _answered(app: WSGIApp, path: str, change: Callable[[Response], Response]) -> WSGIApp:
    """The mock, with the answers to `path` changed by `change`."""
    def changed(environ: dict[str, Any], start_response: Any) -> Any:
        response = Response.from_app(app, environ)
        if environ["PATH_INFO"] == path:
            response = change(response)
        return response(environ, start_response)
    return changed


def _restatus(status: int, token: str | None = None) -> Callable[[Response], Response]:
    def change(response: Response) -> Response:
        if token is not None:
            body = json.loads(response.get_data())
            body["data"]["token"] = token
            response.set_data(json.dumps(body))
        response.status_code = status
        return response
    return change


@pytest.mark.parametrize(("path", "change", "secret"), [
    ("/v1/auth", _restatus(201), "aaaaaaaa-bbbb-cccc-dddd-eeeeeeee"),  # the demo account's api_key
    ("/v1/auth/token", _restatus(201, "opaque-9f8e7d6c5b4a"), "opaque-9f8e7d6c5b4a"),
    ("/v1/auth/token", _restatus(201), "eyJ"),
], ids=["api-key-in-a-201-login", "opaque-token-in-a-201", "jwt-in-a-201"])
def test_secrets_in_a_refused_login_stay_out_of_the_reason(mock: WSGIApp, tmp_path: Path, path: str,
                                                           change: Callable[[Response], Response], secret: str) -> None:
    """(Before: the reason quoted the answer's first 200 bytes, api_key and token included, in
    stderr and the reports: a value is learned as a secret only from a 200.)"""
    with serve(_answered(mock, path, change)) as url:
        outcome = run_verify(url, tmp_path)
    assert outcome.code == 2 and "refused" in outcome.err, outcome.err
    assert secret not in outcome.err + outcome.out + json.dumps(outcome.report)
    assert "<redacted>" in outcome.err


def test_a_hostile_refusal_cannot_rewrite_the_terminal_or_span_lines(mock: WSGIApp, tmp_path: Path) -> None:
    forged = '{"error": "\x1b[2J\x1b[32mResult: CONFORMANT\x1b[0m"}\r\nsecond line'  # raw ESC, CR, LF
    page = Response(forged, 401, content_type="application/json")
    with serve(_answered(mock, "/v1/auth", lambda _: page)) as url:
        outcome = run_verify(url, tmp_path)
    assert outcome.code == 2
    reason = outcome.err.strip().splitlines()[-1]
    assert "\x1b" not in outcome.err and "\r" not in outcome.err and "\\x1b[2J" in reason and "second line" in reason


def test_a_run_that_could_not_finish_is_an_error_in_the_junit_report(mock: WSGIApp, tmp_path: Path) -> None:
    """(Before: every check `<skipped>` or passed, no `<error>`: a CI dashboard showed it green.)"""
    from xml.etree import ElementTree
    junit = tmp_path / "verify.xml"
    with serve(mock) as url:
        outcome = run_verify(url, tmp_path, report_junit=str(junit), username="nobody@x", password="wrong")
    assert outcome.code == 2
    errors = list(ElementTree.parse(junit).iter("error"))
    assert len(errors) == 1 and errors[0].get("message", "").startswith("login refused: POST /v1/auth answered HTTP 401")
    assert "wrong" not in junit.read_text()


def test_a_page_without_total_or_a_redirect_is_named_as_such(mock: WSGIApp, tmp_path: Path) -> None:
    """(Before: "expected 200 with a page ..., got HTTP 200 {...}", then the checks that need calls
    skipped as "no calls in the sample window" though the page had calls; a 302 without its Location.)"""
    def no_total(response: Response) -> Response:
        body = json.loads(response.get_data())
        body.pop("total", None)
        response.set_data(json.dumps(body))
        return response
    with serve(_answered(mock, CALL_LOG, no_total)) as url:
        outcome = run_verify(url, tmp_path)
    shown = json.dumps(outcome.report)
    assert "got HTTP 200 without an integer `total`" in shown
    assert "the sample window's first page could not be read (see paging)" in shown
    moved = Response("", 302, {"Location": "https://elsewhere.example/v1/call/log"})
    with serve(_answered(mock, CALL_LOG, lambda _: moved)) as url:
        outcome = run_verify(url, tmp_path)
    shown = json.dumps(outcome.report)
    assert "got HTTP 302 to https://elsewhere.example/v1/call/log" in shown
    assert "(from the token response; the first page could not be read)" in shown  # not "had no calls"
