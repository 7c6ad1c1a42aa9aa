"""Clocks: the only place where the mock learns what time it is."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Protocol


#: The mock's clock stays within these Unix times (2000-01-01 to 2100-01-01, UTC): generated
#: history, call windows and token expiry are all well defined there.
EARLIEST, LATEST = 946_684_800, 4_102_444_800
SUPPORTED_RANGE = "2000-01-01T00:00:00Z to 2100-01-01T00:00:00Z"


def in_supported_range(moment: float) -> bool:
    """Whether the mock's clock may be set to `moment` (Unix seconds)."""
    return EARLIEST <= moment <= LATEST


class Clock(Protocol):
    """Anything that tells the current time as Unix seconds."""

    def now(self) -> float:
        """Return the current time in Unix seconds."""


class SystemClock:
    """The real time."""

    def now(self) -> float:
        """Return the system's Unix time."""
        return time.time()


class ControllableClock:
    """A clock that follows real time from an offset, can be moved, and can be frozen.

    Tests and the control API move it; token expiry and the visible call window follow it.
    """

    def __init__(self, base: Clock | None = None, *, start: float | None = None,
                 frozen: bool = False) -> None:
        self._base = base or SystemClock()
        # How the base clock is read: time.time itself when it is the system's (read several times a request).
        self._read: Callable[[], float] = time.time if type(self._base) is SystemClock else self._base.now
        self._lock = threading.Lock()
        offset = 0.0 if start is None else start - self._read()
        frozen_at = (self._read() + offset if start is None else start) if frozen else None
        #: (offset from the base clock, the time it stands at if frozen): replaced whole under
        #: the lock, read without it (every request reads the clock, several times).
        self._state: tuple[float, float | None] = (offset, frozen_at)

    def now(self) -> float:
        """Return the clock's current time."""
        offset, frozen_at = self._state
        return frozen_at if frozen_at is not None else self._read() + offset

    @property
    def frozen(self) -> bool:
        """Whether the clock stands still."""
        return self._state[1] is not None

    def advance(self, seconds: float) -> float:
        """Move the clock forward (or back, if negative) and return the new time."""
        with self._lock:
            offset, frozen_at = self._state
            if frozen_at is not None:
                self._state = (offset, frozen_at + seconds)
                return frozen_at + seconds
            self._state = (offset + seconds, None)
            return self._read() + offset + seconds

    def set(self, when: float) -> None:
        """Jump to an absolute time; a frozen clock stays frozen there."""
        with self._lock:
            offset, frozen_at = self._state
            self._state = (offset, when) if frozen_at is not None else (when - self._read(), None)

    def freeze(self) -> None:
        """Stop the clock at its current time."""
        with self._lock:
            offset, frozen_at = self._state
            if frozen_at is None:
                self._state = (offset, self._read() + offset)

    def unfreeze(self) -> None:
        """Let the clock run again from where it stood."""
        with self._lock:
            offset, frozen_at = self._state
            if frozen_at is not None:
                self._state = (frozen_at - self._read(), None)

    def reset(self) -> None:
        """Back to real time, running."""
        with self._lock:
            self._state = (0.0, None)
