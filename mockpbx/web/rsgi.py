"""`mockpbx serve`'s front: granian's RSGI interface, each worker's requests on its event loop.

Why not granian's WSGI interface: it runs every request in a Python thread of its own, so
that a request held in a delay fault or a client stalling mid-body holds only its thread; but
under load the threads hand the GIL to each other on every request, and with 32 busy
connections that cost more than computing the call log (8,540 req/s with 64 threads against
20,636 with one, in one run of `bench/bench_paired.py`). Here the waiting is asynchronous
and the computing is not: the body is read and a delay fault waited out on the event loop
(many at once, no thread each), then the WSGI app (the same Flask app and call-log endpoint
as under `--dev` and `MockPBX`) is called synchronously on the loop, which answers in tens of
microseconds. A GET or HEAD of the call log with no fault and no body, the request clients
hammer, is handed straight to the call-log endpoint's `answer`, the method its WSGI call uses
for the same requests, without the WSGI plumbing around it (the rest of the environ, the body
reader, `start_response`), which cost a tenth of such a request. Only the control API, the
dashboard and the docs page, whose answers can take longer (a 4 MiB journal), are called on a
pool of `--threads` threads.

What this front does, and the WSGI app then does not do again:
- the body is read whole, under `--max-body-bytes` (413, however framed: the rest is never
  read) and `--body-timeout` (408); a body the client broke off is 400. These are marked in
  the environ as `mockpbx.web.bodies.BodyReader` marks them, and answered by the app as JSON
  with `Connection: close`;
- a fault is taken for the request and its delay waited out here; the app gets the fault in
  the environ (`PRETAKEN`) and applies the rest of it without waiting again;
- the access log's lines are written a few kilobytes at a time (mockpbx.web.access_log);
- a dropped request's connection is found by the client's port (`REMOTE_PORT`) and shut
  (`mockpbx.web.drop`).
"""

from __future__ import annotations

import asyncio
import io
import sys
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache
from typing import Any

from mockpbx.backend import Backend
from mockpbx.web.access_log import batch_on_this_loop, flush_batches
from mockpbx.web.bodies import BODY_ERROR, BODY_READ, TooLarge, announced_length
from mockpbx.web.calllog import ANSWERED_METHODS, CALL_LOG_PATHS, CallLogEndpoint
from mockpbx.web.hooks import HEADERS, PRETAKEN, UNTRACKED_PREFIXES, route_path, take_fault

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
#: Paths answered on the thread pool: the control API and the pages (see the module docstring).
_POOLED = ("/_mock", "/docs")


