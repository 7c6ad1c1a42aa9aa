"""The scripted observations of `mockpbx drift`: the same requests, in the same order, against
any host, each boiled down to a short value that two hosts can be compared on."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from itertools import pairwise

from mockpbx.conformance.rules import MAX_RANGE, parse_utc
from mockpbx.verify.client import Exchange, header
from mockpbx.verify.detect import detect
from mockpbx.verify.probes import FORMAT, ProbeContext, window_query

#: Search range of the offset at which a host reads windows (every offset in use), in quarter hours.
LOWEST_OFFSET, HIGHEST_OFFSET = -12 * 4, 14 * 4
QUARTER = timedelta(minutes=15)
#: Longest token lifetime drift waits out to see how an expired token is answered.
MAX_EXPIRY_WAIT = 15
#: Rows whose value no `mockpbx serve` option changes are still compared; these are the ones an option sets.
PROFILE, ZONE, LIFETIME = "profile spoken", "zone windows are read in", "token lifetime (s)"


@dataclass
class Observations:
    """Row name -> observed value (a short string), in the order observed."""

    values: dict[str, str] = field(default_factory=dict)
    #: Machine values behind some rows: the profile name, the zone offset in minutes, the lifetime.
    facts: dict[str, object] = field(default_factory=dict)

    def add(self, name: str, value: str) -> None:
        """Record one row."""
        self.values[name] = value


def answer(exchange: Exchange) -> str:
    """`<status> <error message>` (or the body's shape), for rows about error handling."""
    if exchange.error:
        return f"no answer ({exchange.error})"
    body = exchange.json()
    if isinstance(body, dict) and isinstance(body.get("error"), str):
        return f"{exchange.status} {body['error']}"
    if body is None:
        return f"{exchange.status} non-JSON {exchange.content_type or 'body'}".rstrip()
    return f"{exchange.status} {shape(body)}"


def _type(value: object) -> str:
    return {bool: "boolean", int: "integer", float: "number", str: "string", list: "array",
            dict: "object", type(None): "null"}.get(type(value), type(value).__name__)


def shape(value: object) -> str:
    """The fields and JSON types of an object: `{a: string, b: integer}`."""
    if not isinstance(value, dict):
        return _type(value)
    return "{" + ", ".join(f"{k}: {_type(v)}" for k, v in sorted(value.items())) + "}"


def _data(exchange: Exchange) -> object:
    body = exchange.json()
    return body.get("data") if isinstance(body, dict) else None


def observe_login(ctx: ProbeContext, obs: Observations) -> None:
    """The login's fields, and what a wrong password gets (only with username/password credentials)."""
    credentials = ctx.options.credentials
    if not credentials.username or not credentials.password:
        obs.add("login fields", "not observed (an api_key was given)")
        obs.add("wrong password", "not observed (an api_key was given)")
        return
    login = ctx.post_json("/v1/auth", {"username": credentials.username, "password": credentials.password}, "login")
    obs.add("login fields", shape(_data(login)) if login.status == 200 else answer(login))
    wrong = ctx.post_json("/v1/auth", {"username": credentials.username,
                                       "password": credentials.password + "-wrong"}, "wrong password")
    obs.add("wrong password", answer(wrong))


def observe_token(ctx: ProbeContext, obs: Observations, received_at: float) -> None:
    """The token's fields and its lifetime (`expire_at` - the host's Date, or `expired_in`)."""
    data = ctx.token_data
    obs.add("token fields", shape(data))
    lifetime: int | None = None
    if isinstance(data.get("expired_in"), int):
        lifetime = int(data["expired_in"])  # type: ignore[call-overload]
    elif isinstance(data.get("expire_at"), int) and ctx.token_exchange is not None:
        lifetime = int(data["expire_at"]) - _host_now(ctx.token_exchange, received_at)  # type: ignore[call-overload]
    obs.facts[LIFETIME] = lifetime
    obs.add(LIFETIME, "not observed" if lifetime is None else str(lifetime))


def _host_now(exchange: Exchange, fallback: float) -> int:
    """The host's clock when it answered: its Date header (whole seconds), else ours."""
    date = header(exchange.response_headers, "date")
    try:
        return int(parsedate_to_datetime(date).timestamp()) if date else int(fallback)
    except (TypeError, ValueError):
        return int(fallback)


def observe_page(ctx: ProbeContext, obs: Observations) -> dict[str, object] | None:
    """The page's and a call's fields, the profile spoken, default limit and the order; returns
    the newest call of the sample window (None if there is none)."""
    options = ctx.options
    exchange = ctx.get_calls("page", window_query(options.window_start, options.window_end))
    body = exchange.json()
    if exchange.status != 200 or not isinstance(body, dict):
        obs.add("call-log page fields", answer(exchange))
        return None
    records = [r for r in body.get("data") or [] if isinstance(r, dict)]
    found = detect(ctx.token_data, records[0] if records else None)
    ctx.profile = found.profile
    obs.facts[PROFILE] = found.profile.name if found.fits else None
    obs.add(PROFILE, found.profile.name if found.fits else "none (" + "; ".join(found.differences) + ")")
    obs.add("call-log page fields", "{" + ", ".join(sorted(body)) + "}")
    obs.add("call fields", shape(records[0]) if records else "not observed (no calls in the window)")
    obs.add("default limit", str(body.get("limit")))
    wide = ctx.get_calls("order", window_query(options.window_start, options.window_end, limit=50))
    wide_body = wide.json()
    rows = wide_body.get("data") if isinstance(wide_body, dict) else None
    obs.add("ordering", _ordering(rows if isinstance(rows, list) else []))
    return records[0] if records else None


def _ordering(records: list[object]) -> str:
    times = [parse_utc(r.get("start_time")) for r in records if isinstance(r, dict)]
    if len(times) < 2 or any(t is None for t in times):
        return "not observed (fewer than 2 calls)"
    pairs = list(pairwise(times))
    if all(a >= b for a, b in pairs):  # type: ignore[operator]
        return "newest first"
    if all(a <= b for a, b in pairs):  # type: ignore[operator]
        return "oldest first"
    return "unordered"


def observe_errors(ctx: ProbeContext, obs: Observations) -> None:
    """Statuses and messages for the same bad inputs."""
    end = ctx.options.window_end
    day = end - timedelta(days=1)
    bad: list[tuple[str, dict[str, object]]] = [
        ("missing start_date", {"end_date": end.strftime(FORMAT)}),
        ("malformed start_date", {"start_date": end.strftime("%Y/%m/%d %H:%M"), "end_date": end.strftime(FORMAT)}),
        ("impossible date (Feb 30)", {"start_date": f"{end.year:04d}-02-30 00:00:00",
                                      "end_date": end.strftime(FORMAT)}),
        ("31 days + 1 s", window_query(end - MAX_RANGE - timedelta(seconds=1), end)),
        ("inverted window", window_query(end, day)),
        ("limit=0", window_query(day, end, limit=0)),
        ("limit=abc", window_query(day, end, limit="abc")),
        ("offset=-1", window_query(day, end, offset=-1)),
    ]
    for label, query in bad:
        obs.add(label, answer(ctx.get_calls("errors", query)))
    for label, limit in (("limit=1000", 1000), ("limit=1001", 1001)):
        exchange = ctx.get_calls("limits", window_query(day, end, limit=limit))
        obs.add(label, str(exchange.status) if exchange.status == 200 else answer(exchange))
    obs.add("malformed token", answer(ctx.get_calls("auth", window_query(day, end), "Bearer not-a-token")))
    obs.add("no token", answer(ctx.get_calls("auth", window_query(day, end), None)))


def observe_zone(ctx: ProbeContext, obs: Observations, call: dict[str, object] | None) -> None:
    """The UTC offset the host reads windows in: put a known call at a window's edge and move
    the edge (a binary search over quarter hours, about 8 requests)."""
    base = parse_utc(call.get("start_time")) if call else None
    if call is None or base is None:
        obs.facts[ZONE] = None
        obs.add(ZONE, "not observed (no calls in the window)")
        return
    moment = base.replace(tzinfo=None)
    printed = _printed_offset(call, moment)

    def includes(quarters: int) -> bool:
        start, stop = moment + quarters * QUARTER, moment + HIGHEST_OFFSET * QUARTER
        query = window_query(start, stop, source=call.get("source"), limit=1000)
        body = ctx.get_calls("zone", query).json()
        data = body.get("data") if isinstance(body, dict) else None
        return isinstance(data, list) and any(isinstance(r, dict) and r.get("start_time") == call.get("start_time")
                                              and r.get("destination") == call.get("destination") for r in data)

    low, high = LOWEST_OFFSET, HIGHEST_OFFSET
    if not includes(low):
        obs.facts[ZONE] = None
        obs.add(ZONE, "not observed (the call is missing from every window around it)")
        return
    while low < high:
        middle = (low + high + 1) // 2
        low, high = (middle, high) if includes(middle) else (low, middle - 1)
    minutes = (low * 15) + printed
    obs.facts[ZONE] = minutes
    obs.add(ZONE, offset_text(minutes))


def _printed_offset(call: dict[str, object], printed: datetime) -> int:
    """Minutes between the printed time and UTC: 0 for UTC times; for local-with-Z times (a
    `uniqueid` of true Unix seconds a little before the start) the zone they are printed in."""
    unique = call.get("uniqueid")
    if not isinstance(unique, str) or not unique.partition(".")[0].isdigit():
        return 0
    setup = datetime.fromtimestamp(int(unique.partition(".")[0]), UTC).replace(tzinfo=None)
    return round((printed - setup) / QUARTER) * 15


def offset_text(minutes: int) -> str:
    """`UTC+07:00` for 420."""
    sign = "-" if minutes < 0 else "+"
    return f"UTC{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def observe_expired_token(ctx: ProbeContext, obs: Observations, issued_at: float,
                          clock: Callable[[], float], sleep: Callable[[float], None]) -> None:
    """How an expired token is answered: observed only when the token lives at most
    MAX_EXPIRY_WAIT seconds (drift waits it out, bounded); otherwise said so."""
    lifetime = obs.facts.get(LIFETIME)
    if not isinstance(lifetime, int) or not 0 < lifetime <= MAX_EXPIRY_WAIT:
        obs.add("expired token", f"not observed (drift waits out only tokens of {MAX_EXPIRY_WAIT} s or less)")
        return
    wait = issued_at + lifetime + 1.5 - clock()
    if wait > 0:
        sleep(min(wait, MAX_EXPIRY_WAIT + 2))
    end = ctx.options.window_end
    obs.add("expired token", answer(ctx.get_calls("expired token", window_query(end - timedelta(hours=1), end))))


def observe(ctx: ProbeContext, clock: Callable[[], float] = time.time,
            sleep: Callable[[float], None] = time.sleep) -> Observations:
    """Every observation, against the host `ctx` talks to (already authenticated)."""
    obs = Observations()
    issued_at = clock()
    call = observe_page(ctx, obs)
    observe_token(ctx, obs, issued_at)
    observe_login(ctx, obs)
    observe_errors(ctx, obs)
    observe_zone(ctx, obs, call)
    observe_expired_token(ctx, obs, issued_at, clock, sleep)
    return obs
