"""The only way verify talks to the host: a hard request budget, a rate limit, Retry-After
honoured, an early stop after a burst of 5xx or timeouts, and every exchange recorded."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit

import urllib3
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.response import HTTPResponse

from mockpbx.redaction import Redactor

#: Consecutive 5xx answers or timeouts after which verify leaves the host alone.
BURST = 5
#: Longest Retry-After verify waits for; beyond it, it stops.
MAX_RETRY_AFTER = 30.0
#: Attempts of a request rate-limited with 429 + Retry-After (when retrying is asked for).
RATE_LIMIT_RETRIES = 3
#: How much of a response body the exchange log keeps.
LOGGED_BODY = 64 * 1024
#: The most of one answer read, decoded: a page of 1,000 calls is about 0.2 MiB. A host that sends
#: more (an endless stream, a download, a compression bomb) is cut off there, not read into memory.
MAX_ANSWER_BYTES = 16 * 1024 * 1024
_CHUNK = 64 * 1024
_HOP_BY_HOP = frozenset({"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te",
                         "trailer", "transfer-encoding", "upgrade", "host", "content-length"})


class BudgetExhausted(Exception):
    """The hard request budget is spent: nothing more is sent."""


class ClientStopped(Exception):
    """The client stopped sending (a burst of 5xx or timeouts, or a Retry-After too long)."""


def _answer_headers(response: urllib3.BaseHTTPResponse) -> dict[str, str]:
    """An answer's headers as the exchange log keeps them (the body is kept decoded, unframed)."""
    return {k: v for k, v in response.headers.items() if k.lower() not in ("content-encoding", "transfer-encoding")}


class _Unread(Exception):
    """An answer the client stopped reading: too large, or still coming at the deadline."""


class _HeaderDeadline:
    """Cuts a request's connection if its answer's headers are not all in by a deadline.

    urllib3's timeout bounds each read of the socket, not the answer: a host that sends its status
    line and then a header byte every second (or a byte short of the timeout) would hold verify for
    as long as it likes. At the deadline the connection reading the headers is shut down, so the
    read in progress ends at once, and the exchange fails as a timeout (`cut`), whatever the
    headers read until then made of it."""

    def __init__(self, seconds: float) -> None:
        self.cut = False
        self._fired = False
        self._connection: HTTPConnection | None = None
        self._lock = threading.Lock()
        self._timer = threading.Timer(seconds, self._fire)
        self._timer.daemon = True

    def __enter__(self) -> _HeaderDeadline:
        _deadlines.current = self
        self._timer.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._timer.cancel()
        _deadlines.current = None
        self.read()

    def reading(self, connection: HTTPConnection) -> None:
        """`connection` is about to read the answer's headers (cut at once if the time is up)."""
        with self._lock:
            self._connection = connection
            if self._fired:
                self._cut()

    def read(self) -> None:
        """The headers are in (or reading them failed): nothing more to cut."""
        with self._lock:
            self._connection = None

    def _fire(self) -> None:
        with self._lock:
            self._fired = True
            if self._connection is not None:
                self._cut()

    def _cut(self) -> None:
        self.cut = True
        sock = getattr(self._connection, "sock", None)
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)  # a blocked read returns at once
            except OSError:
                pass


_deadlines = threading.local()  # the _HeaderDeadline of the exchange this thread performs


def _headers_within_deadline(connection: HTTPConnection, read: Callable[[], HTTPResponse]) -> HTTPResponse:
    """`read()` (the connection's own getresponse), watched by this thread's header deadline."""
    deadline: _HeaderDeadline | None = getattr(_deadlines, "current", None)
    if deadline is None:
        return read()
    deadline.reading(connection)
    try:
        return read()
    finally:
        deadline.read()


class _WatchedHTTPConnection(HTTPConnection):
    """urllib3's connection, reading an answer's headers under the exchange's deadline."""

    def getresponse(self) -> HTTPResponse:  # type: ignore[override]  # as urllib3 declares it
        return _headers_within_deadline(self, super().getresponse)


class _WatchedHTTPSConnection(HTTPSConnection):
    """urllib3's TLS connection, reading an answer's headers under the exchange's deadline."""

    def getresponse(self) -> HTTPResponse:  # type: ignore[override]  # as urllib3 declares it
        return _headers_within_deadline(self, super().getresponse)


class _HTTPPool(HTTPConnectionPool):
    ConnectionCls = _WatchedHTTPConnection


class _HTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _WatchedHTTPSConnection


