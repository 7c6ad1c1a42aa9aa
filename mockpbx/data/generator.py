"""Generated call traffic: business hours in local time, log-normal talk times, rated amounts."""

from __future__ import annotations

import math
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from faker import Faker

from mockpbx.data.phones import VietnamPhoneProvider
from mockpbx.data.randomness import RandomSource
from mockpbx.domain.calls import Call, CallTable
from mockpbx.domain.encoding import CallEncoder
from mockpbx.domain.rates import amount_for

#: Relative call volume per half hour of the local day: busiest 08:00-12:00 and
#: 13:30-17:30, a lunch dip, a little in the evening, almost nothing at night.
HALF_HOUR_WEIGHTS: tuple[float, ...] = (
    0.1, 0.1, 0.05, 0.05, 0.05, 0.05, 0.05, 0.05, 0.1, 0.1, 0.2, 0.3,    # 00:00-05:30
    0.5, 1.0, 2.5, 4.0, 7.0, 9.0, 10.0, 10.0, 9.5, 9.0, 8.5, 7.0,        # 06:00-11:30
    3.0, 2.5, 3.0, 7.5, 9.0, 9.5, 9.5, 9.0, 8.5, 8.0, 7.0, 4.0,          # 12:00-17:30
    2.5, 1.8, 1.2, 1.0, 0.8, 0.6, 0.5, 0.4, 0.3, 0.2, 0.15, 0.1,         # 18:00-23:30
)
#: Monday .. Sunday.
WEEKDAY_FACTORS: tuple[float, ...] = (1.0, 1.0, 1.0, 1.0, 0.95, 0.45, 0.12)


@dataclass(frozen=True)
class TrafficProfile:
    """How much a domain calls and when; talk time is log-normal (median e**mu seconds)."""

    calls_per_day: int
    talk_mu: float = 4.3
    talk_sigma: float = 1.0
    max_talk: int = 3600


def _faker() -> Faker:
    fake = Faker("vi_VN")
    fake.add_provider(VietnamPhoneProvider)
    return fake


def day_calls(randomness: RandomSource, domain_uuid: str, day: date, sources: Sequence[str],
              profile: TrafficProfile, zone: ZoneInfo, fake: Faker) -> list[Call]:
    """The calls of one local day, sorted by start; a pure function of the seed, domain and day."""
    rnd = randomness.stream("calls", domain_uuid, day.isoformat())
    fake.random = rnd  # type: ignore[attr-defined]  # Faker's proxy forwards it to its generator
    expected = profile.calls_per_day * WEEKDAY_FACTORS[day.weekday()]
    count = max(0, round(expected * rnd.uniform(0.85, 1.15)))
    midnight = datetime(day.year, day.month, day.day, tzinfo=zone)
    next_midnight = datetime.combine(day + timedelta(days=1), datetime.min.time(), tzinfo=zone)
    day_start, day_length = int(midnight.timestamp()), int(next_midnight.timestamp() - midnight.timestamp())
    half_hours = rnd.choices(range(48), HALF_HOUR_WEIGHTS, k=count)
    offsets = sorted(min(h * 1800 + rnd.randrange(1800), day_length - 1) for h in half_hours)
    calls = []
    for offset in offsets:
        talk = min(profile.max_talk, max(1, round(rnd.lognormvariate(profile.talk_mu, profile.talk_sigma))))
        destination = fake.vn_destination_number()
        calls.append(Call(day_start + offset, talk, rnd.choice(sources), destination,
                          amount_for(destination, talk)))
    return calls


def generate_table(randomness: RandomSource, domain_uuid: str, sources: Sequence[str],
                   first_day: date, last_day: date, profile: TrafficProfile, zone: ZoneInfo,
                   tag: int = 1, encode: CallEncoder | None = None) -> CallTable:
    """A table of the calls of every local day from `first_day` to `last_day`, inclusive."""
    if not sources:
        raise ValueError(f"domain {domain_uuid} has no sources to generate calls from")
    fake = _faker()

    def calls() -> Iterator[Call]:
        day = first_day
        while day <= last_day:
            yield from day_calls(randomness, domain_uuid, day, sources, profile, zone, fake)
            day += timedelta(days=1)

    return CallTable(calls(), tag=tag, encode=encode)


def domain_sources(randomness: RandomSource, domain_uuid: str, count: int = 4) -> list[str]:
    """A few fixed outbound numbers for a domain that the fixtures give none."""
    fake = _faker()
    fake.random = randomness.stream("sources", domain_uuid)  # type: ignore[attr-defined]
    return [fake.vn_trunk_number() for _ in range(count)]


def days_covering(now: float, days: int, zone: ZoneInfo) -> tuple[date, date]:
    """The local days to generate so that [now - days, now] is covered, with a day to spare each side."""
    today = datetime.fromtimestamp(now, zone).date()
    span = math.ceil(days) + 1
    return today - timedelta(days=span), today + timedelta(days=1)


class RollingTraffic:
    """Generated traffic of one domain over a rolling window of `days` up to the clock's now.

    Days are generated whole and deterministically, so the visible calls depend only on
    the seed and the clock. If the clock leaves the generated range (it was moved), the
    range is generated again around the new now.
    """

    def __init__(self, randomness: RandomSource, domain_uuid: str, sources: Sequence[str],
                 profile: TrafficProfile, zone: ZoneInfo, days: int, encode: CallEncoder | None = None) -> None:
        self.retention_seconds = days * 86400
        self._args = (randomness, domain_uuid, tuple(sources))
        self._profile, self._zone, self._days = profile, zone, days
        self._lock = threading.Lock()
        self._range: tuple[date, date] | None = None
        self._checked = -1  # the clock second last found covered
        self._encode = encode
        self._table = CallTable((), encode=encode)

    def _covers(self, now: float) -> bool:
        if self._range is None:
            return False
        first = datetime.fromtimestamp(now - self.retention_seconds, self._zone).date()
        last = datetime.fromtimestamp(now, self._zone).date()
        return self._range[0] <= first and last <= self._range[1]

    def table_covering(self, now: float) -> CallTable:
        """The generated calls of the days around [now - days, now]."""
        second = int(now)
        if second == self._checked:  # covered a moment ago, in this same second
            return self._table
        if not self._covers(now):
            with self._lock:
                if not self._covers(now):
                    first, last = days_covering(now, self._days, self._zone)
                    randomness, domain, sources = self._args
                    self._table = generate_table(randomness, domain, sources, first, last,
                                                 self._profile, self._zone, encode=self._encode)
                    self._range = (first, last)
        self._checked = second
        return self._table
