"""pytest fixtures for testing PBX clients against mockpbx (registered as the `mockpbx` plugin).

- `mockpbx_settings` (session): settings of the live server; override it in your conftest.py.
- `mockpbx_server` (session): a real server on 127.0.0.1, or the one at `--mockpbx-url` /
  `MOCKPBX_URL` (e.g. a CI service container).
- `mockpbx` (per test): that server, reset to its start-up state.
- `mockpbx_app` / `mockpbx_client`: an in-process Flask app and its test client.

When a test used `mockpbx`, the session ends with the API coverage of the tests: which of
the API's documented outcomes the client met (`--mockpbx-coverage-report`,
`--mockpbx-coverage-fail-under`).

Under pytest-xdist each worker starts its own server (a shared `--mockpbx-url` server would be
reset by one worker under another's test: the `mockpbx` fixture refuses it), and hands its
coverage to the controller, which adds them up, reports and applies `--mockpbx-coverage-fail-under`.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mockpbx.testing import MockPBX

_USED = pytest.StashKey[bool]()
_COVERAGE = pytest.StashKey[dict[str, Any]]()
_COVERAGE_ERROR = pytest.StashKey[str]()
_REPORT_ERROR = pytest.StashKey[str]()
_WORKER_COVERAGE = pytest.StashKey[list[dict[str, Any]]]()
_APP_COVERAGE = pytest.StashKey[list[dict[str, Any]]]()  # of each `mockpbx_app`, as its test ends
#: What a pytest-xdist worker hands the controller (`workeroutput`).
_OUTPUT, _OUTPUT_ERROR = "mockpbx_coverage", "mockpbx_coverage_error"


def _is_worker(config: pytest.Config) -> bool:
    """Whether this is a pytest-xdist worker (the controller runs no tests)."""
    return hasattr(config, "workerinput")


def _percentage(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a percentage: {text!r}") from None
    if not 0 <= value <= 100:
        raise argparse.ArgumentTypeError(f"a percentage from 0 to 100, not {text}")
    return value


def pytest_addoption(parser: pytest.Parser) -> None:
    """`--mockpbx-url`: use a running mockpbx instead of starting one; the API-coverage options."""
    group = parser.getgroup("mockpbx")
    group.addoption("--mockpbx-url", default=None, help="URL of a running mockpbx (default: start one). "
                                                        "Env MOCKPBX_URL.")
    group.addoption("--mockpbx-coverage-report", metavar="PATH", type=Path, default=None,
                    help="Write the API coverage of the session here: JSON, or Markdown if PATH ends in .md.")
    group.addoption("--mockpbx-coverage-fail-under", metavar="PCT", type=_percentage, default=None,
                    help="Fail the session if the API coverage is below PCT percent.")


def _server_url(config: pytest.Config) -> str | None:
    """`--mockpbx-url`, else MOCKPBX_URL, else None (start a server)."""
    return config.getoption("--mockpbx-url") or os.environ.get("MOCKPBX_URL") or None


def pytest_configure(config: pytest.Config) -> None:
    """Refuse, before any test runs, a server URL or a report path that cannot work (a usage error,
    one line) rather than an error in every test or a crash at the end of the session."""
    from mockpbx.urls import shown, url_problem
    url = _server_url(config)
    problem = None if url is None else url_problem(url)
    if url is not None and problem is not None:
        raise pytest.UsageError(f"--mockpbx-url (or MOCKPBX_URL) {problem}: give the http:// or https:// URL of "
                                f"a running mockpbx, e.g. http://127.0.0.1:8080, got {shown(url)!r}")
    path = config.getoption("--mockpbx-coverage-report", None)
    if path is not None and path.is_dir():
        raise pytest.UsageError(f"--mockpbx-coverage-report {path} is a directory; give a file path "
                                "(.json, or .md for Markdown)")


#: Where the plugin's server differs from `mockpbx serve` (besides MockPBX's LOCAL_SERVER): less
#: generated data, so that a session starts fast. Listed in the README.
DEFAULT_SETTINGS: dict[str, Any] = {"days": 30, "calls_per_day": 200}


@pytest.fixture(scope="session")
def mockpbx_settings() -> dict[str, Any]:
    """Settings of the session's server; override to change seed, days, token_lifetime, profile..."""
    return dict(DEFAULT_SETTINGS)


