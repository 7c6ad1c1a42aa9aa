"""The options of `mockpbx verify`, parsed once into a frozen object."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from mockpbx.conformance.hooks import Credentials
from mockpbx.conformance.rules import MAX_RANGE
from mockpbx.resources import contract_path
from mockpbx.urls import shown, url_problem

DEFAULT_TIMEZONE = "Asia/Ho_Chi_Minh"
DEFAULT_MAX_REQUESTS = 300
DEFAULT_RATE_LIMIT = "5/s"
DEFAULT_TIMEOUT = 10.0
#: The default sample window: the last days up to now.
DEFAULT_WINDOW = timedelta(days=3)
MIN_REQUESTS = 10
ENV_PREFIX = "MOCKPBX_VERIFY_"
_RATE = re.compile(r"\s*([0-9]+(?:\.[0-9]+)?)\s*(?:/\s*([smh]))?\s*")
_PER = {None: 1.0, "s": 1.0, "m": 60.0, "h": 3600.0}
_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d")


class OptionsError(ValueError):
    """An option that cannot be used; the message names it."""


@dataclass(frozen=True)
class VerifyOptions:
    """Everything one verify run needs to know."""

    base_url: str
    credentials: Credentials
    window_start: datetime
    window_end: datetime
    timezone: str = DEFAULT_TIMEZONE
    max_requests: int = DEFAULT_MAX_REQUESTS
    rate_limit: float = 5.0
    timeout: float = DEFAULT_TIMEOUT
    contract: Path | None = None
    report_junit: Path | None = None
    report_json: Path | None = None
    probe_methods: bool = False
    seed: int = 0
    #: `auto` (decide from the host's answers) or a profile name.
    profile: str = "auto"

    @property
    def zone(self) -> ZoneInfo:
        """The time zone that windows are read in."""
        return ZoneInfo(self.timezone)

    @property
    def contract_path(self) -> Path:
        """The contract to verify against."""
        return self.contract or contract_path()

    def secrets(self) -> list[str]:
        """The values that must never be shown."""
        return [s for s in (self.credentials.password, self.credentials.api_key) if s]

    def describe(self) -> dict[str, Any]:
        """The options as plain values, without secrets."""
        return {"base_url": self.base_url, "username": self.credentials.username,
                "auth": "api_key" if self.credentials.api_key else "username/password",
                "window_start": str(self.window_start), "window_end": str(self.window_end),
                "timezone": self.timezone, "max_requests": self.max_requests, "rate_limit": self.rate_limit,
                "timeout": self.timeout, "contract": str(self.contract_path), "probe_methods": self.probe_methods,
                "seed": self.seed, "profile": self.profile}


def parse_rate(text: str) -> float:
    """Requests per second from `5`, `5/s`, `120/m` or `1000/h`."""
    match = _RATE.fullmatch(text)
    if not match or float(match.group(1)) <= 0:
        raise OptionsError(f"--rate-limit must look like 5, 5/s, 120/m or 1000/h, got {text!r}")
    return float(match.group(1)) / _PER[match.group(2)]


def parse_when(name: str, text: str) -> datetime:
    """A naive wall-clock time from `YYYY-MM-DD[ HH:MM[:SS]]` (a `T` may separate date and time)."""
    for form in _FORMATS:
        try:
            return datetime.strptime(text.strip(), form)
        except ValueError:
            continue
    raise OptionsError(f"--{name} must be a date and time as YYYY-MM-DD HH:MM:SS, got {text!r}")


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise OptionsError(f"--timezone is not a known IANA time zone: {name!r}") from None


def _base_url(text: str | None) -> str:
    if not text:
        raise OptionsError("--base-url is required, e.g. --base-url http://127.0.0.1:8080")
    problem = url_problem(text.strip())
    if problem is not None:
        hint = ": use --username/--password or --api-key" if "password" in problem else ""
        raise OptionsError(f"--base-url {problem}{hint}, got {shown(text.strip())!r}")
    return text.strip().rstrip("/")


def _credentials(values: Mapping[str, Any], env: Mapping[str, str]) -> Credentials:
    found = {name: values.get(name) or env.get(ENV_PREFIX + name.upper()) or None
             for name in ("username", "password", "api_key")}
    if found["api_key"]:
        return Credentials(**found)
    if found["username"] and found["password"]:
        return Credentials(**found)
    if found["username"] or found["password"]:
        raise OptionsError("give both --username and --password (or MOCKPBX_VERIFY_USERNAME/PASSWORD)")
    raise OptionsError("no credentials: give --username and --password, or --api-key "
                       "(or MOCKPBX_VERIFY_USERNAME/PASSWORD/API_KEY)")


def _window(start: str | None, end: str | None, zone: ZoneInfo, now: float) -> tuple[datetime, datetime]:
    last = datetime.fromtimestamp(int(now), zone).replace(tzinfo=None)
    window_end = parse_when("window-end", end) if end else last
    window_start = parse_when("window-start", start) if start else window_end - DEFAULT_WINDOW
    if window_start >= window_end:
        raise OptionsError(f"--window-start {window_start} must be before --window-end {window_end}")
    if window_end - window_start > MAX_RANGE:
        raise OptionsError("the sample window must be at most 31 days, the API's own limit")
    return window_start, window_end


def _number(name: str, value: Any, low: float, kind: type = int) -> Any:
    try:
        number = kind(value)
    except (TypeError, ValueError):
        raise OptionsError(f"--{name} must be a number, got {value!r}") from None
    if number < low:
        raise OptionsError(f"--{name} must be at least {low:g}, got {value}")
    return number


def _given(values: Mapping[str, Any], name: str, default: Any) -> Any:
    value = values.get(name)
    return default if value is None or value == "" else value


def build_options(values: Mapping[str, Any], env: Mapping[str, str] | None = None,
                  now: float | None = None) -> VerifyOptions:
    """Options from command-line values (None means not given) and MOCKPBX_VERIFY_* variables."""
    import time
    env = os.environ if env is None else env
    timezone = values.get("timezone") or DEFAULT_TIMEZONE
    zone = _zone(timezone)
    start, end = _window(values.get("window_start"), values.get("window_end"), zone,
                         time.time() if now is None else now)
    profile = str(_given(values, "profile", "auto"))
    if profile != "auto":
        from mockpbx.profiles import get_profile
        try:
            get_profile(profile)
        except ValueError as error:
            raise OptionsError(f"--profile must be auto or a profile: {error}") from None
    contract = values.get("contract")
    if contract is not None and not Path(contract).is_file():
        raise OptionsError(f"--contract {contract} is not a file")
    return VerifyOptions(
        base_url=_base_url(values.get("base_url")), credentials=_credentials(values, env),
        window_start=start, window_end=end, timezone=timezone,
        max_requests=_number("max-requests", _given(values, "max_requests", DEFAULT_MAX_REQUESTS),
                             MIN_REQUESTS),
        rate_limit=parse_rate(str(_given(values, "rate_limit", DEFAULT_RATE_LIMIT))),
        timeout=_number("timeout", _given(values, "timeout", DEFAULT_TIMEOUT), 0.1, float),
        contract=Path(contract) if contract else None,
        report_junit=Path(values["report_junit"]) if values.get("report_junit") else None,
        report_json=Path(values["report_json"]) if values.get("report_json") else None,
        probe_methods=bool(values.get("probe_methods")), seed=_number("seed", _given(values, "seed", 0), 0),
        profile=profile)
