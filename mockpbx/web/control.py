"""The control API under /_mock/: reset, clock, accounts, calls, faults, journal, API coverage."""

from __future__ import annotations

import hmac
import ipaddress
from flask import Blueprint, Response, current_app, request

from mockpbx.backend import Backend
from mockpbx.clock import SUPPORTED_RANGE, in_supported_range
from mockpbx.control.state import filter_requests
from mockpbx.domain.calls import rfc3339
from mockpbx.domain.errors import AuthenticationError, ForbiddenError, InvalidRequestError
from mockpbx.domain.records import parse_rfc3339, refuse_unknown_keys
from mockpbx.resources import control_contract_path, load_contract
from mockpbx.web.api import json_body, needs_json
from mockpbx.web.pages import DASHBOARD_PREFIX
from mockpbx.web.responses import json_response

control = Blueprint("control", __name__, url_prefix="/_mock")
MAX_ADVANCE = 100 * 365 * 86400


def backend() -> Backend:
    """The backend of the current app."""
    return current_app.extensions["mockpbx"]  # type: ignore[no-any-return]


@control.before_app_request  # app-wide: it runs before routing errors (404, 405) are raised
def check_control_token() -> None:
    """With a control token configured, every request under /_mock must carry it as a bearer
    token, else 401 before anything else (unknown paths and wrong methods included)."""
    expected = backend().settings.control_token
    if not expected:
        return
    path = request.path
    if path == DASHBOARD_PREFIX or path.startswith(f"{DASHBOARD_PREFIX}/"):  # the page and its assets hold no data;
        return                                                # the page asks for the token itself
    if path == control.url_prefix or path.startswith(f"{control.url_prefix}/"):
        scheme, _, given = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), expected.encode()):
            raise AuthenticationError("the control API needs the control token (Authorization: Bearer <token>)")


#: Methods that change the mock: refused from another site's page (see `refuse_cross_site`).
_CHANGING = frozenset(("POST", "PUT", "PATCH", "DELETE"))


@control.before_app_request
def refuse_cross_site() -> None:
    """A request that changes the mock, sent by a browser from a page of another origin, is 403.

    A page on any site could otherwise reset or fault a developer's local mock: a POST with no
    body, or a form's, needs no CORS preflight. Browsers say where such a request comes from
    (`Origin`, `Sec-Fetch-Site`); the dashboard's own requests are same-origin, and clients
    that are not browsers (curl, the pytest plugin, verify) send neither, so nothing changes
    for them."""
    if request.method not in _CHANGING:
        return
    path = request.path
    if not (path == control.url_prefix or path.startswith(f"{control.url_prefix}/")):
        return
    origin = request.headers.get("Origin")
    site = request.headers.get("Sec-Fetch-Site", "").strip().lower()
    if site in ("cross-site", "same-site") or (origin is not None and origin.rstrip("/") != request.host_url.rstrip("/")):
        raise ForbiddenError(f"the control API takes no requests from another origin's page "
                             f"(Origin: {origin or 'none'}, Sec-Fetch-Site: {site or 'none'})")
    # A page whose own host name was rebound to this machine's address (DNS rebinding) is "same
    # origin" to the browser: from a browser, a change is taken only by an address or localhost.
    if (origin is not None or site) and not _addressed_directly(request.host):
        raise ForbiddenError(f"the control API takes changes from a browser only when it is reached by "
                             f"localhost or an IP address, not by the name {request.host!r} (DNS rebinding)")


#: The query parameters each control endpoint reads; any other is a 400, not ignored.
_QUERY = {"control.list_requests": ("method", "path")}


@control.before_request
def refuse_what_is_not_read() -> None:
    """A query parameter the endpoint does not read, or a body sent to one that reads none, is a
    400 naming it: ignored, `?metod=POST` listed the whole journal, `/reset?coverage=true` kept the
    coverage and `DELETE /faults {"id": 3}` removed every rule."""
    refuse_unknown_keys(dict.fromkeys(request.args), _QUERY.get(str(request.endpoint), ()), what="query parameter")
    if request.method in ("GET", "HEAD", "DELETE") and _announces_body():
        hint = " (one rule: DELETE /_mock/faults/<id>)" if request.endpoint == "control.clear_faults" else ""
        raise InvalidRequestError(f"{request.method} {request.path} takes no body{hint}")


def _announces_body() -> bool:
    """Whether the request announces a body: a Content-Length above 0, or a Transfer-Encoding."""
    return bool(request.content_length or request.headers.get("Transfer-Encoding"))


def _addressed_directly(host: str) -> bool:
    """Whether a Host header names this machine by an IP address, `localhost`, or the host the
    mock was told to listen on."""
    name = host[1:].partition("]")[0] if host.startswith("[") else host.rpartition(":")[0] or host
    name = name.lower().rstrip(".")
    if name == "localhost" or name.endswith(".localhost") or name == backend().settings.host.strip("[]").lower():
        return True
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


def _body() -> object:
    if (error := needs_json()) is not None:
        raise _Abort(error)
    return json_body()


class _Abort(Exception):
    def __init__(self, response: Response) -> None:
        self.response = response


