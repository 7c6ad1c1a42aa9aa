"""The command line: settings, generate, and start-up errors."""

from __future__ import annotations

import json
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


def test_serve_refuses_a_bad_fixture_file_with_its_name(tmp_path: Path, env_clean: None) -> None:
    bad = tmp_path / "mine.json"
    bad.write_text('{"accounts": [{"login": "x"}]}')
    result = CliRunner().invoke(main, ["serve", "--fixtures", str(bad), "--port", "0"])
    assert result.exit_code == 1
    assert f"bad fixture file: {bad}: accounts[0]: password must be a non-empty string" in result.output


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


def test_generate_to_stdout(env_clean: None) -> None:
    result = CliRunner().invoke(main, ["generate", "--days", "1", "--calls-per-day", "5"])
    assert result.exit_code == 0 and json.loads(result.output)["format"] == "mockpbx-fixtures/1"
