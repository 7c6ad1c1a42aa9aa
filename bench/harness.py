"""What the HTTP benchmarks share: servers on 127.0.0.1, readiness, wrk, peak RSS.

Every server runs in a session of its own, so that stopping it (SIGTERM, then SIGKILL
after a grace period) reaches its whole process tree and nothing else.
"""

from __future__ import annotations

import http.client
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Self

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent


def log(message: str) -> None:
    """Progress goes to stderr; stdout is kept for the final table."""
    print(message, file=sys.stderr, flush=True)


def exit_on_sigterm() -> None:
    """Turn SIGTERM into SystemExit, so that the `finally` blocks stop every server started."""
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))


def free_port() -> int:
    """A port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def expand(template: str, **values: object) -> list[str]:
    """A command line from a template such as `gunicorn -b 127.0.0.1:{port} ...`."""
    return shlex.split(template.format(**values))


# --- process tree and memory -------------------------------------------------------

def session_pids(sid: int, field: int = 3) -> list[int]:
    """The live processes of session `sid` (a server started with start_new_session); with
    `field=2`, of process group `sid` instead."""
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()  # after "(comm)": state ppid pgrp session ...
        if int(fields[field]) == sid and fields[0] != "Z":
            pids.append(int(entry))
    return pids


def _kib(path: str, key: str) -> int:
    try:
        for line in Path(path).read_text().splitlines():
            if line.startswith(key):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def tree_memory(sid: int) -> tuple[int, int]:
    """(RSS, PSS) of a session's processes, KiB; RSS counts pages shared by forks once per
    process, PSS splits them, so PSS is what the tree really costs."""
    pids = session_pids(sid)
    rss = sum(_kib(f"/proc/{p}/status", "VmRSS:") for p in pids)
    pss = sum(_kib(f"/proc/{p}/smaps_rollup", "Pss:") for p in pids)
    return rss, pss


class MemorySampler:
    """Samples a session's memory in a thread and keeps the peaks."""

    def __init__(self, sid: int, interval: float = 0.2) -> None:
        self.sid, self.interval = sid, interval
        self.peak_rss = self.peak_pss = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            rss, pss = tree_memory(self.sid)
            self.peak_rss, self.peak_pss = max(self.peak_rss, rss), max(self.peak_pss, pss)
            self._stop.wait(self.interval)

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def _machine_busy() -> tuple[int, int]:
    """(all, idle) clock ticks of every CPU since boot, from /proc/stat."""
    ticks = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return sum(ticks), ticks[3] + ticks[4]  # idle + iowait


def _thread_times(pids: Sequence[int]) -> dict[int, tuple[str, int, int, int]]:
    """{tid: (process name, ns on a CPU, ns runnable but waiting for one, times run)} of every thread
    of `pids` (/proc/<pid>/task/<tid>/schedstat)."""
    times = {}
    for pid in pids:
        try:
            tids = os.listdir(f"/proc/{pid}/task")
            name = Path(f"/proc/{pid}/comm").read_text().strip()
        except OSError:
            continue
        for tid in tids:
            try:
                run, wait, slices = (int(v) for v in Path(f"/proc/{pid}/task/{tid}/schedstat").read_text().split())
            except (OSError, ValueError):
                continue
            times[int(tid)] = (name, run, wait, slices)
    return times


@dataclass
class ThreadLoad:
    """What the scheduler gave one thread over some seconds of load (summed over samples)."""

    name: str
    seconds: float = 0.0
    run_ns: int = 0
    wait_ns: int = 0
    slices: int = 0

    def add(self, seconds: float, run_ns: int, wait_ns: int, slices: int) -> None:
        self.seconds += seconds
        self.run_ns, self.wait_ns, self.slices = self.run_ns + run_ns, self.wait_ns + wait_ns, self.slices + slices

    def line(self) -> str:
        """CPU and run-queue wait as % of the wall clock, times run per second, wait per time run."""
        wall = self.seconds * 1e9 or 1.0
        return (f"{self.name:<10} cpu {100 * self.run_ns / wall:5.1f}%  waiting for a CPU "
                f"{100 * self.wait_ns / wall:5.1f}%  runs/s {self.slices / (self.seconds or 1):7.0f}  "
                f"wait/run {self.wait_ns / max(self.slices, 1) / 1000:5.1f} us")


