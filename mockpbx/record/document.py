"""The fixture file a recording becomes: the demo account (or --as-username), one domain with
generation off, the calls oldest first, and a header saying what was recorded."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from mockpbx.data.fixtures import FORMAT, load_fixtures
from mockpbx.domain.calls import Call, rfc3339
from mockpbx.resources import default_fixtures_path

WEEK = timedelta(days=7)


def shift_weeks(window_end: datetime, target: datetime | None) -> int:
    """Whole weeks that move `window_end` to the latest time at or before `target` (0 without one)."""
    if target is None:
        return 0
    return (target - window_end) // WEEK


def shift_call(call: Call, weeks: int, zone: ZoneInfo) -> Call:
    """The call moved by whole weeks on the wall clock of `zone`: same weekday, same local hour."""
    if not weeks:
        return call
    local = datetime.fromtimestamp(call.start_time, zone).replace(tzinfo=None) + weeks * WEEK
    return Call(int(local.replace(tzinfo=zone).timestamp()), call.duration, call.source, call.destination,
                call.amount)


def recorded_account(as_username: str | None) -> dict[str, str]:
    """The account the file is served under: the demo account, or one named `as_username`
    (its uuids and api_key derived from the name, its password the demo one)."""
    demo = next(iter(load_fixtures(default_fixtures_path()).accounts))
    record = {"login": demo.login, "password": demo.password, "user_uuid": demo.user_uuid,
              "domain_uuid": demo.domain_uuid, "username": demo.username, "api_key": demo.api_key,
              "level": demo.level}
    if as_username:
        def derived(kind: str) -> str:
            return str(uuid.uuid5(uuid.NAMESPACE_URL, f"mockpbx-record:{kind}:{as_username}"))
        record |= {"login": as_username, "username": as_username.split("@")[0], "user_uuid": derived("user"),
                   "domain_uuid": derived("domain"), "api_key": derived("api_key")}
    return record


def build_document(calls: Sequence[Call], account: Mapping[str, str], header: Mapping[str, object],
                   description: str) -> dict[str, object]:
    """A fixture document serving exactly `calls` (given oldest first) under `account`."""
    domain = account["domain_uuid"]
    sources = list(dict.fromkeys(c.source for c in calls))
    return {
        "format": FORMAT,
        "description": description,
        "recording": dict(header),
        "accounts": [dict(account)],
        "domains": [{"domain_uuid": domain, "sources": sources, "generate": False}],
        "calls": [{"domain_uuid": domain, "source": c.source, "destination": c.destination,
                   "start_time": rfc3339(c.start_time), "end_time": rfc3339(c.end_time),
                   "duration": c.duration, "amount": c.amount} for c in calls],
    }
