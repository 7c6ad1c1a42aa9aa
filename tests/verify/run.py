"""Running `mockpbx verify` in-process against a local server, fast (high rate limit, small budget)."""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mockpbx.verify.options import build_options
from mockpbx.verify.runner import verify

DEMO = {"username": "foo@test.tel4vn.com", "password": "foo123"}


@dataclass
class Outcome:
    """What one verify run printed and wrote."""

    code: int
    out: str
    err: str
    report: dict[str, Any] | None = None

    def status(self, check: str) -> str | None:
        """`passed`, `failed` or `skipped` for a check, from the JSON report."""
        assert self.report is not None, "run with a JSON report to ask about checks"
        return next((c["status"] for c in self.report["checks"] if c["name"] == check), None)

    @property
    def failed(self) -> list[str]:
        """The failed checks, from the JSON report."""
        assert self.report is not None
        return [c["name"] for c in self.report["checks"] if c["status"] == "failed"]


def run_verify(url: str, tmp_path: Path, *, env: dict[str, str] | None = None, now: float | None = None,
               **values: Any) -> Outcome:
    """Run verify against `url` with the demo account unless told otherwise; returns what it did."""
    report = tmp_path / "verify.json"
    given = {"base_url": url, "rate_limit": "1000/s", "max_requests": 100, "report_json": str(report),
             **({} if env is not None or "api_key" in values else DEMO), **values}
    out, err = io.StringIO(), io.StringIO()
    options = build_options(given, env=env or {}, now=now)
    code = verify(options, out=out, err=err) if now is None else verify(options, out=out, err=err, now=lambda: now)
    document = json.loads(report.read_text()) if report.exists() else None
    return Outcome(code, out.getvalue(), err.getvalue(), document)
