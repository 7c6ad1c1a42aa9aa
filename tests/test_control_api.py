"""The control API: reset, clock, accounts, calls, faults, journal, its token and its off switch."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from mockpbx.backend import build_backend
from mockpbx.clock import ControllableClock
from mockpbx.control.shared import SharedStore
from mockpbx.settings import Settings
from mockpbx.web.app import create_app

from tests.conftest import DEMO, DEMO_API_KEY, DEMO_DOMAIN, NOW, call_log, token_for

JUNE = {"start_date": "2021-06-01 00:00:00", "end_date": "2021-06-30 00:00:00"}
CALL = {"source": "0899123456", "destination": "0971234567", "start_time": "2021-06-10T03:00:00Z", "duration": 61}


@pytest.fixture(params=["memory", "shared"])
def app(request: pytest.FixtureRequest, settings: Settings, clock: ControllableClock,
        tmp_path: Path) -> Iterator[Flask]:
    """Every control test runs on both stores: one process's, and the one workers share."""
    if request.param == "memory":
        yield create_app(settings, clock=clock)
        return
    store = SharedStore.create(tmp_path / "state", NOW, frozen=True, journal_size=settings.journal_size)
    yield create_app(backend=build_backend(settings, clock=store.clock, store=store))  # type: ignore[arg-type]
    store.close()


def post(client: FlaskClient, path: str, body: object) -> tuple[int, dict]:  # type: ignore[type-arg]
    response = client.post(f"/_mock{path}", json=body)
    return response.status_code, response.get_json()


def test_clock_can_be_read_moved_set_and_frozen(client: FlaskClient) -> None:
    assert client.get("/_mock/clock").get_json() == {"now": "2026-11-27T05:00:00Z", "unix": NOW, "frozen": True}
    assert post(client, "/clock", {"advance_seconds": 90})[1]["unix"] == NOW + 90
    assert post(client, "/clock", {"now": "2030-01-01T07:00:00+07:00"})[1]["now"] == "2030-01-01T00:00:00Z"
    status, body = post(client, "/clock", {"frozen": False})
    assert status == 200 and body["frozen"] is False
    time.sleep(1.1)
    assert client.get("/_mock/clock").get_json()["unix"] >= body["unix"] + 1


@pytest.mark.parametrize("body, message", [
    ({}, "give advance_seconds, now or frozen"),
    ({"advance_seconds": 1, "now": "2030-01-01T00:00:00Z"}, "give advance_seconds or now, not both"),
    ({"advance_seconds": "10"}, "advance_seconds must be a number"),
    ({"advance_seconds": True}, "advance_seconds must be a number"),
    ({"now": "2030-01-01 00:00:00"}, "now must be an RFC 3339 time"),
    ({"now": "2030-02-30T00:00:00Z"}, "now is not a real date"),
    ({"frozen": "yes"}, "frozen must be true or false"),
    ({"advance_seconds": -NOW - 10}, "advance_seconds would put the clock at 1969-12-31T23:59:50Z; "
                                     "the mock's clock stays from 2000-01-01T00:00:00Z to 2100-01-01T00:00:00Z"),
    ({"now": "9999-12-30T00:00:00Z"}, "now would put the clock at 9999-12-30T00:00:00Z; the mock's clock stays from"),
    ({"now": "1970-02-01T00:00:00Z", "frozen": True}, "now would put the clock at 1970-02-01"),
    ({"advance_seconds": 75 * 365 * 86400}, "advance_seconds would put the clock at 2101-"),
    ([], "the request body must be a JSON object"),
])
def test_bad_clock_changes_are_400_and_change_nothing(client: FlaskClient, body: object, message: str) -> None:
    before = client.get("/_mock/clock").get_json()
    status, answer = post(client, "/clock", body)
    assert status == 400 and answer["error"].startswith(message)
    assert client.get("/_mock/clock").get_json() == before


def test_token_expiry_follows_the_clock(client: FlaskClient) -> None:
    headers = {"Authorization": f"Bearer {token_for(client)}"}
    assert call_log(client, headers, **JUNE).status_code == 200
    post(client, "/clock", {"advance_seconds": 3600})
    assert call_log(client, headers, **JUNE).get_json() == {"error": "token expired"}


