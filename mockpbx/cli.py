"""The `mockpbx` command: thin commands over the library."""

from __future__ import annotations

import dataclasses
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


class _StartupError(click.ClickException):
    """A setting or a resource the command cannot use: one line, exit 2."""

    exit_code = 2


def _credential_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """How verify, record and drift log in to a host (options or MOCKPBX_VERIFY_* variables)."""
    for option in reversed([
        click.option("--username", help="Login username. [env MOCKPBX_VERIFY_USERNAME]"),
        click.option("--password", help="Login password. [env MOCKPBX_VERIFY_PASSWORD]"),
        click.option("--api-key", help="An api_key instead of username/password. [env MOCKPBX_VERIFY_API_KEY]"),
    ]):
        command = option(command)
    return command


def _safety_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """The safety gate of every command that talks to a real host: budget, rate, timeout."""
    for option in reversed([
        click.option("--max-requests", type=int, help="Hard budget of requests sent to the host. [default: 300]"),
        click.option("--rate-limit", help="Most requests per second (5, 5/s, 120/m). [default: 5/s]"),
        click.option("--timeout", type=float, help="Seconds to wait for each answer. [default: 10]"),
    ]):
        command = option(command)
    return command


def _settings(**values: Any) -> Settings:
    try:
        return Settings.load(**values)
    except SettingsError as error:
        raise _StartupError(str(error)) from None


def _backend(settings: Settings):  # type: ignore[no-untyped-def]
    from mockpbx.backend import build_backend
    try:
        return build_backend(settings)
    except DataError as error:
        raise _StartupError(f"bad fixture file: {error}") from None


#: Where `mockpbx generate` writes when no -o is given.
GENERATE_DEFAULT_OUTPUT = "mockpbx-fixtures.json"


