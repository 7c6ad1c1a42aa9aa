"""The mutable state of a running mock, kept apart from the data built at start-up.

Everything a control request changes lives here, as plain JSON-able records: the clock,
the accounts and calls added since the last reset (an ordered log of mutations), the
faults and the journal. A worker applies the mutations it has not seen yet before each
request (see `Backend.sync`), so a store shared between processes (same interface, other
storage) makes several workers behave as one server.

Lock order. Every thread that holds more than one of these locks takes them in this order,
never the other way round, and never calls back up the list while holding a later one:

1. `Backend._lock` (per process, re-entrant): applying mutations (`Backend.sync`), and around
   a control change (`add_account`, `add_calls`), whose validation syncs inside step 2.
2. The store lock: `MemoryStore._lock` (re-entrant), or `SharedStore._locked()` (its thread
   lock, then the cross-process `flock`, re-entrant within a thread).
3. `ControllableClock._lock` and `CallLog._lock`: leaves, nothing is called under them.

So `store.record(validate)` is only called with the backend lock already held: `validate`
syncs (backend lock again, re-entrant) without ever waiting for it under the store lock.
The journal: `MemoryStore` appends under the store lock; `SharedStore` appends to its process's
file under `SharedStore._journal_lock`, which is taken with no other lock of this list held and
inside which only the store's handle lock (`_thread_lock`, to track the file) is taken.
"""

from __future__ import annotations

import itertools
import threading
from collections import deque
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from mockpbx.clock import ControllableClock
from mockpbx.control.counters import MemoryCounters, StoreCoverage
from mockpbx.control.faults import Fault, check_room, fault_from_record
from mockpbx.control.journal import RawEntry, entry_bytes, materialize

#: Default bound of the journal's total size, besides its count.
JOURNAL_BYTES = 4 * 1024 * 1024

Mutation = dict[str, Any]


class ControlStore(Protocol):
    """What the app needs from the control state; implementations may be shared across processes."""

    clock: ControllableClock

    def version(self) -> tuple[int, int]:
        """(reset generation, number of mutations since it)."""

    def mutations_since(self, generation: int, applied: int) -> tuple[int, list[Mutation]]:
        """The current generation and the mutations after the first `applied` of it."""

    def record(self, validate: Callable[[], Mutation]) -> Mutation:
        """Append the mutation that `validate()` returns, atomically with its validation."""

    def reset(self) -> None:
        """Back to the start-up state: no mutations, faults or journal; the clock back to start."""

    def add_fault(self, record: object) -> Fault: ...
    def faults(self) -> list[Fault]: ...
    def clear_faults(self, fault_id: int | None = None) -> int: ...
    def take_fault(self, method: str, path: str) -> Fault | None: ...
    def has_faults(self) -> bool: ...
    def journal_epoch(self) -> int:
        """Which clearing of the journal is current; a request notes it when it starts."""

    def log(self, entry: RawEntry, epoch: int | None = None) -> None:
        """Journal an entry, unless the journal was cleared (or reset) since `epoch`."""

    def requests(self) -> list[dict[str, Any]]: ...
    def clear_requests(self) -> None: ...
    def count_outcomes(self, slots: tuple[int, ...]) -> None: ...
    def outcome_counts(self) -> list[int]: ...
    def clear_coverage(self) -> None: ...


