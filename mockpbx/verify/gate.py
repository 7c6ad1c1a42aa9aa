"""A local front on 127.0.0.1 that schemathesis talks to instead of the host.

Only the contract's operations are forwarded, each through the budgeted client, so the
budget, the rate limit and the early stop hold for every request schemathesis sends
(its probes, auth, checks and stateful steps included). What the gate answers itself
carries a marker header, so that verify never reports it as the host's behaviour.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from types import TracebackType
from typing import Any, Self
from urllib.parse import unquote, urlsplit

from werkzeug.http import HTTP_STATUS_CODES
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server
from werkzeug.wsgi import get_input_stream

from mockpbx.verify.client import BudgetedClient, BudgetExhausted, ClientStopped
from mockpbx.verify.contract import Contract

#: Set on answers the gate makes itself: `blocked`, `budget`, `stopped` or `no-answer`.
MARKER = "X-Mockpbx-Verify"
#: Set on forwarded answers: the id of the exchange in the client's log.
EXCHANGE = "X-Mockpbx-Verify-Exchange"
MAX_BODY = 4 * 1024 * 1024
_DROP = frozenset({"host", "connection", "keep-alive", "content-length", "transfer-encoding", "te", "upgrade",
                   "proxy-connection", "proxy-authorization"})
_DROP_BACK = frozenset({"connection", "keep-alive", "transfer-encoding", "content-length", "server", "date"})


class QuietHandler(WSGIRequestHandler):
    """A request handler that does not log every request to stderr."""

    def log(self, type: str, message: str, *args: Any) -> None:
        """Log nothing."""


def _headers(environ: dict[str, Any]) -> dict[str, str]:
    """The request headers of a WSGI environ, in their usual spelling."""
    headers = {}
    for key, value in environ.items():
        if key.startswith("HTTP_"):
            name = "-".join(part.capitalize() for part in key[5:].split("_"))
        elif key in ("CONTENT_TYPE",) and value:
            name = "Content-Type"
        else:
            continue
        if name.lower() not in _DROP:
            headers[name] = value
    return headers


class Gate:
    """Forwards declared operations to the host within a per-phase allowance."""

    def __init__(self, client: BudgetedClient, contract: Contract, *, probe_methods: bool = False) -> None:
        self.client, self.contract, self.probe_methods = client, contract, probe_methods
        self.closed = threading.Event()
        self.blocked = 0
        self._allowance, self._phase = 0, "schemathesis"
        self._lock = threading.Lock()
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """Where schemathesis should send its requests."""
        if self._server is None:
            raise RuntimeError("the gate is not running")
        return f"http://127.0.0.1:{self._server.server_port}"

    def open(self, allowance: int, phase: str) -> None:
        """Let the next `allowance` requests through, labelled with `phase`."""
        with self._lock:
            self._allowance, self._phase = max(0, allowance), phase
            self.closed.clear()

    def __enter__(self) -> Self:
        self._server = make_server("127.0.0.1", 0, self, threaded=True, request_handler=QuietHandler)
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), name="verify-gate",
                                        daemon=True)
        self._thread.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        """The WSGI entry point; whatever goes wrong here is the gate's answer, never the host's."""
        try:
            return self._forward(environ, start_response)
        except Exception as error:  # noqa: BLE001 (a gate failure must not look like a host failure)
            return self._local(start_response, 502, "gate-error", f"{type(error).__name__}: {error}")

    def _forward(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        method = environ["REQUEST_METHOD"]
        target = environ.get("RAW_URI") or environ.get("REQUEST_URI") or environ.get("PATH_INFO", "/")
        declared, allowed = self.contract.match(method, unquote(urlsplit(target).path))
        if not declared or not (allowed or self.probe_methods):
            with self._lock:
                self.blocked += 1
            return self._local(start_response, 404 if not declared else 405, "blocked",
                               "not an operation of the contract: verify does not send it")
        with self._lock:
            if self._allowance <= 0:
                self.closed.set()
                return self._local(start_response, 503, "budget", "the request budget of this phase is spent")
            self._allowance -= 1
            phase = self._phase
        body = get_input_stream(environ, max_content_length=MAX_BODY).read()
        try:
            exchange = self.client.send(method, target, headers=_headers(environ), body=body,
                                        origin=f"schemathesis {phase}")
        except (BudgetExhausted, ClientStopped) as stop:
            self.closed.set()
            kind = "budget" if isinstance(stop, BudgetExhausted) else "stopped"
            return self._local(start_response, 503, kind, str(stop))
        if exchange.status is None:
            return self._local(start_response, 504, "no-answer", exchange.error or "no answer")
        headers = [(k, v) for k, v in exchange.response_headers.items() if k.lower() not in _DROP_BACK]
        headers += [(EXCHANGE, str(exchange.id)), ("Content-Length", str(len(exchange.response_body)))]
        start_response(_status_line(exchange.status), headers)
        return [exchange.response_body]

    def _local(self, start_response: Any, status: int, kind: str, message: str) -> Iterable[bytes]:
        body = ('{"error": "mockpbx verify: ' + message.replace('"', "'") + '"}').encode()
        start_response(_status_line(status), [("Content-Type", "application/json"), (MARKER, kind),
                                              ("Content-Length", str(len(body)))])
        return [body]


def _status_line(status: int) -> str:
    return f"{status} {HTTP_STATUS_CODES.get(status, 'Unknown')}"
