"""Many threads at once on the control API (clock, faults, accounts, calls, reset, journal reads)
and the three endpoints, under every server the project ships: no 5xx, no deadlock (every thread
ends within a bound), and a consistent end state."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable

import pytest
import requests

from mockpbx.backend import build_backend
from mockpbx.clock import ControllableClock
from mockpbx.control.state import MemoryStore, Mutation
from mockpbx.settings import Settings
from tests.servers import KINDS, running

THREADS, ROUNDS = 6, 12
JOIN_SECONDS = 60
DEMO = {"username": "foo@test.tel4vn.com", "password": "foo123"}
API_KEY = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeee"
WINDOW = {"start_date": "2024-01-01 00:00:00", "end_date": "2024-01-31 00:00:00"}


class Load:
    """Runs `work(thread_index, session)` in THREADS threads; collects statuses and errors."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.statuses: Counter[int] = Counter()
        self.errors: list[str] = []
        self.api_requests = 0
        self._lock = threading.Lock()

    def send(self, session: requests.Session, method: str, path: str, **kwargs: object) -> requests.Response:
        """One request; counts API (journaled) requests; any 5xx is an error."""
        response = session.request(method, self.url + path, timeout=30, **kwargs)  # type: ignore[arg-type]
        with self._lock:
            self.statuses[response.status_code] += 1
            if not path.startswith("/_mock"):
                self.api_requests += 1
            if response.status_code >= 500 or response.headers.get("Content-Type") != "application/json":
                self.errors.append(f"{method} {path}: {response.status_code} {response.text[:200]}")
        return response

    def run(self, work: Callable[[int, requests.Session], None]) -> None:
        """Run the threads; every one must end within JOIN_SECONDS (no deadlock)."""
        def body(index: int) -> None:
            try:
                session = requests.Session()
                session.headers["Connection"] = "close"  # a connection per request, spread over the workers
                work(index, session)
            except Exception as error:  # noqa: BLE001 - reported below, with the thread
                with self._lock:
                    self.errors.append(f"thread {index}: {error!r}")
        threads = [threading.Thread(target=body, args=(i,), daemon=True) for i in range(THREADS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=JOIN_SECONDS)
        assert not any(t.is_alive() for t in threads), "threads still running: a deadlock or a stuck server"
        assert self.errors == []


def _api(load: Load, session: requests.Session, api_key: str = API_KEY) -> str:
    load.send(session, "POST", "/v1/auth", json=DEMO)
    token = load.send(session, "POST", "/v1/auth/token", json={"api_key": api_key}).json()["data"]["token"]
    load.send(session, "GET", "/v1/call/log", params=WINDOW, headers={"Authorization": f"Bearer {token}"})
    load.send(session, "GET", "/healthz")
    return str(token)


def _chaos(load: Load) -> Callable[[int, requests.Session], None]:
    """Every control operation, resets included, beside the endpoints."""
    def work(index: int, session: requests.Session) -> None:
        for round_ in range(ROUNDS):
            _api(load, session)
            step = (index + round_) % 6
            if step == 0:
                load.send(session, "POST", "/_mock/reset", json={})
            elif step == 1:
                load.send(session, "POST", "/_mock/clock", json={"advance_seconds": 1})
                load.send(session, "GET", "/_mock/clock")
            elif step == 2:
                load.send(session, "POST", "/_mock/faults", json={"path": "/healthz", "status": 429, "times": 2})
                load.send(session, "GET", "/_mock/faults")
            elif step == 3:
                load.send(session, "POST", "/_mock/accounts", json={"login": f"c{index}-{round_}@chaos.vn",
                                                                     "password": "pw"})
            elif step == 4:
                load.send(session, "POST", "/_mock/calls", json={"username": "foo@test.tel4vn.com", "calls": [
                    {"source": "0281", "destination": "0971234567", "start_time": "2024-01-02T03:00:00Z",
                     "duration": 5}]})
            else:
                load.send(session, "GET", "/_mock/requests")
                load.send(session, "DELETE", "/_mock/faults")
    return work


def _growth(load: Load, added: list[tuple[str, str]]) -> Callable[[int, requests.Session], None]:
    """Accounts and calls added while the endpoints and journal reads run; no resets."""
    def work(index: int, session: requests.Session) -> None:
        for round_ in range(ROUNDS):
            login = f"g{index}-{round_}@growth.vn"
            account = load.send(session, "POST", "/_mock/accounts", json={"login": login, "password": f"pw{round_}",
                                                                          "domain_uuid": "stress-domain"})
            added.append((login, account.json()["data"]["api_key"]))
            load.send(session, "POST", "/_mock/calls", json={"domain_uuid": "stress-domain", "calls": [
                {"source": "0281", "destination": "0971234567", "start_time": f"2024-01-{1 + round_:02d}T0{index}:00:00Z",
                 "duration": 5}]})
            _api(load, session)
            load.send(session, "POST", "/_mock/clock", json={"advance_seconds": 1})
            load.send(session, "GET", "/_mock/requests", params={"path": "/v1/*"})
    return work


@pytest.mark.parametrize("kind", KINDS)
def test_shared_state_holds_under_concurrent_control_and_api_traffic(kind: str) -> None:
    with running(kind, "--days", "2", "--calls-per-day", "50") as url:
        chaos = Load(url)
        chaos.run(_chaos(chaos))
        assert chaos.statuses[200] > 0

        control = requests.Session()
        control.headers["Connection"] = "close"
        control.post(url + "/_mock/reset", json={}, timeout=10)
        load, added = Load(url), []
        load.run(_growth(load, added))

        assert len(added) == THREADS * ROUNDS
        for login, _ in added:  # every added account logs in, on any worker
            assert control.post(url + "/v1/auth", json={"username": login, "password": f"pw{login.split('-')[1].split('@')[0]}"},
                                timeout=10, headers={"Connection": "close"}).status_code == 200
        token = control.post(url + "/v1/auth/token", json={"api_key": added[0][1]}, timeout=10).json()["data"]["token"]
        page = control.get(url + "/v1/call/log", params=WINDOW, timeout=10,
                           headers={"Authorization": f"Bearer {token}"}).json()
        assert page["total"] == THREADS * ROUNDS  # every added call, once
        journal = control.get(url + "/_mock/requests", timeout=10).json()
        assert journal["total"] == load.api_requests + 1 + len(added) + 1  # + the logins and the token above


class _Interleaving(MemoryStore):
    """Forces the interleaving of the old lock-order inversion: a request thread in `sync` (holding
    the backend lock) reaches the store while a control thread is inside `record` (holding the
    store lock) with a mutation to apply. Each waits for the other a bounded time."""

    def __init__(self, clock: ControllableClock) -> None:
        super().__init__(clock)
        self.syncing, self.recording = threading.Event(), threading.Event()

    def mutations_since(self, generation: int, applied: int) -> tuple[int, list[Mutation]]:
        if threading.current_thread().name == "request":
            self.syncing.set()
            self.recording.wait(timeout=0.5)
        return super().mutations_since(generation, applied)

    def record(self, validate: Callable[[], Mutation]) -> Mutation:
        with self._lock:
            if threading.current_thread().name == "control":
                self.recording.set()
                self.syncing.wait(timeout=0.5)
            return super().record(validate)


def test_sync_and_a_control_change_cannot_deadlock() -> None:
    clock = ControllableClock(start=1_795_755_600, frozen=True)
    store = _Interleaving(clock)
    backend = build_backend(Settings.load({}, days=0), clock=clock, store=store)
    store.record(lambda: {"type": "noop"})  # a mutation not yet applied: both threads will sync
    threads = [threading.Thread(target=backend.sync, name="request", daemon=True),
               threading.Thread(target=backend.add_account, args=({"login": "x@y.vn", "password": "p"},),
                                name="control", daemon=True)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=20)
    assert not any(t.is_alive() for t in threads), "deadlock: backend lock and store lock taken in both orders"
    assert backend.sync().accounts.authenticate("x@y.vn", "p").login == "x@y.vn"
