"""A control store shared by the worker processes of one server: the same interface as
`MemoryStore`, kept in a directory (a small memory-mapped header, SQLite, journal files).

The header holds what every request reads (the reset generation, the mutation count,
the number of active faults and the clock) so the common path costs a few memory reads;
mutations and faults live in SQLite (WAL), the journal in one append-only file per process
(its threads take turns on a lock held for one write). Writers of the header serialise on an `flock`.
Create it in the parent before forking; each process opens its own SQLite connection.
"""

from __future__ import annotations

import fcntl
import itertools
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
from typing import Any, NamedTuple

from mockpbx.control.counters import SharedCounters, StoreCoverage
from mockpbx.control.faults import Fault, check_room, fault_from_record
from mockpbx.control.journal import RawEntry, materialize, scrub
from mockpbx.control.state import JOURNAL_BYTES, Mutation

_MAGIC = 0x6D6F636B706278  # "mockpbx"
_HEADER = struct.Struct("=8q3d")  # native order: _words reads seq as a native int64
_FIELDS = 16  # where the fields after magic and seq begin


class Header(NamedTuple):
    """The shared header; `seq` is a seqlock (odd while a writer is at work)."""

    magic: int
    seq: int
    generation: int
    mutations: int
    faults: int
    frozen: int
    initial_frozen: int
    journal_epoch: int
    offset: float
    frozen_at: float
    initial_start: float
_SCHEMA = """
CREATE TABLE IF NOT EXISTS mutations (id INTEGER PRIMARY KEY, generation INTEGER NOT NULL, body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS faults (id INTEGER PRIMARY KEY AUTOINCREMENT, body TEXT NOT NULL, remaining INTEGER);
"""