def test_added_accounts_log_in_and_see_their_own_domain(client: FlaskClient) -> None:
    status, body = post(client, "/accounts", {"login": "new@acme.vn", "password": "pw", "level": "agent"})
    account = body["data"]
    assert status == 201 and account["login"] == "new@acme.vn" and account["username"] == "new"
    assert account["level"] == "agent" and account["domain_uuid"] != DEMO_DOMAIN and account["api_key"]
    login = client.post("/v1/auth", json={"username": "new@acme.vn", "password": "pw"}).get_json()["data"]
    assert login == {k: v for k, v in account.items() if k != "login"}
    headers = {"Authorization": f"Bearer {token_for(client, account['api_key'])}"}
    assert call_log(client, headers, **JUNE).get_json()["total"] == 0
    _, joined = post(client, "/accounts", {"login": "agent@test.tel4vn.com", "password": "pw",
                                           "domain_uuid": DEMO_DOMAIN, "api_key": "agent-key"})
    agent = {"Authorization": f"Bearer {token_for(client, 'agent-key')}"}
    assert call_log(client, agent, **JUNE).get_json()["total"] == 2  # the seed domain's June calls


def test_accounts_and_domains_are_listed_without_secrets(client: FlaskClient) -> None:
    post(client, "/accounts", {"login": "new@acme.vn", "password": "pw-new", "api_key": "key-new"})
    post(client, "/calls", {"username": "new@acme.vn", "calls": [CALL]})
    listed = client.get("/_mock/accounts").get_json()
    logins = {a["login"]: a for a in listed["data"]}
    assert set(logins) == {"foo@test.tel4vn.com", "bar@other.tel4vn.com", "new@acme.vn"}
    assert logins["foo@test.tel4vn.com"]["domain_uuid"] == DEMO_DOMAIN and logins["new@acme.vn"]["level"] == "user"
    domains = {d["domain_uuid"]: d for d in listed["domains"]}
    assert domains[DEMO_DOMAIN] == {"domain_uuid": DEMO_DOMAIN, "accounts": 1, "generated_traffic": True}
    assert domains[logins["new@acme.vn"]["domain_uuid"]]["generated_traffic"] is False
    text = json.dumps(listed)
    for secret in ("foo123", "bar123", "pw-new", "key-new", DEMO_API_KEY, "password", "api_key"):
        assert secret not in text


def test_accounts_are_bounded(client: FlaskClient, monkeypatch: pytest.MonkeyPatch) -> None:
    """Accounts added without ever resetting stop at a clear 409 (fixtures count); a reset makes room."""
    import mockpbx.backend
    held = len(client.get("/_mock/accounts").get_json()["data"])
    monkeypatch.setattr(mockpbx.backend, "MAX_ACCOUNTS", held + 1)
    assert post(client, "/accounts", {"login": "one@x", "password": "pw"})[0] == 201
    status, body = post(client, "/accounts", {"login": "two@x", "password": "pw"})
    assert status == 409 and body["error"] == (f"the mock holds {held + 1} accounts, the most there can be: "
                                               "reset it (POST /_mock/reset)")
    assert client.post("/v1/auth", json={"username": "two@x", "password": "pw"}).status_code == 401
    assert client.post("/_mock/reset").status_code == 200
    assert post(client, "/accounts", {"login": "two@x", "password": "pw"})[0] == 201


@pytest.mark.parametrize("body, status, message", [
    ({"password": "pw"}, 400, "login must be a non-empty string"),
    ({"login": "x@y", "password": ""}, 400, "password must be a non-empty string"),
    ({"login": "x@y", "password": "pw", "level": "god"}, 400, "level must be one of"),
    ({"login": "foo@test.tel4vn.com", "password": "pw"}, 409, "another account already has this login"),
    ({"login": "x@y", "password": "pw", "api_key": DEMO_API_KEY}, 409, "another account already has this api_key"),
])
def test_bad_accounts_are_refused(client: FlaskClient, body: object, status: int, message: str) -> None:
    got, answer = post(client, "/accounts", body)
    assert got == status and answer["error"].startswith(message)


