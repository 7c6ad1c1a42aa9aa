"""Which API profile a host speaks, and how to read its calls into true UTC.

The profile is decided by the same detection as `mockpbx verify` (`mockpbx.verify.detect`),
from the contract of each profile; this module only reads a call into true UTC.

- `reference`: token `{expire_at, token, user_id}`; call times RFC 3339 in UTC.
- `revised`: token `{client_id, expired_in, refresh_token, token, token_type, user_id}`; calls
  gain `id` and `uniqueid`; times are the PBX zone's wall-clock time printed with a `Z` suffix.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from mockpbx.domain.calls import Call
from mockpbx.domain.encoding import LONE_SURROGATE, utf8_encodable
from mockpbx.domain.errors import InvalidRequestError
from mockpbx.domain.records import MAX_DURATION, parse_rfc3339

REFERENCE, REVISED = "reference", "revised"


class ShapeError(ValueError):
    """A call record that cannot be read; the message names the field, never its value."""


def detect_profile(token_data: Mapping[str, object], calls: Sequence[object]) -> str:
    """The profile whose contract fits the token response and the first call (as verify decides);
    a host that fits none but carries the revised fields is read as `revised`."""
    from mockpbx.profiles import get_profile
    from mockpbx.verify.detect import detect
    first = next((c for c in calls if isinstance(c, Mapping)), None)
    detection = detect(token_data, first)
    if detection.fits:
        return detection.profile.name
    revised, reference = get_profile(REVISED), get_profile(REFERENCE)  # the fields only revised has
    token_keys = revised.schema_keys("Token") - reference.schema_keys("Token")
    call_keys = revised.schema_keys("Call") - reference.schema_keys("Call")
    if token_keys & set(token_data) or (first is not None and call_keys <= set(first)):
        return REVISED
    return REFERENCE


def _utc(name: str, value: object, profile: str, zone: ZoneInfo) -> int:
    """Unix seconds of a call time as `profile` prints it."""
    if profile == REVISED and isinstance(value, str) and value.endswith("Z"):
        try:
            wall = datetime.strptime(value[:-1], "%Y-%m-%dT%H:%M:%S")
        except ValueError:
            raise ShapeError(f"{name} is not a wall-clock time with a Z suffix") from None
        return int(wall.replace(tzinfo=zone).timestamp())
    try:
        return parse_rfc3339(name, value)
    except InvalidRequestError as error:
        raise ShapeError(error.message) from None


def _field(record: Mapping[str, object], name: str, kind: type) -> object:
    value = record.get(name)
    if isinstance(value, bool) or not isinstance(value, kind):
        raise ShapeError(f"{name} is missing or not {'an integer' if kind is int else 'a string'}")
    if isinstance(value, str) and not utf8_encodable(value):  # the host sent "\\ud800": no fixture can hold it
        raise ShapeError(f"{name} is not text: it holds {LONE_SURROGATE}")
    return value


def read_call(record: object, profile: str, zone: ZoneInfo) -> Call:
    """A call record of the host as a domain Call in true UTC; raises ShapeError."""
    if not isinstance(record, Mapping):
        raise ShapeError("a call must be a JSON object")
    duration, amount = int(_field(record, "duration", int)), int(_field(record, "amount", int))  # type: ignore[call-overload]
    if not 0 <= duration <= MAX_DURATION:
        raise ShapeError(f"duration must be from 0 to {MAX_DURATION} seconds")
    if amount < 0:
        raise ShapeError("amount must be a non-negative integer")
    source, destination = str(_field(record, "source", str)), str(_field(record, "destination", str))
    if not source or not destination:
        raise ShapeError("source and destination must be non-empty")
    start = _utc("start_time", record.get("start_time"), profile, zone)
    return Call(start, duration, source, destination, amount)
