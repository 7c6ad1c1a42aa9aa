"""A bare Flask app: the floor that mockpbx's call-log request is compared against.

`GET /hello` answers a small JSON object, the least a Flask JSON endpoint costs under a
given WSGI server. `GET /slow?ms=N` sleeps N milliseconds (at most 10 s) first, for
checking that a server finishes in-flight requests on SIGTERM.
"""

from __future__ import annotations

import time

from flask import Flask, request


def create_app() -> Flask:
    """The hello app."""
    app = Flask("hello")

    @app.get("/hello")
    def hello() -> dict[str, object]:
        return {"message": "hello"}

    @app.get("/slow")
    def slow() -> dict[str, object]:
        ms = min(max(request.args.get("ms", 0, type=int), 0), 10_000)
        time.sleep(ms / 1000)
        return {"slept_ms": ms}

    return app


app = create_app()
