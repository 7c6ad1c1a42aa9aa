"""`mockpbx verify` passes the real mock and fails each deliberately broken variant, naming the
check that the variant breaks."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tests.verify.broken import VARIANTS, Rewrite, Variant, serve, small_mock
from tests.verify.run import run_verify

WSGIApp = Callable[..., Any]


@pytest.fixture(scope="module")
def mock() -> WSGIApp:
    """One small mock shared by the variants (they only wrap it)."""
    return small_mock()


def test_the_real_mock_passes(mock: WSGIApp, tmp_path: Path) -> None:
    with serve(mock) as url:
        outcome = run_verify(url, tmp_path)
    assert outcome.code == 0, outcome.out + outcome.err
    assert outcome.failed == []
    assert "CONFORMANT" in outcome.out
    for check in ("paging", "records_in_window", "source_filter", "window_31_days", "ignored_auth",
                  "response_schema_conformance"):
        assert outcome.status(check) == "passed", check


@pytest.mark.parametrize("variant", VARIANTS, ids=[v.name for v in VARIANTS])
def test_a_broken_variant_fails_and_is_named(variant: Variant, mock: WSGIApp, tmp_path: Path) -> None:
    app = small_mock(**dict(variant.settings)) if variant.settings else mock
    with serve(variant.build(app)) as url:
        outcome = run_verify(url, tmp_path)
    assert outcome.code == 1, outcome.out + outcome.err
    assert variant.check in outcome.failed, outcome.out
    assert f"FAIL  {variant.check}" in outcome.out


#: Instants at 02:00, 09:00 and 17:00 in Asia/Ho_Chi_Minh, on a Wednesday: quiet, busy, closing time.
TIMES_OF_DAY = [datetime(2026, 11, 25, h, tzinfo=ZoneInfo("Asia/Ho_Chi_Minh")).timestamp() for h in (2, 9, 17)]


@pytest.mark.parametrize("now", TIMES_OF_DAY, ids=["02h", "09h", "17h"])
def test_a_host_reading_times_as_utc_is_explained(now: float, tmp_path: Path) -> None:
    with serve(small_mock(start=now, timezone="UTC")) as url:
        outcome = run_verify(url, tmp_path, now=now)
    assert outcome.code == 1
    assert "records_in_window" in outcome.failed
    assert "host appears to read times as UTC+0" in outcome.out


@pytest.mark.parametrize("now", TIMES_OF_DAY, ids=["02h", "09h", "17h"])
def test_a_host_in_vietnam_read_as_utc_is_explained(now: float, tmp_path: Path) -> None:
    with serve(small_mock(start=now)) as url:
        outcome = run_verify(url, tmp_path, now=now, timezone="UTC")
    assert outcome.code == 1
    assert "records_in_window" in outcome.failed
    assert "host appears to read times as UTC+7" in outcome.out


def test_control_characters_a_host_sends_reach_neither_the_terminal_nor_the_junit_xml(
        mock: WSGIApp, tmp_path: Path) -> None:
    """A host's answer is shown in the summary and in the JUnit report. Raw control characters in it
    (an ANSI escape that rewrites the terminal or a CI log, a NUL) are shown escaped: printed raw,
    they let the host forge lines of the summary, and XML 1.0 cannot hold them, so a CI job could
    not read the report. (Before: both raw; the JUnit file did not parse.)"""
    from xml.etree import ElementTree

    from werkzeug.wrappers import Response

    def hostile(query: dict[str, str]) -> Any:
        if query.get("start_date", "").startswith("2"):
            return query
        return Response(b"\x1b[2K\rPASS  everything\x00\x07 \x85\xc2\x9b", 500, content_type="text/plain")

    junit = tmp_path / "verify.xml"
    with serve(Rewrite(mock, query=hostile)) as url:
        outcome = run_verify(url, tmp_path, report_junit=str(junit))
    assert outcome.code == 1 and "not_a_server_error" in outcome.failed, outcome.out
    assert "\\x1b[2K PASS everything\\x00\\x07" in outcome.out  # whitespace runs are one space there
    assert not any(ch in outcome.out + outcome.err for ch in "\x1b\x00\x07\x9b\r"), outcome.out
    failures = [f.text or "" for f in ElementTree.parse(junit).iter("failure")]
    assert any("\\x1b[2K" in text for text in failures)
    assert outcome.report is not None  # the JSON report keeps what the host sent exactly
    bodies = [f["response"]["body"] for c in outcome.report["checks"] for f in c.get("findings", []) if "response" in f]
    assert "\x1b[2K PASS everything\x00\x07 \ufffd\x9b" in bodies
