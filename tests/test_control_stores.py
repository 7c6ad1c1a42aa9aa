"""Both control stores behave alike; the shared one is shared between processes."""

from __future__ import annotations

import json
import multiprocessing
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mockpbx.clock import ControllableClock
from mockpbx.control.journal import RawEntry, bounded
from mockpbx.control.shared import SharedStore
from mockpbx.control.state import ControlStore, MemoryStore

START = 1_700_000_000.0


@pytest.fixture(params=["memory", "shared"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ControlStore]:
    if request.param == "memory":
        yield MemoryStore(ControllableClock(start=START, frozen=True), journal_size=150)
        return
    shared = SharedStore.create(tmp_path / "state", START, frozen=True, journal_size=150)
    yield shared
    shared.close()


def test_mutations_are_versioned_and_reset_starts_a_generation(store: ControlStore) -> None:
    assert store.version() == (0, 0)
    store.record(lambda: {"type": "calls", "n": 1})
    store.record(lambda: {"type": "calls", "n": 2})
    assert store.version() == (0, 2)
    assert store.mutations_since(0, 1) == (0, [{"type": "calls", "n": 2}])
    store.reset()
    assert store.version() == (1, 0) and store.mutations_since(0, 2) == (1, [])


def test_a_failed_validation_records_nothing(store: ControlStore) -> None:
    def refuse() -> dict[str, object]:
        raise ValueError("no")
    with pytest.raises(ValueError):
        store.record(refuse)
    assert store.version() == (0, 0)


def test_clock(store: ControlStore) -> None:
    clock = store.clock
    assert clock.now() == START and clock.frozen
    clock.advance(60)
    clock.unfreeze()
    assert START + 60 <= clock.now() < START + 62 and not clock.frozen
    clock.freeze()
    clock.set(START - 5)
    assert clock.now() == START - 5
    store.reset()
    assert clock.now() == START and clock.frozen


def test_faults_count_down_and_clear(store: ControlStore) -> None:
    first = store.add_fault({"method": "GET", "path": "/v1/*", "status": 503, "times": 2})
    second = store.add_fault({"path": "/healthz", "kind": "delay", "delay_ms": 5})
    assert [f.id for f in store.faults()] == [first.id, second.id] and first.id != second.id
    assert store.take_fault("POST", "/v1/auth") is None
    assert store.take_fault("GET", "/v1/call/log") == first
    assert store.faults()[0].times == 1
    assert store.take_fault("GET", "/v1/auth").id == first.id  # type: ignore[union-attr]
    assert store.take_fault("GET", "/v1/auth") is None and [f.id for f in store.faults()] == [second.id]
    assert store.clear_faults(second.id) == 1 and store.faults() == []
    assert store.take_fault("GET", "/healthz") is None


def test_journal_is_ordered_bounded_and_clearable(store: ControlStore) -> None:
    for index in range(320):
        store.log(RawEntry(START, "GET", f"/{index}", "", {}, b"", "", 200, 1.0, None))
    entries = store.requests()
    assert [e["path"] for e in entries] == [f"/{i}" for i in range(170, 320)]
    assert [e["id"] for e in entries] == sorted(e["id"] for e in entries)
    store.clear_requests()
    assert store.requests() == []


def _child(directory: str, queue: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    store = SharedStore(Path(directory))
    store.record(lambda: {"from": "child"})
    store.clock.advance(100)
    queue.put((store.take_fault("GET", "/x") is not None, store.version()))
    store.close()


def test_processes_share_one_state(tmp_path: Path) -> None:
    store = SharedStore.create(tmp_path / "state", START, frozen=True)
    store.add_fault({"path": "/x", "status": 500, "times": 1})
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    child = context.Process(target=_child, args=(str(tmp_path / "state"), queue))
    child.start()
    took, version = queue.get(timeout=30)
    child.join(timeout=30)
    assert took and version == (0, 1)
    assert store.mutations_since(0, 0) == (0, [{"from": "child"}])
    assert store.clock.now() == START + 100
    assert store.take_fault("GET", "/x") is None  # the child used its one time
    store.close()


def _header_writer(directory: str, ready: Any, done: Any) -> None:
    store = SharedStore(Path(directory))
    ready.wait(30)
    for n in range(1, 50_001):  # three fields that always change together, and only go up
        with store._locked():
            store.write_header(mutations=n, offset=float(n), frozen_at=float(n))
    done.set()
    store.close()


def test_a_header_read_is_always_one_whole_write(tmp_path: Path) -> None:
    """The seqlock: while another process rewrites the header, every read is the fields of one
    write: never a mix of two, and never the zeroed bytes of a write in progress (a zeroed
    header reads as journal epoch 0, clock offset 0 and no faults: it lost journal entries)."""
    store = SharedStore.create(tmp_path / "state", START, frozen=True)
    first = store.header()
    context = multiprocessing.get_context("fork")
    ready, done = context.Event(), context.Event()
    writer = context.Process(target=_header_writer, args=(str(tmp_path / "state"), ready, done))
    writer.start()
    seen, wrong, last = 0, [], 0
    ready.set()
    for _ in range(5_000_000):  # bounded; the writer ends long before
        header = store.header()
        n = header.mutations
        whole = (header == first) if n == 0 else (header.magic == first.magic and n == header.offset
                                                  == header.frozen_at and header.frozen == first.frozen)
        if (not whole or n < last) and len(wrong) < 5:
            wrong.append(header)
        seen += n != last
        last = max(last, n)
        if done.is_set():
            break
    writer.join(timeout=60)
    store.close()
    assert writer.exitcode == 0
    assert wrong == []
    assert seen > 2  # the reads did overlap the writes


def test_close_closes_each_journal_file_once(tmp_path: Path) -> None:
    """A rotated journal file's descriptor number is reused by the next open; close() must not close that file."""
    import os
    store = SharedStore.create(tmp_path / "state", START, frozen=True, journal_size=2)
    for index in range(2):  # the second entry fills the file: it is rotated and its descriptor closed
        store.log(RawEntry(START, "GET", f"/{index}", "", {}, b"", "", 200, 1.0, None))
    unrelated = os.open(tmp_path / "unrelated", os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        store.close()
        os.write(unrelated, b"still open")  # raises EBADF if close() closed it as a stale journal fd
    finally:
        os.close(unrelated)


def _entry(path: str, body: bytes = b"", headers: dict[str, str] | None = None) -> RawEntry:
    return RawEntry(START, "POST", path, "", headers or {}, body, "text/plain", 200, 1.0, None)


@pytest.mark.parametrize("kind", ["memory", "shared"])
def test_journal_is_bounded_in_bytes(kind: str, tmp_path: Path) -> None:
    bound = 256 * 1024
    store: ControlStore = (MemoryStore(ControllableClock(start=START), journal_size=1000, journal_bytes=bound)
                           if kind == "memory" else
                           SharedStore.create(tmp_path / "s", START, frozen=True, journal_size=1000, journal_bytes=bound))
    for index in range(200):
        store.log(bounded(_entry(f"/{index}", b"x" * 60_000, {"HTTP_X_BIG": "y" * 60_000}), 16 * 1024))
    entries = store.requests()
    size = len(json.dumps(entries))
    assert 5 <= len(entries) < 200 and size < 2 * bound
    assert [e["path"] for e in entries] == [f"/{i}" for i in range(200 - len(entries), 200)]  # the newest, in order
    newest = entries[-1]
    assert newest["truncated"] == {"body": 60_000, "headers": {"X-Big": 60_000}}
    assert len(newest["body"]) == 16 * 1024 and len(newest["headers"]["X-Big"]) == 16 * 1024
    if isinstance(store, SharedStore):
        store.close()


def test_an_entry_begun_before_a_clearing_is_not_journaled(store: ControlStore) -> None:
    before = store.journal_epoch()
    store.log(_entry("/kept"), before)
    store.clear_requests()
    store.log(_entry("/in-flight-during-the-clear"), before)
    store.log(_entry("/after"), store.journal_epoch())
    assert [e["path"] for e in store.requests()] == ["/after"]
    during = store.journal_epoch()
    store.reset()
    store.log(_entry("/in-flight-during-the-reset"), during)
    assert store.requests() == []


def test_the_shared_journal_keeps_one_file_per_process_whatever_the_threads(tmp_path: Path) -> None:
    """Many request threads share their process's journal file (at most it and one rotated
    file), so its disk and the cost of reading it are bounded per worker, not per thread."""
    import threading
    shared = SharedStore.create(tmp_path / "state", START, frozen=True, journal_size=10_000, journal_bytes=64 * 1024)
    body = b"x" * 1000
    barrier = threading.Barrier(16)

    def write(thread: int) -> None:
        barrier.wait()
        for index in range(60):
            shared.log(RawEntry(START, "POST", f"/{thread}/{index}", "", {}, body, "text/plain", 200, 1.0, None))

    try:
        threads = [threading.Thread(target=write, args=(n,)) for n in range(16)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert not any(thread.is_alive() for thread in threads)
        files = list((tmp_path / "state").glob("journal-*"))
        assert 1 <= len(files) <= 2, files
        assert sum(f.stat().st_size for f in files) <= 2 * 64 * 1024 + 2048
        entries = shared.requests()
        assert 0 < len(entries) and len(json.dumps(entries)) < 3 * 64 * 1024
        for thread in range(16):  # each thread's requests, in the order it made them
            mine = [int(e["path"].split("/")[2]) for e in entries if e["path"].startswith(f"/{thread}/")]
            assert mine == sorted(mine)
        assert entries[-1]["path"].endswith("/59")  # the newest survives
    finally:
        shared.close()
