"""Runs `mockpbx drift`: observe the host through verify's budgeted client, observe an in-process
mock the same way, compare, suggest options, check the suggestion on a second mock, report."""

from __future__ import annotations

import math
import sys
import time
import traceback
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO

from mockpbx.conformance.hooks import Credentials
from mockpbx.drift.compare import Row, compare, suggest
from mockpbx.drift.observe import Observations, observe
from mockpbx.drift.report import CANNOT_RUN, DriftReport, text, write_reports
from mockpbx.profiles import REFERENCE
from mockpbx.redaction import Redactor
from mockpbx.testing import DEMO_API_KEY, DEMO_LOGIN, DEMO_PASSWORD, MockPBX
from mockpbx.verify.client import BudgetedClient, BudgetExhausted, ClientStopped
from mockpbx.verify.contract import for_profile
from mockpbx.verify.options import VerifyOptions
from mockpbx.verify.probes import ProbeContext, authenticate
from mockpbx.verify.results import Results, VerifyAborted
from mockpbx.verify.runner import Progress

#: The in-process mock answers at once; its requests are not the host's budget.
MOCK_BUDGET, MOCK_RATE = 500, 1000.0


class CannotObserve(Exception):
    """The host could not be observed (unreachable, login refused, budget spent)."""


def observe_host(options: VerifyOptions, client: BudgetedClient, progress: Progress) -> Observations:
    """Log in to the host and run the observations; raises CannotObserve."""
    ctx = ProbeContext(client, for_profile(REFERENCE), options, Results(), progress)
    try:
        progress(f"logging in to {options.base_url}")
        authenticate(ctx)
        progress("observing the host")
        observed = observe(ctx)
    except VerifyAborted as error:
        raise CannotObserve(str(error)) from None
    except (BudgetExhausted, ClientStopped) as error:
        raise CannotObserve(str(error)) from None
    if client.stop_reason:
        raise CannotObserve(client.stop_reason)
    return observed


def observe_mock(options: VerifyOptions, settings: dict[str, Any]) -> Observations:
    """The same observations against an in-process mock with `settings`, over a window as long
    as the host's, ending at the mock's now; demo credentials of the same kind as the host's."""
    length = options.window_end - options.window_start
    days = math.ceil(length.total_seconds() / 86400) + 2
    credentials = (Credentials(api_key=DEMO_API_KEY) if options.credentials.api_key
                   else Credentials(username=DEMO_LOGIN, password=DEMO_PASSWORD))
    with MockPBX(days=days, **settings) as pbx:
        end = datetime.now(pbx_zone(settings)).replace(tzinfo=None, microsecond=0)
        mine = replace(options, base_url=pbx.url, credentials=credentials, window_start=end - length,
                       window_end=end, max_requests=MOCK_BUDGET, rate_limit=MOCK_RATE)
        client = BudgetedClient(pbx.url, budget=MOCK_BUDGET, rate=MOCK_RATE, timeout=options.timeout,
                                redactor=Redactor(mine.secrets()))
        try:
            ctx = ProbeContext(client, for_profile(REFERENCE), mine, Results())
            authenticate(ctx)
            return observe(ctx)
        finally:
            client.close()


def pbx_zone(settings: dict[str, Any]) -> Any:
    """The zone the mock with `settings` reads windows in."""
    from mockpbx.settings import Settings
    return Settings.load({}, **{k: v for k, v in settings.items() if k == "timezone"}).zone


def describe_mock(settings: dict[str, Any]) -> str:
    """How the report names the mock it compared with."""
    from mockpbx.settings import Settings
    given = Settings.load({}, **settings)
    return (f"mockpbx (in-process: profile {given.profile}, timezone {given.timezone}, "
            f"token lifetime {given.token_lifetime} s)")


def run_drift(options: VerifyOptions, *, report_markdown: Path | None = None, out: TextIO | None = None,
              err: TextIO | None = None, mock_settings: dict[str, Any] | None = None) -> int:
    """Run drift; print the report and write the files asked for; return the exit code."""
    out, err = out or sys.stdout, err or sys.stderr
    settings = dict(mock_settings or {})
    redactor = Redactor(options.secrets())
    client = BudgetedClient(options.base_url, budget=options.max_requests, rate=options.rate_limit,
                            timeout=options.timeout, redactor=redactor)
    report = DriftReport(options.base_url, f"{options.window_start} .. {options.window_end} ({options.timezone})",
                         describe_mock(settings), budget=options.max_requests)
    started = time.monotonic()
    try:
        host = observe_host(options, client, Progress(err, client, redactor))
        err.write("observing the in-process mock\n")
        report.rows = compare(host, observe_mock(options, settings))
        report.suggestions = suggest(host, report.rows)
        report.unmatched = _unmatched(options, host, settings, report)
    except CannotObserve as error:
        report.reason = str(error)
    except Exception as error:  # noqa: BLE001 (a bug in drift: show it, redacted, and exit 2)
        err.write(redactor.redact(traceback.format_exc()))
        report.reason = f"internal error: {type(error).__name__}: {error}"
    finally:
        client.close()
    report.sent, report.elapsed = client.sent, time.monotonic() - started
    return _finish(report, redactor, options, report_markdown, out, err)


def _unmatched(options: VerifyOptions, host: Observations, settings: dict[str, Any],
               report: DriftReport) -> list[Row]:
    """The rows that still differ once the suggested options are applied to a second mock."""
    if not report.suggestions:
        return [row for row in report.rows if not row.same]
    fixed = {**settings, **{s.setting: s.value for s in report.suggestions}}
    return [row for row in compare(host, observe_mock(options, fixed)) if not row.same]


def _finish(report: DriftReport, redactor: Redactor, options: VerifyOptions, markdown: Path | None,
            out: TextIO, err: TextIO) -> int:
    if report.rows:
        out.write(text(report, redactor))
    if report.reason is not None:
        err.write(f"mockpbx drift: cannot run: {redactor.redact(report.reason)}\n")
    try:
        write_reports(report, redactor, options.report_json, markdown)
    except OSError as error:
        err.write(f"mockpbx drift: cannot write a report: {redactor.redact(str(error))}\n")
        return CANNOT_RUN
    return report.exit_code
