"""Per-request work around the API: injected faults and the request journal."""

from __future__ import annotations

import socket
import time
from datetime import datetime, timezone

from flask import Flask, Response, g, request

from mockpbx.backend import Backend
from mockpbx.control.faults import Fault
from mockpbx.control.journal import body_for_journal, redact_headers, redact_query
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
        g.dropped = _drop_connection()
        return Response(b"", status=fault.status or 502)  # what the client gets if the socket stays open
    return None


def install_request_hooks(app: Flask) -> None:
    """Faults before the handler; truncation and the journal after it."""
    backend = _backend(app)

    @app.before_request
    def before() -> Response | None:
        g.started = time.perf_counter()
        if request.path.startswith(CONTROL_PREFIX):
            return None
        fault = backend.store.take_fault(request.method, request.path)
        g.fault = fault
        return _fault_response(fault) if fault is not None else None

    @app.after_request
    def after(response: Response) -> Response:
        if request.path.startswith(CONTROL_PREFIX):
            return response
        fault: Fault | None = g.get("fault")
        if fault is not None and fault.kind == "malformed":
            data = response.get_data()
            response.set_data(data[: len(data) // 2])
            if fault.status:
                response.status_code = fault.status
            response.headers.update(fault.headers)
        backend.store.log(_entry(backend, response, fault))
        return response


def _entry(backend: Backend, response: Response, fault: Fault | None) -> dict[str, object]:
    raw = b""
    if request.content_length is None or request.content_length <= backend.settings.max_body_bytes:
        try:
            raw = request.get_data(cache=True)
        except Exception:  # e.g. a body over the limit without a Content-Length
            raw = b""
    return {
        "time": datetime.fromtimestamp(backend.clock.now(), timezone.utc)
                        .isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "method": request.method,
        "path": request.path,
        "query": redact_query(request.args.to_dict(flat=False)),
        "headers": redact_headers(dict(request.headers)),
        "body": body_for_journal(raw, request.mimetype),
        "status": None if g.get("dropped") else response.status_code,
        "duration_ms": round((time.perf_counter() - g.started) * 1000, 3),
        "fault": None if fault is None else {"id": fault.id, "kind": fault.kind},
    }
