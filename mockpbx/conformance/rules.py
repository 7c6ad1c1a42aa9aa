"""The call log's business rules as framework-free checks on one request and its response.

Each check takes what was asked (the query) and what came back (status, JSON body) and
raises AssertionError with a message saying what was expected and what came back. The
schemathesis checks and `mockpbx verify` both use them, against the mock or a real host.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

RANGE_TOO_LONG = "date range must be in 31 days"
MAX_RANGE = timedelta(days=31)
_LOCAL = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}")
_UTC = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z")
_UINT = re.compile(r"[0-9]{1,20}")


def parse_local(value: object) -> datetime | None:
    """A naive wall-clock datetime from `YYYY-MM-DD HH:MM:SS`, or None if it is not one."""
    if not isinstance(value, str) or not _LOCAL.fullmatch(value):
        return None
    try:
        return datetime.strptime(value, "%Y-%m-%d %H:%M:%S")
    except ValueError:
        return None


def parse_utc(value: object) -> datetime | None:
    """An aware UTC datetime from `YYYY-MM-DDTHH:MM:SSZ`, or None."""
    if not isinstance(value, str) or not _UTC.fullmatch(value):
        return None
    try:
        return datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
    except ValueError:
        return None


@dataclass(frozen=True)
class CallLogQuery:
    """A call-log query as sent (raw query values)."""

    start_date: object = None
    end_date: object = None
    source: object = None
    limit: object = None
    offset: object = None

    @classmethod
    def from_mapping(cls, query: Mapping[str, object] | None) -> CallLogQuery:
        """From a query mapping; list values (repeated parameters) are not judged here."""
        query = query or {}
        return cls(*(query.get(k) for k in ("start_date", "end_date", "source", "limit", "offset")))

    def window(self) -> tuple[datetime, datetime] | None:
        """The naive local window, if both dates are real dates."""
        start, end = parse_local(self.start_date), parse_local(self.end_date)
        return None if start is None or end is None else (start, end)

    def _uint(self, value: object, default: int, low: int, high: int) -> int | None:
        if value is None:
            return default
        text = str(value)
        if not _UINT.fullmatch(text) or not low <= int(text) <= high:
            return None
        return int(text)

    def expected_limit(self) -> int | None:
        """The limit the host should apply, or None if the value sent is invalid."""
        return self._uint(self.limit, 10, 1, 1000)

    def expected_offset(self) -> int | None:
        """The offset the host should apply, or None if the value sent is invalid."""
        return self._uint(self.offset, 0, 0, 2_147_483_647)

    def is_valid(self) -> bool:
        """Whether every parameter is valid, the window included."""
        window = self.window()
        return (window is not None and window[0] <= window[1] and window[1] - window[0] <= MAX_RANGE
                and self.expected_limit() is not None and self.expected_offset() is not None
                and (self.source is None or isinstance(self.source, str)))


def check_window_rule(query: CallLogQuery, status: int, body: object) -> None:
    """The 31-day rule: at most 31 days is served, more gets 400 with the vendor's message,
    and an inverted window is rejected."""
    window = query.window()
    if window is None or status == 401:
        return
    start, end = window
    length = end - start
    if start > end:
        assert status == 400, f"start_date {query.start_date} is after end_date {query.end_date}: expected 400, got {status}"
        return
    if length > MAX_RANGE:
        assert status == 400, f"window of {length} is over 31 days: expected 400, got {status}"
        assert body == {"error": RANGE_TOO_LONG}, (
            f"window of {length} is over 31 days: expected body {{\"error\": \"{RANGE_TOO_LONG}\"}}, got {body!r}")
        return
    if status == 400 and isinstance(body, dict) and body.get("error") == RANGE_TOO_LONG:
        raise AssertionError(f"window of {length} is within 31 days but was rejected with {body!r}")


def check_page(query: CallLogQuery, status: int, body: object, zone: ZoneInfo) -> None:
    """Paging and record rules of a 200 call-log page: echo, size, order, window, filter, arithmetic."""
    if status != 200 or not isinstance(body, dict):
        return
    data, total = body.get("data"), body.get("total")
    if not isinstance(data, list) or not isinstance(total, int):
        return  # the schema check reports the shape
    limit, offset = query.expected_limit(), query.expected_offset()
    if limit is not None:
        assert body.get("limit") == limit, f"limit: expected {limit} echoed, got {body.get('limit')!r}"
        assert len(data) <= limit, f"page has {len(data)} records, more than limit {limit}"
    if offset is not None:
        assert body.get("offset") == offset, f"offset: expected {offset} echoed, got {body.get('offset')!r}"
        if limit is not None:
            expected = max(0, min(limit, total - offset))
            assert len(data) == expected, (
                f"page has {len(data)} records; with total {total}, offset {offset} and limit {limit} "
                f"it should have {expected}")
    window = query.window()
    previous: datetime | None = None
    for index, record in enumerate(data):
        if not isinstance(record, dict):
            continue
        start, end = parse_utc(record.get("start_time")), parse_utc(record.get("end_time"))
        if start is None or end is None:
            continue
        duration = record.get("duration")
        assert duration == int((end - start).total_seconds()), (
            f"data[{index}]: duration {duration!r} but end_time - start_time is {int((end - start).total_seconds())} s")
        amount = record.get("amount")
        assert isinstance(amount, int) and not isinstance(amount, bool) and amount >= 0, (
            f"data[{index}]: amount must be a non-negative integer, got {amount!r}")
        if previous is not None:
            assert start <= previous, (
                f"data[{index}] starts at {record.get('start_time')}, after data[{index - 1}]: not newest first")
        previous = start
        if window is not None:
            local = start.astimezone(zone).replace(tzinfo=None)
            assert window[0] <= local <= window[1], (
                f"data[{index}] starts at {record.get('start_time')} = {local} in {zone.key}, "
                f"outside the window {query.start_date} .. {query.end_date}")
        if isinstance(query.source, str) and query.source:
            assert record.get("source") == query.source, (
                f"data[{index}] has source {record.get('source')!r}, but source={query.source!r} was asked")
