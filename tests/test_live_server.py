"""`mockpbx serve` as a real process on loopback: the API reference's curl commands, SIGTERM and SIGHUP."""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = ROOT / "docs" / "vendor" / "pbx-api-reference.md"
SAMPLE_TOKEN = ("eyJhbGciOiJSU0EtT0FFUC0yNTYiLCJlbmMiOiJBMjU2R0NNIiwiaWF0IjoxNjEzNjMyNzc4fQ."
                "dGhpcyBpcyB0ZXN0IGRhdGE=")


class Served:
    def __init__(self, process: subprocess.Popen[str], url: str, banner: str) -> None:
        self.process, self.url, self.banner = process, url, banner


def start(*args: str, hangup_ignored: bool = False) -> Served:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MOCKPBX_")}
    # Ignored as nohup does, or the default even when the suite itself runs under nohup (the
    # server would otherwise inherit the ignore, and a SIGHUP test would wait on a server kept up).
    hangup = signal.SIG_IGN if hangup_ignored else signal.SIG_DFL
    process = subprocess.Popen([sys.executable, "-m", "mockpbx", "serve", "--port", "0", *args],
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env,
                               preexec_fn=lambda: signal.signal(signal.SIGHUP, hangup))
    assert process.stdout is not None
    banner = process.stdout.readline()  # blocks until the socket is bound and the data loaded
    match = re.search(r"http://127\.0\.0\.1:\d+", banner)
    if not match:
        process.kill()
        raise AssertionError(f"no URL in the banner: {banner!r}")
    for _ in range(3):
        banner += process.stdout.readline()
    return Served(process, match.group(0), banner)


@pytest.fixture(scope="module")
def served() -> Iterator[Served]:
    server = start("--days", "10", "--calls-per-day", "100")
    yield server
    server.process.terminate()
    server.process.communicate(timeout=10)


def reference_curls() -> list[list[str]]:
    """The shell blocks of the reference, as argument lists, with its two known quirks fixed."""
    blocks = re.findall(r"```shell\n(.*?)```", REFERENCE.read_text(encoding="utf-8"), re.S)
    commands = []
    for block in blocks:
        # Quirk 1: the call-log example misses a line continuation before its last -H.
        text = re.sub(r"'\n-H", "' \\\n-H", block).replace("\\\n", " ")
        commands.append(shlex.split(text))
    return commands


def run_curl(args: list[str]) -> dict[str, object]:
    result = subprocess.run(args + ["--silent", "--show-error", "--max-time", "10"],
                            capture_output=True, text=True, timeout=20, check=True)
    return json.loads(result.stdout)  # type: ignore[no-any-return]


def test_banner_shows_the_url_and_demo_credentials(served: Served) -> None:
    assert "username=foo@test.tel4vn.com password=foo123" in served.banner
    assert "api_key=aaaaaaaa-bbbb-cccc-dddd-eeeeeeee" in served.banner


def test_every_curl_of_the_api_reference_works(served: Served) -> None:
    login, token, call_log = reference_curls()
    host = served.url.removeprefix("http://")
    fill = lambda args: [a.replace("{API_HOST}", host) for a in args]  # noqa: E731
    account = run_curl(fill(login))
    assert account["data"]["api_key"] == "aaaaaaaa-bbbb-cccc-dddd-eeeeeeee"  # type: ignore[index]
    issued = run_curl(fill(token))["data"]
    assert set(issued) == {"expire_at", "token", "user_id"}  # type: ignore[arg-type]
    # Quirk 2: the example swaps start_date and end_date; and it carries a sample token.
    args = [a.replace("end_date=2021-06-01%2000:00:00&start_date=2021-06-01%2023:59:59",
                      "start_date=2021-06-01%2000:00:00&end_date=2021-06-01%2023:59:59")
            .replace(SAMPLE_TOKEN, issued["token"]) for a in fill(call_log)]  # type: ignore[index]
    page = run_curl(args)
    assert page == {"data": [{"amount": 1600, "destination": "0123456789", "duration": 120,
                              "end_time": "2021-06-01T13:04:13Z", "source": "0899123456",
                              "start_time": "2021-06-01T13:02:13Z"}], "limit": 10, "offset": 0, "total": 1}
    swapped = subprocess.run(fill(call_log) + ["--silent"], capture_output=True, text=True, timeout=20)
    assert json.loads(swapped.stdout) == {"error": "invalid token"}  # as printed, with the sample token


def test_sigterm_stops_the_server_gracefully() -> None:
    server = start("--days", "1", "--calls-per-day", "10")
    server.process.send_signal(signal.SIGTERM)
    try:
        # Graceful: up to 10 s for requests in flight, then granian kills the worker. A SIGTERM
        # that lands as the worker starts can need that backstop (granian's graceful stop then
        # waits forever; about 1 start in 40 on a loaded machine), so the wait is longer.
        out, _ = server.process.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.communicate()  # no pipe left open for a later test to trip over
        raise
    assert server.process.returncode == 0 and "mockpbx stopped" in out


def _signals(pid: int) -> tuple[bool, bool]:
    """Whether the process ignores SIGHUP, and whether it catches it (from /proc)."""
    fields = dict(line.split(":\t", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":\t" in line)
    bit = 1 << (signal.SIGHUP - 1)
    return bool(int(fields["SigIgn"], 16) & bit), bool(int(fields["SigCgt"], 16) & bit)


def _fault_on_health(url: str) -> None:
    rule = json.dumps({"path": "/healthz", "kind": "error", "status": 503}).encode()
    request = urllib.request.Request(url + "/_mock/faults", rule, {"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as answer:
        assert answer.status == 201


def _health(url: str) -> int:
    try:
        with urllib.request.urlopen(url + "/healthz", timeout=10) as answer:
            return int(answer.status)
    except urllib.error.HTTPError as error:
        error.close()
        return int(error.code)


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads signal masks from /proc")
@pytest.mark.parametrize("mode", ["serve", "dev"])
def test_sighup_stops_the_server_as_sigterm_does_and_stays_ignored_under_nohup(mode: str) -> None:
    """Nothing in a running mock is reloadable. (Before: under serve, granian took SIGHUP as a
    reload and forked fresh workers from the start-up state, dropping every fault, account and
    clock change, even under nohup; under --dev it killed the process with no graceful stop.)"""
    args = ("--days", "1", "--calls-per-day", "10") + (("--dev",) if mode == "dev" else ())
    server = start(*args)
    _fault_on_health(server.url)
    server.process.send_signal(signal.SIGHUP)
    try:
        out, _ = server.process.communicate(timeout=30)  # see test_sigterm_stops_the_server_gracefully
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.communicate()
        raise
    assert server.process.returncode == 0 and "mockpbx stopped" in out

    kept = start(*args, hangup_ignored=True)
    try:
        assert _signals(kept.process.pid) == (True, False)  # still ignored: no handler was put in its place
        _fault_on_health(kept.url)
        kept.process.send_signal(signal.SIGHUP)
        assert [_health(kept.url) for _ in range(10)] == [503] * 10  # the same server, its fault still set
    finally:
        kept.process.send_signal(signal.SIGTERM)
        out, _ = kept.process.communicate(timeout=30)
    assert kept.process.returncode == 0 and "mockpbx stopped" in out
