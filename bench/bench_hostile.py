"""/healthz latency while the server is under the attacks of issue 8.

Starts `mockpbx serve` (default settings, 1 worker, on a free port of 127.0.0.1), then holds
50 connections that each sent headers announcing a 54-byte body and only 5 bytes of it, and
10 requests sitting in a 5 s delay fault on GET /v1/call/log. While all 60 are held, GET
/healthz is timed one request after the other (a new connection each, as a health checker
does) for `--duration` seconds. Prints the worst, p99, p50 and the count. With
`--compare-threads 1` the same run follows against `--threads 1` (one thread for the control
API: the waits are on the event loop and need none; a request that does not come back within
`--timeout` counts as that long).

    python bench/bench_hostile.py
    python bench/bench_hostile.py --compare-threads 1 --duration 3
"""

from __future__ import annotations

import argparse
import json
import socket
import statistics
import sys
import time
import urllib.request
from pathlib import Path

from harness import ROOT, Server, exit_on_sigterm, free_port, log, wait_until

STALLED, DELAYED, DELAY_MS = 50, 10, 5000


def _post(url: str, body: object, method: str = "POST") -> object:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method=method,
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def _get(url: str, timeout: float = 10) -> object:
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return json.loads(response.read())


def attack(port: int) -> list[socket.socket]:
    """Open the stalled bodies and the delayed requests; return their sockets once all are held."""
    held = []
    for _ in range(STALLED):
        sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        sock.sendall(b"POST /v1/auth HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\n"
                     b"Content-Length: 54\r\n\r\n{\"use")
        held.append(sock)
    base = f"http://127.0.0.1:{port}"
    _post(base + "/_mock/faults", {"method": "GET", "path": "/v1/call/log", "kind": "delay",
                                   "delay_ms": DELAY_MS, "times": DELAYED})
    for _ in range(DELAYED):
        sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        sock.sendall(b"GET /v1/call/log HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n")
        held.append(sock)
    return held


def probe(port: int, duration: float, timeout: float) -> list[float]:
    """Latencies (ms) of GET /healthz, one after the other, for `duration` seconds."""
    url = f"http://127.0.0.1:{port}/healthz"
    found = []
    end = time.monotonic() + duration
    while time.monotonic() < end:
        started = time.perf_counter()
        try:
            _get(url, timeout)
            found.append((time.perf_counter() - started) * 1000)
        except OSError:
            found.append(timeout * 1000)  # no answer in time: counted as the whole timeout
    return found


def measure(threads: int | None, duration: float, timeout: float, logs: Path | None) -> dict[str, object]:
    """Start a server, attack it, time /healthz, stop it; the figures as a dict."""
    port = free_port()
    command = [sys.executable, "-m", "mockpbx", "serve", "--port", str(port), "--no-access-log"]
    if threads is not None:
        command += ["--threads", str(threads)]
    label = "default" if threads is None else f"--threads {threads}"
    log(f"--- {label}: {' '.join(command[1:])}")
    with Server(command, cwd=ROOT, log_path=None if logs is None else logs / f"hostile-{port}.log") as server:
        wait_until(lambda: _get(f"http://127.0.0.1:{port}/healthz", 1) is not None, server, 60)
        held = attack(port)
        try:
            # the delayed requests have all taken the fault
            wait_until(lambda: _get(f"http://127.0.0.1:{port}/_mock/faults", 2) == {"data": []}, server, 60)
            latencies = probe(port, duration, timeout)
        finally:
            for sock in held:
                sock.close()
    return {"server": label, "count": len(latencies), "worst_ms": max(latencies),
            "p99_ms": _percentile(latencies, 99), "p50_ms": statistics.median(latencies)}


def _percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1)))]


def main() -> int:
    """Measure and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    parser.add_argument("--duration", type=float, default=4, help="seconds of /healthz probing [4]")
    parser.add_argument("--timeout", type=float, default=3, help="seconds before a /healthz counts as lost [3]")
    parser.add_argument("--compare-threads", type=int, metavar="N", help="also run against --threads N")
    parser.add_argument("--logs", type=Path, help="a folder for the servers' output")
    args = parser.parse_args()
    exit_on_sigterm()
    if args.logs:
        args.logs.mkdir(parents=True, exist_ok=True)
    runs = [measure(None, args.duration, args.timeout, args.logs)]
    if args.compare_threads:
        runs.append(measure(args.compare_threads, args.duration, args.timeout, args.logs))
    print(f"GET /healthz, one at a time for {args.duration:g} s, while {STALLED} connections hold half-sent "
          f"bodies and {DELAYED} requests sit in a {DELAY_MS / 1000:g} s delay fault (127.0.0.1, 1 worker)")
    print(f"{'server':<14} {'count':>6} {'worst ms':>10} {'p99 ms':>9} {'p50 ms':>9}")
    for run in runs:
        print(f"{run['server']:<14} {run['count']:>6} {run['worst_ms']:>10.2f} {run['p99_ms']:>9.2f} "
              f"{run['p50_ms']:>9.2f}")
    worst = float(runs[0]["worst_ms"])  # type: ignore[arg-type]
    print(f"target: worst under 200 ms with the default serve: {'PASS' if worst < 200 else 'FAIL'} ({worst:.2f} ms)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
