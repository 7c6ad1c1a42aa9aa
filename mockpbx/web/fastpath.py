"""The hot path of a polling client: a repeated call-log query answered without Flask.

WSGI middleware in front of the Flask app. It answers only what Flask answered before:
a GET of the call log whose page is already memoised for this domain, raw query string,
control version and clock second, with a known, unexpired token, no body, and no fault
rules active. Everything else (first queries, errors, faults, any doubt) goes to Flask.
The journal and the access log record the request either way.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Any

from mockpbx.backend import Backend
from mockpbx.domain.errors import DomainError
from mockpbx.web.cache import PageCache, page_key
from mockpbx.web.hooks import record

CALL_LOG = "/v1/call/log"
WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class CallLogFastPath:
    """Serves memoised call-log pages straight from WSGI; delegates the rest."""

    def __init__(self, app: WSGIApp, backend: Backend, pages: PageCache) -> None:
        self._app, self._backend, self._pages = app, backend, pages

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        # The journal's epoch as the request begins (see mockpbx.web.hooks), for every request.
        environ["mockpbx.journal_epoch"] = self._backend.store.journal_epoch()
        if environ.get("PATH_INFO") == CALL_LOG and environ.get("REQUEST_METHOD") == "GET":
            started = time.perf_counter()
            body = self._memoised(environ)
            if body is not None:
                start_response("200 OK", [("Content-Type", "application/json"),
                                          ("Content-Length", str(len(body)))])
                environ["mockpbx.started"] = started
                record(self._backend, environ, 200, response=body)
                return [body]
        return self._app(environ, start_response)

    def _memoised(self, environ: dict[str, Any]) -> bytes | None:
        backend = self._backend
        store = backend.store
        if environ.get("CONTENT_LENGTH") or environ.get("HTTP_TRANSFER_ENCODING") or store.has_faults():
            return None
        version = store.version()
        if version != backend.synced_version:
            return None  # Flask's path applies the control changes first
        try:
            principal = backend.service.authorize(environ.get("HTTP_AUTHORIZATION"))
        except DomainError:
            return None  # Flask's path answers the error
        return self._pages.get(page_key(principal.domain_uuid, environ, version, backend.clock.now()))
