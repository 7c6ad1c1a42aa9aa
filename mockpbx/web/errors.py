"""The one place where errors become HTTP statuses and JSON bodies: never HTML, never a 500 page."""

from __future__ import annotations

import logging

from flask import Flask, Response, request
from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound, RequestEntityTooLarge

from mockpbx.domain.errors import AuthenticationError, ConflictError, DomainError, ForbiddenError, InvalidRequestError
from mockpbx.web.bodies import BODY_ERROR
from mockpbx.web.responses import error_response

log = logging.getLogger("mockpbx")

_STATUS = {InvalidRequestError: 400, AuthenticationError: 401, ForbiddenError: 403, ConflictError: 409}


def domain_error_response(error: DomainError, bearer_realm: bool = False) -> Response:
    """The JSON answer to a domain error; a 401 of a bearer-protected path says so in `WWW-Authenticate`."""
    status = _STATUS.get(type(error), 400)
    headers = None
    if status == 401 and bearer_realm:
        headers = {"WWW-Authenticate": 'Bearer error="invalid_token"'}
    return error_response(status, error.message, headers)


def _domain_error(error: DomainError) -> Response:
    return domain_error_response(error, request.path == "/v1/call/log")


def _http_error(error: HTTPException) -> Response:
    status = error.code or 500
    if isinstance(error, NotFound):
        message = f"not found: {request.path}"
    elif isinstance(error, MethodNotAllowed):
        allowed = ", ".join(sorted(m for m in (error.valid_methods or []) if m != "OPTIONS"))
        message = f"method {request.method} not allowed on {request.path}; allowed: {allowed}"
    elif isinstance(error, RequestEntityTooLarge):
        message = f"request body is larger than {request.max_content_length} bytes"
    else:
        message = (error.description or error.name).strip()
    headers = {k: v for k, v in error.get_headers() if k.lower() != "content-type"}
    if isinstance(error, MethodNotAllowed) and error.valid_methods:  # werkzeug's order is a set's: vary none
        headers["Allow"] = ", ".join(sorted(error.valid_methods))
    if request.environ.get(BODY_ERROR):  # the body is unread or cut: this connection cannot carry another request
        headers["Connection"] = "close"
    return error_response(status, message, headers)


def unexpected_response(method: str, path: str) -> Response:
    """The 500 answer to a bug, logged with its traceback (call from an `except` block)."""
    log.exception("unexpected error on %s %s", method, path)
    return error_response(500, "internal error in mockpbx; please report it")


def _unexpected(error: Exception) -> Response:
    return unexpected_response(request.method, request.path)


def register_error_handlers(app: Flask) -> None:
    """Map domain errors and HTTP errors to JSON responses."""
    app.register_error_handler(DomainError, _domain_error)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _unexpected)
