"""The catalogue of outcomes a client can meet, built from a contract plus the business rules.

From the contract: every operation (except those tagged `meta`, the mock's own probes) and
every status it documents. From the business rules below: the distinct error kinds within
a status (told apart by the domain's error messages), the behaviours a client must handle
on success (a second page, an empty page...), and the faults the control API can inject.
A status with error kinds is covered through its kinds; one without is an outcome itself.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from mockpbx.control.counters import SLOTS as MAX_OUTCOMES  # the counters the control stores keep

#: Outcome kinds that a success status adds beside the plain status.
NEXT_PAGE, EMPTY_PAGE, LAST_PARTIAL_PAGE = "page past the first", "empty page", "last partial page"
SOURCE_FILTER, WINDOW_31_DAYS = "source filter", "window of exactly 31 days"
#: Injected faults met, per operation. Error faults count per status, for these statuses:
#: what a real host or its proxy answers and the mock never does on its own.
FAULT_ERROR_STATUSES = (429, 500, 503)
FAULT_ERROR, FAULT_DELAY, FAULT_DROP, FAULT_MALFORMED = ("fault: error", "fault: delay", "fault: drop",
                                                         "fault: malformed body")
FAULT_KINDS = {"delay": FAULT_DELAY, "drop": FAULT_DROP, "malformed": FAULT_MALFORMED}

_BODY = ("request body not a JSON object", r"^the request body (must be a JSON object|is not valid JSON)($|: )")
_FIELD = ("missing or invalid field", r"^\w+ (is required|must be a non-empty string|must be at most)")

#: (method, path, status) -> the error kinds within it, as (kind, pattern of the error message).
#: The first matching pattern names the kind. The messages are the domain's (mockpbx/domain).
ERROR_KINDS: dict[tuple[str, str, int], tuple[tuple[str, str], ...]] = {
    ("POST", "/v1/auth", 400): (_BODY, _FIELD),
    ("POST", "/v1/auth", 401): (("invalid username or password", r"^invalid username or password$"),),
    ("POST", "/v1/auth/token", 400): (_BODY, _FIELD),
    ("POST", "/v1/auth/token", 401): (("invalid api_key", r"^invalid api_key$"),),
    ("GET", "/v1/call/log", 400): (
        ("date range must be in 31 days", r"^date range must be in 31 days$"),
        ("start after end", r"^start_date must not be after end_date$"),
        ("missing start_date or end_date", r"^(start|end)_date is required"),
        ("bad start_date", r"^start_date (must be a date|is not a real|and end_date must be between)"),
        ("bad end_date", r"^end_date (must be a date|is not a real)"),
        ("bad limit or offset", r"^(limit|offset) must be an integer"),
        ("bad source or repeated parameter", r"^(source must be at most|\w+ must be given at most once)"),
    ),
    ("GET", "/v1/call/log", 401): (
        ("missing token", r"^missing bearer token"),
        ("malformed Authorization header", r"^malformed Authorization header"),
        ("expired token", r"^token expired$"),
        ("invalid token", r"^invalid token$"),
    ),
}
#: (method, path, status) -> the success behaviours counted beside the plain status.
SUCCESS_KINDS: dict[tuple[str, str, int], tuple[str, ...]] = {
    ("GET", "/v1/call/log", 200): (NEXT_PAGE, EMPTY_PAGE, LAST_PARTIAL_PAGE, SOURCE_FILTER, WINDOW_31_DAYS),
}


@dataclass(frozen=True)
class Outcome:
    """One documented situation: an operation answering `status` (None: no answer) of a `kind`."""

    operation: str  # "GET /v1/call/log"
    status: int | None
    kind: str  # "" for the plain status

    def label(self) -> str:
        """`400 date range must be in 31 days`, `200`, `fault: drop`."""
        return " ".join(part for part in (str(self.status or ""), self.kind) if part)


@dataclass(frozen=True, eq=False)  # compared and hashed by identity
class Operation:
    """An operation of the contract and where its outcomes sit in the catalogue."""

    method: str
    path: str
    statuses: frozenset[int]
    errors: dict[int, tuple[tuple[int, re.Pattern[str]], ...]]  # status -> (slot, message pattern)
    plain: dict[int, int]  # status -> slot of the plain-status outcome
    success: dict[str, int]  # success kind -> slot
    faults: dict[tuple[str, int | None], int]  # (fault kind, status for errors) -> slot


class Catalogue:
    """Every outcome, in a fixed order (its index is its counter slot), and the operations."""

    def __init__(self, outcomes: list[Outcome], operations: dict[tuple[str, str], Operation]) -> None:
        if len(outcomes) > MAX_OUTCOMES:
            raise ValueError(f"the contract gives {len(outcomes)} outcomes; at most {MAX_OUTCOMES} are counted")
        self.outcomes = outcomes
        self.operations = operations

    def operation(self, method: str, path: str) -> Operation | None:
        """The contract's operation for a request, if any (a trailing slash is the same path, and
        leading slashes are one, as the router reads them)."""
        return self.operations.get((method, "/" + path.strip("/")))


def build_catalogue(contract: Mapping[str, Any]) -> Catalogue:
    """The outcomes of a contract (an OpenAPI document as a dictionary) with the business rules."""
    outcomes: list[Outcome] = []
    operations: dict[tuple[str, str], Operation] = {}

    def slot(outcome: Outcome) -> int:
        outcomes.append(outcome)
        return len(outcomes) - 1

    for path, item in (contract.get("paths") or {}).items():
        for method, spec in (item or {}).items():
            if not isinstance(spec, Mapping) or "responses" not in spec or "meta" in (spec.get("tags") or ()):
                continue
            method = method.upper()
            name = f"{method} {path}"
            statuses = sorted(int(s) for s in spec["responses"] if str(s).isdigit())
            errors: dict[int, tuple[tuple[int, re.Pattern[str]], ...]] = {}
            plain: dict[int, int] = {}
            success: dict[str, int] = {}
            for status in statuses:
                if status in FAULT_ERROR_STATUSES:  # the mock answers these only when a fault is
                    continue                         # injected: counted below as "fault: error"
                kinds = ERROR_KINDS.get((method, path, status))
                if kinds:
                    errors[status] = tuple((slot(Outcome(name, status, kind)), re.compile(pattern))
                                           for kind, pattern in kinds)
                    continue
                plain[status] = slot(Outcome(name, status, ""))
                for kind in SUCCESS_KINDS.get((method, path, status), ()):
                    success[kind] = slot(Outcome(name, status, kind))
            faults: dict[tuple[str, int | None], int] = {
                ("error", status): slot(Outcome(name, status, FAULT_ERROR)) for status in FAULT_ERROR_STATUSES}
            faults.update({(fault, None): slot(Outcome(name, None, kind)) for fault, kind in FAULT_KINDS.items()})
            operations[(method, path)] = Operation(method, path, frozenset(statuses), errors, plain, success, faults)
    return Catalogue(outcomes, operations)
