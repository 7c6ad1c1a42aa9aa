"""`mockpbx record` as a user runs it: against a `mockpbx serve` process, its file served by another
`mockpbx serve --fixtures`; bad arguments exit 2 on one line."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from click.testing import CliRunner

from mockpbx.cli import main
from mockpbx.testing import MockPBX
from tests.record.source import API_KEY, LOGIN, PASSWORD, SPAN, WINDOWS, listing, source_fixtures, source_token


@contextmanager
def served(*args: str) -> Iterator[str]:
    """`mockpbx serve` on 127.0.0.1, a free port; yields its URL and stops it."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MOCKPBX_")}
    process = subprocess.Popen([sys.executable, "-m", "mockpbx", "serve", "--port", "0", "--no-access-log", *args],
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env)
    try:
        assert process.stdout is not None
        banner = process.stdout.readline()  # blocks until the socket is bound and the data loaded
        match = re.search(r"http://127\.0\.0\.1:\d+", banner)
        assert match, f"no URL in the banner: {banner!r}"
        yield match.group(0)
    finally:
        process.terminate()
        process.communicate(timeout=10)


def test_record_from_a_served_mock_then_serve_the_file(tmp_path: Path) -> None:
    output = tmp_path / "recorded.json"
    source_args = ["--fixtures", str(source_fixtures(tmp_path)), "--days", "40", "--calls-per-day", "40",
                   "--seed", "3", "--clock-start", "2026-11-27T05:00:00Z", "--freeze-clock"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("MOCKPBX_")}
    env |= {"MOCKPBX_VERIFY_USERNAME": LOGIN, "MOCKPBX_VERIFY_PASSWORD": PASSWORD}
    with served(*source_args) as source:
        result = subprocess.run([sys.executable, "-m", "mockpbx", "record", "--base-url", source,
                                 "--window-start", SPAN[0], "--window-end", SPAN[1], "--rate-limit", "200/s",
                                 "-o", str(output)], check=False, capture_output=True, text=True, env=env,
                                timeout=60)
        original = MockPBX(source)
        token = source_token(original)
        totals = [listing(original, token, *window)[0] for window in
                  WINDOWS]
    assert result.returncode == 0, result.stderr
    assert re.fullmatch(rf"recorded {sum(totals)} calls in 2 window\(s\) from {re.escape(source)} \(profile "
                        rf"reference\), \d+ distinct numbers mapped, 4 of 300 requests used -> {re.escape(str(output))}\n",
                        result.stdout)
    assert result.stderr.count("requests] window") == 2
    for secret in (PASSWORD, API_KEY):
        assert secret not in result.stdout + result.stderr + output.read_text(encoding="utf-8")
    with served("--fixtures", str(output)) as replay_url:
        replay = MockPBX(replay_url)
        replay_token = replay.token()
        assert [listing(replay, replay_token, *window)[0] for window in
                WINDOWS] == totals


@pytest.mark.parametrize("args, reason", [
    ([], "--base-url is required"),
    (["--base-url", "http://127.0.0.1:1", "--api-key", "k"], "-o/--output FILE is required"),
    (["--base-url", "http://127.0.0.1:1", "-o", "x.json"], "no credentials"),
    (["--base-url", "http://127.0.0.1:1", "--api-key", "k", "-o", "x.json", "--salt", "short"], "at least 8"),
    (["--base-url", "http://127.0.0.1:1", "--api-key", "k", "-o", "x.json", "--window-start", "2026-02-01",
      "--window-end", "2026-01-01"], "must be before"),
    (["--base-url", "http://127.0.0.1:1", "--api-key", "k", "-o", "x.json", "--shift-to", "next week"],
     "--shift-to must be a date"),
    (["--base-url", "http://127.0.0.1:1", "--api-key", "k", "-o", "x.json", "--max-requests", "2"],
     "--max-requests must be at least 3"),
])
def test_bad_arguments_exit_2_with_one_line(args: list[str], reason: str) -> None:
    result = CliRunner().invoke(main, ["record", *args], env={"MOCKPBX_VERIFY_USERNAME": None,
                                                             "MOCKPBX_VERIFY_PASSWORD": None,
                                                             "MOCKPBX_VERIFY_API_KEY": None})
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and reason in lines[0], result.stderr


def test_an_unreachable_host_exits_2_and_writes_nothing(tmp_path: Path) -> None:
    output = tmp_path / "never.json"
    result = CliRunner().invoke(main, ["record", "--base-url", "http://127.0.0.1:9", "--api-key", API_KEY,
                                       "-o", str(output), "--timeout", "2"])
    assert result.exit_code == 2 and not output.exists()
    assert result.stderr.strip().splitlines()[-1].startswith(
        "mockpbx record: cannot run: cannot reach http://127.0.0.1:9: network error: [Errno 111]")
    assert API_KEY not in result.output + result.stderr


def test_the_readme_shows_the_output_record_prints() -> None:
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Recording a host: `mockpbx record`", 1)[1].split("\n## ", 1)[0]
    shown = re.findall(r"```\n(\[.*?)```", section, re.DOTALL)[0].splitlines()
    assert re.fullmatch(r"recorded \d+ calls in \d+ window\(s\) from \S+ \(profile reference\), \d+ distinct "
                        r"numbers mapped, \d+ of \d+ requests used -> recorded\.json", shown[-1])
    assert all(re.fullmatch(r"\[ *\d+/\d+ requests\] .+", line) for line in shown[:-1] if line != "...")
