"""The call log's one path in front of Flask: byte-identical pages, Flask's query parsing, faults, journal."""

from __future__ import annotations

import http.client
import json
import urllib.error
from urllib.parse import urlencode

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from werkzeug.test import EnvironBuilder

from mockpbx.clock import ControllableClock
from mockpbx.domain.calllog import CallLog
from mockpbx.domain.calls import Call
from mockpbx.domain.encoding import call_encoder, reference_fields
from mockpbx.domain.errors import InvalidRequestError
from mockpbx.domain.tokens import Principal
from mockpbx.domain.window import Page, Window
from mockpbx.testing import MockPBX
from mockpbx.web.calllog import query_args
from tests.conftest import DEMO_DOMAIN, call_log, token_for

LAST_30 = {"start_date": "2026-10-28 12:00:00", "end_date": "2026-11-27 12:00:00"}
ODD = [  # strings json.dumps must escape, or keeps as they are (ensure_ascii=False)
    {"source": 'quo"te\\back', "destination": "số điện thoại 😀", "start_time": "2021-06-02T00:00:00Z",
     "duration": 5},
    {"source": "0899123456", "destination": "\u2028line\tsep\x01", "start_time": "2021-06-02T00:00:00Z",
     "duration": 0, "amount": 0},
]


def reference_body(app: Flask, query: dict[str, str]) -> bytes:
    """The page as the domain computes it, serialised from scratch with json.dumps."""
    service = app.extensions["mockpbx"].sync()
    return service.list_calls(Principal("u", DEMO_DOMAIN), query).reference_bytes()  # type: ignore[no-any-return]


