"""Probes and the contract."""

from __future__ import annotations

import json

from flask import Blueprint, Response, current_app

from mockpbx import __version__
from mockpbx.web.responses import json_response

meta = Blueprint("meta", __name__)


@meta.get("/healthz")
def health() -> Response:
    """Liveness and readiness: the data is loaded once the app exists."""
    return json_response({"status": "ok", "version": __version__})


@meta.get("/openapi.json")
def openapi_json() -> Response:
    """The running profile's contract as JSON."""
    document = current_app.extensions["mockpbx"].settings.api_profile.contract()
    return Response(json.dumps(document, ensure_ascii=False, indent=2).encode(), content_type="application/json")


@meta.get("/openapi.yaml")
def openapi_yaml() -> Response:
    """The running profile's contract as YAML (the reference profile's as it is written)."""
    profile = current_app.extensions["mockpbx"].settings.api_profile
    return Response(profile.contract_yaml(), content_type="application/yaml")
