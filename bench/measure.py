"""One benchmark target: start it, time it to its first 200, load it with wrk, stop it."""

from __future__ import annotations

import json
import math
import os
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from harness import BENCH, ROOT, MemorySampler, Server, WrkResult, expand, free_port, log, request, run_wrk, wait_until

DEMO_LOGIN = {"username": "foo@test.tel4vn.com", "password": "foo123"}
JSON = {"Content-Type": "application/json"}


def call_log_path(days: int = 30, limit: int = 10, now: datetime | None = None) -> str:
    """GET /v1/call/log for a window of `days` ending now, in the PBX's time zone."""
    zone = ZoneInfo(os.environ.get("MOCKPBX_TIMEZONE") or "Asia/Ho_Chi_Minh")
    end = (now or datetime.now(zone)).astimezone(zone).replace(microsecond=0)
    start = end - timedelta(days=days)
    query = {"start_date": start.strftime("%Y-%m-%d %H:%M:%S"),
             "end_date": end.strftime("%Y-%m-%d %H:%M:%S"), "limit": limit}
    return "/v1/call/log?" + urlencode(query)


@dataclass
class Target:
    """A server to measure and the request to load it with.

    `command` is a template: {port}, {python}, {bench}, {root} and any `values` are filled in.
    With `login`, the demo account's bearer token is fetched first (POST /v1/auth, then
    /v1/auth/token) and sent as `Authorization`; otherwise `headers` are sent as they are.
    """

    name: str
    command: str
    path: str
    headers: dict[str, str] = field(default_factory=dict)
    login: bool = False
    env: dict[str, str] = field(default_factory=dict)
    values: dict[str, object] = field(default_factory=dict)
    ready_timeout: float = 60.0
    #: Seconds of unmeasured load before the measured run, if not the run's default.
    warmup: float | None = None
    #: Measured in the first round only (a slow start-up, figures that are not compared).
    once: bool = False
    #: Further requests timed one at a time (wrk, 1 connection) after the main load.
    probes: dict[str, str] = field(default_factory=dict)
    #: A wrk Lua script (e.g. one that varies the query so that no two requests are alike).
    script: str | None = None
    #: The server's working directory, if not the repository's root (e.g. another build's checkout).
    cwd: Path | None = None
    #: Load the server of the target of this name instead of starting one (another request stream
    #: to the same server; bench_paired.py only).
    server_of: str | None = None


@dataclass
class Row:
    """What was measured of one target (None: not measured, see `error`)."""

    name: str
    startup_s: float | None = None
    wrk: WrkResult | None = None
    peak_rss_mib: float | None = None
    peak_pss_mib: float | None = None
    sigterm_s: float | None = None
    exit_code: int | None = None
    first: str = ""
    error: str = ""
    probes: dict[str, WrkResult] = field(default_factory=dict)


def _summary(status: int, body: bytes) -> str:
    """`200 total=2` or `401 {"error": ...}`: what the first answer to the request was."""
    try:
        document = json.loads(body)
    except ValueError:
        return f"{status} {body[:60]!r}"
    if isinstance(document, dict) and "total" in document:
        return f"{status} total={document['total']} rows={len(document.get('data') or [])}"
    return f"{status} {json.dumps(document)[:60]}"


class Probe:
    """The readiness probe: the benchmarked request itself, after logging in if needed."""

    def __init__(self, target: Target, port: int) -> None:
        self.target, self.port = target, port
        self.headers = dict(target.headers)
        self.first = ""

    def _token(self) -> bool:
        status, body = request(self.port, "POST", "/v1/auth", JSON, json.dumps(DEMO_LOGIN).encode(), 2)
        if status != 200:
            return False
        api_key = json.loads(body)["data"]["api_key"]
        status, body = request(self.port, "POST", "/v1/auth/token", JSON, json.dumps({"api_key": api_key}).encode(), 2)
        if status != 200:
            return False
        self.headers["Authorization"] = "Bearer " + json.loads(body)["data"]["token"]
        return True

    def __call__(self) -> bool:
        if self.target.login and "Authorization" not in self.headers and not self._token():
            return False
        status, body = request(self.port, "GET", self.target.path, self.headers, timeout=30)
        self.first = _summary(status, body)
        return status == 200


