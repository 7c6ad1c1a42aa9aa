"""`mockpbx serve` on granian: N workers behave as one server; replicas agree; logs are safe."""

from __future__ import annotations

import io
import json
import os
import re
import select
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import requests

CALLS = "/v1/call/log"
WINDOW = {"start_date": "2026-11-20 00:00:00", "end_date": "2026-11-27 12:00:00"}
DEMO = {"username": "foo@test.tel4vn.com", "password": "foo123"}
API_KEY = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeee"


class Server:
    """A `mockpbx serve` subprocess on a free loopback port, with its output collected."""

    def __init__(self, process: subprocess.Popen[str], host: str, port: int) -> None:
        self.process, self.host, self.port = process, host, port
        self.url = f"http://{'[' + host + ']' if ':' in host else host}:{port}"
        self.stderr_lines: list[str] = []

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        # A new connection each time, so that requests spread over the workers.
        headers = {"Connection": "close", **kwargs.pop("headers", {})}
        return requests.get(self.url + path, timeout=10, headers=headers, **kwargs)

    def post(self, path: str, body: object, **kwargs: Any) -> requests.Response:
        return requests.post(self.url + path, json=body, timeout=10, headers={"Connection": "close"}, **kwargs)

    def delete(self, path: str) -> requests.Response:
        return requests.delete(self.url + path, timeout=10, headers={"Connection": "close"})

    def token(self) -> str:
        return str(self.post("/v1/auth/token", {"api_key": API_KEY}).json()["data"]["token"])

    def connect(self) -> socket.socket:
        """A raw connection to the server."""
        return socket.create_connection((self.host, self.port), timeout=10)


