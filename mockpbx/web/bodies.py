"""Request bodies read whole, under a byte limit and a deadline, before the app sees them.

Every server hands the app a stream that blocks until the client sends: granian's
`wsgi.input` waits on the connection, werkzeug's reads the socket. A client that announces a
body and stalls would hold its request thread for as long as it likes, and a chunked body
has no length to check up front. So this WSGI middleware, in front of everything else, reads
the body whole; when `body_timeout` seconds pass first, a watcher ends the connection's
input (mockpbx.web.drop) so that the read returns, and the request is answered 408 with the
connection closed. werkzeug's socket is always at hand. granian's is found among the
worker's sockets: every connection from the client's address that awaits an answer and has
been silent for the whole deadline, which can only be a stalled body while no request has
waited in a delay fault that long (those mark themselves here); until then, and until the
read ends, the watcher tries again every quarter second. A client that trickles its body
(a byte now and then) is never silent that long: it holds its own thread until it is done.
A body over `max_body_bytes`, however it is framed, is never cut: it is refused
with 413. The app gets the body as an in-memory stream, and `mockpbx.body_error` (408, 413,
or 400 for a body the client broke off) for the hooks to turn into the usual JSON error.
"""

from __future__ import annotations

import io
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any, BinaryIO

from mockpbx.settings import Settings
from mockpbx.web.drop import stop_reading

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
BODY_ERROR = "mockpbx.body_error"
#: Set by a server front that has read the body already (mockpbx.web.rsgi): nothing to read here.
BODY_READ = "mockpbx.body_read"
_CHUNK = 64 * 1024


class _TooLarge(Exception):
    """The body went over the limit while it was read."""


def _announced_length(environ: dict[str, Any]) -> int | None:
    """The Content-Length, or None for a body of unknown length (chunked)."""
    text = str(environ.get("CONTENT_LENGTH") or "").strip()
    return int(text) if text.isdigit() else None


def has_body(environ: dict[str, Any]) -> bool:
    """Whether the request announces a body (a non-zero Content-Length, or a Transfer-Encoding)."""
    length = _announced_length(environ)
    return bool(length) or (length is None and bool(environ.get("HTTP_TRANSFER_ENCODING")))


def _read_all(stream: BinaryIO, length: int | None, limit: int) -> bytes:
    """Exactly `length` bytes (fewer if the client left), or everything up to EOF within `limit`."""
    parts: list[bytes] = []
    size = 0
    while length is None or size < length:
        want = _CHUNK if length is None else min(_CHUNK, length - size)
        chunk = stream.read(want)
        if not chunk:
            break
        parts.append(chunk)
        size += len(chunk)
        if size > limit:
            raise _TooLarge
    return b"".join(parts)


_waiting_on_purpose: dict[int, float] = {}  # request threads sleeping in a delay fault: since when
_waiting_lock = threading.Lock()


@contextmanager
def waiting_on_purpose() -> Iterator[None]:
    """Mark the current request as silent on purpose (a delay fault) while the block runs."""
    with _waiting_lock:
        _waiting_on_purpose[threading.get_ident()] = time.monotonic()
    try:
        yield
    finally:
        with _waiting_lock:
            _waiting_on_purpose.pop(threading.get_ident(), None)


def _only_stalled_bodies_silent(seconds: float) -> bool:
    """Whether no request here has been waiting on purpose for about `seconds` or longer."""
    oldest = time.monotonic() - seconds + 0.25
    with _waiting_lock:
        return all(since > oldest for since in _waiting_on_purpose.values())


def read_body(environ: dict[str, Any], length: int | None, limit: int, timeout: float) -> tuple[bytes, int | None]:
    """The body and None, or b"" and the status that refuses it (408 late, 413 too large, 400 cut)."""
    if length is not None and length > limit:
        return b"", 413
    began = time.monotonic()
    finished = threading.Event()

    def watch() -> None:
        # At the deadline, and every quarter second after it until the read ends, end the input
        # so that the read returns, early, as if the client had stopped. Every connection silent
        # for the whole deadline is a stalled body, unless a delay fault is that old.
        wait = timeout
        while not finished.wait(wait):
            stop_reading(environ, timeout if _only_stalled_bodies_silent(timeout) else None)
            wait = 0.25

    # The read stays in the request thread: granian cannot answer a request while another
    # thread still waits on its body (the worker stalls), so the deadline ends the input instead.
    threading.Thread(target=watch, name="mockpbx-body-deadline", daemon=True).start()
    try:
        body = _read_all(environ["wsgi.input"], length, limit)
    except _TooLarge:
        return b"", 413
    except TimeoutError:  # werkzeug's socket timeout: the connection was silent as long
        return b"", 408
    except Exception:  # noqa: BLE001 - the input ended badly: cut by a deadline or by the client
        body = None
    finally:
        finished.set()
    late = time.monotonic() - began >= 0.9 * timeout  # ended by this deadline or a neighbour's
    if body is None or (length is not None and len(body) < length) or late:
        return b"", 408 if late else 400
    return body, None


class BodyReader:
    """WSGI middleware: the request body read whole, or the request marked 408/413."""

    def __init__(self, app: WSGIApp, settings: Settings) -> None:
        self._app, self._limit, self._timeout = app, settings.max_body_bytes, settings.body_timeout

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if has_body(environ) and not environ.get(BODY_READ):
            body, error = read_body(environ, _announced_length(environ), self._limit, self._timeout)
            environ["wsgi.input"] = io.BytesIO(body)
            environ["wsgi.input_terminated"] = True  # the stream ends where the body does
            if error is not None:
                environ[BODY_ERROR] = error
        return self._app(environ, start_response)


def refuse_unread_body(environ: dict[str, Any], timeout: float) -> None:
    """Raise the HTTP error for a body that BodyReader could not read (the app answers it as JSON)."""
    from werkzeug.exceptions import BadRequest, RequestEntityTooLarge, RequestTimeout
    error = environ.get(BODY_ERROR)
    if error == 408:
        raise RequestTimeout(f"the request body did not arrive within {timeout:g} s")
    if error == 413:
        raise RequestEntityTooLarge()
    if error is not None:
        raise BadRequest("the request body broke off before its end")