class RSGIFront:
    """granian's RSGI app: reads the body, waits out a delay fault, then calls the WSGI app."""

    def __init__(self, app: WSGIApp, call_log: CallLogEndpoint, backend: Backend, *,
                 on_serving: Callable[[], None] | None = None) -> None:
        settings = backend.settings
        self._app, self._call_log, self._store, self._on_serving = app, call_log, backend.store, on_serving
        self._limit, self._timeout = settings.max_body_bytes, settings.body_timeout
        self._pool = ThreadPoolExecutor(max_workers=settings.threads, thread_name_prefix="mockpbx-control")

    def __rsgi_init__(self, loop: asyncio.AbstractEventLoop) -> None:
        """granian, as the worker starts: its access-log lines are batched (mockpbx.web.access_log),
        and `on_serving` is called once its loop runs (granian has set up the server and its
        signal handling by then)."""
        batch_on_this_loop(loop)
        if self._on_serving is not None:
            loop.call_soon(self._on_serving)

    def __rsgi_del__(self, loop: asyncio.AbstractEventLoop) -> None:
        """granian, as the worker stops: the access-log lines still kept are written."""
        flush_batches()

    async def __call__(self, scope: Any, protocol: Any) -> None:
        if scope.proto != "http":  # granian runs without WebSockets (mockpbx.serving): never met
            return
        environ = self._environ(scope)
        environ["mockpbx.started"] = time.perf_counter()
        path = route_path(environ["PATH_INFO"])  # as _environ read it (prefixes are ASCII: any encoding will do)
        tracked = not path.startswith(UNTRACKED_PREFIXES)
        if tracked:  # the journal's epoch as the request begins (see mockpbx.web.hooks)
            environ["mockpbx.journal_epoch"] = self._store.journal_epoch()
        if "CONTENT_LENGTH" in environ or "HTTP_TRANSFER_ENCODING" in environ:
            await self._read_body(environ, protocol)
        plain = False  # a call-log GET or HEAD with no fault and no body (see the module docstring)
        if tracked and BODY_ERROR not in environ:
            fault = environ[PRETAKEN] = take_fault(self._store, environ)
            if fault is not None and fault.delay_ms:
                await _sleep_at_least(fault.delay_ms / 1000)
            plain = fault is None and path in CALL_LOG_PATHS and BODY_READ not in environ \
                and environ["REQUEST_METHOD"] in ANSWERED_METHODS
        if plain:
            line, headers, body = self._call_log.answer(environ)
        else:
            self._complete_environ(environ, scope)
            if path.startswith(_POOLED):
                line, headers, body = await asyncio.get_running_loop().run_in_executor(
                    self._pool, self._call, environ)
            else:
                line, headers, body = self._call(environ)
        protocol.response_bytes(int(line[:3]), headers, b"" if environ["REQUEST_METHOD"] == "HEAD" else body)

    def _call(self, environ: dict[str, Any]) -> tuple[str, list[tuple[str, str]], bytes]:
        """Run the WSGI app to the end: its status line, headers and whole body."""
        started: list[Any] = []

        def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> None:
            started[:] = [status, headers]

        result = self._app(environ, start_response)
        if type(result) is list:  # the call log's answer (nothing to close)
            body = result[0] if len(result) == 1 else b"".join(result)
        else:
            try:
                body = b"".join(result)
            except ConnectionAbortedError:  # a drop whose connection is gone already: nothing to cut
                body = b""
            finally:
                close = getattr(result, "close", None)
                if close is not None:
                    close()
        line, headers = started
        return line, headers, body

    async def _read_body(self, environ: dict[str, Any], protocol: Any) -> None:
        """The body into `wsgi.input`, or `BODY_ERROR` set: 413 over the limit, 408 late, 400 cut."""
        environ[BODY_READ] = True
        length = announced_length(environ)
        body = b""
        if length is not None and length > self._limit:
            environ[BODY_ERROR] = 413
        else:
            try:
                body = await asyncio.wait_for(self._gather(protocol), self._timeout)
            except TooLarge:
                environ[BODY_ERROR] = 413
            except asyncio.TimeoutError:
                environ[BODY_ERROR] = 408
            except Exception:  # noqa: BLE001 - the client broke the body off
                environ[BODY_ERROR] = 400
            else:
                if length is not None and len(body) != length:
                    environ[BODY_ERROR], body = 400, b""
        environ["wsgi.input"] = io.BytesIO(body)
        environ["wsgi.input_terminated"] = True

    async def _gather(self, protocol: Any) -> bytes:
        parts: list[bytes] = []
        size = 0
        async for chunk in protocol:
            size += len(chunk)
            if size > self._limit:
                raise TooLarge
            parts.append(chunk)
        return b"".join(parts)

    def _environ(self, scope: Any) -> dict[str, Any]:
        """The request's keys of the WSGI environ for an RSGI scope (PEP 3333), with the client's
        port: what the front and the call log's `answer` read; `_complete_environ` adds the rest."""
        environ: dict[str, Any] = {}
        host, _, port = scope.client.rpartition(":")
        path = scope.path
        method = scope.method
        environ["REQUEST_METHOD"] = method if method.isupper() else method.upper()  # as BodyReader reads it
        environ["PATH_INFO"] = path if path.isascii() else path.encode().decode("latin-1")
        query = scope.query_string  # granian decodes it as UTF-8; WSGI's environ holds it as Latin-1 (PEP 3333)
        environ["QUERY_STRING"] = query if query.isascii() else query.encode("utf-8", "surrogateescape").decode("latin-1")
        environ["REMOTE_ADDR"] = host.strip("[]")
        environ["REMOTE_PORT"] = port
        headers: dict[str, str] = {}
        for name, value in scope.headers.items():
            key = _environ_key(name)
            headers[key] = f"{headers[key]},{value}" if key in headers else value
        environ.update(headers)
        environ[HEADERS] = headers  # for the journal (mockpbx.web.hooks.record)
        return environ

    @staticmethod
    def _complete_environ(environ: dict[str, Any], scope: Any) -> None:
        """The rest of the WSGI environ (PEP 3333), for the WSGI app: the server's keys and `wsgi.*`."""
        environ.update(_CONSTANT)
        environ["SERVER_NAME"], environ["SERVER_PORT"] = _server(scope.server)
        environ["SERVER_PROTOCOL"] = "HTTP/" + scope.http_version
        environ["wsgi.url_scheme"] = scope.scheme
        if "wsgi.input" not in environ:  # (the body's, if one was read)
            environ["wsgi.input"] = io.BytesIO()
        environ["wsgi.errors"] = sys.stderr  # as it is now (it may have been replaced since start-up)


async def _sleep_at_least(seconds: float) -> None:
    """Wait `seconds` at least: uvloop's timers count whole milliseconds and often fire a little
    early (a 2,500 ms delay fault once measured 2,499.965 ms); what is left is waited again, a
    millisecond at least, so that the timer cannot round it to nothing."""
    deadline = time.perf_counter() + seconds
    await asyncio.sleep(seconds)
    while (left := deadline - time.perf_counter()) > 0:  # ends by the deadline: time only moves on
        await asyncio.sleep(max(left, 0.001))


#: What every request's environ holds the same.
_CONSTANT: dict[str, Any] = {
    "SCRIPT_NAME": "", "wsgi.version": (1, 0), "wsgi.multithread": True, "wsgi.multiprocess": True,
    "wsgi.run_once": False,
}


@lru_cache(maxsize=64)
def _server(address: str) -> tuple[str, str]:
    """(SERVER_NAME, SERVER_PORT) of the listening address (remembered: it is the same each time)."""
    host, _, port = address.rpartition(":")
    return host.strip("[]"), port


@lru_cache(maxsize=1024)
def _environ_key(name: str) -> str:
    """The WSGI environ key of a header name (`X-Trace` -> `HTTP_X_TRACE`; CONTENT_TYPE and
    CONTENT_LENGTH without the prefix), remembered for the names met."""
    key = name.upper().replace("-", "_")
    return key if key in ("CONTENT_TYPE", "CONTENT_LENGTH") else "HTTP_" + key
