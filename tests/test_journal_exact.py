"""The journal is exact on every server: an entry is in before the client sees the answer or
the drop, in order; reset and DELETE /_mock/requests leave it empty even with requests in flight."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
import requests

from tests.servers import KINDS, running

TRIES = 25


@pytest.fixture(scope="module", params=KINDS)
def url(request: pytest.FixtureRequest) -> Iterator[str]:
    """One server of each kind for the module; each test starts from a reset."""
    with running(request.param, "--days", "1") as base:
        yield base


def _session() -> requests.Session:
    """A client that opens a new connection per request: a reused keep-alive connection that the
    server has just closed would fail a request with RemoteDisconnected (nothing to do with the journal)."""
    session = requests.Session()
    session.headers["Connection"] = "close"
    return session


def _journal(session: requests.Session, url: str) -> list[tuple[str, int | None]]:
    return [(e["path"], e["status"]) for e in session.get(url + "/_mock/requests", timeout=10).json()["data"]]


def test_a_dropped_request_is_journaled_before_the_client_sees_the_drop(url: str) -> None:
    control, client = _session(), _session()
    control.post(url + "/_mock/reset", json={}, timeout=10)
    expected: list[tuple[str, int | None]] = []
    for index in range(TRIES):
        control.post(url + "/_mock/faults", json={"path": "/healthz", "kind": "drop", "times": 1}, timeout=10)
        with pytest.raises(requests.RequestException):
            client.get(url + "/healthz", timeout=10).json()
        expected.append(("/healthz", None))
        assert _journal(control, url) == expected  # there as soon as the client saw the drop
        assert client.get(url + f"/after/{index}", timeout=10).status_code == 404
        expected.append((f"/after/{index}", 404))
    assert _journal(control, url) == expected


@pytest.mark.parametrize("clear", ["reset", "delete"])
def test_reset_and_clear_leave_the_journal_empty_with_a_request_in_flight(url: str, clear: str) -> None:
    control = _session()
    control.post(url + "/_mock/reset", json={}, timeout=10)
    for _ in range(2):
        control.post(url + "/_mock/faults", json={"path": "/healthz", "kind": "delay", "delay_ms": 500,
                                                  "times": 1}, timeout=10)
        answers: list[int] = []

        def slow_request(answers: list[int] = answers) -> None:
            answers.append(requests.get(url + "/healthz", timeout=20).status_code)
        slow = threading.Thread(target=slow_request)
        slow.start()
        for _ in range(500):  # until the slow request has taken its fault: it is in flight
            if control.get(url + "/_mock/faults", timeout=20).json()["data"] == []:
                break
        if clear == "reset":
            control.post(url + "/_mock/reset", json={}, timeout=20)
        else:
            control.delete(url + "/_mock/requests", timeout=20)
        slow.join(timeout=20)
        assert not slow.is_alive() and answers == [200]
        assert _journal(control, url) == []
