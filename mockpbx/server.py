"""Running the app on a real socket."""

from __future__ import annotations

import signal
import sys
import threading
from typing import TextIO

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from mockpbx.backend import Backend
from mockpbx.settings import Settings


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, *args: object, **kwargs: object) -> None:  # the journal has the requests
        pass


def bind(settings: Settings, backend: Backend, *, quiet: bool = False) -> BaseWSGIServer:
    """A threaded WSGI server bound to the settings' address (port 0 picks a free port)."""
    from mockpbx.web.app import create_app
    return make_server(settings.host, settings.port, create_app(backend=backend), threaded=True,
                       request_handler=_QuietHandler if quiet else WSGIRequestHandler)


def banner(settings: Settings, backend: Backend, port: int | None = None) -> str:
    """What `mockpbx serve` prints on start: the URL and the demo credentials."""
    host = settings.host
    url = f"http://{'[' + host + ']' if ':' in host else host}:{port or settings.port}"
    lines = [f"mockpbx serving the TEL4VN PBX API on {url}  (contract: {url}/openapi.json)"]
    for account in list(backend.service.accounts)[:3]:
        lines.append(f"  demo account: username={account.login} password={account.password} "
                     f"api_key={account.api_key} (domain {account.domain_uuid}, {account.level})")
    lines.append(f"  data: {backend.describe_data()}; profile {backend.settings.profile}, "
                 f"time zone {backend.settings.timezone}, seed {backend.settings.seed}, "
                 f"{settings.workers} worker(s); Ctrl-C or SIGTERM stops")
    return "\n".join(lines)


def run(settings: Settings, backend: Backend, out: TextIO = sys.stdout) -> None:
    """Serve until interrupted or SIGTERM, then finish the requests in flight and return."""
    server = bind(settings, backend, quiet=True)  # the access log has the requests
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, lambda signum, frame: threading.Thread(target=server.shutdown).start())
    print(banner(settings, backend, server.server_port), file=out, flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        print("mockpbx stopped", file=out, flush=True)