@pytest.fixture(scope="session")
def mockpbx_server(request: pytest.FixtureRequest, mockpbx_settings: dict[str, Any]) -> Iterator[MockPBX]:
    """A mockpbx for the whole session."""
    url = _server_url(request.config)
    token = os.environ.get("MOCKPBX_CONTROL_TOKEN")
    server = MockPBX(url, control_token=token) if url else MockPBX(**mockpbx_settings)
    if url:  # one clear line for every test that needs it, not urllib's traceback
        try:
            status = server.request("GET", "/healthz").status
        except (OSError, ValueError) as error:
            pytest.fail(f"mockpbx: cannot reach the server at {url} (--mockpbx-url or MOCKPBX_URL): {error}",
                        pytrace=False)
        if status != 200:
            pytest.fail(f"mockpbx: {url} (--mockpbx-url or MOCKPBX_URL) is not a mockpbx: GET /healthz "
                        f"answered {status}", pytrace=False)
    if not url:
        _start(server)
    with server:
        if url:  # counts from before this session are not its own (the `mockpbx` fixture clears them too)
            try:
                server.clear_coverage()
            except (OSError, RuntimeError, ValueError):
                pass  # (controls off there, say): said when the coverage is read at the end
        yield server
        try:  # read it while the server still runs, whichever fixture the tests used it through
            request.config.stash[_COVERAGE] = server.coverage()
        except (OSError, RuntimeError, ValueError) as error:  # reported, never a crash at teardown
            request.config.stash[_COVERAGE_ERROR] = str(error)


def _start(server: MockPBX) -> None:
    """Start the session's server; settings it cannot start with fail the tests in one line each.
    (A traceback would show `mockpbx_settings` whole, a jwt_secret or control_token included, in
    the terminal and in JUnit XML.)"""
    from mockpbx.domain.errors import DataError
    from mockpbx.serving import StartupError
    from mockpbx.settings import SettingsError
    try:
        server.start()
    except (SettingsError, StartupError, DataError) as error:
        pytest.fail(f"mockpbx: the session's server cannot start with these mockpbx_settings: {error}",
                    pytrace=False)


@pytest.fixture
def mockpbx(request: pytest.FixtureRequest, mockpbx_server: MockPBX) -> MockPBX:
    """The session's mockpbx, reset: start-up data and clock, no faults, an empty journal.

    API coverage adds up over the session: the first test clears it, later resets keep it.
    """
    if _is_worker(request.config) and _server_url(request.config):
        pytest.fail("mockpbx: --mockpbx-url (or MOCKPBX_URL) with pytest-xdist: the workers would share one "
                    "server and reset it under each other's tests; leave the URL out so that each worker "
                    "starts its own, or run without -n", pytrace=False)
    first = not request.config.stash.get(_USED, False)
    mockpbx_server.reset(coverage=first)
    request.config.stash[_USED] = True
    return mockpbx_server


@pytest.fixture
def mockpbx_app(request: pytest.FixtureRequest, mockpbx_settings: dict[str, Any]) -> Iterator[Any]:
    """An in-process Flask app of the mock (no socket); what its test met counts in the session's
    API coverage."""
    from mockpbx.domain.errors import DataError
    from mockpbx.settings import Settings, SettingsError
    from mockpbx.web.app import create_app
    try:
        app = create_app(Settings.load({}, **mockpbx_settings))
    except (SettingsError, DataError) as error:  # one line, not mockpbx_settings whole (see _start)
        pytest.fail(f"mockpbx: the in-process app cannot be made with these mockpbx_settings: {error}",
                    pytrace=False)
    yield app
    request.config.stash.setdefault(_APP_COVERAGE, []).append(app.extensions["mockpbx"].coverage.to_json())


@pytest.fixture
def mockpbx_client(mockpbx_app: Any) -> Any:
    """A Flask test client of `mockpbx_app`."""
    return mockpbx_app.test_client()


