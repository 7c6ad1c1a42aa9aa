"""Running the app on a real socket."""

from __future__ import annotations

import io
import json
import re
import signal
import sys
import threading
from collections.abc import Callable
from typing import Any, TextIO
from urllib.parse import unquote, unquote_to_bytes, urlsplit

from werkzeug.serving import BaseWSGIServer, DechunkedInput, WSGIRequestHandler, make_server

from mockpbx.backend import Backend
from mockpbx.settings import Settings
from mockpbx.web.bodies import BODY_ERROR, BODY_READ


#: How often a serving loop checks whether it was asked to stop: what `shutdown()` waits at most
#: (socketserver's default, 0.5 s, made each stop of a MockPBX take half a second).
STOP_POLL_SECONDS = 0.05


class _Handler(WSGIRequestHandler):
    """werkzeug's handler, with the errors it answers before the app runs (414, 431, a bad
    request line) in the app's JSON form instead of an HTML page."""

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """Answer `code` with `{"error": message}` and close the connection."""
        text = message or self.responses.get(code, ("error",))[0]
        self.log_error("code %d, message %s", code, text)
        body = json.dumps({"error": text}, separators=(",", ":")).encode()
        self.send_response(code, message)
        self.send_header("Connection", "close")
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def parse_request(self) -> bool:
        """http.server's, but for a target holding the bytes that `str.split` takes for whitespace
        once read as Latin-1 (NEL 0x85, NBSP 0xA0): raw UTF-8 holds them (`à` is C3 A0). Under
        `--dev` and `MockPBX` the request line was split there, as if at a space: a target cut
        short (a query ending in `à` lost its last byte, then a 400 for invalid UTF-8) or a 400
        "Bad request syntax", where `serve` answers. Such bytes are percent-encoded for
        http.server's reading, and the target as sent is kept for `make_environ`; in a target
        that is not UTF-8 they are a 400, as under `serve` (where they were cut or split before)."""
        raw: bytes = self.raw_requestline  # type: ignore[has-type]
        #: The origin-form target as sent, where http.server's reading changes it (see make_environ).
        self._sent_target: str | None = None
        words = raw.split()  # (bytes split at ASCII whitespace only)
        if len(words) == 3 and words[1].startswith(b"/"):  # (an origin-form target: the API's)
            target = words[1]
            if _SPLIT_BYTES.search(target):
                try:
                    target.decode("utf-8")
                except UnicodeDecodeError:  # not raw UTF-8: a bad request, as `serve` (granian) says
                    self.command, self.request_version, self.close_connection = "", "HTTP/1.1", True
                    self.send_error(400, "the request target is not valid UTF-8")
                    return False
                encoded = _SPLIT_BYTES.sub(lambda m: b"%%%02X" % m[0][0], target)
                self.raw_requestline = b" ".join((words[0], encoded, words[2])) + b"\r\n"
                self._sent_target = target.decode("latin-1")
            elif target.startswith(b"//"):  # http.server makes it `/...`
                self._sent_target = target.decode("latin-1")
        return bool(super().parse_request())

    def log_error(self, format: str, *args: Any) -> None:
        if not format.startswith("Request timed out"):  # an idle kept-alive connection let go: routine
            super().log_error(format, *args)

    def make_environ(self) -> dict[str, Any]:
        """werkzeug's environ, with a request target holding raw bytes beyond ASCII read as PEP 3333
        says (each byte one Latin-1 character), as `mockpbx serve` reads it. http.server has read
        the target as Latin-1 already, and werkzeug would encode it as UTF-8 once more: raw UTF-8
        in a query (`source=€`) reached the app as `â\x82¬` encoded again, and the API read it so."""
        environ: dict[str, Any] = super().make_environ()
        codings = [c.strip().lower() for c in environ.get("HTTP_TRANSFER_ENCODING", "").split(",") if c.strip()]
        if codings and (codings[-1] != "chunked" or self.request_version == "HTTP/1.0"):
            # A body whose end no one can find (`gzip` last, or chunks in HTTP/1.0): 400 at once, and
            # the connection closed, as under `serve` (it was read to the body deadline, then 408).
            environ.update({BODY_READ: True, BODY_ERROR: 400, "wsgi.input": io.BytesIO()})
            environ.pop("CONTENT_LENGTH", None)
            self.close_connection = True
        elif isinstance(environ.get("wsgi.input"), DechunkedInput):  # werkzeug's, for a chunked body
            environ["wsgi.input"] = _Dechunked(self.rfile)
            # Transfer-Encoding overrides Content-Length (RFC 9112 6.3), as under `serve`: a request
            # with both is read by its chunks, never by a length a smuggler chose.
            environ.pop("CONTENT_LENGTH", None)
        # The target as sent: http.server made `//v1/call/log` `/v1/call/log` (and werkzeug would
        # read `//v1` as a host); `serve` keeps the path as sent, and so does the journal.
        sent = self._sent_target or self.path
        if not sent.isascii():
            target = urlsplit(sent)
            path = _origin_path(sent) or target.path
            environ["PATH_INFO"] = unquote_to_bytes(path.encode("latin-1")).decode("latin-1")
            environ["QUERY_STRING"] = target.query
        elif sent.startswith("//"):
            environ["PATH_INFO"] = unquote(_origin_path(sent)).encode().decode("latin-1")
        return environ


#: Bytes of raw UTF-8 that `str.split` splits a request line at once read as Latin-1 (NEL, NBSP).
#: (0x1C-0x1F, which it splits at too, are control characters: a bad request under every server.)
_SPLIT_BYTES = re.compile(rb"[\x85\xa0]")


