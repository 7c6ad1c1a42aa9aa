"""A small PBX billing client, as a team integrating with TEL4VN would write it.

It is the code under test in the examples: it caches its token and renews it when the
server says it expired, retries on 429/503 honouring Retry-After, and pages through a
window of calls.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import requests


class PbxError(RuntimeError):
    """The PBX answered with an error we cannot recover from."""


class PbxClient:
    """Reads the call log of one account."""

    def __init__(self, base_url: str, api_key: str, *, max_retries: int = 3,
                 sleep: Callable[[float], None] = time.sleep, page_size: int = 100) -> None:
        self.base_url = base_url.rstrip("/")
        self.api_key = api_key
        self.max_retries = max_retries
        self.sleep = sleep
        self.page_size = page_size
        self.session = requests.Session()
        self._token: str | None = None

    def _send(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        for attempt in range(self.max_retries + 1):
            response = self.session.request(method, self.base_url + path, timeout=10, **kwargs)
            if response.status_code not in (429, 503) or attempt == self.max_retries:
                return response
            self.sleep(float(response.headers.get("Retry-After", "1")))
        raise AssertionError("unreachable")

    def token(self) -> str:
        """The cached bearer token, fetched on first use."""
        if self._token is None:
            response = self._send("POST", "/v1/auth/token", json={"api_key": self.api_key})
            if response.status_code != 200:
                raise PbxError(f"token: {response.status_code} {response.text}")
            self._token = response.json()["data"]["token"]
        return self._token

    def page(self, start: str, end: str, *, offset: int = 0, source: str | None = None) -> dict[str, Any]:
        """One page of the call log; renews the token once if it expired."""
        params = {"start_date": start, "end_date": end, "limit": self.page_size, "offset": offset}
        if source:
            params["source"] = source
        for renewed in (False, True):
            response = self._send("GET", "/v1/call/log", params=params,
                                  headers={"Authorization": f"Bearer {self.token()}"})
            if response.status_code == 401 and not renewed:
                self._token = None  # expired or revoked: get a new one and try again
                continue
            if response.status_code != 200:
                raise PbxError(f"call log: {response.status_code} {response.text}")
            return response.json()  # type: ignore[no-any-return]
        raise PbxError("call log: still unauthorised after renewing the token")

    def calls(self, start: str, end: str, *, source: str | None = None) -> Iterator[dict[str, Any]]:
        """Every call in the window, newest first, page after page."""
        offset = 0
        while True:
            page = self.page(start, end, offset=offset, source=source)
            yield from page["data"]
            offset += len(page["data"])
            if not page["data"] or offset >= page["total"]:
                return