@pytest.hookimpl(tryfirst=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Write the coverage report and fail a passing session that is under the required coverage."""
    from mockpbx.coverage.report import combined, fail_under_line, write_report
    config = session.config
    report = config.stash.get(_COVERAGE, None)
    apps = config.stash.get(_APP_COVERAGE, [])
    if apps:  # the in-process apps' counts, added to the server's
        report = combined(([report] if report is not None else []) + apps)
        config.stash[_COVERAGE] = report
    if _is_worker(config):  # the controller reports (pytest_testnodedown): hand this worker's over
        output = config.workeroutput  # type: ignore[attr-defined]
        if report is not None:
            output[_OUTPUT] = report
        if _COVERAGE_ERROR in config.stash:
            output[_OUTPUT_ERROR] = config.stash[_COVERAGE_ERROR]
        return
    if _WORKER_COVERAGE in config.stash:
        handed: list[dict[str, Any]] = config.stash[_WORKER_COVERAGE]
        report = combined(handed)
        config.stash[_COVERAGE] = report  # for the terminal summary
    if report is None:
        # Asked for, and nothing measured (no test used mockpbx, mockpbx_server or mockpbx_app): a
        # gate that passes unapplied would be worse than none. 0% of an unknown total fails it.
        if config.getoption("--mockpbx-coverage-fail-under") is not None and session.exitstatus == pytest.ExitCode.OK:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED
        return
    path = config.getoption("--mockpbx-coverage-report")
    if path is not None:
        try:
            write_report(report, path)
        except OSError as error:  # said in the summary; the session fails, it asked for the file
            config.stash[_REPORT_ERROR] = f"{path}: {error.strerror or error}"
            if session.exitstatus == pytest.ExitCode.OK:
                session.exitstatus = pytest.ExitCode.USAGE_ERROR
    if fail_under_line(report, config.getoption("--mockpbx-coverage-fail-under")) and \
            session.exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: Any) -> None:
    """pytest-xdist, on the controller, as a worker ends: keep the coverage it handed over."""
    output = getattr(node, "workeroutput", None) or {}
    config = node.config
    if _OUTPUT in output:
        config.stash.setdefault(_WORKER_COVERAGE, []).append(output[_OUTPUT])
    if _OUTPUT_ERROR in output:
        config.stash[_COVERAGE_ERROR] = output[_OUTPUT_ERROR]


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    """The API coverage of the session, the missing outcomes by operation, and the fail-under line."""
    from mockpbx.coverage.report import fail_under_line, summary_lines
    error = config.stash.get(_COVERAGE_ERROR, None)
    if error is not None:
        terminalreporter.write_line(f"mockpbx API coverage: could not be read: {error}", yellow=True)
    report = config.stash.get(_COVERAGE, None)
    if report is None:
        required = config.getoption("--mockpbx-coverage-fail-under")
        if (required is not None or config.getoption("--mockpbx-coverage-report") is not None) \
                and error is None and not _is_worker(config):
            terminalreporter.section("mockpbx API coverage")
            terminalreporter.write_line("mockpbx API coverage: nothing measured: no test used the mockpbx, "
                                        "mockpbx_server or mockpbx_app fixtures", yellow=True)
            if config.getoption("--mockpbx-coverage-report") is not None:
                terminalreporter.write_line("mockpbx API coverage report NOT written: nothing was measured",
                                            red=True, bold=True)
            if required is not None:
                terminalreporter.write_line(f"FAIL Required mockpbx API coverage of {required:g}% not reached: "
                                            "nothing was measured", red=True, bold=True)
        return
    terminalreporter.section("mockpbx API coverage")
    for line in summary_lines(report):
        terminalreporter.write_line(line)
    path = config.getoption("--mockpbx-coverage-report")
    failed = config.stash.get(_REPORT_ERROR, None)
    if failed is not None:
        terminalreporter.write_line(f"mockpbx API coverage report NOT written: {failed}", red=True, bold=True)
    elif path is not None:
        terminalreporter.write_line(f"mockpbx API coverage report written to {path}")
    failure = fail_under_line(report, config.getoption("--mockpbx-coverage-fail-under"))
    if failure is not None:
        terminalreporter.write_line(failure, red=True, bold=True)
