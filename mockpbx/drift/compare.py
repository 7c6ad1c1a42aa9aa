"""Host and mock observations side by side, and the `mockpbx serve` options that close the gap."""

from __future__ import annotations

from dataclasses import dataclass

from mockpbx.drift.observe import LIFETIME, PROFILE, ZONE, Observations, offset_text
from mockpbx.settings import MAX_TOKEN_LIFETIME

#: A lifetime measured from the host's Date header may be a second or two short.
LIFETIME_SLACK = 2
#: Zones for UTC offsets (minutes) that are not whole hours, or that have a familiar name.
NAMED_OFFSETS = {0: "UTC", 420: "Asia/Ho_Chi_Minh", 330: "Asia/Kolkata", 345: "Asia/Kathmandu",
                 570: "Australia/Darwin", -210: "America/St_Johns"}


@dataclass(frozen=True)
class Row:
    """One observation on both sides."""

    name: str
    host: str
    mock: str
    same: bool


@dataclass(frozen=True)
class Suggestion:
    """A `mockpbx serve` option, its value, and the row it fixes."""

    option: str
    value: str
    row: str

    @property
    def setting(self) -> str:
        """The setting's name (`--token-lifetime` -> `token_lifetime`)."""
        return self.option.lstrip("-").replace("-", "_")

    def __str__(self) -> str:
        return f"{self.option} {self.value}"


def _lifetimes_agree(host: object, mock: object) -> bool:
    return isinstance(host, int) and isinstance(mock, int) and abs(host - mock) <= LIFETIME_SLACK


def compare(host: Observations, mock: Observations) -> list[Row]:
    """Every row either side observed, host order first; same or different."""
    rows = []
    for name in list(host.values) + [n for n in mock.values if n not in host.values]:
        left, right = host.values.get(name, "not observed"), mock.values.get(name, "not observed")
        same = left == right or (name == LIFETIME and _lifetimes_agree(host.facts.get(name), mock.facts.get(name)))
        rows.append(Row(name, left, right, same))
    return rows


def zone_for(minutes: int) -> str | None:
    """An IANA zone at a UTC offset: a familiar one, else `Etc/GMT-N` (its sign is inverted by POSIX)."""
    if minutes in NAMED_OFFSETS:
        return NAMED_OFFSETS[minutes]
    if minutes % 60 == 0 and -12 <= minutes // 60 <= 14:
        return f"Etc/GMT{-minutes // 60:+d}"
    return None


def _lifetime(seconds: int) -> int:
    """A measured lifetime, snapped to a whole minute when it is within the slack of one."""
    nearest = round(seconds / 60) * 60
    return nearest if nearest > 0 and abs(nearest - seconds) <= LIFETIME_SLACK else seconds


def suggest(host: Observations, rows: list[Row]) -> list[Suggestion]:
    """The options that would make the mock answer like the host on the rows they govern."""
    differing = {row.name for row in rows if not row.same}
    found = []
    profile, zone, lifetime = host.facts.get(PROFILE), host.facts.get(ZONE), host.facts.get(LIFETIME)
    if PROFILE in differing and isinstance(profile, str):
        found.append(Suggestion("--profile", profile, PROFILE))
    if ZONE in differing and isinstance(zone, int) and zone_for(zone):
        found.append(Suggestion("--timezone", str(zone_for(zone)), ZONE))
    # (A lifetime the mock cannot issue, e.g. milliseconds taken for seconds, is left to "no option
    # can match yet": suggesting it made the check of the suggestion fail on the setting's bound.)
    if LIFETIME in differing and isinstance(lifetime, int) and 0 < _lifetime(lifetime) <= MAX_TOKEN_LIFETIME:
        found.append(Suggestion("--token-lifetime", str(_lifetime(lifetime)), LIFETIME))
    return found


def describe_zone(minutes: int) -> str:
    """`UTC+09:00 (Etc/GMT-9)`."""
    zone = zone_for(minutes)
    return offset_text(minutes) + (f" ({zone})" if zone else "")
