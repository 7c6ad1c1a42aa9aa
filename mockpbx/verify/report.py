"""The verify report: a readable summary, JUnit XML for CI and JSON; secrets redacted in all three."""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

from mockpbx import __version__
from mockpbx.redaction import Redactor, printable
from mockpbx.verify.client import Exchange, header
from mockpbx.verify.options import VerifyOptions
from mockpbx.verify.results import BUSINESS, SCHEMATHESIS, CheckResult, Finding, Results

#: Request headers left out of curl lines: noise, or set by curl itself.
_QUIET = ("host", "user-agent", "accept-encoding", "connection", "content-length", "x-schemathesis-")
_SNIPPET = 300
#: Findings shown per check in the summary (the JSON report keeps more).
SHOWN_FINDINGS = 3
_MARK = {"passed": "PASS", "failed": "FAIL", "skipped": "SKIP"}


@dataclass
class RunReport:
    """Everything the report shows about one run."""

    options: VerifyOptions
    results: Results
    sent: int
    blocked: int
    elapsed: float
    exit_code: int
    stopped: str | None = None
    reason: str | None = None


def curl(exchange: Exchange, redactor: Redactor) -> str:
    """The request of an exchange as a curl command line, secrets redacted."""
    parts = ["curl", "-sS", "-X", exchange.method, shlex.quote(redactor.url(exchange.url))]
    for name, value in exchange.request_headers.items():
        if not name.lower().startswith(_QUIET):
            parts += ["-H", shlex.quote(f"{name}: {redactor.header(name, value)}")]
    if exchange.request_body:
        try:
            exchange.request_body.decode("utf-8")
            parts += ["--data-raw", shlex.quote(redactor.body(exchange.request_body, _content_type(exchange)))]
        except UnicodeDecodeError:
            parts.append(f"--data-binary @body.bin  # {len(exchange.request_body)} bytes, not UTF-8")
    return " ".join(parts)


def _content_type(exchange: Exchange) -> str:
    return header(exchange.request_headers, "content-type") or ""


def body_snippet(exchange: Exchange, redactor: Redactor, limit: int = _SNIPPET) -> str:
    """The start of the response body on one line (redacted before it is cut short)."""
    body = redactor.redact(" ".join(exchange.response_body.decode("utf-8", "replace").split()))
    return body if len(body) <= limit else body[:limit] + f"... ({len(exchange.response_body)} bytes)"


def came_back(exchange: Exchange, redactor: Redactor) -> str:
    """What the host answered, in one line."""
    if exchange.status is None:
        return exchange.error or "no answer"
    content_type = exchange.content_type or "(no Content-Type)"
    return f"{exchange.status} {content_type} {body_snippet(exchange, redactor)}".rstrip()


def _ordered(results: Results, kind: str) -> list[CheckResult]:
    return [r for r in results.checks.values() if r.kind == kind]


def _counts(result: CheckResult) -> str:
    if result.status == "skipped":
        return result.skipped or "did not run"
    if result.failed:
        return f"{result.failed} of {result.failed + result.passed} failed"
    return f"{result.passed} passed"


def _finding_lines(finding: Finding, redactor: Redactor) -> list[str]:
    lines = [f"      - {redactor.redact(finding.message)}"]
    if finding.exchange is not None:
        lines.append(f"        reproduce: {curl(finding.exchange, redactor)}")
        lines.append(f"        came back: {came_back(finding.exchange, redactor)}")
    return lines


def summary(report: RunReport, redactor: Redactor) -> str:
    """The readable summary printed at the end of a run."""
    options, results = report.options, report.results
    lines = [f"mockpbx verify {options.base_url} against {results.contract_label or options.contract_path.name}",
             f"window {options.window_start} .. {options.window_end} ({options.timezone}); "
             f"{report.sent}/{options.max_requests} requests in {report.elapsed:.1f} s"
             + (f"; {report.blocked} not sent (outside the contract)" if report.blocked else "")]
    if results.profile_line:
        lines.append(results.profile_line)
    for kind, title in ((BUSINESS, "Business rules"), (SCHEMATHESIS, "Schemathesis (contract)")):
        checks = _ordered(results, kind)
        if checks:
            lines += ["", title]
        for result in checks:
            lines.append(f"  {_MARK[result.status]}  {result.name:<30} {_counts(result)}")
            lines += [f"      note: {note}" for note in result.notes]
            for finding in result.findings[:SHOWN_FINDINGS]:
                lines += _finding_lines(finding, redactor)
            if len(result.findings) > SHOWN_FINDINGS:
                lines.append(f"      ... and more like these (the JSON report keeps {len(result.findings)})")
    more = results.error_count - len(results.errors)
    extra = (([report.stopped] if report.stopped else []) + results.notes + results.errors
             + ([f"... and {more} more errors"] if more > 0 else []))
    if extra:
        lines += ["", "Notes"] + [f"  - {note}" for note in extra]
    lines += ["", f"Result: {_verdict(report)}  (exit {report.exit_code})"]
    return printable(redactor.redact("\n".join(lines) + "\n"))


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" + ("" if number == 1 else "s")


