"""Outcome counters (API coverage) kept by the control stores.

In one process a list under a lock. Shared by worker processes: one small memory-mapped file
per process (only its owner writes it, so no lock between processes on the request path)
plus an epoch file; the reader adds up the files of the current epoch, and clearing starts
a new epoch (each process zeroes its own file when it sees the new epoch).
"""

from __future__ import annotations

import fcntl
import mmap
import os
import struct
import threading
from pathlib import Path

SLOTS = 256  # mockpbx.coverage.catalogue.MAX_OUTCOMES
_INT = struct.Struct("<q")
_COUNTS = struct.Struct(f"<{SLOTS}q")
_FILE_SIZE = _INT.size + _COUNTS.size
_ZEROS = memoryview(bytes(_COUNTS.size)).cast("q")


class MemoryCounters:
    """Counters of one process (any number of threads)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts = [0] * SLOTS

    def count_outcomes(self, slots: tuple[int, ...]) -> None:
        """Add one to each slot."""
        with self._lock:
            for slot in slots:
                self._counts[slot] += 1

    def outcome_counts(self) -> list[int]:
        """The count of every slot."""
        with self._lock:
            return list(self._counts)

    def clear_coverage(self) -> None:
        """Every count back to zero."""
        with self._lock:
            self._counts = [0] * SLOTS

    def close(self) -> None:
        """Nothing to release (the same interface as SharedCounters)."""


class SharedCounters:
    """Counters that the worker processes of one server share through files in `directory`."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)
        self._lock = threading.Lock()
        self._pid = -1

    def _open(self) -> None:
        if self._pid == os.getpid():
            return
        epoch = os.open(self.directory / "coverage-epoch", os.O_RDWR | os.O_CREAT, 0o600)
        own = os.open(self.directory / f"coverage-{os.getpid()}.counts", os.O_RDWR | os.O_CREAT, 0o600)
        for fd, size in ((epoch, _INT.size), (own, _FILE_SIZE)):
            if os.fstat(fd).st_size < size:
                os.ftruncate(fd, size)  # zero-filled: epoch 0, no counts
        self._epoch_fd = epoch
        self._maps = (mmap.mmap(epoch, _INT.size), mmap.mmap(own, _FILE_SIZE))
        os.close(own)
        # int64 views: [epoch] and [epoch, count of slot 0, count of slot 1, ...]
        self._epoch, self._own = (memoryview(m).cast("q") for m in self._maps)
        self._pid = os.getpid()

    def count_outcomes(self, slots: tuple[int, ...]) -> None:
        """Add one to each slot, in this process's file."""
        with self._lock:
            self._open()
            own, epoch = self._own, self._epoch[0]
            if own[0] != epoch:  # cleared since: start this file again
                own[1:] = _ZEROS
                own[0] = epoch
            for slot in slots:
                own[slot + 1] += 1

    def outcome_counts(self) -> list[int]:
        """The counts of every process, added up."""
        with self._lock:
            self._open()
            epoch = self._epoch[0]
        total = [0] * SLOTS
        for path in self.directory.glob("coverage-*.counts"):
            data = path.read_bytes()
            if len(data) == _FILE_SIZE and _INT.unpack_from(data, 0)[0] == epoch:
                for slot, count in enumerate(_COUNTS.unpack_from(data, _INT.size)):
                    total[slot] += count
        return total

    def clear_coverage(self) -> None:
        """Every count back to zero, for every process: a new epoch."""
        with self._lock:
            self._open()
            fcntl.flock(self._epoch_fd, fcntl.LOCK_EX)
            try:
                self._epoch[0] += 1
            finally:
                fcntl.flock(self._epoch_fd, fcntl.LOCK_UN)

    def close(self) -> None:
        """Close this process's handles (the files stay for the other processes)."""
        with self._lock:
            if self._pid == os.getpid():
                self._epoch.release()
                self._own.release()
                for mapped in self._maps:
                    mapped.close()
                os.close(self._epoch_fd)
            self._pid = -1


class StoreCoverage:
    """The API-coverage part of a control store, kept by its `_coverage` counters (never by reset)."""

    _coverage: MemoryCounters | SharedCounters

    def count_outcomes(self, slots: tuple[int, ...]) -> None:
        """Count one request's API-coverage outcomes (slots of the catalogue)."""
        self._coverage.count_outcomes(slots)

    def outcome_counts(self) -> list[int]:
        """The API-coverage count of every slot (of every worker process)."""
        return self._coverage.outcome_counts()

    def clear_coverage(self) -> None:
        """Forget the API-coverage counts (for every worker process)."""
        self._coverage.clear_coverage()
