"""API profiles: the shapes of the same API that a host may speak, and how each one is printed.

A profile is one small object: its name, its contract (the base contract, or the base with an
overlay from `contracts/profiles/<name>.yaml` merged in), and the functions that shape responses
(`token_body`, `call_fields`) and print and read times. Handlers and serialisation call the
running profile; adding a profile is one `Profile(...)` and one `register(...)` here.

Example:
    >>> from mockpbx.domain.calls import Call
    >>> from zoneinfo import ZoneInfo
    >>> call = Call(1622815979, 38, "0899123456", "0912345678", 285, id=42)
    >>> get_profile("revised").call_fields(call, ZoneInfo("Asia/Ho_Chi_Minh"))["start_time"]
    '2021-06-04T21:12:59Z'
"""

from __future__ import annotations

import copy
import re
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

import yaml

from mockpbx.conformance.rules import parse_utc, read_utc
from mockpbx.domain.calls import Call, rfc3339
from mockpbx.domain.tokens import IssuedToken
from mockpbx.resources import contract_path, load_contract, profile_overlay_path

DEFAULT_PROFILE = "reference"
_MASK = (1 << 64) - 1


def merge_overlay(base: Any, overlay: Any) -> Any:
    """`overlay` deep-merged onto `base` (a copy): mappings merge, `None` deletes, the rest replaces."""
    if not isinstance(base, Mapping) or not isinstance(overlay, Mapping):
        return copy.deepcopy(overlay)
    merged = {key: copy.deepcopy(value) for key, value in base.items()}
    for key, value in overlay.items():
        if value is None:
            merged.pop(key, None)
        elif isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = merge_overlay(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def utc_time(unix_seconds: int, zone: ZoneInfo) -> str:
    """RFC 3339 in UTC with `Z` (the reference shape; the zone does not matter)."""
    return rfc3339(unix_seconds)


@lru_cache(maxsize=1 << 16)
def _quarter_offset(zone: ZoneInfo, quarter: int) -> int | None:
    """The zone's UTC offset (seconds) throughout a quarter hour, or None if it changes within it."""
    first, last = quarter * 900, quarter * 900 + 899
    offset = datetime.fromtimestamp(first, zone).utcoffset()
    if offset is None or offset != datetime.fromtimestamp(last, zone).utcoffset():
        return None
    return int(offset.total_seconds())


def local_z_time(unix_seconds: int, zone: ZoneInfo) -> str:
    """Wall-clock time in `zone` printed with a `Z` suffix (the revised shape's quirk)."""
    offset = _quarter_offset(zone, unix_seconds // 900)
    if offset is None:  # a transition inside this quarter hour: convert exactly
        return datetime.fromtimestamp(unix_seconds, zone).strftime("%Y-%m-%dT%H:%M:%SZ")
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(unix_seconds + offset))


read_utc_time = read_utc


def read_local_z_time(value: object, zone: ZoneInfo) -> datetime | None:
    """A printed local-with-Z time as naive wall-clock time (it already is one), or None."""
    moment = parse_utc(value)
    return None if moment is None else moment.replace(tzinfo=None)


def _mix(value: int) -> int:
    """A well-spread 64-bit hash of an integer (splitmix64's finaliser): deterministic, cheap."""
    value = (value + 0x9E3779B97F4A7C15) & _MASK
    value = ((value ^ (value >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    value = ((value ^ (value >> 27)) * 0x94D049BB133111EB) & _MASK
    return value ^ (value >> 31)


def uniqueid(call: Call) -> str:
    """Asterisk style `<unix seconds>.<sequence>`: set up 5 to 40 s before the call's start."""
    spread = _mix(call.id)
    return f"{call.start_time - 5 - spread % 36}.{(spread >> 8) % 9000 + 1000}"


def reference_token(issued: IssuedToken) -> dict[str, object]:
    """`{expire_at, token, user_id}` as the API reference documents it."""
    return issued.to_json()


def revised_token(issued: IssuedToken) -> dict[str, object]:
    """`{client_id, expired_in, refresh_token, token, token_type, user_id}` of the revised shape."""
    client_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"mockpbx/client/{issued.user_id}"))
    return {"client_id": client_id, "expired_in": issued.lifetime, "refresh_token": "",
            "token": issued.token, "token_type": "Bearer", "user_id": issued.user_id}


def reference_call(call: Call, zone: ZoneInfo) -> dict[str, object]:
    """The six documented fields, times in UTC."""
    return call.to_json()


def revised_call(call: Call, zone: ZoneInfo) -> dict[str, object]:
    """The reference fields plus `id` and `uniqueid`, times local with a `Z` suffix."""
    return {"amount": call.amount, "destination": call.destination, "duration": call.duration,
            "end_time": local_z_time(call.end_time, zone), "id": call.id, "source": call.source,
            "start_time": local_z_time(call.start_time, zone), "uniqueid": uniqueid(call)}


@dataclass(frozen=True)
class Profile:
    """One shape of the API: its contract and how responses are shaped and times printed."""

    name: str
    description: str
    token_body: Callable[[IssuedToken], dict[str, object]]
    call_fields: Callable[[Call, ZoneInfo], dict[str, object]]
    format_time: Callable[[int, ZoneInfo], str]
    #: A printed time as naive wall-clock time in the PBX zone (None if it does not parse).
    read_time: Callable[[object, ZoneInfo], datetime | None]
    #: Whether `contracts/profiles/<name>.yaml` is merged onto the base contract.
    overlay: bool = False

    def contract(self) -> dict[str, Any]:
        """The resolved contract of this profile (a fresh copy)."""
        return copy.deepcopy(_resolved(self.name, self.overlay))

    def contract_yaml(self) -> bytes:
        """The resolved contract as YAML (the base file as written, for a profile with no overlay)."""
        if not self.overlay:
            return contract_path().read_bytes()
        return yaml.dump(_resolved(self.name, True), Dumper=_Yaml12SafeDumper, sort_keys=False,
                         allow_unicode=True).encode()

    def call_shaper(self, zone: ZoneInfo) -> Callable[[Call], dict[str, object]]:
        """`call_fields` bound to a zone, for `CallPage.to_json`."""
        shape = self.call_fields
        return lambda call: shape(call, zone)

    def schema_keys(self, name: str) -> frozenset[str]:
        """The properties of a component schema of this profile's contract (e.g. Token, Call)."""
        schema = _resolved(self.name, self.overlay)["components"]["schemas"].get(name, {})
        return frozenset(schema.get("properties", {}))


class _Yaml12SafeDumper(yaml.SafeDumper):
    """Quotes strings that YAML 1.2 readers (Spectral, Redocly, most non-Python tools) would read
    as numbers: PyYAML follows YAML 1.1 and leaves e.g. `0123456789` bare, a string to it but an
    integer to them."""


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    if re.fullmatch(r"[-+]?(\d[\d_]*(\.\d*)?([eE][-+]?\d+)?|0[xob][0-9a-fA-F_]+|\.\d+)", value):
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="'")
    return dumper.represent_str(value)


_Yaml12SafeDumper.add_representer(str, _represent_str)


@lru_cache(maxsize=8)
def _resolved(name: str, overlay: bool) -> dict[str, Any]:
    base = load_contract()
    if not overlay:
        return base
    path = profile_overlay_path(name)
    patch = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(patch, dict):
        raise ValueError(f"{path} is not a contract overlay (a YAML mapping)")
    return merge_overlay(base, patch)  # type: ignore[no-any-return]


PROFILES: dict[str, Profile] = {}


def register(profile: Profile) -> Profile:
    """Make a profile available by name (to `--profile`, verify and drift)."""
    if profile.name in PROFILES:
        raise ValueError(f"a profile named {profile.name!r} is already registered")
    PROFILES[profile.name] = profile
    return profile


def get_profile(name: str) -> Profile:
    """The profile called `name`; ValueError listing the known ones otherwise."""
    try:
        return PROFILES[name]
    except KeyError:
        raise ValueError(f"unknown profile {name!r} (known: {', '.join(PROFILES)})") from None


def profile_names() -> list[str]:
    """The registered profiles, the default first."""
    return list(PROFILES)


REFERENCE = register(Profile(
    "reference", "the vendor's API reference as given: token {expire_at, token, user_id}, times in UTC",
    reference_token, reference_call, utc_time, read_utc_time))
REVISED = register(Profile(
    "revised", "the vendor's revised shape: token {client_id, expired_in, refresh_token, token, token_type, "
    "user_id}, calls with id and uniqueid, local wall-clock times with a Z suffix",
    revised_token, revised_call, local_z_time, read_local_z_time, overlay=True))
