"""The API-coverage reports: the pytest plugin's summary, report files and fail-under (run with
pytester, passing and failing), also against a server elsewhere; and `mockpbx coverage --url`."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from mockpbx.cli import main
from mockpbx.coverage.catalogue import build_catalogue
from mockpbx.profiles import get_profile
from mockpbx.testing import MockPBX

pytest_plugins = ["pytester"]

CONFTEST = """
import pytest

@pytest.fixture(scope="session")
def mockpbx_settings():
    return {"days": 2, "calls_per_day": 20, "clock_start": "2026-11-27T12:00:00+07:00", "freeze_clock": True}
"""
CLIENT_TESTS = """
def test_token(mockpbx):
    assert mockpbx.token()

def test_call_log(mockpbx):
    reply = mockpbx.call_log("2026-11-26 00:00:00", "2026-11-27 00:00:00")
    assert reply.status == 200

def test_expired_token(mockpbx):
    token = mockpbx.token()
    mockpbx.advance_clock(3600)
    assert mockpbx.call_log("2026-11-26 00:00:00", "2026-11-27 00:00:00", token=token).status == 401
"""
#: Outcomes of the bundled contract (the reference profile's): the catalogue, not a number kept by hand.
CATALOGUE = build_catalogue(get_profile("reference").contract())
TOTAL = len(CATALOGUE.outcomes)
LOGIN_OUTCOMES = sum(1 for o in CATALOGUE.outcomes if o.operation == "POST /v1/auth")


@pytest.fixture
def client_tests(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_client=CLIENT_TESTS)
    return pytester


def headline(result: pytest.RunResult) -> str:
    lines = [line for line in result.outlines if line.startswith("mockpbx API coverage: ")]
    assert len(lines) == 1, result.stdout.str()
    return lines[0]


def test_a_passing_session_prints_the_summary_and_writes_both_reports(client_tests: pytest.Pytester) -> None:
    result = client_tests.runpytest("--mockpbx-coverage-report", "out/coverage.json", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=3)
    assert result.ret == 0
    report = json.loads((client_tests.path / "out" / "coverage.json").read_text())
    met = {(o["operation"], o["status"], o["kind"]) for o in report["outcomes"] if o["count"]}
    assert {("POST /v1/auth/token", 200, ""), ("GET /v1/call/log", 200, ""),
            ("GET /v1/call/log", 401, "expired token")} <= met
    assert report["exercised"] == len(met) and report["total"] == TOTAL == len(report["outcomes"])
    assert headline(result) == (f"mockpbx API coverage: {len(met)}/{TOTAL} outcomes "
                                f"({round(100 * len(met) / TOTAL)}%)")
    result.stdout.fnmatch_lines(["*= mockpbx API coverage =*", "never met:",
                                 f"  POST /v1/auth ({LOGIN_OUTCOMES}): 200, 400 request body not a JSON object, *",
                                 "  GET /v1/call/log (*): 200 page past the first, *",
                                 "*, 400 date range must be in 31 days,*",
                                 "mockpbx API coverage report written to out/coverage.json"])
    assert "401 expired token" not in result.stdout.str().split("never met:")[1]

    markdown = client_tests.runpytest("--mockpbx-coverage-report", "coverage.md", "-p", "no:cacheprovider")
    assert markdown.ret == 0
    text = (client_tests.path / "coverage.md").read_text()
    assert text.startswith(f"# {headline(markdown)}\n")
    assert "| 401 expired token | 1 |" in text and "| 400 date range must be in 31 days | **never** |" in text


def test_a_session_under_the_required_coverage_fails_with_a_clear_line(client_tests: pytest.Pytester) -> None:
    result = client_tests.runpytest("--mockpbx-coverage-fail-under", "90", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=3)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(["FAIL Required mockpbx API coverage of 90% not reached. Total coverage: *%"])
    passing = client_tests.runpytest("--mockpbx-coverage-fail-under", "5", "-p", "no:cacheprovider")
    assert passing.ret == 0 and "FAIL Required" not in passing.stdout.str()


def test_under_xdist_the_workers_coverage_adds_up_to_the_serial_sessions(client_tests: pytest.Pytester) -> None:
    """Each xdist worker has its own server; the controller adds their coverage up, prints it once,
    writes it and applies the fail-under rule. (Before: each worker wrote the report over the
    others', nothing was printed, and --mockpbx-coverage-fail-under was ignored: exit 0.)"""
    serial = client_tests.runpytest("--mockpbx-coverage-report", "serial.json", "-p", "no:cacheprovider")
    assert serial.ret == 0
    parallel = client_tests.runpytest_subprocess("-n", "2", "-p", "xdist", "-p", "no:cacheprovider",
                                                 "--mockpbx-coverage-report", "parallel.json",
                                                 "--mockpbx-coverage-fail-under", "90")
    parallel.assert_outcomes(passed=3)
    assert parallel.ret == pytest.ExitCode.TESTS_FAILED, parallel.stdout.str()
    parallel.stdout.fnmatch_lines(["FAIL Required mockpbx API coverage of 90% not reached*"])
    assert headline(parallel) == headline(serial)
    reports = [json.loads((client_tests.path / name).read_text()) for name in ("serial.json", "parallel.json")]
    assert reports[0] == reports[1] and reports[0]["exercised"] >= 3
    assert client_tests.runpytest_subprocess("-n", "2", "-p", "xdist", "-p", "no:cacheprovider",
                                             "--mockpbx-coverage-fail-under", "5").ret == 0


def test_under_xdist_a_shared_server_is_refused_with_one_line(client_tests: pytest.Pytester, elsewhere: MockPBX) -> None:
    result = client_tests.runpytest_subprocess("-n", "2", "-p", "xdist", "-p", "no:cacheprovider",
                                               "--mockpbx-url", elsewhere.url)
    result.assert_outcomes(errors=3)  # each test that asks for `mockpbx`, in its set-up
    assert result.stdout.str().count("the workers would share one server and reset it under each other's tests") >= 3


def test_a_failing_test_keeps_its_own_exit_status(client_tests: pytest.Pytester) -> None:
    client_tests.makepyfile(test_broken="def test_broken(mockpbx):\n    assert mockpbx.token() == 'x'\n")
    result = client_tests.runpytest("--mockpbx-coverage-fail-under", "90", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=3, failed=1)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(["FAIL Required mockpbx API coverage of 90% not reached*"])


def test_no_summary_when_no_mockpbx_fixture_was_used_and_no_coverage_asked(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_plain="def test_plain():\n    assert True\n")
    result = pytester.runpytest("-p", "no:cacheprovider")
    assert result.ret == 0
    assert "mockpbx API coverage" not in result.stdout.str()


def test_a_coverage_gate_with_nothing_measured_fails_and_says_why(pytester: pytest.Pytester) -> None:
    """(Before: exit 0, no report, no word: a CI gate passed without ever being applied.)"""
    pytester.makepyfile(test_plain="def test_plain():\n    assert True\n")
    result = pytester.runpytest("--mockpbx-coverage-fail-under", "90", "--mockpbx-coverage-report", "c.json",
                                "-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(["*nothing measured: no test used the mockpbx, mockpbx_server or mockpbx_app*",
                                 "*report NOT written: nothing was measured*",
                                 "*FAIL Required mockpbx API coverage of 90% not reached: nothing was measured*"])
    assert not (pytester.path / "c.json").exists()