def measure(target: Target, duration: float, connections: int, threads: int, warmup: float,
            logs: Path | None = None) -> Row:
    """Start `target`, time it to the first 200 on its request, warm it up, load it, stop it."""
    row = Row(target.name)
    port = free_port()
    command = expand(target.command, port=port, python=sys.executable, bench=BENCH, root=ROOT, **target.values)
    log(f"[{target.name}] {' '.join(command)}")
    server = Server(command, env=target.env, cwd=target.cwd or ROOT,
                    log_path=(logs / f"{target.name}.log") if logs else None)
    try:
        server.start()
        with MemorySampler(server.sid) as memory:
            probe = Probe(target, port)
            try:
                row.startup_s = wait_until(probe, server, target.ready_timeout)
            finally:
                row.first = probe.first
            log(f"[{target.name}] first 200 after {row.startup_s:.2f} s: {row.first}")
            warmup = warmup if target.warmup is None else max(warmup, target.warmup)
            if warmup > 0:
                run_wrk(port, target.path, probe.headers, warmup, connections, threads, target.script)
            row.wrk = run_wrk(port, target.path, probe.headers, duration, connections, threads, target.script)
            log(f"[{target.name}] {row.wrk.rps:.0f} req/s, p50 {row.wrk.p50_ms:.2f} ms, "
                f"p99 {row.wrk.p99_ms:.2f} ms, non-2xx {row.wrk.non_2xx}, socket errors {row.wrk.socket_errors}")
            for label, path in target.probes.items():
                row.probes[label] = run_wrk(port, path, probe.headers, min(duration, 3), 1, 1)
        row.peak_rss_mib, row.peak_pss_mib = memory.peak_rss / 1024, memory.peak_pss / 1024
    except Exception as error:  # noqa: BLE001 -- one target failing must not lose the others' figures
        row.error = f"{type(error).__name__}: {error}"
        log(f"[{target.name}] FAILED: {row.error}")
    finally:
        row.sigterm_s, row.exit_code = server.stop()
    return row


def _f(value: float | None, spec: str) -> str:
    """A number for the table, '-' when it was not measured."""
    return "-" if value is None or (isinstance(value, float) and math.isnan(value)) else format(value, spec)


def table(rows: Sequence[Row]) -> str:
    """The rows as a fixed-width text table."""
    header = ("target", "req/s", "p50 ms", "p99 ms", "max ms", "non-2xx", "sock err", "start s",
              "peak RSS MiB", "peak PSS MiB", "SIGTERM s", "first response")
    lines = [header]
    for r in rows:
        w = r.wrk
        load = ("-",) * 6 if w is None else (
            _f(w.rps, ".0f"), _f(w.p50_ms, ".2f"), _f(w.p99_ms, ".2f"), _f(w.max_ms, ".1f"),
            _f(w.non_2xx, "d"), _f(w.socket_errors, "d"))
        lines.append((
            r.name, *load,
            _f(r.startup_s, ".2f"), _f(r.peak_rss_mib, ".0f"), _f(r.peak_pss_mib, ".0f"),
            _f(r.sigterm_s, ".2f") + ("" if r.exit_code in (0, None) else f" (rc {r.exit_code})"),
            r.error or r.first,
        ))
    widths = [max(len(str(line[i])) for line in lines) for i in range(len(header))]
    out = []
    for n, line in enumerate(lines):
        cells = [str(c).ljust(widths[i]) if i in (0, len(header) - 1) else str(c).rjust(widths[i])
                 for i, c in enumerate(line)]
        out.append("  ".join(cells).rstrip())
        if n == 0:
            out.append("  ".join("-" * w for w in widths))
    return "\n".join(out)


def ratio(rows: Mapping[str, Row], top: str, bottom: str) -> float | None:
    """req/s of `top` over req/s of `bottom`, or None if either was not measured."""
    a, b = rows.get(top), rows.get(bottom)
    if not a or not b or not a.wrk or not b.wrk or not b.wrk.rps:
        return None
    return a.wrk.rps / b.wrk.rps


def best_of(rows: Sequence[Row]) -> Row:
    """The row with the highest req/s: the machine's noise only ever slows a run down."""
    return max(rows, key=lambda r: r.wrk.rps if r.wrk else -1.0)


def pause(seconds: float) -> None:
    """Let the machine settle between targets (sockets in TIME_WAIT, the previous JVM's exit)."""
    time.sleep(seconds)