class ThreadSampler:
    """How the CPUs were shared while a block ran: per thread of a server's processes (session or
    process group `sid`), the time on a CPU and the time runnable but waiting for one (Linux's
    schedstat), and how busy the whole machine was. Samples add up across blocks (`loads`)."""

    def __init__(self, sid: int, own_session: bool) -> None:
        self.sid, self.field = sid, 3 if own_session else 2
        self.loads: dict[int, ThreadLoad] = {}
        self.busy_ticks = self.all_ticks = 0
        self._before: dict[int, tuple[str, int, int, int]] = {}
        self._begin = 0.0
        self._machine = (0, 0)

    def __enter__(self) -> Self:
        self._before = _thread_times(session_pids(self.sid, self.field))
        self._begin, self._machine = time.perf_counter(), _machine_busy()
        return self

    def __exit__(self, *exc: object) -> None:
        seconds = time.perf_counter() - self._begin
        machine = _machine_busy()
        self.all_ticks += machine[0] - self._machine[0]
        self.busy_ticks += (machine[0] - self._machine[0]) - (machine[1] - self._machine[1])
        for tid, (name, run, wait, slices) in _thread_times(session_pids(self.sid, self.field)).items():
            _, run0, wait0, slices0 = self._before.get(tid, (name, 0, 0, 0))
            self.loads.setdefault(tid, ThreadLoad(name)).add(seconds, run - run0, wait - wait0, slices - slices0)

    def report(self, threshold: float = 0.02) -> list[str]:
        """A line per thread that was on a CPU more than `threshold` of the time, busiest first,
        then the machine's use of its CPUs."""
        busiest = sorted(self.loads.values(), key=lambda load: -load.run_ns)
        lines = [load.line() for load in busiest if load.run_ns > threshold * load.seconds * 1e9]
        cpus = os.cpu_count() or 1
        lines.append(f"machine busy {100 * cpus * self.busy_ticks / max(self.all_ticks, 1):.0f}% of {100 * cpus}%")
        return lines


# --- servers -----------------------------------------------------------------------

@dataclass
class Server:
    """A server process started from a command line, in its own session."""

    command: list[str]
    env: Mapping[str, str] = field(default_factory=dict)
    cwd: Path = ROOT
    log_path: Path | None = None
    process: subprocess.Popen[bytes] | None = None
    started: float = 0.0
    #: A session of its own (the default), or only a process group of its own. Linux's autogroup
    #: scheduler gives each session a fair share of the CPUs: a server in its own session then
    #: competes with wrk's session as a group, not thread against thread (bench_paired.py
    #: --same-session measures the other case).
    own_session: bool = True

    def start(self) -> Server:
        """Start the process; its output goes to `log_path` (or is discarded)."""
        out = open(self.log_path, "wb") if self.log_path else None  # noqa: SIM115
        self.started = time.perf_counter()
        self.process = subprocess.Popen(self.command, cwd=self.cwd, env={**os.environ, **self.env},
                                        stdin=subprocess.DEVNULL, stdout=out or subprocess.DEVNULL,
                                        stderr=subprocess.STDOUT, start_new_session=self.own_session,
                                        process_group=None if self.own_session else 0)
        if out is not None:
            out.close()  # the child holds its own copy
        return self

    @property
    def sid(self) -> int:
        """The session id (= pid of the process started)."""
        assert self.process is not None
        return self.process.pid

    def alive(self) -> bool:
        """Whether the process started is still running."""
        return self.process is not None and self.process.poll() is None

    def stop(self, grace: float = 10.0) -> tuple[float | None, int | None]:
        """SIGTERM the process, wait up to `grace` s, then SIGKILL its whole session.
        Returns (seconds until the process started exited on SIGTERM or None, its exit code)."""
        if self.process is None:
            return None, None
        took: float | None = None
        if self.process.poll() is None:
            begin = time.perf_counter()
            self._signal(signal.SIGTERM, group=False)
            try:
                self.process.wait(grace)
                took = time.perf_counter() - begin
            except subprocess.TimeoutExpired:
                pass
        # Whatever the leader left behind (workers, a JVM under a wrapper) goes too.
        for pid in session_pids(self.sid, 3 if self.own_session else 2):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        if self.process.poll() is None:
            self.process.wait(5)
        return took, self.process.returncode

    def _signal(self, signum: int, group: bool) -> None:
        try:
            if group:
                os.killpg(self.sid, signum)
            else:
                self.process.send_signal(signum)  # type: ignore[union-attr]
        except ProcessLookupError:
            pass

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