class SharedStore(StoreCoverage):
    """Control state shared through files in `directory` (see the module docstring)."""

    def __init__(self, directory: Path, journal_size: int = 1000, journal_bytes: int = JOURNAL_BYTES) -> None:
        self.directory = Path(directory)
        self.journal_size, self.journal_bytes = journal_size, journal_bytes
        self._thread_lock = threading.RLock()
        self._depth = 0
        self._pid = -1
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._journal_fds: list[int] = []
        self._journal_lock = threading.Lock()  # inside it only the handle lock (_thread_lock) is taken
        self._journal: tuple[int, int, int, int] | None = None  # (epoch, fd, lines, bytes) of this process
        self.clock = SharedClock(self)
        self._coverage = SharedCounters(self.directory)  # not touched by reset: cleared only on request

    @classmethod
    def create(cls, directory: Path, start: float, frozen: bool, journal_size: int = 1000,
               journal_bytes: int = JOURNAL_BYTES) -> SharedStore:
        """Initialise the files (in the parent process) with the clock's start-up state."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        with open(directory / "header", "wb") as header:
            offset = 0.0 if frozen else start - time.time()
            header.write(_HEADER.pack(_MAGIC, 0, 0, 0, 0, int(frozen), int(frozen), 0, offset, start, start))
            header.write(b"\0" * (4096 - _HEADER.size))
        (directory / "lock").touch()
        with sqlite3.connect(directory / "state.sqlite") as db:
            db.execute("PRAGMA journal_mode=WAL")
            db.executescript(_SCHEMA)
        return cls(directory, journal_size, journal_bytes)

    # -- per-process handles ---------------------------------------------------------------
    def _open(self) -> None:
        if self._pid == os.getpid():
            return
        with self._thread_lock:
            if self._pid != os.getpid():
                self._header_file = open(self.directory / "header", "r+b")
                self._map = mmap.mmap(self._header_file.fileno(), 4096)
                self._words = memoryview(self._map).cast("q")  # [magic, seq, ...]: seq in one aligned store
                self._lock_file = open(self.directory / "lock", "r+b")
                self._local = threading.local()
                self._connections, self._journal_fds = [], []
                self._journal_lock, self._journal = threading.Lock(), None  # the parent's file is not ours
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
                for fd in self._journal_fds:
                    try:
                        os.close(fd)
                    except OSError:
                        pass
                self._words.release()
                self._map.close()
                self._header_file.close()
                self._lock_file.close()
            self._connections, self._journal_fds, self._pid, self._local = [], [], -1, threading.local()
            self._journal = None
        self._coverage.close()

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

    def header(self) -> Header:
        """A consistent read of the header (a seqlock: retry while a writer is at work).

        The writer may be a thread of this process that needs the GIL to finish, or a process
        the system has set aside: after a few tries the reader sleeps a moment, which lets
        either run (spinning alone, a reader held the GIL past its tries while the writer of
        its own process waited for it: a 500 under load). Bounded: a writer that died mid-write
        leaves the header busy, and after 5 s that is an error."""
        self._open()
        deadline = 0.0
        words = self._words
        for tries in itertools.count(1):
            # seq alone, then the fields, then seq alone again (a read of the whole struct could
            # pair a new seq with old fields; seq only grows, so the same seq twice means the
            # fields between are one write's); the magic number rules out a header being zeroed.
            seq = words[1]
            if seq % 2 == 0:
                values = _HEADER.unpack_from(self._map, 0)
                if values[0] == _MAGIC and words[1] == seq:
                    return Header(*values)
            if tries % 16 == 0:
                now = time.monotonic()
                if not deadline:
                    deadline = now + 5.0
                elif now > deadline:
                    break
                time.sleep(0.0001)
        raise RuntimeError("the shared control header stays busy")

    def write_header(self, **changes: float) -> None:
        """Change header fields; call with `_locked()` held."""
        current = self.header()
        values = current._replace(**changes, seq=current.seq + 1)  # type: ignore[arg-type]
        packed = _HEADER.pack(*[int(v) if i < 8 else float(v) for i, v in enumerate(values)])
        # Not struct.pack_into on the map: it zeroes the whole struct before it writes, and for
        # that moment another process reads a whole header of zeros, seq 0 (even) included:
        # journal epoch 0, clock offset 0, no faults. seq is one aligned 8-byte store each time,
        # and only the fields after it are copied in.
        self._words[1] = current.seq + 1  # odd: readers wait
        self._map[_FIELDS:_HEADER.size] = packed[_FIELDS:]
        self._words[1] = current.seq + 2

    # -- the ControlStore interface -------------------------------------------------------------
    def version(self) -> tuple[int, int]:
        """(reset generation, number of mutations since it)."""
        header = self.header()
        return header.generation, header.mutations

    def mutations_since(self, generation: int, applied: int) -> tuple[int, list[Mutation]]:
        """The current generation and its mutations after the first `applied`."""
        with self._locked():
            current = self.header().generation
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
            for table in ("mutations", "faults"):
                db.execute(f"DELETE FROM {table}")  # noqa: S608 - fixed names
            header = self.header()  # the clock goes back as MemoryStore's does: frozen at the start, or real time
            self.write_header(generation=header.generation + 1, mutations=0, faults=0, frozen=header.initial_frozen,
                              frozen_at=header.initial_start, offset=0.0)
            self.clear_requests()

    def add_fault(self, record: object) -> Fault:
        """Validate and add a fault rule."""
        with self._locked():
            db = self._db()
            check_room(db.execute("SELECT COUNT(*) FROM faults").fetchone()[0])
            fault = fault_from_record(record, 0)
            cursor = db.execute("INSERT INTO faults (body, remaining) VALUES (?, ?)",
                                (json.dumps(asdict(fault)), fault.times))
            fault = Fault(**{**asdict(fault), "id": cursor.lastrowid})
            db.execute("UPDATE faults SET body = ? WHERE id = ?", (json.dumps(asdict(fault)), fault.id))
            self.write_header(faults=self.header().faults + 1)
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

    def has_faults(self) -> bool:
        """Whether any fault rule is active (a header read)."""
        return self.header().faults > 0

    def take_fault(self, method: str, path: str) -> Fault | None:
        """The first rule matching a request, counting one use of it."""
        if self.header().faults == 0:  # no faults: no lock, no query
            return None
        with self._locked():
            for fault in self.faults():
                if fault.matches(method, path):
                    db = self._db()
                    if fault.times == 1:
                        db.execute("DELETE FROM faults WHERE id = ?", (fault.id,))
                        self.write_header(faults=self.header().faults - 1)
                    elif fault.times is not None:
                        db.execute("UPDATE faults SET remaining = remaining - 1 WHERE id = ?", (fault.id,))
                    return fault
        return None

    def journal_epoch(self) -> int:
        """Which clearing of the journal is current (a header read)."""
        return self.header().journal_epoch

    def log(self, entry: RawEntry, epoch: int | None = None) -> None:
        """Append a journal entry to this process's file, secrets scrubbed before it is written,
        unless the journal was cleared since the request began at `epoch`.

        Each process appends whole lines to a file of its own (its threads take turns on a lock
        held only for one write); the reader merges the files of the current epoch, newest first
        within the count and byte bounds; clearing starts a new epoch. A file is rotated (one old
        file kept) at the count or the byte bound, so the files hold at most about twice
        `journal_bytes` per worker process, whatever the number of threads.
        """
        self._open()
        current = self.header().journal_epoch
        if epoch is not None and epoch != current:
            return  # began before a reset or a clearing: not part of the journal since
        row: list[Any] = [0, 0, *scrub(entry)]
        row[7] = row[7].decode("utf-8", "replace")  # the body, already redacted
        with self._journal_lock:
            if self._journal is None or self._journal[0] != current:
                self._open_journal(current)
            current_file = self._journal
            if current_file is None:  # for the type checker: _open_journal set it
                raise RuntimeError("journal file not open")
            _, fd, count, written = current_file
            row[0], row[1] = time.time_ns(), count  # real time orders the processes' lines
            line = (json.dumps(row, separators=(",", ":")) + "\n").encode()
            os.write(fd, line)
            written += len(line)
            if count + 1 >= self.journal_size or written >= self.journal_bytes:  # rotate: keep the last file
                self._close_journal_fd(fd)
                name = self._journal_name(current)
                os.replace(name, name.with_suffix(".old"))
                self._journal = None
            else:
                self._journal = (current, fd, count + 1, written)

    def _close_journal_fd(self, fd: int) -> None:
        """Close a journal file once: it leaves the list `close()` closes, so a number the
        system hands out again (to an unrelated file) is never closed a second time."""
        with self._thread_lock:
            if fd in self._journal_fds:
                self._journal_fds.remove(fd)
                os.close(fd)

    def _journal_name(self, epoch: int) -> Path:
        return self.directory / f"journal-{epoch}-{os.getpid()}.jsonl"

    def _open_journal(self, epoch: int) -> None:
        """Open this process's file of `epoch` (caller holds the journal lock)."""
        if self._journal is not None:
            self._close_journal_fd(self._journal[1])
        fd = os.open(self._journal_name(epoch), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        self._journal = (epoch, fd, 0, 0)
        with self._thread_lock:
            self._journal_fds.append(fd)

    def requests(self) -> list[dict[str, Any]]:
        """The journal of every process, oldest first."""
        epoch = self.header().journal_epoch
        rows: list[tuple[int, list[Any]]] = []
        for path in self.directory.glob(f"journal-{epoch}-*"):
            try:
                with open(path, encoding="utf-8") as lines:
                    rows.extend((len(line), json.loads(line)) for line in lines if line.endswith("\n"))
            except FileNotFoundError:  # rotated or cleared while we listed
                continue
        rows.sort(key=lambda sized: (sized[1][0], sized[1][1]))
        kept: list[list[Any]] = []
        total = 0
        for size, row in reversed(rows):  # the newest first, within the count and the byte bound
            total += size
            if kept and (len(kept) >= self.journal_size or total > self.journal_bytes):
                break
            kept.append(row)
        newest = kept[::-1]
        return [{**materialize(RawEntry(*row[2:7], row[7].encode(), *row[8:])), "id": index}  # type: ignore[call-arg]
                for index, row in enumerate(newest, start=1)]

    def clear_requests(self) -> None:
        """Empty the journal: a new epoch; the old files go."""
        with self._locked():
            epoch = self.header().journal_epoch
            self.write_header(journal_epoch=epoch + 1)
            for path in self.directory.glob(f"journal-{epoch}-*"):
                path.unlink(missing_ok=True)


class SharedClock:
    """The mock's clock, kept in the shared header: every process sees the same time."""

    def __init__(self, store: SharedStore) -> None:
        self._store = store

    def now(self) -> float:
        """The clock's current time."""
        header = self._store.header()
        return header.frozen_at if header.frozen else time.time() + header.offset

    @property
    def frozen(self) -> bool:
        """Whether the clock stands still."""
        return bool(self._store.header().frozen)

    def advance(self, seconds: float) -> float:
        """Move the clock forward (or back)."""
        with self._store._locked():
            header = self._store.header()
            self._store.write_header(offset=header.offset + seconds, frozen_at=header.frozen_at + seconds)
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
                self._store.write_header(frozen=0, offset=self._store.header().frozen_at - time.time())

    def reset(self) -> None:
        """Back to the start-up state of the clock."""
        self._store.reset()
