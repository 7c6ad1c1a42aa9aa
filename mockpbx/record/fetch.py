"""Fetches a span of the call log through the verify client: 31-day windows, paged with limit/offset.

Every request goes through `BudgetedClient`, so the budget, the rate limit, Retry-After and the
early stop after a burst of 5xx hold; a 429, a 5xx or a timeout is retried until the client stops,
and a 401 (the token expired during a long recording) is answered by one fresh token.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import quote, urlencode

from mockpbx.domain.window import LIMIT_MAX, MAX_RANGE
from mockpbx.verify.client import BURST, BudgetedClient, ClientStopped, Exchange, describe_target
from mockpbx.verify.probes import FORMAT, describe_answer

LOGIN, TOKEN, CALL_LOG = "/v1/auth", "/v1/auth/token", "/v1/call/log"
#: Times a window is paged again from the start when its total changes under us.
MAX_RESTARTS = 2
SECOND = timedelta(seconds=1)


class RecordError(Exception):
    """The host answered something that cannot be recorded; the message says what (no secrets)."""


@dataclass(frozen=True)
class Window:
    """One API window: naive wall-clock times in the host's zone, both ends included."""

    start: datetime
    end: datetime

    def query(self, **extra: object) -> dict[str, object]:
        """The call-log query of this window."""
        return {"start_date": self.start.strftime(FORMAT), "end_date": self.end.strftime(FORMAT), **extra}


@dataclass
class WindowRecords:
    """What the host listed for one window, newest first, as it sent the records."""

    window: Window
    total: int
    records: list[object]


def split_windows(start: datetime, end: datetime) -> list[Window]:
    """Windows of 31 days less a second from `start`, the last one ending at `end` (31 days at most,
    as the API allows): both ends are inclusive, so each starts on the second after the one before ends."""
    count = max(1, -(-(end - start) // MAX_RANGE))
    return [Window(start + k * MAX_RANGE, end if k == count - 1 else start + (k + 1) * MAX_RANGE - SECOND)
            for k in range(count)]


def _data(exchange: Exchange) -> dict[str, object]:
    body = exchange.json()
    data = body.get("data") if isinstance(body, dict) else None
    return data if isinstance(data, dict) else {}


class CallLogReader:
    """Logs in and pages through windows of the call log."""

    def __init__(self, client: BudgetedClient, username: str | None, password: str | None, api_key: str | None,
                 progress: Callable[[str], None]) -> None:
        self.client, self.progress = client, progress
        self._username, self._password, self._api_key = username, password, api_key
        self._token = ""
        #: The token response without its secrets (its fields tell the profile).
        self.token_fields: dict[str, object] = {}

    def _send(self, method: str, target: str, headers: dict[str, str], body: bytes, origin: str) -> Exchange:
        """Send, retrying 429, 5xx and network errors until an answer or the client stops (a burst of them).

        At the login, a host that cannot be reached is reported at once: it was never up.
        """
        for _ in range(BURST):
            exchange = self.client.send(method, target, headers=headers, body=body, origin=origin,
                                        retry_rate_limited=True)
            if exchange.status is not None and exchange.status < 500 and exchange.status != 429:
                return exchange
            if exchange.error and not self._token:
                raise RecordError(f"cannot reach {describe_target(self.client.base_url)}: {exchange.error}")
        if self.client.stop_reason:
            raise ClientStopped(self.client.stop_reason)
        return exchange

    def _post(self, path: str, payload: dict[str, str], origin: str) -> Exchange:
        return self._send("POST", path, {"Content-Type": "application/json", "Accept": "application/json"},
                          json.dumps(payload).encode(), origin)

    def authenticate(self) -> None:
        """Log in (unless an api_key was given) and get a token; raises RecordError if refused."""
        api_key = self._api_key
        if api_key is None:
            exchange = self._post(LOGIN, {"username": self._username or "", "password": self._password or ""}, "login")
            found = _data(exchange).get("api_key")
            if exchange.status != 200 or not isinstance(found, str):
                raise RecordError(f"login refused: POST {LOGIN} answered {describe_answer(exchange)}")
            api_key = found
        exchange = self._post(TOKEN, {"api_key": api_key}, "token")
        data = _data(exchange)
        if exchange.status != 200 or not isinstance(data.get("token"), str):
            raise RecordError(f"token refused: POST {TOKEN} answered {describe_answer(exchange)}")
        self._token = str(data["token"])
        self.token_fields = {k: ("" if k in ("token", "refresh_token") else v) for k, v in data.items()}

    def _page(self, window: Window, offset: int) -> dict[str, object]:
        target = f"{CALL_LOG}?{urlencode(window.query(limit=LIMIT_MAX, offset=offset), quote_via=quote)}"
        for fresh_token in (False, True):
            headers = {"Accept": "application/json", "Authorization": f"Bearer {self._token}"}
            exchange = self._send("GET", target, headers, b"", "record")
            if exchange.status != 401 or fresh_token:
                break
            self.progress("the token was refused (expired?): getting a new one")
            self.authenticate()
        body = exchange.json()
        if (exchange.status != 200 or not isinstance(body, dict) or not isinstance(body.get("data"), list)
                or isinstance(body.get("total"), bool) or not isinstance(body.get("total"), int)):
            raise RecordError(f"expected a page of calls for {window.start} .. {window.end} at offset {offset}, "
                              f"got {describe_answer(exchange)}")
        return body

    def read_window(self, window: Window, label: str) -> WindowRecords:
        """Every call of one window, newest first; raises BudgetExhausted or ClientStopped from the client."""
        for _ in range(MAX_RESTARTS + 1):
            records, total = self._pages(window, label)
            if records is not None:
                return WindowRecords(window, total, records)
            self.progress(f"{label}: the total changed while paging (new calls?): paging it again")
        raise RecordError(f"the total of {window.start} .. {window.end} kept changing while paging")

    def _pages(self, window: Window, label: str) -> tuple[list[object] | None, int]:
        """The window's records, or None if its total changed between pages."""
        records: list[object] = []
        total: int | None = None
        previous: list[object] = []
        for body in self._walk(window):
            data = body["data"] if isinstance(body["data"], list) else []
            page_total = int(str(body["total"]))
            if total is not None and page_total != total:
                return None, page_total
            if data and data == previous:  # a fixture file of it would hold each call twice or more
                raise RecordError(f"{window.start} .. {window.end}: the page at offset {len(records)} holds the same "
                                  "calls as the one before it: the host seems to ignore offset; nothing recorded")
            total, previous = page_total, data
            records += data
            self.progress(f"{label} {window.start} .. {window.end}: {len(records)} of {total} calls")
        if len(records) != (total or 0):  # "every window has the recorded total" would not hold
            raise RecordError(f"{window.start} .. {window.end}: the host's pages held {len(records)} calls but its "
                              f"total says {total}: its paging does not add up; nothing recorded")
        return records, total or 0

    def _walk(self, window: Window) -> Iterator[dict[str, object]]:
        """Pages from offset 0, each starting where the last ended, until total or an empty page."""
        offset = 0
        while True:
            body = self._page(window, offset)
            yield body
            data = body["data"]
            offset += len(data) if isinstance(data, list) else 0
            if not data or offset >= int(str(body["total"])):
                return
