"""Consumer tests of a PBX client against mockpbx, using its pytest plugin.

These are the examples of the README's "Using mockpbx in your tests": each drives the
mock (its clock, faults, data and journal) to test one behaviour of the client.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from mockpbx.testing import MockPBX
from tests.examples.pbx_client import PbxClient, PbxError


@pytest.fixture
def client(mockpbx: MockPBX) -> PbxClient:
    return PbxClient(mockpbx.url, mockpbx.account["api_key"], sleep=lambda seconds: None)


def test_token_is_cached_and_renewed_after_it_expires(mockpbx: MockPBX, client: PbxClient) -> None:
    client.page("2021-06-01 00:00:00", "2021-06-30 00:00:00")
    client.page("2021-06-01 00:00:00", "2021-06-30 00:00:00")
    mockpbx.assert_requested("POST", "/v1/auth/token", times=1)

    mockpbx.advance_clock(3600)  # the token's lifetime: it has now expired
    page = client.page("2021-06-01 00:00:00", "2021-06-30 00:00:00")

    assert page["total"] == 2
    mockpbx.assert_requested("POST", "/v1/auth/token", times=2)
    statuses = [e["status"] for e in mockpbx.requests("GET", "/v1/call/log")]
    assert statuses == [200, 200, 401, 200]


def test_retries_on_503_and_429_honouring_retry_after(mockpbx: MockPBX) -> None:
    slept: list[float] = []
    client = PbxClient(mockpbx.url, mockpbx.account["api_key"], sleep=slept.append)
    mockpbx.add_fault("GET", "/v1/call/log", status=503, headers={"Retry-After": "2"}, times=1)
    mockpbx.add_fault("GET", "/v1/call/log", status=429, headers={"Retry-After": "1"}, times=1)

    page = client.page("2021-06-01 00:00:00", "2021-06-30 00:00:00")

    assert page["total"] == 2 and slept == [2.0, 1.0]
    mockpbx.assert_requested("GET", "/v1/call/log", times=3)


def test_gives_up_after_max_retries(mockpbx: MockPBX, client: PbxClient) -> None:
    mockpbx.add_fault("GET", "/v1/call/log", status=503, headers={"Retry-After": "1"})  # until cleared
    with pytest.raises(PbxError, match="503"):
        client.page("2021-06-01 00:00:00", "2021-06-30 00:00:00")
    mockpbx.assert_requested("GET", "/v1/call/log", times=client.max_retries + 1)


def test_pages_through_a_month_of_added_calls(mockpbx: MockPBX) -> None:
    account = mockpbx.add_account("billing@acme.vn", "pw")  # a fresh tenant: only the calls we add
    start = datetime(2024, 3, 1, 1, 0, tzinfo=timezone.utc)
    calls = [{"source": "02873001234", "destination": "0971234567",
              "start_time": (start + timedelta(hours=2 * i)).isoformat().replace("+00:00", "Z"),
              "duration": 30 + i} for i in range(250)]
    assert mockpbx.add_calls(calls, domain_uuid=account["domain_uuid"]) == 250
    client = PbxClient(mockpbx.url, account["api_key"], page_size=40)

    got = list(client.calls("2024-03-01 00:00:00", "2024-04-01 00:00:00"))

    assert [c["duration"] for c in got] == list(range(30 + 249, 29, -1))  # all of them, newest first
    assert len(mockpbx.requests("GET", "/v1/call/log")) == 7  # ceil(250 / 40) pages


def test_pages_through_a_month_of_generated_calls(mockpbx: MockPBX, client: PbxClient) -> None:
    end = mockpbx.now().astimezone(timezone(timedelta(hours=7))).replace(tzinfo=None)
    window = ((end - timedelta(days=31)).strftime("%Y-%m-%d %H:%M:%S"), end.strftime("%Y-%m-%d %H:%M:%S"))
    mockpbx.freeze_clock()  # no new calls appear while we page
    total = client.page(*window)["total"]

    got = list(client.calls(*window))

    assert len(got) == total > 3000
    assert len({(c["start_time"], c["source"], c["destination"], c["duration"]) for c in got}) == total
