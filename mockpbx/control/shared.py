"""A control store shared by the worker processes of one server: the same interface as
`MemoryStore`, kept in a directory (a small memory-mapped header plus SQLite).

The header holds what every request reads (the reset generation, the mutation count,
the number of active faults and the clock) so the common path costs a few memory reads;
mutations, faults and the journal live in SQLite (WAL). Writers serialise on an `flock`.
Create it in the parent before forking; each process opens its own SQLite connection.
"""

from __future__ import annotations

import fcntl
import json
import mmap
import os
import sqlite3
import struct
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path
from typing import Any

from mockpbx.control.faults import Fault, fault_from_record
from mockpbx.control.journal import RawEntry, materialize
from mockpbx.control.state import Mutation

_MAGIC = 0x6D6F636B706278  # "mockpbx"
# magic, seq (seqlock), generation, mutations, faults, frozen, initial_frozen,
# then doubles: offset, frozen_at, initial_start
_HEADER = struct.Struct("<7q3d")
_SCHEMA = """
CREATE TABLE IF NOT EXISTS mutations (id INTEGER PRIMARY KEY, generation INTEGER NOT NULL, body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS faults (id INTEGER PRIMARY KEY AUTOINCREMENT, body TEXT NOT NULL, remaining INTEGER);
CREATE TABLE IF NOT EXISTS journal (id INTEGER PRIMARY KEY AUTOINCREMENT, body TEXT NOT NULL);
"""