def _origin_path(target: str) -> str:
    """The path of an origin-form request target (`/path?query`), as sent; "" for another form."""
    return target.partition("?")[0].partition("#")[0] if target.startswith("/") else ""


_CHUNK_LINE = 100  # bytes of a chunk-size line, extensions included (werkzeug's own bound)
_TRAILER_LINES = 1000  # trailer fields after the last chunk (`serve` took 150)
_TRAILER_LINE = 8192  # bytes of one trailer field


class _Dechunked(io.RawIOBase):
    """A chunked request body (RFC 9112 7.1), read as `mockpbx serve` reads it: chunk extensions
    (`5;name=value`) and trailer fields are allowed and ignored, a chunk-size line longer than 100
    bytes or a size of more than 16 hex digits is an error at once (werkzeug's reader refused the
    first two, and waited for the bytes of the third until the body deadline)."""

    def __init__(self, rfile: Any) -> None:
        self._rfile, self._left, self._done = rfile, 0, False

    def readable(self) -> bool:
        return True

    def _line(self, longest: int = _CHUNK_LINE) -> bytes:
        line: bytes = self._rfile.readline(longest + 1)
        if not line.endswith(b"\r\n") or len(line) > longest:  # (a bare LF is refused, as under `serve`)
            raise OSError("a chunk line that does not end with CRLF, or is too long")
        return line

    def _size(self) -> int:
        size = self._line().split(b";", 1)[0].strip()
        if not size or len(size) > 16 or size.strip(b"0123456789abcdefABCDEF"):
            raise OSError(f"invalid chunk size {size[:20]!r}")
        return int(size, 16)

    def readinto(self, buffer: Any) -> int:
        read = 0
        while not self._done and read < len(buffer):
            if self._left == 0:
                self._left = self._size()
                if self._left == 0:  # the last chunk: then trailer fields, up to an empty line
                    for _ in range(_TRAILER_LINES):
                        if self._line(_TRAILER_LINE) == b"\r\n":
                            break
                    else:
                        raise OSError("too many trailer fields")
                    self._done = True
                    break
            data = self._rfile.read(min(len(buffer) - read, self._left))
            if not data:
                raise OSError("the body broke off inside a chunk")
            buffer[read:read + len(data)] = data
            read += len(data)
            self._left -= len(data)
            if self._left == 0 and self._line() != b"\r\n":
                raise OSError("a chunk not followed by its line end")
        return read


class _QuietHandler(_Handler):
    def log_request(self, *args: object, **kwargs: object) -> None:  # the journal has the requests
        pass

    def log_error(self, format: str, *args: Any) -> None:  # the answer the client gets says it all
        pass


def bind(settings: Settings, backend: Backend, *, quiet: bool = False) -> BaseWSGIServer:
    """A threaded WSGI server bound to the settings' address (port 0 picks a free port).

    A connection that sends nothing for `body_timeout` seconds is closed: a stalled client
    holds its own thread only that long.
    """
    from mockpbx.serving import StartupError, check_bindable
    from mockpbx.web.app import create_app
    handler = type("Handler", (_QuietHandler if quiet else _Handler,), {"timeout": settings.body_timeout})
    # werkzeug ends the whole process (SystemExit) when it cannot listen: MockPBX(port=<busy>)
    # would end a test session. An address that cannot be had is a StartupError here instead.
    check_bindable(settings.host, settings.port)
    try:
        return make_server(settings.host, settings.port, create_app(backend=backend), threaded=True,
                           request_handler=handler)
    except SystemExit:  # taken between the check and the bind
        raise StartupError(f"cannot listen on {settings.host}:{settings.port}") from None


def banner(settings: Settings, backend: Backend, port: int | None = None) -> str:
    """What `mockpbx serve` prints on start: the URL and the demo credentials."""
    host = settings.host
    url = f"http://{'[' + host + ']' if ':' in host else host}:{port or settings.port}"
    lines = [f"mockpbx serving the TEL4VN PBX API on {url}  (contract: {url}/openapi.json)"]
    for account in list(backend.service.accounts)[:3]:
        lines.append(f"  demo account: username={account.login} password={account.password} "
                     f"api_key={account.api_key} (domain {account.domain_uuid}, {account.level})")
    lines.append(f"  API reference: {url}/docs" + (f"  dashboard: {url}/_mock/ui" if settings.control else ""))
    lines.append(f"  data: {backend.describe_data()}; profile {backend.settings.profile}, "
                 f"time zone {backend.settings.timezone}, seed {backend.settings.seed}, "
                 f"{settings.workers} worker(s); Ctrl-C or SIGTERM stops")
    return "\n".join(lines)


def on_hangup(stop: Callable[..., Any]) -> Any:
    """What SIGHUP should do: `stop`, as SIGTERM does, unless the process started with SIGHUP
    ignored (`nohup`), which it then keeps ignoring. Nothing in a running mock is reloadable
    (granian's meaning of SIGHUP): every setting is read once, at start-up."""
    return signal.SIG_IGN if signal.getsignal(signal.SIGHUP) is signal.SIG_IGN else stop


def run(settings: Settings, backend: Backend, out: TextIO = sys.stdout) -> None:
    """Serve until interrupted, SIGTERM or SIGHUP, then finish the requests in flight and return."""
    server = bind(settings, backend, quiet=True)  # the access log has the requests
    if threading.current_thread() is threading.main_thread():
        def stop(signum: int, frame: Any) -> None:
            threading.Thread(target=server.shutdown).start()
        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGHUP, on_hangup(stop))
    print(banner(settings, backend, server.server_port), file=out, flush=True)
    try:
        server.serve_forever(STOP_POLL_SECONDS)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        print("mockpbx stopped", file=out, flush=True)
