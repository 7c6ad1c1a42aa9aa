"""Schemathesis glue: the login -> token auth provider, the business-rule checks, and a
hook that steers generated call-log windows to where the rules and the data are."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import schemathesis
from hypothesis import strategies as st

from mockpbx.conformance.rules import (CallLogQuery, TimeReader, check_page, check_window_rule, parse_local,
                                       read_utc)

CALL_LOG = "/v1/call/log"
_FORMAT = "%Y-%m-%d %H:%M:%S"
_PATTERN = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}")


@dataclass(frozen=True)
class Credentials:
    """How to get a token: an api_key, or a username and password to log in with first."""

    username: str | None = None
    password: str | None = None
    api_key: str | None = None

    def __repr__(self) -> str:
        return f"Credentials(username={self.username!r}, password=<redacted>, api_key=<redacted>)"


class AuthFailed(Exception):
    """Login or token exchange did not work; the message says which step and the status."""


@dataclass
class RuleSettings:
    """What the business-rule checks need to know: the host's time zone and how it prints times."""

    zone: ZoneInfo = ZoneInfo("Asia/Ho_Chi_Minh")
    #: The running profile's `read_time` (UTC for the reference profile).
    read_time: TimeReader = read_utc


RULES = RuleSettings()


def _is_call_log_get(response: Any) -> bool:
    request = response.request
    return request.method == "GET" and CALL_LOG in str(request.url).split("?")[0]


def _json(response: Any) -> object:
    try:
        return response.json()
    except Exception:  # not JSON: the content-type and schema checks report it
        return None


@schemathesis.check
def call_log_window_rule(ctx: Any, response: Any, case: Any) -> bool | None:
    """31 days at most, exactly the vendor's message beyond, inverted windows rejected."""
    if not _is_call_log_get(response) or (case.meta is not None and not case.meta.generation.mode.is_positive):
        return None  # negative cases may be rejected for another reason first
    check_window_rule(CallLogQuery.from_mapping(case.query), response.status_code, _json(response))
    return True


@schemathesis.check
def call_log_paging(ctx: Any, response: Any, case: Any) -> bool | None:
    """limit/offset echoed, page size, newest first, records in the window, source filter, arithmetic."""
    if not _is_call_log_get(response):
        return None
    check_page(CallLogQuery.from_mapping(case.query), response.status_code, _json(response), RULES.zone,
               RULES.read_time)
    return True


def fetch_token(schema: Any, credentials: Credentials) -> str:
    """Log in (unless an api_key is given), exchange the api_key for a token, return the token."""
    api_key = credentials.api_key
    if api_key is None:
        response = schema["/v1/auth"]["POST"].Case(
            body={"username": credentials.username, "password": credentials.password},
            media_type="application/json").call()
        if response.status_code != 200:
            raise AuthFailed(f"login refused: POST /v1/auth answered {response.status_code}")
        api_key = response.json()["data"]["api_key"]
    response = schema["/v1/auth/token"]["POST"].Case(
        body={"api_key": api_key}, media_type="application/json").call()
    if response.status_code != 200:
        raise AuthFailed(f"token refused: POST /v1/auth/token answered {response.status_code}")
    return str(response.json()["data"]["token"])


def install_auth(schema: Any, credentials: Credentials, refresh_interval: int = 300) -> None:
    """Authenticate generated call-log requests with a token from login -> token."""

    class LoginTokenAuth:
        def get(self, case: Any, ctx: Any) -> str:
            return fetch_token(ctx.operation.schema, credentials)

        def set(self, case: Any, data: str, ctx: Any) -> None:
            case.headers = case.headers or {}
            case.headers["Authorization"] = f"Bearer {data}"

    schema.auth.auth(refresh_interval=refresh_interval).apply_to(path=CALL_LOG)(LoginTokenAuth)


def install_window_steering(schema: Any, anchor: datetime | None = None) -> None:
    """Make most generated call-log windows valid and near `anchor` (where the data is).

    Random date pairs are nearly always years apart, so without this the 200 path and
    the 31-day boundary are rarely reached. Only queries whose dates are both valid are
    rewritten, so negative cases stay negative.
    """

    @schema.hook  # type: ignore[untyped-decorator]  # `schema` is a schemathesis schema, typed Any
    def flatmap_query(context: Any, query: dict[str, Any] | None) -> Any:
        if (context.operation is None or context.operation.path != CALL_LOG or not query
                or not all(isinstance(query.get(k), str) and _PATTERN.fullmatch(query[k])
                           for k in ("start_date", "end_date"))):
            return st.just(query)
        base = anchor or datetime.now().replace(microsecond=0)
        starts = st.integers(0, 95 * 86400).map(lambda s: base - timedelta(seconds=s))
        if parse_local(query["start_date"]) is not None:
            starts = st.one_of(st.just(parse_local(query["start_date"])), starts)
        lengths = st.one_of(st.sampled_from([0, 86400, 31 * 86400, 31 * 86400 + 1, -1]),
                            st.integers(0, 31 * 86400), st.integers(31 * 86400, 40 * 86400))

        def rewrite(start: datetime, length: int) -> dict[str, Any]:
            end = start + timedelta(seconds=length)
            if not 1 <= end.year <= 9999:
                return query
            return {**query, "start_date": start.strftime(_FORMAT), "end_date": end.strftime(_FORMAT)}

        return st.one_of(st.just(query), st.builds(rewrite, starts, lengths), st.builds(rewrite, starts, lengths))
