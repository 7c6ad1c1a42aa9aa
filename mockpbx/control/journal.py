"""Journal entries of the requests the mock saw, with secrets redacted."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any, NamedTuple
from urllib.parse import parse_qs

REDACTED = "<redacted>"
SECRET_KEYS = frozenset({"password", "api_key", "token", "refresh_token", "jwt_secret", "control_token"})
SECRET_HEADERS = frozenset({"authorization", "cookie", "proxy-authorization", "x-api-key"})
MAX_BODY_CHARS = 4096


def redact(value: object) -> object:
    """A copy of a JSON value with every secret-named field replaced."""
    if isinstance(value, dict):
        return {k: REDACTED if k.lower() in SECRET_KEYS else redact(v) for k, v in value.items()}
    if isinstance(value, list):
        return [redact(v) for v in value]
    return value


def redact_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """Headers with credentials hidden; the auth scheme stays visible (`Bearer <redacted>`)."""
    shown = {}
    for name, value in headers.items():
        if name.lower() in SECRET_HEADERS:
            scheme = value.split(" ", 1)[0] if " " in value.strip() else ""
            value = f"{scheme} {REDACTED}".strip()
        shown[name] = value
    return shown


def redact_query(query: Mapping[str, list[str]]) -> dict[str, list[str]]:
    """Query values, with secret-named ones hidden."""
    return {k: [REDACTED] * len(v) if k.lower() in SECRET_KEYS else list(v) for k, v in query.items()}


def body_for_journal(raw: bytes, mimetype: str) -> object:
    """The request body as JSON (redacted), or as text cut to a few KiB; None when empty."""
    if not raw:
        return None
    text = raw.decode("utf-8", "replace")
    if mimetype == "application/json" or mimetype.endswith("+json"):
        try:
            return redact(json.loads(text))
        except (ValueError, RecursionError):
            pass
    for key in SECRET_KEYS:  # a secret in a non-JSON body: keep none of it
        if key in text:
            return REDACTED
    return text[:MAX_BODY_CHARS]


class RawEntry(NamedTuple):
    """What a request leaves in the journal, cheap to take; `materialize` makes the entry."""

    moment: float
    method: str
    path: str
    query_string: str
    headers: dict[str, str]  # WSGI environ HTTP_* and CONTENT_* keys
    body: bytes
    mimetype: str
    status: int | None
    duration_ms: float
    fault: tuple[int, str] | None


def utc_millis(moment: float) -> str:
    """RFC 3339 UTC with milliseconds and `Z`, as the journal and the access log show times."""
    return datetime.fromtimestamp(moment, timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _header_name(key: str) -> str:
    return (key[5:] if key.startswith("HTTP_") else key).replace("_", "-").title()


def materialize(raw: RawEntry) -> dict[str, Any]:
    """The journal entry as the control API shows it, with every secret redacted."""
    return {
        "time": utc_millis(raw.moment),
        "method": raw.method,
        "path": raw.path,
        "query": redact_query(parse_qs(raw.query_string, keep_blank_values=True)),
        "headers": redact_headers({_header_name(k): v for k, v in raw.headers.items()}),
        "body": body_for_journal(raw.body, raw.mimetype),
        "status": raw.status,
        "duration_ms": round(raw.duration_ms, 3),
        "fault": None if raw.fault is None else {"id": raw.fault[0], "kind": raw.fault[1]},
    }


_SECRET_ENVIRON = frozenset("HTTP_" + h.upper().replace("-", "_") for h in SECRET_HEADERS)


def scrub(raw: RawEntry) -> RawEntry:
    """The entry with every secret gone, cheaply, for writing it out of the process."""
    headers = {k: (f"{v.split(' ', 1)[0]} {REDACTED}" if " " in v.strip() else REDACTED)
               if k in _SECRET_ENVIRON else v for k, v in raw.headers.items()}
    query = raw.query_string
    if any(key in query.lower() for key in SECRET_KEYS):
        from urllib.parse import urlencode
        query = urlencode(redact_query(parse_qs(query, keep_blank_values=True)), doseq=True)
    body, mimetype = raw.body, raw.mimetype
    if body:
        shown = body_for_journal(body, mimetype)
        body, mimetype = json.dumps(shown).encode(), "application/json"
    return raw._replace(headers=headers, query_string=query, body=body, mimetype=mimetype)