@hypothesis_settings(max_examples=60, deadline=None,  # the app is only read: one for every example
                     suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(back=st.integers(0, 40 * 86400), days=st.integers(0, 31), offset=st.integers(0, 5000),
       limit=st.integers(1, 1000), source=st.sampled_from(["", "0899123456", "02873001234", "nobody"]))
def test_pages_are_byte_identical_to_the_reference_serialiser(app: Flask, bearer: dict[str, str], back: int,
                                                              days: int, offset: int, limit: int,
                                                              source: str) -> None:
    from datetime import datetime, timedelta
    end = datetime(2026, 11, 27, 12, 0, 0) - timedelta(seconds=back)
    query = {"start_date": (end - timedelta(days=days)).strftime("%Y-%m-%d %H:%M:%S"),
             "end_date": end.strftime("%Y-%m-%d %H:%M:%S"), "limit": str(limit), "offset": str(offset)}
    if source:
        query["source"] = source
    response = app.test_client().get("/v1/call/log?" + urlencode(query), headers=bearer)
    assert response.status_code == 200
    assert response.get_data() == reference_body(app, query)


def test_calls_with_odd_strings_are_encoded_as_json_dumps_does(client: FlaskClient, app: Flask,
                                                               bearer: dict[str, str]) -> None:
    assert client.post("/_mock/calls", json={"domain_uuid": DEMO_DOMAIN, "calls": ODD}).status_code == 201
    query = {"start_date": "2021-06-01 00:00:00", "end_date": "2021-06-30 00:00:00"}
    response = call_log(client, bearer, **query)
    assert response.get_data() == reference_body(app, query)
    assert {c["destination"] for c in response.get_json()["data"]} >= {"số điện thoại 😀", "\u2028line\tsep\x01"}


def test_a_profile_encoder_shapes_every_call_of_the_page() -> None:
    def with_id(call: Call) -> dict[str, object]:
        return {"id": f"{call.source}-{call.start_time}", **reference_fields(call)}

    log = CallLog(ControllableClock(start=0, frozen=True), encode=call_encoder(with_id))
    log.add_calls("d", [Call(10, 5, "a", "b", 1), Call(20, 6, "a", "c", 2)])
    page = log.query("d", Window(0, 100), None, Page(10, 0))
    assert page.to_bytes() == page.reference_bytes(with_id)
    assert json.loads(page.to_bytes())["data"][0]["id"] == "a-20"


@hypothesis_settings(max_examples=300, deadline=None)
@given(st.text(alphabet="ab=&+%2F3Aé;x0 ", max_size=40))
def test_query_values_are_parsed_as_flask_parses_them(query: str) -> None:
    environ = EnvironBuilder(query_string=query).get_environ()
    from werkzeug.wrappers import Request
    expected = Request(environ).args
    repeated = [n for n in ("start_date", "end_date", "source", "limit", "offset") if len(expected.getlist(n)) > 1]
    if repeated:
        with pytest.raises(InvalidRequestError, match=f"{repeated[0]} must be given at most once"):
            query_args(environ)
    else:
        assert query_args(environ) == {name: expected[name] for name in expected}


@hypothesis_settings(max_examples=300, deadline=None)
@given(st.text(alphabet="ab=&+%2F3Aé;x0 :", max_size=40))
def test_query_pairs_are_parse_qsl_pairs(query: str) -> None:
    # The access log's redaction and coverage read queries with this (decoded whole when only
    # `+` and `%3A` need decoding, else field by field): the same pairs as urllib's.
    from urllib.parse import parse_qsl

    from mockpbx.querystring import query_pairs
    assert query_pairs(query) == parse_qsl(query, keep_blank_values=True)


def test_head_trailing_slash_and_other_methods(client: FlaskClient, bearer: dict[str, str]) -> None:
    got = call_log(client, bearer, **LAST_30)
    head = client.head("/v1/call/log", query_string=LAST_30, headers=bearer)
    assert head.status_code == 200 and head.get_data() == b""
    assert head.headers["Content-Length"] == str(len(got.get_data()))
    slash = client.get("/v1/call/log/", query_string=LAST_30, headers=bearer)
    assert slash.get_data() == got.get_data()
    unauthorised = client.get("/v1/call/log/", query_string=LAST_30)
    assert unauthorised.status_code == 401 and "WWW-Authenticate" in unauthorised.headers
    post = client.post("/v1/call/log", headers=bearer)
    assert post.status_code == 405 and set(post.headers["Allow"].split(", ")) == {"GET", "HEAD"}


def test_a_repeated_query_sees_control_changes_and_the_clock_within_the_same_second(
        client: FlaskClient, clock: ControllableClock, bearer: dict[str, str]) -> None:
    query = {"start_date": "2021-06-01 00:00:00", "end_date": "2021-06-30 00:00:00"}
    before = call_log(client, bearer, **query).get_json()["total"]
    assert call_log(client, bearer, **query).get_json()["total"] == before  # answered from the memo
    client.post("/_mock/calls", json={"domain_uuid": DEMO_DOMAIN, "calls": ODD[:1]})
    assert call_log(client, bearer, **query).get_json()["total"] == before + 1
    window = {"start_date": "2026-11-27 11:00:00", "end_date": "2026-11-27 18:00:00"}
    seen = call_log(client, bearer, **window).get_json()["total"]
    clock.set(clock.now() + 6 * 3600)  # six hours of generated calls become visible
    fresh = {"Authorization": f"Bearer {token_for(client)}"}  # the first token has expired by then
    assert call_log(client, fresh, **window).get_json()["total"] > seen


def test_faults_and_journal_apply_to_every_call_log_request(client: FlaskClient, bearer: dict[str, str]) -> None:
    client.delete("/_mock/requests")
    for kind in ("malformed", "delay"):
        client.post("/_mock/faults", json={"method": "GET", "path": "/v1/call/log", "kind": kind, "times": 1})
        response = call_log(client, bearer, **LAST_30)
        assert response.status_code == 200
        if kind == "malformed":
            with pytest.raises(json.JSONDecodeError):
                json.loads(response.get_data())
    client.post("/_mock/faults", json={"path": "/v1/call/*", "status": 418, "body": {"no": 1}, "times": 1})
    assert call_log(client, bearer, **LAST_30).get_json() == {"no": 1}
    body = client.get("/v1/call/log", query_string=LAST_30, headers=bearer, json={"why": "a GET body"})
    assert body.status_code == 200
    assert call_log(client, {}, **LAST_30).status_code == 401
    entries = [e for e in client.get("/_mock/requests").get_json()["data"] if e["path"] == "/v1/call/log"]
    assert [(e["status"], (e["fault"] or {}).get("kind")) for e in entries] == [
        (200, "malformed"), (200, "delay"), (418, "error"), (200, None), (401, None)]
    assert entries[3]["body"] == {"why": "a GET body"}
    assert bearer["Authorization"].split()[1] not in json.dumps(entries)  # the token stays redacted


def test_a_drop_fault_cuts_a_call_log_request_over_the_wire(mockpbx: MockPBX) -> None:
    mockpbx.add_fault("GET", "/v1/call/log", kind="drop", times=1)
    with pytest.raises((http.client.RemoteDisconnected, http.client.IncompleteRead, urllib.error.URLError,
                        ConnectionError)):
        mockpbx.call_log("2021-06-01 00:00:00", "2021-06-30 00:00:00")
    assert mockpbx.call_log("2021-06-01 00:00:00", "2021-06-30 00:00:00").status == 200
    dropped, ok = mockpbx.requests("GET", "/v1/call/log")[-2:]
    assert dropped["status"] is None and dropped["fault"]["kind"] == "drop" and ok["status"] == 200


def test_a_query_string_that_is_not_utf8_is_a_400(client: FlaskClient, bearer: dict[str, str]) -> None:
    response = client.get("/v1/call/log", headers=bearer, environ_overrides={"QUERY_STRING": "start_date=\xff"})
    assert response.status_code == 400 and response.get_json() == {"error": "the query string must be UTF-8"}
