"""API coverage: every outcome of the catalogue made to happen once through a real server, and
seen in GET /_mock/coverage; counting that outlives the journal; clearing and reset."""

from __future__ import annotations

import http.client
import json
import socket
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests

from mockpbx.coverage.catalogue import build_catalogue
from mockpbx.profiles import get_profile, profile_names
from mockpbx.testing import MockPBX

CALLS, AUTH, TOKEN = "/v1/call/log", "/v1/auth", "/v1/auth/token"
DAY = {"start_date": "2026-11-26 00:00:00", "end_date": "2026-11-26 23:59:59"}
WEEK = {"start_date": "2026-11-20 00:00:00", "end_date": "2026-11-27 12:00:00"}
LOGIN = {"username": "foo@test.tel4vn.com", "password": "foo123"}
API_KEY = {"api_key": "aaaaaaaa-bbbb-cccc-dddd-eeeeeeee"}
SETTINGS = {"days": 10, "calls_per_day": 60, "seed": 5, "clock_start": "2026-11-27T12:00:00+07:00",
            "freeze_clock": True, "max_body_bytes": 2048, "body_timeout": 0.3}


@pytest.fixture(scope="module", params=profile_names())
def pbx(request: pytest.FixtureRequest) -> Iterator[MockPBX]:
    """A server per API profile: the catalogue follows the profile's contract."""
    with MockPBX(**SETTINGS, profile=request.param) as server:
        yield server


def send(pbx: MockPBX, method: str, path: str, **kwargs: Any) -> requests.Response:
    return requests.request(method, pbx.url + path, timeout=10, **kwargs)


def calls(pbx: MockPBX, token: str | None = None, headers: dict[str, str] | None = None,
          **query: Any) -> requests.Response:
    auth = headers if headers is not None else {"Authorization": f"Bearer {token or pbx.token()}"}
    return send(pbx, "GET", CALLS, params={**WEEK, **query}, headers=auth)


def expired(pbx: MockPBX) -> None:
    token = pbx.token()
    pbx.advance_clock(3600)
    calls(pbx, token)


def stalled(path: str) -> Callable[[MockPBX], None]:
    """A body that stops half-way: the server answers 408 once the body deadline passes."""
    def happen(pbx: MockPBX) -> None:
        host, port = urlsplit(pbx.url).hostname, urlsplit(pbx.url).port
        with socket.create_connection((host, port), timeout=10) as sock:
            sock.sendall(f"POST {path} HTTP/1.1\r\nHost: mock\r\nContent-Type: application/json\r\n"
                         "Content-Length: 40\r\n\r\n{\"api".encode())
            answer = b""
            while chunk := sock.recv(4096):
                answer += chunk
        assert answer.startswith(b"HTTP/1.1 408"), answer[:80]
    return happen


def faulted(path: str, method: str, **rule: Any) -> Callable[[MockPBX], None]:
    def happen(pbx: MockPBX) -> None:
        pbx.add_fault(method, path, times=1, **rule)
        body = None if method == "GET" else (LOGIN if path == AUTH else API_KEY)
        headers = {"Authorization": f"Bearer {pbx.token()}"} if method == "GET" else {}
        try:
            send(pbx, method, path, json=body, params=WEEK if method == "GET" else None, headers=headers)
        except requests.ConnectionError:
            assert rule.get("kind") == "drop"
    return happen


