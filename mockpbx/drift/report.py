"""The drift report: readable text, JSON, and Markdown for a CI job summary."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mockpbx import __version__
from mockpbx.drift.compare import Row, Suggestion
from mockpbx.redaction import Redactor, printable

NO_DRIFT, DRIFT, CANNOT_RUN = 0, 1, 2


@dataclass
class DriftReport:
    """What one drift run found."""

    base_url: str
    window: str
    mock: str
    rows: list[Row] = field(default_factory=list)
    suggestions: list[Suggestion] = field(default_factory=list)
    #: Rows that still differ with the suggested options applied to the mock.
    unmatched: list[Row] = field(default_factory=list)
    sent: int = 0
    budget: int = 0
    elapsed: float = 0.0
    reason: str | None = None

    @property
    def exit_code(self) -> int:
        """0 nothing differs, 1 drift, 2 could not run."""
        if self.reason is not None:
            return CANNOT_RUN
        return DRIFT if any(not r.same for r in self.rows) else NO_DRIFT

    @property
    def serve_command(self) -> str | None:
        """`mockpbx serve ...` with the suggested options, if any."""
        return "mockpbx serve " + " ".join(map(str, self.suggestions)) if self.suggestions else None

    def verdict(self) -> str:
        """One line."""
        if self.reason is not None:
            return f"could not run: {self.reason}"
        differ = sum(not r.same for r in self.rows)
        if not differ:
            return f"NO DRIFT: the host and the mock agree on all {len(self.rows)} observations"
        return f"DRIFT: {differ} of {len(self.rows)} observations differ"


def text(report: DriftReport, redactor: Redactor) -> str:
    """The side-by-side report printed on stdout."""
    lines = [f"mockpbx drift {report.base_url} vs {report.mock}",
             (f"window {report.window}; {report.sent}/{report.budget} requests to the host "
              f"in {report.elapsed:.1f} s"), ""]
    for row in report.rows:  # (a host's text on one line: a line end in it would start a forged line)
        if row.same:
            lines.append(f"  same  {row.name:<28} {_one_line(row.host)}")
        else:
            lines += [f"  DIFF  {row.name:<28} host: {_one_line(row.host)}", f"        {'':<28} mock: {_one_line(row.mock)}"]
    if report.suggestions:
        lines += ["", "To make the mock match:", f"  {report.serve_command}"]
        lines += [f"    {s} (for: {s.row})" for s in report.suggestions]
    if report.unmatched:
        lines += ["", "No option can match yet:"] + [f"  - {r.name}: host {r.host}; mock {r.mock}"
                                                       for r in report.unmatched]
    lines += ["", f"Result: {report.verdict()}  (exit {report.exit_code})"]
    return printable(redactor.redact("\n".join(lines) + "\n"))  # observations quote what the host sent


def to_json(report: DriftReport, redactor: Redactor) -> str:
    """The report as JSON."""
    document: dict[str, Any] = {
        "tool": f"mockpbx drift {__version__}", "base_url": report.base_url, "mock": report.mock,
        "window": report.window, "drift": report.exit_code == DRIFT, "exit_code": report.exit_code,
        "reason": report.reason, "requests": {"sent": report.sent, "budget": report.budget},
        "elapsed_seconds": round(report.elapsed, 3),
        "rows": [{"name": r.name, "host": r.host, "mock": r.mock, "same": r.same} for r in report.rows],
        "suggested_options": [{"option": s.option, "value": s.value, "for": s.row} for s in report.suggestions],
        "serve_command": report.serve_command,
        "unmatched": [r.name for r in report.unmatched],
    }
    return redactor.redact(json.dumps(document, ensure_ascii=False, indent=2)) + "\n"


def _one_line(value: str) -> str:
    return value.replace("\r", "\\r").replace("\n", "\\n")


def _cell(value: str) -> str:
    """A table cell: on one line, `|` escaped, and `<`, `>` and `&` as entities outside code spans
    (Markdown renders a host's `<b>` as HTML; inside backticks it is shown as written)."""
    parts = _one_line(value).replace("|", "\\|").split("`")
    parts[::2] = [p.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;") for p in parts[::2]]
    return "`".join(parts)


def to_markdown(report: DriftReport, redactor: Redactor) -> str:
    """The report as Markdown (e.g. for `$GITHUB_STEP_SUMMARY`)."""
    lines = [f"## mockpbx drift: {_cell(report.verdict())}", "",
             (f"Host `{report.base_url}` vs {report.mock}; window {report.window}; "
              f"{report.sent}/{report.budget} requests."), ""]
    if report.rows:  # (a run that could not start has none: no empty table under its reason)
        lines += ["| | observation | host | mock |", "|---|---|---|---|"]
        lines += [f"| {'✅' if r.same else '❌'} | {_cell(r.name)} | {_cell(r.host)} | {_cell(r.mock)} |"
                  for r in report.rows]
    if report.serve_command:
        lines += ["", "To make the mock match:", "", f"    {report.serve_command}"]
    if report.unmatched:
        lines += ["", "No option can match yet: " + ", ".join(f"**{r.name}**" for r in report.unmatched)]
    return printable(redactor.redact("\n".join(lines) + "\n"))


def write_reports(report: DriftReport, redactor: Redactor, json_path: Path | None,
                  markdown_path: Path | None) -> None:
    """Write the reports asked for; raises OSError if one cannot be written."""
    for path, render in ((json_path, to_json), (markdown_path, to_markdown)):
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            # backslashreplace: a lone surrogate the host sent, in a JSON string, is written as its JSON escape
            path.write_text(render(report, redactor), encoding="utf-8", errors="backslashreplace")
