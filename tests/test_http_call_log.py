"""The call log over HTTP: auth, the 31-day rule, paging, filters, tenants, formats."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import jwt
import pytest
from flask.testing import FlaskClient

from mockpbx.clock import ControllableClock
from mockpbx.domain.tokens import signing_key

from tests.conftest import OTHER_API_KEY, call_log, token_for
from tests.contract import assert_conforms

VN = ZoneInfo("Asia/Ho_Chi_Minh")
SAMPLES = [
    {"amount": 285, "destination": "0123456789", "duration": 38, "end_time": "2021-06-04T12:13:37Z",
     "source": "0899123456", "start_time": "2021-06-04T12:12:59Z"},
    {"amount": 1600, "destination": "0123456789", "duration": 120, "end_time": "2021-06-01T13:04:13Z",
     "source": "0899123456", "start_time": "2021-06-01T13:02:13Z"},
]
LAST_30 = {"start_date": "2026-10-28 12:00:00", "end_date": "2026-11-27 12:00:00"}


def test_the_seed_sample_calls(client: FlaskClient, bearer: dict[str, str]) -> None:
    response = call_log(client, bearer, start_date="2021-06-01 00:00:00", end_date="2021-06-05 23:59:59")
    assert response.get_json() == {"data": SAMPLES, "limit": 10, "offset": 0, "total": 2}
    assert_conforms("listCalls", response)


def test_the_reference_window_of_one_day_in_local_time(client: FlaskClient, bearer: dict[str, str]) -> None:
    body = call_log(client, bearer, start_date="2021-06-01 00:00:00", end_date="2021-06-01 23:59:59").get_json()
    assert body["data"] == [SAMPLES[1]]  # 13:02Z is 20:02 in Vietnam; 06-04 is outside
    edge = call_log(client, bearer, start_date="2021-06-01 20:02:13", end_date="2021-06-01 20:02:13").get_json()
    assert edge["total"] == 1  # the window is inclusive at both ends
    after = call_log(client, bearer, start_date="2021-06-01 20:02:14", end_date="2021-06-02 00:00:00").get_json()
    assert after["total"] == 0


def test_31_days_is_served_and_one_second_more_is_the_vendor_error(client: FlaskClient, bearer: dict[str, str]) -> None:
    ok = call_log(client, bearer, start_date="2026-10-27 12:00:00", end_date="2026-11-27 12:00:00")
    assert ok.status_code == 200 and ok.get_json()["total"] > 1000
    over = call_log(client, bearer, start_date="2026-10-27 12:00:00", end_date="2026-11-27 12:00:01")
    assert over.status_code == 400
    assert over.get_data() == b'{"error":"date range must be in 31 days"}'
    assert over.get_json() == {"error": "date range must be in 31 days"}
    assert_conforms("listCalls", over)


@pytest.mark.parametrize("query, message", [
    ({"end_date": "2021-06-01 00:00:00"}, "start_date is required"),
    ({"start_date": "2021-06-01 00:00:00"}, "end_date is required"),
    ({"start_date": "2021-06-02 00:00:00", "end_date": "2021-06-01 00:00:00"}, "start_date must not be after end_date"),
    ({"start_date": "2021-02-30 00:00:00", "end_date": "2021-03-01 00:00:00"}, "start_date is not a real calendar date"),
    ({"start_date": "0000-01-01 00:00:00", "end_date": "0000-01-02 00:00:00"}, "start_date must be a date and time as YYYY-MM-DD HH:MM:SS"),  # the contract: years 1000-9999
    ({"start_date": "2021-06-01T00:00:00", "end_date": "2021-06-02 00:00:00"}, "start_date must be a date and time"),
    ({**LAST_30, "limit": "0"}, "limit must be an integer from 1 to 1000"),
    ({**LAST_30, "limit": "1001"}, "limit must be an integer from 1 to 1000"),
    ({**LAST_30, "limit": "ten"}, "limit must be an integer from 1 to 1000"),
    ({**LAST_30, "offset": "-1"}, "offset must be an integer from 0 to 2147483647"),
    ({**LAST_30, "offset": "1.5"}, "offset must be an integer from 0 to 2147483647"),
    ({**LAST_30, "source": "9" * 65}, "source must be at most 64 characters"),
])
def test_bad_queries_are_400_with_a_clear_message(client: FlaskClient, bearer: dict[str, str],
                                                  query: dict[str, str], message: str) -> None:
    response = call_log(client, bearer, **query)
    assert response.status_code == 400
    assert response.get_json()["error"].startswith(message)
    assert_conforms("listCalls", response)


def test_a_repeated_parameter_is_400(client: FlaskClient, bearer: dict[str, str]) -> None:
    response = client.get("/v1/call/log?start_date=2021-06-01%2000:00:00&start_date=2021-06-02%2000:00:00"
                          "&end_date=2021-06-03%2000:00:00", headers=bearer)
    assert response.status_code == 400 and response.get_json() == {"error": "start_date must be given at most once"}


def test_paging_walks_every_call_once_newest_first(client: FlaskClient, bearer: dict[str, str]) -> None:
    window = {"start_date": "2026-11-20 00:00:00", "end_date": "2026-11-22 23:59:59"}
    first = call_log(client, bearer, **window, limit=1000).get_json()
    total = first["total"]
    assert 100 < total <= 1000 and len(first["data"]) == total
    collected = []
    for offset in range(0, total + 50, 50):
        page = call_log(client, bearer, **window, limit=50, offset=offset).get_json()
        assert (page["limit"], page["offset"], page["total"]) == (50, offset, total)
        assert len(page["data"]) == max(0, min(50, total - offset))
        collected.extend(page["data"])
    assert collected == first["data"]
    starts = [c["start_time"] for c in collected]
    assert starts == sorted(starts, reverse=True)


def test_records_are_well_formed_and_inside_the_window(client: FlaskClient, bearer: dict[str, str]) -> None:
    response = call_log(client, bearer, **LAST_30, limit=1000, offset=200)
    assert_conforms("listCalls", response)
    start = datetime(2026, 10, 28, 12, tzinfo=VN)
    for call in response.get_json()["data"]:
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", call["start_time"])
        begin = datetime.fromisoformat(call["start_time"].replace("Z", "+00:00"))
        end = datetime.fromisoformat(call["end_time"].replace("Z", "+00:00"))
        assert call["duration"] == (end - begin).total_seconds() > 0
        assert isinstance(call["amount"], int) and call["amount"] >= 0
        assert start <= begin <= start + timedelta(days=30)


def test_source_filter_is_an_exact_match(client: FlaskClient, bearer: dict[str, str]) -> None:
    everything = call_log(client, bearer, **LAST_30).get_json()["total"]
    by_source = {s: call_log(client, bearer, **LAST_30, source=s, limit=1000).get_json()
                 for s in ("0899123456", "02873001234", "02873005678", "0971234567")}
    assert sum(p["total"] for p in by_source.values()) == everything
    for source, page in by_source.items():
        assert page["data"] and {c["source"] for c in page["data"]} == {source}
    assert call_log(client, bearer, **LAST_30, source="089912345").get_json()["total"] == 0
    assert call_log(client, bearer, **LAST_30, source="").get_json()["total"] == everything


def test_past_the_end_pages_are_empty(client: FlaskClient, bearer: dict[str, str]) -> None:
    body = call_log(client, bearer, **LAST_30, offset=2147483647).get_json()
    assert body["data"] == [] and body["total"] > 0 and body["offset"] == 2147483647


def test_tenants_see_only_their_own_calls(client: FlaskClient, bearer: dict[str, str]) -> None:
    other = {"Authorization": f"Bearer {token_for(client, OTHER_API_KEY)}"}
    june = {"start_date": "2021-06-01 00:00:00", "end_date": "2021-06-30 00:00:00", "source": "0899123456"}
    mine = call_log(client, bearer, **june).get_json()
    theirs = call_log(client, other, **june).get_json()
    assert mine["total"] == 2 and theirs["total"] == 1
    assert theirs["data"][0]["destination"] == "0912000111" and theirs["data"][0]["amount"] == 813
    assert not {c["source"] for c in call_log(client, other, **LAST_30, limit=1000).get_json()["data"]} & {
        "02873001234", "02873005678", "0971234567"}


@pytest.mark.parametrize("header, message", [
    (None, "missing bearer token"),
    ("", "missing bearer token"),
    ("Basic Zm9vOmJhcg==", "malformed Authorization header"),
    ("Bearer", "malformed Authorization header"),
    ("Bearer    ", "malformed Authorization header"),
    ("Bearer eyJhbGciOiJSU0EtT0FFUC0yNTYiLCJlbmMiOiJBMjU2R0NNIiwiaWF0IjoxNjEzNjMyNzc4fQ.dGhpcyBpcyB0ZXN0IGRhdGE=",
     "invalid token"),
    ("Bearer not.a.jwt", "invalid token"),
])
def test_missing_or_malformed_tokens_are_401(client: FlaskClient, header: str | None, message: str) -> None:
    headers = {} if header is None else {"Authorization": header}
    response = call_log(client, headers, **LAST_30)
    assert response.status_code == 401 and response.get_json()["error"].startswith(message)
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert_conforms("listCalls", response)


def test_forged_tokens_are_401(client: FlaskClient) -> None:
    genuine = token_for(client)
    claims = jwt.decode(genuine, options={"verify_signature": False})
    forged = [
        jwt.encode(claims, "a-guessed-secret-that-is-long-enough-32b", algorithm="HS256"),
        jwt.encode({**claims, "exp": claims["exp"] + 10**6}, "a-guessed-secret-that-is-long-enough-32b"),
        jwt.encode(claims, None, algorithm="none"),
        jwt.encode({**claims, "dom": "eeeeeeee-1111-2222-3333-ffffffff"}, signing_key("wrong")),
    ]
    for token in forged:
        response = call_log(client, {"Authorization": f"Bearer {token}"}, **LAST_30)
        assert response.status_code == 401 and response.get_json() == {"error": "invalid token"}


def test_tokens_expire_by_the_mock_clock(client: FlaskClient, clock: ControllableClock) -> None:
    headers = {"Authorization": f"Bearer {token_for(client)}"}
    clock.advance(3599)
    assert call_log(client, headers, **LAST_30).status_code == 200
    clock.advance(1)
    response = call_log(client, headers, **LAST_30)
    assert response.status_code == 401 and response.get_json() == {"error": "token expired"}
    assert "invalid_token" in response.headers["WWW-Authenticate"]


def test_the_bearer_scheme_is_case_insensitive(client: FlaskClient) -> None:
    token = token_for(client)
    assert call_log(client, {"Authorization": f"bearer {token}"}, **LAST_30).status_code == 200


def test_repeated_queries_follow_added_data_and_the_clock(client: FlaskClient, bearer: dict[str, str],
                                                         clock: ControllableClock) -> None:
    window = {"start_date": "2026-11-27 11:00:00", "end_date": "2026-11-27 13:00:00"}
    first = call_log(client, bearer, **window).get_json()
    assert call_log(client, bearer, **window).get_json() == first  # the same second: the memoised page
    client.post("/_mock/calls", json={"domain_uuid": "dddddddd-1111-2222-3333-eeeeeeee", "calls": [
        {"source": "0899123456", "destination": "0971234567", "start_time": "2026-11-27T04:30:00Z", "duration": 9}]})
    assert call_log(client, bearer, **window).get_json()["total"] == first["total"] + 1
    clock.advance(-3600)  # an hour back: the generated calls of the last hour are not there yet
    assert call_log(client, bearer, **window).get_json()["total"] < first["total"]


def test_the_fast_path_answers_exactly_as_flask_does(client: FlaskClient, bearer: dict[str, str],
                                                      clock: ControllableClock) -> None:
    first = call_log(client, bearer, **LAST_30, offset=7)  # computed by Flask, memoised
    again = call_log(client, bearer, **LAST_30, offset=7)  # answered by the WSGI fast path
    assert again.get_data() == first.get_data()
    assert sorted(again.headers.items()) == sorted(first.headers.items())
    journal = client.get("/_mock/requests?path=/v1/call/log").get_json()["data"]
    assert [e["status"] for e in journal] == [200, 200]
    assert journal[1]["headers"]["Authorization"] == "Bearer <redacted>"
    # A fault, an unknown token or an expired one are never answered from the memo.
    client.post("/_mock/faults", json={"method": "GET", "path": "/v1/call/log", "status": 503, "times": 1})
    assert call_log(client, bearer, **LAST_30, offset=7).status_code == 503
    assert call_log(client, {"Authorization": "Bearer forged"}, **LAST_30, offset=7).status_code == 401
    clock.advance(3600)
    assert call_log(client, bearer, **LAST_30, offset=7).get_json() == {"error": "token expired"}
    head = client.head("/v1/call/log", query_string={**LAST_30, "offset": 7},
                       headers={"Authorization": f"Bearer {token_for(client)}"})
    assert head.status_code == 200 and head.get_data() == b""