@dataclass
class Exchange:
    """One request sent to the host and what came back (or the network error)."""

    id: int
    origin: str
    method: str
    url: str
    request_headers: dict[str, str]
    request_body: bytes = b""
    status: int | None = None
    response_headers: dict[str, str] = field(default_factory=dict)
    response_body: bytes = b""
    error: str | None = None
    elapsed: float = 0.0

    @property
    def content_type(self) -> str:
        """The response's Content-Type, or ''."""
        return header(self.response_headers, "content-type") or ""

    def json(self) -> object:
        """The response body as JSON, or None if it is not JSON."""
        try:
            return json.loads(self.response_body)
        except (ValueError, UnicodeDecodeError):
            return None


def header(headers: Mapping[str, str], name: str) -> str | None:
    """The value of header `name` (given in lower case), whatever the case it was sent in; None if absent."""
    return next((v for k, v in headers.items() if k.lower() == name), None)


def retry_after(headers: Mapping[str, str], now: float) -> float | None:
    """Seconds a Retry-After header asks to wait (delta or HTTP date), if any."""
    value = header(headers, "retry-after")
    if value is None:
        return None
    if value.strip().isdigit():
        return float(value.strip())
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - now)
    except (TypeError, ValueError):
        return None


class Pacer:
    """Spaces request starts at least 1/rate apart and holds them while a Retry-After runs."""

    def __init__(self, rate: float, clock: Callable[[], float], sleep: Callable[[float], None]) -> None:
        self._interval = 1.0 / rate
        self._clock, self._sleep = clock, sleep
        self._next = 0.0
        self._lock = threading.Lock()

    def wait(self) -> None:
        """Block until the next request may start."""
        with self._lock:
            now = self._clock()
            slot = max(now, self._next)
            self._next = slot + self._interval
        if slot > now:
            self._sleep(slot - now)

    def hold(self, seconds: float) -> None:
        """No request starts for `seconds` from now."""
        with self._lock:
            self._next = max(self._next, self._clock() + seconds)


