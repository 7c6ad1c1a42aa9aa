"""Counting outcomes as requests arrive: each journalled request is classified against the
catalogue and its outcomes are counted in the control store (so every worker counts into one
total, and a bounded journal loses nothing)."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import date
from functools import lru_cache
from typing import Any, Protocol

from mockpbx.control.journal import RawEntry
from mockpbx.querystring import query_pairs
from mockpbx.coverage.catalogue import (
    EMPTY_PAGE,
    LAST_PARTIAL_PAGE,
    NEXT_PAGE,
    SOURCE_FILTER,
    WINDOW_31_DAYS,
    Catalogue,
    Operation,
    build_catalogue,
)

# The call-log page ends with its paging fields (mockpbx/domain/calllog.py CallPage.to_json).
_PAGE_TAIL = re.compile(rb'"limit":([0-9]+),"offset":([0-9]+),"total":([0-9]+)\}\s*$')
_LOOKED_AT = frozenset(("source", "start_date", "end_date"))
_31_DAYS = 31 * 86400
MEMO_SIZE = 4096


class OutcomeCounters(Protocol):
    """The part of the control store that keeps the counts."""

    def count_outcomes(self, slots: tuple[int, ...]) -> None: ...
    def outcome_counts(self) -> list[int]: ...
    def clear_coverage(self) -> None: ...


class PageFacts(Protocol):
    """What the call-log endpoint knows of a page it computed (the domain's `CallPage`): the
    paging fields, whether a `source` filtered it and the window's wall-clock length (what
    classifying its text finds)."""

    limit: int
    offset: int
    total: int
    filtered: bool
    window_seconds: int | None


def classify(catalogue: Catalogue, method: str, path: str, status: int | None, fault: str | None,
             query_string: str, body: bytes, page: PageFacts | None = None) -> tuple[int, ...]:
    """The catalogue slots of the outcomes one request met (none for paths outside the contract);
    a 200 page's are read from `page` when given, else from its query and the body's tail."""
    operation = catalogue.operation(method, path)
    if operation is None:
        return ()
    slots: tuple[int, ...] = ()
    if fault is not None:
        if fault == "error":
            slot = operation.faults.get(("error", status))
            return () if slot is None else (slot,)
        slots = (operation.faults[(fault, None)],)
        if fault != "delay":  # drop and malformed: the client never got a usable answer
            return slots
    if status is None:
        return slots
    patterns = operation.errors.get(status)
    if patterns is not None:
        message = _error_message(body)
        return slots + next(((slot,) for slot, pattern in patterns if pattern.search(message)), ())
    plain = operation.plain.get(status)
    if plain is None:
        return slots
    slots += (plain,)
    if operation.success and status == 200:
        slots += _success_slots(operation, query_string, body[-96:], page)
    return slots


def _error_message(body: bytes) -> str:
    try:
        document = json.loads(body)
    except (ValueError, RecursionError):
        return ""
    message = document.get("error") if isinstance(document, dict) else None
    return message if isinstance(message, str) else ""


def _success_slots(operation: Operation, query_string: str, tail: bytes,
                   page: PageFacts | None = None) -> tuple[int, ...]:
    if page is None:
        match = _PAGE_TAIL.search(tail)
        query = _query_values(query_string)
        paging = None if match is None else (int(match[1]), int(match[2]), int(match[3]))
        kinds = _success_kinds(paging, bool(query.get("source")), _window_seconds(query))
    else:
        kinds = page_kinds(page)
    return tuple(operation.success[kind] for kind in kinds if kind in operation.success)


def page_kinds(page: PageFacts) -> tuple[str, ...]:
    """The success outcomes a computed page meets (what classifying it counts, before the
    operation says which of them it documents)."""
    return _success_kinds((page.limit, page.offset, page.total), page.filtered, page.window_seconds)


def _success_kinds(paging: tuple[int, int, int] | None, filtered: bool, window: int | None) -> tuple[str, ...]:
    """The success outcomes of a 200 page: from its paging fields (limit, offset, total) if it
    has them, whether a source filtered it and its window's wall-clock length."""
    kinds = []
    if paging is not None:
        limit, offset, total = paging
        if offset > 0:
            kinds.append(NEXT_PAGE)
        if offset >= total:
            kinds.append(EMPTY_PAGE)
        elif total - offset < limit:
            kinds.append(LAST_PARTIAL_PAGE)
    if filtered:
        kinds.append(SOURCE_FILTER)
    if window == _31_DAYS:
        kinds.append(WINDOW_31_DAYS)
    return tuple(kinds)


