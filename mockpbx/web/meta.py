"""Probes and the contract."""

from __future__ import annotations

import json

from flask import Blueprint, Response, current_app, request

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
    here = _here()
    document["servers"] = [{"url": here, "description": HERE}] + [
        server for server in document.get("servers", []) if server.get("url") != here]
    return Response(json.dumps(document, ensure_ascii=False, indent=2).encode(), content_type="application/json")


@meta.get("/openapi.yaml")
def openapi_yaml() -> Response:
    """The running profile's contract as YAML (the reference profile's as it is written)."""
    text = current_app.extensions["mockpbx"].settings.api_profile.contract_yaml().decode()
    head, found, rest = text.partition("\nservers:\n")
    if found:  # this host first, in the file's own list style (the file otherwise as written)
        item = rest[:len(rest) - len(rest.lstrip(" "))] + "- "
        pad = " " * len(item)
        text = f"{head}{found}{item}url: {_here()}\n{pad}description: {HERE}\n{rest}"
    return Response(text.encode(), content_type="application/yaml")


#: How the served contract names its first server: the URL a client reached the mock by, so that a
#: generator or tool reading /openapi.json calls this mock, on whatever port it runs.
HERE = "this mockpbx, at the URL it was reached by"


def _here() -> str:
    return request.host_url.rstrip("/")
