"""A memo of serialised call-log pages, for clients that poll the same window.

A page is a function of the domain, the query, the control state's version and the
clock's whole second (which decides the visible generated history), so an entry is
only reused within the same second and the same version (tests/test_call_log_endpoint.py
shows a repeated query seeing added calls and a moved clock at once).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

Key = tuple[str, bytes, tuple[int, int], int]


def page_key(domain_uuid: str, environ: Mapping[str, Any], version: tuple[int, int], now: float) -> Key:
    """The memo key of a call-log request: domain, raw query, control version, clock second.

    The call-log endpoint (mockpbx/web/calllog.py) is its one user; the version is read
    before the control changes are applied, so a page reflects at least that version.
    """
    return domain_uuid, str(environ.get("QUERY_STRING", "")).encode("latin-1"), version, int(now)


class PageCache:
    """Serialised pages of the current second; bounded, safe to share between threads."""

    def __init__(self, size: int = 1024) -> None:
        self._size = size
        self._second = -1
        self._pages: dict[Key, bytes] = {}

    def get(self, key: Key) -> bytes | None:
        """The page for `key`, if it was made in the same second."""
        return self._pages.get(key) if key[3] == self._second else None

    def put(self, key: Key, body: bytes) -> None:
        """Remember a page; entries of earlier seconds are dropped.

        No lock: a key holds its second, so a page is never found for another second, whichever
        dict it lands in when two threads change seconds at once (one of them may lose a page,
        or the dict hold a page of the other second until the next change: a memo may forget)."""
        if key[3] != self._second:
            self._pages, self._second = {}, key[3]
        pages = self._pages
        if len(pages) < self._size:
            pages[key] = body
