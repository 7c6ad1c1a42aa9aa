"""The call log's business rules as framework-free checks on one request and its response.

Each check takes what was asked (the query) and what came back (status, JSON body) and
raises `RuleViolation` with a message saying what was expected and what came back. The
schemathesis checks and `mockpbx verify` both use them, against the mock or a real host.
Checks are explicit `raise`s, never `assert` statements: `python -O` must not turn them off.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

RANGE_TOO_LONG = "date range must be in 31 days"
MAX_RANGE = timedelta(days=31)
_LOCAL = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}")
_UTC = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z")
_UINT = re.compile(r"[0-9]{1,20}")
#: A token should expire within this long after it is issued ("the near future").
MAX_TOKEN_LIFETIME = timedelta(days=7)
#: Clock skew tolerated between this machine and the host.
CLOCK_SKEW = timedelta(minutes=5)
#: Host offsets that explain a shift best: UTC, and the vendor's zone (Asia/Ho_Chi_Minh).
LIKELY_HOST_OFFSETS = (timedelta(0), timedelta(hours=7))


class RuleViolation(AssertionError):
    """A business rule the answer broke. An AssertionError, so that schemathesis and pytest
    report it as a failed check, but raised explicitly: it holds under `python -O`."""


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


#: Reads a printed response time as naive wall-clock time in the PBX zone (see mockpbx/profiles.py).
TimeReader = Callable[[object, ZoneInfo], "datetime | None"]


def read_utc(value: object, zone: ZoneInfo) -> datetime | None:
    """A printed UTC time (the reference profile) as naive wall-clock time in `zone`."""
    moment = parse_utc(value)
    return None if moment is None else moment.astimezone(zone).replace(tzinfo=None)


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


def check_window_rule(query: CallLogQuery, status: int, body: object, message: str = RANGE_TOO_LONG) -> None:
    """The 31-day rule: at most 31 days is served, more gets 400 with the vendor's message,
    and an inverted window is rejected."""
    window = query.window()
    if window is None or status == 401:
        return
    start, end = window
    length = end - start
    if start > end:
        if not (status == 400):
            raise RuleViolation(f"start_date {query.start_date} is after end_date {query.end_date}: expected 400, got {status}")
        return
    if length > MAX_RANGE:
        if not (status == 400):
            raise RuleViolation(f"window of {length} is over 31 days: expected 400, got {status}")
        if not (body == {"error": message}):
            raise RuleViolation(f"window of {length} is over 31 days: expected body {{\"error\": \"{message}\"}}, got {body!r}")
        return
    if status == 400 and isinstance(body, dict) and body.get("error") == message:
        raise RuleViolation(f"window of {length} is within 31 days but was rejected with {body!r}")


def _timed(data: list[object]) -> Iterator[tuple[int, dict[str, object], datetime, datetime]]:
    """The records whose start_time and end_time parse, with their index and times."""
    for index, record in enumerate(data):
        if isinstance(record, dict):
            start, end = parse_utc(record.get("start_time")), parse_utc(record.get("end_time"))
            if start is not None and end is not None:
                yield index, record, start, end


def check_page_shape(query: CallLogQuery, data: list[object], body: dict[str, object]) -> None:
    """limit and offset echoed, at most `limit` records, exactly as many as total and offset leave."""
    limit, offset, total = query.expected_limit(), query.expected_offset(), body.get("total")
    if limit is not None:
        if not (body.get("limit") == limit):
            raise RuleViolation(f"limit: expected {limit} echoed, got {body.get('limit')!r}")
        if not (len(data) <= limit):
            raise RuleViolation(f"page has {len(data)} records, more than limit {limit}")
    if offset is not None:
        if not (body.get("offset") == offset):
            raise RuleViolation(f"offset: expected {offset} echoed, got {body.get('offset')!r}")
        if limit is not None and isinstance(total, int):
            expected = max(0, min(limit, total - offset))
            if not (len(data) == expected):
                raise RuleViolation(f"page has {len(data)} records; with total {total}, offset {offset} and limit {limit} "
                f"it should have {expected}")


def check_record_arithmetic(data: list[object]) -> None:
    """Every record: duration = end_time - start_time, amount a non-negative integer."""
    for index, record, start, end in _timed(data):
        duration = record.get("duration")
        if not (duration == int((end - start).total_seconds())):
            raise RuleViolation(f"data[{index}]: duration {duration!r} but end_time - start_time is {int((end - start).total_seconds())} s")
        amount = record.get("amount")
        if not (isinstance(amount, int) and not isinstance(amount, bool) and amount >= 0):
            raise RuleViolation(f"data[{index}]: amount must be a non-negative integer, got {amount!r}")


def check_newest_first(data: list[object]) -> None:
    """Records ordered by start_time, newest first."""
    previous: datetime | None = None
    for index, record, start, _ in _timed(data):
        if previous is not None and start > previous:
            raise RuleViolation(f"data[{index}] starts at {record.get('start_time')}, after data[{index - 1}]: "
                                "not newest first")
        previous = start


def check_in_window(query: CallLogQuery, data: list[object], zone: ZoneInfo,
                    read_time: TimeReader = read_utc) -> None:
    """Every record started inside the requested window, read in `zone` (times read by `read_time`)."""
    window = query.window()
    if window is None:
        return
    for index, record, _, _ in _timed(data):
        local = read_time(record.get("start_time"), zone)
        if local is None:
            continue
        if not (window[0] <= local <= window[1]):
            raise RuleViolation(f"data[{index}] starts at {record.get('start_time')} = {local} in {zone.key}, "
                                f"outside the window {query.start_date} .. {query.end_date}")


def check_source_filter(query: CallLogQuery, data: list[object]) -> None:
    """With a non-empty `source`, every record is from that source."""
    if not isinstance(query.source, str) or not query.source:
        return
    for index, record in enumerate(data):
        if isinstance(record, dict) and record.get("source") != query.source:
            raise RuleViolation(f"data[{index}] has source {record.get('source')!r}, but source={query.source!r} "
                                "was asked")


def page_data(status: int, body: object) -> tuple[list[object], dict[str, object]] | None:
    """The records and the body of a 200 page whose shape the rules can judge, else None."""
    if status != 200 or not isinstance(body, dict):
        return None
    data, total = body.get("data"), body.get("total")
    if not isinstance(data, list) or not isinstance(total, int):
        return None  # the schema check reports the shape
    return data, body


def check_page(query: CallLogQuery, status: int, body: object, zone: ZoneInfo,
               read_time: TimeReader = read_utc) -> None:
    """Paging and record rules of a 200 call-log page: echo, size, order, window, filter, arithmetic."""
    page = page_data(status, body)
    if page is None:
        return
    data, document = page
    check_page_shape(query, data, document)
    check_record_arithmetic(data)
    check_newest_first(data)
    check_in_window(query, data, zone, read_time)
    check_source_filter(query, data)


def check_token_expiry(expire_at: object, now: float) -> None:
    """`expire_at` is an integer of Unix seconds in the near future (not milliseconds, not past)."""
    if not (isinstance(expire_at, int) and not isinstance(expire_at, bool)):
        raise RuleViolation(f"expire_at must be an integer of Unix seconds, got {expire_at!r}")
    earliest = now - CLOCK_SKEW.total_seconds()
    latest = now + (MAX_TOKEN_LIFETIME + CLOCK_SKEW).total_seconds()
    unit = " (milliseconds?)" if expire_at > 1000 * now else ""
    if not (earliest < expire_at <= latest):
        raise RuleViolation(f"expire_at {expire_at}{unit} should be Unix seconds in the near future "
        f"(now is {int(now)}; at most {MAX_TOKEN_LIFETIME.days} days ahead)")


#: The longest `expired_in` believed (the vendor's sample has about 179 days).
MAX_EXPIRED_IN = timedelta(days=400)


def check_expired_in(expired_in: object) -> None:
    """`expired_in` (the revised profile) is a positive integer of seconds, not milliseconds."""
    if not (isinstance(expired_in, int) and not isinstance(expired_in, bool)):
        raise RuleViolation(f"expired_in must be an integer of seconds, got {expired_in!r}")
    if not (0 < expired_in <= MAX_EXPIRED_IN.total_seconds()):
        raise RuleViolation(f"expired_in {expired_in} should be a lifetime in seconds, from 1 to {int(MAX_EXPIRED_IN.total_seconds())}")


def record_key(record: object) -> str:
    """A record as a comparable value (its JSON fields, sorted)."""
    return repr(sorted(record.items())) if isinstance(record, dict) else repr(record)


def check_total_stable(first_total: int, total: object, offset: int) -> None:
    """`total` does not change while paging through the same query."""
    if not (total == first_total):
        raise RuleViolation(f"total changed while paging: {first_total} on the first page, {total!r} at offset {offset}")


def check_pages_cover(pages: Sequence[tuple[int, list[object]]], total: int,
                      full: list[object] | None = None) -> None:
    """Pages (offset, data) are disjoint and, put together, are exactly the full listing."""
    seen: dict[str, int] = {}
    joined: list[object] = []
    for offset, data in pages:
        for index, record in enumerate(data):
            key = record_key(record)
            if key in seen and (full is None or full.count(record) < 2):
                raise RuleViolation(f"the page at offset {offset} repeats, at data[{index}], the record "
                                     f"seen at position {seen[key]}: pages overlap")
            seen.setdefault(key, offset + index)
            joined.append(record)
    covered = min(total, pages[-1][0] + len(pages[-1][1])) if pages else 0
    if not (len(joined) == covered):
        raise RuleViolation(f"pages hold {len(joined)} records together, expected {covered} of total {total}")
    if full is not None:
        for index, (left, right) in enumerate(zip(joined, full, strict=False)):
            if not (left == right):
                raise RuleViolation(f"record {index} of the pages put together differs from record {index} "
                                   f"of a single page of {len(full)}: {left!r} != {right!r}")


def local_start(record: object, zone: ZoneInfo, read_time: TimeReader = read_utc) -> datetime | None:
    """A record's start_time as a naive wall-clock time in `zone`, if it parses."""
    return read_time(record.get("start_time"), zone) if isinstance(record, dict) else None


