"""JSON responses, built directly (the hot path avoids jsonify's extra work)."""

from __future__ import annotations

from flask import Response

from mockpbx.domain.encoding import json_bytes

JSON = "application/json"


def json_response(payload: object, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """A compact JSON response."""
    return Response(json_bytes(payload), status=status, headers=headers, content_type=JSON)


def error_response(status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    """The API's error body: `{"error": message}`."""
    return json_response({"error": message}, status, headers)
