"""The two pages without a browser: what is served, with which types and policy, the off switch,
the token, and that the pages are neither journaled nor faulted. The browser tests click them."""

from __future__ import annotations

import re

import pytest
from flask import Flask
from flask.testing import FlaskClient

from mockpbx.backend import build_backend
from mockpbx.clock import ControllableClock
from mockpbx.server import banner
from mockpbx.settings import Settings
from mockpbx.web.app import create_app
from mockpbx.web.pages import DASHBOARD_ASSETS, DOCS_ASSETS, STATIC, swagger_ui_dist
from tests.conftest import NOW

PAGES = {"/docs": DOCS_ASSETS, "/_mock/ui": DASHBOARD_ASSETS}


def _app(**settings: object) -> Flask:
    return create_app(Settings.load({}, days=1, calls_per_day=5, **settings),
                      clock=ControllableClock(start=NOW, frozen=True))


def _linked(html: str) -> list[str]:
    return re.findall(r'(?:src|href)="([^"]+)"', html)


@pytest.mark.parametrize("page", PAGES)
def test_each_page_is_html_under_a_policy_that_allows_this_host_only(client: FlaskClient, page: str) -> None:
    response = client.get(page)
    assert response.status_code == 200 and response.mimetype == "text/html"
    policy = response.headers["Content-Security-Policy"]
    assert "default-src 'none'" in policy and "script-src 'self';" in policy and "connect-src 'self'" in policy
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    html = response.get_data(as_text=True)
    assert "<script>" not in html and " on" + "click=" not in html  # no inline script: the policy forbids it
    for link in _linked(html):
        assert link.startswith("/") or link == "data:,", f"{page} links outside this host: {link}"


@pytest.mark.parametrize("page", PAGES)
def test_every_asset_a_page_links_is_served_with_its_type(client: FlaskClient, page: str) -> None:
    links = [link for link in _linked(client.get(page).get_data(as_text=True)) if "/assets/" in link]
    assert {link.rsplit("/", 1)[1] for link in links} == set(PAGES[page])
    for link in links:
        response = client.get(link)
        expected = "text/javascript" if link.endswith(".js") else "text/css"
        assert response.status_code == 200 and response.mimetype == expected, link
        assert response.get_data() and response.headers["ETag"]
        assert client.get(link, headers={"If-None-Match": response.headers["ETag"]}).status_code == 304


@pytest.mark.parametrize("path", ["/docs/assets/nope.js", "/docs/assets/..%2Fpages.py", "/_mock/ui/assets/docs.js",
                                  "/docs/assets/LICENSE", "/_mock/ui/assets/dashboard.html"])
def test_unknown_assets_are_a_json_404(client: FlaskClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 404 and response.mimetype == "application/json"
    assert set(response.get_json()) == {"error"}


def test_the_docs_page_renders_the_served_contract_on_this_host() -> None:
    script = (STATIC / "docs.js").read_text()
    assert 'fetch("/openapi.json"' in script and "window.location.origin" in script
    assert "validatorUrl: null" in script  # Swagger UI would otherwise load a badge from the internet
    assert (swagger_ui_dist() / "swagger-ui-bundle.js").stat().st_size > 100_000


def test_without_the_control_api_the_dashboard_is_a_json_404_and_docs_stay() -> None:
    client = _app(control=False).test_client()
    for path in ("/_mock/ui", "/_mock/ui/assets/dashboard.js"):
        response = client.get(path)
        assert response.status_code == 404 and response.mimetype == "application/json", path
    assert client.get("/docs").status_code == 200


def test_with_a_control_token_the_page_loads_but_its_data_needs_the_token() -> None:
    client = _app(control_token="s3cret-control").test_client()
    page = client.get("/_mock/ui")
    assert page.status_code == 200 and "s3cret-control" not in page.get_data(as_text=True)
    for path in ("/_mock/clock", "/_mock/faults", "/_mock/requests", "/_mock/accounts"):
        assert client.get(path).status_code == 401, path
        assert client.get(path, headers={"Authorization": "Bearer s3cret-control"}).status_code == 200, path
    assert client.post("/_mock/reset").status_code == 401


def test_pages_are_neither_journaled_nor_faulted(client: FlaskClient) -> None:
    client.post("/_mock/faults", json={"path": "/*", "status": 503})
    for path in ("/docs", "/docs/assets/docs.js", "/_mock/ui", "/_mock/ui/assets/dashboard.css"):
        assert client.get(path).status_code == 200, path
    assert client.get("/openapi.json").status_code == 503  # the API itself is faulted
    assert [e["path"] for e in client.get("/_mock/requests").get_json()["data"]] == ["/openapi.json"]


def test_the_banner_prints_the_page_urls() -> None:
    settings = Settings.load({}, days=0, port=8123)
    backend = build_backend(settings)
    assert "API reference: http://127.0.0.1:8123/docs  dashboard: http://127.0.0.1:8123/_mock/ui" \
        in banner(settings, backend)
    off = Settings.load({}, days=0, port=8123, control=False)
    text = banner(off, build_backend(off))
    assert "http://127.0.0.1:8123/docs" in text and "/_mock/ui" not in text


def test_the_docs_page_links_the_dashboard_only_where_there_is_one() -> None:
    """(Before: under --no-control the link led to a 404.)"""
    from mockpbx.settings import Settings
    from mockpbx.web.app import create_app
    link = b'href="/_mock/ui"'
    assert link in create_app(Settings.load({}, days=0)).test_client().get("/docs").data
    off = create_app(Settings.load({}, days=0, control=False)).test_client()
    page = off.get("/docs")
    assert page.status_code == 200 and link not in page.data and b"swagger" in page.data.lower()
    assert off.get("/_mock/ui").status_code == 404
