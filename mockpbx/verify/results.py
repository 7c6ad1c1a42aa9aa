"""What a verify run found: one result per check, with the failing exchanges."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from mockpbx.conformance.rules import RuleViolation
from mockpbx.verify.client import Exchange

BUSINESS = "business rule"
SCHEMATHESIS = "schemathesis"
#: Findings kept per check (more are counted, not kept).
KEPT_FINDINGS = 5
#: Run errors kept (more are counted).
KEPT_ERRORS = 10


class VerifyAborted(Exception):
    """Verify could not run (unreachable host, login refused, ...); exit 2 with this reason."""


@dataclass
class Finding:
    """One failure of a check: what was expected and the exchange that showed otherwise."""

    message: str
    exchange: Exchange | None = None


@dataclass
class CheckResult:
    """How one check fared over the whole run."""

    name: str
    kind: str
    description: str = ""
    passed: int = 0
    failed: int = 0
    findings: list[Finding] = field(default_factory=list)
    skipped: str | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def status(self) -> str:
        """`failed`, `passed` or `skipped`."""
        if self.failed:
            return "failed"
        return "passed" if self.passed else "skipped"

    def fail(self, finding: Finding) -> None:
        """Count a failure; keep it if its message is new and there is room."""
        self.failed += 1
        if len(self.findings) < KEPT_FINDINGS and all(f.message != finding.message for f in self.findings):
            self.findings.append(finding)


class Results:
    """All check results of a run, in the order the checks were first met."""

    def __init__(self) -> None:
        self.checks: dict[str, CheckResult] = {}
        self.notes: list[str] = []
        self.errors: list[str] = []
        self.error_count = 0
        #: Requests that were not sent because the contract does not declare them.
        self.not_sent = 0
        #: The API profile the host was checked against, and the line that says why.
        self.profile = "reference"
        self.profile_line: str | None = None
        #: How the report names the contract checked against (None: the options' contract file).
        self.contract_label: str | None = None

    def check(self, name: str, kind: str = BUSINESS, description: str = "") -> CheckResult:
        """The result of check `name`, created on first use."""
        result = self.checks.get(name)
        if result is None:
            result = self.checks[name] = CheckResult(name, kind, description)
        elif description and not result.description:
            result.description = description
        return result

    def no_answer(self, name: str, exchange: Exchange | None) -> bool:
        """Whether `exchange` got no answer (or only 429, "not now"); if so, note it: a rule
        cannot be judged on silence."""
        if exchange is None or exchange.status not in (None, 429):
            return False
        path = exchange.url.split("?")[0]
        why = exchange.error or "rate limited (429)"
        self.note_error(f"{name}: no answer to {exchange.method} {path}: {why}")
        return True

    def note_error(self, message: str) -> None:
        """Keep an error of the run (the first few; the rest are counted)."""
        if len(self.errors) < KEPT_ERRORS:
            self.errors.append(message)
        self.error_count += 1

    def verify(self, name: str, exchange: Exchange | None, rule: Callable[..., None], *args: object) -> bool:
        """Run `rule(*args)`; a RuleViolation is a failure of check `name` shown by `exchange`."""
        result = self.check(name)
        if self.no_answer(name, exchange):
            return False
        try:
            rule(*args)
        except RuleViolation as error:
            result.fail(Finding(str(error) or "rule violated", exchange))
            return False
        result.passed += 1
        return True

    def fail(self, name: str, message: str, exchange: Exchange | None = None) -> None:
        """Record a failure of check `name` (unless the exchange got no answer at all)."""
        if not self.no_answer(name, exchange):
            self.check(name).fail(Finding(message, exchange))

    def skip(self, name: str, reason: str) -> None:
        """Say why check `name` did not run (kept only if it never ran)."""
        result = self.check(name)
        if result.skipped is None:
            result.skipped = reason

    @property
    def failed(self) -> list[CheckResult]:
        """The checks that failed."""
        return [r for r in self.checks.values() if r.failed]
