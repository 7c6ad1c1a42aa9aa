"""The options of `mockpbx record`, parsed once into a frozen object.

Base URL, credentials, rate limit and budget are read exactly as `mockpbx verify` reads them.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from mockpbx.conformance.hooks import Credentials
from mockpbx.verify.options import (
    DEFAULT_MAX_REQUESTS,
    DEFAULT_RATE_LIMIT,
    DEFAULT_TIMEOUT,
    DEFAULT_TIMEZONE,
    OptionsError,
    _base_url,
    _credentials,
    _given,
    _number,
    _zone,
    parse_rate,
    parse_when,
)

#: The default span: one API window up to --window-end.
DEFAULT_SPAN = timedelta(days=31)
#: Login, token and one page.
MIN_REQUESTS = 3

__all__ = ["OptionsError", "RecordOptions", "build_options"]


@dataclass(frozen=True)
class RecordOptions:
    """Everything one recording needs to know."""

    base_url: str
    credentials: Credentials
    window_start: datetime
    window_end: datetime
    output: Path
    timezone: str = DEFAULT_TIMEZONE
    max_requests: int = DEFAULT_MAX_REQUESTS
    rate_limit: float = 5.0
    timeout: float = DEFAULT_TIMEOUT
    anonymize: bool = True
    salt: str | None = None
    shift_to: datetime | None = None
    as_username: str | None = None

    @property
    def zone(self) -> ZoneInfo:
        """The time zone the host reads windows (and, in the revised profile, prints times) in."""
        return ZoneInfo(self.timezone)

    def secrets(self) -> list[str]:
        """The values that must never be shown or written."""
        return [s for s in (self.credentials.password, self.credentials.api_key, self.salt) if s]


def _shift_to(text: str | None) -> datetime | None:
    """The last second the recording may end at: a date means the end of that day."""
    if not text:
        return None
    when = parse_when("shift-to", text)
    return when.replace(hour=23, minute=59, second=59) if len(text.strip()) == 10 else when


def _window(start: str | None, end: str | None, zone: ZoneInfo, now: float) -> tuple[datetime, datetime]:
    last = datetime.fromtimestamp(int(now), zone).replace(tzinfo=None)
    window_end = parse_when("window-end", end) if end else last
    window_start = parse_when("window-start", start) if start else window_end - DEFAULT_SPAN
    if window_start >= window_end:
        raise OptionsError(f"--window-start {window_start} must be before --window-end {window_end}")
    return window_start, window_end


def build_options(values: Mapping[str, Any], env: Mapping[str, str] | None = None,
                  now: float | None = None) -> RecordOptions:
    """Options from command-line values (None means not given) and MOCKPBX_VERIFY_* variables."""
    import time
    env = os.environ if env is None else env
    base_url, credentials = _base_url(values.get("base_url")), _credentials(values, env)
    timezone = values.get("timezone") or DEFAULT_TIMEZONE
    zone = _zone(timezone)
    start, end = _window(values.get("window_start"), values.get("window_end"), zone,
                         time.time() if now is None else now)
    output = values.get("output")
    if not output:
        raise OptionsError("-o/--output FILE is required: where to write the fixture file")
    salt = values.get("salt")
    if salt is not None and len(salt) < 8:
        raise OptionsError("--salt must be at least 8 characters (it is the key of the pseudonyms)")
    anonymize = values.get("anonymize")
    as_username = values.get("as_username")
    if as_username is not None and not as_username.strip():
        raise OptionsError("--as-username must not be empty")
    return RecordOptions(
        base_url=base_url, credentials=credentials,
        window_start=start, window_end=end, output=Path(output), timezone=timezone,
        max_requests=_number("max-requests", _given(values, "max_requests", DEFAULT_MAX_REQUESTS), MIN_REQUESTS),
        rate_limit=parse_rate(str(_given(values, "rate_limit", DEFAULT_RATE_LIMIT))),
        timeout=_number("timeout", _given(values, "timeout", DEFAULT_TIMEOUT), 0.1, float),
        anonymize=True if anonymize is None else bool(anonymize), salt=salt,
        shift_to=_shift_to(values.get("shift_to")), as_username=as_username.strip() if as_username else None)
