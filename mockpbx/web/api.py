"""The three documented endpoints: parse, call the domain, serialise."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, request

from mockpbx.domain.encoding import LONE_SURROGATE, loads_strict, utf8_encodable
from mockpbx.domain.errors import InvalidRequestError
from mockpbx.domain.service import PbxService
from mockpbx.web.responses import error_response, json_response

api = Blueprint("api", __name__)


def service() -> PbxService:
    """The domain service of the current app."""
    return current_app.extensions["mockpbx"].sync()  # type: ignore[no-any-return]


def json_body() -> object:
    """The decoded JSON body; raises InvalidRequestError if it is not JSON."""
    raw = request.get_data(cache=True)  # over the size limit raises 413
    if not raw.strip():
        raise InvalidRequestError("the request body must be a JSON object")
    try:
        document = loads_strict(raw)
    except (ValueError, RecursionError):
        raise InvalidRequestError("the request body is not valid JSON") from None
    if not utf8_encodable(document):  # it could be stored, hashed or answered by no UTF-8 text
        raise InvalidRequestError(f"the request body is not valid JSON: it holds {LONE_SURROGATE}")
    return document


def needs_json() -> Response | None:
    """A 415 response unless the request body is sent as JSON."""
    mimetype = request.mimetype
    if mimetype != "application/json" and not mimetype.endswith("+json"):
        return error_response(415, "Content-Type must be application/json")
    return None


@api.post("/v1/auth")
def login() -> Response:
    """Log in: the account for a username and password."""
    return needs_json() or json_response({"data": service().login(json_body()).to_json()})


@api.post("/v1/auth/token")
def token() -> Response:
    """Exchange an api_key for a bearer token."""
    profile = current_app.extensions["mockpbx"].settings.api_profile
    return needs_json() or json_response({"data": profile.token_body(service().issue_token(json_body()))})


@api.get("/v1/call/log")
def call_log() -> Response:
    """Routed here only so that Flask answers other methods with 405; GET and HEAD never get here.

    Every GET and HEAD of the call log is answered by `mockpbx.web.calllog.CallLogEndpoint`, in
    front of Flask (see that module for why).
    """
    raise RuntimeError("GET /v1/call/log is served by CallLogEndpoint, in front of Flask")
