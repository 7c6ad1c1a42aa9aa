"""A source host for `mockpbx record` tests: the real mock with a tenant that is not the demo one,
served on loopback, with every request and issued token recorded; and helpers to read a host back."""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mockpbx.clock import ControllableClock
from mockpbx.record.options import build_options
from mockpbx.record.runner import record
from mockpbx.redaction import Redactor
from mockpbx.settings import Settings
from mockpbx.testing import MockPBX
from mockpbx.verify.client import BudgetedClient
from mockpbx.web.app import create_app
from tests.verify.broken import Recording, serve

#: 2026-11-27 12:00:00 in Asia/Ho_Chi_Minh, a Friday; the source's clock is frozen there.
NOW = 1795755600
LOGIN, PASSWORD = "alice@acme.example.vn", "Alice-S3cret-pass"
API_KEY = "acme-4a1c-9d2e-7f3b-5e6a8c0d1b2f"
USER_UUID, DOMAIN_UUID = "0a0a0a0a-4444-5555-6666-777777777777", "0b0b0b0b-4444-5555-6666-777777777777"
SOURCES = ["02873119876", "0912555444", "02363123456"]
#: Two 31-day windows and a bit: 2026-10-10 .. 2026-11-27 12:00 local.
SPAN = ("2026-10-10 00:00:00", "2026-11-27 12:00:00")
#: The API windows record splits SPAN into.
WINDOWS = [("2026-10-10 00:00:00", "2026-11-09 23:59:59"), ("2026-11-10 00:00:00", "2026-11-27 12:00:00")]
WSGIApp = Callable[..., Any]


def source_fixtures(folder: Path) -> Path:
    """A fixture file with one tenant (not the demo one) whose traffic is generated."""
    path = folder / "source.json"
    path.write_text(json.dumps({
        "format": "mockpbx-fixtures/1",
        "accounts": [{"login": LOGIN, "password": PASSWORD, "user_uuid": USER_UUID, "domain_uuid": DOMAIN_UUID,
                      "username": "alice", "api_key": API_KEY, "level": "admin"}],
        "domains": [{"domain_uuid": DOMAIN_UUID, "sources": SOURCES, "generate": True}],
        "calls": [{"domain_uuid": DOMAIN_UUID, "source": SOURCES[0], "destination": "0123456789",
                   "start_time": "2026-11-02T03:00:00Z", "duration": 38},
                  {"domain_uuid": DOMAIN_UUID, "source": SOURCES[1], "destination": "18001234",
                   "start_time": "2026-11-02T03:00:00Z", "duration": 61}]}), encoding="utf-8")
    return path


def source_app(folder: Path, **settings: Any) -> WSGIApp:
    """The real mock serving the source tenant: 40 days of 40 calls a weekday, frozen at NOW."""
    values = {"fixtures": str(source_fixtures(folder)), "days": 40, "calls_per_day": 40, "seed": 3,
              "access_log": False} | settings
    return create_app(Settings.load({}, **values), clock=ControllableClock(start=NOW, frozen=True))


@contextmanager
def source_host(app: WSGIApp) -> Iterator[tuple[str, Recording]]:
    """Serve `app` on loopback with every request recorded; yields its URL and the recording."""
    recording = Recording(app)
    with serve(recording) as url:
        yield url, recording


@dataclass
class Outcome:
    """What one recording printed and wrote."""

    code: int
    out: str
    err: str
    path: Path

    @property
    def document(self) -> dict[str, Any]:
        """The fixture file written."""
        return json.loads(self.path.read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def run_record(url: str, output: Path, *, client_clock: Callable[[], float] | None = None,
               sleep: Callable[[float], None] | None = None, **values: Any) -> Outcome:
    """Record from `url` as Alice, fast (1000 requests/s), the clock of the run at NOW."""
    given = {"base_url": url, "username": LOGIN, "password": PASSWORD, "window_start": SPAN[0],
             "window_end": SPAN[1], "rate_limit": "1000/s", "max_requests": 100, "output": str(output),
             "salt": "a-fixed-test-salt"} | values
    options = build_options({k: v for k, v in given.items() if v is not None}, env={}, now=NOW)
    client = None
    if client_clock is not None and sleep is not None:
        client = BudgetedClient(options.base_url, budget=options.max_requests, rate=options.rate_limit,
                                timeout=options.timeout, redactor=Redactor(options.secrets()), clock=client_clock,
                                sleep=sleep)
    out, err = io.StringIO(), io.StringIO()
    code = record(options, out=out, err=err, now=lambda: NOW, client=client)
    return Outcome(code, out.getvalue(), err.getvalue(), output)


def listing(pbx: MockPBX, token: str, start: str, end: str) -> tuple[int, list[dict[str, Any]]]:
    """The total and every call of one window, newest first, paged 1000 at a time."""
    calls: list[dict[str, Any]] = []
    total = None
    while total is None or len(calls) < total:
        reply = pbx.call_log(start, end, token=token, limit=1000, offset=len(calls))
        assert reply.status == 200, reply.body
        total = reply.body["total"]
        calls += reply.body["data"]
        if not reply.body["data"]:
            break
    return int(total), calls


def source_token(pbx: MockPBX) -> str:
    """A token of Alice's on the source."""
    return pbx.token(pbx.login(LOGIN, PASSWORD)["api_key"])
