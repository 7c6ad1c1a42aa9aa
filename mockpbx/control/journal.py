"""Journal entries of the requests the mock saw, with secrets redacted."""

from __future__ import annotations

import json
from collections.abc import Mapping

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