class BudgetedClient:
    """Sends requests to `base_url`; never more than `budget`, never faster than `rate` per second."""

    def __init__(self, base_url: str, *, budget: int, rate: float, timeout: float, redactor: Redactor,
                 clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep) -> None:
        self.base_url = base_url.rstrip("/")
        self.budget, self.sent = budget, 0
        self.redactor = redactor
        self.exchanges: list[Exchange] = []
        self._by_id: dict[int, Exchange] = {}
        self.stop_reason: str | None = None
        self.unreachable = False
        self._pacer = Pacer(rate, clock, sleep)
        self._burst = self._silent = 0
        self._lock = threading.Lock()
        self._pool = urllib3.PoolManager(retries=False, timeout=urllib3.Timeout(total=timeout), maxsize=4)
        self._pool.pool_classes_by_scheme = {"http": _HTTPPool, "https": _HTTPSPool}
        self._timeout = timeout

    @property
    def remaining(self) -> int:
        """Requests left in the budget."""
        return max(0, self.budget - self.sent)

    def exchange(self, ident: int) -> Exchange | None:
        """A logged exchange by its id."""
        with self._lock:
            return self._by_id.get(ident)

    def close(self) -> None:
        """Close the pooled connections."""
        self._pool.clear()

    def send(self, method: str, target: str, *, headers: Mapping[str, str] | None = None,
             body: bytes = b"", origin: str, retry_rate_limited: bool = False) -> Exchange:
        """Send one request (`target` is the path and query); raises BudgetExhausted or ClientStopped.

        With `retry_rate_limited`, a 429 with a Retry-After is sent again (at most twice) once the
        wait is over; every attempt counts against the budget.
        """
        for _ in range(RATE_LIMIT_RETRIES):
            exchange = self._attempt(method, target, headers or {}, body, origin)
            if not (retry_rate_limited and exchange.status == 429 and self.remaining and self.stop_reason is None
                    and retry_after(exchange.response_headers, time.time()) is not None):
                break
        return exchange

    def _attempt(self, method: str, target: str, headers: Mapping[str, str], body: bytes,
                 origin: str) -> Exchange:
        exchange = self._reserve(method, target, headers, body, origin)
        self._pacer.wait()
        started = time.monotonic()
        self._perform(exchange)
        exchange.elapsed = time.monotonic() - started
        self._after(exchange)
        return exchange

    def _reserve(self, method: str, target: str, headers: Mapping[str, str], body: bytes,
                 origin: str) -> Exchange:
        with self._lock:
            if self.stop_reason is not None:
                raise ClientStopped(self.stop_reason)
            if self.sent >= self.budget:
                raise BudgetExhausted(f"the request budget of {self.budget} is spent")
            self.sent += 1
            exchange = Exchange(self.sent, origin, method.upper(), self.base_url + target,
                                {k: v for k, v in headers.items() if k.lower() not in _HOP_BY_HOP}, body)
            return exchange

    def _perform(self, exchange: Exchange) -> None:
        deadline = _HeaderDeadline(self._timeout)
        try:
            with deadline:  # connected, sent and the answer's headers read within the timeout
                response = self._pool.request(exchange.method, exchange.url, body=exchange.request_body or None,
                                              headers=exchange.request_headers, redirect=False,
                                              preload_content=False, decode_content=True)
            try:
                if deadline.cut:  # what headers came before the cut: not an answer
                    raise urllib3.exceptions.ReadTimeoutError(None, exchange.url, "headers still coming")  # type: ignore[arg-type]
                body = self._body(response)
            except BaseException:
                response.close()  # never drained: the rest may not end
                raise
            finally:
                response.release_conn()
        except urllib3.exceptions.NewConnectionError as error:  # a subclass of the timeout errors
            exchange.error = f"network error: {_reason(error)}"
        except urllib3.exceptions.HTTPError as error:
            if deadline.cut:
                exchange.error = f"no complete answer headers within {self._timeout:g} s (timeout)"
            elif isinstance(error, urllib3.exceptions.TimeoutError):
                exchange.error = f"no answer within {self._timeout:g} s (timeout)"
            else:
                exchange.error = f"network error: {_reason(error)}"
        except _Unread as why:
            exchange.status, exchange.error = response.status, str(why)
            exchange.response_headers = _answer_headers(response)
        else:
            exchange.status = response.status
            exchange.response_headers = _answer_headers(response)
            exchange.response_body = body

    def _body(self, response: urllib3.BaseHTTPResponse) -> bytes:
        """The whole answer body, decoded; `_Unread` past MAX_ANSWER_BYTES or the timeout (which
        urllib3 applies to each read, so a body that trickles in would otherwise never end)."""
        deadline = time.monotonic() + self._timeout
        parts: list[bytes] = []
        size = 0
        while chunk := response.read1(_CHUNK):  # one read of the socket at most, decoded in bounds
            size += len(chunk)
            if size > MAX_ANSWER_BYTES:
                raise _Unread(f"HTTP {response.status} with an answer over {MAX_ANSWER_BYTES >> 20} MiB: "
                              "not read further")
            if time.monotonic() > deadline:
                raise _Unread(f"HTTP {response.status} with an answer still coming after {self._timeout:g} s "
                              "(timeout)")
            parts.append(chunk)
        return b"".join(parts)

    def _after(self, exchange: Exchange) -> None:
        self._learn_secrets(exchange)
        with self._lock:
            logged = replace(exchange, response_body=exchange.response_body[:LOGGED_BODY])
            self.exchanges.append(logged)
            self._by_id[logged.id] = logged
            failed = exchange.error is not None or (exchange.status or 0) >= 500
            self._burst = self._burst + 1 if failed else 0
            self._silent = self._silent + 1 if exchange.status is None else 0  # no answer at all
            if self._burst >= BURST and self.stop_reason is None:
                self.unreachable = self._silent >= BURST
                last = exchange.error or f"HTTP {exchange.status}"
                self.stop_reason = f"stopped early after {BURST} server errors or timeouts in a row (last: {last})"
        wait = retry_after(exchange.response_headers, time.time()) if exchange.status in (429, 503) else None
        if wait is not None:
            if wait > MAX_RETRY_AFTER:
                with self._lock:
                    self.stop_reason = self.stop_reason or (
                        f"stopped early: the host asked to wait {wait:.0f} s (Retry-After), over {MAX_RETRY_AFTER:.0f} s")
            else:
                self._pacer.hold(wait)

    def _learn_secrets(self, exchange: Exchange) -> None:
        """Tokens and api keys that the host hands out are secrets too, whatever the status
        they came with (a login answered 201 hands out a real api_key all the same)."""
        body = exchange.json() if exchange.response_body else None
        data = body.get("data") if isinstance(body, dict) else None
        if isinstance(data, dict):
            for name in ("api_key", "token"):
                if isinstance(data.get(name), str):
                    self.redactor.add(data[name])


def _reason(error: Exception) -> str:
    """A short reason for a network error, without the connection object's repr."""
    text = str(getattr(error, "reason", None) or error)
    return text[text.index("[Errno"):].rstrip(")") if "[Errno" in text else text


def describe_target(base_url: str) -> str:
    """`scheme://host[:port]` of a base URL, for messages."""
    parts = urlsplit(base_url)
    return f"{parts.scheme}://{parts.netloc}"
