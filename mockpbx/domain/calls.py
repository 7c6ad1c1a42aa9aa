"""Call records and the index that answers window queries in O(log n + page size).

A domain's calls live in one or more immutable, columnar `CallTable`s sorted by a
64-bit key: `start_time << 25 | table_tag << 24 | sequence`. The key makes the order
total (newest first, ties broken by the higher sequence, i.e. the later-added call)
and lets a window become a `bisect` range. A per-source copy of the keys answers the
`source` filter the same way. Paging across several tables finds the cut-off key by
binary search over key values, so any offset costs the same as offset 0. Each call's JSON
is encoded once, the first time a page shows it, and kept by its position (see
`mockpbx.domain.encoding`), so a page is answered by joining bytes, not by formatting calls.
"""

from __future__ import annotations

import time
from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

SEQ_BITS = 24
_SHIFT = SEQ_BITS + 1  # one bit tells tables apart, so keys of two tables never collide
MAX_CALLS_PER_TABLE = 1 << SEQ_BITS
MAX_START = (1 << (63 - _SHIFT)) - 1
#: A call's id packs its start, its table and its rank among the table's calls of the same second.
_RANK_BITS = 18
MAX_RANK = (1 << _RANK_BITS) - 1


def call_id(start_time: int, tag: int, rank: int) -> int:
    """A positive id, stable and unique within a domain: the same call always gets the same id.

    Generated days are a pure function of the seed and explicit calls keep their order, so
    the rank of a call among those of its table that start in the same second never changes.
    """
    return ((start_time << (_RANK_BITS + 1)) | (tag << _RANK_BITS) | rank) + 1


@dataclass(frozen=True)
class Call:
    """One answered call as the billing log shows it; times are Unix seconds (UTC)."""

    start_time: int
    duration: int
    source: str
    destination: str
    amount: int
    #: See `call_id`; 0 until the call is placed in a table.
    id: int = field(default=0, compare=False)

    @property
    def end_time(self) -> int:
        """When the call ended: start plus talk time."""
        return self.start_time + self.duration

    def to_json(self) -> dict[str, object]:
        """The call as the API serialises it (RFC 3339 UTC with `Z`, whole seconds)."""
        return {
            "amount": self.amount,
            "destination": self.destination,
            "duration": self.duration,
            "end_time": rfc3339(self.end_time),
            "source": self.source,
            "start_time": rfc3339(self.start_time),
        }