#: (operation, status, kind) -> one request that meets exactly that outcome.
SCENARIOS: dict[tuple[str, int | None, str], Callable[[MockPBX], Any]] = {
    ("POST /v1/auth", 200, ""): lambda p: send(p, "POST", AUTH, json=LOGIN),
    ("POST /v1/auth", 400, "request body not a JSON object"): lambda p: send(p, "POST", AUTH, json=[1]),
    ("POST /v1/auth", 400, "missing or invalid field"): lambda p: send(p, "POST", AUTH, json={"username": "x"}),
    ("POST /v1/auth", 401, "invalid username or password"):
        lambda p: send(p, "POST", AUTH, json={**LOGIN, "password": "wrong"}),
    ("POST /v1/auth", 408, ""): stalled(AUTH),
    ("POST /v1/auth", 413, ""): lambda p: send(p, "POST", AUTH, json={**LOGIN, "password": "x" * 4096}),
    ("POST /v1/auth", 415, ""): lambda p: send(p, "POST", AUTH, data="x", headers={"Content-Type": "text/plain"}),
    ("POST /v1/auth/token", 200, ""): lambda p: send(p, "POST", TOKEN, json=API_KEY),
    ("POST /v1/auth/token", 400, "request body not a JSON object"):
        lambda p: send(p, "POST", TOKEN, data="{", headers={"Content-Type": "application/json"}),
    ("POST /v1/auth/token", 400, "missing or invalid field"): lambda p: send(p, "POST", TOKEN, json={"api_key": 7}),
    ("POST /v1/auth/token", 401, "invalid api_key"): lambda p: send(p, "POST", TOKEN, json={"api_key": "nope"}),
    ("POST /v1/auth/token", 408, ""): stalled(TOKEN),
    ("POST /v1/auth/token", 413, ""): lambda p: send(p, "POST", TOKEN, json={"api_key": "x" * 4096}),
    ("POST /v1/auth/token", 415, ""): lambda p: send(p, "POST", TOKEN, data="api_key=x"),
    ("GET /v1/call/log", 200, ""): lambda p: calls(p, limit=1),
    ("GET /v1/call/log", 200, "page past the first"): lambda p: calls(p, offset=1, limit=1),
    ("GET /v1/call/log", 200, "empty page"): lambda p: calls(p, start_date="2020-01-01 00:00:00",
                                                            end_date="2020-01-02 00:00:00"),
    ("GET /v1/call/log", 200, "last partial page"): lambda p: calls(p, limit=1000),
    ("GET /v1/call/log", 200, "source filter"): lambda p: calls(p, source="0899123456", limit=1),
    ("GET /v1/call/log", 200, "window of exactly 31 days"):
        lambda p: calls(p, start_date="2026-10-27 12:00:00", end_date="2026-11-27 12:00:00", limit=1),
    ("GET /v1/call/log", 400, "date range must be in 31 days"):
        lambda p: calls(p, start_date="2026-10-27 11:59:59", end_date="2026-11-27 12:00:00"),
    ("GET /v1/call/log", 400, "start after end"): lambda p: calls(p, start_date="2026-11-28 00:00:00"),
    ("GET /v1/call/log", 400, "missing start_date or end_date"): lambda p: calls(p, end_date=""),
    ("GET /v1/call/log", 400, "bad start_date"): lambda p: calls(p, start_date="2026-02-30 00:00:00"),
    ("GET /v1/call/log", 400, "bad end_date"): lambda p: calls(p, end_date="tomorrow"),
    ("GET /v1/call/log", 400, "bad limit or offset"): lambda p: calls(p, limit=0),
    ("GET /v1/call/log", 400, "bad source or repeated parameter"): lambda p: calls(p, source="0" * 65),
    ("GET /v1/call/log", 401, "missing token"): lambda p: calls(p, headers={}),
    ("GET /v1/call/log", 401, "malformed Authorization header"):
        lambda p: calls(p, headers={"Authorization": "Basic Zm9vOmJhcg=="}),
    ("GET /v1/call/log", 401, "expired token"): expired,
    ("GET /v1/call/log", 401, "invalid token"): lambda p: calls(p, "not-a-token"),
}
for _path, _method, _operation in ((AUTH, "POST", "POST /v1/auth"), (TOKEN, "POST", "POST /v1/auth/token"),
                                   (CALLS, "GET", "GET /v1/call/log")):
    for _status in (429, 500, 503):
        SCENARIOS[(_operation, _status, "fault: error")] = faulted(_path, _method, status=_status)
    SCENARIOS[(_operation, None, "fault: delay")] = faulted(_path, _method, kind="delay", delay_ms=1)
    SCENARIOS[(_operation, None, "fault: drop")] = faulted(_path, _method, kind="drop")
    SCENARIOS[(_operation, None, "fault: malformed body")] = faulted(_path, _method, kind="malformed")