# --- HTTP --------------------------------------------------------------------------

def request(port: int, method: str, path: str, headers: Mapping[str, str] | None = None,
            body: bytes | None = None, timeout: float = 5.0) -> tuple[int, bytes]:
    """One HTTP/1.1 request to 127.0.0.1:`port`; returns (status, body)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request(method, path, body=body, headers=dict(headers or {}))
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def wait_until(probe: Callable[[], bool], server: Server, deadline: float, pause: float = 0.01) -> float:
    """Call `probe` until it returns True; seconds since the server started.
    Raises RuntimeError if the server exits or `deadline` (seconds) passes."""
    while True:
        elapsed = time.perf_counter() - server.started
        if not server.alive():
            raise RuntimeError(f"server exited with code {server.process.returncode}")  # type: ignore[union-attr]
        if elapsed > deadline:
            raise RuntimeError(f"no 200 within {deadline:.0f} s")
        try:
            if probe():
                return time.perf_counter() - server.started
        except OSError:
            pass
        time.sleep(pause)


# --- wrk ---------------------------------------------------------------------------

@dataclass
class WrkResult:
    """What one wrk run measured."""

    requests: int
    rps: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    non_2xx: int
    socket_errors: int
    raw: str


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}


def _ms(text: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text).groups()  # type: ignore[union-attr]
    return float(number) * _UNITS[unit]


def parse_wrk(output: str) -> WrkResult:
    """Parse the output of `wrk --latency`."""
    percentile = dict(re.findall(r"^\s+(\d+)%\s+(\S+)\s*$", output, re.MULTILINE))  # "2.13s " ends in a space
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    latency_max = re.search(r"^\s+Latency\s+\S+\s+\S+\s+(\S+)", output, re.MULTILINE)
    return WrkResult(
        requests=int(re.search(r"(\d+) requests in", output).group(1)),  # type: ignore[union-attr]
        rps=float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1)),  # type: ignore[union-attr]
        p50_ms=_ms(percentile["50"]), p99_ms=_ms(percentile["99"]),
        max_ms=_ms(latency_max.group(1)) if latency_max else float("nan"),
        non_2xx=int(non_2xx.group(1)) if non_2xx else 0,
        socket_errors=sum(int(g) for g in errors.groups()) if errors else 0,
        raw=output,
    )


def run_wrk(port: int, path: str, headers: Mapping[str, str], duration: float, connections: int,
            threads: int, script: str | None = None) -> WrkResult:
    """Load 127.0.0.1:`port``path` with wrk for `duration` seconds (whole seconds, at least 1;
    bounded by a hard timeout)."""
    seconds = max(1, round(duration))
    command = ["wrk", "--latency", f"-t{min(threads, connections)}", f"-c{connections}", f"-d{seconds}s",
               "--timeout", "5s"]
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    if script:
        command += ["-s", script]
    command.append(f"http://127.0.0.1:{port}{path}")
    done = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 30, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"wrk failed ({done.returncode}): {done.stderr.strip() or done.stdout.strip()}")
    return parse_wrk(done.stdout)


def require(tools: Sequence[str]) -> None:
    """Exit with a message naming the install command if a tool is missing."""
    from shutil import which
    missing = [t for t in tools if which(t) is None]
    if missing:
        sys.exit(f"missing: {', '.join(missing)} (apt-get install -y wrk; Java 17 for WireMock)")
