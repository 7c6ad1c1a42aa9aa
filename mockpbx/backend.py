"""Assembles a mock PBX from settings, and keeps it in step with the control state."""

from __future__ import annotations

import threading
import uuid
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field

from mockpbx.clock import ControllableClock
from mockpbx.control.state import ControlStore, MemoryStore, Mutation
from mockpbx.coverage.counting import Coverage
from mockpbx.data.fixtures import Fixtures, load_fixtures
from mockpbx.data.generator import RollingTraffic, TrafficProfile, domain_sources
from mockpbx.data.randomness import RandomSource
from mockpbx.domain.accounts import MAX_ACCOUNTS, Account, AccountBook
from mockpbx.domain.calllog import MAX_EXPLICIT_CALLS, CallLog
from mockpbx.domain.calls import Call
from mockpbx.domain.encoding import CallEncoder, call_encoder
from mockpbx.domain.errors import ConflictError, InvalidRequestError
from mockpbx.domain.records import ACCOUNT_KEYS, CALL_KEYS, account_from_record, call_from_record, refuse_unknown_keys
from mockpbx.domain.service import PbxService
from mockpbx.domain.tokens import TokenIssuer
from mockpbx.resources import default_fixtures_path
from mockpbx.settings import Settings

Traffic = dict[str, RollingTraffic | None]

#: A call's keys through the control API: its domain is the request's (`domain_uuid` or `username`).
_CONTROL_CALL_KEYS = tuple(k for k in CALL_KEYS if k != "domain_uuid")


def call_encoding(settings: Settings) -> CallEncoder:
    """How this mock encodes a call, built once: every table (fixtures, added, generated) uses it,
    in the running profile's shape (its fields and how it prints times in the PBX zone)."""
    return call_encoder(settings.api_profile.call_shaper(settings.zone))


def build_traffic(settings: Settings, fixtures: Fixtures, now: float,
                  encode: CallEncoder | None = None) -> Traffic:
    """Each domain's generated traffic (None where generation is off), generated for `now`."""
    randomness = RandomSource(settings.seed)
    traffic: Traffic = {}
    for spec in fixtures.domain_specs():
        per_day = settings.calls_per_day if spec.calls_per_day is None else spec.calls_per_day
        traffic[spec.domain_uuid] = None
        if spec.generate and settings.days > 0 and per_day > 0:
            sources = spec.sources or tuple(domain_sources(randomness, spec.domain_uuid))
            rolling = RollingTraffic(randomness, spec.domain_uuid, sources, TrafficProfile(per_day),
                                     settings.zone, settings.days, encode)
            rolling.table_covering(now)  # generate now, not on the first request
            traffic[spec.domain_uuid] = rolling
    return traffic


def build_call_log(clock: ControllableClock, fixtures: Fixtures, traffic: Traffic,
                   encode: CallEncoder | None = None) -> CallLog:
    """A call log of the fixtures' explicit calls beside the generated traffic."""
    log = CallLog(clock, encode or call_encoder())
    for domain, rolling in traffic.items():
        log.add_domain(domain, rolling)
    explicit: dict[str, list[Call]] = defaultdict(list)
    for domain, call in fixtures.calls:
        explicit[domain].append(call)
    for domain, calls in explicit.items():
        log.add_calls(domain, calls)
    return log


