"""`GET /v1/call/log`, served in front of Flask: the one path of every call-log request.

Why not a Flask view: the call log is the endpoint clients hammer, and Flask's per-request
machinery (request and response objects, routing, hooks, `process_response`) cost more than
computing the page. So every GET and HEAD of the call log is answered here, as WSGI, and
everything else goes on to Flask. This path does what Flask's hooks and handlers do for the
other endpoints, with the same functions: faults (`hooks.fault_response`, `hooks.malform`),
the journal and access log (`hooks.record`), the error bodies (`errors.domain_error_response`).
The page itself is the domain's: validated by `PbxService.list_calls`, serialised from each
call's JSON as its table encoded it at build time (`CallPage.to_bytes`), and remembered for
the clock second (`PageCache`) for clients that repeat a query. Flask still routes the path
for other methods (405 with `Allow`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Any

from flask import Response
from werkzeug.wrappers import Request

from mockpbx.backend import Backend
from mockpbx.control.faults import Fault
from mockpbx.querystring import query_pairs
from mockpbx.coverage.counting import PageFacts
from mockpbx.domain.errors import DomainError, InvalidRequestError
from mockpbx.web.cache import PageCache, page_key
from mockpbx.web.errors import domain_error_response, unexpected_response
from mockpbx.web.bodies import BODY_ERROR
from mockpbx.web.hooks import fault_response, journal_and_send, malform, record, route_path, take_fault
from mockpbx.web.responses import JSON

CALL_LOG = "/v1/call/log"
#: The paths (as `hooks.route_path` reads them) and methods this endpoint answers.
CALL_LOG_PATHS = frozenset((CALL_LOG, CALL_LOG + "/"))  # the router does not insist on the slash either
ANSWERED_METHODS = frozenset(("GET", "HEAD"))
_QUERY = ("start_date", "end_date", "source", "limit", "offset")
_FLASK_ERRORS = "werkzeug.url_quote"
WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def query_args(environ: dict[str, Any]) -> dict[str, str]:
    """The call log's query values, parsed as Flask's `request.args` parses them; each at most once."""
    text = str(environ.get("QUERY_STRING", ""))
    if not text.isascii():
        try:
            text = text.encode("latin-1").decode()
        except UnicodeError:
            raise InvalidRequestError("the query string must be UTF-8") from None
    args: dict[str, str] = {}
    seen: set[str] = set()
    # Flask's request.args decodes with werkzeug's handler: bad escapes stay as they were sent.
    for name, value in query_pairs(text, _FLASK_ERRORS):
        if name in args:
            seen.add(name)
        else:
            args[name] = value
    if seen:
        for name in _QUERY:
            if name in seen:
                raise InvalidRequestError(f"{name} must be given at most once")
    return args


class CallLogEndpoint:
    """Answers every GET and HEAD of the call log; hands any other request to `app` (Flask)."""

    def __init__(self, app: WSGIApp, backend: Backend, pages: PageCache) -> None:
        self._app, self._backend, self._pages = app, backend, pages

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = environ.get("PATH_INFO")
        if (path not in CALL_LOG_PATHS and route_path(str(path)) not in CALL_LOG_PATHS) \
                or environ.get("REQUEST_METHOD") not in ANSWERED_METHODS \
                or environ.get(BODY_ERROR):  # a body BodyReader refused: Flask's hooks answer it (408/413)
            return self._app(environ, start_response)
        store = self._backend.store
        if "mockpbx.started" not in environ:  # else set by the server front, as the epoch
            environ["mockpbx.started"] = time.perf_counter()
            # The journal's epoch as the request begins: a reset while it runs keeps it out (see hooks).
            environ["mockpbx.journal_epoch"] = store.journal_epoch()
        fault = take_fault(store, environ)
        if fault is None and not (environ.get("CONTENT_LENGTH") or environ.get("HTTP_TRANSFER_ENCODING")):
            status, headers, body = self.answer(environ)
            start_response(status, headers)
            return [] if environ["REQUEST_METHOD"] == "HEAD" else [body]
        # A fault or a request body: the same page, in a Response the fault functions can change.
        if fault is not None:
            environ["mockpbx.fault"] = fault
        response = fault_response(fault, environ) if fault is not None else None
        if response is None:
            try:
                response = Response(self.page(environ)[0], content_type=JSON)
            except Exception as error:  # noqa: BLE001
                response = self._error(error, environ)
            if fault is not None:
                malform(response, fault)
        return self._finish(environ, start_response, response, fault)

    def answer(self, environ: dict[str, Any]) -> tuple[str, list[tuple[str, str]], bytes]:
        """The answer to a GET or HEAD with no fault and no body, journalled: its status line,
        headers and body (which the caller leaves out for a HEAD). Every such request is
        answered here, under every server: by this endpoint's WSGI call (`--dev`, `MockPBX`) and,
        under `mockpbx serve`, by its front directly (mockpbx.web.rsgi), with the environ's
        request keys only (method, path, query, client, headers and the `mockpbx.*` marks; not the
        server's nor `wsgi.*`, which only Flask and werkzeug's error responses would read)."""
        try:
            body, facts = self.page(environ)
        except Exception as error:  # noqa: BLE001 -- answered as the error handlers answer it
            response = self._journaled(environ, self._error(error, environ), None)
            app_iter, status, headers = response.get_wsgi_response(environ)
            return status, headers, b"".join(app_iter)
        record(self._backend, environ, 200, response=body, page=facts)
        return "200 OK", [("Content-Type", JSON), ("Content-Length", str(len(body)))], body

    def page(self, environ: dict[str, Any]) -> tuple[bytes, PageFacts | None]:
        """The 200 body for this request, and what coverage counts of a page computed for it
        (None when it came from the memo); raises DomainError for a bad token or query."""
        backend = self._backend
        version = backend.store.version()  # before sync: the page then reflects at least this version
        service = backend.sync(version)
        principal = service.authorize(environ.get("HTTP_AUTHORIZATION"))
        key = page_key(principal.domain_uuid, environ, version, backend.clock.now())
        body = self._pages.get(key)
        if body is not None:
            return body, None
        args = query_args(environ)
        page = service.list_calls(principal, args)
        body = page.to_bytes()
        self._pages.put(key, body)
        return body, page

    @staticmethod
    def _error(error: Exception, environ: dict[str, Any]) -> Response:
        if isinstance(error, DomainError):
            return domain_error_response(error, bearer_realm=True)
        return unexpected_response(environ["REQUEST_METHOD"], environ["PATH_INFO"])

    def _finish(self, environ: dict[str, Any], start_response: Callable[..., Any], response: Response,
                fault: Fault | None) -> Iterable[bytes]:
        """Journal and count the request, then send the response."""
        return self._journaled(environ, response, fault)(environ, start_response)

    def _journaled(self, environ: dict[str, Any], response: Response, fault: Fault | None) -> Response:
        """Journal and count the request; what to send then (`hooks.journal_and_send`)."""
        request = Request(environ)
        request.max_content_length = self._backend.settings.max_body_bytes
        return journal_and_send(self._backend, request, response, fault)
