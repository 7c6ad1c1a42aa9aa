"""In-process cost of one call-log request: the WSGI app called directly, no server, no socket.

Default data and settings as `mockpbx serve` has them (access log off), a real token, and
the request kinds `bench_http.py` loads: the same query repeated, a different page each time
(offset varied), a different window each time (start and end moved by seconds, limit 50),
and a `source` filter. Prints microseconds per request (median of `--rounds` batches).
Run another build with PYTHONPATH=<its checkout> to compare, e.g. the previous commit:

    python bench/bench_request.py
    git archive main | tar -x -C /tmp/base && PYTHONPATH=/tmp/base python bench/bench_request.py
"""

from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import mockpbx
from mockpbx.settings import Settings
from mockpbx.web.app import create_app

ZONE = ZoneInfo("Asia/Ho_Chi_Minh")
LOCAL = "%Y-%m-%d %H:%M:%S"


def queries(kind: str, source: str) -> Iterator[str]:
    """Endless query strings of one kind, as the wrk scripts send them."""
    end = datetime.now(ZONE).replace(microsecond=0)
    start = end - timedelta(days=30)
    base = {"start_date": start.strftime(LOCAL), "end_date": end.strftime(LOCAL), "limit": 10}
    n = 0
    while True:
        n += 1
        # Never the same query twice (the page memo would answer it): the window moves by a
        # second whenever the offsets wrap, and by 3 s per request for the window and source kinds.
        if kind == "repeated":
            yield urlencode(base)
            continue
        shift = timedelta(seconds=n // 5000) if kind == "varied offset" else timedelta(seconds=3 * n)
        query = {"start_date": (start - shift).strftime(LOCAL), "end_date": (end - shift).strftime(LOCAL)}
        if kind == "varied offset":
            yield urlencode({**query, "limit": 10, "offset": n * 7919 % 5000})
        elif kind == "varied window":
            yield urlencode({**query, "limit": 50})
        else:
            yield urlencode({**query, "limit": 10, "source": source})


def call(app: Callable[..., object], method: str, path: str, query: str = "", body: bytes = b"",
         headers: dict[str, str] | None = None) -> tuple[str, bytes]:
    """One WSGI call; returns (status line, body)."""
    status: list[str] = []
    environ = {"REQUEST_METHOD": method, "PATH_INFO": path, "QUERY_STRING": query, "SERVER_NAME": "127.0.0.1",
               "SERVER_PORT": "8080", "SERVER_PROTOCOL": "HTTP/1.1", "REMOTE_ADDR": "127.0.0.1",
               "wsgi.url_scheme": "http", "wsgi.input": io.BytesIO(body), "wsgi.errors": sys.stderr,
               "wsgi.version": (1, 0), "wsgi.multithread": False, "wsgi.multiprocess": False,
               "wsgi.run_once": False}
    if body:
        environ.update(CONTENT_TYPE="application/json", CONTENT_LENGTH=str(len(body)))
    for name, value in (headers or {}).items():
        environ["HTTP_" + name.upper().replace("-", "_")] = value
    chunks = app(environ, lambda s, h, e=None: status.append(s))  # type: ignore[operator]
    return status[0], b"".join(chunks)  # type: ignore[attr-defined]


def main() -> int:
    """Print the cost per request of each kind."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=3000, help="requests per batch [3000]")
    parser.add_argument("--rounds", type=int, default=5, help="batches per kind; the median is printed [5]")
    args = parser.parse_args()
    app = create_app(Settings.load({**os.environ, "MOCKPBX_ACCESS_LOG": "false"}))  # MOCKPBX_* apply
    wsgi = app.wsgi_app if hasattr(app, "wsgi_app") else app
    login = json.dumps({"username": "foo@test.tel4vn.com", "password": "foo123"}).encode()
    api_key = json.loads(call(wsgi, "POST", "/v1/auth", body=login)[1])["data"]["api_key"]
    token = json.loads(call(wsgi, "POST", "/v1/auth/token",
                            body=json.dumps({"api_key": api_key}).encode())[1])["data"]["token"]
    auth = {"Authorization": f"Bearer {token}"}
    first = json.loads(call(wsgi, "GET", "/v1/call/log", next(queries("repeated", "")), headers=auth)[1])
    source = first["data"][0]["source"]
    print(f"mockpbx {getattr(mockpbx, '__version__', '?')} from {mockpbx.__file__}")
    print(f"in-process GET /v1/call/log, {args.rounds} x {args.requests} requests, median per request:")
    for kind in ("repeated", "varied offset", "varied window", "source filter"):
        stream = queries(kind, source)
        batches = []
        for _ in range(args.rounds):
            batch = [next(stream) for _ in range(args.requests)]
            started = time.perf_counter()
            for query in batch:
                status, _ = call(wsgi, "GET", "/v1/call/log", query, headers=auth)
            batches.append((time.perf_counter() - started) / args.requests * 1e6)
            if not status.startswith("200"):
                sys.exit(f"{kind}: {status}")
        print(f"  {kind:14} {statistics.median(batches):7.1f} us  (batches {min(batches):.1f}-{max(batches):.1f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
