"""JSON responses, built directly (the hot path avoids jsonify's extra work)."""

from __future__ import annotations

import json

from flask import Response

JSON = "application/json"


def json_bytes(payload: object) -> bytes:
    """Compact JSON, UTF-8. A lone surrogate (a client may send `"\\ud800"`; it decodes to one) is
    no character UTF-8 can carry: it is written back as the JSON escape it came as."""
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8", "backslashreplace")


def json_response(payload: object, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """A compact JSON response."""
    return Response(json_bytes(payload), status=status, headers=headers, content_type=JSON)


def error_response(status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    """The API's error body: `{"error": message}`."""
    return json_response({"error": message}, status, headers)
