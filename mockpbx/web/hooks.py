"""Per-request work around the API: injected faults and the request journal."""

from __future__ import annotations

import socket
import time
from flask import Flask, Response, request

from mockpbx.backend import Backend
from mockpbx.control.faults import Fault
from mockpbx.control.journal import RawEntry
from mockpbx.web.responses import json_response

CONTROL_PREFIX = "/_mock"


def _backend(app: Flask) -> Backend:
    return app.extensions["mockpbx"]  # type: ignore[no-any-return]


def _drop_connection() -> bool:
    """Close the client's connection without an answer, where the server exposes its socket."""
    sock = request.environ.get("werkzeug.socket") or request.environ.get("gunicorn.socket")
    if not isinstance(sock, socket.socket):
        return False
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    return True


def _fault_response(fault: Fault) -> Response | None:
    if fault.delay_ms:
        time.sleep(fault.delay_ms / 1000)
    if fault.kind == "error":
        body = fault.body if fault.body is not None else {"error": f"injected fault {fault.id}"}
        return json_response(body, fault.status or 500, fault.headers)
    if fault.kind == "drop":
        request.environ["mockpbx.dropped"] = _drop_connection()
        return Response(b"", status=fault.status or 502)  # what the client gets if the socket stays open
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
        return _fault_response(fault)

    @app.after_request
    def after(response: Response) -> Response:
        environ = request.environ
        if environ.get("PATH_INFO", "").startswith(CONTROL_PREFIX):
            return response
        fault: Fault | None = environ.get("mockpbx.fault")
        if fault is not None and fault.kind == "malformed":
            data = response.get_data()
            response.set_data(data[: len(data) // 2])
            if fault.status:
                response.status_code = fault.status
            response.headers.update(fault.headers)
        store.log(_entry(backend, environ, response, fault))
        return response


def _entry(backend: Backend, environ: dict[str, object], response: Response, fault: Fault | None) -> RawEntry:
    raw = b""
    if environ.get("CONTENT_LENGTH") or environ.get("HTTP_TRANSFER_ENCODING"):
        length = request.content_length
        if length is None or length <= backend.settings.max_body_bytes:
            try:
                raw = request.get_data(cache=True)
            except Exception:  # e.g. a body over the limit without a Content-Length
                raw = b""
    headers = {k: v for k, v in environ.items() if k.startswith(("HTTP_", "CONTENT_")) and isinstance(v, str)}
    return RawEntry(
        backend.clock.now(), str(environ["REQUEST_METHOD"]), str(environ.get("PATH_INFO", "")),
        str(environ.get("QUERY_STRING", "")), headers, raw, request.mimetype if raw else "",
        None if environ.get("mockpbx.dropped") else response.status_code,
        (time.perf_counter() - environ["mockpbx.started"]) * 1000,  # type: ignore[operator]
        None if fault is None else (fault.id, fault.kind))