class _Group(click.Group):
    """Lists each command with the whole first paragraph of its help, not click's 45 characters,
    and shows a bad argument in one line (exit 2), as every other start-up error: click's own
    usage block was four (`serve --port abc`)."""

    def main(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().main(*args, **{**kwargs, "standalone_mode": False})
        except click.UsageError as error:
            where = f" (see '{error.ctx.command_path} --help')" if error.ctx is not None else ""
            click.echo(f"Error: {error.format_message()}{where}", err=True)
            sys.exit(error.exit_code)
        except click.ClickException as error:
            error.show()
            sys.exit(error.exit_code)
        except click.Abort:
            click.echo("Aborted!", err=True)
            sys.exit(1)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = []
        for name in self.list_commands(ctx):
            command = self.get_command(ctx, name)
            if command is not None and not command.hidden:
                first = (command.short_help or command.help or "").split("\n\n", 1)[0]
                rows.append((name, " ".join(first.split())))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


@click.group(cls=_Group, context_settings={"max_content_width": 120})
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
@click.option("--journal-bytes", type=int, help="Bytes kept in the journal, besides the count. "
                                               "[env MOCKPBX_JOURNAL_BYTES; default 4194304 (4 MiB)]")
@click.option("--journal-field-bytes", type=int, help="Bytes of a body or of a header value kept in a journal "
                                                     "entry (the rest is cut, and marked). "
                                                     "[env MOCKPBX_JOURNAL_FIELD_BYTES; default 16384]")
@click.option("--workers", type=int, help="Worker processes; they behave as one server. [env MOCKPBX_WORKERS; default 1]")
@click.option("--threads", type=int, help="Threads per worker for the control API, the dashboard and /docs; the "
                                          "API is served on each worker's event loop, where slow bodies and delay "
                                          "faults wait without a thread. [env MOCKPBX_THREADS; default 64]")
@click.option("--body-timeout", type=float, help="Seconds a request body may take to arrive before a 408. "
                                                 "[env MOCKPBX_BODY_TIMEOUT; default 10]")
@click.option("--access-log/--no-access-log", default=None,
              help="A JSON line per request on stderr, secrets redacted. [env MOCKPBX_ACCESS_LOG; default on]")
@click.option("--clock-start", help="Start the mock's clock at this RFC 3339 time instead of now. [env MOCKPBX_CLOCK_START]")
@click.option("--freeze-clock/--no-freeze-clock", default=None,
              help="Start with the clock stopped. [env MOCKPBX_FREEZE_CLOCK; default running]")
@click.option("--profile", help="API profile to speak: reference (the API reference as given) or revised "
                                "(the vendor's revised shape). [env MOCKPBX_PROFILE; default reference]")
@click.option("--dev", is_flag=True, help="Werkzeug's development server instead of granian (one process).")
def serve(dev: bool, **values: Any) -> None:
    """Run the mock PBX (granian; --dev for the development server)."""
    from mockpbx import serving
    from mockpbx.server import banner, run
    settings = _settings(**values)
    try:  # a name or an IPv6 address becomes the address to listen on; a busy port fails here
        host = serving.listen_address(settings.host)
        port = settings.port or serving.free_port(host)
        serving.check_bindable(host, port)
    except serving.StartupError as error:
        raise _StartupError(str(error)) from None
    settings = dataclasses.replace(settings, host=host, port=port)
    for warning in serving.exposure_warnings(settings):
        click.echo(warning, err=True)
    if dev:
        backend = _backend(settings)
        for warning in backend.data_warnings():
            click.echo(warning, err=True)
        run(settings, backend)
        return
    try:
        backend, shared = serving.prepare(settings)
    except DataError as error:
        raise _StartupError(f"bad fixture file: {error}") from None
    for warning in backend.data_warnings():
        click.echo(warning, err=True)
    try:
        serving.run_production(settings, backend, banner(settings, backend))
    finally:
        serving.cleanup(shared)


@main.command()
@click.option("--url", help="Base URL to probe. [default: http://$MOCKPBX_HOST:$MOCKPBX_PORT, as serve listens]")
@click.option("--timeout", type=float, default=3.0, show_default=True)
def healthcheck(url: str | None, timeout: float) -> None:
    """Exit 0 if the mock answers /healthz with 200 (for container health checks)."""
    import urllib.error
    import urllib.request
    if not 0 < timeout <= 3600:
        raise click.BadParameter(f"must be from 0 to 3600 seconds, got {timeout:g}", param_hint="--timeout")
    if url is None:  # only where the mock listens matters: MOCKPBX_HOST and MOCKPBX_PORT, as serve reads them
        import os
        try:
            settings = Settings.load({k: v for k, v in os.environ.items() if k in ("MOCKPBX_HOST", "MOCKPBX_PORT")})
        except SettingsError as error:
            raise _StartupError(str(error)) from None
        host = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(settings.host, settings.host).strip("[]")
        url = f"http://{'[' + host + ']' if ':' in host else host}:{settings.port}"
    base = url
    try:
        with urllib.request.urlopen(base.rstrip("/") + "/healthz", timeout=timeout) as response:
            healthy = response.status == 200
    except (urllib.error.URLError, OSError, ValueError) as error:  # ValueError: not a URL urllib can open
        if isinstance(error, urllib.error.HTTPError):
            error.close()  # an answer other than 2xx holds its connection
        raise click.ClickException(f"{base}/healthz: {error}") from None
    if not healthy:
        raise click.ClickException(f"{base}/healthz answered {response.status}")
    click.echo("healthy")


@main.command()
@_data_options
@click.option("--clock-start", help="Generate the history up to this RFC 3339 time instead of now, so that the "
                                   "file can be reproduced. [env MOCKPBX_CLOCK_START]")
@click.option("--output", "-o", type=click.Path(path_type=Path, allow_dash=True),
              default=GENERATE_DEFAULT_OUTPUT, show_default=True,
              help="Where to write the fixture file ('-' for stdout).")
def generate(output: Path, **values: Any) -> None:
    """Write the accounts and the calls visible now (fixtures plus generated) as a fixture file."""
    from mockpbx.data.fixtures import dump_fixtures
    settings = _settings(**values, freeze_clock=True)  # one instant: the same file for the same inputs
    backend = _backend(settings)
    now = int(backend.clock.now())
    generated = backend.service.calls.generated_calls(now)
    document = dump_fixtures(backend.fixtures, generated)
    text = json.dumps(document, ensure_ascii=False, indent=1) + "\n"
    if str(output) == "-":
        sys.stdout.write(text)
    else:
        try:
            output.write_text(text, encoding="utf-8")
        except OSError as error:
            raise _StartupError(f"cannot write {output}: {error.strerror or error}") from None
        count = sum(len(c) for c in generated.values())
        click.echo(f"wrote {count} generated and {len(backend.fixtures.calls)} fixture calls to {output}", err=True)


@main.command()
@click.option("--profile", default="reference", show_default=True, help="The API profile whose contract to write.")
@click.option("--output", "-o", type=click.Path(path_type=Path, dir_okay=False, allow_dash=True),
              default="-", show_default=True, help="Where to write it ('-' for stdout).")
@click.option("--format", "form", type=click.Choice(["yaml", "json"]), default="yaml", show_default=True)
def contract(profile: str, output: Path, form: str) -> None:
    """Write the resolved OpenAPI contract of a profile (the base contract with its overlay)."""
    from mockpbx.profiles import get_profile
    try:
        chosen = get_profile(profile)
    except ValueError as error:
        raise click.UsageError(f"--profile: {error}") from None
    text = (json.dumps(chosen.contract(), ensure_ascii=False, indent=2) + "\n").encode() if form == "json" \
        else chosen.contract_yaml()
    if str(output) == "-":
        sys.stdout.buffer.write(text)
        sys.stdout.flush()
    else:
        try:
            output.write_bytes(text)
        except OSError as error:
            raise _StartupError(f"cannot write {output}: {error.strerror or error}") from None
        click.echo(f"wrote the {chosen.name} contract to {output}", err=True)


#: Top-level modules of the `verify` extra (pyproject.toml).
VERIFY_MODULES = frozenset({"schemathesis", "hypothesis", "urllib3"})


class _VerifyUsageError(click.ClickException):
    """A bad argument to verify: one line, exit 2."""

    exit_code = 2


class _VerifyCommand(click.Command):
    """Reports bad arguments on one line (exit 2) instead of click's usage block."""

    def make_context(self, info_name: str | None, args: list[str], parent: click.Context | None = None,
                     **extra: Any) -> click.Context:
        try:
            return super().make_context(info_name, args, parent=parent, **extra)
        except click.UsageError as error:
            raise _VerifyUsageError(error.format_message()) from None


@main.command(cls=_VerifyCommand)
@click.option("--base-url", help="The host to verify, e.g. http://127.0.0.1:8080 or the vendor's staging URL.")
@_credential_options
@click.option("--window-start", help="Start of the sample window, YYYY-MM-DD HH:MM:SS in --timezone. "
                                     "[default: 3 days before --window-end]")
@click.option("--window-end", help="End of the sample window, YYYY-MM-DD HH:MM:SS in --timezone. [default: now]")
@click.option("--timezone", help="Time zone the host reads windows in. [default: Asia/Ho_Chi_Minh]")
@_safety_options
@click.option("--report-junit", type=click.Path(dir_okay=False), help="Write a JUnit XML report here.")
@click.option("--report-json", type=click.Path(dir_okay=False), help="Write a JSON report here.")
@click.option("--contract", type=click.Path(dir_okay=False), help="The OpenAPI contract. [default: the bundled one]")
@click.option("--probe-methods", is_flag=True, help="Also send methods the contract does not declare (expect 405).")
@click.option("--seed", type=int, help="Seed of the generated requests. [default: 0]")
@click.option("--profile", help="API profile to check against: auto (decide from the token response and the "
                                "first call-log page), reference or revised. [default: auto]")
def verify(**values: Any) -> None:
    """Check a host (the mock or the vendor's) against the contract and its business rules.

    Exit 0: conformant; 1: violations found; 2: could not run.
    """
    try:
        from mockpbx.verify.options import OptionsError, build_options
        from mockpbx.verify.runner import verify as run_verify
    except ModuleNotFoundError as error:  # the lean install: the mock and the plugin, no kit
        if error.name not in VERIFY_MODULES:
            raise
        raise _VerifyUsageError(f"mockpbx verify needs the 'verify' extra ({error.name} is not installed): "
                                "pip install 'mockpbx[verify]'") from None
    try:
        options = build_options(values)
    except OptionsError as error:
        raise _VerifyUsageError(str(error)) from None
    sys.exit(run_verify(options))


@main.command(cls=_VerifyCommand)
@click.option("--base-url", help="The host to record from, e.g. the vendor's staging URL.")
@_credential_options
@click.option("--window-start", help="Start of the span, YYYY-MM-DD[ HH:MM:SS] in --timezone; any length, "
                                     "read in 31-day windows. [default: 31 days before --window-end]")
@click.option("--window-end", help="End of the span, YYYY-MM-DD[ HH:MM:SS] in --timezone. [default: now]")
@click.option("--timezone", help="Time zone the host reads windows in. [default: Asia/Ho_Chi_Minh]")
@click.option("--output", "-o", type=click.Path(dir_okay=False), help="The fixture file to write (required).")
@click.option("--anonymize/--no-anonymize", default=None,
              help="Replace phone numbers by keyed pseudonyms of the same class and length. [default: on]")
@click.option("--salt", help="Key of the pseudonyms, to get the same ones again. [default: random, never stored]")
@click.option("--shift-to", help="Move the recording by whole weeks so that it ends on this date (YYYY-MM-DD), "
                                 "keeping weekdays and local hours.")
@click.option("--as-username", help="Serve the calls under this login instead of the demo account.")
@_safety_options
def record(**values: Any) -> None:
    """Record a host's call log into a fixture file for `serve --fixtures`, anonymised.

    Exit 0: recorded; 1: incomplete (whole windows kept, the file says so); 2: could not run.
    """
    from mockpbx.record.options import OptionsError, build_options
    from mockpbx.record.runner import record as run_record
    try:
        options = build_options(values)
    except OptionsError as error:
        raise _VerifyUsageError(str(error)) from None
    sys.exit(run_record(options))


@main.command(cls=_VerifyCommand)
@click.option("--base-url", help="The host to compare with the mock, e.g. the vendor's staging URL.")
@_credential_options
@click.option("--window-start", help="Start of the sample window, YYYY-MM-DD HH:MM:SS. [default: 3 days before the end]")
@click.option("--window-end", help="End of the sample window, YYYY-MM-DD HH:MM:SS. [default: now]")
@click.option("--timezone", help="Time zone the window defaults are computed in. [default: Asia/Ho_Chi_Minh]")
@_safety_options
@click.option("--report-json", type=click.Path(dir_okay=False), help="Write a JSON report here.")
@click.option("--report-markdown", type=click.Path(dir_okay=False, path_type=Path),
              help="Write a Markdown report here (e.g. $GITHUB_STEP_SUMMARY).")
def drift(report_markdown: Path | None, **values: Any) -> None:
    """Compare a host with the mock side by side and suggest the serve options that match it.

    Exit 0: nothing differs; 1: drift; 2: could not run.
    """
    from mockpbx.drift.runner import run_drift
    from mockpbx.verify.options import OptionsError, build_options
    try:
        options = build_options(values)
    except OptionsError as error:
        raise _VerifyUsageError(str(error)) from None
    sys.exit(run_drift(options, report_markdown=report_markdown))


def _check_coverage_document(document: object) -> None:
    """Raise ValueError unless `document` is a mockpbx coverage document (another server answered)."""
    outcomes = document.get("outcomes") if isinstance(document, dict) else None
    if not isinstance(outcomes, list) or not all(
            isinstance(o, dict) and isinstance(o.get("count"), int) and isinstance(o.get("operation"), str)
            and isinstance(o.get("kind"), str) for o in outcomes):
        raise ValueError("the answer is not a mockpbx coverage document (is the URL a mockpbx?)")


@main.command()
@click.option("--url", required=True, help="Base URL of the running mockpbx, e.g. http://127.0.0.1:8080.")
@click.option("--fail-under", type=click.FloatRange(0, 100), help="Exit 1 if the API coverage is below this percentage.")
@click.option("--report", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write the report here: JSON, or Markdown if the path ends in .md.")
@click.option("--control-token", envvar="MOCKPBX_CONTROL_TOKEN",
              help="The mock's control token, if it has one. [env MOCKPBX_CONTROL_TOKEN]")
def coverage(url: str, fail_under: float | None, report: Path | None, control_token: str | None) -> None:
    """Which of the API's documented outcomes the clients of a running mock have met.

    Exit 0: done (and at or above --fail-under); 1: below --fail-under; 2: could not read it.
    """
    from mockpbx.coverage.report import fail_under_line, summary_lines, write_report
    from mockpbx.testing import MockPBX
    try:
        document = MockPBX(url, control_token=control_token).coverage()
        _check_coverage_document(document)
    except (OSError, RuntimeError, ValueError) as error:  # unreachable, refused, not a mockpbx: exit 2
        click.echo(f"mockpbx coverage: cannot read {url.rstrip('/')}/_mock/coverage: {error}", err=True)
        sys.exit(2)
    click.echo("\n".join(summary_lines(document)))
    if report is not None:
        try:
            write_report(document, report)
        except OSError as error:  # like the commands' other outputs: one line, exit 2
            click.echo(f"mockpbx coverage: cannot write {report}: {error.strerror or error}", err=True)
            sys.exit(2)
        click.echo(f"report written to {report}")
    failure = fail_under_line(document, fail_under)
    if failure is not None:
        click.echo(failure)
        sys.exit(1)