@pytest.mark.parametrize("fixture", ["mockpbx_server", "mockpbx_client"])
def test_the_other_fixtures_count_in_the_coverage(pytester: pytest.Pytester, fixture: str) -> None:
    """(Before: only the `mockpbx` fixture counted; tests through these were not measured at all.)"""
    call = ("mockpbx_server.request('POST', '/v1/auth', json_body={'username': 'x', 'password': 'y'})"
            if fixture == "mockpbx_server" else
            "mockpbx_client.post('/v1/auth', json={'username': 'x', 'password': 'y'})")
    pytester.makepyfile(test_one=f"def test_one({fixture}):\n    {call}\n")
    result = pytester.runpytest("--mockpbx-coverage-report", "c.json", "-p", "no:cacheprovider")
    assert result.ret == 0, result.stdout.str()
    report = json.loads((pytester.path / "c.json").read_text())
    met = [(o["operation"], o["status"], o["kind"]) for o in report["outcomes"] if o["count"]]
    assert met == [("POST /v1/auth", 401, "invalid username or password")], met


def test_a_bad_fail_under_value_is_a_usage_error(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--mockpbx-coverage-fail-under", "120")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*a percentage from 0 to 100, not 120*"])


@pytest.mark.parametrize(("url", "why", "shown"), [
    ("not a url", "must be an http:// or https:// URL", "not a url"), ("ftp://x", "must be an http", "ftp://x"),
    ("http://127.0.0.1:8080/?x=1", "must not have a query", "http://127.0.0.1:8080/?x=1"),
    # (Before: pytest's INTERNALERROR, exit 3; an error in every test; the password in every message.)
    ("http://[::1", "is not a valid URL", "http://[::1"), ("http://127.0.0.1:abc", "is not a valid URL", "*"),
    ("http://admin:S3cretPW@127.0.0.1:1", "must not hold a user name or password", "http://<redacted>@127.0.0.1:1"),
])
def test_a_server_url_that_cannot_work_is_a_usage_error(pytester: pytest.Pytester, url: str, why: str,
                                                        shown: str) -> None:
    """Before: an error with urllib's traceback in every test that used the fixture."""
    pytester.makepyfile(test_one="def test_one(mockpbx):\n    assert mockpbx.token()\n")
    result = pytester.runpytest("--mockpbx-url", url, "-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"*--mockpbx-url (or MOCKPBX_URL) {why}*give the http:// or https:// URL*{shown}*"])
    assert "S3cretPW" not in result.stderr.str() + result.stdout.str()


def test_a_server_that_cannot_be_reached_fails_each_test_with_one_line(pytester: pytest.Pytester) -> None:
    import socket
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{probe.getsockname()[1]}"
    pytester.makepyfile(test_one="def test_one(mockpbx):\n    assert mockpbx.token()\n")
    result = pytester.runpytest("--mockpbx-url", url, "-p", "no:cacheprovider")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines([f"*mockpbx: cannot reach the server at {url} (--mockpbx-url or MOCKPBX_URL)*"])
    assert "urllib" not in result.stdout.str() and "Traceback" not in result.stdout.str()


def test_a_report_that_cannot_be_written_is_said_and_fails_the_session(client_tests: pytest.Pytester) -> None:
    """Before: a directory, or a path under a file, crashed pytest with a traceback at the end."""
    (client_tests.path / "reports").mkdir()
    early = client_tests.runpytest("--mockpbx-coverage-report", "reports", "-p", "no:cacheprovider")
    assert early.ret == pytest.ExitCode.USAGE_ERROR
    early.stderr.fnmatch_lines(["*--mockpbx-coverage-report reports is a directory*"])
    (client_tests.path / "a-file").write_text("x")
    late = client_tests.runpytest("--mockpbx-coverage-report", "a-file/c.json", "-p", "no:cacheprovider")
    late.assert_outcomes(passed=3)
    assert late.ret == pytest.ExitCode.USAGE_ERROR and "Traceback" not in late.stdout.str() + late.stderr.str()
    late.stdout.fnmatch_lines(["mockpbx API coverage report NOT written: a-file/c.json: *"])


@pytest.fixture
def elsewhere() -> Iterator[MockPBX]:
    with MockPBX(days=2, calls_per_day=20, clock_start="2026-11-27T12:00:00+07:00", freeze_clock=True) as pbx:
        yield pbx


def test_the_plugin_reports_a_server_elsewhere_counting_only_its_session(
        client_tests: pytest.Pytester, elsewhere: MockPBX) -> None:
    for _ in range(3):  # before the session: not the session's coverage
        elsewhere.request("POST", "/v1/auth", json_body={"username": "x", "password": "y"})
    result = client_tests.runpytest("--mockpbx-url", elsewhere.url, "--mockpbx-coverage-report", "c.json",
                                    "-p", "no:cacheprovider")
    assert result.ret == 0
    report = json.loads((client_tests.path / "c.json").read_text())
    assert report == {**elsewhere.coverage(), "percent": round(100 * report["exercised"] / TOTAL, 2)}
    counts = {(o["operation"], o["status"], o["kind"]): o["count"] for o in report["outcomes"]}
    assert counts[("POST /v1/auth", 401, "invalid username or password")] == 0
    assert counts[("POST /v1/auth/token", 200, "")] == 3  # one per test


def test_the_cli_prints_the_summary_of_a_running_mock(elsewhere: MockPBX, tmp_path: Path) -> None:
    elsewhere.token()
    elsewhere.request("POST", "/v1/auth", json_body={"username": "x", "password": "y"})
    runner = CliRunner()
    result = runner.invoke(main, ["coverage", "--url", elsewhere.url, "--report", str(tmp_path / "r.md")])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == f"mockpbx API coverage: 2/{TOTAL} outcomes ({round(200 / TOTAL)}%)"
    assert lines[1] == "never met:" and lines[2].startswith(f"  POST /v1/auth ({LOGIN_OUTCOMES - 1}): 200, 400 request body")
    assert lines[-1] == f"report written to {tmp_path / 'r.md'}"
    assert "| 401 invalid username or password | 1 |" in (tmp_path / "r.md").read_text()

    under = runner.invoke(main, ["coverage", "--url", elsewhere.url, "--fail-under", "50"])
    assert under.exit_code == 1
    assert under.output.splitlines()[-1] == ("FAIL Required mockpbx API coverage of 50% not reached. "
                                             f"Total coverage: {100 * 2 / TOTAL:.2f}%")
    assert runner.invoke(main, ["coverage", "--url", elsewhere.url, "--fail-under", "4"]).exit_code == 0


def test_the_cli_says_why_it_cannot_read_a_mock(elsewhere: MockPBX) -> None:
    url = elsewhere.url
    elsewhere.stop()
    result = CliRunner().invoke(main, ["coverage", "--url", url])
    assert result.exit_code == 2
    assert f"cannot read {url}/_mock/coverage" in result.output


def test_the_cli_says_why_it_cannot_write_the_report(elsewhere: MockPBX, tmp_path: Path) -> None:
    """Before: a traceback and exit 1 (the exit code of 'below --fail-under')."""
    (tmp_path / "a-file").write_text("x")
    report = tmp_path / "a-file" / "c.md"
    result = CliRunner().invoke(main, ["coverage", "--url", elsewhere.url, "--report", str(report)])
    assert result.exit_code == 2 and isinstance(result.exception, SystemExit), repr(result.exception)
    assert f"mockpbx coverage: cannot write {report}: " in result.output


def test_healthcheck_answers_in_one_line(elsewhere: MockPBX) -> None:
    """`mockpbx healthcheck` (the container's health check): 0 and `healthy`, else 1 and one line,
    whatever the URL (before: a URL urllib cannot open gave a traceback)."""
    healthy = CliRunner().invoke(main, ["healthcheck", "--url", elsewhere.url])
    assert healthy.exit_code == 0 and healthy.output == "healthy\n"
    for url, reason in [("not-a-url", "unknown url type"), (elsewhere.url + "/v1/auth", "404")]:
        result = CliRunner().invoke(main, ["healthcheck", "--url", url])
        assert result.exit_code == 1 and isinstance(result.exception, SystemExit), result.output
        assert result.output.startswith(f"Error: {url}/healthz: ") and reason in result.output
        assert len(result.output.strip().splitlines()) == 1


def test_the_readme_shows_the_real_summary_of_the_example_tests() -> None:
    import os
    import re
    import subprocess
    import sys
    root = Path(__file__).resolve().parents[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MOCKPBX_", "PYTEST_"))}
    run = subprocess.run([sys.executable, "-m", "pytest", "tests/examples", "-q", "-p", "no:cacheprovider"],
                         cwd=root, capture_output=True, text=True, timeout=120, env=env, check=False)
    assert run.returncode == 0, run.stdout + run.stderr
    lines = run.stdout.splitlines()
    first = next(i for i, line in enumerate(lines) if line.startswith("mockpbx API coverage: "))
    end = next(i for i in range(first + 1, len(lines)) if not lines[i].startswith(("never met:", "  ")))
    readme = (root / "README.md").read_text(encoding="utf-8").split("\n## API coverage", 1)[1]
    shown = re.findall(r"```text\n(.*?)```", readme, re.DOTALL)[0]
    assert shown == "\n".join(lines[first:end]) + "\n"


def test_settings_the_server_cannot_start_with_fail_in_one_line_without_their_secrets(
        pytester: pytest.Pytester) -> None:
    """(Before: the traceback showed `mockpbx_settings` whole, jwt_secret and control_token
    included, in the terminal and in the JUnit XML.)"""
    pytester.makeconftest("import pytest\n\n@pytest.fixture(scope='session')\ndef mockpbx_settings():\n"
                          "    return {'jwt_secret': 'MyJwtSecretXYZ', 'control_token': 'CtlTokSecret',"
                          " 'token_lifetime': 0}\n")
    pytester.makepyfile(test_one="def test_one(mockpbx):\n    pass\n\ndef test_two(mockpbx_client):\n    pass\n")
    result = pytester.runpytest("--junitxml=j.xml", "-p", "no:cacheprovider")
    result.assert_outcomes(errors=2)
    result.stdout.fnmatch_lines(["*mockpbx: the session's server cannot start with these mockpbx_settings: "
                                 "--token-lifetime must be*",
                                 "*mockpbx: the in-process app cannot be made with these mockpbx_settings*"])
    shown = result.stdout.str() + (pytester.path / "j.xml").read_text()
    assert "MyJwtSecretXYZ" not in shown and "CtlTokSecret" not in shown