def rfc3339(unix_seconds: int) -> str:
    """Format Unix seconds as `YYYY-MM-DDTHH:MM:SSZ`."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(unix_seconds))


class _Strings:
    """Encodes phone-number strings compactly: digit strings as integers, the rest in a table."""

    def __init__(self) -> None:
        self.odd: list[str] = []
        self._odd_index: dict[str, int] = {}

    def encode(self, value: str) -> int:
        if value.isascii() and value.isdigit() and len(value) <= 17:
            return int("1" + value)
        code = self._odd_index.get(value)
        if code is None:
            code = self._odd_index[value] = -len(self.odd) - 1
            self.odd.append(value)
        return code

    def decode(self, code: int) -> str:
        return str(code)[1:] if code > 0 else self.odd[-code - 1]


class CallTable:
    """An immutable set of calls, sorted by key, with a per-source index."""

    def __init__(self, calls: Iterable[Call], tag: int = 0, encode: Callable[[Call], bytes] | None = None) -> None:
        """Index `calls`, which must already be sorted by start time (ties keep their order).

        `encode` turns a call into its JSON bytes (default: the reference shape).
        """
        from mockpbx.domain.encoding import REFERENCE  # encoding imports this module
        self.tag = tag
        self.encode = encode or REFERENCE
        self.keys = array("q")
        self._durations = array("l")
        self._amounts = array("q")
        self._sources = array("L")
        self._destinations = array("q")
        self._ranks = array("L")
        rank = 0
        self._source_names: list[str] = []
        self._dest_codec = _Strings()
        source_ids: dict[str, int] = {}
        by_source: dict[int, tuple[array[int], array[int]]] = {}
        tag_bits = tag << SEQ_BITS
        previous = -1
        for seq, call in enumerate(calls):
            if seq >= MAX_CALLS_PER_TABLE:
                raise ValueError(f"a table holds at most {MAX_CALLS_PER_TABLE} calls")
            if not 0 <= call.start_time <= MAX_START or call.start_time < previous:
                raise ValueError("calls must be sorted by start_time, from 1970 on")
            rank = rank + 1 if call.start_time == previous else 0
            if rank > MAX_RANK:
                raise ValueError(f"a table holds at most {MAX_RANK + 1} calls that start in the same second")
            previous = call.start_time
            key = call.start_time << _SHIFT | tag_bits | seq
            sid = source_ids.get(call.source)
            if sid is None:
                sid = source_ids[call.source] = len(self._source_names)
                self._source_names.append(call.source)
                by_source[sid] = (array("q"), array("L"))
            position = len(self.keys)
            self.keys.append(key)
            self._durations.append(call.duration)
            self._amounts.append(call.amount)
            self._sources.append(sid)
            self._destinations.append(self._dest_codec.encode(call.destination))
            self._ranks.append(rank)
            skeys, spositions = by_source[sid]
            skeys.append(key)
            spositions.append(position)
        self._by_source = {self._source_names[sid]: pair for sid, pair in by_source.items()}
        # Each call's JSON, encoded the first time a page shows it: the table is immutable, so
        # the position is a key that never goes stale. Encoding all of them here instead would
        # cost a million-call domain about 6 s of start-up and 170 MB; a slot costs 8 bytes.
        self._json: list[bytes | None] = [None] * len(self.keys)

    def __len__(self) -> int:
        return len(self.keys)

    @property
    def sources(self) -> list[str]:
        """The distinct sources, in order of first appearance."""
        return list(self._source_names)

    def call(self, position: int) -> Call:
        """The call at `position` in key order."""
        start = self.keys[position] >> _SHIFT
        return Call(
            start_time=start,
            duration=self._durations[position],
            source=self._source_names[self._sources[position]],
            destination=self._dest_codec.decode(self._destinations[position]),
            amount=self._amounts[position],
            id=call_id(start, self.tag, self._ranks[position]),
        )

    def encoded(self, position: int) -> bytes:
        """The JSON of the call at `position`, encoded once (two threads may both encode it: same bytes)."""
        data = self._json[position]
        if data is None:
            data = self._json[position] = self.encode(self.call(position))
        return data

    def encoded_run(self, positions: Sequence[int]) -> list[bytes]:
        """The JSON of the calls at `positions` (what `encoded` gives for each), in that order."""
        kept = self._json
        if type(positions) is range and positions.step == -1:  # a slice of the table, read backwards
            found = kept[positions.stop + 1:positions.start + 1]
            found.reverse()
        else:
            found = [kept[position] for position in positions]
        if not all(found):  # some are shown for the first time: encode them now
            found = [self.encoded(position) for position in positions]
        return found  # type: ignore[return-value]

    def __iter__(self):  # type: ignore[no-untyped-def]
        return (self.call(i) for i in range(len(self)))

    def span(self, start: int, end: int, source: str | None) -> Span:
        """The calls that started in [start, end] (Unix seconds), optionally from one source."""
        if source is None:
            keys: Sequence[int] = self.keys
            positions = None
        else:
            pair = self._by_source.get(source)
            if pair is None:
                return Span(self, self.keys, None, 0, 0)
            keys, positions = pair
        if end < start or end < 0 or not keys or start > keys[-1] >> _SHIFT or end < keys[0] >> _SHIFT:
            return Span(self, keys, positions, 0, 0)  # nothing in the window (one check, no search)
        low = bisect_left(keys, max(start, 0) << _SHIFT)
        high = bisect_left(keys, min(end + 1, MAX_START + 1) << _SHIFT)
        return Span(self, keys, positions, low, high)


#: A call of a page, as (its table, its position there): decoded or encoded only when needed.
CallRef = tuple[CallTable, int]


@dataclass
class Span:
    """A contiguous run of keys of one table: the matches of a query in that table."""

    table: CallTable
    keys: Sequence[int]
    positions: Sequence[int] | None
    low: int
    high: int

    def __len__(self) -> int:
        return self.high - self.low

    def ref(self, index: int) -> CallRef:
        """The (table, position) of the call at `index` (into `keys`)."""
        return self.table, index if self.positions is None else self.positions[index]

    def call(self, index: int) -> Call:
        """The call at `index` (into `keys`)."""
        return self.table.call(index if self.positions is None else self.positions[index])

    def count_at_least(self, key: int) -> int:
        """How many keys of the span are >= `key`."""
        return self.high - bisect_left(self.keys, key, self.low, self.high)


def page_of(spans: Sequence[Span], offset: int, limit: int) -> tuple[int, list[Call]]:
    """Return (total, the page) of the union of `spans`, newest first."""
    total, refs = page_refs(spans, offset, limit)
    return total, [table.call(position) for table, position in refs]


def page_refs(spans: Sequence[Span], offset: int, limit: int) -> tuple[int, list[CallRef]]:
    """Return (total, the page as references) of the union of `spans`, newest first."""
    total, runs = page_runs(spans, offset, limit)
    return total, run_refs(runs)


#: Calls of a page that lie in one table: (the table, their positions there, newest first).
Run = tuple["CallTable", Sequence[int]]


def run_refs(runs: Sequence[Run]) -> list[CallRef]:
    """The calls of `runs` as (table, position), in order."""
    return [(table, position) for table, positions in runs for position in positions]


def page_runs(spans: Sequence[Span], offset: int, limit: int) -> tuple[int, list[Run]]:
    """Return (total, the page as runs of one table each) of the union of `spans`, newest first."""
    total = 0
    live = []
    for span in spans:
        if span.high > span.low:
            total += span.high - span.low
            live.append(span)
    if offset >= total or limit <= 0:
        return total, []
    if len(live) == 1:  # the common case: one slice of one table's keys, read backwards
        span = live[0]
        top = span.high - offset
        bottom = max(span.low, top - limit)
        if span.positions is None:
            return total, [(span.table, range(top - 1, bottom - 1, -1))]
        return total, [(span.table, span.positions[bottom:top][::-1])]
    # The (offset+1)-th largest key across spans: the largest k with count(>= k) > offset.
    low = min(s.keys[s.low] for s in live)
    high = max(s.keys[s.high - 1] for s in live)
    while low < high:
        middle = (low + high + 1) // 2
        if sum(s.count_at_least(middle) for s in live) > offset:
            low = middle
        else:
            high = middle - 1
    cursors = [bisect_right(s.keys, low, s.low, s.high) - 1 for s in live]
    runs: list[tuple[CallTable, list[int]]] = []
    count = 0
    while count < limit:
        best = -1
        for i, span in enumerate(live):
            if cursors[i] >= span.low and (best < 0 or span.keys[cursors[i]] > live[best].keys[cursors[best]]):
                best = i
        if best < 0:
            break
        table, position = live[best].ref(cursors[best])
        if runs and runs[-1][0] is table:
            runs[-1][1].append(position)
        else:
            runs.append((table, [position]))
        cursors[best] -= 1
        count += 1
    return total, runs  # type: ignore[return-value]
