"""API-coverage reports as people read them: the summary, Markdown, JSON, and the fail-under rule.

Every function takes the document `GET /_mock/coverage` answers, so they serve a mock in this
process and one running elsewhere alike.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

Report = Mapping[str, Any]


def combined(reports: Iterable[Report]) -> dict[str, Any]:
    """Reports of separate servers (pytest-xdist: one per worker) as one: each outcome's counts
    added up, in the order the outcomes first appear."""
    counts: dict[tuple[Any, ...], int] = {}
    firsts: list[Mapping[str, Any]] = []
    for report in reports:
        for outcome in report["outcomes"]:
            key = (outcome["operation"], outcome["status"], outcome["kind"])
            if key not in counts:
                counts[key] = 0
                firsts.append(outcome)
            counts[key] += int(outcome["count"])
    outcomes = [{**o, "count": counts[(o["operation"], o["status"], o["kind"])]} for o in firsts]
    return {"outcomes": outcomes, "exercised": sum(1 for o in outcomes if o["count"]), "total": len(outcomes)}


def percent(report: Report) -> float:
    """The share of outcomes exercised, 0-100 (100 for an empty catalogue)."""
    total = int(report["total"])
    return 100.0 if total == 0 else 100.0 * int(report["exercised"]) / total


def _shown_percent(report: Report) -> str:
    value = round(percent(report))
    if value == 100 and report["exercised"] < report["total"]:
        value = 99  # never print 100% while something is missing
    return f"{value}%"


def label(outcome: Mapping[str, Any]) -> str:
    """`400 date range must be in 31 days`, `200 empty page`, `fault: error 503`, `fault: drop`."""
    status, kind = outcome["status"], outcome["kind"]
    if kind.startswith("fault:"):
        return f"{kind} {status}" if status is not None else kind
    return " ".join(part for part in (str(status) if status is not None else "", kind) if part)


def missing_by_operation(report: Report) -> dict[str, list[str]]:
    """The outcomes never met, grouped by operation, in catalogue order."""
    missing: dict[str, list[str]] = {}
    for outcome in report["outcomes"]:
        if not outcome["count"]:
            missing.setdefault(outcome["operation"], []).append(label(outcome))
    return missing


def headline(report: Report) -> str:
    """`mockpbx API coverage: 14/23 outcomes (61%)`."""
    return f"mockpbx API coverage: {report['exercised']}/{report['total']} outcomes ({_shown_percent(report)})"


def summary_lines(report: Report) -> list[str]:
    """The headline, then the missing outcomes, one line per operation."""
    lines = [headline(report)]
    missing = missing_by_operation(report)
    if missing:
        lines.append("never met:")
        for operation, labels in missing.items():
            lines += _wrap(f"  {operation} ({len(labels)}): ", labels)
    return lines


def _wrap(first: str, labels: list[str], width: int = 100) -> list[str]:
    """`first` then the labels, comma-separated, over lines of at most `width`; a label is never cut."""
    lines, line = [], first
    for index, text in enumerate(labels):
        text += "," if index < len(labels) - 1 else ""
        if line.strip() and len(line) + len(text) > width and not line.endswith(": "):
            lines.append(line.rstrip())
            line = "      "
        line += text + " "
    return lines + [line.rstrip()]


def fail_under_line(report: Report, required: float | None) -> str | None:
    """The failure line when coverage is below `required` percent, else None."""
    if required is None or percent(report) >= required:
        return None
    return (f"FAIL Required mockpbx API coverage of {required:g}% not reached. "
            f"Total coverage: {percent(report):.2f}%")


def to_markdown(report: Report) -> str:
    """A Markdown report: the headline, then a table per operation (met outcomes with their counts)."""
    lines = [f"# {headline(report)}", ""]
    operations: dict[str, list[Mapping[str, Any]]] = {}
    for outcome in report["outcomes"]:
        operations.setdefault(outcome["operation"], []).append(outcome)
    for operation, outcomes in operations.items():
        met = sum(1 for o in outcomes if o["count"])
        lines += [f"## `{operation}`: {met}/{len(outcomes)}", "", "| outcome | requests |", "|---|---|"]
        lines += [f"| {label(o)} | {o['count'] or '**never**'} |" for o in outcomes]
        lines.append("")
    return "\n".join(lines)


def write_report(report: Report, path: Path) -> None:
    """Write the report: Markdown if the path ends in `.md`, JSON otherwise."""
    path = Path(path)
    if path.parent != Path(""):
        path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix.lower() == ".md":
        path.write_text(to_markdown(report), encoding="utf-8")
    else:
        document = {**report, "percent": round(percent(report), 2)}
        path.write_text(json.dumps(document, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
