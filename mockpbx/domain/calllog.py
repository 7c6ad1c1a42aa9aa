"""The call log of every domain: explicit calls (fixtures, added) and generated traffic."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Protocol

from mockpbx.clock import Clock
from mockpbx.domain.calls import Call, CallTable, Span, page_of
from mockpbx.domain.window import Page, Window


class GeneratedCalls(Protocol):
    """Generated traffic of one domain, visible over a rolling retention window."""

    retention_seconds: int

    def table_covering(self, now: float) -> CallTable:
        """A table that holds every generated call of [now - retention, now] (and maybe more)."""


@dataclass(frozen=True)
class CallPage:
    """One page of the call log."""

    calls: list[Call]
    limit: int
    offset: int
    total: int

    def to_json(self, call_fields: Callable[[Call], dict[str, object]] | None = None) -> dict[str, object]:
        """The documented response object; `call_fields` shapes each call (default: `Call.to_json`)."""
        shape = call_fields or Call.to_json
        return {"data": [shape(c) for c in self.calls], "limit": self.limit,
                "offset": self.offset, "total": self.total}


class _DomainLog:
    def __init__(self, generated: GeneratedCalls | None) -> None:
        self.explicit: list[Call] = []
        self.table = CallTable((), tag=0)
        self.generated = generated


class CallLog:
    """Answers window queries per domain; explicit calls are always visible, generated
    calls only within [now - retention, now] of the clock, so the data is a function of
    the seed and the clock, never of the instant the mock started."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._domains: dict[str, _DomainLog] = {}
        self._lock = threading.Lock()

    def add_domain(self, domain_uuid: str, generated: GeneratedCalls | None = None) -> None:
        """Register a domain, optionally with generated traffic."""
        with self._lock:
            self._domains.setdefault(domain_uuid, _DomainLog(generated)).generated = generated

    def add_calls(self, domain_uuid: str, calls: Iterable[Call]) -> int:
        """Add explicit calls to a domain (registering it if new); returns how many were added."""
        new = list(calls)
        with self._lock:
            log = self._domains.setdefault(domain_uuid, _DomainLog(None))
            merged = log.explicit + new
            # Sorted by start; equal starts keep the order they were added in.
            table = CallTable(sorted(merged, key=lambda c: c.start_time), tag=0)
            log.explicit, log.table = merged, table
        return len(new)

    def domains(self) -> list[str]:
        """The registered domains."""
        return list(self._domains)

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
        total, calls = page_of(spans, page.offset, page.limit)
        return CallPage(calls, page.limit, page.offset, total)

    def generated_calls(self, now: float) -> dict[str, list[Call]]:
        """Every generated call visible at `now`, per domain, oldest first."""
        result: dict[str, list[Call]] = {}
        for domain, log in self._domains.items():
            if log.generated is not None:
                oldest = int(now) - log.generated.retention_seconds
                span = log.generated.table_covering(now).span(oldest, int(now), None)
                result[domain] = [span.call(i) for i in range(span.low, span.high)]
        return result
