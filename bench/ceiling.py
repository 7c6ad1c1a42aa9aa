"""A diagnostic build of `mockpbx serve` for `bench_paired.py`'s ceiling rows: what bounds one worker.

The real server, with the call log's answer (GET /v1/call/log) replaced by a constant body of a
page's size; every other request (the login and token the probe needs) is served as usual.

- `constant-app`: the RSGI front does all its work (environ, journal epoch, fault check), and the
  call log's `answer` (the method the front calls for a call-log GET with no fault and no body)
  returns the constant: what the front and granian cost.
- `empty-front`: the front answers the call log with the constant before any of its work: what
  granian, uvloop and one coroutine per request cost.

The normal build minus these is what the call log, its journal and coverage cost in the server.
Not a mock: it answers every call-log request alike, whatever the token or query.

    python bench/ceiling.py constant-app serve --workers 1 --port 8080 --no-access-log
"""

from __future__ import annotations

import runpy
import sys
from typing import Any

MODES = ("constant-app", "empty-front")
BODY = b'{"data":[' + b",".join([b'{"amount":240,"destination":"0258307002","duration":32,'
                                 b'"end_time":"2026-11-10T10:00:32Z","id":"0123456789abcdef","source":'
                                 b'"0901234567","start_time":"2026-11-10T10:00:00Z"}'] * 10) \
    + b'],"limit":10,"offset":0,"total":5000}'
HEADERS = [("Content-Type", "application/json"), ("Content-Length", str(len(BODY)))]


def patch(mode: str) -> None:
    """Replace the call log's answer (before granian forks)."""
    from mockpbx.web import rsgi
    from mockpbx.web.calllog import CALL_LOG, CallLogEndpoint
    if mode == "constant-app":
        def constant(self: Any, environ: dict[str, Any]) -> tuple[str, list[tuple[str, str]], bytes]:
            return "200 OK", HEADERS, BODY
        CallLogEndpoint.answer = constant  # type: ignore[method-assign]
    elif mode == "empty-front":
        call = rsgi.RSGIFront.__call__

        async def empty(self: Any, scope: Any, protocol: Any) -> None:
            if scope.path == CALL_LOG and scope.method == "GET":
                protocol.response_bytes(200, HEADERS, BODY)
                return
            await call(self, scope, protocol)
        rsgi.RSGIFront.__call__ = empty  # type: ignore[method-assign]
    else:
        raise SystemExit(f"mode must be one of {', '.join(MODES)}, not {mode!r}")


def main() -> None:
    if len(sys.argv) < 2:
        raise SystemExit(__doc__)
    patch(sys.argv[1])
    sys.argv = ["mockpbx", *sys.argv[2:]]
    runpy.run_module("mockpbx", run_name="__main__")


if __name__ == "__main__":
    main()
