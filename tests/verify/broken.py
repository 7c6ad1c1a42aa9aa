"""Deliberately broken variants of the mock, each breaking one rule, for `mockpbx verify` to catch.

Each variant wraps the real app in a small WSGI middleware that rewrites the call-log query
before the mock sees it, or the answer after; `serve` runs any WSGI app on 127.0.0.1:0.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from mockpbx.clock import ControllableClock
from mockpbx.settings import Settings
from mockpbx.verify.gate import QuietHandler
from mockpbx.web.app import create_app

CALL_LOG, TOKEN = "/v1/call/log", "/v1/auth/token"
FORMAT = "%Y-%m-%d %H:%M:%S"
WSGIApp = Callable[..., Any]
Query = dict[str, str]


def small_mock(start: float | None = None, **settings: Any) -> WSGIApp:
    """The real mock with little data (10 days, 60 calls a day), so that runs are fast; its
    clock runs from `start` (Unix seconds) if given."""
    clock = ControllableClock(start=start) if start is not None else None
    return create_app(Settings.load({}, **({"days": 10, "calls_per_day": 60} | settings)), clock=clock)


@contextmanager
def serve(app: WSGIApp) -> Iterator[str]:
    """Serve `app` on 127.0.0.1 on a free port in a thread; yields its base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=QuietHandler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


class Rewrite:
    """Rewrites call-log queries (`query` may also answer by itself) and/or JSON answers."""

    def __init__(self, app: WSGIApp, *, query: Callable[[Query], Query | Response] | None = None,
                 answer: Callable[[Request, Response], Response] | None = None,
                 headers: Callable[[dict[str, Any]], None] | None = None) -> None:
        self.app, self.query, self.answer, self.headers = app, query, answer, headers

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        if request.path == CALL_LOG and self.headers is not None:
            self.headers(environ)
        if request.path == CALL_LOG and self.query is not None:
            rewritten = self.query(request.args.to_dict())
            if isinstance(rewritten, Response):
                return rewritten(environ, start_response)
            environ["QUERY_STRING"] = urlencode(rewritten)
        response = Response.from_app(self.app, environ)
        if self.answer is not None:
            response = self.answer(request, response)
        return response(environ, start_response)


class Recording:
    """Records every request the server receives and every token it issues."""

    def __init__(self, app: WSGIApp) -> None:
        self.app = app
        self.requests: list[tuple[float, str, str]] = []
        self.tokens: list[str] = []
        self._lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        with self._lock:
            self.requests.append((time.monotonic(), environ["REQUEST_METHOD"], environ["PATH_INFO"]))
        response = Response.from_app(self.app, environ)
        if environ["PATH_INFO"] == TOKEN and response.status_code == 200:
            with self._lock:
                self.tokens.append(json.loads(response.get_data())["data"]["token"])
        return response(environ, start_response)

    def operations(self) -> set[tuple[str, str]]:
        """The (method, path) pairs received."""
        return {(method, path) for _, method, path in self.requests}


def _dates(query: Query) -> tuple[datetime, datetime] | None:
    try:
        return datetime.strptime(query["start_date"], FORMAT), datetime.strptime(query["end_date"], FORMAT)
    except (KeyError, ValueError):
        return None


def _json_answer(path: str, change: Callable[[dict[str, Any]], None]) -> Callable[[Request, Response], Response]:
    """An answer rewriter that changes the JSON of 200 answers on `path`."""
    def answer(request: Request, response: Response) -> Response:
        if request.path == path and response.status_code == 200:
            body = json.loads(response.get_data())
            change(body)
            response.set_data(json.dumps(body))
        return response
    return answer


def _each_call(change: Callable[[dict[str, Any]], None]) -> Callable[[dict[str, Any]], None]:
    def apply(body: dict[str, Any]) -> None:
        for call in body["data"]:
            change(call)
    return apply


def no_range_rule(query: Query) -> Query:
    """Windows over 31 days are served (clamped) instead of refused."""
    dates = _dates(query)
    if dates and dates[1] - dates[0] > timedelta(days=31) and dates[0] <= dates[1]:
        query["start_date"] = (dates[1] - timedelta(days=31)).strftime(FORMAT)
    return query


def widen_window(query: Query) -> Query:
    """The host returns a day of calls before the window too."""
    dates = _dates(query)
    if dates and timedelta(0) <= dates[1] - dates[0] <= timedelta(days=30):
        query["start_date"] = (dates[0] - timedelta(days=1)).strftime(FORMAT)
    return query


def accept_inverted(query: Query) -> Query:
    """An inverted window is served as if its ends were swapped."""
    dates = _dates(query)
    if dates and dates[0] > dates[1]:
        query["start_date"], query["end_date"] = query["end_date"], query["start_date"]
    return query


