"""Fixture files: accounts, domains and explicit calls as JSON, validated record by record."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from mockpbx.domain.accounts import Account, AccountBook
from mockpbx.domain.calls import Call
from mockpbx.domain.encoding import LONE_SURROGATE, loads_strict, utf8_encodable
from mockpbx.domain.errors import DataError, InvalidRequestError
from mockpbx.domain.records import ACCOUNT_KEYS, CALL_KEYS, account_from_record, call_from_record, unknown_keys

FORMAT = "mockpbx-fixtures/1"
#: The keys each part of a file may have; any other is reported with the nearest of these.
# `recording`: the header `mockpbx record` writes (what was recorded, from where); informational.
TOP_KEYS = ("format", "description", "recording", "accounts", "domains", "calls")
DOMAIN_KEYS = ("domain_uuid", "sources", "generate", "calls_per_day")
#: How many problems of a file are listed, at most (the rest are counted).
MAX_PROBLEMS = 20


@dataclass(frozen=True)
class DomainSpec:
    """A tenant: its outbound numbers and whether (and how much) traffic is generated for it."""

    domain_uuid: str
    sources: tuple[str, ...] = ()
    generate: bool = True
    calls_per_day: int | None = None


@dataclass(frozen=True)
class Fixtures:
    """The content of a fixture file."""

    accounts: tuple[Account, ...]
    domains: tuple[DomainSpec, ...]
    calls: tuple[tuple[str, Call], ...] = field(default=())
    #: The time zone a recording's host read its windows in (`recording.timezone`, written by
    #: `mockpbx record`), if the file says: the recorded totals hold for windows read in it.
    recorded_timezone: str | None = None

    def domain_specs(self) -> list[DomainSpec]:
        """Every domain with an account or a spec; domains without a spec get the defaults."""
        specs = {d.domain_uuid: d for d in self.domains}
        for account in self.accounts:
            specs.setdefault(account.domain_uuid, DomainSpec(account.domain_uuid))
        return list(specs.values())


class _Problems:
    """The problems of one file, each as `file: record: message`; raised together at the end."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.lines: list[str] = []

    def add(self, where: str, message: str) -> None:
        """Note one problem of the record `where`."""
        self.lines.append(f"{self.path}: {where}: {message}")

    @contextmanager
    def record(self, where: str, record: object, known: Sequence[str]) -> Iterator[None]:
        """Check the keys of `record`, then note (rather than raise) what the block rejects."""
        for message in unknown_keys(record, known):
            self.add(where, message)
        try:
            yield
        except (InvalidRequestError, ValueError) as error:
            self.add(where, error.message if isinstance(error, InvalidRequestError) else str(error))

    def raise_if_any(self) -> None:
        """One DataError listing up to MAX_PROBLEMS problems, one a line, and how many more."""
        if not self.lines:
            return
        shown = self.lines[:MAX_PROBLEMS]
        if len(self.lines) > MAX_PROBLEMS:
            shown.append(f"{self.path}: and {len(self.lines) - MAX_PROBLEMS} more problems "
                         f"({len(self.lines)} in all)")
        raise DataError("\n".join(shown))


def _list(document: Mapping[str, object], key: str, problems: _Problems) -> Sequence[object]:
    value = document.get(key, [])
    if not isinstance(value, list):
        problems.add(key, "must be a list")
        return []
    return value


def _domain(record: object) -> DomainSpec:
    if not isinstance(record, Mapping):
        raise ValueError("a domain must be a JSON object")
    uuid, sources = record.get("domain_uuid"), record.get("sources", [])
    generate, per_day = record.get("generate", True), record.get("calls_per_day")
    if not isinstance(uuid, str) or not uuid:
        raise ValueError("domain_uuid must be a non-empty string")
    if not isinstance(sources, list) or not all(isinstance(s, str) and s for s in sources):
        raise ValueError("sources must be a list of non-empty strings")
    if not isinstance(generate, bool):
        raise ValueError("generate must be true or false")
    if per_day is not None and (isinstance(per_day, bool) or not isinstance(per_day, int) or per_day < 0):
        raise ValueError("calls_per_day must be a non-negative integer")
    return DomainSpec(uuid, tuple(sources), generate, per_day)


