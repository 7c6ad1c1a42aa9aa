"""A real `mockpbx serve` attacked from outside: slow bodies, delay faults, oversized and
malformed input, busy ports, bad clocks, drops. Each test checks the documented answer and
that other clients kept being served meanwhile. Waits are bounded socket reads and polls."""

from __future__ import annotations

import contextlib
import json
import os
import re
import select
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import requests

from click.testing import CliRunner

from mockpbx.cli import main
from mockpbx.serving import exposure_warnings
from mockpbx.settings import Settings, SettingsError
from mockpbx.testing import MockPBX
from tests.test_serving import Server
from tests.test_serving import serve as serve_with_data

LOGIN = b'{"username":"foo@test.tel4vn.com","password":"foo123"}'
#: Short enough for a fast module, long enough to see the server serve others meanwhile.
BODY_TIMEOUT = "2"


@contextmanager
def serve(*args: str, host: str = "127.0.0.1") -> Iterator[Server]:
    """A small `mockpbx serve` (2 days of 20 calls) without access log."""
    with serve_with_data("--no-access-log", *args, host=host, data=("--days", "2", "--calls-per-day", "20")) as running:
        yield running


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    with serve("--body-timeout", BODY_TIMEOUT) as running:
        yield running


@pytest.fixture(autouse=True)
def _no_faults_left(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    if "server" in request.fixturenames:
        request.getfixturevalue("server").delete("/_mock/faults")


def _answer(sock: socket.socket, timeout: float = 15) -> bytes:
    """Everything the server sends until it closes the connection (bounded)."""
    sock.settimeout(timeout)
    data = b""
    try:
        while chunk := sock.recv(65536):
            data += chunk
    except ConnectionResetError:
        pass
    return data


def _status_and_json(raw: bytes) -> tuple[int, dict[str, str], Any]:
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    return int(lines[0].split()[1]), headers, json.loads(body) if body else None


def _silent(socks: list[socket.socket]) -> bool:
    """None of the sockets has anything to read yet: the server has not answered them."""
    readable, _, _ = select.select(socks, [], [], 0)
    return not readable


def _others_are_served(server: Server) -> None:
    assert server.get("/healthz").json()["status"] == "ok"
    assert server.get("/_mock/requests").status_code == 200
    assert server.get("/_mock/clock").status_code == 200


def _stall(sock: socket.socket, framing: str = "length") -> None:
    head = (b"Content-Length: 54\r\n\r\n" + LOGIN[:5] if framing == "length"
            else b"Transfer-Encoding: chunked\r\n\r\n5\r\n" + LOGIN[:5])
    sock.sendall(b"POST /v1/auth HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n" + head)


def test_fifty_stalled_bodies_hold_only_themselves_then_get_408(server: Server) -> None:
    stalled = []
    try:
        for _ in range(50):
            stalled.append(server.connect())
            _stall(stalled[-1])
        _others_are_served(server)
        assert server.post("/v1/auth", json.loads(LOGIN)).status_code == 200
        assert _silent(stalled), "a stalled body was answered before the others were served"
        for sock in stalled:  # each then gets 408 JSON, and the server closes the connection
            status, headers, body = _status_and_json(_answer(sock))
            assert status == 408 and headers["content-type"] == "application/json"
            assert headers["connection"] == "close"
            assert body == {"error": f"the request body did not arrive within {BODY_TIMEOUT} s"}
    finally:
        for sock in stalled:
            sock.close()
    _others_are_served(server)


def test_the_body_deadline_never_cuts_a_request_waiting_in_a_delay_fault(server: Server) -> None:
    server.post("/_mock/faults", {"method": "GET", "path": "/v1/call/log", "kind": "delay", "delay_ms": 3500,
                                  "times": 1})
    with server.connect() as delayed, server.connect() as first, server.connect() as second:
        delayed.sendall(b"GET /v1/call/log HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        _poll(lambda: server.get("/_mock/faults").json()["data"] == [])  # it is in the delay
        _stall(first)
        _stall(second)
        # Past the body deadline, both stalled connections and the delayed one are silent; the
        # delayed request still gets its own answer, and the stalled ones their 408 after it.
        assert _status_and_json(_answer(delayed))[0] == 401
        assert [_status_and_json(_answer(sock))[0] for sock in (first, second)] == [408, 408]
    _others_are_served(server)


@pytest.mark.parametrize("framing", ["length", "chunked"])
def test_a_stalled_body_is_answered_408_and_its_connection_closed(server: Server, framing: str) -> None:
    with server.connect() as sock:
        _stall(sock, framing)
        _others_are_served(server)
        status, headers, body = _status_and_json(_answer(sock))  # read to the end: the server closes
    assert status == 408 and headers["content-type"] == "application/json" and headers["connection"] == "close"
    assert body == {"error": f"the request body did not arrive within {BODY_TIMEOUT} s"}
    assert server.get("/_mock/requests", params={"path": "/v1/auth"}).json()["data"][-1]["status"] == 408
    _others_are_served(server)


def test_requests_in_a_delay_fault_hold_only_themselves(server: Server) -> None:
    server.post("/_mock/faults", {"method": "GET", "path": "/v1/call/log", "kind": "delay", "delay_ms": 2500,
                                  "times": 10})
    delayed = []
    for _ in range(10):
        sock = server.connect()
        sock.sendall(b"GET /v1/call/log HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        delayed.append(sock)
    try:
        _poll(lambda: server.get("/_mock/faults").json()["data"] == [])  # all ten are in the delay
        assert server.delete("/_mock/faults").status_code == 200
        _others_are_served(server)
        assert _silent(delayed), "a delayed request was answered before the others were served"
        for sock in delayed:  # each then gets its normal answer (no token: 401)
            assert _status_and_json(_answer(sock))[0] == 401
    finally:
        for sock in delayed:
            sock.close()


def _poll(check: Any, deadline: float = 10) -> None:
    end = time.monotonic() + deadline
    while not check():
        assert time.monotonic() < end, "condition not met in time"
        time.sleep(0.02)


def _chunked(sock: socket.socket, path: str, body: bytes) -> None:
    sock.sendall(f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                 "Transfer-Encoding: chunked\r\n\r\n".encode())
    try:
        for start in range(0, len(body), 65536):
            piece = body[start:start + 65536]
            sock.sendall(b"%x\r\n%s\r\n" % (len(piece), piece))
        sock.sendall(b"0\r\n\r\n")
    except OSError:  # the server refused the body and closed before the end: its answer is read next
        pass


def test_a_body_over_the_limit_is_413_however_framed_and_never_cut(server: Server) -> None:
    oversized = LOGIN + b" " * (2 * 1024 * 1024) + b"GARBAGE"
    answers = []
    for framing in ("chunked", "length"):
        sock = server.connect()
        if framing == "chunked":
            sender = threading.Thread(target=_chunked, args=(sock, "/v1/auth", oversized), daemon=True)
        else:
            head = (f"POST /v1/auth HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                    f"Content-Length: {len(oversized)}\r\n\r\n").encode()
            sender = threading.Thread(target=_send_quietly, args=(sock, head + oversized), daemon=True)
        sender.start()
        answers.append(_status_and_json(_answer(sock)))
        sender.join(timeout=15)
        sock.close()
    for status, headers, body in answers:
        assert status == 413 and body == {"error": "request body is larger than 1048576 bytes"}
        assert headers["connection"] == "close"
    # Under the limit, a long chunked body arrives whole: trailing whitespace keeps it valid JSON.
    sock = server.connect()
    _chunked(sock, "/v1/auth", LOGIN + b" " * (900 * 1024))
    status, _, body = _status_and_json(_read_one(sock))
    sock.close()
    assert status == 200 and body["data"]["username"] == "foo"
    statuses = [e["status"] for e in server.get("/_mock/requests", params={"path": "/v1/auth"}).json()["data"]]
    assert statuses[-3:] == [413, 413, 200]
    _others_are_served(server)


def _send_quietly(sock: socket.socket, data: bytes) -> None:
    try:
        sock.sendall(data)
    except OSError:
        pass


def _read_one(sock: socket.socket) -> bytes:
    """One response with a Content-Length, on a connection that stays open."""
    sock.settimeout(15)
    data = b""
    while b"\r\n\r\n" not in data:
        data += sock.recv(65536) or b"!"  # a closed connection ends the loop below
    head = data.split(b"\r\n\r\n", 1)[0].lower()
    length = int(re.search(rb"content-length:\s*(\d+)", head).group(1))  # type: ignore[union-attr]
    while len(data) < len(head) + 4 + length:
        data += sock.recv(65536)
    return data


def test_a_clock_outside_the_supported_range_is_refused(server: Server) -> None:
    before = server.get("/_mock/clock").json()
    for body in ({"now": "9999-12-30T00:00:00Z"}, {"now": "1970-02-01T00:00:00Z"},
                 {"advance_seconds": 3_000_000_000}):
        answer = server.post("/_mock/clock", body)
        assert answer.status_code == 400
        assert "2000-01-01T00:00:00Z to 2100-01-01T00:00:00Z" in answer.json()["error"]
    after = server.get("/_mock/clock").json()
    assert after["frozen"] == before["frozen"] and abs(after["unix"] - before["unix"]) < 600
    token = server.post("/v1/auth/token", {"api_key": "aaaaaaaa-bbbb-cccc-dddd-eeeeeeee"}).json()["data"]["token"]
    assert server.get("/v1/call/log", params={"start_date": "2026-01-01 00:00:00", "end_date": "2026-01-02 00:00:00"},
                      headers={"Authorization": f"Bearer {token}"}).status_code == 200
    for start in ("9999-12-30T00:00:00Z", "1970-01-10T00:00:00Z"):
        result = _run("serve", "--port", "0", "--clock-start", start)
        assert result.returncode == 2 and result.stdout == "" and result.exception is not None
        assert result.stderr == (f"Error: --clock-start must be from 2000-01-01T00:00:00Z to "
                                 f"2100-01-01T00:00:00Z, got {start}\n")


def _run(*args: str) -> Any:
    """The command run in-process (its start-up checks come before anything is served)."""
    result = CliRunner().invoke(main, [*args, "--days", "1"], env={k: None for k in os.environ if k.startswith("MOCKPBX_")})
    result.returncode = result.exit_code
    return result


def test_a_busy_port_is_never_shared(server: Server) -> None:
    token = server.post("/v1/auth/token", {"api_key": "aaaaaaaa-bbbb-cccc-dddd-eeeeeeee"}).json()["data"]["token"]
    for extra in ([], ["--dev"], ["--seed", "5"]):
        result = _run("serve", "--port", str(server.port), *extra)
        assert result.returncode == 2, result.stderr
        assert result.stderr == (f"Error: cannot listen on 127.0.0.1:{server.port}: the port is already in use "
                                 "(by another mockpbx or another program)\n")
    with socket.socket() as other:  # a port held by another program
        other.bind(("127.0.0.1", 0))
        other.listen()
        result = _run("serve", "--port", str(other.getsockname()[1]))
    assert result.returncode == 2 and len(result.stderr.splitlines()) == 1 and "already in use" in result.stderr
    # Every connection still reaches the one server: its tokens keep working.
    auth = {"Authorization": f"Bearer {token}"}
    window = {"start_date": "2026-01-01 00:00:00", "end_date": "2026-01-02 00:00:00"}
    assert {server.get("/v1/call/log", params=window, headers=auth).status_code for _ in range(20)} == {200}


def test_start_up_errors_are_one_line_and_exit_2(tmp_path: Any) -> None:
    cases = {
        ("serve", "--host", "192.0.2.1", "--port", "0"): "the address is not available on this machine",
        ("serve", "--host", "no-such-host.invalid"): "--host no-such-host.invalid: no such host name or address",
        ("serve", "--threads", "0"): "--threads must be from 1 to 1024, got 0",
        ("serve", "--body-timeout", "nan"): "--body-timeout must be from 0.05 to 3600 seconds",
        ("generate", "-o", "/no/such/dir/x.json"): "cannot write /no/such/dir/x.json: No such file or directory",
        ("generate", "-o", str(tmp_path)): f"cannot write {tmp_path}",
    }
    for args, message in cases.items():
        result = _run(*args)
        assert result.returncode == 2, (args, result.stderr)
        assert len(result.stderr.splitlines()) == 1 and message in result.stderr, (args, result.stderr)
        assert "Traceback" not in result.stderr


@pytest.mark.parametrize("host", ["localhost", "::1"])
def test_host_accepts_names_and_ipv6_addresses(host: str) -> None:
    if host == "::1" and not socket.has_ipv6:
        pytest.skip("no IPv6 on this machine")
    try:
        with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
            probe.bind((host, 0))
    except OSError:
        pytest.skip(f"{host} is not available here")
    with serve(host=host) as running:
        assert running.get("/healthz").status_code == 200
        assert running.get("/_mock/clock").status_code == 200


def test_http_layer_errors_under_granian_are_as_documented(server: Server) -> None:
    cases = [
        (b"GET /" + b"a" * 70_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414),
        (b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + b"".join(b"X-H%d: v\r\n" % i for i in range(200)) + b"\r\n",
         431),
        (b"HELLO WORLD\r\n\r\n", 400),
    ]
    for raw, expected in cases:
        sock = server.connect()
        _send_quietly(sock, raw)
        status, headers, body = _status_and_json(_answer(sock))
        sock.close()
        # granian answers these itself: an empty body, no Content-Type (see the contract and README)
        assert status == expected and headers.get("content-length") == "0" and body is None
        _others_are_served(server)


def _raw(server: Server, request_line: str, headers: str = "", body: bytes = b"",
         connection: str = "close") -> tuple[int, dict[str, str], bytes]:
    """One request sent byte for byte (no client library normalises its path); status, headers, body."""
    with server.connect() as sock:
        sock.sendall(f"{request_line} HTTP/1.1\r\nHost: x\r\n{headers}Connection: {connection}\r\n\r\n".encode()
                     + body)
        head, _, body = _answer(sock).partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    fields = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    return int(lines[0].split()[1]), fields, body


@pytest.mark.parametrize("kind", ["serve", "dev"])
def test_extra_slashes_are_served_as_the_router_reads_them_never_500_or_html(server: Server, kind: str) -> None:
    """Leading slashes are one to the router (werkzeug), so `//v1/call/log` is the call log, with its
    faults, and `//_mock/requests` the control API (not journaled); a doubled slash inside a path is
    a path the contract does not declare: 404 JSON, not werkzeug's HTML redirect. (Before: GET
    //v1/call/log reached Flask's placeholder view and answered 500; /v1//auth a 308 HTML page.)"""
    with (serve("--dev") if kind == "dev" else contextlib.nullcontext(server)) as running:
        running.delete("/_mock/requests")
        auth = f"Authorization: Bearer {running.token()}\r\n"
        query = "?start_date=2026-11-01+00%3A00%3A00&end_date=2026-11-30+00%3A00%3A00&limit=3"
        status, headers, page = _raw(running, "GET /v1/call/log" + query, auth)
        assert status == 200 and json.loads(page)["limit"] == 3
        for path in ("//v1/call/log", "///v1/call/log/", "//v1/call/log/"):
            assert _raw(running, "GET " + path + query, auth)[::2] == (200, page), path
        status, headers, body = _raw(running, "HEAD //v1/call/log" + query, auth)
        assert status == 200 and body == b"" and headers["content-length"] == str(len(page))
        for path in ("/v1//call/log", "/v1/call//log", "//v1//call/log", "/_mock//requests", "/v1/auth//"):
            status, headers, body = _raw(running, "GET " + path, auth)
            assert status == 404 and headers["content-type"] == "application/json", (path, body[:80])
            assert json.loads(body) == {"error": f"not found: /{path.lstrip('/')}"}
        status, headers, body = _raw(running, "POST //v1/auth", "Content-Type: application/json\r\n"
                                     f"Content-Length: {len(LOGIN)}\r\n", LOGIN)
        assert status == 200 and json.loads(body)["data"]["api_key"]
        # A fault on the call log applies to it however many slashes lead; the journal keeps what was sent.
        assert running.post("/_mock/faults", {"path": "/v1/call/log", "kind": "error", "status": 503,
                                              "times": 1}).status_code == 201
        assert _raw(running, "GET //v1/call/log" + query, auth)[0] == 503
        assert _raw(running, "GET //_mock/requests")[0] == 200
        journal = [(e["method"], e["path"], e["status"]) for e in running.get("/_mock/requests").json()["data"]]
        # The path as sent, under every server (werkzeug's dev server dropped one leading slash before).
        assert ("GET", "//v1/call/log", 503) in journal and ("POST", "//v1/auth", 200) in journal
        assert not any("_mock" in path for _, path, _ in journal)
        _others_are_served(running)


@pytest.mark.parametrize("kind", ["serve", "dev"])
def test_an_upgrade_to_websocket_is_ignored_and_the_request_answered_as_http(server: Server, kind: str) -> None:
    """The API has no WebSocket: a request asking to upgrade is answered as the plain request it
    also is (RFC 9110 7.8: a server may ignore Upgrade), journaled like any other. (Before: granian
    answered 403 with no body and nothing journaled; werkzeug's router a 400 that named no cause.)"""
    upgrade = "Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
    with (serve("--dev") if kind == "dev" else contextlib.nullcontext(server)) as running:
        running.delete("/_mock/requests")
        auth = f"Authorization: Bearer {running.token()}\r\n"
        query = "?start_date=2026-11-01+00%3A00%3A00&end_date=2026-11-30+00%3A00%3A00&limit=3"
        plain = _raw(running, "GET /v1/call/log" + query, auth)
        assert _raw(running, "GET /v1/call/log" + query, auth + upgrade, connection="Upgrade, close")[::2] \
            == (200, plain[2])
        status, headers, body = _raw(running, "POST /v1/auth", upgrade + "Content-Type: application/json\r\n"
                                     f"Content-Length: {len(LOGIN)}\r\n", LOGIN, connection="Upgrade, close")
        assert status == 200 and json.loads(body)["data"]["api_key"], body
        status, headers, body = _raw(running, "GET /healthz", upgrade, connection="Upgrade, close")
        assert status == 200 and headers["content-type"] == "application/json", body
        status, headers, body = _raw(running, "GET /nowhere", upgrade, connection="Upgrade, close")
        assert status == 404 and json.loads(body) == {"error": "not found: /nowhere"}
        journal = [(e["method"], e["path"], e["status"]) for e in running.get("/_mock/requests").json()["data"]]
        assert journal.count(("GET", "/v1/call/log", 200)) == 2 and ("POST", "/v1/auth", 200) in journal
        assert ("GET", "/healthz", 200) in journal and ("GET", "/nowhere", 404) in journal
        _others_are_served(running)


@pytest.mark.parametrize("workers", ["1", "2"])
def test_a_lone_surrogate_in_a_json_body_is_a_400_and_breaks_nothing(server: Server, workers: str) -> None:
    """`"\\ud800"` is valid JSON syntax but decodes to no character. In any JSON body it is a clear
    400; such requests stay in the journal, which stays readable (the escape written back as it
    came). A surrogate pair (an escaped emoji) is one character and accepted. Before: a login with
    such a password, a new account and an injected fault body answered 500, and one such request
    made /_mock/requests answer 500 until the journal was cleared."""
    lone, pair = "\\ud800", "\\ud83d\\ude00"  # the JSON escapes, as a client sends them
    refused = {"error": "the request body is not valid JSON: it holds a \\uD800-\\uDFFF escape that is not "
                        "half of a surrogate pair (no character)"}
    with (serve("--workers", "2") if workers == "2" else contextlib.nullcontext(server)) as running:
        running.delete("/_mock/requests")

        def send(path: str, text: str) -> tuple[int, Any]:
            body = text.encode()
            status, _, answer = _raw(running, "POST " + path, "Content-Type: application/json\r\n"
                                     f"Content-Length: {len(body)}\r\n", body)
            return status, json.loads(answer)

        account = ('{{"login":"{0}@x","password":"p{0}","user_uuid":"u-1","domain_uuid":"d-1",'
                   '"username":"{0}","api_key":"k-{0}"}}')
        bodies = [("/v1/auth", f'{{"username":"{lone}","password":"x"}}'),
                  ("/v1/auth", f'{{"username":"foo@test.tel4vn.com","password":"{lone}"}}'),
                  ("/v1/auth/token", f'{{"api_key":"{lone}"}}'),
                  ("/_mock/accounts", account.format(lone)),
                  ("/_mock/faults", f'{{"path":"/healthz","kind":"error","body":{{"error":"{lone}"}}}}'),
                  ("/_mock/calls", f'{{"username":"foo@test.tel4vn.com","calls":[{{"source":"0901{lone}",'
                                   '"destination":"0902","start_time":"2026-11-27T10:00:00+07:00","duration":5}]}'),
                  ("/_mock/reset", f'[["{pair}", "{lone}"]]')]
        for path, text in bodies:
            assert send(path, text) == (400, refused), path
        status, added = send("/_mock/accounts", account.format(pair))
        assert status == 201 and added["data"]["login"] == "\U0001F600@x"
        assert send("/v1/auth", f'{{"username":"{pair}@x","password":"p{pair}"}}')[0] == 200
        journal = running.get("/_mock/requests")
        assert journal.status_code == 200
        seen = [entry["body"] for entry in journal.json()["data"] if entry["status"] == 400]
        assert seen == [{"username": "\ud800", "password": "<redacted>"},  # the API's; /_mock is not journaled
                        {"username": "foo@test.tel4vn.com", "password": "<redacted>"}, {"api_key": "<redacted>"}]
        assert running.get("/healthz").status_code == 200  # no fault was added
        _others_are_served(running)


def test_http2_prior_knowledge_is_refused_as_the_other_servers_refuse_it(server: Server) -> None:
    """The vendor's API is plain HTTP/1.1, and so are --dev and MockPBX: a client that opens with
    HTTP/2's preface (h2c) gets no HTTP/2 answer from `serve` either (before: granian spoke HTTP/2
    to it). An Upgrade: h2c header is ignored: HTTP/1.1."""
    with server.connect() as sock:
        sock.sendall(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + bytes.fromhex("000000040000000000"))  # an empty SETTINGS
        assert _answer(sock) == b""  # closed without an answer
    with server.connect() as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: Upgrade, HTTP2-Settings\r\n"
                     b"Upgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n")
        sock.settimeout(10)
        assert sock.recv(65536).startswith(b"HTTP/1.1 200 ")
    _others_are_served(server)


def test_http_layer_errors_under_the_dev_server_are_json() -> None:
    with serve("--dev", "--body-timeout", BODY_TIMEOUT) as running:
        cases = [
            (b"GET /" + b"a" * 70_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414),
            (b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"b" * 70_000 + b"\r\n\r\n", 431),
            (b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + b"".join(b"X-H%d: v\r\n" % i for i in range(200)) + b"\r\n",
             431),
        ]
        for raw, expected in cases:
            sock = running.connect()
            _send_quietly(sock, raw)
            status, headers, body = _status_and_json(_answer(sock))
            sock.close()
            assert status == expected and headers["content-type"] == "application/json"
            assert isinstance(body["error"], str) and body["error"]
        # A request line werkzeug cannot parse is answered HTTP/0.9-style: the JSON body alone.
        sock = running.connect()
        _send_quietly(sock, b"GET /healthz HTTP/1.1 junk\r\n\r\n")
        assert json.loads(_answer(sock)) == {"error": "Bad request version ('junk')"}
        sock.close()
        # The body deadline holds under werkzeug too.
        sock = running.connect()
        _stall(sock)
        _others_are_served(running)
        status, _, body = _status_and_json(_answer(sock))
        sock.close()
        assert status == 408 and body["error"].startswith("the request body did not arrive")
        _others_are_served(running)
    assert "Traceback" not in "".join(running.stderr_lines)


def _dropped(host: str, port: int) -> bytes:
    """What a client gets for GET /healthz under a drop fault (nothing at all, expected)."""
    with socket.create_connection((host, port), timeout=10) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        return _answer(sock)


def _check_drop(url: str, host: str, port: int) -> None:
    fault = {"method": "GET", "path": "/healthz", "kind": "drop", "times": 1}
    assert requests.post(url + "/_mock/faults", json=fault, timeout=10, headers={"Connection": "close"}).ok
    assert _dropped(host, port) == b""  # closed without a status line
    assert requests.get(url + "/healthz", timeout=10, headers={"Connection": "close"}).status_code == 200
    _poll(lambda: any(e["status"] is None for e in requests.get(
        url + "/_mock/requests", params={"path": "/healthz"}, timeout=10).json()["data"]))


def test_a_drop_closes_the_connection_without_a_status_line_under_serve(server: Server) -> None:
    _check_drop(server.url, server.host, server.port)
    _others_are_served(server)
    assert not any("Traceback" in line or "[ERROR]" in line for line in server.stderr_lines)


def test_a_drop_closes_the_connection_without_a_status_line_under_dev() -> None:
    with serve("--dev") as running:
        _check_drop(running.url, running.host, running.port)
        _others_are_served(running)
    assert not any("Traceback" in line for line in running.stderr_lines)


def test_a_drop_closes_the_connection_without_a_status_line_in_process(capfd: pytest.CaptureFixture[str]) -> None:
    with MockPBX(days=1, calls_per_day=10) as pbx:
        port = int(pbx.url.rsplit(":", 1)[1])
        _check_drop(pbx.url, "127.0.0.1", port)
        assert pbx.request("GET", "/healthz").status == 200
    assert "Traceback" not in capfd.readouterr().err


def test_exposure_warnings_name_the_open_control_api_and_the_derived_secret() -> None:
    def warnings(**values: Any) -> list[str]:
        return exposure_warnings(Settings.load({}, **values))

    assert warnings(host="127.0.0.1") == [] and warnings(host="::1") == []
    both = warnings(host="0.0.0.0")
    assert len(both) == 2 and all("\n" not in w and w.startswith("warning: listening on 0.0.0.0") for w in both)
    assert "--control-token or --no-control" in both[0] and "--jwt-secret" in both[1]
    assert warnings(host="::", control_token="t", jwt_secret="s") == []
    assert [w for w in warnings(host="10.1.2.3", control=False)] == [both[1].replace("0.0.0.0", "10.1.2.3")]
    assert warnings(host="10.1.2.3", jwt_secret="s") == [both[0].replace("0.0.0.0", "10.1.2.3")]


def test_threads_and_body_timeout_are_settings() -> None:
    settings = Settings.load({"MOCKPBX_THREADS": "8", "MOCKPBX_BODY_TIMEOUT": "2.5"})
    assert (settings.threads, settings.body_timeout) == (8, 2.5)
    assert (Settings.load({}).threads, Settings.load({}).body_timeout) == (64, 10.0)
    with pytest.raises(SettingsError, match="MOCKPBX_THREADS must be from 1 to 1024"):
        Settings.load({"MOCKPBX_THREADS": "0"})
