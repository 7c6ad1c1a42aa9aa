"""Per-request work around the API: injected faults and the request journal.

The journal is exact: a request's entry is written before its answer (or its drop) can
reach the client, so a client that has seen the outcome finds the entry, in order; a request
that began before a reset or a clearing of the journal is not journaled (its start epoch is
noted in `mockpbx.journal_epoch`), so the journal is empty after either, whatever is in flight.
"""

from __future__ import annotations

import os
import time
from json.encoder import encode_basestring_ascii as _json_str
from collections.abc import Iterator
from typing import Any

from flask import Flask, Response, request
from werkzeug.wrappers import Request

from mockpbx.backend import Backend
from mockpbx.control.faults import Fault
from mockpbx.control.journal import RawEntry, bounded, utc_millis
from mockpbx.coverage.counting import PageFacts
from mockpbx.redaction import redact_path, redact_query_string_json
from mockpbx.web.bodies import refuse_unread_body
from mockpbx.web.access_log import write_line
from mockpbx.web.drop import drop_connection

#: In the environ when a server front took the request's fault and waited out its delay (the
#: Fault, or None for none): mockpbx.web.rsgi.
PRETAKEN = "mockpbx.fault_pretaken"
#: In the environ when a server front collected the request's HTTP_* and CONTENT_* keys (a dict).
HEADERS = "mockpbx.headers"
from mockpbx.web.responses import json_response

CONTROL_PREFIX = "/_mock"
#: Neither journaled nor open to faults: the control API, the dashboard and the docs page.
UNTRACKED_PREFIXES = (CONTROL_PREFIX, "/docs")


def route_path(path: str) -> str:
    """The path as the router reads it: werkzeug collapses leading slashes into one, so
    `//v1/call/log` is served as `/v1/call/log`. What decides by path goes by this (the call-log
    endpoint, faults, untracked paths, coverage); the journal keeps the path as it was sent."""
    return path if path[1:2] != "/" else "/" + path.lstrip("/")


def _backend(app: Flask) -> Backend:
    return app.extensions["mockpbx"]  # type: ignore[no-any-return]


def dropped(environ: dict[str, Any], response: Response) -> Response:
    """What to send once a request is journalled. For a dropped one, its connection is shut
    (mockpbx.web.drop; the placeholder answer then goes nowhere) or, where the connection cannot
    be found (the client left first), a body that breaks off: a WSGI server cuts the connection
    after the status line, and the client never gets a complete answer."""
    if environ.get("mockpbx.dropped") and not drop_connection(environ):
        return Response(_broken_body(), status=200, content_type="application/json")
    return response


def _broken_body() -> Iterator[bytes]:
    raise ConnectionAbortedError("mockpbx drop fault: connection cut on purpose")
    yield b""  # a generator: it fails when the server starts sending the body


def take_fault(store: Any, environ: dict[str, Any]) -> Fault | None:
    """The request's fault: the one a server front took already (its delay waited out there,
    see mockpbx.web.rsgi), else the next one that matches, if any."""
    if PRETAKEN in environ:
        return environ[PRETAKEN]  # type: ignore[no-any-return]
    return store.take_fault(environ["REQUEST_METHOD"], route_path(environ["PATH_INFO"])) if store.has_faults() else None


def fault_response(fault: Fault, environ: dict[str, Any]) -> Response | None:
    """The answer a fault puts in place of the handler's (after its delay, unless a server
    front waited it out already); None: answer normally."""
    if fault.delay_ms and PRETAKEN not in environ:
        time.sleep(fault.delay_ms / 1000)
    if fault.kind == "error":
        body = fault.body if fault.body is not None else {"error": f"injected fault {fault.id}"}
        return json_response(body, fault.status or 500, fault.headers)
    if fault.kind == "drop":
        environ["mockpbx.dropped"] = True
        # Answered once the request is journalled and counted (`dropped`): its connection is
        # shut then; this placeholder never reaches the client.
        return Response(b"", status=502)
    return None