def _verdict(report: RunReport) -> str:
    """One line: conformant or not, and what did not run."""
    failed = [r.name for r in report.results.failed]
    unrun = [r.name for r in report.results.checks.values() if r.status == "skipped"]
    if failed:
        return f"NOT CONFORMANT: {_count(len(failed), 'check')} failed ({', '.join(failed)})"
    if report.exit_code == 2:
        return f"could not finish: {report.reason}"
    if unrun:
        return f"no violations found, but {_count(len(unrun), 'check')} did not run ({', '.join(unrun)})"
    return "CONFORMANT: every check passed"


def _finding_json(finding: Finding, redactor: Redactor) -> dict[str, Any]:
    item: dict[str, Any] = {"message": finding.message}
    exchange = finding.exchange
    if exchange is not None:
        item["curl"] = curl(exchange, redactor)
        item["request"] = {"method": exchange.method, "url": redactor.url(exchange.url), "origin": exchange.origin,
                           "headers": {k: redactor.header(k, v) for k, v in exchange.request_headers.items()},
                           "body": redactor.body(exchange.request_body, _content_type(exchange))}
        item["response"] = {"status": exchange.status, "content_type": exchange.content_type,
                            "body": body_snippet(exchange, redactor, 4000), "error": exchange.error}
    return item


def to_json(report: RunReport, redactor: Redactor) -> str:
    """The report as JSON."""
    document = {
        "tool": f"mockpbx verify {__version__}", "conformant": report.exit_code == 0,
        "exit_code": report.exit_code, "reason": report.reason, "options": report.options.describe(),
        "requests": {"sent": report.sent, "budget": report.options.max_requests, "not_sent": report.blocked},
        "elapsed_seconds": round(report.elapsed, 3), "stopped_early": report.stopped,
        "checks": [{"name": r.name, "kind": r.kind, "status": r.status, "description": r.description,
                    "passed": r.passed, "failed": r.failed, "skipped_reason": r.skipped if not r.passed else None,
                    "notes": r.notes, "findings": [_finding_json(f, redactor) for f in r.findings]}
                   for r in report.results.checks.values()],
        "profile": {"checked_against": report.results.profile, "detection": report.results.profile_line},
        "notes": report.results.notes, "errors": report.results.errors,
        "error_count": report.results.error_count,
    }
    return redactor.redact(json.dumps(document, ensure_ascii=False, indent=2)) + "\n"


def to_junit(report: RunReport, redactor: Redactor) -> str:
    """The report as JUnit XML: one test case per check."""
    root = ElementTree.Element("testsuites", name="mockpbx verify", time=f"{report.elapsed:.3f}")
    for kind, suite_name in ((BUSINESS, "business rules"), (SCHEMATHESIS, "schemathesis")):
        checks = _ordered(report.results, kind)
        suite = ElementTree.SubElement(root, "testsuite", name=suite_name, tests=str(len(checks)),
                                       failures=str(sum(r.status == "failed" for r in checks)),
                                       skipped=str(sum(r.status == "skipped" for r in checks)))
        for result in checks:
            case = ElementTree.SubElement(suite, "testcase", name=result.name,
                                          classname=f"mockpbx.verify.{suite_name.replace(' ', '_')}")
            if result.status == "failed":
                text = "\n".join(result.notes + [line.strip() for f in result.findings
                                                 for line in _finding_lines(f, redactor)])
                failure = ElementTree.SubElement(case, "failure", type=result.name,
                                                 message=result.findings[0].message[:500] if result.findings else "")
                failure.text = text
            elif result.status == "skipped":
                ElementTree.SubElement(case, "skipped", message=result.skipped or "did not run")
    if report.exit_code == 2:  # a run that could not start or finish is an error a CI must see, not all green
        suite = ElementTree.SubElement(root, "testsuite", name="run", tests="1", failures="0", errors="1")
        case = ElementTree.SubElement(suite, "testcase", name="verify ran to the end", classname="mockpbx.verify.run")
        error = ElementTree.SubElement(case, "error", type="could not finish", message=str(report.reason)[:500])
        error.text = f"Result: {_verdict(report)}  (exit 2)"
    # printable: XML 1.0 holds no control characters, and findings quote what the host sent.
    return printable(redactor.redact(ElementTree.tostring(root, encoding="unicode", xml_declaration=True))) + "\n"


def write_reports(report: RunReport, redactor: Redactor) -> None:
    """Write the JUnit and JSON reports the options ask for; raises OSError if one cannot be written."""
    for path, render in ((report.options.report_junit, to_junit), (report.options.report_json, to_json)):
        if path is not None:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            # backslashreplace: a lone surrogate the host sent, in a JSON string, is written as its JSON escape
            Path(path).write_text(render(report, redactor), encoding="utf-8", errors="backslashreplace")
