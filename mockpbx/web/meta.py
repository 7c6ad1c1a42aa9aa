"""Probes and the contract."""

from __future__ import annotations

from flask import Blueprint, Response

from mockpbx import __version__
from mockpbx.resources import contract_json, contract_path
from mockpbx.web.responses import json_response

meta = Blueprint("meta", __name__)


@meta.get("/healthz")
def health() -> Response:
    """Liveness and readiness: the data is loaded once the app exists."""
    return json_response({"status": "ok", "version": __version__})


@meta.get("/openapi.json")
def openapi_json() -> Response:
    """The contract as JSON."""
    return Response(contract_json(), content_type="application/json")


@meta.get("/openapi.yaml")
def openapi_yaml() -> Response:
    """The contract as it is written."""
    return Response(contract_path().read_bytes(), content_type="application/yaml")
