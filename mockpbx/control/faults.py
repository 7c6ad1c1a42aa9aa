"""Injected faults: make matching requests fail the way a real host fails."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field

from mockpbx.domain.errors import ConflictError, InvalidRequestError
from mockpbx.domain.records import refuse_unknown_keys

KINDS = ("error", "delay", "drop", "malformed")
_HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
_HEADER_VALUE = re.compile(r"[\x20-\x7e\t]*")  # what every server can send: printable ASCII
MAX_DELAY_MS = 60_000
#: The most fault rules active at once: every tracked request is matched against them in turn, and
#: a rule's body may be up to the body limit, so rules added without ever being cleared must stop.
MAX_FAULTS = 1000
#: What a fault rule may say.
FAULT_KEYS = ("method", "path", "kind", "status", "body", "headers", "delay_ms", "times")
#: The most requests one rule can count (the shared store of `--workers N` keeps it as a 64-bit
#: integer; a larger one was a 500 there and 201 with one worker). Omitted `times` is until cleared.
MAX_TIMES = 2_147_483_647
#: Headers that frame the message or the connection: the server sets them, a fault cannot
#: (a fault's Transfer-Encoding or Content-Length would make the answer unreadable; WSGI
#: forbids hop-by-hop headers to applications). Compared in lower case.
FRAMING_HEADERS = frozenset({"transfer-encoding", "content-length", "connection", "keep-alive",
                             "upgrade", "te", "trailer", "proxy-connection"})
_METHODS = ("*", "GET", "POST", "PUT", "PATCH", "DELETE", "HEAD")


def check_room(active: int) -> None:
    """Raise ConflictError (409) when `active` rules leave no room for another."""
    if active >= MAX_FAULTS:
        raise ConflictError(f"{active} fault rules are active, the most there can be: clear some "
                            "(DELETE /_mock/faults, or /_mock/faults/<id>) or give rules `times`")


@dataclass(frozen=True)
class Fault:
    """A rule: requests matching `method` and `path` get this fault, `times` times (None: until cleared).

    Kinds: `error` answers `status` with `body` and `headers` (after `delay_ms`); `delay` waits
    `delay_ms` then answers normally; `drop` closes the connection without an answer;
    `malformed` answers normally but with the JSON body cut in half. Control paths
    (/_mock/...) are never affected.
    """

    id: int
    method: str
    path: str
    kind: str = "error"
    status: int | None = None
    body: object = None
    headers: dict[str, str] = field(default_factory=dict)
    delay_ms: int = 0
    times: int | None = None

    def matches(self, method: str, path: str) -> bool:
        """Whether this rule applies to a request."""
        if self.method not in ("*", method):
            return False
        return path == self.path or (self.path.endswith("*") and path.startswith(self.path[:-1]))

    def to_json(self) -> dict[str, object]:
        """The rule as the control API shows it."""
        return asdict(self)


def _field(record: Mapping[str, object], name: str, kind: type | tuple[type, ...], default: object) -> object:
    if name not in record:
        return default
    value = record[name]
    if not isinstance(value, kind) or isinstance(value, bool) and kind is int:
        raise InvalidRequestError(f"{name} has the wrong type")
    return value


def fault_from_record(record: object, fault_id: int) -> Fault:
    """Validate a fault request; errors name the field."""
    if not isinstance(record, Mapping):
        raise InvalidRequestError("the request body must be a JSON object")
    refuse_unknown_keys(record, FAULT_KEYS)
    method = _field(record, "method", str, "*")
    path = _field(record, "path", str, None)
    kind = _field(record, "kind", str, None)
    status = _field(record, "status", int, None)
    headers = _field(record, "headers", dict, {})
    delay = _field(record, "delay_ms", int, 0)
    times = _field(record, "times", int, None)
    if not isinstance(method, str) or method.upper() not in _METHODS:
        raise InvalidRequestError(f"method must be one of {', '.join(_METHODS)}")
    if not isinstance(path, str) or not path.startswith("/"):
        raise InvalidRequestError("path must be a path starting with /")
    if kind is None:  # only absent means the default: "" is a wrong kind, as the contract's enum says
        kind = "delay" if status is None and delay else "error"
    if kind not in KINDS:
        raise InvalidRequestError(f"kind must be one of {', '.join(KINDS)}")
    if status is not None and not 200 <= status <= 599:  # type: ignore[operator]
        raise InvalidRequestError("status must be an HTTP status from 200 to 599 (a 1xx is not a final answer)")
    if not 0 <= delay <= MAX_DELAY_MS:  # type: ignore[operator]
        raise InvalidRequestError(f"delay_ms must be from 0 to {MAX_DELAY_MS}")
    if times is not None and not 1 <= times <= MAX_TIMES:  # type: ignore[operator]
        raise InvalidRequestError(f"times must be from 1 to {MAX_TIMES} (omit it for until cleared)")
    if not isinstance(headers, dict) or not all(
            isinstance(v, str) and _HEADER_NAME.fullmatch(k) and _HEADER_VALUE.fullmatch(v) for k, v in headers.items()):
        raise InvalidRequestError("headers must map header names to strings (one line each)")
    framing = sorted(k for k in headers if k.lower() in FRAMING_HEADERS)
    if framing:
        raise InvalidRequestError(f"headers must not set {', '.join(framing)}: the server frames the answer "
                                  "(Transfer-Encoding, Content-Length, Connection and other hop-by-hop headers)")
    body = record.get("body")
    if body is not None:
        json.dumps(body)
    return Fault(fault_id, method.upper(), path, kind, status, body, dict(headers), delay, times)  # type: ignore[arg-type]
