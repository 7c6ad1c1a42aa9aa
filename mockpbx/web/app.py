"""The application factory."""

from __future__ import annotations

from flask import Flask, Request
from werkzeug.routing import MapAdapter

from mockpbx.backend import Backend, build_backend
from mockpbx.clock import ControllableClock
from mockpbx.settings import Settings
from mockpbx.web.api import api
from mockpbx.web.bodies import BodyReader
from mockpbx.web.cache import PageCache
from mockpbx.web.calllog import CallLogEndpoint
from mockpbx.web.control import control
from mockpbx.web.hooks import install_request_hooks
from mockpbx.web.errors import register_error_handlers
from mockpbx.web.meta import meta
from mockpbx.web.pages import dashboard, docs


class _PlainHTTPApp(Flask):
    """Flask, routing a request that asks to upgrade to a WebSocket as the plain HTTP request it
    also is. The vendor's API has no WebSocket, and a server that does not switch protocols
    ignores `Upgrade` (RFC 9110 7.8); werkzeug's router would instead match it against
    WebSocket routes only and answer 400 with a message that says nothing of why."""

    def create_url_adapter(self, request: Request | None) -> MapAdapter | None:
        adapter = super().create_url_adapter(request)
        if adapter is not None and adapter.websocket:
            adapter.websocket = False
            adapter.url_scheme = "https" if adapter.url_scheme == "wss" else "http"
        return adapter


def create_app(settings: Settings | None = None, *, clock: ControllableClock | None = None,
               backend: Backend | None = None) -> Flask:
    """A Flask app serving the mock PBX.

    Example:
        >>> app = create_app(Settings.load({}, days=0))
        >>> app.test_client().post("/v1/auth", json={"username": "foo@test.tel4vn.com",
        ...                                          "password": "foo123"}).status_code
        200
    """
    backend = backend or build_backend(settings or Settings.load(), clock)
    app = _PlainHTTPApp("mockpbx")
    app.config.update(MAX_CONTENT_LENGTH=backend.settings.max_body_bytes, PROVIDE_AUTOMATIC_OPTIONS=False)
    app.url_map.strict_slashes = False
    # `/v1//auth` is a path the contract does not declare: 404 JSON, not werkzeug's HTML 308 to
    # `/v1/auth` (routing redirects skip the error handlers), which would hide a client's URL bug.
    app.url_map.merge_slashes = False
    app.extensions["mockpbx"] = backend
    pages = app.extensions["mockpbx.pages"] = PageCache()
    app.register_blueprint(api)
    app.register_blueprint(meta)
    app.register_blueprint(docs)
    if backend.settings.control:
        app.register_blueprint(control)
        app.register_blueprint(dashboard)
    install_request_hooks(app)
    # The call log is served in front of Flask, on one path for all its GETs (see web/calllog.py);
    # the body reader is outermost, so every path (the call log too) gets a whole, bounded body.
    call_log = app.extensions["mockpbx.call_log"] = CallLogEndpoint(app.wsgi_app, backend, pages)
    app.wsgi_app = call_log  # type: ignore[method-assign]
    app.wsgi_app = BodyReader(app.wsgi_app, backend.settings)  # type: ignore[method-assign]
    register_error_handlers(app)
    return app
