"""Turning plain records (from fixture files or the control API) into domain objects."""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping, Sequence
from datetime import datetime

from mockpbx.domain.accounts import LEVELS, Account
from mockpbx.domain.calls import MAX_START, Call
from mockpbx.domain.errors import InvalidRequestError
from mockpbx.domain.rates import amount_for
from mockpbx.domain.service import FIELD_MAX_LENGTH
from mockpbx.domain.window import SOURCE_MAX_LENGTH

_RFC3339 = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(?:Z|[+-][0-9]{2}:[0-9]{2})")
MAX_DURATION = 7 * 86400
#: The keys an account and a call may have (in a fixture file and through the control API).
ACCOUNT_KEYS = ("login", "password", "user_uuid", "domain_uuid", "username", "api_key", "level")
CALL_KEYS = ("domain_uuid", "source", "destination", "start_time", "duration", "end_time", "amount")
#: The longest number a call's source or destination may be: what the call log's `source` filter
#: takes, so that every call can be found by its source.
NUMBER_MAX_LENGTH = SOURCE_MAX_LENGTH
#: 9999-12-31T23:59:59Z: the last end_time (and start_time) a four-digit year can write.
LAST_END = 253_402_300_799


def parse_rfc3339(name: str, value: object) -> int:
    """An RFC 3339 time with an offset (or `Z`) and whole seconds, as Unix seconds from 1970 on."""
    if not isinstance(value, str) or not _RFC3339.fullmatch(value):
        raise InvalidRequestError(f"{name} must be an RFC 3339 time with whole seconds, "
                                  "e.g. 2021-06-01T13:02:13Z")
    try:
        moment = int(datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp())
    except (ValueError, OverflowError):
        raise InvalidRequestError(f"{name} is not a real date and time: {value}") from None
    if not 0 <= moment <= MAX_START:
        raise InvalidRequestError(f"{name} must be from 1970 on")
    return moment


def unknown_keys(record: object, known: Sequence[str], what: str = "key") -> list[str]:
    """A message for each key of `record` not in `known`, naming the nearest known key (a key is
    shown up to 64 characters)."""
    if not isinstance(record, Mapping):
        return []
    messages = []
    for key in record:
        if key not in known:
            nearest = difflib.get_close_matches(str(key)[:64], known, n=1, cutoff=0.6)
            hint = (f"did you mean {nearest[0]!r}?" if nearest else f"known {what}s: {', '.join(known)}" if known
                    else f"it takes no {what}s")
            shown = str(key) if len(str(key)) <= 64 else str(key)[:64] + "..."
            messages.append(f"unknown {what} {shown!r} ({hint})")
    return messages


def refuse_unknown_keys(record: object, known: Sequence[str], what: str = "key") -> None:
    """Raise InvalidRequestError naming a key of `record` not in `known`: a typo (`time` for
    `times`, `apikey` for `api_key`) is a 400 that says so, not a default silently taken."""
    messages = unknown_keys(record, known, what)
    if messages:
        raise InvalidRequestError("; ".join(messages[:5]))


def _text(record: Mapping[str, object], name: str, *, required: bool = True, default: str = "",
          longest: int = FIELD_MAX_LENGTH) -> str:
    if name not in record and not required:
        return default
    value = record.get(name)
    if not isinstance(value, str) or not value:
        raise InvalidRequestError(f"{name} must be a non-empty string")
    if len(value) > longest:  # (what the API would then refuse: an account no one could log in to)
        raise InvalidRequestError(f"{name} must be at most {longest} characters")
    return value


def _count(record: Mapping[str, object], name: str, high: int) -> int | None:
    if name not in record:
        return None
    value = record[name]
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= high:
        raise InvalidRequestError(f"{name} must be an integer from 0 to {high}")
    return value


def call_from_record(record: object) -> Call:
    """A call from `{source, destination, start_time, duration?, end_time?, amount?}`.

    `end_time` follows from start + duration when absent (and must agree when both are
    given); `duration` follows from end - start when absent; `amount` from the rate table.
    """
    if not isinstance(record, Mapping):
        raise InvalidRequestError("a call must be a JSON object")
    source = _text(record, "source", longest=NUMBER_MAX_LENGTH)
    destination = _text(record, "destination", longest=NUMBER_MAX_LENGTH)
    start = parse_rfc3339("start_time", record.get("start_time"))
    duration = _count(record, "duration", MAX_DURATION)
    if "end_time" in record:
        end = parse_rfc3339("end_time", record["end_time"])
        if end < start:
            raise InvalidRequestError("end_time must not be before start_time")
        if duration is None:
            duration = end - start
        elif duration != end - start:
            raise InvalidRequestError(f"duration {duration} disagrees with end_time - start_time = {end - start}")
    if duration is None:
        raise InvalidRequestError("duration (or end_time) is required")
    if duration > MAX_DURATION:
        raise InvalidRequestError(f"duration must be at most {MAX_DURATION} seconds")
    if start + duration > LAST_END:  # its end_time could be written by no RFC 3339 time of the contract
        raise InvalidRequestError("the call must end by 9999-12-31T23:59:59Z (start_time + duration)")
    amount = _count(record, "amount", 10**12)
    return Call(start, duration, source, destination,
                amount_for(destination, duration) if amount is None else amount)


def account_from_record(record: object) -> Account:
    """An account from `{login, password, user_uuid, domain_uuid, username, api_key, level}`."""
    if not isinstance(record, Mapping):
        raise InvalidRequestError("an account must be a JSON object")
    level = _text(record, "level", required=False, default="admin")
    if level not in LEVELS:
        raise InvalidRequestError(f"level must be one of {', '.join(LEVELS)}")
    return Account(
        login=_text(record, "login"),
        password=_text(record, "password"),
        user_uuid=_text(record, "user_uuid"),
        domain_uuid=_text(record, "domain_uuid"),
        username=_text(record, "username"),
        api_key=_text(record, "api_key"),
        level=level,
    )