def install_request_hooks(app: Flask) -> None:
    """Faults before the handler; truncation and the journal after it."""
    backend = _backend(app)
    store = backend.store

    @app.before_request
    def before() -> Response | None:
        environ = request.environ
        environ.setdefault("mockpbx.started", time.perf_counter())  # a server front's arrival time, if set
        if "mockpbx.journal_epoch" not in environ:  # set by the fast path in front, normally
            environ["mockpbx.journal_epoch"] = store.journal_epoch()
        refuse_unread_body(environ, backend.settings.body_timeout)
        if route_path(environ.get("PATH_INFO", "")).startswith(UNTRACKED_PREFIXES):
            return None
        fault = take_fault(store, environ)
        if fault is None:
            return None
        environ["mockpbx.fault"] = fault
        return fault_response(fault, environ)

    @app.after_request
    def after(response: Response) -> Response:
        environ = request.environ
        if route_path(environ.get("PATH_INFO", "")).startswith(UNTRACKED_PREFIXES):
            # Not journaled nor counted, but in the access log like every request: a reset, a fault
            # added, a refused control token (401) or a page load leave their line.
            if backend.settings.access_log:
                _access_line(RawEntry(
                    backend.clock.now(), str(environ["REQUEST_METHOD"]), str(environ.get("PATH_INFO", "")),
                    str(environ.get("QUERY_STRING", "")), {}, b"", "", response.status_code,
                    # (a request refused before the hooks ran, a 401 of the control token, has no start)
                    (time.perf_counter() - environ.get("mockpbx.started", time.perf_counter())) * 1000, None), environ)
            return response
        fault: Fault | None = environ.get("mockpbx.fault")
        if fault is not None:
            malform(response, fault)
        return journal_and_send(backend, request, response, fault)


def journal_and_send(backend: Backend, request: Request, response: Response, fault: Fault | None) -> Response:
    """Journal and count a request (its body, and the body it is sent), then what to send: the
    response, or for a dropped request whatever `dropped` leaves. Both request paths end here
    (Flask's hooks and the call-log endpoint in front of Flask)."""
    environ = request.environ
    body, mimetype = request_body(backend, request)
    status = None if environ.get("mockpbx.dropped") else response.status_code
    sent = b"" if status is None or response.is_streamed else response.get_data()
    record(backend, environ, status, fault, body, mimetype, sent)
    return dropped(environ, response)


def malform(response: Response, fault: Fault) -> None:
    """Apply a `malformed` fault: the body cut in half, its status and headers if it has them."""
    if fault.kind == "malformed":
        data = response.get_data()
        response.set_data(data[: len(data) // 2])
        if fault.status:
            response.status_code = fault.status
        response.headers.update(fault.headers)


def record(backend: Backend, environ: dict[str, object], status: int | None, fault: Fault | None = None,
           body: bytes = b"", mimetype: str = "", response: bytes = b"", page: PageFacts | None = None) -> None:
    """Journal one request, count its API-coverage outcomes (from `response`, the body sent, or
    `page`, what the call-log endpoint knows of it) and write its access-log line, if on; call
    it before the answer (or the drop) is sent."""
    headers = environ.get(HEADERS)  # as a server front collected them (mockpbx.web.rsgi), else:
    if not isinstance(headers, dict):
        headers = {k: v for k, v in environ.items() if k.startswith(("HTTP_", "CONTENT_")) and isinstance(v, str)}
    entry = bounded(RawEntry(
        backend.clock.now(), str(environ["REQUEST_METHOD"]), str(environ.get("PATH_INFO", "")),
        str(environ.get("QUERY_STRING", "")), headers, body, mimetype, status,
        (time.perf_counter() - environ["mockpbx.started"]) * 1000,  # type: ignore[operator]
        None if fault is None else (fault.id, fault.kind)), backend.settings.journal_field_bytes)
    epoch = environ.get("mockpbx.journal_epoch")
    backend.store.log(entry, epoch if isinstance(epoch, int) else None)
    backend.coverage.count(entry, response, page)
    if backend.settings.access_log:
        _access_line(entry, environ)


def _access_line(entry: RawEntry, environ: dict[str, object]) -> None:
    """One JSON line per request on stderr: no headers or bodies, secret-named query values hidden.
    Written out field by field (what `json.dumps` of the same dict prints, in a third less time:
    this runs for every request)."""
    remote = environ.get("REMOTE_ADDR")
    write_line(
        f'{{"ts":"{utc_millis(time.time())}","event":"request","method":{_json_str(entry.method)},'
        f'"path":{_json_str(redact_path(entry.path))},"query":{redact_query_string_json(entry.query_string)},'
        f'"status":{"null" if entry.status is None else int(entry.status)},'
        f'"duration_ms":{round(entry.duration_ms, 3)!r},'
        f'"fault":{"null" if entry.fault is None else int(entry.fault[0])},'
        f'"remote":{"null" if remote is None else _json_str(str(remote))},"pid":{_pid[0]}}}')


#: This process's pid, for the access log (os.getpid is a system call): set again in a forked child.
_pid = [os.getpid()]
os.register_at_fork(after_in_child=lambda: _pid.__setitem__(0, os.getpid()))


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
