"""Scripted probes of the business rules: auth, the 31-day window, bad dates; every call-log
page they fetch is also judged by the page rules (echo, order, window, filter, arithmetic)."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from urllib.parse import quote, urlencode

from mockpbx.conformance import rules
from mockpbx.conformance.rules import CallLogQuery
from mockpbx.profiles import REFERENCE, Profile
from mockpbx.redaction import printable, redact_text
from mockpbx.verify.client import BudgetedClient, Exchange, describe_target, header
from mockpbx.verify.contract import Contract
from mockpbx.verify.options import VerifyOptions
from mockpbx.verify.results import Results, VerifyAborted

FORMAT = "%Y-%m-%d %H:%M:%S"
CHECKS = {
    "token_expiry": "expire_at is an integer of Unix seconds in the near future (revised profile: expired_in "
                    "a positive integer of seconds)",
    "auth_rejects_bad_tokens": "a missing, malformed, tampered or unsigned token gets 401 with a JSON error",
    "window_31_days": "a window of exactly 31 days is served; 31 days + 1 s gets 400 with the documented message",
    "window_inverted": "start_date after end_date gets 400",
    "bad_date_rejected": "an impossible date gets 400 with a JSON error, never a 5xx",
    "paging": "limit/offset echoed (defaults 10/0), len(data) <= limit, total stable, pages disjoint and "
              "together exactly total, past-the-end pages empty",
    "newest_first": "calls ordered by start_time, newest first, within and across pages",
    "records_in_window": "every call starts inside the requested window, read in --timezone",
    "source_filter": "source=... returns only, and all, the calls from that source",
    "record_arithmetic": "duration = end_time - start_time; amount a non-negative integer",
}


@dataclass
class ProbeContext:
    """What the probes share: the client, the contract, the options, the results, the token."""

    client: BudgetedClient
    contract: Contract
    options: VerifyOptions
    results: Results
    progress: Callable[[str], None] = lambda message: None
    now: Callable[[], float] = time.time
    token: str = ""
    #: The profile the host is checked against (decided by `identify`).
    profile: Profile = REFERENCE
    #: The token response's `data` and its exchange, for the profile detection and the expiry check.
    token_data: dict[str, object] = field(default_factory=dict)
    token_exchange: Exchange | None = None
    #: (window, local start times) of every page fetched, for the time-zone diagnosis.
    samples: list[tuple[tuple[datetime, datetime], list[datetime]]] = field(default_factory=list)

    @property
    def calls_path(self) -> str:
        """The call log's path."""
        return self.contract.path_of("listCalls", "/v1/call/log")

    def post_json(self, path: str, payload: dict[str, str], origin: str) -> Exchange:
        """POST a JSON body."""
        return self.client.send("POST", path, headers={"Content-Type": "application/json"},
                                body=json.dumps(payload).encode(), origin=origin, retry_rate_limited=True)

    def get_calls(self, origin: str, query: dict[str, object], authorization: str | None = "") -> Exchange:
        """GET the call log; `authorization` '' means the real token, None means no header."""
        header = f"Bearer {self.token}" if authorization == "" else authorization
        headers = {"Accept": "application/json"} | ({"Authorization": header} if header else {})
        # surrogatepass: a value taken from the host's records may hold a lone surrogate (the host
        # sent "\\ud800"); it is sent back as that code point's UTF-8 form, not an internal error.
        target = f"{self.calls_path}?{urlencode(query, quote_via=quote, errors='surrogatepass')}"
        return self.client.send("GET", target, headers=headers, origin=origin, retry_rate_limited=True)

    def page(self, origin: str, query: dict[str, object]) -> tuple[Exchange, dict[str, object] | None]:
        """GET a page and judge it by the page rules; the body if it is a 200 page."""
        exchange = self.get_calls(origin, query)
        sent = CallLogQuery.from_mapping({k: str(v) for k, v in query.items()})
        page = rules.page_data(exchange.status or 0, exchange.json())
        if page is None:
            return exchange, None
        data, body = page
        zone, verify = self.options.zone, self.results.verify
        verify("paging", exchange, rules.check_page_shape, sent, data, body)
        verify("record_arithmetic", exchange, rules.check_record_arithmetic, data)
        verify("newest_first", exchange, rules.check_newest_first, data)
        verify("records_in_window", exchange, rules.check_in_window, sent, data, zone, self.profile.read_time)
        if sent.source:
            verify("source_filter", exchange, rules.check_source_filter, sent, data)
        window = sent.window()
        if window is not None:
            times = [t for t in (rules.local_start(r, zone, self.profile.read_time) for r in data) if t is not None]
            self.samples.append((window, times))
        return exchange, body