def counts(pbx: MockPBX) -> dict[tuple[str, int | None, str], int]:
    return {(o["operation"], o["status"], o["kind"]): o["count"] for o in pbx.coverage()["outcomes"]}


@pytest.mark.parametrize("profile", profile_names())
def test_every_outcome_of_the_catalogue_has_a_scenario_here(profile: str) -> None:
    catalogue = build_catalogue(get_profile(profile).contract())
    assert {(o.operation, o.status, o.kind) for o in catalogue.outcomes} == set(SCENARIOS)


@pytest.mark.parametrize("outcome", list(SCENARIOS), ids=lambda o: f"{o[0]} {o[1]} {o[2]}".strip())
def test_each_outcome_made_to_happen_once_is_counted_once(pbx: MockPBX, outcome: tuple[str, int | None, str]) -> None:
    pbx.reset(coverage=True)
    assert set(counts(pbx).values()) == {0}
    SCENARIOS[outcome](pbx)
    seen = counts(pbx)
    assert seen[outcome] == 1
    if outcome[2].startswith("fault:") and outcome[2] != "fault: delay":  # nothing else of that request counts
        operation = outcome[0]
        assert [k for k, n in seen.items() if n and k[0] == operation] == [outcome]


def test_a_request_meets_several_outcomes_and_repeats_add_up(pbx: MockPBX) -> None:
    pbx.reset(coverage=True)
    token = pbx.token()
    for _ in range(3):  # the second and third are answered by the fast path: still counted
        assert calls(pbx, token, offset=1, limit=1000).status_code == 200
    seen = counts(pbx)
    assert seen[("GET /v1/call/log", 200, "")] == 3
    assert seen[("GET /v1/call/log", 200, "page past the first")] == 3
    assert seen[("GET /v1/call/log", 200, "last partial page")] == 3
    assert seen[("GET /v1/call/log", 200, "empty page")] == 0
    report = pbx.coverage()
    assert report["exercised"] == 4 and report["total"] == len(SCENARIOS) == len(report["outcomes"])


def test_a_filter_sent_with_an_escaped_name_is_counted_as_a_filter_when_repeated(pbx: MockPBX) -> None:
    """The call log decodes parameter names (`%73ource` is `source`); so does coverage, both for a
    page it computed and for the same page answered again from the page memo (read from the query)."""
    pbx.reset(coverage=True)
    token = pbx.token()
    target = (f"{CALLS}?%73ource=0899123456&start%5Fdate=2026-11-20+00%3A00%3A00"
              "&end_date=2026-11-27+12%3A00%3A00&limit=1")  # sent as it is: requests would unescape it
    parts = urlsplit(pbx.url)
    for _ in range(3):  # the second and third come from the memo (the clock is frozen)
        connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=10)
        try:
            connection.request("GET", target, headers={"Authorization": f"Bearer {token}"})
            answer = connection.getresponse()
            status, page = answer.status, json.loads(answer.read())
        finally:
            connection.close()
        assert status == 200 and page["data"][0]["source"] == "0899123456"
    assert counts(pbx)[("GET /v1/call/log", 200, "source filter")] == 3


def test_a_body_refused_for_a_lone_surrogate_is_a_body_that_is_not_json() -> None:
    from mockpbx.coverage.counting import classify
    catalogue = build_catalogue(get_profile(profile_names()[0]).contract())
    message = ('{"error":"the request body is not valid JSON: it holds a \\\\uD800-\\\\uDFFF escape that is not '
               'half of a surrogate pair (no character)"}').encode()
    for body in (message, b'{"error":"the request body is not valid JSON"}'):
        slots = classify(catalogue, "POST", AUTH, 400, None, "", body)
        assert [catalogue.outcomes[i].kind for i in slots] == ["request body not a JSON object"], body


