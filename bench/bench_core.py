"""Core figures of the mock: a million calls in one domain, window queries, start-up time.

Prints its figures; run it on a quiet machine (`python bench/bench_core.py`). Nothing here is
a timed test: the test suite stays fast and deterministic.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import statistics
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from datetime import date, timedelta
from zoneinfo import ZoneInfo

from mockpbx.clock import ControllableClock
from mockpbx.data.generator import TrafficProfile, generate_table
from mockpbx.data.randomness import RandomSource
from mockpbx.domain.calllog import CallLog
from mockpbx.domain.calls import CallTable
from mockpbx.domain.window import Page, Window

ZONE = ZoneInfo("Asia/Ho_Chi_Minh")
SOURCES = ("0899123456", "02873001234", "02873005678", "0971234567")


def rss_mb() -> float:
    """Peak resident set size of this process, in MB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def build(calls: int) -> tuple[CallTable, float]:
    """A table of about `calls` generated calls over 90 days, and the seconds it took."""
    days = 90
    per_day = round(calls / (days * 0.78))  # weekends are quieter: about 0.79 of weekday volume on average
    last = date(2026, 11, 27)
    started = time.perf_counter()
    table = generate_table(RandomSource(1), "domain", SOURCES, last - timedelta(days=days - 1), last,
                           TrafficProfile(per_day), ZONE)
    return table, time.perf_counter() - started


def median_ms(function, repeat: int) -> float:  # type: ignore[no-untyped-def]
    """Median wall time of `function()` in milliseconds."""
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        function()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def bench_queries(table: CallTable, repeat: int) -> list[tuple[str, float, int]]:
    """Median time of a 31-day window query (count + one page) at several offsets, +/- source."""
    end = table.keys[-1] >> 25
    clock = ControllableClock(start=end, frozen=True)

    class Fixed:
        retention_seconds = 10**9

        def table_covering(self, now: float) -> CallTable:
            return table

    log = CallLog(clock)
    log.add_domain("domain", Fixed())
    window = Window(end - 31 * 86400, end)
    rows = []
    for source in (None, "02873001234"):
        measure(log, window, source, repeat, rows, "")
    # Explicit calls beside the generated ones: the page is cut from the union of two tables.
    log.add_calls("domain", (table.call(i) for i in range(0, len(table), 1000)))
    for source in (None, "02873001234"):
        measure(log, window, source, repeat, rows, " +1k added")
    return rows


def measure(log: CallLog, window: Window, source: str | None, repeat: int,
            rows: list[tuple[str, float, int]], label: str) -> None:
    """Append the median query times at the first, middle and last offsets."""
    total = log.query("domain", window, source, Page(10, 0)).total
    for offset in (0, total // 2, max(0, total - 10)):
        page = Page(10, offset)
        ms = median_ms(lambda page=page: log.query("domain", window, source, page), repeat)
        rows.append((f"31-day window{label}, source={source or '-'}, offset={offset}", ms, total))


def startup_seconds(runs: int) -> float:
    """Median seconds from spawning `mockpbx serve` (default data) to its first 200 on the call log."""
    results = []
    for _ in range(runs):
        started = time.perf_counter()
        process = subprocess.Popen([sys.executable, "-m", "mockpbx", "serve", "--port", "0"],
                                   stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                                   env={k: v for k, v in os.environ.items() if not k.startswith("MOCKPBX_")})
        try:
            url = re.search(r"http://[\d.]+:\d+", process.stdout.readline()).group(0)  # type: ignore[union-attr]
            results.append(first_200(url, started))
        finally:
            process.terminate()
            process.wait(timeout=10)
    return statistics.median(results)


def first_200(url: str, started: float) -> float:
    """Log in, get a token, and poll the call log until it answers 200 (at most 10 s)."""
    def post(path: str, body: dict[str, str]) -> dict:  # type: ignore[type-arg]
        request = urllib.request.Request(url + path, json.dumps(body).encode(), {"Content-Type": "application/json"})
        return json.load(urllib.request.urlopen(request, timeout=5))  # type: ignore[no-any-return]
    api_key = post("/v1/auth", {"username": "foo@test.tel4vn.com", "password": "foo123"})["data"]["api_key"]
    token = post("/v1/auth/token", {"api_key": api_key})["data"]["token"]
    today = time.strftime("%Y-%m-%d")
    query = urllib.parse.urlencode({"start_date": f"{today} 00:00:00", "end_date": f"{today} 23:59:59"})
    request = urllib.request.Request(f"{url}/v1/call/log?{query}", headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=5) as response:
        assert response.status == 200
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=200)
    parser.add_argument("--startup-runs", type=int, default=5)
    args = parser.parse_args()
    before = rss_mb()
    print(f"building {args.calls:,} calls in one domain ...", file=sys.stderr)
    table, seconds = build(args.calls)
    print(f"build: {len(table):,} calls in {seconds:.1f} s; peak RSS {rss_mb():.0f} MB "
          f"(interpreter and imports: {before:.0f} MB)")
    print(f"{'query':<58} {'median ms':>9} {'total':>9}")
    for name, ms, total in bench_queries(table, args.repeat):
        print(f"{name:<58} {ms:>9.3f} {total:>9,}")
    # The worst case of the per-call JSON kept by position: a client that reads every call.
    started = time.perf_counter()
    size = sum(len(table.encoded(i)) for i in range(len(table)))
    print(f"every call's JSON encoded and kept (a client that reads them all): {time.perf_counter() - started:.1f} s, "
          f"{size / 1e6:.0f} MB of JSON; peak RSS {rss_mb():.0f} MB")
    print(f"start-up to the first 200 on the call log (default data, median of {args.startup_runs}): "
          f"{startup_seconds(args.startup_runs):.2f} s")


if __name__ == "__main__":
    main()
