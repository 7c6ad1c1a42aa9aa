"""Where the access log's lines go: stderr, whole lines even with several workers writing.

A line is written as it is made (`write_line`), except on an event loop that asked for
batching (`batch_on_this_loop`, mockpbx.web.rsgi): there lines are kept and written together
once they fill `PIPE_BUF` bytes or `FLUSH_AFTER` seconds after the first of them, whichever
comes first, and when the worker stops (`flush_batches`). Measured, a write per request (a
system call, and the GIL handed to granian's thread while it runs) cost as much as serving the
call log. A write of at most PIPE_BUF bytes to a pipe is atomic, so another worker's lines
never land inside one; a line is at most FLUSH_AFTER late, and lost only if the worker is
killed outright.
"""

from __future__ import annotations

import asyncio
import sys
import threading

PIPE_BUF = 4096
FLUSH_AFTER = 0.05
_batching: dict[int, _Batch] = {}  # thread ident -> the batch of that thread's event loop


class _Batch:
    """The lines not written yet of one event loop's requests."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop, self.size = loop, 0
        self.lines: list[str] = []
        self.timer: asyncio.TimerHandle | None = None

    def add(self, line: str) -> None:
        self.lines.append(line)
        self.size += len(line)
        if self.size >= PIPE_BUF:
            self.flush()
        elif self.timer is None:
            self.timer = self.loop.call_later(FLUSH_AFTER, self._on_time)

    def _on_time(self) -> None:
        self.timer = None
        self.flush()

    def flush(self) -> None:
        """Write the kept lines, in writes of at most PIPE_BUF bytes that each end a line."""
        lines, self.lines, self.size = self.lines, [], 0
        chunk: list[str] = []
        size = 0
        for line in lines:
            if chunk and size + len(line) > PIPE_BUF:
                sys.stderr.write("".join(chunk))
                chunk, size = [], 0
            chunk.append(line)
            size += len(line)
        if chunk:
            sys.stderr.write("".join(chunk))


def batch_on_this_loop(loop: asyncio.AbstractEventLoop) -> None:
    """Batch the lines written from this thread, which runs `loop`."""
    _batching[threading.get_ident()] = _Batch(loop)


def flush_batches() -> None:
    """Write every kept line now (a worker that stops)."""
    for batch in list(_batching.values()):
        batch.flush()


def write_line(line: str) -> None:
    """Write one access-log line (without its newline) to stderr, now or with its batch."""
    batch = _batching.get(threading.get_ident())
    if batch is None:
        sys.stderr.write(line + "\n")  # one write per line
    else:
        batch.add(line + "\n")