@dataclass
class Backend:
    """Everything a running mock holds: start-up data, the service, and the control state."""

    settings: Settings
    clock: ControllableClock
    fixtures: Fixtures
    traffic: Traffic
    store: ControlStore
    encode: CallEncoder | None = None
    service: PbxService = field(init=False)
    coverage: Coverage = field(init=False)  # the outcomes of the served contract met by clients
    _tokens: TokenIssuer = field(init=False)
    _seen: tuple[int, int] = field(init=False, default=(0, 0))
    # The backend lock comes before the store's lock (see mockpbx/control/state.py), and is
    # re-entrant: a change validates against the synced service while holding it.
    _lock: threading.RLock = field(init=False, default_factory=threading.RLock)

    def __post_init__(self) -> None:
        self._tokens = TokenIssuer(self.settings.secret, self.settings.token_lifetime, self.clock)
        self.coverage = Coverage.for_contract(self.settings.api_profile.contract(), self.store)
        self._rebuild()

    def data_warnings(self) -> list[str]:
        """What a user starting this mock should know of its data, a line each (on stderr at start-up)."""
        recorded = self.fixtures.recorded_timezone
        if recorded and recorded != self.settings.timezone:
            return [f"mockpbx: {self.settings.fixtures} was recorded from a host that reads windows in {recorded}; "
                    f"this mock reads them in {self.settings.timezone}, so a window's total can differ from the "
                    f"recorded one: start it with --timezone {recorded} to serve them as recorded"]
        return []

    def describe_data(self) -> str:
        """The start-up data in words, e.g. for the banner: where from, what, and what is generated."""
        source = str(self.settings.fixtures) if self.settings.fixtures else "the embedded default fixtures"
        domains = len(self.fixtures.domain_specs())
        generating = sum(1 for rolling in self.traffic.values() if rolling is not None)
        generated = (f"{self.settings.days} days of generated calls in {generating} of {domains} domain(s)"
                     if generating else "no generated calls")
        return (f"{source}: {len(self.fixtures.accounts)} account(s) in {domains} domain(s), "
                f"{len(self.fixtures.calls)} fixture call(s), {generated}")

    def _rebuild(self) -> None:
        self.service = PbxService(AccountBook(self.fixtures.accounts), self._tokens,
                                  build_call_log(self.clock, self.fixtures, self.traffic, self.encode),
                                  self.settings.zone)

    @property
    def synced_version(self) -> tuple[int, int]:
        """The control version this process has applied."""
        return self._seen

    def sync(self, version: tuple[int, int] | None = None) -> PbxService:
        """Apply the control changes this process has not seen yet (at least up to `version`, the
        store's version if the caller has just read it); return the current service."""
        if (self.store.version() if version is None else version) != self._seen:
            with self._lock:  # backend lock, then (inside mutations_since) the store lock
                generation, mutations = self.store.mutations_since(*self._seen)
                applied = self._seen[1]
                if generation != self._seen[0]:
                    self._rebuild()
                    applied = 0
                for mutation in mutations:
                    self._apply(mutation)
                self._seen = (generation, applied + len(mutations))
        return self.service

    def _apply(self, mutation: Mutation) -> None:
        if mutation["type"] == "account":
            self.service.accounts.add(Account(**mutation["account"]))
        elif mutation["type"] == "calls":
            self.service.calls.add_calls(mutation["domain_uuid"], (Call(*c) for c in mutation["calls"]))

    def add_account(self, record: object) -> Account:
        """Validate and add an account (control API); unset ids are generated."""
        def validate() -> Mutation:
            refuse_unknown_keys(record, ACCOUNT_KEYS)
            account = account_from_record(_account_defaults(record, self.store.version()))
            accounts = self.sync().accounts
            if len(accounts) >= MAX_ACCOUNTS:
                raise ConflictError(f"the mock holds {len(accounts)} accounts, the most there can be: reset it "
                                    "(POST /_mock/reset)")
            probe = AccountBook(accounts)
            try:
                probe.add(account)
            except ValueError as error:
                raise ConflictError(str(error)) from None
            return {"type": "account", "account": {**account.__dict__}}
        with self._lock:  # the global order: backend lock, then the store's (taken by record)
            mutation = self.store.record(validate)
            self.sync()
        return Account(**mutation["account"])

    def accounts_overview(self) -> dict[str, list[dict[str, object]]]:
        """The accounts (without password or api_key) and every domain, for the control API."""
        service = self.sync()
        accounts: list[dict[str, object]] = [
            {"login": a.login, "username": a.username, "user_uuid": a.user_uuid,
             "domain_uuid": a.domain_uuid, "level": a.level} for a in service.accounts]
        domains = list(dict.fromkeys([a.domain_uuid for a in service.accounts] + service.calls.domains()))
        return {"data": accounts, "domains": [
            {"domain_uuid": d, "accounts": sum(a["domain_uuid"] == d for a in accounts),
             "generated_traffic": self.traffic.get(d) is not None} for d in domains]}

    def add_calls(self, record: object) -> tuple[str, int]:
        """Validate and add calls to a domain (control API); returns (domain, how many)."""
        def validate() -> Mutation:
            if not isinstance(record, Mapping):
                raise InvalidRequestError("the request body must be a JSON object")
            refuse_unknown_keys(record, ("domain_uuid", "username", "calls"))
            domain = self._domain_of(record)
            calls = record.get("calls")
            if not isinstance(calls, list) or not calls:
                raise InvalidRequestError("calls must be a non-empty list of calls")
            parsed = []
            for index, call in enumerate(calls):
                try:
                    refuse_unknown_keys(call, _CONTROL_CALL_KEYS)  # (the domain is the request's)
                    parsed.append(call_from_record(call))
                except InvalidRequestError as error:
                    raise InvalidRequestError(f"calls[{index}]: {error.message}") from None
            held = self.sync().calls.explicit_count()
            if held + len(parsed) > MAX_EXPLICIT_CALLS:
                raise ConflictError(f"the mock holds {held} calls from fixtures and the control API and keeps at "
                                    f"most {MAX_EXPLICIT_CALLS}: reset it (POST /_mock/reset), or generate traffic "
                                    "(--calls-per-day) for volume")
            rows = [[c.start_time, c.duration, c.source, c.destination, c.amount] for c in parsed]
            return {"type": "calls", "domain_uuid": domain, "calls": rows}
        with self._lock:  # the global order: backend lock, then the store's (taken by record)
            mutation = self.store.record(validate)
            self.sync()
        return mutation["domain_uuid"], len(mutation["calls"])

    def _domain_of(self, record: Mapping[str, object]) -> str:
        domain, login = record.get("domain_uuid"), record.get("username")
        if ("domain_uuid" in record) == ("username" in record):
            raise InvalidRequestError("give exactly one of domain_uuid and username")
        service = self.sync()
        if "username" in record:
            account = next((a for a in service.accounts if a.login == login), None)
            if account is None:
                raise InvalidRequestError(f"username: no account logs in as {login!r}")
            return account.domain_uuid
        known = {a.domain_uuid for a in service.accounts} | set(service.calls.domains())
        if not isinstance(domain, str) or domain not in known:
            raise InvalidRequestError("domain_uuid: no account or data in that domain")
        return domain


def _account_defaults(record: object, version: tuple[int, int]) -> object:
    """Fill in a control-API account: ids from a seeded counter, level `user`."""
    if not isinstance(record, Mapping):
        return record
    login = record.get("login")
    seed = f"{version[0]}/{version[1]}/{login}"
    made = {name: str(uuid.uuid5(uuid.NAMESPACE_URL, f"mockpbx/{name}/{seed}"))
            for name in ("user_uuid", "domain_uuid", "api_key")}
    username = login.split("@", 1)[0] if isinstance(login, str) and login else None
    return {**made, "username": username, "level": "user", **record}


def build_backend(settings: Settings, clock: ControllableClock | None = None,
                  store: ControlStore | None = None) -> Backend:
    """A fully loaded mock; raises DataError for a bad fixture file."""
    clock = clock or settings.start_clock()
    fixtures = load_fixtures(settings.fixtures or default_fixtures_path())
    encode = call_encoding(settings)
    traffic = build_traffic(settings, fixtures, clock.now(), encode)
    return Backend(settings, clock, fixtures, traffic,
                   store or MemoryStore(clock, settings.journal_size, settings.journal_bytes), encode)
