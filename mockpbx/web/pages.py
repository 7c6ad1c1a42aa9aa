"""Pages a person looks at: /docs (the contract in Swagger UI) and /_mock/ui (the dashboard).

Both are static files shipped in the package, served from this host only, under a
Content-Security-Policy that allows nothing from elsewhere. The pages hold no data: the docs
page reads /openapi.json, the dashboard reads the control API (with the control token, when
one is set, which it asks the person for). Neither is journaled nor affected by faults.
"""

from __future__ import annotations

from functools import cache
from importlib.resources import files
from pathlib import Path

from flask import Blueprint, Response, current_app, request

from mockpbx.web.responses import error_response

STATIC = Path(__file__).resolve().parent / "static"
DOCS_PREFIX = "/docs"
DASHBOARD_PREFIX = "/_mock/ui"

_COMMON = "default-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'none'; img-src 'self' data:"
#: Nothing inline and nothing from elsewhere. Swagger UI 5 needs no exception: checked in Chromium
#: with every operation, model and the Authorize dialog open (a violation is a console error, which
#: the browser tests refuse).
POLICY = f"{_COMMON}; script-src 'self'; style-src 'self'; connect-src 'self'"

_MEDIA = {".js": "text/javascript", ".css": "text/css", ".html": "text/html"}


def swagger_ui_dist() -> Path:
    """The Swagger UI build that the flask-swagger-ui package ships."""
    return Path(str(files("flask_swagger_ui") / "dist"))


def _assets(names: dict[str, Path]) -> dict[str, tuple[Path, str]]:
    return {name: (path, _MEDIA[path.suffix]) for name, path in names.items()}


DOCS_ASSETS = _assets({
    "swagger-ui-bundle.js": swagger_ui_dist() / "swagger-ui-bundle.js",
    "swagger-ui.css": swagger_ui_dist() / "swagger-ui.css",
    "docs.js": STATIC / "docs.js",
    "docs.css": STATIC / "docs.css",
})
DASHBOARD_ASSETS = _assets({
    "dashboard.js": STATIC / "dashboard.js",
    "dashboard.css": STATIC / "dashboard.css",
})


@cache
def _content(path: Path) -> bytes:
    # Read once: the files are part of the installed package and never change while it runs.
    return path.read_bytes()


def _file(path: Path, mimetype: str, max_age: int) -> Response:
    response = Response(_content(path), mimetype=mimetype)
    response.headers.update({
        "Cache-Control": f"public, max-age={max_age}" if max_age else "no-cache",
        "Content-Security-Policy": POLICY, "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer"})
    response.add_etag()
    response.make_conditional(request)  # 304 when the browser has this version
    return response


def _page(name: str) -> Response:
    return _file(STATIC / name, "text/html", 0)


def _asset(assets: dict[str, tuple[Path, str]], name: str) -> Response:
    if name not in assets:
        return error_response(404, f"no such asset: {name}")
    path, mimetype = assets[name]
    return _file(path, mimetype, 300)


docs = Blueprint("docs", __name__, url_prefix=DOCS_PREFIX)
dashboard = Blueprint("dashboard", __name__, url_prefix=DASHBOARD_PREFIX)


#: The docs page's link to the dashboard, left out when the mock runs without controls (a 404 there).
_DASHBOARD_LINK = b'<a class="mockpbx-link" href="/_mock/ui">dashboard</a>'


@docs.get("")
def docs_page() -> Response:
    """The running contract as an interactive API reference; "try it out" calls this host."""
    response = _page("docs.html")
    if not current_app.extensions["mockpbx"].settings.control:
        response.set_data(response.get_data().replace(_DASHBOARD_LINK, b""))
        response.add_etag(overwrite=True)
    return response


@docs.get("/assets/<name>")
def docs_asset(name: str) -> Response:
    """A script or style sheet of the docs page."""
    return _asset(DOCS_ASSETS, name)


@dashboard.get("")
def dashboard_page() -> Response:
    """The dashboard of the control state; it holds no data and needs no token to load."""
    return _page("dashboard.html")


@dashboard.get("/assets/<name>")
def dashboard_asset(name: str) -> Response:
    """A script or style sheet of the dashboard."""
    return _asset(DASHBOARD_ASSETS, name)