def crash_on_bad_date(query: Query) -> Query | Response:
    """A date that does not parse crashes the host: 500."""
    for name in ("start_date", "end_date"):
        try:
            datetime.strptime(query.get(name, ""), FORMAT)
        except ValueError:
            return Response('{"error": "internal server error"}', 500, content_type="application/json")
    return query


def drop(name: str) -> Callable[[Query], Query]:
    """The host ignores one query parameter."""
    def rewrite(query: Query) -> Query:
        query.pop(name, None)
        return query
    return rewrite


def offset_ignored(app: WSGIApp) -> WSGIApp:
    """Every page starts at 0, but the offset asked for is echoed."""
    asked: dict[int, str] = {}

    def query(q: Query) -> Query:
        asked[threading.get_ident()] = q.pop("offset", "0")
        return q

    def answer(request: Request, response: Response) -> Response:
        if request.path == CALL_LOG and response.status_code == 200:
            body = json.loads(response.get_data())
            offset = asked.get(threading.get_ident(), "0")
            body["offset"] = int(offset) if offset.isdigit() else 0
            response.set_data(json.dumps(body))
        return response

    return Rewrite(app, query=query, answer=answer)


def html_errors(request: Request, response: Response) -> Response:
    """Errors as HTML pages, as a default web server would send them."""
    if response.status_code >= 400:
        page = f"<html><body><h1>{response.status}</h1></body></html>"
        return Response(page, response.status_code, content_type="text/html; charset=utf-8")
    return response


def auth_ignored(app: WSGIApp) -> WSGIApp:
    """The call log serves any request, whatever its token, as the demo account."""
    token = json.loads(create_test_token(app))["data"]["token"]

    def headers(environ: dict[str, Any]) -> None:
        environ["HTTP_AUTHORIZATION"] = f"Bearer {token}"

    return Rewrite(app, headers=headers)


def create_test_token(app: WSGIApp) -> bytes:
    """A token of the demo account, straight from the app."""
    response = app.test_client().post(TOKEN, json={"api_key": "aaaaaaaa-bbbb-cccc-dddd-eeeeeeee"})  # type: ignore[attr-defined]
    return bytes(response.get_data())


@dataclass(frozen=True)
class Variant:
    """A broken mock and the check that must name its fault."""

    name: str
    build: Callable[[WSGIApp], WSGIApp]
    check: str
    settings: tuple[tuple[str, Any], ...] = ()


VARIANTS = [
    Variant("wrong field type", lambda a: Rewrite(a, answer=_json_answer(
        CALL_LOG, _each_call(lambda c: c.update(amount=str(c["amount"]))))), "response_schema_conformance"),
    Variant("31-day rule off", lambda a: Rewrite(a, query=no_range_rule), "window_31_days"),
    Variant("inverted window accepted", lambda a: Rewrite(a, query=accept_inverted), "window_inverted"),
    Variant("total of the page only", lambda a: Rewrite(a, answer=_json_answer(
        CALL_LOG, lambda b: b.update(total=len(b["data"])))), "paging"),
    Variant("offset ignored", offset_ignored, "paging"),
    Variant("source filter ignored", lambda a: Rewrite(a, query=drop("source")), "source_filter"),
    Variant("oldest first", lambda a: Rewrite(a, answer=_json_answer(
        CALL_LOG, lambda b: b["data"].reverse())), "newest_first"),
    Variant("records outside the window", lambda a: Rewrite(a, query=widen_window), "records_in_window"),
    Variant("reads times as UTC", lambda a: a, "records_in_window", (("timezone", "UTC"),)),
    Variant("auth ignored", auth_ignored, "ignored_auth"),
    Variant("HTML errors", lambda a: Rewrite(a, answer=html_errors), "content_type_conformance"),
    Variant("500 on a bad date", lambda a: Rewrite(a, query=crash_on_bad_date), "not_a_server_error"),
    Variant("expire_at in milliseconds", lambda a: Rewrite(a, answer=_json_answer(
        TOKEN, lambda b: b["data"].update(expire_at=b["data"]["expire_at"] * 1000))), "token_expiry"),
    Variant("duration off by one", lambda a: Rewrite(a, answer=_json_answer(
        CALL_LOG, _each_call(lambda c: c.update(duration=c["duration"] + 1)))), "record_arithmetic"),
    # A source that is no text ("\\ud800..." in the JSON): verify filters by it as by any other
    # (it used to stop with an internal error, UnicodeEncodeError, building the query), and the
    # host's own filter cannot find it.
    Variant("lone surrogate in every source", lambda a: Rewrite(a, answer=_json_answer(
        CALL_LOG, _each_call(lambda c: c.update(source="\ud800" + c["source"])))), "source_filter"),
]