def window_query(start: datetime, end: datetime, **extra: object) -> dict[str, object]:
    """A call-log query for a naive local window."""
    return {"start_date": start.strftime(FORMAT), "end_date": end.strftime(FORMAT), **extra}


def describe_answer(exchange: Exchange) -> str:
    """The status and the start of the body (or the network error), for messages: on one line,
    with secret-named values and JWTs hidden (a login answered 201 still carries an api_key, which
    the client learns as a secret only from a 200) and control characters written as escapes, so
    that a host's answer can neither leak a secret nor rewrite the terminal or the CI log."""
    if exchange.error:
        return one_line(exchange.error)
    location = header(exchange.response_headers, "location")
    moved = f" to {one_line(redact_text(location))}" if location and 300 <= (exchange.status or 0) < 400 else ""
    return f"HTTP {exchange.status}{moved}" + _quoted_body(exchange)


def _quoted_body(exchange: Exchange) -> str:
    """The start of an answer's body for a message (after a space), redacted and on one line; '' if none."""
    body = redact_text(exchange.response_body[:200].decode("utf-8", "replace").strip())
    return f" {one_line(body)}" if body else ""


def describe_page(exchange: Exchange) -> str:
    """Why an answer is not a page of calls, for messages: its status and body, or the member missing."""
    if exchange.status != 200:
        return describe_answer(exchange)
    body = exchange.json()
    if not isinstance(body, dict):
        return f"HTTP 200 that is not a JSON object:{_quoted_body(exchange)}"
    if not isinstance(body.get("data"), list):
        return f"HTTP 200 without a `data` list:{_quoted_body(exchange)}"
    return f"HTTP 200 without an integer `total`:{_quoted_body(exchange)}"


def one_line(text: str) -> str:
    """`text` fit for a one-line message: control characters (line ends too) as escapes."""
    return printable(text).replace("\n", "\\n")


def authenticate(ctx: ProbeContext) -> str:
    """Log in (unless an api_key was given) and get a token; raises VerifyAborted if refused."""
    credentials, target = ctx.options.credentials, describe_target(ctx.options.base_url)
    api_key = credentials.api_key
    if api_key is None:
        path = ctx.contract.path_of("login", "/v1/auth")
        exchange = ctx.post_json(path, {"username": credentials.username or "",
                                        "password": credentials.password or ""}, "login")
        if exchange.error and exchange.status is None:  # no answer (an answer cut off is refused below)
            raise VerifyAborted(f"cannot reach {target}: {exchange.error}")
        data = _data(exchange)
        if exchange.status != 200 or not isinstance(data.get("api_key"), str):
            raise VerifyAborted(f"login refused: POST {path} answered {describe_answer(exchange)}")
        api_key = str(data["api_key"])
    path = ctx.contract.path_of("getToken", "/v1/auth/token")
    exchange = ctx.post_json(path, {"api_key": api_key}, "token")
    if exchange.error and exchange.status is None:
        raise VerifyAborted(f"cannot reach {target}: {exchange.error}")
    data = _data(exchange)
    if exchange.status != 200 or not isinstance(data.get("token"), str):
        raise VerifyAborted(f"token refused: POST {path} answered {describe_answer(exchange)}")
    ctx.token_data, ctx.token_exchange = data, exchange
    ctx.token = str(data["token"])
    return ctx.token


def check_token(ctx: ProbeContext) -> None:
    """The token's lifetime field, as the profile has it: expire_at in the near future, or expired_in."""
    data, exchange = ctx.token_data, ctx.token_exchange
    if "expire_at" in ctx.profile.schema_keys("Token"):
        ctx.results.verify("token_expiry", exchange, rules.check_token_expiry, data.get("expire_at"), ctx.now())
    else:
        ctx.results.verify("token_expiry", exchange, rules.check_expired_in, data.get("expired_in"))