def window_shift(samples: Iterable[tuple[tuple[datetime, datetime], Sequence[datetime]]]
                 ) -> tuple[timedelta, timedelta] | None:
    """The range of constant shifts d such that every record of every sample (window, local
    start times) lies in the window moved by d; None if no single shift fits them all."""
    low, high = timedelta.min, timedelta.max
    for (start, end), times in samples:
        for time in times:
            low, high = max(low, time - end), min(high, time - start)
    if low > high or low == timedelta.min:
        return None
    return low, high


def _hours(delta: timedelta) -> str:
    minutes = int(delta.total_seconds()) // 60
    sign = "-" if minutes < 0 else "+"
    hours, rest = divmod(abs(minutes), 60)
    return f"{sign}{hours}" + (f":{rest:02d}" if rest else "")


def describe_shift(shift: tuple[timedelta, timedelta], zone: ZoneInfo, when: datetime,
                   likely: Sequence[timedelta] = LIKELY_HOST_OFFSETS) -> str | None:
    """Explain a constant shift of all records as the time zone the host seems to read times in.

    Among the shifts that fit, one that a `likely` host offset explains wins; otherwise the
    whole hour nearest the middle of the range (quarter hours if no whole hour fits).
    """
    low, high = shift
    ours = zone.utcoffset(when) or timedelta(0)
    quarter, real = timedelta(minutes=15), (timedelta(hours=-12), timedelta(hours=14))  # offsets in use
    candidates = [k * quarter for k in range(-26 * 4, 26 * 4 + 1)
                  if low <= k * quarter <= high and k != 0 and real[0] <= ours - k * quarter <= real[1]]
    if not candidates:
        return None
    middle = low + (high - low) / 2
    whole = [c for c in candidates if c % timedelta(hours=1) == timedelta(0)] or candidates
    fitting = [ours - host for host in likely if ours - host in candidates]
    guess = fitting[0] if fitting else min(whole, key=lambda c: abs(c - middle))
    host = ours - guess
    text = (f"every record is {_hours(guess)} h off the window in {zone.key}: "
            f"host appears to read times as UTC{_hours(host)}")
    if high - low > timedelta(hours=3):
        text += f" (the records fit any shift from {_hours(low)} to {_hours(high)} h)"
    if host == timedelta(0) and ours != timedelta(0):
        text += f" (or it prints {zone.key} wall-clock times with a Z suffix)"
    return text
