"""The `mockpbx` command: thin commands over the library."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from mockpbx import __version__
from mockpbx.domain.errors import DataError
from mockpbx.settings import Settings, SettingsError


def _data_options(command: Callable[..., Any]) -> Callable[..., Any]:
    options = [
        click.option("--seed", type=int, help="Seed of the generated data. [env MOCKPBX_SEED; default 0]"),
        click.option("--fixtures", type=click.Path(path_type=Path),
                     help="A fixture file (JSON) instead of the embedded default. [env MOCKPBX_FIXTURES]"),
        click.option("--timezone", help="Time zone of start_date/end_date and business hours. "
                                        "[env MOCKPBX_TIMEZONE; default Asia/Ho_Chi_Minh]"),
        click.option("--days", type=int, help="Days of generated history up to now. [env MOCKPBX_DAYS; default 90]"),
        click.option("--calls-per-day", type=int,
                     help="Generated calls per weekday per domain. [env MOCKPBX_CALLS_PER_DAY; default 300]"),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def _settings(**values: Any) -> Settings:
    try:
        return Settings.load(**values)
    except SettingsError as error:
        raise click.UsageError(str(error)) from None


def _backend(settings: Settings):  # type: ignore[no-untyped-def]
    from mockpbx.backend import build_backend
    try:
        return build_backend(settings)
    except DataError as error:
        raise click.ClickException(f"bad fixture file: {error}") from None


@click.group()
@click.version_option(__version__, prog_name="mockpbx")
def main() -> None:
    """mockpbx: a mock of the TEL4VN PBX billing API and a contract-testing kit."""


@main.command()
@click.option("--host", help="Address to listen on. [env MOCKPBX_HOST; default 127.0.0.1]")
@click.option("--port", type=int, help="Port; 0 picks a free one. [env MOCKPBX_PORT; default 8080]")
@_data_options
@click.option("--token-lifetime", type=int, help="Token lifetime in seconds. [env MOCKPBX_TOKEN_LIFETIME; default 3600]")
@click.option("--jwt-secret", help="Secret that signs tokens; replicas that share it accept each "
                                   "other's tokens. [env MOCKPBX_JWT_SECRET; default derived from the seed]")
@click.option("--control/--no-control", default=None,
              help="The /_mock control API (on by default). [env MOCKPBX_CONTROL]")
@click.option("--control-token", help="Require this bearer token on /_mock requests. [env MOCKPBX_CONTROL_TOKEN]")
@click.option("--journal-size", type=int, help="Requests kept in the journal. [env MOCKPBX_JOURNAL_SIZE; default 1000]")
def serve(**values: Any) -> None:
    """Run the mock PBX."""
    from mockpbx.server import run
    settings = _settings(**values)
    run(settings, _backend(settings))


@main.command()
@_data_options
@click.option("--output", "-o", type=click.Path(path_type=Path, dir_okay=False, allow_dash=True),
              default="-", show_default=True, help="Where to write the fixture file ('-' for stdout).")
def generate(output: Path, **values: Any) -> None:
    """Write the accounts and the calls visible now (fixtures plus generated) as a fixture file."""
    from mockpbx.data.fixtures import dump_fixtures
    settings = _settings(**values)
    backend = _backend(settings)
    now = int(backend.clock.now())
    generated = backend.service.calls.generated_calls(now)
    document = dump_fixtures(backend.fixtures, generated)
    text = json.dumps(document, ensure_ascii=False, indent=1) + "\n"
    if str(output) == "-":
        sys.stdout.write(text)
    else:
        output.write_text(text, encoding="utf-8")
        count = sum(len(c) for c in generated.values())
        click.echo(f"wrote {count} generated and {len(backend.fixtures.calls)} fixture calls to {output}", err=True)