def _query_values(query_string: str) -> dict[str, str]:
    """The first value of each query parameter coverage looks at, names and values decoded as
    `parse_qs` decodes them (and the call log: `%73ource` is `source`), by `query_pairs`."""
    values: dict[str, str] = {}
    for name, value in query_pairs(query_string):
        if name in _LOOKED_AT and name not in values:
            values[name] = value
    return values


def _window_seconds(query: Mapping[str, str]) -> int | None:
    """end_date - start_date on the wall clock, as the 31-day rule measures it."""
    start, end = _moment(query.get("start_date", "")), _moment(query.get("end_date", ""))
    return None if start is None or end is None else end - start


_DIGITS = frozenset("0123456789")


def _moment(text: str) -> int | None:
    """Seconds since day 1 of a `YYYY-MM-DD HH:MM:SS` wall-clock time (ASCII digits, a real
    date and time), else None: `[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}` and a calendar
    check, by slicing (this runs per request)."""
    if len(text) != 19 or text[10] != " " or text[13] != ":" or text[16] != ":" \
            or not _DIGITS.issuperset(text[11:13] + text[14:16] + text[17:19]):
        return None
    day = _day_number(text[:10])
    hour, minute, second = int(text[11:13]), int(text[14:16]), int(text[17:19])
    if day is None or hour > 23 or minute > 59 or second > 59:
        return None
    return day * 86400 + hour * 3600 + minute * 60 + second


@lru_cache(maxsize=4096)
def _day_number(text: str) -> int | None:
    """The proleptic ordinal of a `YYYY-MM-DD` date, None if it is not a real one (few distinct
    dates recur across requests: cached)."""
    if text[4:5] != "-" or text[7:8] != "-" or not _DIGITS.issuperset(text[:4] + text[5:7] + text[8:]):
        return None  # fromisoformat also takes week dates (`2026-W48-7`): the rule does not
    try:
        return date.fromisoformat(text).toordinal()
    except ValueError:
        return None


class Coverage:
    """The outcomes of a running mock: the catalogue of its contract and the store's counters."""

    def __init__(self, catalogue: Catalogue, counters: OutcomeCounters) -> None:
        self.catalogue = catalogue
        self.counters = counters
        self._memo: dict[tuple[object, ...], tuple[int, ...]] = {}
        self._page_memo: dict[tuple[object, ...], tuple[int, ...]] = {}

    @classmethod
    def for_contract(cls, contract: Mapping[str, Any], counters: OutcomeCounters) -> Coverage:
        """Coverage of the outcomes of `contract` (the running profile's), counted in `counters`."""
        return cls(build_catalogue(contract), counters)

    def count(self, entry: RawEntry, response: bytes, page: PageFacts | None = None) -> None:
        """Count what one journalled request met; `response` is the body the client was sent,
        `page` what the call-log endpoint knows of the page it computed for it (then the
        classification needs no parsing, and no memo)."""
        if page is not None and entry.status == 200 and entry.fault is None:
            # A computed page's outcomes follow from its kinds: classify each combination once.
            facts = (entry.method, entry.path, page_kinds(page))
            computed = self._page_memo.get(facts)
            if computed is None:
                computed = classify(self.catalogue, entry.method, entry.path, 200, None, entry.query_string,
                                    response, page)
                if len(self._page_memo) >= MEMO_SIZE:
                    self._page_memo.clear()
                self._page_memo[facts] = computed
            if computed:
                self.counters.count_outcomes(computed)
            return
        fault = None if entry.fault is None else entry.fault[1]
        # A polling client repeats its requests: classify each once. A page is known by its tail
        # (its paging fields); any other answer by all of it, or not memoised if long.
        shown = response[-96:] if entry.status == 200 else response
        key = (entry.method, entry.path, entry.status, fault, entry.query_string, shown)
        slots = self._memo.get(key)
        if slots is None:
            slots = classify(self.catalogue, entry.method, entry.path, entry.status, fault,
                             entry.query_string, response)
            if len(shown) <= 1024:
                if len(self._memo) >= MEMO_SIZE:
                    self._memo.clear()  # bounded; cheap to fill again
                self._memo[key] = slots
        if slots:
            self.counters.count_outcomes(slots)

    def clear(self) -> None:
        """Forget every count."""
        self.counters.clear_coverage()

    def to_json(self) -> dict[str, Any]:
        """`{"outcomes": [{operation, status, kind, count}...], "exercised": N, "total": M}`."""
        counts = self.counters.outcome_counts()
        outcomes = [{"operation": o.operation, "status": o.status, "kind": o.kind, "count": counts[i]}
                    for i, o in enumerate(self.catalogue.outcomes)]
        return {"outcomes": outcomes, "exercised": sum(1 for o in outcomes if o["count"]),
                "total": len(outcomes)}
