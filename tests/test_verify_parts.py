"""The parts of `mockpbx verify` on their own: the new rules, the redactor, the client's
budget, pacing and Retry-After, and option parsing."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from mockpbx.conformance import rules
from mockpbx.redaction import REDACTED, Redactor
from mockpbx.resources import contract_path
from mockpbx.verify.client import BudgetedClient, BudgetExhausted, Pacer, retry_after
from mockpbx.verify.contract import load
from mockpbx.verify.options import OptionsError, build_options, parse_rate
from tests.verify.broken import serve, small_mock

HCM = ZoneInfo("Asia/Ho_Chi_Minh")
NOW = 1_795_755_600.0


@pytest.mark.parametrize("expire_at, good", [
    (int(NOW) + 3540, True), (int(NOW) + 86400, True), (int(NOW) - 3600, False),
    ((int(NOW) + 3540) * 1000, False), (str(int(NOW) + 3540), False), (True, False), (float(NOW + 60), False),
])
def test_token_expiry(expire_at: object, good: bool) -> None:
    if good:
        rules.check_token_expiry(expire_at, NOW)
    else:
        with pytest.raises(AssertionError):
            rules.check_token_expiry(expire_at, NOW)


def _calls(*starts: str) -> list[object]:
    return [{"start_time": s, "end_time": s, "duration": 0, "amount": 0, "source": "1"} for s in starts]


def test_pages_cover_the_listing_exactly() -> None:
    full = _calls("2026-01-03T00:00:00Z", "2026-01-02T00:00:00Z", "2026-01-01T00:00:00Z")
    rules.check_pages_cover([(0, full[:2]), (2, full[2:])], 3, full)
    with pytest.raises(AssertionError, match="pages overlap"):
        rules.check_pages_cover([(0, full[:2]), (2, full[:1])], 3, full)
    with pytest.raises(AssertionError, match="hold 2 records"):
        rules.check_pages_cover([(0, full[:1]), (2, full[2:])], 3, full)
    with pytest.raises(AssertionError, match="differs"):
        rules.check_pages_cover([(0, full[1:3]), (2, full[:1])], 3, full)


def test_total_must_stay_put() -> None:
    rules.check_total_stable(15, 15, 10)
    with pytest.raises(AssertionError, match="total changed"):
        rules.check_total_stable(15, 10, 10)


def _shifted(shift: timedelta) -> list[tuple[tuple[datetime, datetime], list[datetime]]]:
    start = datetime(2026, 11, 26, 8, 0, 0)
    end = start + timedelta(hours=12)
    times = [start + shift + timedelta(minutes=m) for m in range(5, 12 * 60, 37)]
    return [((start, end), times)]


@pytest.mark.parametrize("shift, zone, text", [
    (timedelta(hours=7), HCM, "host appears to read times as UTC+0"),
    (timedelta(hours=-7), ZoneInfo("UTC"), "host appears to read times as UTC+7"),
    (timedelta(hours=2), HCM, "host appears to read times as UTC+5"),
    (timedelta(hours=1, minutes=30), HCM, "host appears to read times as UTC+5:30"),
])
def test_a_constant_shift_is_explained(shift: timedelta, zone: ZoneInfo, text: str) -> None:
    found = rules.window_shift(_shifted(shift))
    assert found is not None
    description = rules.describe_shift(found, zone, datetime(2026, 11, 26))
    assert description is not None and text in description


def test_a_loosely_pinned_shift_says_how_loose() -> None:
    start = datetime(2026, 11, 26, 8, 0, 0)
    found = rules.window_shift([((start, start + timedelta(hours=12)), [start + timedelta(hours=14)])])
    assert found == (timedelta(hours=2), timedelta(hours=14))
    text = rules.describe_shift(found, HCM, start)
    assert text is not None and "host appears to read times as UTC+0" in text and "fit any shift" in text


def test_records_scattered_outside_the_window_have_no_single_shift() -> None:
    (window, times), = _shifted(timedelta(0))
    assert rules.window_shift([(window, times + [window[0] - timedelta(days=1)])]) is None
    assert rules.describe_shift((timedelta(0), timedelta(0)), HCM, window[0]) is None


def test_the_redactor_hides_every_form_of_a_secret() -> None:
    token = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhIn0.c2lnbmF0dXJlLXNlY3JldA"
    redactor = Redactor(["p@ss word!", None, "ab"])
    redactor.add(token)
    text = f'p@ss word! p%40ss%20word%21 p%40ss+word%21 "{token[:30]}... ab'
    assert redactor.redact(text) == f"{REDACTED} {REDACTED} {REDACTED} \"{REDACTED} ab"
    assert redactor.header("Authorization", f"Bearer {token}") == f"Bearer {REDACTED}"


def test_the_pacer_spaces_requests_and_holds_for_retry_after() -> None:
    now, slept = [100.0], []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    pacer = Pacer(4.0, lambda: now[0], sleep)
    for _ in range(3):
        pacer.wait()
    assert slept == [0.25, 0.25]
    pacer.hold(2.0)
    pacer.wait()
    assert slept[-1] == pytest.approx(2.0)


def test_retry_after_reads_seconds_and_dates() -> None:
    assert retry_after({"Retry-After": "3"}, NOW) == 3.0
    assert retry_after({"retry-after": "Fri, 27 Nov 2026 11:00:10 GMT"}, 1795777200.0) == pytest.approx(10.0)
    assert retry_after({"Retry-After": "soon"}, NOW) is None
    assert retry_after({}, NOW) is None


def test_the_client_never_exceeds_its_budget() -> None:
    with serve(small_mock(days=0)) as url:
        client = BudgetedClient(url, budget=3, rate=1000, timeout=5, redactor=Redactor())
        try:
            statuses = [client.send("GET", "/healthz", origin="test").status for _ in range(3)]
            with pytest.raises(BudgetExhausted):
                client.send("GET", "/healthz", origin="test")
        finally:
            client.close()
    assert statuses == [200, 200, 200] and client.sent == 3 and len(client.exchanges) == 3


def test_the_client_learns_issued_tokens_as_secrets() -> None:
    redactor = Redactor()
    with serve(small_mock(days=0)) as url:
        client = BudgetedClient(url, budget=3, rate=1000, timeout=5, redactor=redactor)
        try:
            exchange = client.send("POST", "/v1/auth/token", headers={"Content-Type": "application/json"},
                                   body=b'{"api_key": "aaaaaaaa-bbbb-cccc-dddd-eeeeeeee"}', origin="test")
        finally:
            client.close()
    token = exchange.json()["data"]["token"]  # type: ignore[index]
    assert redactor.redact(f"Bearer {token}") == f"Bearer {REDACTED}"


def test_options_defaults_and_window() -> None:
    options = build_options({"base_url": "http://h:1/", "api_key": "k"}, env={}, now=NOW)
    assert options.base_url == "http://h:1" and options.max_requests == 300 and options.rate_limit == 5.0
    assert options.window_end == datetime(2026, 11, 27, 12, 0, 0)
    assert options.window_end - options.window_start == timedelta(days=3)
    env = {"MOCKPBX_VERIFY_USERNAME": "u", "MOCKPBX_VERIFY_PASSWORD": "secret-pw"}
    options = build_options({"base_url": "https://h", "window_start": "2026-11-01",
                             "window_end": "2026-11-02 10:00"}, env=env, now=NOW)
    assert options.credentials.password == "secret-pw" and "secret-pw" not in repr(options)
    assert options.window_start == datetime(2026, 11, 1) and options.window_end == datetime(2026, 11, 2, 10)


@pytest.mark.parametrize("text, rate", [("5", 5.0), ("5/s", 5.0), ("120/m", 2.0), ("3600/h", 1.0), (" 2.5 /s", 2.5)])
def test_rate_limits(text: str, rate: float) -> None:
    assert parse_rate(text) == rate


@pytest.mark.parametrize("values", [
    {"base_url": "http://h", "api_key": "k", "max_requests": 5},
    {"base_url": "http://h", "api_key": "k", "rate_limit": "0"},
    {"base_url": "http://h", "api_key": "k", "window_start": "yesterday"},
    {"base_url": "http://h?x=1", "api_key": "k"},
    {"base_url": "http://user:secret@h", "api_key": "k"},
    {"base_url": "http://h", "api_key": "k", "contract": "/nonexistent.yaml"},
])
def test_bad_options(values: dict[str, object]) -> None:
    with pytest.raises(OptionsError):
        build_options(values, env={}, now=NOW)


def test_the_contract_gives_the_operations_and_the_message(tmp_path: Path) -> None:
    contract = load(contract_path())
    assert {(o.method, o.path) for o in contract.operations} == {
        ("POST", "/v1/auth"), ("POST", "/v1/auth/token"), ("GET", "/v1/call/log")}
    assert contract.range_message == "date range must be in 31 days"
    assert contract.match("DELETE", "/v1/auth") == (True, False)
    assert contract.match("GET", "/healthz") == (False, False)
    bad = tmp_path / "bad.yaml"
    bad.write_text("just: [text")
    with pytest.raises(ValueError):
        load(bad)