class MemoryStore(StoreCoverage):
    """The control state of one process (any number of threads)."""

    def __init__(self, clock: ControllableClock, journal_size: int = 1000, journal_bytes: int = JOURNAL_BYTES) -> None:
        self.clock = clock
        self._initial_clock = (clock.now(), clock.frozen)
        self._lock = threading.RLock()
        self._generation = 0
        self._mutations: list[Mutation] = []
        #: (generation, mutations): replaced whole under the lock, read without it (every request
        #: reads it; a reader that misses a change by a moment syncs it on its next request).
        self._version = (0, 0)
        self._faults: list[Fault] = []
        self._remaining: dict[int, int | None] = {}
        self._fault_ids = itertools.count(1)
        self._journal: deque[tuple[int, RawEntry, int]] = deque()
        self._journal_size, self._journal_bytes, self._journal_total = journal_size, journal_bytes, 0
        self._journal_epoch = 0
        self._entry_ids = itertools.count(1)
        self._coverage = MemoryCounters()  # not touched by reset: cleared only on request

    def version(self) -> tuple[int, int]:
        """(reset generation, number of mutations since it), a consistent pair."""
        return self._version

    def mutations_since(self, generation: int, applied: int) -> tuple[int, list[Mutation]]:
        """The current generation and its mutations after the first `applied`."""
        with self._lock:
            start = applied if generation == self._generation else 0
            return self._generation, self._mutations[start:]

    def record(self, validate: Callable[[], Mutation]) -> Mutation:
        """Validate and append under one lock, so concurrent changes cannot both pass validation."""
        with self._lock:
            mutation = validate()
            self._mutations.append(mutation)
            self._version = (self._generation, len(self._mutations))
            return mutation

    def reset(self) -> None:
        """Back to the start-up state."""
        with self._lock:
            self._generation += 1
            self._mutations = []
            self._version = (self._generation, 0)
            self._faults, self._remaining = [], {}
            self.clear_requests()
            start, frozen = self._initial_clock
            self.clock.reset()
            if frozen:
                self.clock.freeze()
                self.clock.set(start)

    def add_fault(self, record: object) -> Fault:
        """Validate and add a fault rule."""
        with self._lock:
            check_room(len(self._faults))
            fault = fault_from_record(record, next(self._fault_ids))
            self._faults.append(fault)
            self._remaining[fault.id] = fault.times
            return fault

    def faults(self) -> list[Fault]:
        """The active fault rules, with what remains of their `times`."""
        with self._lock:
            return [_with_times(f, self._remaining[f.id]) for f in self._faults]

    def clear_faults(self, fault_id: int | None = None) -> int:
        """Remove one rule (or all); returns how many were removed."""
        with self._lock:
            before = len(self._faults)
            self._faults = [f for f in self._faults if fault_id is not None and f.id != fault_id]
            return before - len(self._faults)

    def has_faults(self) -> bool:
        """Whether any fault rule is active (without the lock: a hint for fast paths)."""
        return bool(self._faults)

    def take_fault(self, method: str, path: str) -> Fault | None:
        """The first rule matching a request, counting one use of it."""
        if not self._faults:  # the common case, without the lock
            return None
        with self._lock:
            for fault in self._faults:
                if fault.matches(method, path):
                    left = self._remaining[fault.id]
                    if left is not None:
                        self._remaining[fault.id] = left - 1
                        if left == 1:
                            self._faults.remove(fault)
                    return fault
        return None

    def journal_epoch(self) -> int:
        """Which clearing of the journal is current."""
        return self._journal_epoch

    def log(self, entry: RawEntry, epoch: int | None = None) -> None:
        """Append a journal entry, unless the journal was cleared since the request began at
        `epoch`; the oldest fall off past the count or the byte bound (the newest always stays).
        It is made readable, and redacted, only when the journal is read."""
        size = entry_bytes(entry)
        with self._lock:
            if epoch is not None and epoch != self._journal_epoch:
                return  # began before a reset or a clearing: not part of the journal since
            self._journal.append((next(self._entry_ids), entry, size))
            self._journal_total += size
            while len(self._journal) > 1 and (len(self._journal) > self._journal_size
                                              or self._journal_total > self._journal_bytes):
                self._journal_total -= self._journal.popleft()[2]

    def requests(self) -> list[dict[str, Any]]:
        """The journal, oldest first."""
        with self._lock:
            entries = list(self._journal)
        return [{**materialize(raw), "id": entry_id} for entry_id, raw, _ in entries]

    def clear_requests(self) -> None:
        """Empty the journal; requests in flight that began before it are not journaled."""
        with self._lock:
            self._journal.clear()
            self._journal_total = 0
            self._journal_epoch += 1


def _with_times(fault: Fault, left: int | None) -> Fault:
    from dataclasses import replace
    return replace(fault, times=left)


def filter_requests(entries: list[dict[str, Any]], query: Mapping[str, str]) -> list[dict[str, Any]]:
    """Journal entries matching `method` and `path` (exact, or a prefix ending in `*`)."""
    method, path = query.get("method"), query.get("path")
    if method:
        entries = [e for e in entries if e["method"] == method.upper()]
    if path:
        prefix = path[:-1] if path.endswith("*") else None
        entries = [e for e in entries if (e["path"].startswith(prefix) if prefix is not None else e["path"] == path)]
    return entries
