"""Journal entries of the requests the mock saw: bounded in bytes, secrets redacted.

Each entry keeps at most `field_bytes` of the request body and of each header value (the
rest is cut when the request is recorded, and the entry says how long the original was);
the stores bound the whole journal by a count and by a total of `entry_bytes`.
Redaction is `mockpbx.redaction`'s, the same as the access log's and verify's.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any, NamedTuple

from mockpbx.redaction import (
    redact_body,
    redact_header,
    redact_headers,
    redact_path,
    redact_query_string,
    redact_query_string_raw,
)

#: Default cut of a body and of each header value kept in the journal.
FIELD_BYTES = 16 * 1024
#: What an entry costs besides its body and headers (times, method, status ...), for the byte bound.
ENTRY_OVERHEAD = 256


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
    truncated: dict[str, Any] | None = None  # {"body": original bytes, "headers": {key: original bytes}}


def bounded(entry: RawEntry, field_bytes: int = FIELD_BYTES) -> RawEntry:
    """The entry with its body, each header value, the path and the query cut to `field_bytes`,
    noting the original lengths (in bytes) of what was cut."""
    headers = entry.headers
    longest = max(map(len, headers.values()), default=0)  # the common case, checked in C: nothing to cut
    if (longest <= field_bytes and len(entry.body) <= field_bytes and len(entry.path) <= field_bytes
            and len(entry.query_string) <= field_bytes):
        return entry
    cut: dict[str, Any] = {}
    body = entry.body
    if len(body) > field_bytes:
        cut["body"], body = len(body), body[:field_bytes]
    if longest > field_bytes:
        long = {k: len(v.encode("utf-8", "surrogateescape")) for k, v in headers.items() if len(v) > field_bytes}
        headers = {k: v[:field_bytes] if k in long else v for k, v in headers.items()}
        cut["headers"] = {_header_name(k): n for k, n in long.items()}
    path, query = entry.path, entry.query_string
    if len(path) > field_bytes:
        cut["path"], path = len(path), path[:field_bytes]
    if len(query) > field_bytes:
        cut["query"], query = len(query), query[:field_bytes]
    if not cut:
        return entry
    return entry._replace(body=body, headers=headers, path=path, query_string=query, truncated=cut)


def entry_bytes(entry: RawEntry) -> int:
    """About what an entry holds, in bytes (for the journal's byte bound)."""
    headers = entry.headers
    return (ENTRY_OVERHEAD + len(entry.path) + len(entry.query_string) + len(entry.body)
            + sum(map(len, headers)) + sum(map(len, headers.values())))


def utc_millis(moment: float) -> str:
    """RFC 3339 UTC with milliseconds and `Z`, as the journal and the access log show times."""
    global _last_second
    second = int(moment // 1)
    micros = round((moment - second) * 1e6)  # as datetime.fromtimestamp rounds
    if micros >= 1_000_000:
        second, micros = second + 1, micros - 1_000_000
    known, prefix = _last_second
    if second != known:  # the access log asks many times a second: format each second once
        prefix = datetime.fromtimestamp(second, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")
        _last_second = (second, prefix)
    return f"{prefix}.{micros // 1000:03d}Z"


_last_second: tuple[int, str] = (-1, "")  # replaced whole: a consistent pair for every thread


def _header_name(key: str) -> str:
    return (key[5:] if key.startswith("HTTP_") else key).replace("_", "-").title()


def materialize(raw: RawEntry) -> dict[str, Any]:
    """The journal entry as the control API shows it, with every secret redacted."""
    return {
        "time": utc_millis(raw.moment),
        "method": raw.method,
        "path": redact_path(raw.path),
        "query": redact_query_string(raw.query_string),
        "headers": redact_headers({_header_name(k): v for k, v in raw.headers.items()}),
        "body": redact_body(raw.body, raw.mimetype),
        "status": raw.status,
        "duration_ms": round(raw.duration_ms, 3),
        "fault": None if raw.fault is None else {"id": raw.fault[0], "kind": raw.fault[1]},
        "truncated": raw.truncated,
    }


def scrub(raw: RawEntry) -> RawEntry:
    """The entry with every secret gone, for writing it out of the process (already bounded)."""
    headers = {k: redact_header(_header_name(k), v) for k, v in raw.headers.items()}
    body, mimetype = raw.body, raw.mimetype
    if body:
        shown = redact_body(body, mimetype)
        body, mimetype = json.dumps(shown).encode(), "application/json"
    return raw._replace(path=redact_path(raw.path), headers=headers,  # (a token in the path too)
                        query_string=redact_query_string_raw(raw.query_string), body=body, mimetype=mimetype)

