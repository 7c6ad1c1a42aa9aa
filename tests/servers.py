"""Every server the project ships, started the same way for tests that must hold on each:
`mockpbx serve` (granian, 1 or 2 workers), `mockpbx serve --dev` (werkzeug, threaded) and the
in-process `MockPBX`. Each yields its base URL on 127.0.0.1 (a free port) and is stopped after."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from mockpbx.testing import MockPBX
from tests.test_serving import serve

KINDS = ["serve", "serve-2-workers", "serve-dev", "in-process"]


@contextmanager
def running(kind: str, *args: str) -> Iterator[str]:
    """The server of `kind` with the `mockpbx serve` options `args`; yields its URL."""
    if kind == "in-process":
        settings = dict(zip((a[2:].replace("-", "_") for a in args[::2]), args[1::2], strict=True))
        with MockPBX(**settings) as pbx:
            yield pbx.url
        return
    extra = {"serve": (), "serve-2-workers": ("--workers", "2"), "serve-dev": ("--dev",)}[kind]
    with serve("--no-access-log", *extra, *args) as server:
        yield server.url