class SharedStore:
    """Control state shared through files in `directory` (see the module docstring)."""

    def __init__(self, directory: Path, journal_size: int = 1000) -> None:
        self.directory = Path(directory)
        self.journal_size = journal_size
        self._thread_lock = threading.RLock()
        self._depth = 0
        self._pid = -1
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self.clock = SharedClock(self)

    @classmethod
    def create(cls, directory: Path, start: float, frozen: bool, journal_size: int = 1000) -> SharedStore:
        """Initialise the files (in the parent process) with the clock's start-up state."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        with open(directory / "header", "wb") as header:
            offset = 0.0 if frozen else start - time.time()
            header.write(_HEADER.pack(_MAGIC, 0, 0, 0, 0, int(frozen), int(frozen), offset, start, start))
            header.write(b"\0" * (4096 - _HEADER.size))
        (directory / "lock").touch()
        with sqlite3.connect(directory / "state.sqlite") as db:
            db.execute("PRAGMA journal_mode=WAL")
            db.executescript(_SCHEMA)
        return cls(directory, journal_size)

    # -- per-process handles ---------------------------------------------------------------
    def _open(self) -> None:
        if self._pid == os.getpid():
            return
        with self._thread_lock:
            if self._pid != os.getpid():
                self._header_file = open(self.directory / "header", "r+b")
                self._map = mmap.mmap(self._header_file.fileno(), 4096)
                self._lock_file = open(self.directory / "lock", "r+b")
                self._local = threading.local()
                self._connections = []
                self._depth = 0
                self._pid = os.getpid()

    def _db(self) -> sqlite3.Connection:
        self._open()
        db: sqlite3.Connection | None = getattr(self._local, "db", None)
        if db is None:
            db = sqlite3.connect(self.directory / "state.sqlite", isolation_level=None, timeout=30,
                                 check_same_thread=False)
            db.execute("PRAGMA synchronous=OFF")
            self._local.db = db
            with self._thread_lock:
                self._connections.append(db)
        return db

    def close(self) -> None:
        """Close this process's handles (the files stay for the other processes)."""
        with self._thread_lock:
            if self._pid == os.getpid():
                for db in self._connections:
                    db.close()
                self._map.close()
                self._header_file.close()
                self._lock_file.close()
            self._connections, self._pid, self._local = [], -1, threading.local()

    @contextmanager
    def _locked(self) -> Iterator[None]:
        """Exclusive across threads and processes; re-entrant within a thread."""
        self._open()
        with self._thread_lock:
            if self._depth == 0:
                fcntl.flock(self._lock_file, fcntl.LOCK_EX)
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
                if self._depth == 0:
                    fcntl.flock(self._lock_file, fcntl.LOCK_UN)

    def header(self) -> tuple[Any, ...]:
        """A consistent read of the header (a seqlock: retry while a writer is at work)."""
        self._open()
        for _ in range(10_000):
            values = _HEADER.unpack_from(self._map, 0)
            if values[1] % 2 == 0 and _HEADER.unpack_from(self._map, 0)[1] == values[1]:
                return values
        raise RuntimeError("the shared control header stays busy")

    def write_header(self, **changes: float) -> None:
        """Change header fields; call with `_locked()` held."""
        names = ("magic", "seq", "generation", "mutations", "faults", "frozen", "initial_frozen",
                 "offset", "frozen_at", "initial_start")
        values = dict(zip(names, self.header(), strict=True))
        values.update(changes)
        seq = values["seq"]
        struct.pack_into("<q", self._map, 8, seq + 1)  # odd: readers wait
        values["seq"] = seq + 1
        _HEADER.pack_into(self._map, 0, *[int(v) if i < 7 else float(v) for i, v in enumerate(values.values())])
        struct.pack_into("<q", self._map, 8, seq + 2)

    # -- the ControlStore interface -------------------------------------------------------------
    def version(self) -> tuple[int, int]:
        """(reset generation, number of mutations since it)."""
        header = self.header()
        return header[2], header[3]

    def mutations_since(self, generation: int, applied: int) -> tuple[int, list[Mutation]]:
        """The current generation and its mutations after the first `applied`."""
        with self._locked():
            current = self.header()[2]
            start = applied if generation == current else 0
            rows = self._db().execute("SELECT body FROM mutations WHERE generation = ? ORDER BY id "
                                      "LIMIT -1 OFFSET ?", (current, start)).fetchall()
        return current, [json.loads(body) for (body,) in rows]

    def record(self, validate: Callable[[], Mutation]) -> Mutation:
        """Validate and append under the cross-process lock."""
        with self._locked():
            mutation = validate()
            generation, count = self.version()
            self._db().execute("INSERT INTO mutations (generation, body) VALUES (?, ?)",
                               (generation, json.dumps(mutation)))
            self.write_header(mutations=count + 1)
            return mutation

    def reset(self) -> None:
        """Back to the start-up state, for every process."""
        with self._locked():
            db = self._db()
            for table in ("mutations", "faults", "journal"):
                db.execute(f"DELETE FROM {table}")  # noqa: S608 - fixed names
            header = self.header()  # the clock goes back as MemoryStore's does: frozen at the start, or real time
            self.write_header(generation=header[2] + 1, mutations=0, faults=0, frozen=header[6],
                              frozen_at=header[9], offset=0.0)

    def add_fault(self, record: object) -> Fault:
        """Validate and add a fault rule."""
        with self._locked():
            fault = fault_from_record(record, 0)
            db = self._db()
            cursor = db.execute("INSERT INTO faults (body, remaining) VALUES (?, ?)",
                                (json.dumps(asdict(fault)), fault.times))
            fault = Fault(**{**asdict(fault), "id": cursor.lastrowid})
            db.execute("UPDATE faults SET body = ? WHERE id = ?", (json.dumps(asdict(fault)), fault.id))
            self.write_header(faults=self.header()[4] + 1)
            return fault

    def faults(self) -> list[Fault]:
        """The active rules, with what remains of their `times`."""
        rows = self._db().execute("SELECT body, remaining FROM faults ORDER BY id").fetchall()
        return [Fault(**{**json.loads(body), "times": remaining}) for body, remaining in rows]

    def clear_faults(self, fault_id: int | None = None) -> int:
        """Remove one rule (or all); returns how many were removed."""
        with self._locked():
            db = self._db()
            if fault_id is None:
                removed = db.execute("DELETE FROM faults").rowcount
            else:
                removed = db.execute("DELETE FROM faults WHERE id = ?", (fault_id,)).rowcount
            self.write_header(faults=db.execute("SELECT COUNT(*) FROM faults").fetchone()[0])
            return int(removed)

    def take_fault(self, method: str, path: str) -> Fault | None:
        """The first rule matching a request, counting one use of it."""
        if self.header()[4] == 0:  # no faults: no lock, no query
            return None
        with self._locked():
            for fault in self.faults():
                if fault.matches(method, path):
                    db = self._db()
                    if fault.times == 1:
                        db.execute("DELETE FROM faults WHERE id = ?", (fault.id,))
                        self.write_header(faults=self.header()[4] - 1)
                    elif fault.times is not None:
                        db.execute("UPDATE faults SET remaining = remaining - 1 WHERE id = ?", (fault.id,))
                    return fault
        return None

    def log(self, entry: RawEntry) -> None:
        """Append a journal entry, redacted before it is written; the oldest fall off past the bound."""
        db = self._db()
        cursor = db.execute("INSERT INTO journal (body) VALUES (?)", (json.dumps(materialize(entry)),))
        if cursor.lastrowid and cursor.lastrowid % 100 == 0:
            db.execute("DELETE FROM journal WHERE id <= ?", (cursor.lastrowid - self.journal_size,))

    def requests(self) -> list[dict[str, Any]]:
        """The journal, oldest first."""
        rows = self._db().execute("SELECT id, body FROM journal ORDER BY id DESC LIMIT ?",
                                  (self.journal_size,)).fetchall()
        return [{**json.loads(body), "id": entry_id} for entry_id, body in reversed(rows)]

    def clear_requests(self) -> None:
        """Empty the journal."""
        self._db().execute("DELETE FROM journal")


class SharedClock:
    """The mock's clock, kept in the shared header: every process sees the same time."""

    def __init__(self, store: SharedStore) -> None:
        self._store = store

    def now(self) -> float:
        """The clock's current time."""
        header = self._store.header()
        return header[8] if header[5] else time.time() + header[7]

    @property
    def frozen(self) -> bool:
        """Whether the clock stands still."""
        return bool(self._store.header()[5])

    def advance(self, seconds: float) -> float:
        """Move the clock forward (or back)."""
        with self._store._locked():
            self._store.write_header(offset=self._store.header()[7] + seconds,
                                     frozen_at=self._store.header()[8] + seconds)
            return self.now()

    def set(self, when: float) -> None:
        """Jump to an absolute time."""
        with self._store._locked():
            self._store.write_header(offset=when - time.time(), frozen_at=when)

    def freeze(self) -> None:
        """Stop the clock where it is."""
        with self._store._locked():
            if not self.frozen:
                self._store.write_header(frozen=1, frozen_at=self.now())

    def unfreeze(self) -> None:
        """Let the clock run again from where it stands."""
        with self._store._locked():
            if self.frozen:
                self._store.write_header(frozen=0, offset=self._store.header()[8] - time.time())

    def reset(self) -> None:
        """Back to the start-up state of the clock."""
        self._store.reset()
