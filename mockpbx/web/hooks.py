"""Per-request work around the API: injected faults and the request journal."""

from __future__ import annotations

import json
import os
import socket
import sys
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs

from flask import Flask, Response, request
from werkzeug.wrappers import Request

from mockpbx.backend import Backend
from mockpbx.control.faults import Fault
from mockpbx.control.journal import RawEntry, redact_query, utc_millis
from mockpbx.web.responses import json_response

CONTROL_PREFIX = "/_mock"


def _backend(app: Flask) -> Backend:
    return app.extensions["mockpbx"]  # type: ignore[no-any-return]


def _drop_connection(environ: dict[str, Any]) -> bool:
    """Close the client's connection without an answer, where the server exposes its socket."""
    sock = environ.get("werkzeug.socket") or environ.get("gunicorn.socket")
    if not isinstance(sock, socket.socket):
        return False
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    return True


def _broken_body() -> Iterator[bytes]:
    raise ConnectionAbortedError("mockpbx drop fault: connection cut on purpose")
    yield b""  # a generator: it fails when the server starts sending the body


def fault_response(fault: Fault, environ: dict[str, Any]) -> Response | None:
    """The answer a fault puts in place of the handler's (after its delay); None: answer normally."""
    if fault.delay_ms:
        time.sleep(fault.delay_ms / 1000)
    if fault.kind == "error":
        body = fault.body if fault.body is not None else {"error": f"injected fault {fault.id}"}
        return json_response(body, fault.status or 500, fault.headers)
    if fault.kind == "drop":
        environ["mockpbx.dropped"] = True
        if _drop_connection(environ):
            return Response(b"", status=502)  # never reaches the client: its socket is shut
        # No socket to shut (granian): the body breaks off, so the server cuts the connection
        # after the status line, and the client never gets a complete answer.
        return Response(_broken_body(), status=200, content_type="application/json")
    return None


def install_request_hooks(app: Flask) -> None:
    """Faults before the handler; truncation and the journal after it."""
    backend = _backend(app)
    store = backend.store

    @app.before_request
    def before() -> Response | None:
        environ = request.environ
        environ["mockpbx.started"] = time.perf_counter()
        path = environ.get("PATH_INFO", "")
        if path.startswith(CONTROL_PREFIX):
            return None
        fault = store.take_fault(environ["REQUEST_METHOD"], path)
        if fault is None:
            return None
        environ["mockpbx.fault"] = fault
        return fault_response(fault, environ)

    @app.after_request
    def after(response: Response) -> Response:
        environ = request.environ
        if environ.get("PATH_INFO", "").startswith(CONTROL_PREFIX):
            return response
        fault: Fault | None = environ.get("mockpbx.fault")
        if fault is not None:
            malform(response, fault)
        body, mimetype = request_body(backend, request)
        status = None if environ.get("mockpbx.dropped") else response.status_code
        record(backend, environ, status, fault, body, mimetype)
        return response


def malform(response: Response, fault: Fault) -> None:
    """Apply a `malformed` fault: the body cut in half, its status and headers if it has them."""
    if fault.kind == "malformed":
        data = response.get_data()
        response.set_data(data[: len(data) // 2])
        if fault.status:
            response.status_code = fault.status
        response.headers.update(fault.headers)


def record(backend: Backend, environ: dict[str, object], status: int | None, fault: Fault | None = None,
           body: bytes = b"", mimetype: str = "") -> None:
    """Journal one request (and write its access-log line, if on)."""
    headers = {k: v for k, v in environ.items() if k.startswith(("HTTP_", "CONTENT_")) and isinstance(v, str)}
    entry = RawEntry(
        backend.clock.now(), str(environ["REQUEST_METHOD"]), str(environ.get("PATH_INFO", "")),
        str(environ.get("QUERY_STRING", "")), headers, body, mimetype, status,
        (time.perf_counter() - environ["mockpbx.started"]) * 1000,  # type: ignore[operator]
        None if fault is None else (fault.id, fault.kind))
    backend.store.log(entry)
    if backend.settings.access_log:
        _access_line(entry, environ)


def _access_line(entry: RawEntry, environ: dict[str, object]) -> None:
    """One JSON line per request on stderr: no headers or bodies, secret-named query values hidden."""
    line = json.dumps({
        "ts": utc_millis(time.time()),
        "event": "request", "method": entry.method, "path": entry.path,
        "query": redact_query(parse_qs(entry.query_string, keep_blank_values=True)),
        "status": entry.status, "duration_ms": round(entry.duration_ms, 3),
        "fault": None if entry.fault is None else entry.fault[0],
        "remote": environ.get("REMOTE_ADDR"), "pid": os.getpid(),
    }, separators=(",", ":"))
    sys.stderr.write(line + "\n")  # one write per line: whole lines even with several workers


def request_body(backend: Backend, request: Request) -> tuple[bytes, str]:
    """The request body for the journal (none when over the size limit) and its media type."""
    environ = request.environ
    if not (environ.get("CONTENT_LENGTH") or environ.get("HTTP_TRANSFER_ENCODING")):
        return b"", ""
    length = request.content_length
    if length is not None and length > backend.settings.max_body_bytes:
        return b"", ""
    try:
        raw = request.get_data(cache=True)
    except Exception:  # e.g. a body over the limit without a Content-Length
        return b"", ""
    return raw, request.mimetype if raw else ""