def test_added_calls_are_served_at_once_in_order(client: FlaskClient, bearer: dict[str, str]) -> None:
    calls = [CALL, {"source": "0899123456", "start_time": "2021-06-10T04:00:00Z",
                    "end_time": "2021-06-10T04:00:38Z", "destination": "02873001234"},
             {**CALL, "start_time": "2021-06-10T03:00:00Z", "amount": 7}]
    status, body = post(client, "/calls", {"domain_uuid": DEMO_DOMAIN, "calls": calls})
    assert status == 201 and body == {"added": 3, "domain_uuid": DEMO_DOMAIN}
    page = call_log(client, bearer, **JUNE).get_json()
    assert page["total"] == 5
    assert [c["start_time"] for c in page["data"][:3]] == ["2021-06-10T04:00:00Z", "2021-06-10T03:00:00Z",
                                                          "2021-06-10T03:00:00Z"]
    newest, tie_later, tie_earlier = page["data"][:3]
    assert newest["duration"] == 38 and newest["amount"] == 285  # fixed line: 450 VND/min
    assert tie_later["amount"] == 7 and tie_earlier["amount"] == 813  # the later-added call first on a tie


def test_calls_by_username_and_errors_that_add_nothing(client: FlaskClient, bearer: dict[str, str]) -> None:
    assert post(client, "/calls", {"username": "foo@test.tel4vn.com", "calls": [CALL]})[0] == 201
    status, body = post(client, "/calls", {"domain_uuid": DEMO_DOMAIN,
                                           "calls": [CALL, {**CALL, "start_time": "yesterday"}]})
    assert status == 400 and body["error"].startswith("calls[1]: start_time must be an RFC 3339 time")
    assert call_log(client, bearer, **JUNE).get_json()["total"] == 3  # 2 fixtures + 1: nothing half-applied
    for bad, message in [({"calls": [CALL]}, "give exactly one of domain_uuid and username"),
                         ({"domain_uuid": "nope", "calls": [CALL]}, "domain_uuid: no account or data"),
                         ({"username": "nobody@x", "calls": [CALL]}, "username: no account logs in as"),
                         ({"domain_uuid": DEMO_DOMAIN, "calls": []}, "calls must be a non-empty list"),
                         # (Before: accepted; the call log then wrote an end_time in year 10000, or
                         # was a 500 under the revised profile.)
                         ({"domain_uuid": DEMO_DOMAIN, "calls": [{**CALL, "start_time": "9999-12-31T16:00:00Z",
                                                                  "duration": 604800}]},
                          "calls[0]: the call must end by 9999-12-31T23:59:59Z"),
                         ({"domain_uuid": DEMO_DOMAIN, "calls": [{**CALL, "start_time": "9999-12-31T23:59:59-05:00"}]},
                          "calls[0]: the call must end by 9999-12-31T23:59:59Z")]:
        status, body = post(client, "/calls", bad)
        assert status == 400 and body["error"].startswith(message)


