"""`mockpbx serve` as a real process on loopback: the API reference's curl commands, and SIGTERM."""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import subprocess
import sys
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


def start(*args: str) -> Served:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MOCKPBX_")}
    process = subprocess.Popen([sys.executable, "-m", "mockpbx", "serve", "--port", "0", *args],
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env)
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
    out, _ = server.process.communicate(timeout=10)
    assert server.process.returncode == 0 and "mockpbx stopped" in out