def test_an_operation_is_found_as_the_router_finds_it() -> None:
    """Leading slashes are one and a trailing slash is the same path (werkzeug's routing); a
    doubled slash inside is another path, which the contract does not declare."""
    catalogue = build_catalogue(get_profile(profile_names()[0]).contract())
    for path in ("/v1/auth", "//v1/auth", "///v1/auth/", "/v1/auth/"):
        found = catalogue.operation("POST", path)
        assert found is not None and found is catalogue.operation("POST", "/v1/auth"), path
    for path in ("/v1//auth", "/v1/auth//x", "v1/auth/x"):
        assert catalogue.operation("POST", path) is None, path


def test_paths_outside_the_contract_and_control_requests_count_nothing(pbx: MockPBX) -> None:
    pbx.reset(coverage=True)
    send(pbx, "GET", "/v1/nope")
    send(pbx, "DELETE", AUTH)
    send(pbx, "GET", "/healthz")
    pbx.requests()
    assert pbx.coverage()["exercised"] == 0


def test_reset_keeps_coverage_unless_asked_and_delete_clears_it(pbx: MockPBX) -> None:
    pbx.reset(coverage=True)
    pbx.token()
    pbx.reset()
    assert pbx.coverage()["exercised"] == 1
    assert send(pbx, "POST", "/_mock/reset", json={"coverage": False}).json() == {"status": "reset"}
    assert pbx.coverage()["exercised"] == 1
    assert send(pbx, "POST", "/_mock/reset").status_code == 200  # no body at all: kept too
    assert pbx.coverage()["exercised"] == 1
    pbx.reset(coverage=True)
    assert pbx.coverage()["exercised"] == 0
    pbx.token()
    assert send(pbx, "DELETE", "/_mock/coverage").json() == {"status": "cleared"}
    assert pbx.coverage()["exercised"] == 0


@pytest.mark.parametrize("body", [{"coverage": "yes"}, {"coverage": 1}, [True]])
def test_reset_refuses_a_bad_coverage_flag_and_changes_nothing(pbx: MockPBX, body: object) -> None:
    pbx.reset(coverage=True)
    pbx.token()
    reply = send(pbx, "POST", "/_mock/reset", json=body)
    assert reply.status_code == 400 and "error" in reply.json()
    assert pbx.coverage()["exercised"] == 1


def test_coverage_outlives_a_journal_that_has_wrapped() -> None:
    with MockPBX(**{**SETTINGS, "journal_size": 3}) as pbx:
        token = pbx.token()
        for offset in range(10):
            calls(pbx, token, offset=offset, limit=1)
        assert len(pbx.requests()) == 3
        seen = counts(pbx)
        assert seen[("GET /v1/call/log", 200, "")] == 10
        assert seen[("GET /v1/call/log", 200, "page past the first")] == 9
        assert seen[("POST /v1/auth/token", 200, "")] == 1


def test_the_control_token_guards_coverage() -> None:
    with MockPBX(**SETTINGS, control_token="s3cret") as pbx:
        for method in ("GET", "DELETE"):
            reply = send(pbx, method, "/_mock/coverage")
            assert reply.status_code == 401 and "control token" in reply.json()["error"]
        pbx.token()
        assert pbx.coverage()["exercised"] == 1  # MockPBX sends the token


