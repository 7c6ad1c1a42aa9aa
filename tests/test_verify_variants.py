"""`mockpbx verify` passes the real mock and fails each deliberately broken variant, naming the
check that the variant breaks."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tests.verify.broken import VARIANTS, Variant, serve, small_mock
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
