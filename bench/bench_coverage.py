"""What counting API coverage costs a request: in-process, on the hottest path and beside it.

Prints its figures (`python bench/bench_coverage.py`); nothing here is a timed test.
- the cost of `Coverage.count` alone, per request, for a repeated call-log page (the polling
  client's request), an error, and a page with a `source` filter, with each control store;
- the WSGI fast path (a memoised call-log page, through the app's WSGI callable, no socket)
  with counting on and off, best of 5 interleaved rounds each.
"""

from __future__ import annotations

import io
import tempfile
import time
from pathlib import Path
from typing import Any

from mockpbx.backend import build_backend
from mockpbx.clock import ControllableClock
from mockpbx.control.journal import RawEntry
from mockpbx.control.shared import SharedStore
from mockpbx.settings import Settings
from mockpbx.web.app import create_app

NOW = 1795755600  # 2026-11-27 12:00:00 +07:00
QUERY = "start_date=2026-10-28+00%3A00%3A00&end_date=2026-11-27+00%3A00%3A00&limit=10"
ROUNDS, REQUESTS = 5, 20_000


def entry(path: str, status: int, query: str = QUERY) -> RawEntry:
    """A journal entry as the hooks make it."""
    return RawEntry(NOW, "GET", path, query, {}, b"", "", status, 0.1, None)


def per_call_us(function: Any, *args: Any) -> float:
    """Best-of-ROUNDS microseconds per call."""
    best = float("inf")
    for _ in range(ROUNDS):
        started = time.perf_counter()
        for _ in range(REQUESTS):
            function(*args)
        best = min(best, time.perf_counter() - started)
    return best / REQUESTS * 1e6


def count_costs(settings: Settings) -> None:
    """Coverage.count alone, per request, with each store."""
    page = b'{"data":[],"limit":10,"offset":0,"total":123}'
    cases = {
        "repeated call-log page (200)": (entry("/v1/call/log", 200), page),
        "call-log page with a source filter": (entry("/v1/call/log", 200, QUERY + "&source=0899123456"), page),
        "expired token (401)": (entry("/v1/call/log", 401), b'{"error":"token expired"}'),
    }
    with tempfile.TemporaryDirectory() as directory:
        shared = SharedStore.create(Path(directory), NOW, frozen=True)
        stores = {"memory store": None, "shared store (--workers N)": shared}
        for store_name, store in stores.items():
            backend = build_backend(settings, ControllableClock(start=NOW, frozen=True), store)  # type: ignore[arg-type]
            for case, (raw, body) in cases.items():
                print(f"  Coverage.count, {store_name}, {case}: {per_call_us(backend.coverage.count, raw, body):.2f} us")
        shared.close()


def fast_path_request(settings: Settings, counting: bool) -> Any:
    """One memoised call-log request through the WSGI fast path, counting coverage or not."""
    backend = build_backend(settings, ControllableClock(start=NOW, frozen=True))
    app = create_app(backend=backend)
    token = app.test_client().post("/v1/auth/token", json={"api_key": "aaaaaaaa-bbbb-cccc-dddd-eeeeeeee"})
    bearer = "Bearer " + token.get_json()["data"]["token"]
    if not counting:
        backend.coverage.count = lambda entry, response: None  # type: ignore[method-assign]
    environ = {"REQUEST_METHOD": "GET", "PATH_INFO": "/v1/call/log", "QUERY_STRING": QUERY,
               "HTTP_AUTHORIZATION": bearer, "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "80",
               "wsgi.url_scheme": "http", "wsgi.input": io.BytesIO(), "wsgi.errors": io.StringIO()}

    def start_response(status: str, headers: list[tuple[str, str]]) -> None:
        if status != "200 OK":
            raise RuntimeError(f"the fast path answered {status}")

    def one() -> None:
        b"".join(app.wsgi_app(dict(environ), start_response))

    one()  # the first answer memoises the page
    return one


def fast_path(settings: Settings) -> tuple[float, float]:
    """Requests per second of the fast path counting and not, rounds interleaved (best of each)."""
    on, off = fast_path_request(settings, True), fast_path_request(settings, False)
    best = {True: float("inf"), False: float("inf")}
    for _ in range(ROUNDS):
        for counting, one in ((True, on), (False, off)):
            started = time.perf_counter()
            for _ in range(REQUESTS):
                one()
            best[counting] = min(best[counting], time.perf_counter() - started)
    return REQUESTS / best[True], REQUESTS / best[False]


def main() -> None:
    settings = Settings.load({}, days=30, calls_per_day=200, access_log=False)
    print(f"API coverage cost, best of {ROUNDS} rounds of {REQUESTS:,} calls")
    count_costs(settings)
    on, off = fast_path(settings)
    print(f"  WSGI fast path, memoised call-log page: {on:,.0f} req/s counting, {off:,.0f} req/s not "
          f"({(off - on) / off * 100:.1f}% slower)")


if __name__ == "__main__":
    main()
