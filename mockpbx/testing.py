"""A Python API for tests: run a real mockpbx on loopback, or drive one that runs elsewhere.

Example:
    >>> from mockpbx.testing import MockPBX
    >>> with MockPBX(days=1, calls_per_day=10) as pbx:
    ...     token = pbx.token()
    ...     _ = pbx.advance_clock(3600)   # the token has now expired
    ...     pbx.call_log("2021-06-01 00:00:00", "2021-06-02 00:00:00", token=token).status
    401
"""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

DEMO_LOGIN, DEMO_PASSWORD = "foo@test.tel4vn.com", "foo123"
DEMO_API_KEY = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeee"
DEMO_DOMAIN = "dddddddd-1111-2222-3333-eeeeeeee"
#: Where a server started by MockPBX differs from `mockpbx serve` (listed in the README); it
#: also ignores MOCKPBX_* variables and runs Werkzeug's threaded server in this process.
LOCAL_SERVER: dict[str, Any] = {"host": "127.0.0.1", "port": 0, "access_log": False}


@dataclass(frozen=True)
class Reply:
    """An HTTP answer: status, headers and the decoded JSON body (None if not JSON)."""

    status: int
    headers: Mapping[str, str]
    body: Any


class MockPBX:
    """A mockpbx server for tests: started here in a thread, or reached at `url`.

    Settings are those of `mockpbx serve` (e.g. `seed=1, days=30, token_lifetime=60`,
    `profile="revised"` for the vendor's revised API shape).
    """

    def __init__(self, url: str | None = None, *, control_token: str | None = None, **settings: Any) -> None:
        self._given_url = url.rstrip("/") if url else None
        self._settings = settings
        self._control_token = control_token or settings.get("control_token")
        self._server: Any = None
        self._thread: threading.Thread | None = None
        self.url = self._given_url or ""

    # -- life cycle --------------------------------------------------------------------------
    def start(self) -> MockPBX:
        """Start the server (on 127.0.0.1, a free port) unless a URL was given."""
        if self._given_url is None and self._server is None:
            from mockpbx.backend import build_backend
            from mockpbx.server import STOP_POLL_SECONDS, bind
            from mockpbx.settings import Settings
            token = {"control_token": self._control_token} if self._control_token else {}
            settings = Settings.load({}, **{**LOCAL_SERVER, **self._settings, **token})
            self._server = bind(settings, build_backend(settings), quiet=True)
            self.url = f"http://127.0.0.1:{self._server.server_port}"
            self._thread = threading.Thread(target=self._server.serve_forever, args=(STOP_POLL_SECONDS,),
                                            name="mockpbx", daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        """Stop a server started here (its `url` is then empty: a request raises RuntimeError)."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
            self.url = ""

    def __enter__(self) -> MockPBX:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- HTTP --------------------------------------------------------------------------------
    def request(self, method: str, path: str, *, json_body: Any = None, query: Mapping[str, Any] | None = None,
                headers: Mapping[str, str] | None = None, timeout: float = 10) -> Reply:
        """Send one request to the server and return its answer (any status). Aware datetimes in
        `json_body` are sent as RFC 3339 text."""
        if not self.url:
            raise RuntimeError("this MockPBX is not running: start() it (or use it in a `with` block) first"
                               if self._given_url is None else "this MockPBX has no URL")
        url = self.url + path + ("?" + urllib.parse.urlencode(query) if query else "")
        data = None if json_body is None else json.dumps(json_body, default=_json_value).encode()
        all_headers = {**({"Content-Type": "application/json"} if data is not None else {}), **(headers or {})}
        request = urllib.request.Request(url, data=data, method=method, headers=all_headers)
        try:
            with _NO_REDIRECTS.open(request, timeout=timeout) as response:
                return Reply(response.status, dict(response.headers), _decode(response.read()))
        except urllib.error.HTTPError as error:
            return Reply(error.code, dict(error.headers), _decode(error.read()))

    def _control(self, method: str, path: str, body: Any = None, query: Mapping[str, Any] | None = None) -> Any:
        headers = {"Authorization": f"Bearer {self._control_token}"} if self._control_token else {}
        reply = self.request(method, "/_mock" + path, json_body=body, query=query, headers=headers)
        if reply.status >= 300:  # (a redirect is not followed: see _Unredirected)
            raise MockControlError(f"{method} /_mock{path} answered {reply.status}: {reply.body}")
        return reply.body

    # -- the API -----------------------------------------------------------------------------
    @property
    def account(self) -> dict[str, str]:
        """The demo account's credentials."""
        return {"username": DEMO_LOGIN, "password": DEMO_PASSWORD, "api_key": DEMO_API_KEY,
                "domain_uuid": DEMO_DOMAIN}

    def login(self, username: str = DEMO_LOGIN, password: str = DEMO_PASSWORD) -> dict[str, str]:
        """POST /v1/auth; returns the account data."""
        reply = self.request("POST", "/v1/auth", json_body={"username": username, "password": password})
        return _data(reply, "login", "api_key")

    def token(self, api_key: str = DEMO_API_KEY) -> str:
        """POST /v1/auth/token; returns the bearer token."""
        reply = self.request("POST", "/v1/auth/token", json_body={"api_key": api_key})
        return str(_data(reply, "token", "token")["token"])

    def call_log(self, start_date: str, end_date: str, *, token: str | None = None, **query: Any) -> Reply:
        """GET /v1/call/log with a token (a fresh demo token by default)."""
        token = token or self.token()
        return self.request("GET", "/v1/call/log", query={"start_date": start_date, "end_date": end_date, **query},
                            headers={"Authorization": f"Bearer {token}"})

    # -- controls ----------------------------------------------------------------------------
    def reset(self, *, coverage: bool = False) -> None:
        """Back to the start-up state; the API-coverage counts too if `coverage`."""
        self._control("POST", "/reset", {"coverage": True} if coverage else {})

    def coverage(self) -> dict[str, Any]:
        """The API coverage so far: `{"outcomes": [...], "exercised": N, "total": M}`."""
        return self._control("GET", "/coverage")  # type: ignore[no-any-return]

    def clear_coverage(self) -> None:
        """Forget the API-coverage counts."""
        self._control("DELETE", "/coverage")

    def now(self) -> datetime:
        """The mock's clock."""
        return datetime.fromisoformat(self._control("GET", "/clock")["now"].replace("Z", "+00:00"))

    def advance_clock(self, seconds: float) -> datetime:
        """Move the mock's clock forward (negative: back)."""
        return _when(self._control("POST", "/clock", {"advance_seconds": seconds}))

    def set_clock(self, when: datetime | str, *, frozen: bool | None = None) -> datetime:
        """Jump to a time (an aware datetime or RFC 3339 text), optionally freezing the clock."""
        if not isinstance(when, (datetime, str)) or (isinstance(when, datetime) and when.tzinfo is None):
            raise TypeError(f"set_clock takes an aware datetime or RFC 3339 text, got {when!r}")
        body: dict[str, Any] = {"now": when if isinstance(when, str) else _json_value(when)}
        if frozen is not None:
            body["frozen"] = frozen
        return _when(self._control("POST", "/clock", body))

    def freeze_clock(self, frozen: bool = True) -> datetime:
        """Stop (or restart) the mock's clock."""
        return _when(self._control("POST", "/clock", {"frozen": frozen}))

    def add_account(self, login: str, password: str, **fields: str) -> dict[str, str]:
        """Add an account (domain_uuid, level, api_key ... optional); returns it with its api_key."""
        return self._control("POST", "/accounts", {"login": login, "password": password, **fields})["data"]  # type: ignore[no-any-return]

    def add_calls(self, calls: Sequence[Mapping[str, Any]], *, domain_uuid: str | None = None,
                  username: str | None = None) -> int:
        """Add calls to a domain (the demo domain by default); returns how many were added."""
        # Both or an empty one go to the server as given, which names the mistake (they were dropped).
        target = {"domain_uuid": DEMO_DOMAIN} if domain_uuid is None and username is None else \
            {k: v for k, v in (("domain_uuid", domain_uuid), ("username", username)) if v is not None}
        return int(self._control("POST", "/calls", {**target, "calls": list(calls)})["added"])

    def add_fault(self, method: str, path: str, **rule: Any) -> dict[str, Any]:
        """Add a fault rule (status, body, headers, delay_ms, times, kind)."""
        return self._control("POST", "/faults", {"method": method, "path": path, **rule})["data"]  # type: ignore[no-any-return]

    def clear_faults(self) -> None:
        """Remove every fault rule."""
        self._control("DELETE", "/faults")

    def requests(self, method: str | None = None, path: str | None = None) -> list[dict[str, Any]]:
        """The journal (oldest first), optionally filtered."""
        query = {k: v for k, v in (("method", method), ("path", path)) if v}
        return self._control("GET", "/requests", query=query)["data"]  # type: ignore[no-any-return]

    def clear_requests(self) -> None:
        """Empty the journal."""
        self._control("DELETE", "/requests")

    def assert_requested(self, method: str, path: str, times: int | None = None) -> list[dict[str, Any]]:
        """Assert that `method path` (or a `prefix*` of paths, as `requests()` reads it) was requested
        (exactly `times` times, if given); returns the entries.

        The failure message lists the similar requests that were seen.
        """
        if times is not None and (isinstance(times, bool) or not isinstance(times, int) or times < 0):
            raise ValueError(f"times must be a count from 0 up, got {times!r}")
        from mockpbx.control.state import filter_requests
        seen = self.requests()
        matching = filter_requests(seen, {"method": method, "path": path})  # as `requests()` filters
        if (times is None and matching) or (times is not None and len(matching) == times):
            return matching
        similar = [e for e in seen if e in matching or e["path"] == path or e["method"] == method.upper()] or seen
        lines = "\n".join(f"  {e['method']} {e['path']}{_query_text(e)} -> {e['status']}" for e in similar[-20:])
        wanted = "at least once" if times is None else f"{times} time(s)"
        raise AssertionError(f"expected {method.upper()} {path} {wanted}, saw it {len(matching)} time(s). "
                             f"Similar requests seen:\n{lines or '  (none)'}")


class MockControlError(RuntimeError):
    """A control or helper request was refused; the message has the status and the error."""


class _Unredirected(urllib.request.HTTPRedirectHandler):
    """A redirect is answered as it is, never followed: mockpbx never redirects, so one means
    another server answers, and urllib would send it the control token too."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_NO_REDIRECTS = urllib.request.build_opener(_Unredirected)


def _json_value(value: object) -> str:
    """An aware datetime as RFC 3339 text with whole seconds (`Z` for UTC), for a request body."""
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.replace(microsecond=0).isoformat().replace("+00:00", "Z")
    raise TypeError(f"cannot send {value!r} as JSON" + (" (a datetime needs a time zone)"
                                                         if isinstance(value, datetime) else ""))


def _data(reply: Reply, what: str, field: str) -> dict[str, Any]:
    """The `data` object of a 200 answer that holds `field`, else MockControlError saying what came
    (a fault may answer 200 with another body)."""
    data = reply.body.get("data") if isinstance(reply.body, dict) else None
    if reply.status != 200 or not isinstance(data, dict) or field not in data:
        raise MockControlError(f"{what} answered {reply.status} without data.{field}: {reply.body!r}"[:500])
    return data


def _decode(raw: bytes) -> Any:
    try:
        return json.loads(raw) if raw else None
    except ValueError:
        return None


def _when(clock: Mapping[str, Any]) -> datetime:
    return datetime.fromisoformat(str(clock["now"]).replace("Z", "+00:00"))


def _query_text(entry: Mapping[str, Any]) -> str:
    query = entry.get("query") or {}
    return "?" + urllib.parse.urlencode(query, doseq=True) if query else ""
