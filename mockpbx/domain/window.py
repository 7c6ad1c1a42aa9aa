"""Query rules of the call log: the date window (31 days at most) and paging."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache
from typing import NamedTuple
from zoneinfo import ZoneInfo

from mockpbx.domain.errors import InvalidRequestError

#: The vendor's message, byte for byte.
RANGE_TOO_LONG = "date range must be in 31 days"
MAX_RANGE = timedelta(days=31)
LIMIT_DEFAULT, LIMIT_MAX = 10, 1000
OFFSET_MAX = 2_147_483_647
SOURCE_MAX_LENGTH = 64

_LOCAL_PATTERN = re.compile(r"([1-9][0-9]{3})-([0-9]{2})-([0-9]{2}) ([0-9]{2}):([0-9]{2}):([0-9]{2})")  # years 1000-9999, as the contract


@dataclass(frozen=True)
class Window:
    """An inclusive window of call start times, as Unix seconds; `wall_seconds` is its length on
    the wall clock (what the 31-day rule measures), when it was made from query values."""

    start: int
    end: int
    wall_seconds: int | None = field(default=None, compare=False)


class Page(NamedTuple):
    """Which slice of the newest-first matches to return (a tuple: made for every request, and
    a frozen dataclass costs twice as much to make)."""

    limit: int = LIMIT_DEFAULT
    offset: int = 0


def parse_local(name: str, value: str | None, zone: ZoneInfo) -> datetime:
    """Parse `YYYY-MM-DD HH:MM:SS` as a wall-clock time in `zone`; reject impossible dates."""
    if value is None or value == "":
        raise InvalidRequestError(f"{name} is required (YYYY-MM-DD HH:MM:SS)")
    match = _LOCAL_PATTERN.fullmatch(value)
    if match is None:
        raise InvalidRequestError(f"{name} must be a date and time as YYYY-MM-DD HH:MM:SS")
    try:  # the datetime constructor is strptime's check without its cost
        year, month, day, hour, minute, second = map(int, match.groups())
        return datetime(year, month, day, hour, minute, second, tzinfo=zone)
    except ValueError:
        raise InvalidRequestError(f"{name} is not a real calendar date and time: {value}") from None


@lru_cache(maxsize=1024)  # a pure function of its arguments: clients page and poll the same window
def make_window(start_date: str | None, end_date: str | None, zone: ZoneInfo) -> Window:
    """Build the window from the two query values, applying the order and 31-day rules.

    The length is measured on the wall clock (as the vendor's backend compares naive
    local datetimes): exactly 31 days is allowed, one second more is not.
    """
    start = parse_local("start_date", start_date, zone)
    end = parse_local("end_date", end_date, zone)
    # Both carry the same tzinfo, so Python compares and subtracts them as naive wall-clock times.
    if start > end:
        raise InvalidRequestError("start_date must not be after end_date")
    if end - start > MAX_RANGE:
        raise InvalidRequestError(RANGE_TOO_LONG)
    try:
        return Window(int(start.timestamp()), int(end.timestamp()), int((end - start).total_seconds()))
    except (OverflowError, ValueError):  # years at the edge of what datetime can shift
        raise InvalidRequestError("start_date and end_date must be between years 1 and 9999") from None


def parse_uint(name: str, value: str | None, default: int, low: int, high: int) -> int:
    """Parse a decimal integer query value within [low, high]; absent means `default`."""
    if value is None:
        return default
    if not (value.isascii() and value.isdigit() and len(value) <= 20) or not low <= int(value) <= high:
        raise InvalidRequestError(f"{name} must be an integer from {low} to {high}")
    return int(value)


def make_page(limit: str | None, offset: str | None) -> Page:
    """Build the page from the `limit` and `offset` query values."""
    return Page(parse_uint("limit", limit, LIMIT_DEFAULT, 1, LIMIT_MAX),
                parse_uint("offset", offset, 0, 0, OFFSET_MAX))


def normalise_source(source: str | None) -> str | None:
    """An absent or empty `source` means no filter."""
    if source is not None and len(source) > SOURCE_MAX_LENGTH:
        raise InvalidRequestError(f"source must be at most {SOURCE_MAX_LENGTH} characters")
    return source or None
