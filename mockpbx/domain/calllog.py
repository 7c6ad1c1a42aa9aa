"""The call log of every domain: explicit calls (fixtures, added) and generated traffic."""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Protocol

from mockpbx.clock import Clock
from mockpbx.domain.calls import Call, CallRef, CallTable, Run, Span, page_runs, run_refs
from mockpbx.domain.encoding import REFERENCE, CallEncoder, CallFields, json_bytes, page_json, reference_fields
from mockpbx.domain.window import Page, Window

#: The most explicit calls (fixtures and added) the mock holds, all domains together: each costs
#: about 700 bytes and every addition re-sorts its domain, so a test suite that adds calls without
#: ever resetting meets a clear 409 instead of an ever slower, ever larger mock (1.2 million took
#: 887 MB and 3 s per addition). Volume belongs to generated traffic (`--calls-per-day`).
MAX_EXPLICIT_CALLS = 250_000


class GeneratedCalls(Protocol):
    """Generated traffic of one domain, visible over a rolling retention window."""

    retention_seconds: int

    def table_covering(self, now: float) -> CallTable:
        """A table that holds every generated call of [now - retention, now] (and maybe more)."""


@dataclass(eq=False, slots=True)
class CallPage:
    """One page of the call log, not to be changed once made; its calls stay positions in their
    tables until asked for. (Not a frozen dataclass: making one costs three times as much, and a
    page is made for every request.)"""

    runs: list[Run] = field(repr=False)
    limit: int
    offset: int
    total: int
    #: The wall-clock length of the window it answers, in seconds (None if not known).
    window_seconds: int | None = None
    #: Whether a `source` filtered it.
    filtered: bool = False

    @property
    def refs(self) -> list[CallRef]:
        """The calls of the page as (table, position), newest first."""
        return run_refs(self.runs)

    @property
    def calls(self) -> list[Call]:
        """The calls of the page, newest first."""
        return [table.call(position) for table, position in self.refs]

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, CallPage):
            return NotImplemented
        return (self.calls, self.limit, self.offset, self.total) == (other.calls, other.limit, other.offset, other.total)

    __hash__ = None  # type: ignore[assignment]

    def to_json(self, fields: CallFields = reference_fields) -> dict[str, object]:
        """The documented response object, each call shaped by `fields` (default: the reference shape)."""
        return {"data": [fields(c) for c in self.calls], "limit": self.limit,
                "offset": self.offset, "total": self.total}

    def to_bytes(self) -> bytes:
        """The response body: each call's JSON as its table encoded it, in the page object."""
        runs = self.runs
        encoded = runs[0][0].encoded_run(runs[0][1]) if len(runs) == 1 else \
            [data for table, positions in runs for data in table.encoded_run(positions)]
        return page_json(encoded, self.limit, self.offset, self.total)

    def reference_bytes(self, fields: CallFields = reference_fields) -> bytes:
        """The body serialised from scratch (json.dumps of `to_json(fields)`): what `to_bytes` must equal."""
        return json_bytes(self.to_json(fields))


class _DomainLog:
    def __init__(self, generated: GeneratedCalls | None, encode: CallEncoder) -> None:
        self.explicit: list[Call] = []
        self.table = CallTable((), tag=0, encode=encode)
        self.generated = generated


class CallLog:
    """Answers window queries per domain; explicit calls are always visible, generated
    calls only within [now - retention, now] of the clock, so the data is a function of
    the seed and the clock, never of the instant the mock started."""

    def __init__(self, clock: Clock, encode: CallEncoder = REFERENCE) -> None:
        self._clock = clock
        self._encode = encode
        self._domains: dict[str, _DomainLog] = {}
        self._lock = threading.Lock()

    def add_domain(self, domain_uuid: str, generated: GeneratedCalls | None = None) -> None:
        """Register a domain, optionally with generated traffic."""
        with self._lock:
            self._domains.setdefault(domain_uuid, _DomainLog(generated, self._encode)).generated = generated

    def add_calls(self, domain_uuid: str, calls: Iterable[Call]) -> int:
        """Add explicit calls to a domain (registering it if new); returns how many were added."""
        new = list(calls)
        with self._lock:
            log = self._domains.setdefault(domain_uuid, _DomainLog(None, self._encode))
            merged = log.explicit + new
            # Sorted by start; equal starts keep the order they were added in.
            table = CallTable(sorted(merged, key=lambda c: c.start_time), tag=0, encode=self._encode)
            log.explicit, log.table = merged, table
        return len(new)

    def domains(self) -> list[str]:
        """The registered domains."""
        return list(self._domains)

    def explicit_count(self) -> int:
        """How many explicit calls (fixtures and added) all domains hold."""
        return sum(len(log.explicit) for log in list(self._domains.values()))

    def query(self, domain_uuid: str, window: Window, source: str | None, page: Page) -> CallPage:
        """The page of calls of `domain_uuid` that started in `window`, newest first."""
        log = self._domains.get(domain_uuid)
        spans: list[Span] = []
        if log is not None:
            spans.append(log.table.span(window.start, window.end, source))
            if log.generated is not None:
                now = self._clock.now()
                table = log.generated.table_covering(now)
                oldest = int(now) - log.generated.retention_seconds
                spans.append(table.span(max(window.start, oldest), min(window.end, int(now)), source))
        total, runs = page_runs(spans, page.offset, page.limit)
        return CallPage(runs, page.limit, page.offset, total, window.wall_seconds, source is not None)

    def generated_calls(self, now: float) -> dict[str, list[Call]]:
        """Every generated call visible at `now`, per domain, oldest first."""
        result: dict[str, list[Call]] = {}
        for domain, log in self._domains.items():
            if log.generated is not None:
                oldest = int(now) - log.generated.retention_seconds
                span = log.generated.table_covering(now).span(oldest, int(now), None)
                result[domain] = [span.call(i) for i in range(span.low, span.high)]
        return result