def _data(exchange: Exchange) -> dict[str, object]:
    body = exchange.json()
    data = body.get("data") if isinstance(body, dict) else None
    return data if isinstance(data, dict) else {}


def _tampered(token: str) -> str:
    """The token with one character in the middle of its last segment changed."""
    head, dot, tail = token.rpartition(".")
    index = len(head) + len(dot) + len(tail) // 2 if len(tail) >= 4 else len(token) // 2
    return token[:index] + ("A" if token[index] != "A" else "B") + token[index + 1:]


def _unsigned(token: str) -> str | None:
    """The token's claims under an `alg: none` header with no signature, if it looks like a JWT."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    header = base64.urlsafe_b64encode(b'{"alg":"none","typ":"JWT"}').rstrip(b"=").decode()
    return f"{header}.{parts[1]}."


def _expect_401(label: str, exchange: Exchange) -> None:
    body = exchange.json()
    if not (exchange.status == 401):
        raise rules.RuleViolation(f"with {label}: expected 401, got {describe_answer(exchange)}")
    if not (isinstance(body, dict) and isinstance(body.get("error"), str)):
        raise rules.RuleViolation(f"with {label}: expected a JSON body {{\"error\": ...}}, got {exchange.content_type or 'no content type'}")


def probe_bad_tokens(ctx: ProbeContext) -> None:
    """Missing, malformed, tampered and unsigned tokens are refused with 401."""
    end = ctx.options.window_end
    query = window_query(end - timedelta(hours=1), end, limit=1)
    cases = [("no Authorization header", None), ("a malformed token", "Bearer not-a-valid-token"),
             ("a tampered copy of the real token", f"Bearer {_tampered(ctx.token)}")]
    unsigned = _unsigned(ctx.token)
    if unsigned:
        cases.append(("an unsigned (alg: none) copy of the real token", f"Bearer {unsigned}"))
    for label, authorization in cases:
        exchange = ctx.get_calls("auth", query, authorization=authorization)
        ctx.results.verify("auth_rejects_bad_tokens", exchange, _expect_401, label, exchange)


def probe_window(ctx: ProbeContext) -> None:
    """31 days is served, 31 days + 1 s is refused with the documented message, inverted is refused."""
    end, message = ctx.options.window_end, ctx.contract.range_message
    exact = window_query(end - rules.MAX_RANGE, end, limit=1)
    exchange, _ = ctx.page("window", exact)
    ctx.results.verify("window_31_days", exchange, _expect_served, exchange)
    for name, start, stop in (("window_31_days", end - rules.MAX_RANGE - timedelta(seconds=1), end),
                              ("window_inverted", end, end - timedelta(days=1))):
        query = window_query(start, stop, limit=1)
        exchange = ctx.get_calls("window", query)
        sent = CallLogQuery.from_mapping({k: str(v) for k, v in query.items()})
        ctx.results.verify(name, exchange, _expect_refused, sent, exchange, message)


def _expect_served(exchange: Exchange) -> None:
    if not (exchange.status == 200):
        raise rules.RuleViolation(f"a window of exactly 31 days must be served: expected 200, got {describe_answer(exchange)}")


def _expect_refused(query: CallLogQuery, exchange: Exchange, message: str) -> None:
    if not (exchange.status is not None):
        raise rules.RuleViolation(f"expected 400, got {describe_answer(exchange)}")
    rules.check_window_rule(query, exchange.status, exchange.json(), message)


def probe_bad_date(ctx: ProbeContext) -> None:
    """An impossible calendar date (Feb 30) gets 400 with a JSON error."""
    end = ctx.options.window_end
    start = f"{end.year:04d}-02-30 00:00:00"
    exchange = ctx.get_calls("bad date", {"start_date": start, "end_date": end.strftime(FORMAT), "limit": 1})
    ctx.results.verify("bad_date_rejected", exchange, _expect_json_400, start, exchange)


def _expect_json_400(start: str, exchange: Exchange) -> None:
    body = exchange.json()
    if not (exchange.status == 400):
        raise rules.RuleViolation(f"start_date {start} is impossible: expected 400, got {describe_answer(exchange)}")
    if not (isinstance(body, dict) and isinstance(body.get("error"), str)):
        raise rules.RuleViolation(f"expected a JSON body {{\"error\": ...}}, got {exchange.content_type or 'no content type'}")
