"""Generated traffic: deterministic, independent of the start instant, shaped like a business."""

from __future__ import annotations

import statistics
from collections import Counter
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from mockpbx.backend import build_backend
from mockpbx.clock import ControllableClock
from mockpbx.domain.numbering import is_valid_number
from mockpbx.domain.window import Page, Window
from mockpbx.settings import Settings

from tests.conftest import DEMO_DOMAIN, NOW

VN = ZoneInfo("Asia/Ho_Chi_Minh")
OTHER_DOMAIN = "eeeeeeee-1111-2222-3333-ffffffff"


def visible(seed: int, now: float, days: int = 20, per_day: int = 200, domain: str = DEMO_DOMAIN) -> list:
    backend = build_backend(Settings.load({}, seed=seed, days=days, calls_per_day=per_day),
                            ControllableClock(start=now, frozen=True))
    return backend.service.calls.generated_calls(now)[domain]


def test_same_seed_same_data_and_another_seed_other_data() -> None:
    assert visible(1, NOW) == visible(1, NOW)
    assert visible(1, NOW) != visible(2, NOW)


@pytest.mark.parametrize("apart", [60, 7 * 60, 12 * 3600])
def test_instances_started_apart_serve_identical_data_at_the_same_moment(apart: int) -> None:
    settings = Settings.load({}, seed=5, days=10, calls_per_day=150)
    early = build_backend(settings, ControllableClock(start=NOW - apart, frozen=True))
    late = build_backend(settings, ControllableClock(start=NOW, frozen=True))
    early.clock.set(NOW)  # the first instance has been running for `apart` seconds
    window = Window(NOW - 10 * 86400, NOW)
    for offset in (0, 500):
        a = early.service.calls.query(DEMO_DOMAIN, window, None, Page(1000, offset))
        b = late.service.calls.query(DEMO_DOMAIN, window, None, Page(1000, offset))
        assert a == b and a.total > 1000


def test_across_local_midnight_too() -> None:
    midnight = int(datetime(2026, 11, 27, 0, 0, 0, tzinfo=VN).timestamp())
    settings = Settings.load({}, seed=5, days=10, calls_per_day=150)
    before = build_backend(settings, ControllableClock(start=midnight - 120, frozen=True))
    after = build_backend(settings, ControllableClock(start=midnight + 120, frozen=True))
    before.clock.set(midnight + 120)
    window = Window(midnight - 20 * 86400, midnight + 120)
    assert before.service.calls.query(DEMO_DOMAIN, window, None, Page(1000, 0)) == \
        after.service.calls.query(DEMO_DOMAIN, window, None, Page(1000, 0))


def test_history_rolls_with_the_clock_and_nothing_is_in_the_future() -> None:
    calls = visible(3, NOW, days=20)
    assert calls and max(c.start_time for c in calls) <= NOW
    assert min(c.start_time for c in calls) >= NOW - 20 * 86400
    later = build_backend(Settings.load({}, seed=3, days=20, calls_per_day=200),
                          ControllableClock(start=NOW, frozen=True))
    later.clock.advance(5 * 86400)  # beyond the generated range: it is generated again around the new now
    moved = later.service.calls.generated_calls(later.clock.now())[DEMO_DOMAIN]
    assert max(c.start_time for c in moved) > NOW + 4 * 86400
    assert [c for c in moved if c.start_time <= NOW] == [c for c in calls if c.start_time >= NOW - 15 * 86400]


def test_business_hours_weekdays_and_talk_times() -> None:
    calls = visible(11, NOW, days=28, per_day=300)
    local = [datetime.fromtimestamp(c.start_time, VN) for c in calls]
    office = sum(1 for t in local if 8 <= t.hour < 18) / len(local)
    assert office > 0.8
    by_weekday = Counter(t.weekday() for t in local)
    assert by_weekday[6] < by_weekday[2] / 4  # Sundays are quiet
    lunch = sum(1 for t in local if t.hour == 12 and t.weekday() < 5)
    ten = sum(1 for t in local if t.hour == 10 and t.weekday() < 5)
    assert lunch < ten / 2
    talk = [c.duration for c in calls]
    assert min(talk) >= 1 and max(talk) <= 3600  # answered calls only, clipped at an hour
    assert 55 <= statistics.median(talk) <= 95  # log-normal, mu 4.3: median about 74 s


def test_numbers_sources_and_amounts() -> None:
    calls = visible(4, NOW)
    assert all(is_valid_number(c.destination) for c in calls)
    assert {c.source for c in calls} == {"0899123456", "02873001234", "02873005678", "0971234567"}
    assert all(isinstance(c.amount, int) and c.amount >= 0 for c in calls)


def test_a_30_day_window_spans_many_pages_by_default() -> None:
    backend = build_backend(Settings.load({}), ControllableClock(start=NOW, frozen=True))
    page = backend.service.calls.query(DEMO_DOMAIN, Window(NOW - 30 * 86400, NOW), None, Page())
    assert page.total > 5000  # hundreds a day: hundreds of pages of 10
    other = backend.service.calls.query(OTHER_DOMAIN, Window(NOW - 30 * 86400, NOW), None, Page())
    assert 0 < other.total < page.total / 3