def test_the_mock_holds_a_bounded_number_of_explicit_calls(client: FlaskClient, bearer: dict[str, str],
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """Calls added without ever resetting meet a clear 409 at the bound (fixtures count too), and
    a reset makes room again; a refused addition adds nothing. (Before: no bound: 1.2 million
    added calls held 887 MB and took 3 s per addition.)"""
    import mockpbx.backend
    fixtures = client.application.extensions["mockpbx"].sync().calls.explicit_count()
    assert fixtures >= 2  # the two of June in the demo domain, and others
    monkeypatch.setattr(mockpbx.backend, "MAX_EXPLICIT_CALLS", fixtures + 3)
    assert post(client, "/calls", {"domain_uuid": DEMO_DOMAIN, "calls": [CALL, CALL, CALL]})[0] == 201
    status, body = post(client, "/calls", {"domain_uuid": DEMO_DOMAIN, "calls": [CALL]})
    assert status == 409 and body["error"] == (
        f"the mock holds {fixtures + 3} calls from fixtures and the control API and keeps at most {fixtures + 3}: "
        "reset it (POST /_mock/reset), or generate traffic (--calls-per-day) for volume")
    assert call_log(client, bearer, **JUNE).get_json()["total"] == 5
    assert client.post("/_mock/reset").status_code == 200
    assert post(client, "/calls", {"domain_uuid": DEMO_DOMAIN, "calls": [CALL, CALL, CALL]})[0] == 201


def test_error_faults_with_headers_and_times(client: FlaskClient, bearer: dict[str, str]) -> None:
    status, body = post(client, "/faults", {"method": "GET", "path": "/v1/call/log", "status": 503,
                                            "headers": {"Retry-After": "2"}, "times": 2})
    assert status == 201 and body["data"]["kind"] == "error"
    for _ in range(2):
        response = call_log(client, bearer, **JUNE)
        assert response.status_code == 503 and response.headers["Retry-After"] == "2"
        assert response.get_json() == {"error": f"injected fault {body['data']['id']}"}
    assert call_log(client, bearer, **JUNE).status_code == 200
    assert client.get("/_mock/faults").get_json() == {"data": []}


def test_fault_rules_are_bounded(client: FlaskClient, monkeypatch: pytest.MonkeyPatch) -> None:
    """Rules added and never cleared stop at a clear 409 (each is matched on every request, and may
    carry a body up to the body limit); clearing one makes room. (Before: no bound.)"""
    import mockpbx.control.faults
    monkeypatch.setattr(mockpbx.control.faults, "MAX_FAULTS", 3)
    ids = [post(client, "/faults", {"path": f"/nowhere/{n}"})[1]["data"]["id"] for n in range(3)]
    status, body = post(client, "/faults", {"path": "/nowhere/4"})
    assert status == 409 and body["error"] == ("3 fault rules are active, the most there can be: clear some "
                                               "(DELETE /_mock/faults, or /_mock/faults/<id>) or give rules `times`")
    assert len(client.get("/_mock/faults").get_json()["data"]) == 3
    assert client.delete(f"/_mock/faults/{ids[0]}").status_code == 200
    assert post(client, "/faults", {"path": "/nowhere/4"})[0] == 201


def test_fault_bodies_wildcards_listing_and_clearing(client: FlaskClient) -> None:
    post(client, "/faults", {"path": "/v1/auth*", "status": 429, "body": {"message": "slow down"}})
    assert client.post("/v1/auth/token", json={"api_key": DEMO_API_KEY}).get_json() == {"message": "slow down"}
    assert client.post("/v1/auth", json=DEMO).status_code == 429
    assert client.get("/_mock/clock").status_code == 200  # controls are never affected
    listed = client.get("/_mock/faults").get_json()["data"]
    assert len(listed) == 1 and listed[0]["times"] is None
    assert client.delete("/_mock/faults").get_json() == {"removed": 1}
    assert client.post("/v1/auth", json=DEMO).status_code == 200
    assert client.delete("/_mock/faults/99").status_code == 404


def test_delay_and_malformed_faults(client: FlaskClient) -> None:
    post(client, "/faults", {"method": "POST", "path": "/v1/auth", "kind": "delay", "delay_ms": 300, "times": 1})
    started = time.perf_counter()
    assert client.post("/v1/auth", json=DEMO).status_code == 200
    assert time.perf_counter() - started >= 0.3
    post(client, "/faults", {"method": "POST", "path": "/v1/auth", "kind": "malformed", "times": 1})
    response = client.post("/v1/auth", json=DEMO)
    assert response.status_code == 200 and response.mimetype == "application/json"
    with pytest.raises(json.JSONDecodeError):
        json.loads(response.get_data())


@pytest.mark.parametrize("body, message", [
    ({"method": "GET"}, "path must be a path starting with /"),
    ({"path": "v1/auth"}, "path must be a path starting with /"),
    ({"path": "/v1/auth", "kind": "explode"}, "kind must be one of"),
    ({"path": "/v1/auth", "kind": ""}, "kind must be one of"),
    ({"path": "/v1/auth", "status": 99}, "status must be an HTTP status from 200 to 599"),
    ({"path": "/v1/auth", "status": "503"}, "status has the wrong type"),
    ({"path": "/v1/auth", "delay_ms": 60001}, "delay_ms must be from 0 to 60000"),
    ({"path": "/v1/auth", "times": 0}, "times must be from 1 to 2147483647"),
    # (Before: 201 in one process, a 500 in the store workers share, which keeps a 64-bit integer.)
    ({"path": "/v1/auth", "times": 2**63}, "times must be from 1 to 2147483647"),
    ({"path": "/v1/auth", "method": "BREW"}, "method must be one of"),
    ({"path": "/v1/auth", "headers": {"X": ["a"]}}, "headers must map header names to strings"),
])
def test_bad_faults_name_the_field(client: FlaskClient, body: object, message: str) -> None:
    status, answer = post(client, "/faults", body)
    assert status == 400 and answer["error"].startswith(message)
    assert client.get("/_mock/faults").get_json() == {"data": []}


def test_journal_records_requests_newest_last_with_secrets_redacted(client: FlaskClient) -> None:
    client.post("/v1/auth", json=DEMO)
    token = token_for(client)
    call_log(client, {"Authorization": f"Bearer {token}"}, **JUNE, source="0899123456")
    client.get("/nope")
    text = client.get("/_mock/requests").get_data(as_text=True)
    for secret in ("foo123", DEMO_API_KEY, token):
        assert secret not in text
    entries = json.loads(text)["data"]
    assert [(e["method"], e["path"], e["status"]) for e in entries] == [
        ("POST", "/v1/auth", 200), ("POST", "/v1/auth/token", 200), ("GET", "/v1/call/log", 200), ("GET", "/nope", 404)]
    assert entries[0]["body"] == {"username": "foo@test.tel4vn.com", "password": "<redacted>"}
    assert entries[2]["headers"]["Authorization"] == "Bearer <redacted>"
    assert entries[2]["query"] == {**{k: [v] for k, v in JUNE.items()}, "source": ["0899123456"]}
    assert entries[2]["duration_ms"] >= 0 and entries[2]["time"] == "2026-11-27T05:00:00.000Z"
    assert [e["path"] for e in client.get("/_mock/requests?method=post").get_json()["data"]] == [
        "/v1/auth", "/v1/auth/token"]
    assert client.get("/_mock/requests?path=/v1/auth*").get_json()["total"] == 2
    client.delete("/_mock/requests")
    assert client.get("/_mock/requests").get_json() == {"data": [], "total": 0}


def test_journal_is_bounded(clock: ControllableClock) -> None:
    client = create_app(Settings.load({}, days=0, journal_size=5), clock=clock).test_client()
    for index in range(8):
        client.get(f"/x{index}")
    assert [e["path"] for e in client.get("/_mock/requests").get_json()["data"]] == [f"/x{i}" for i in range(3, 8)]


def test_reset_restores_the_start_up_state(client: FlaskClient, bearer: dict[str, str]) -> None:
    post(client, "/accounts", {"login": "new@acme.vn", "password": "pw", "api_key": "new-key"})
    post(client, "/calls", {"domain_uuid": DEMO_DOMAIN, "calls": [CALL]})
    post(client, "/faults", {"path": "/healthz", "status": 500})
    post(client, "/clock", {"advance_seconds": 86400, "frozen": False})
    new_token = token_for(client, "new-key")
    assert client.post("/_mock/reset", json={}).get_json() == {"status": "reset"}
    assert client.get("/_mock/clock").get_json() == {"now": "2026-11-27T05:00:00Z", "unix": NOW, "frozen": True}
    assert client.get("/_mock/faults").get_json()["data"] == [] and client.get("/healthz").status_code == 200
    assert client.post("/v1/auth/token", json={"api_key": "new-key"}).status_code == 401
    assert call_log(client, {"Authorization": f"Bearer {new_token}"}, **JUNE).status_code == 401
    assert call_log(client, bearer, **JUNE).get_json()["total"] == 2
    assert [e["path"] for e in client.get("/_mock/requests").get_json()["data"]] == [
        "/healthz", "/v1/auth/token", "/v1/call/log", "/v1/call/log"]


def test_a_control_token_guards_the_controls_only(clock: ControllableClock) -> None:
    client = create_app(Settings.load({}, days=0, control_token="ctl-secret"), clock=clock).test_client()
    assert client.get("/_mock/clock").status_code == 401
    assert client.get("/_mock/clock", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert client.get("/_mock/clock", headers={"Authorization": "Bearer ctl-secret"}).status_code == 200
    assert client.post("/v1/auth", json=DEMO).status_code == 200
    assert "ctl-secret" not in client.get("/_mock/requests", headers={"Authorization": "Bearer ctl-secret"}).get_data(
        as_text=True)


def test_controls_can_be_turned_off(clock: ControllableClock) -> None:
    client = create_app(Settings.load({"MOCKPBX_CONTROL": "false"}, days=0), clock=clock).test_client()
    for method, path in [("GET", "/_mock/clock"), ("POST", "/_mock/reset"), ("GET", "/_mock/requests")]:
        response = client.open(path, method=method)
        assert response.status_code == 404 and response.get_json() == {"error": f"not found: {path}"}
    assert client.post("/v1/auth", json=DEMO).status_code == 200


@pytest.mark.parametrize("method, path", [
    ("GET", "/_mock/reset"), ("DELETE", "/_mock/clock"), ("GET", "/_mock/no-such-thing"), ("GET", "/_mock"),
    ("POST", "/_mock/faults"), ("PUT", "/_mock/requests"), ("GET", "/_mock/openapi.json"),
])
def test_without_the_control_token_every_control_request_is_401_first(clock: ControllableClock, method: str,
                                                                       path: str) -> None:
    client = create_app(Settings.load({}, days=0, control_token="ctl-secret"), clock=clock).test_client()
    response = client.open(path, method=method, data=b"not json", headers={"Content-Type": "text/plain"})
    assert response.status_code == 401, response.get_data(as_text=True)
    assert "control token" in response.get_json()["error"]
    assert client.get("/_mock/nothing", headers={"Authorization": "Bearer ctl-secret"}).status_code == 404
    assert client.get("/_mock/reset", headers={"Authorization": "Bearer ctl-secret"}).status_code == 405


@pytest.mark.parametrize("body, message", [
    ({"path": "/v1/auth", "status": 100}, "status must be an HTTP status from 200 to 599"),
    ({"path": "/v1/auth", "status": 199}, "status must be an HTTP status from 200 to 599"),
    ({"path": "/v1/auth", "headers": {"Transfer-Encoding": "chunked"}}, "headers must not set Transfer-Encoding"),
    ({"path": "/v1/auth", "headers": {"content-LENGTH": "3"}}, "headers must not set content-LENGTH"),
    ({"path": "/v1/auth", "headers": {"Retry-After": "1", "CONNECTION": "close"}}, "headers must not set CONNECTION"),
    ({"path": "/v1/auth", "headers": ["X"]}, "headers has the wrong type"),
])
def test_faults_no_server_can_serve_are_refused(client: FlaskClient, body: object, message: str) -> None:
    status, answer = post(client, "/faults", body)
    assert status == 400 and answer["error"].startswith(message), answer
    assert client.get("/_mock/faults").get_json() == {"data": []}


def test_a_2xx_fault_with_ordinary_headers_is_served(client: FlaskClient) -> None:
    status, _ = post(client, "/faults", {"path": "/healthz", "status": 200, "body": {"ok": 1},
                                         "headers": {"X-Trace": "t", "Retry-After": "2"}})
    assert status == 201
    answer = client.get("/healthz")
    assert answer.status_code == 200 and answer.get_json() == {"ok": 1} and answer.headers["X-Trace"] == "t"


@pytest.mark.parametrize("path, body, message", [
    ("/accounts", {"login": "a@x", "password": "p", "apikey": "k"}, "unknown key 'apikey' (did you mean 'api_key'?)"),
    ("/faults", {"path": "/healthz", "status": 503, "time": 1}, "unknown key 'time' (did you mean 'times'?)"),
    ("/faults", {"path": "/healthz", "delay": 3000}, "unknown key 'delay' (did you mean 'delay_ms'?)"),
    ("/reset", {"x": 1}, "unknown key 'x' (known keys: coverage)"),
    ("/clock", {"frozen": True, "frozn": False}, "unknown key 'frozn' (did you mean 'frozen'?)"),
    ("/calls", {"domain": DEMO_DOMAIN, "calls": [CALL]}, "unknown key 'domain' (did you mean 'domain_uuid'?)"),
    ("/calls", {"domain_uuid": DEMO_DOMAIN, "calls": [{**CALL, "duraton": 5}]},
     "calls[0]: unknown key 'duraton' (did you mean 'duration'?)"),
    ("/accounts", {"login": "a@x", "password": "p" * 257}, "password must be at most 256 characters"),
    ("/calls", {"domain_uuid": DEMO_DOMAIN, "calls": [{**CALL, "source": "1" * 65}]},
     "calls[0]: source must be at most 64 characters"),
])
def test_a_control_request_with_a_key_or_value_it_cannot_use_is_400_naming_it(
        client: FlaskClient, path: str, body: object, message: str) -> None:
    """(Before: unknown keys were ignored, so a typo took a default (a permanent fault for `time`, a
    0 ms delay for `delay`); an account with a 300-character password was added that the API then
    refused at every login; a call whose source the `source` filter cannot take was kept.)"""
    before = client.get("/_mock/faults").get_json(), client.get("/_mock/accounts").get_json()
    status, answer = post(client, path, body)
    assert (status, answer["error"]) == (400, message)
    assert (client.get("/_mock/faults").get_json(), client.get("/_mock/accounts").get_json()) == before


def test_the_python_api_passes_mistakes_on_for_the_server_to_name() -> None:
    from mockpbx.testing import MockControlError, MockPBX
    with MockPBX(days=0) as pbx:
        with pytest.raises(MockControlError, match="did you mean 'times'"):
            pbx.add_fault("GET", "/healthz", status=503, time=1)
        with pytest.raises(MockControlError, match="give exactly one of domain_uuid and username"):
            pbx.add_calls([CALL], domain_uuid="nope", username="foo@test.tel4vn.com")
        with pytest.raises(MockControlError, match="domain_uuid"):
            pbx.add_calls([CALL], domain_uuid="")
        assert pbx.add_calls([CALL]) == 1  # the demo domain, by default
        assert pbx.request("GET", "/healthz").status == 200  # no fault was left behind


@pytest.mark.parametrize("headers", [{"Origin": "https://evil.example"}, {"Origin": "null"},
                                     {"Sec-Fetch-Site": "cross-site"}, {"Origin": "http://localhost:1"}])
def test_a_page_of_another_origin_cannot_change_the_mock(client: FlaskClient, headers: dict[str, str]) -> None:
    """(Before: `POST /_mock/reset` with a form's Content-Type and no body, which a page on any
    site can send without a CORS preflight, reset a developer's local mock.)"""
    client.post("/_mock/faults", json={"path": "/healthz", "status": 503})
    for method, path in [("POST", "/_mock/reset"), ("DELETE", "/_mock/faults"), ("POST", "/_mock/clock")]:
        answer = client.open(path, method=method, headers={**headers, "Content-Type": "text/plain"})
        assert answer.status_code == 403 and "another origin" in answer.get_json()["error"], (method, answer.data)
    assert len(client.get("/_mock/faults", headers=headers).get_json()["data"]) == 1  # reading is harmless
    same = {"Origin": "http://localhost", "Sec-Fetch-Site": "same-origin"}  # the dashboard's own requests
    assert client.delete("/_mock/faults", headers=same).status_code == 200
    assert client.post("/_mock/reset").status_code == 200  # clients that are not browsers send neither header


@pytest.mark.parametrize(("host", "taken"), [
    ("evil.example:8080", False), ("localhost:8080", True), ("127.0.0.1:8080", True), ("[::1]:8080", True),
    ("10.1.2.3", True), ("app.localhost", True), ("localhost", True)])
def test_from_a_browser_a_change_is_taken_only_by_an_address_or_localhost(client: FlaskClient, host: str,
                                                                          taken: bool) -> None:
    """DNS rebinding: a page whose own name now points at this machine is same-origin to the
    browser. (Before: `Host: evil.example` with a matching Origin reset the mock.)"""
    headers = {"Host": host, "Origin": f"http://{host}", "Sec-Fetch-Site": "same-origin"}
    answer = client.post("/_mock/reset", headers=headers)
    assert answer.status_code == (200 if taken else 403), answer.get_json()
    assert client.post("/_mock/reset", headers={"Host": host}).status_code == 200  # not a browser: as before


def test_sec_fetch_site_is_read_as_a_browser_sends_it_whatever_the_spacing(client: FlaskClient) -> None:
    assert client.post("/_mock/reset", headers={"Sec-Fetch-Site": "Cross-Site "}).status_code == 403


@pytest.mark.parametrize(("method", "path", "body", "message"), [
    ("GET", "/_mock/requests?metod=POST", None, "unknown query parameter 'metod' (did you mean 'method'?)"),
    ("POST", "/_mock/reset?coverage=true", {}, "unknown query parameter 'coverage' (it takes no query parameters)"),
    ("DELETE", "/_mock/faults", {"id": 1}, "DELETE /_mock/faults takes no body (one rule: DELETE /_mock/faults/<id>)"),
    ("POST", "/_mock/faults", {"path": "/x", "y" * 3000: 1}, "unknown key '" + "y" * 64 + "...' (known keys: "),
])
def test_what_a_control_endpoint_does_not_read_is_a_400(client: FlaskClient, method: str, path: str,
                                                        body: object, message: str) -> None:
    """(Before: ignored: `?metod=POST` listed the whole journal, `/reset?coverage=true` kept the
    coverage, `DELETE /faults {"id": 1}` removed every rule; an unknown key came back whole.)"""
    client.post("/_mock/faults", json={"path": "/healthz", "status": 503})
    answer = client.open(path, method=method, json=body)
    assert answer.status_code == 400 and answer.get_json()["error"].startswith(message), answer.get_json()
    assert len(client.get("/_mock/faults").get_json()["data"]) == 1