@contextmanager
def serve(*args: str, host: str = "127.0.0.1", data: tuple[str, ...] = ("--days", "10", "--calls-per-day", "100"),
          extra_env: dict[str, str] | None = None) -> Iterator[Server]:
    """`mockpbx serve` with `args` on `host` and a free port, stopped with SIGTERM afterwards."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MOCKPBX_")} | (extra_env or {})
    process = subprocess.Popen([sys.executable, "-m", "mockpbx", "serve", "--host", host, "--port", "0", *data, *args],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    assert process.stdout is not None and process.stderr is not None
    line = process.stdout.readline()
    match = re.search(r"http://\[?([^\]\s]+?)\]?:(\d+)\s", line)
    server = Server(process, match.group(1) if match else host, int(match.group(2)) if match else 0)
    reader = threading.Thread(target=lambda: server.stderr_lines.extend(process.stderr), daemon=True)  # type: ignore[arg-type]
    reader.start()
    try:
        assert match, f"no URL in the banner: {line!r}"
        yield server
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
        reader.join(timeout=5)
        process.stdout.close()
        process.stderr.close()


def test_two_workers_behave_as_one_server() -> None:
    with serve("--workers", "2", "--clock-start", "2026-11-27T12:00:00+07:00", "--freeze-clock") as server:
        token = server.token()
        auth = {"Authorization": f"Bearer {token}"}
        before = server.get(CALLS, params=WINDOW, headers=auth).json()["total"]
        # Each change goes through one worker; every later request, on any worker, sees it.
        server.post("/_mock/calls", {"domain_uuid": "dddddddd-1111-2222-3333-eeeeeeee", "calls": [
            {"source": "0899123456", "destination": "0971234567", "start_time": "2026-11-26T01:00:00Z",
             "duration": 30}]})
        server.post("/_mock/faults", {"method": "GET", "path": "/healthz", "status": 503, "times": 5})
        server.post("/_mock/clock", {"advance_seconds": 3599})
        totals = {server.get(CALLS, params=WINDOW, headers=auth).json()["total"] for _ in range(20)}
        assert totals == {before + 1}
        health = [server.get("/healthz").status_code for _ in range(20)]
        assert health.count(503) == 5 and health.count(200) == 15
        clocks = {server.get("/_mock/clock").json()["unix"] for _ in range(10)}
        assert clocks == {1795755600 + 3599}
        server.post("/_mock/clock", {"advance_seconds": 1})
        assert {server.get(CALLS, params=WINDOW, headers=auth).status_code for _ in range(10)} == {401}
        journal = server.get("/_mock/requests").json()["data"]
        assert len(journal) == 2 + 20 + 20 + 10  # every API request, whichever worker took it
        assert [e["id"] for e in journal] == sorted(e["id"] for e in journal)
        server.post("/_mock/reset", {})
        assert {server.get(CALLS, params=WINDOW, headers={
            "Authorization": f"Bearer {server.token()}"}).json()["total"] for _ in range(10)} == {before}
    pids = {json.loads(line)["pid"] for line in server.stderr_lines if line.startswith("{")}
    assert len(pids) == 2, "both workers served requests"


def test_replicas_with_the_same_seed_serve_the_same_data_and_accept_each_others_tokens() -> None:
    # The first replica started five minutes before the second (by its clock), the same seed.
    with serve("--seed", "3", "--clock-start", "2026-11-27T11:55:00+07:00") as early, \
            serve("--seed", "3", "--clock-start", "2026-11-27T12:00:00+07:00", "--freeze-clock") as late:
        early.post("/_mock/clock", {"now": "2026-11-27T12:00:00+07:00", "frozen": True})
        token = early.token()
        for query in (WINDOW, {**WINDOW, "offset": 300, "limit": 100}, {**WINDOW, "source": "0971234567"}):
            a = early.get(CALLS, params=query, headers={"Authorization": f"Bearer {token}"})
            b = late.get(CALLS, params=query, headers={"Authorization": f"Bearer {token}"})
            assert a.status_code == b.status_code == 200 and a.json() == b.json() and a.json()["total"] > 100
        other = serve("--seed", "4", "--clock-start", "2026-11-27T12:00:00+07:00", "--freeze-clock")
        with other as different:
            assert different.get(CALLS, params=WINDOW, headers={"Authorization": f"Bearer {token}"}).status_code == 401


def test_access_log_is_json_without_secrets_and_sigterm_is_graceful() -> None:
    with serve() as server:
        token = server.token()
        server.post("/v1/auth", DEMO)
        server.get(CALLS, params={**WINDOW, "token": "leaked-in-query"}, headers={"Authorization": f"Bearer {token}"})
    assert server.process.returncode == 0
    lines = [json.loads(line) for line in server.stderr_lines if line.startswith("{")]
    assert [(e["method"], e["path"], e["status"]) for e in lines] == [
        ("POST", "/v1/auth/token", 200), ("POST", "/v1/auth", 200), ("GET", CALLS, 200)]
    text = "".join(server.stderr_lines)
    for secret in ("foo123", API_KEY, token, "leaked-in-query"):
        assert secret not in text


def test_a_drop_fault_cuts_the_connection_under_granian() -> None:
    with serve() as server:
        server.post("/_mock/faults", {"path": "/healthz", "kind": "drop", "times": 1})
        try:
            response = server.get("/healthz")
            response.json()
            dropped = False
        except (requests.ConnectionError, requests.exceptions.ChunkedEncodingError, ValueError):
            dropped = True
        assert dropped
        assert server.get("/healthz").status_code == 200


class _Written(io.StringIO):
    """An output that notes, as the banner is printed, how many workers had said they serve."""

    def __init__(self, told: list[int]) -> None:
        super().__init__()
        self.told, self.told_at_banner = told, -1

    def write(self, text: str) -> int:
        if self.told_at_banner < 0:
            self.told_at_banner = len(self.told)
        return super().write(text)


@pytest.mark.parametrize("workers", [1, 2, 3])
def test_the_banner_waits_until_every_worker_serves(workers: int) -> None:
    """The banner is the readiness signal. (Before, it came as soon as the port took connections,
    which granian's server does before its workers run: a SIGTERM sent at once could land in a
    worker still starting, whose graceful stop then hung until the server killed it 10 s later;
    5 stops in 80 on a loaded machine, none in 120 since.)"""
    from mockpbx.serving import _announce_when_serving
    read_fd, write_fd = os.pipe()
    told: list[int] = []
    out = _Written(told)
    banner = threading.Thread(target=_announce_when_serving, args=(workers, read_fd, "the banner", out))
    banner.start()
    try:
        for worker in range(workers):
            threading.Event().wait(0.05)  # time for a banner printed too early to show itself
            told.append(worker)
            os.write(write_fd, b".")
        banner.join(timeout=30)
    finally:
        os.close(write_fd)
    assert out.getvalue() == "the banner\n"
    assert out.told_at_banner == workers


def test_the_banner_comes_anyway_if_a_worker_never_says_it_serves() -> None:
    from mockpbx.serving import _announce_when_serving
    read_fd, write_fd = os.pipe()
    out = io.StringIO()
    try:
        os.write(write_fd, b".")
        _announce_when_serving(2, read_fd, "the banner", out, timeout=0.2)
    finally:
        os.close(write_fd)
    assert out.getvalue() == "the banner\n"


def _children(pid: int) -> list[int]:
    """The processes whose parent is `pid` (from /proc)."""
    found = []
    for entry in os.listdir("/proc"):
        try:
            with open(f"/proc/{entry}/stat") as stat:
                fields = stat.read().rpartition(")")[2].split()
        except (OSError, ValueError):
            continue  # not a process, or one that ended meanwhile
        if entry.isdigit() and int(fields[1]) == pid:
            found.append(int(entry))
    return found


@pytest.mark.skipif(not sys.platform.startswith("linux") or not hasattr(os, "pidfd_open"),
                    reason="Linux: the parent-death signal, and pidfds to wait on other processes")
@pytest.mark.parametrize("workers", ["1", "2"])
def test_workers_stop_when_the_server_is_killed_outright(workers: str) -> None:
    """A SIGKILLed server cannot stop its workers; each stops itself. (Before: they served on as
    orphans, holding the port, with state nothing could reset.)"""
    with serve("--workers", workers) as server:
        children = _children(server.process.pid)
        assert len(children) == int(workers) and server.get("/healthz").status_code == 200
        exits = [os.pidfd_open(pid) for pid in children]
        try:
            server.process.kill()
            server.process.wait(timeout=10)
            for fd in exits:  # readable once that worker has ended
                assert select.select([fd], [], [], 30)[0] == [fd], "a worker outlived its server"
        finally:
            for fd in exits:
                try:  # a worker left over would hold the server's pipes (and the port): end it
                    signal.pidfd_send_signal(fd, signal.SIGKILL)
                except ProcessLookupError:
                    pass  # it ended, as it should
                os.close(fd)
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection((server.host, server.port), timeout=10).close()


def test_a_start_removes_the_state_left_by_servers_killed_outright(tmp_path: Any) -> None:
    """A server killed outright cannot remove its shared-state directory; the next `--workers N`
    start removes those whose server is gone, and nothing else. (Before: each one stayed.)"""
    from mockpbx.serving import STATE_OWNER, STATE_PREFIX
    ended = subprocess.Popen([sys.executable, "-c", "pass"])
    ended.wait(timeout=30)
    me = Path(f"/proc/{os.getpid()}/stat").read_text().rpartition(")")[2].split()[19]
    owners = {"gone": f"{ended.pid} 1", "running": f"{os.getpid()} {me}",
              "reused": f"{os.getpid()} {int(me) + 1}", "unreadable": "not a pid"}
    for name, owner in owners.items():
        (tmp_path / (STATE_PREFIX + name)).mkdir()
        (tmp_path / (STATE_PREFIX + name) / STATE_OWNER).write_text(owner)
    (tmp_path / (STATE_PREFIX + "older")).mkdir()  # no owner file: a server of an older mockpbx
    (tmp_path / "other").mkdir()
    with serve("--workers", "2", extra_env={"TMPDIR": str(tmp_path)}) as server:
        assert server.get("/healthz").status_code == 200
        left = sorted(p.name.removeprefix(STATE_PREFIX) for p in tmp_path.iterdir())
        own = [name for name in left if name not in ("running", "unreadable", "older", "other")]
        assert len(own) == 1, left  # the server's own directory, with its owner
        owner = (tmp_path / (STATE_PREFIX + own[0]) / STATE_OWNER).read_text().split()
        assert int(owner[0]) == server.process.pid
    assert sorted(p.name.removeprefix(STATE_PREFIX) for p in tmp_path.iterdir()) == \
        ["older", "other", "running", "unreadable"]


def test_a_stop_asked_for_while_the_workers_start_waits_until_they_serve() -> None:
    """(Before: a SIGTERM in the middle of the workers' start could leave one hanging until the
    server killed it 10 s later: 2 stops in 17 with --workers 2.)"""
    from mockpbx.serving import _announce_when_serving, _StartupGate
    stops: list[tuple[object, ...]] = []
    gate = _StartupGate(lambda *args: stops.append(args))
    gate.request(15, None)  # SIGTERM while the workers start
    assert stops == []
    read_fd, write_fd = os.pipe()
    out = io.StringIO()
    try:
        os.write(write_fd, b"..")
        _announce_when_serving(2, read_fd, "the banner", out, gate=gate)
    finally:
        os.close(write_fd)
    assert stops == [()] and out.getvalue() == ""  # stopped once they serve; no banner for a stopping server
    assert gate.release() is False and stops == [()]  # once only
    later = _StartupGate(lambda *args: stops.append(args))
    assert later.release() is True
    later.request(15, None)  # after the start: at once
    assert stops == [(), (15, None)]