def parse_fixtures(document: object, path: Path) -> Fixtures:
    """Validate a decoded fixture document.

    Every problem is reported at once (up to MAX_PROBLEMS), one a line, as `file: record: problem`,
    e.g. `my.json: calls[3]: unknown key 'duraton' (did you mean 'duration'?)`.
    """
    if not isinstance(document, dict):
        raise DataError(f"{path}: the file must hold a JSON object with accounts, domains and calls")
    if document.get("format", FORMAT) != FORMAT:
        raise DataError(f"{path}: format: expected {FORMAT!r}, got {document.get('format')!r}")
    problems = _Problems(path)
    for message in unknown_keys(document, TOP_KEYS):
        problems.add("(top level)", message)
    book = AccountBook()
    known: set[str] = set()  # domains of accounts, even of rejected ones: no knock-on errors for their calls
    for index, record in enumerate(_list(document, "accounts", problems)):
        if isinstance(record, Mapping) and isinstance(record.get("domain_uuid"), str):
            known.add(record["domain_uuid"])
        with problems.record(f"accounts[{index}]", record, ACCOUNT_KEYS):
            book.add(account_from_record(record))
    domains: list[DomainSpec] = []
    for index, record in enumerate(_list(document, "domains", problems)):
        with problems.record(f"domains[{index}]", record, DOMAIN_KEYS):
            spec = _domain(record)
            if any(d.domain_uuid == spec.domain_uuid for d in domains):
                raise ValueError(f"domain {spec.domain_uuid} is listed twice")
            domains.append(spec)
    known |= {d.domain_uuid for d in domains}
    calls: list[tuple[str, Call]] = []
    for index, record in enumerate(_list(document, "calls", problems)):
        with problems.record(f"calls[{index}]", record, CALL_KEYS):
            domain = record.get("domain_uuid") if isinstance(record, Mapping) else None
            if not isinstance(domain, str) or domain not in known:
                raise ValueError(f"domain_uuid must name a domain of an account or of domains, got {domain!r}")
            calls.append((domain, call_from_record(record)))
    problems.raise_if_any()
    recording = document.get("recording")
    zone = recording.get("timezone") if isinstance(recording, dict) else None
    return Fixtures(tuple(book), tuple(domains), tuple(calls), zone if isinstance(zone, str) else None)


def load_fixtures(path: Path) -> Fixtures:
    """Read and validate a fixture file."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise DataError(f"{path}: cannot read the fixture file: {error.strerror or error}") from None
    except UnicodeDecodeError:
        raise DataError(f"{path}: the fixture file is not UTF-8 text") from None
    try:
        document = loads_strict(text)
    except json.JSONDecodeError as error:
        raise DataError(f"{path}: not valid JSON at line {error.lineno} column {error.colno}: {error.msg}") from None
    except ValueError as error:  # NaN or Infinity
        raise DataError(f"{path}: not valid JSON: {error}") from None
    except RecursionError:
        raise DataError(f"{path}: not valid JSON for mockpbx: arrays or objects nested too deeply") from None
    if not utf8_encodable(document):
        raise DataError(f"{path}: not valid JSON: it holds {LONE_SURROGATE}")
    return parse_fixtures(document, path)


def dump_fixtures(fixtures: Fixtures, generated: Mapping[str, Sequence[Call]]) -> dict[str, object]:
    """A fixture document holding `fixtures` plus `generated` calls, with generation turned off
    so that loading it serves exactly these calls."""
    from mockpbx.domain.calls import rfc3339

    def call_record(domain: str, call: Call) -> dict[str, object]:
        return {"domain_uuid": domain, "source": call.source, "destination": call.destination,
                "start_time": rfc3339(call.start_time), "end_time": rfc3339(call.end_time),
                "duration": call.duration, "amount": call.amount}

    accounts = [{"login": a.login, "password": a.password, **{k: v for k, v in a.to_json().items()
                                                             if k != "user_enabled"}} for a in fixtures.accounts]
    domains = [{"domain_uuid": d.domain_uuid, "sources": list(d.sources), "generate": False}
               for d in fixtures.domain_specs()]
    calls = [call_record(d, c) for d, c in fixtures.calls]
    calls += [call_record(d, c) for d, domain_calls in generated.items() for c in domain_calls]
    return {"format": FORMAT, "accounts": accounts, "domains": domains, "calls": calls}