def test_two_workers_count_every_request_once_past_a_wrapped_journal() -> None:
    from tests.test_serving import serve
    with serve("--workers", "2", "--journal-size", "5", "--clock-start", "2026-11-27T12:00:00+07:00",
               "--freeze-clock") as server:
        server.post("/_mock/reset", {"coverage": True})
        token = server.token()
        auth = {"Authorization": f"Bearer {token}"}
        sent = 0
        while sent < 40 or len(_pids(server.stderr_lines)) < 2 and sent < 400:
            # A new connection each time: the requests spread over the workers (until both have served).
            reply = server.get(CALLS, params={**WEEK, "offset": sent % 4, "limit": 1}, headers=auth)
            assert reply.status_code == 200
            sent += 1
        for _ in range(6):
            assert server.get(CALLS, params=WEEK).status_code == 401
        assert len(server.get("/_mock/requests").json()["data"]) == 5  # the journal wrapped
        seen = {(o["operation"], o["status"], o["kind"]): o["count"]
                for o in server.get("/_mock/coverage").json()["outcomes"]}
        assert seen[("POST /v1/auth/token", 200, "")] == 1
        past_first = sum(1 for i in range(sent) if i % 4)
        assert seen[("GET /v1/call/log", 200, "")] == sent
        assert seen[("GET /v1/call/log", 200, "page past the first")] == past_first
        assert seen[("GET /v1/call/log", 401, "missing token")] == 6
        assert sum(seen.values()) == 1 + sent + past_first + 6
        server.post("/_mock/reset", {})  # kept
        assert {server.get("/_mock/coverage").json()["exercised"] for _ in range(6)} == {4}
        assert requests.delete(server.url + "/_mock/coverage", timeout=10).status_code == 200
        assert {server.get("/_mock/coverage").json()["exercised"] for _ in range(6)} == {0}
        server.token()
        assert {server.get("/_mock/coverage").json()["exercised"] for _ in range(6)} == {1}
        server.post("/_mock/reset", {"coverage": True})
        assert {server.get("/_mock/coverage").json()["exercised"] for _ in range(6)} == {0}
    assert len(_pids(server.stderr_lines)) == 2, "both workers served requests"


def _pids(access_log: list[str]) -> set[int]:
    return {json.loads(line)["pid"] for line in list(access_log) if line.startswith("{")}


@pytest.mark.parametrize("kind", ["memory", "shared"])
def test_both_control_stores_count_and_keep_counts_through_a_reset(kind: str, tmp_path: Any) -> None:
    from mockpbx.clock import ControllableClock
    from mockpbx.control.shared import SharedStore
    from mockpbx.control.state import MemoryStore
    store: Any = (MemoryStore(ControllableClock(start=0, frozen=True)) if kind == "memory"
                  else SharedStore.create(tmp_path, 0.0, frozen=True))
    try:
        store.count_outcomes((0, 5))
        store.count_outcomes((5,))
        store.reset()
        assert store.outcome_counts()[:6] == [1, 0, 0, 0, 0, 2]
        store.clear_coverage()
        assert set(store.outcome_counts()) == {0}
        store.count_outcomes((255,))
        assert store.outcome_counts()[255] == 1 and sum(store.outcome_counts()) == 1
    finally:
        if kind == "shared":
            store.close()


def test_the_catalogue_follows_the_contract_it_is_given() -> None:
    contract = get_profile("reference").contract()
    del contract["paths"]["/v1/auth"]  # the vendor dropped login from its later docs
    contract["paths"]["/v1/call/log"]["get"]["responses"]["409"] = {"description": "Conflict."}
    outcomes = {(o.operation, o.status, o.kind) for o in build_catalogue(contract).outcomes}
    assert not any(operation == "POST /v1/auth" for operation, _, _ in outcomes)
    assert ("GET /v1/call/log", 409, "") in outcomes  # a documented status is an outcome of its own
    # 429 and 503 are documented, but the mock answers them only under an injected fault: one
    # outcome each, "fault: error", not a second plain-status one that could never be told apart
    assert ("GET /v1/call/log", 429, "fault: error") in outcomes
    assert ("GET /v1/call/log", 429, "") not in outcomes
    assert not any(operation in ("GET /healthz", "GET /openapi.json") for operation, _, _ in outcomes)


