"""Assembles a mock PBX from settings: fixtures, generated traffic, tokens, clock."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from mockpbx.clock import ControllableClock
from mockpbx.data.fixtures import Fixtures, load_fixtures
from mockpbx.data.generator import RollingTraffic, TrafficProfile, domain_sources
from mockpbx.data.randomness import RandomSource
from mockpbx.domain.accounts import AccountBook
from mockpbx.domain.calllog import CallLog
from mockpbx.domain.calls import Call
from mockpbx.domain.service import PbxService
from mockpbx.domain.tokens import TokenIssuer
from mockpbx.resources import default_fixtures_path
from mockpbx.settings import Settings


@dataclass
class Backend:
    """Everything a running mock holds."""

    settings: Settings
    clock: ControllableClock
    fixtures: Fixtures
    service: PbxService


def build_call_log(settings: Settings, fixtures: Fixtures, clock: ControllableClock) -> CallLog:
    """The call log: each domain's explicit calls and, where enabled, its generated traffic."""
    randomness = RandomSource(settings.seed)
    log = CallLog(clock)
    now = clock.now()
    for spec in fixtures.domain_specs():
        per_day = settings.calls_per_day if spec.calls_per_day is None else spec.calls_per_day
        traffic = None
        if spec.generate and settings.days > 0 and per_day > 0:
            sources = spec.sources or tuple(domain_sources(randomness, spec.domain_uuid))
            traffic = RollingTraffic(randomness, spec.domain_uuid, sources, TrafficProfile(per_day),
                                     settings.zone, settings.days)
            traffic.table_covering(now)  # generate now, not on the first request
        log.add_domain(spec.domain_uuid, traffic)
    explicit: dict[str, list[Call]] = defaultdict(list)
    for domain, call in fixtures.calls:
        explicit[domain].append(call)
    for domain, calls in explicit.items():
        log.add_calls(domain, calls)
    return log


def build_backend(settings: Settings, clock: ControllableClock | None = None) -> Backend:
    """A fully loaded mock; raises DataError for a bad fixture file."""
    clock = clock or ControllableClock()
    fixtures = load_fixtures(settings.fixtures or default_fixtures_path())
    service = PbxService(
        accounts=AccountBook(fixtures.accounts),
        tokens=TokenIssuer(settings.secret, settings.token_lifetime, clock),
        calls=build_call_log(settings, fixtures, clock),
        zone=settings.zone,
    )
    return Backend(settings, clock, fixtures, service)
