"""The Python API for tests: MockPBX, against a server it starts or one that runs elsewhere."""

from __future__ import annotations

import http.client
import json
import urllib.error
from typing import Any

import pytest

from mockpbx.testing import MockControlError, MockPBX


def test_assert_requested_lists_similar_requests_when_it_fails(mockpbx: MockPBX) -> None:
    mockpbx.login()
    mockpbx.request("GET", "/v1/call/log", query={"start_date": "2021-06-01 00:00:00"})
    assert len(mockpbx.assert_requested("POST", "/v1/auth", times=1)) == 1
    with pytest.raises(AssertionError) as failure:
        mockpbx.assert_requested("GET", "/v1/auth")
    message = str(failure.value)
    assert message.startswith("expected GET /v1/auth at least once, saw it 0 time(s). Similar requests seen:")
    assert "POST /v1/auth -> 200" in message
    assert "GET /v1/call/log?start_date=2021-06-01+00%3A00%3A00 -> 401" in message


def test_a_drop_fault_closes_the_connection(mockpbx: MockPBX) -> None:
    mockpbx.add_fault("POST", "/v1/auth", kind="drop", times=1)
    with pytest.raises((http.client.RemoteDisconnected, urllib.error.URLError, ConnectionError)):
        mockpbx.login()
    assert mockpbx.login()["username"] == "foo"
    dropped, ok = mockpbx.requests("POST", "/v1/auth")
    assert dropped["status"] is None and dropped["fault"]["kind"] == "drop" and ok["status"] == 200


def test_a_malformed_fault_truncates_json_over_the_wire(mockpbx: MockPBX) -> None:
    mockpbx.add_fault("POST", "/v1/auth/token", kind="malformed", times=1)
    reply = mockpbx.request("POST", "/v1/auth/token", json_body={"api_key": mockpbx.account["api_key"]})
    assert reply.status == 200 and reply.body is None  # not decodable
    assert reply.headers["Content-Type"] == "application/json"


def test_clock_helpers(mockpbx: MockPBX) -> None:
    frozen = mockpbx.set_clock("2025-01-01T00:00:00Z", frozen=True)
    assert frozen.isoformat() == "2025-01-01T00:00:00+00:00" == mockpbx.now().isoformat()
    assert mockpbx.advance_clock(-60).isoformat() == "2024-12-31T23:59:00+00:00"


def test_connecting_to_a_running_server_with_a_control_token() -> None:
    with MockPBX(days=0, control_token="ctl") as started:
        remote = MockPBX(started.url, control_token="ctl")
        remote.add_calls([{"source": "s", "destination": "0971234567", "start_time": "2021-06-02T00:00:00Z",
                           "duration": 5}])
        assert remote.call_log("2021-06-01 00:00:00", "2021-06-30 00:00:00").body["total"] == 3
        with pytest.raises(MockControlError, match="401"):
            MockPBX(started.url).reset()
        assert json.dumps(remote.requests()).count("ctl") == 0


def test_in_process_fixtures_of_the_plugin(mockpbx_client: Any) -> None:
    response = mockpbx_client.post("/v1/auth", json={"username": "foo@test.tel4vn.com", "password": "foo123"})
    assert response.status_code == 200 and response.get_json()["data"]["level"] == "admin"


def test_a_port_that_cannot_be_had_is_an_exception_not_the_end_of_the_process() -> None:
    """(Before: werkzeug's SystemExit(1), which `except Exception` does not catch: a plugin session
    with a busy `port` in mockpbx_settings errored every test with it.)"""
    import socket

    from mockpbx.serving import StartupError
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        with pytest.raises(StartupError, match="in use"):
            MockPBX(port=busy.getsockname()[1]).start()
    with pytest.raises(StartupError):
        MockPBX(host="256.0.0.1").start()


def test_misuse_of_a_mockpbx_gets_errors_that_say_what_to_do() -> None:
    """(Before: `ValueError: unknown url type: '/_mock/clock'` before start, a raw `URLError` after
    stop, `TypeError: date.isoformat() takes no keyword arguments` for a date, "not JSON
    serializable" for a datetime in a call, and `'NoneType' object is not subscriptable` when a
    fault answered the token request with a 200 of another shape.)"""
    from datetime import date, datetime, timezone
    pbx = MockPBX(days=0)
    with pytest.raises(RuntimeError, match="not running: start"):
        pbx.now()
    with pbx:
        with pytest.raises(TypeError, match="an aware datetime or RFC 3339 text"):
            pbx.set_clock(date(2024, 1, 1))  # type: ignore[arg-type]
        with pytest.raises(TypeError, match="aware datetime"):
            pbx.set_clock(datetime(2024, 1, 1))
        start = datetime(2021, 6, 3, 2, 0, tzinfo=timezone.utc)
        assert pbx.add_calls([{"source": "0899123456", "destination": "0971234567", "start_time": start,
                               "duration": 30}]) == 1
        pbx.add_fault("POST", "/v1/auth/token", status=200, body={"ok": True}, times=1)
        with pytest.raises(MockControlError, match="token answered 200 without data.token"):
            pbx.token()
    with pytest.raises(RuntimeError, match="not running"):
        pbx.now()