@pytest.mark.parametrize("query", [
    "start_date=2026-11-01+00%3A00%3A00&end_date=2026-12-02+00%3A00%3A00&source=0899123456",
    "start_date=2026-11-01%2000:00:00&end_date=2026-12-02%2000%3a00%3a00&source=",
    "source=%30%38%39&source=other&start_date=bad&end_date=2026-02-31+00%3A00%3A00",
    "end_date=2026-12-02+00:00:00&start_date=2026-11-01+00:00:00&x=%zz&source=+",
    "", "&&=&source", "start_date=2026-11-01+24%3A00%3A00&end_date=2026-12-02+00%3A00%3A00",
    # escaped names: the call log decodes them (query_args), so coverage must too
    "%73ource=0899123456&start%5Fdate=2026-11-01+00%3A00%3A00&end_date=2026-11-02+00%3A00%3A00",
    "sour%63e=&source=0899123456&end%5fdate=2026-11-02+00:00:00&start_date=2026-11-01+00:00:00",
])
def test_coverage_reads_the_query_as_parse_qs_does(query: str) -> None:
    """The per-request query reading of coverage (no parse_qs: it runs on every request) gives
    parse_qs's first values and the wall-clock window length the 31-day rule measures."""
    from datetime import datetime
    from urllib.parse import parse_qs

    from mockpbx.coverage.counting import _query_values, _window_seconds
    parsed = parse_qs(query, keep_blank_values=True)
    expected = {name: values[0] for name, values in parsed.items() if name in ("source", "start_date", "end_date")}
    assert _query_values(query) == expected
    try:
        moments = [datetime.strptime(expected[name], "%Y-%m-%d %H:%M:%S") for name in ("start_date", "end_date")]
        seconds: int | None = int((moments[1] - moments[0]).total_seconds())
    except (KeyError, ValueError):
        seconds = None
    assert _window_seconds(expected) == seconds


def test_a_computed_page_is_classified_from_its_facts_as_from_its_text() -> None:
    """The call-log endpoint hands coverage what it knows of a page it computed (PageFacts);
    for random windows (up to and at 31 days), offsets, limits and sources, the outcomes are
    those read from the query and the body's tail."""
    import random
    from datetime import datetime, timedelta
    from urllib.parse import quote, quote_plus, urlencode

    from mockpbx.backend import build_backend
    from mockpbx.coverage.counting import PageFacts, classify
    from mockpbx.settings import Settings
    from mockpbx.web.calllog import query_args

    backend = build_backend(Settings.load({}, **SETTINGS))
    service = backend.sync()
    principal = service.tokens.verify(service.issue_token(API_KEY).token)
    catalogue = backend.coverage.catalogue
    rnd = random.Random(7)
    end_of_data = datetime(2026, 11, 27, 12, 0, 0)
    seen: set[tuple[int, ...]] = set()
    for _ in range(600):
        end = end_of_data - timedelta(seconds=rnd.randrange(12 * 86400))
        length = rnd.choice([31 * 86400, 31 * 86400 - 1, rnd.randrange(31 * 86400), 0, 3600])
        query: dict[str, Any] = {"start_date": (end - timedelta(seconds=length)).strftime("%Y-%m-%d %H:%M:%S"),
                                 "end_date": end.strftime("%Y-%m-%d %H:%M:%S")}
        if rnd.random() < 0.7:
            query["limit"] = rnd.choice([1, 5, 10, 50, 1000])
        if rnd.random() < 0.7:
            query["offset"] = rnd.choice([0, 0, 1, 7, 40, 200, 5000])
        if rnd.random() < 0.3:
            query["source"] = rnd.choice(["", "0899123456", "0971234567", "100"])
        text = urlencode(query, quote_via=rnd.choice([quote_plus, quote]))
        args = query_args({"QUERY_STRING": text})
        page = service.list_calls(principal, args)
        body = page.to_bytes()
        assert page.filtered == bool(args.get("source")), text
        facts: PageFacts = page
        from_text = classify(catalogue, "GET", CALLS, 200, None, text, body)
        assert classify(catalogue, "GET", CALLS, 200, None, text, body, facts) == from_text, text
        seen.add(from_text)
    assert len(seen) >= 8  # the cases met: plain, next page, empty, last partial, filter, 31 days, mixes
