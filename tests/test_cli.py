"""The command line: settings, generate, and start-up errors."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any
from pathlib import Path

import pytest
from click.testing import CliRunner

from mockpbx import __version__
from mockpbx.backend import build_backend
from mockpbx.cli import main
from mockpbx.clock import ControllableClock
from mockpbx.domain.window import Page, Window
from mockpbx.settings import Settings, SettingsError

from tests.conftest import DEMO_DOMAIN


def test_version() -> None:
    result = CliRunner().invoke(main, ["--version"])
    assert result.exit_code == 0 and __version__ in result.output


def test_settings_from_environment_and_overrides(env_clean: None) -> None:
    settings = Settings.load({"MOCKPBX_PORT": "9000", "MOCKPBX_SEED": "5", "MOCKPBX_TIMEZONE": "UTC",
                              "MOCKPBX_TOKEN_LIFETIME": "60", "MOCKPBX_DAYS": "3"}, port=9100)
    assert (settings.port, settings.seed, settings.timezone, settings.token_lifetime, settings.days) == (
        9100, 5, "UTC", 60, 3)
    assert Settings.load({}).port == 8080 and Settings.load({}).host == "127.0.0.1"


@pytest.mark.parametrize("env, message", [
    ({"MOCKPBX_PORT": "http"}, "MOCKPBX_PORT must be an integer"),
    ({"MOCKPBX_PORT": "70000"}, "MOCKPBX_PORT must be from 0 to 65535"),
    ({"MOCKPBX_TIMEZONE": "Mars/Olympus"}, "MOCKPBX_TIMEZONE is not a known IANA time zone"),
    ({"MOCKPBX_TOKEN_LIFETIME": "0"}, "MOCKPBX_TOKEN_LIFETIME must be from 1"),
])
def test_bad_settings_name_the_variable(env: dict[str, str], message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        Settings.load(env)


def test_the_secret_stays_out_of_the_settings_repr() -> None:
    assert "hunter2" not in repr(Settings.load({"MOCKPBX_JWT_SECRET": "hunter2"}))
    assert Settings.load({}, seed=1).secret == Settings.load({}, seed=1).secret != Settings.load({}, seed=2).secret


@pytest.mark.parametrize("command", [["serve"], ["serve", "--dev"], ["serve", "--workers", "2"], ["generate"]])
def test_a_bad_fixture_file_is_a_start_up_error_with_its_name(command: list[str], tmp_path: Path,
                                                              env_clean: None) -> None:
    """Exit 2 and one line, as every other start-up error (it was exit 1)."""
    bad = tmp_path / "mine.json"
    bad.write_text('{"accounts": [{"login": "x"}]}')
    port = ["--port", "0"] if command[0] == "serve" else []
    result = CliRunner().invoke(main, [*command, "--fixtures", str(bad), *port])
    assert result.exit_code == 2, result.output
    assert result.output == f"Error: bad fixture file: {bad}: accounts[0]: password must be a non-empty string\n"


def test_serve_refuses_bad_options(env_clean: None) -> None:
    result = CliRunner().invoke(main, ["serve", "--timezone", "Nowhere/Land"])
    assert result.exit_code == 2 and "--timezone is not a known IANA time zone" in result.output


def test_generate_writes_a_fixture_file_that_serves_the_same_calls(tmp_path: Path, env_clean: None) -> None:
    out = tmp_path / "generated.json"
    result = CliRunner().invoke(main, ["generate", "--days", "3", "--calls-per-day", "50", "--seed", "9",
                                       "-o", str(out)])
    assert result.exit_code == 0, result.output
    document = json.loads(out.read_text())
    assert all(d["generate"] is False for d in document["domains"])
    assert len(document["calls"]) > 100
    replay = build_backend(Settings.load({}, fixtures=out), ControllableClock(frozen=True))
    original = build_backend(Settings.load({}, days=3, calls_per_day=50, seed=9), ControllableClock(frozen=True))
    now = int(replay.clock.now())
    window = Window(now - 3 * 86400 + 60, now - 60)  # away from the edges, which moved while the test ran
    assert replay.service.calls.query(DEMO_DOMAIN, window, None, Page(1000, 0)) == \
        original.service.calls.query(DEMO_DOMAIN, window, None, Page(1000, 0))


def test_generate_to_stdout_only_when_asked(env_clean: None) -> None:
    result = CliRunner().invoke(main, ["generate", "--days", "1", "--calls-per-day", "5", "-o", "-"])
    assert result.exit_code == 0 and json.loads(result.stdout)["format"] == "mockpbx-fixtures/1"


def test_generate_writes_a_file_of_a_default_name_not_the_terminal(tmp_path: Path, env_clean: None,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["generate", "--days", "1", "--calls-per-day", "5"])
    assert result.exit_code == 0, result.output
    written = json.loads((tmp_path / "mockpbx-fixtures.json").read_text(encoding="utf-8"))
    assert written["format"] == "mockpbx-fixtures/1" and "{" not in result.output
    assert "fixture calls to mockpbx-fixtures.json" in result.output


def test_generate_with_a_clock_start_is_reproducible(tmp_path: Path, env_clean: None) -> None:
    start = "2026-01-05T09:00:00+07:00"
    outputs = []
    for name in ("one.json", "two.json"):
        args = ["generate", "--days", "2", "--calls-per-day", "40", "--seed", "4", "--clock-start", start]
        result = CliRunner().invoke(main, [*args, "-o", str(tmp_path / name)])
        assert result.exit_code == 0, result.output
        outputs.append((tmp_path / name).read_bytes())
    assert outputs[0] == outputs[1]
    starts = sorted(c["start_time"] for c in json.loads(outputs[0])["calls"] if c["start_time"] >= "2026-01-03")
    assert len(starts) > 20 and starts[-1] <= "2026-01-05T02:00:00Z"  # nothing after the clock start


def test_help_shows_each_command_s_description_in_full() -> None:
    result = CliRunner().invoke(main, ["--help"])
    assert result.exit_code == 0
    shown = " ".join(result.output.split())
    for name, command in main.commands.items():
        first_paragraph = " ".join((command.help or "").split("\n\n")[0].split())
        assert f"{name} {first_paragraph}" in shown, name
    assert not re.search(r"\w\.\.\.$", result.output, re.M)  # no description cut short


def test_the_serve_banner_describes_the_data_actually_loaded(tmp_path: Path) -> None:
    from mockpbx.server import banner
    fixtures = tmp_path / "mine.json"
    fixtures.write_text(json.dumps({"accounts": [{"login": "a@x", "password": "p", "user_uuid": "u1",
                                                  "domain_uuid": "d1", "username": "a", "api_key": "k1"}],
                                    "domains": [{"domain_uuid": "d1", "generate": False}],
                                    "calls": [{"domain_uuid": "d1", "source": "s", "destination": "0971234567",
                                               "start_time": "2024-01-01T08:00:00Z", "duration": 5}]}))
    settings = Settings.load({}, fixtures=fixtures, days=90)
    text = banner(settings, build_backend(settings))
    assert f"data: {fixtures}: 1 account(s) in 1 domain(s), 1 fixture call(s), no generated calls;" in text
    assert "days of generated" not in text
    default = Settings.load({}, days=3, calls_per_day=5)
    assert ("data: the embedded default fixtures: 2 account(s) in 2 domain(s), 3 fixture call(s), "
            "3 days of generated calls in 2 of 2 domain(s);") in banner(default, build_backend(default))


@pytest.mark.parametrize("overrides", [{"control_token": True}, {"jwt_secret": True}, {"timezone": True},
                                       {"port": True}, {"days": False}, {"control": 1}, {"access_log": 0.5}])
def test_a_setting_of_the_wrong_kind_is_refused(overrides: dict[str, object]) -> None:
    """A bool for a setting that is not true or false, or anything else for one that is. (Before: a
    bool was passed on as it was: `MockPBX(control_token=True)` answered every control request 500.)"""
    with pytest.raises(SettingsError, match="must be"):
        Settings.load({}, **overrides)
    assert Settings.load({}, control="false", access_log=True).control is False


def _stub(answer: Callable[[Any, Any], Any]) -> Any:
    """A plain WSGI server on loopback answering every request with `answer(environ, start_response)`."""
    import threading

    from werkzeug.serving import make_server
    server = make_server("127.0.0.1", 0, answer)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    return server


def test_coverage_never_sends_the_control_token_where_a_redirect_points(env_clean: None) -> None:
    """(Before: urllib followed the redirect and sent `Authorization: Bearer <control token>` to it.)"""
    seen: list[str | None] = []

    def elsewhere(environ: Any, start_response: Any) -> Any:
        seen.append(environ.get("HTTP_AUTHORIZATION"))
        start_response("200 OK", [("Content-Type", "application/json")])
        return [b'{"outcomes": [], "exercised": 0, "total": 0}']
    target = _stub(elsewhere)

    def redirecting(environ: Any, start_response: Any) -> Any:
        start_response("302 Found", [("Location", f"http://127.0.0.1:{target.server_port}/_mock/coverage")])
        return [b""]
    source = _stub(redirecting)
    try:
        result = CliRunner().invoke(main, ["coverage", "--url", f"http://127.0.0.1:{source.server_port}",
                                           "--control-token", "TopSecretControlToken"])
    finally:
        source.shutdown()
        target.shutdown()
    assert result.exit_code == 2 and "answered 302" in result.output, result.output
    assert seen == [] and "TopSecretControlToken" not in result.output


@pytest.mark.parametrize("body", [b"<html></html>", b'{"foo": 1}', b"[]", b'{"outcomes": "x"}'])
def test_coverage_of_a_server_that_is_not_a_mockpbx_exits_2(env_clean: None, body: bytes) -> None:
    """(Before: a TypeError or KeyError traceback and exit 1, which reads as "below --fail-under".)"""
    def answer(environ: Any, start_response: Any) -> Any:
        start_response("200 OK", [("Content-Type", "application/json")])
        return [body]
    stub = _stub(answer)
    try:
        result = CliRunner().invoke(main, ["coverage", "--url", f"http://127.0.0.1:{stub.server_port}"])
    finally:
        stub.shutdown()
    assert result.exit_code == 2 and "not a mockpbx coverage document" in result.output, result.output


@pytest.mark.parametrize(("env", "args", "message"), [
    ({"MOCKPBX_PORT": "abc"}, [], "MOCKPBX_PORT"),
    ({"MOCKPBX_TIMEZONE": "Nowhere/X", "MOCKPBX_PORT": "1"}, [], "healthz"),  # other settings do not matter
    ({}, ["--url", "http://127.0.0.1:1", "--timeout", "inf"], "--timeout"),
])
def test_healthcheck_reads_only_where_the_mock_listens(env_clean: None, monkeypatch: pytest.MonkeyPatch,
                                                       env: dict[str, str], args: list[str], message: str) -> None:
    """(Before: any bad MOCKPBX_* variable, or --timeout inf, was a traceback and exit 1.)"""
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    result = CliRunner().invoke(main, ["healthcheck", *args])
    assert result.exit_code in (1, 2) and message in result.output, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)


@pytest.mark.parametrize("args", [["serve", "--port", "abc"], ["generate", "--days", "abc"], ["nosuch"],
                                  ["contract", "--profile", "bogus"]])
def test_a_bad_argument_is_one_line_and_exit_2(args: list[str], env_clean: None) -> None:
    """As every other start-up error. (Before: click's four-line usage block.)"""
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2 and len(result.output.strip().splitlines()) == 1, result.output
    assert result.output.startswith("Error: ") and "--help" in result.output
