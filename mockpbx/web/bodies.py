"""Request bodies read whole, under a byte limit and a deadline, before the app sees them
(under werkzeug: `--dev` and `MockPBX`; `mockpbx serve`'s front reads them itself, on its event
loop, with the same limits and answers: mockpbx.web.rsgi).

werkzeug hands the app a stream that reads the socket and blocks until the client sends. A
client that announces a body and stalls would hold its request thread for as long as it likes,
and a chunked body has no length to check up front. So this WSGI middleware, in front of
everything else, reads the body whole; when `body_timeout` seconds pass first, a watcher ends
the connection's input (mockpbx.web.drop) so that the read returns, and the request is answered
408 with the connection closed. A body over `max_body_bytes`, however it is framed, is never
cut: it is refused with 413. The app gets the body as an in-memory stream, and
`mockpbx.body_error` (408, 413, or 400 for a body the client broke off) for the hooks to turn
into the usual JSON error."""

from __future__ import annotations

import io
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any, BinaryIO

from mockpbx.settings import Settings
from mockpbx.web.drop import stop_reading

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
BODY_ERROR = "mockpbx.body_error"
#: Set by a server front that has read the body already (mockpbx.web.rsgi): nothing to read here.
BODY_READ = "mockpbx.body_read"
_CHUNK = 64 * 1024


class TooLarge(Exception):
    """The body went over the limit while it was read."""


def announced_length(environ: dict[str, Any]) -> int | None:
    """The Content-Length, or None for a body of unknown length (chunked)."""
    text = str(environ.get("CONTENT_LENGTH") or "").strip()
    return int(text) if text.isdigit() else None


def has_body(environ: dict[str, Any]) -> bool:
    """Whether the request announces a body (a non-zero Content-Length, or a Transfer-Encoding)."""
    if "CONTENT_LENGTH" not in environ and "HTTP_TRANSFER_ENCODING" not in environ:
        return False  # most requests: no header to parse
    length = announced_length(environ)
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
            raise TooLarge
    return b"".join(parts)


def read_body(environ: dict[str, Any], length: int | None, limit: int, timeout: float) -> tuple[bytes, int | None]:
    """The body and None, or b"" and the status that refuses it (408 late, 413 too large, 400 cut)."""
    if length is not None and length > limit:
        return b"", 413
    began = time.monotonic()
    finished = threading.Event()

    def watch() -> None:
        # At the deadline end the input, so that the read returns early, as if the client had stopped.
        if not finished.wait(timeout):
            stop_reading(environ)

    threading.Thread(target=watch, name="mockpbx-body-deadline", daemon=True).start()
    try:
        body = _read_all(environ["wsgi.input"], length, limit)
    except TooLarge:
        return b"", 413
    except TimeoutError:  # werkzeug's socket timeout: the connection was silent as long
        return b"", 408
    except Exception:  # noqa: BLE001 - the input ended badly: cut by the deadline or by the client
        body = None
    finally:
        finished.set()
    late = time.monotonic() - began >= 0.9 * timeout  # ended by the deadline
    if body is None or (length is not None and len(body) < length) or late:
        return b"", 408 if late else 400
    return body, None


class BodyReader:
    """WSGI middleware: the request body read whole, or the request marked 408/413."""

    def __init__(self, app: WSGIApp, settings: Settings) -> None:
        self._app, self._limit, self._timeout = app, settings.max_body_bytes, settings.body_timeout

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        method = environ.get("REQUEST_METHOD", "")
        if not method.isupper():
            # Outermost, so for every layer after it: the method as werkzeug's router reads it
            # (`get` is routed as GET), so that the call log in front of Flask, faults, the journal
            # and coverage read it alike (a `get` of the call log reached Flask's stand-in: 500).
            environ["REQUEST_METHOD"] = method.upper()
        if has_body(environ) and not environ.get(BODY_READ):
            body, error = read_body(environ, announced_length(environ), self._limit, self._timeout)
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
