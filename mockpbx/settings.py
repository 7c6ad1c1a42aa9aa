"""Settings, parsed once: command-line values over `MOCKPBX_*` variables over defaults."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from mockpbx.clock import ControllableClock

if TYPE_CHECKING:
    from mockpbx.profiles import Profile


class SettingsError(ValueError):
    """A setting that cannot be used; the message names it."""


def _int(low: int, high: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text.strip())
        except ValueError:
            raise ValueError(f"must be an integer, got {text!r}") from None
        if not low <= value <= high:
            raise ValueError(f"must be from {low} to {high}, got {value}")
        return value
    return parse


def _seconds(low: float, high: float) -> Callable[[str], float]:
    def parse(text: str) -> float:
        try:
            value = float(text.strip())
        except ValueError:
            raise ValueError(f"must be a number of seconds, got {text!r}") from None
        if not low <= value <= high:  # also refuses nan and inf
            raise ValueError(f"must be from {low:g} to {high:g} seconds, got {text.strip()}")
        return value
    return parse


def _bool(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"must be true or false, got {text!r}")


def _zone(text: str) -> str:
    try:
        ZoneInfo(text)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"is not a known IANA time zone: {text!r}") from None
    return text


def _moment(text: str) -> str:
    from mockpbx.domain.errors import InvalidRequestError
    from mockpbx.domain.records import parse_rfc3339
    from mockpbx.clock import SUPPORTED_RANGE, in_supported_range
    try:
        moment = parse_rfc3339("clock start", text)
    except InvalidRequestError:
        raise ValueError(f"must be an RFC 3339 time such as 2026-01-05T09:00:00+07:00, got {text!r}") from None
    if not in_supported_range(moment):
        raise ValueError(f"must be from {SUPPORTED_RANGE}, got {text}")
    return text


def _profile(text: str) -> str:
    from mockpbx.profiles import get_profile
    try:
        return get_profile(text.strip()).name
    except ValueError as error:
        raise ValueError(f"is not a profile: {error}") from None


def _path(text: str) -> Path:
    return Path(text).expanduser()


def _text(text: str) -> str:
    return text


@dataclass(frozen=True)
class Settings:
    """Everything configurable about a mockpbx instance."""

    host: str = "127.0.0.1"
    port: int = 8080
    seed: int = 0
    fixtures: Path | None = None
    timezone: str = "Asia/Ho_Chi_Minh"
    token_lifetime: int = 3600
    jwt_secret: str | None = None
    days: int = 90
    calls_per_day: int = 300
    max_body_bytes: int = 1024 * 1024
    control: bool = True
    control_token: str | None = None
    journal_size: int = 1000
    journal_bytes: int = 4 * 1024 * 1024
    journal_field_bytes: int = 16 * 1024
    workers: int = 1
    threads: int = 64
    body_timeout: float = 10.0
    access_log: bool = True
    clock_start: str | None = None
    freeze_clock: bool = False
    profile: str = "reference"

    @property
    def zone(self) -> ZoneInfo:
        """The time zone that `start_date`/`end_date` and business hours are read in."""
        return ZoneInfo(self.timezone)

    def start_clock(self) -> ControllableClock:
        """The mock's clock at start-up: real time, or `clock_start` (running or frozen)."""
        from mockpbx.domain.records import parse_rfc3339
        start = None if self.clock_start is None else parse_rfc3339("clock_start", self.clock_start)
        return ControllableClock(start=start, frozen=self.freeze_clock)

    @property
    def api_profile(self) -> Profile:
        """The API profile the mock speaks (see mockpbx/profiles.py)."""
        from mockpbx.profiles import get_profile
        return get_profile(self.profile)

    @property
    def secret(self) -> str:
        """The JWT secret; without one, derived from the seed so that replicas agree."""
        if self.jwt_secret:
            return self.jwt_secret
        return hashlib.sha256(f"mockpbx-dev-secret/{self.seed}".encode()).hexdigest()

    def __repr__(self) -> str:  # the secret stays out of logs
        hidden = ("jwt_secret", "control_token")
        shown = {f.name: getattr(self, f.name) for f in fields(self) if f.name not in hidden}
        return (f"Settings({shown}, jwt_secret={'<set>' if self.jwt_secret else '<derived>'}, "
                f"control_token={'<set>' if self.control_token else None})")

    @classmethod
    def load(cls, env: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Build settings from `MOCKPBX_*` variables in `env` (default: os.environ), then
        `overrides` (e.g. command-line values; None means not given)."""
        env = os.environ if env is None else env
        values: dict[str, Any] = {}
        for name, parse in _PARSERS.items():
            variable = f"MOCKPBX_{name.upper()}"
            raw = env.get(variable)
            if raw is not None and raw != "":
                try:
                    values[name] = parse(raw)
                except ValueError as error:
                    raise SettingsError(f"{variable} {error}") from None
        for name, value in overrides.items():
            if name not in _PARSERS:
                raise SettingsError(f"unknown setting {name!r}")
            if value is None:
                continue
            try:
                if name in _FLAGS and not isinstance(value, (bool, str)):
                    raise ValueError(f"must be true or false, got {value!r}")
                if name not in _FLAGS and isinstance(value, bool):  # (was passed on: control_token=True
                    raise ValueError(f"must be a value, not a boolean, got {value!r}")  # made /_mock/* a 500)
                values[name] = value if isinstance(value, bool) or (isinstance(value, Path) and name == "fixtures") \
                    else _PARSERS[name](str(value))
            except ValueError as error:
                raise SettingsError(f"--{name.replace('_', '-')} {error}") from None
        return cls(**values)


#: The longest token lifetime the mock issues, in seconds (ten years).
MAX_TOKEN_LIFETIME = 10 * 365 * 86400
#: The settings that are true or false (given as a bool, or as text the parser reads).
_FLAGS = frozenset(("control", "access_log", "freeze_clock"))
_PARSERS: dict[str, Callable[[str], Any]] = {
    "host": _text,
    "port": _int(0, 65535),
    "seed": _int(0, 2**63 - 1),
    "fixtures": _path,
    "timezone": _zone,
    "token_lifetime": _int(1, MAX_TOKEN_LIFETIME),
    "jwt_secret": _text,
    "days": _int(0, 3650),
    "calls_per_day": _int(0, 1_000_000),
    "max_body_bytes": _int(1, 64 * 1024 * 1024),
    "control": _bool,
    "control_token": _text,
    "journal_size": _int(1, 1_000_000),
    "journal_bytes": _int(64 * 1024, 1024 * 1024 * 1024),
    "journal_field_bytes": _int(256, 16 * 1024 * 1024),
    "workers": _int(1, 64),
    "threads": _int(1, 1024),
    "body_timeout": _seconds(0.05, 3600),
    "access_log": _bool,
    "clock_start": _moment,
    "freeze_clock": _bool,
    "profile": _profile,
}