@control.errorhandler(_Abort)
def _abort(error: _Abort) -> Response:
    return error.response


@control.post("/reset")
def reset() -> Response:
    """Back to the start-up state; API coverage too only with `{"coverage": true}`."""
    body = _body() if _announces_body() else {}
    if not isinstance(body, dict):
        raise InvalidRequestError("the request body must be a JSON object")
    refuse_unknown_keys(body, ("coverage",))
    if not isinstance(body.get("coverage", False), bool):
        raise InvalidRequestError("coverage must be true or false")
    backend().store.reset()
    if body.get("coverage"):
        backend().coverage.clear()
    backend().sync()
    return json_response({"status": "reset"})


@control.get("/coverage")
def get_coverage() -> Response:
    """Which outcomes of the API clients have met since start-up (or the last clearing)."""
    return json_response(backend().coverage.to_json())


@control.delete("/coverage")
def clear_coverage() -> Response:
    """Forget the API-coverage counts."""
    backend().coverage.clear()
    return json_response({"status": "cleared"})


def _clock_json() -> dict[str, object]:
    clock = backend().clock
    now = int(clock.now())
    return {"now": rfc3339(now), "unix": now, "frozen": clock.frozen}


@control.get("/clock")
def get_clock() -> Response:
    """The mock's time."""
    return json_response(_clock_json())


@control.post("/clock")
def set_clock() -> Response:
    """Move the clock (`advance_seconds` or `now`) and/or freeze or unfreeze it (`frozen`)."""
    body = _body()
    if not isinstance(body, dict):
        raise InvalidRequestError("the request body must be a JSON object")
    refuse_unknown_keys(body, ("advance_seconds", "now", "frozen"))
    advance, now, frozen = body.get("advance_seconds"), body.get("now"), body.get("frozen")
    if "advance_seconds" in body and "now" in body:
        raise InvalidRequestError("give advance_seconds or now, not both")
    if "advance_seconds" in body and (isinstance(advance, bool) or not isinstance(advance, int | float)
                                      or not -MAX_ADVANCE <= advance <= MAX_ADVANCE):
        raise InvalidRequestError(f"advance_seconds must be a number from -{MAX_ADVANCE} to {MAX_ADVANCE}")
    when = parse_rfc3339("now", now) if "now" in body else None
    if "frozen" in body and not isinstance(frozen, bool):
        raise InvalidRequestError("frozen must be true or false")
    if not {"advance_seconds", "now", "frozen"} & set(body):
        raise InvalidRequestError("give advance_seconds, now or frozen")
    clock = backend().clock
    target = when if when is not None else clock.now() + advance if advance is not None else None
    if target is not None and not in_supported_range(target):
        field = "now" if when is not None else "advance_seconds"
        raise InvalidRequestError(f"{field} would put the clock at {rfc3339(int(target))}; "
                                  f"the mock's clock stays from {SUPPORTED_RANGE}")
    if frozen is True:
        clock.freeze()
    if when is not None:
        clock.set(when)
    if advance is not None:
        clock.advance(advance)
    if frozen is False:
        clock.unfreeze()
    return json_response(_clock_json())


@control.post("/accounts")
def add_account() -> Response:
    """Add an account; returns it with its api_key."""
    account = backend().add_account(_body())
    return json_response({"data": {**account.to_json(), "login": account.login}}, 201)


@control.get("/accounts")
def list_accounts() -> Response:
    """The accounts (no passwords, no api keys) and the domains."""
    return json_response(backend().accounts_overview())


@control.post("/calls")
def add_calls() -> Response:
    """Add calls to a domain (by domain_uuid or by an account's username)."""
    domain, added = backend().add_calls(_body())
    return json_response({"added": added, "domain_uuid": domain}, 201)


@control.post("/faults")
def add_fault() -> Response:
    """Add a fault rule."""
    return json_response({"data": backend().store.add_fault(_body()).to_json()}, 201)


@control.get("/faults")
def list_faults() -> Response:
    """The active fault rules."""
    return json_response({"data": [f.to_json() for f in backend().store.faults()]})


@control.delete("/faults")
def clear_faults() -> Response:
    """Remove every fault rule."""
    return json_response({"removed": backend().store.clear_faults()})


@control.delete("/faults/<int:fault_id>")
def clear_fault(fault_id: int) -> Response:
    """Remove one fault rule."""
    removed = backend().store.clear_faults(fault_id)
    if not removed:
        return json_response({"error": f"no fault {fault_id}"}, 404)
    return json_response({"removed": removed})


@control.get("/requests")
def list_requests() -> Response:
    """The journal, oldest first; `method` and `path` (exact or `prefix*`) filter it."""
    entries = filter_requests(backend().store.requests(), request.args)
    return json_response({"data": entries, "total": len(entries)})


@control.delete("/requests")
def clear_requests() -> Response:
    """Empty the journal."""
    backend().store.clear_requests()
    return json_response({"status": "cleared"})


@control.get("/openapi.json")
def control_contract() -> Response:
    """The control API's own contract."""
    return json_response(load_contract(control_contract_path()))
