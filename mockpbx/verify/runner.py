"""Runs verify end to end: log in, probe the business rules, run schemathesis, report, exit code."""

from __future__ import annotations

import sys
import time
import traceback
from collections.abc import Callable
from typing import TextIO

from mockpbx.profiles import get_profile
from mockpbx.redaction import Redactor
from mockpbx.verify import paging, probes
from mockpbx.verify.client import BudgetedClient, BudgetExhausted, ClientStopped
from mockpbx.verify.contract import ContractError, for_profile, load
from mockpbx.verify.detect import identify
from mockpbx.verify.fuzz import run_fuzz
from mockpbx.verify.options import VerifyOptions
from mockpbx.verify.probes import CHECKS, ProbeContext
from mockpbx.verify.report import RunReport, summary, write_reports
from mockpbx.verify.results import BUSINESS, Results, VerifyAborted

CONFORMANT, VIOLATIONS, CANNOT_RUN = 0, 1, 2


class Progress:
    """Progress lines on stderr, prefixed with the requests spent so far."""

    def __init__(self, stream: TextIO, client: BudgetedClient, redactor: Redactor) -> None:
        self.stream, self.client, self.redactor = stream, client, redactor

    def __call__(self, message: str) -> None:
        """Show one progress line."""
        width = len(str(self.client.budget))
        line = f"[{self.client.sent:>{width}}/{self.client.budget} requests] {message}"
        self.stream.write(self.redactor.redact(line) + "\n")
        self.stream.flush()


def run_probes(ctx: ProbeContext) -> None:
    """The scripted business-rule probes, in order of importance, until the budget runs out."""
    steps: list[tuple[str, Callable[[ProbeContext], None]]] = [
        ("bad and forged tokens", probes.probe_bad_tokens), ("the 31-day window", probes.probe_window),
        ("impossible dates", probes.probe_bad_date)]
    try:
        for label, probe in steps:
            ctx.progress(f"business rules: {label}")
            probe(ctx)
        ctx.progress("business rules: paging through the sample window")
        sample = paging.probe_paging(ctx)
        ctx.progress("business rules: source filter")
        paging.probe_source_filter(ctx, sample)
        ctx.progress("business rules: time zone")
        paging.probe_time_zone(ctx, sample)
    except BudgetExhausted:
        ctx.results.notes.append("the request budget ran out during the business-rule probes")
    except ClientStopped:
        pass  # the stop reason is reported once, for the whole run
    finally:
        paging.diagnose_time_zone(ctx)


def _exit_code(results: Results, client: BudgetedClient, reason: str | None) -> tuple[int, str | None]:
    if reason is not None:
        return CANNOT_RUN, reason
    if results.failed:
        return VIOLATIONS, None
    if client.stop_reason:
        what = "the host stopped answering" if client.unreachable else "could not finish"
        return CANNOT_RUN, f"{what}: {client.stop_reason}"
    return CONFORMANT, None


def _run(ctx: ProbeContext) -> str | None:
    """Everything that sends requests; the reason if verify could not run."""
    try:
        ctx.progress(f"logging in to {ctx.options.base_url}")
        probes.authenticate(ctx)
        ctx.progress("deciding which API profile the host speaks")
        identify(ctx, contract_given=ctx.options.contract is not None)
        ctx.progress(ctx.results.profile_line or "")
        run_probes(ctx)
        run_fuzz(ctx.options, ctx.contract, ctx.client, ctx.results, ctx.progress, ctx.profile.read_time)
    except VerifyAborted as error:
        return str(error)
    except (BudgetExhausted, ClientStopped) as error:
        return f"could not log in: {error}"
    return None


def verify(options: VerifyOptions, *, out: TextIO | None = None, err: TextIO | None = None,
           now: Callable[[], float] = time.time) -> int:
    """Run verify with `options`; print the summary and write the reports; return the exit code."""
    out, err = out or sys.stdout, err or sys.stderr
    redactor = Redactor(options.secrets())
    try:
        contract = load(options.contract) if options.contract else for_profile(get_profile(
            "reference" if options.profile == "auto" else options.profile))
    except ContractError as error:
        err.write(f"mockpbx verify: cannot run: {redactor.redact(str(error))}\n")
        return CANNOT_RUN
    client = BudgetedClient(options.base_url, budget=options.max_requests, rate=options.rate_limit,
                            timeout=options.timeout, redactor=redactor)
    results = Results()
    for name, description in CHECKS.items():
        results.check(name, BUSINESS, description)
    ctx = ProbeContext(client, contract, options, results, Progress(err, client, redactor), now)
    started = time.monotonic()
    try:
        reason = _run(ctx)
    except Exception as error:  # noqa: BLE001 (a bug in verify: show it, redacted, and exit 2)
        err.write(redactor.redact(traceback.format_exc()))
        reason = f"internal error: {type(error).__name__}: {error}"
    finally:
        client.close()
    code, reason = _exit_code(results, client, reason)
    report = RunReport(options, results, client.sent, results.not_sent, time.monotonic() - started, code,
                       client.stop_reason, reason)
    return _finish(report, redactor, out, err)


def _finish(report: RunReport, redactor: Redactor, out: TextIO, err: TextIO) -> int:
    """Print the summary (unless verify stopped at the login) and the reason, write the reports."""
    if report.reason is None or report.sent > 2:
        out.write(summary(report, redactor))
    if report.reason is not None:
        err.write(f"mockpbx verify: cannot run: {redactor.redact(report.reason)}\n")
    try:
        write_reports(report, redactor)
    except OSError as error:
        err.write(f"mockpbx verify: cannot write a report: {redactor.redact(str(error))}\n")
        return CANNOT_RUN
    return report.exit_code
