"""Where the access log's lines go: stderr, whole lines even with several workers writing.

A line is written as it is made (`write_line`), except on an event loop that asked for
batching (`batch_on_this_loop`, mockpbx.web.rsgi): there the lines a loop iteration makes are
kept and written together once it ends, in writes of at most `PIPE_BUF` bytes that each end a
line. Measured, one `write(2)` per request cost as much as serving the call log; a write of at
most PIPE_BUF bytes to a pipe is atomic, so another worker's lines never land inside one.
"""

from __future__ import annotations

import asyncio
import sys
import threading

PIPE_BUF = 4096
_batching: dict[int, _Batch] = {}  # thread ident -> the batch of that thread's event loop


class _Batch:
    """The lines of one loop iteration, flushed by a callback the loop runs after them."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop, self.size = loop, 0
        self.lines: list[str] = []

    def add(self, line: str) -> None:
        if not self.lines:
            self.loop.call_soon(self.flush)
        self.lines.append(line)
        self.size += len(line)
        if self.size >= PIPE_BUF:  # many lines this iteration: write what fills a pipe's atomic write
            self.flush()

    def flush(self) -> None:
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
    """Batch the lines written from this thread, which runs `loop`, per loop iteration."""
    _batching[threading.get_ident()] = _Batch(loop)


def write_line(line: str) -> None:
    """Write one access-log line (without its newline) to stderr, now or at the end of this
    loop iteration."""
    batch = _batching.get(threading.get_ident())
    if batch is None:
        sys.stderr.write(line + "\n")  # one write per line
    else:
        batch.add(line + "\n")
