"""The `drop` fault's physical side: close the client's connection before any status line
(and the end of a stalled body's input, for the body deadline).

werkzeug (`--dev`, `MockPBX`) hands the app its socket. granian does not, so the worker's own
sockets are searched: under `mockpbx serve`'s RSGI front, which names the client's port, for the
connection from that address and port. Without the port (granian's WSGI interface), for an established TCP connection to the
server's port from the client's address that is waiting for an answer (from the kernel's
TCP_INFO: data came in and nothing went out yet, or data came in no earlier than the last
answer went out). The request's own connection always qualifies, so a lone candidate is
certainly it. If several wait, a drop takes the one whose data arrived when this request
started, and only when no other is close. The body deadline instead ends every connection
silent for the whole deadline, when nothing but a stalled body can be (mockpbx.web.bodies).
Shutting the connection down (both ways) makes the client see the connection close with no
answer at all; whatever the app returns afterwards has nowhere to go. Linux only for
granian; where the connection cannot be found, `drop_connection` returns False.
"""

from __future__ import annotations

import os
import socket
import stat
import struct
import time
from typing import Any

#: struct tcp_info (linux/tcp.h) up to tcpi_data_segs_out (Linux 4.6 and later).
_TCP_INFO = struct.Struct("=8B24I4Q6I")
_STATE, _LAST_DATA_SENT, _LAST_DATA_RECV, _DATA_SEGS_IN, _DATA_SEGS_OUT = 0, 17, 19, 40, 41
_ESTABLISHED = 1
#: How closely a connection's last received data must match this request's arrival (ms,
#: the kernel counts in ticks of up to 4 ms); any other candidate must be further off by as much.
_MATCH_MS = 8
#: Slack for the kernel's tick when comparing a connection's silence with a deadline (ms).
_TICK_MS = 10


def drop_connection(environ: dict[str, Any]) -> bool:
    """Shut the request's connection down without an answer; False if its socket is out of reach."""
    return _shut_down(environ, socket.SHUT_RDWR)


def stop_reading(environ: dict[str, Any], silent_for: float | None) -> bool:
    """End the request's input as if the client had: a read of a stalled body returns, while
    the answer can still be sent. Under granian, where the request's own connection cannot be
    named, the input of every connection from its address that awaits an answer and has been
    silent for `silent_for` seconds is ended (None: none is): the caller vouches that only
    stalled bodies are that silent. False if nothing was ended."""
    sock = environ.get("werkzeug.socket") or environ.get("gunicorn.socket")
    if isinstance(sock, socket.socket):
        _shut(sock, socket.SHUT_RD)
        return True
    if silent_for is None:
        return False
    waiting = _waiting_connections(environ)
    chosen = [sock for since, sock in waiting if since >= silent_for * 1000 - _TICK_MS]
    for sock in chosen:
        _shut(sock, socket.SHUT_RD)
    for _, sock in waiting:
        sock.close()  # duplicate descriptors: the server still owns and closes the originals
    return bool(chosen)


def _shut_down(environ: dict[str, Any], how: int) -> bool:
    sock = environ.get("werkzeug.socket") or environ.get("gunicorn.socket")
    if isinstance(sock, socket.socket):
        _shut(sock, how)
        return True
    found = _granian_connection(environ)
    if found is None:
        return False
    try:
        _shut(found, how)
    finally:
        found.close()  # a duplicate descriptor: the server still owns and closes the original
    return True


def _shut(sock: socket.socket, how: int) -> None:
    try:
        sock.shutdown(how)
    except OSError:  # the client left first
        pass


def _granian_connection(environ: dict[str, Any]) -> socket.socket | None:
    """The worker's socket for this request: the one from the client's port where the server
    front names it (`REMOTE_PORT`, mockpbx.web.rsgi); else the only one waiting, or the one
    whose data came in when this request started, with no other close; else None."""
    if str(environ.get("REMOTE_PORT", "")).isdigit():
        return _connection_from_port(environ, int(environ["REMOTE_PORT"]))
    started = environ.get("mockpbx.started")
    waited_ms = (time.perf_counter() - started) * 1000 if isinstance(started, float) else 0.0
    waiting = sorted(((abs(since - waited_ms), sock) for since, sock in _waiting_connections(environ)),
                     key=lambda pair: pair[0])
    chosen = None
    if len(waiting) == 1 or (waiting and waiting[0][0] <= _MATCH_MS and waiting[1][0] > waiting[0][0] + _MATCH_MS):
        chosen = waiting.pop(0)[1]
    for _, other in waiting:
        other.close()
    return chosen


def _connection_from_port(environ: dict[str, Any], client_port: int) -> socket.socket | None:
    """A duplicate of the worker's socket connected from the request's address and `client_port`."""
    try:
        port, remote = int(environ["SERVER_PORT"]), _plain_ip(str(environ["REMOTE_ADDR"]))
        names = os.listdir("/proc/self/fd")
    except (KeyError, ValueError, OSError):
        return None
    seen: set[int] = set()
    for name in names:
        sock = _socket_of(int(name), seen)
        if sock is None:
            continue
        try:
            peer = sock.getpeername()
            if sock.getsockname()[1] == port and peer[1] == client_port and _plain_ip(peer[0]) == remote:
                return sock
        except OSError:  # a listening socket has no peer
            pass
        sock.close()
    return None


def _waiting_connections(environ: dict[str, Any]) -> list[tuple[float, socket.socket]]:
    """Duplicates of the worker's sockets from the request's address that await an answer, each
    with the milliseconds since its data last came in."""
    try:
        port, remote = int(environ["SERVER_PORT"]), str(environ["REMOTE_ADDR"])
        names = os.listdir("/proc/self/fd")
    except (KeyError, ValueError, OSError):
        return []
    waiting: list[tuple[float, socket.socket]] = []
    seen: set[int] = set()  # socket inodes: a duplicate made here may take a listed descriptor's number
    for name in names:
        sock = _socket_of(int(name), seen)
        if sock is None:
            continue
        since_received = _waiting_since(sock, port, remote)
        if since_received is None:
            sock.close()
        else:
            waiting.append((since_received, sock))
    return waiting


def _socket_of(fd: int, seen: set[int]) -> socket.socket | None:
    """A duplicate of descriptor `fd` as a socket object, if it is a TCP socket not `seen` yet."""
    try:
        status = os.fstat(fd)
        if not stat.S_ISSOCK(status.st_mode) or status.st_ino in seen:
            return None
        seen.add(status.st_ino)
        sock = socket.socket(fileno=os.dup(fd))
    except OSError:
        return None
    if sock.family not in (socket.AF_INET, socket.AF_INET6) or sock.type != socket.SOCK_STREAM:
        sock.close()
        return None
    return sock


def _waiting_since(sock: socket.socket, port: int, remote: str) -> float | None:
    """Milliseconds since `sock` last received data, if it is a connection from `remote` to
    `port` that awaits an answer; else None."""
    try:
        if sock.getsockname()[1] != port or _plain_ip(sock.getpeername()[0]) != _plain_ip(remote):
            return None
        raw = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, _TCP_INFO.size)
    except OSError:  # a listening socket has no peer
        return None
    if len(raw) < _TCP_INFO.size:
        return None
    info = _TCP_INFO.unpack(raw)
    if info[_STATE] != _ESTABLISHED:
        return None
    # Perhaps awaiting an answer: data came in and none has gone out yet (a new connection),
    # or data came in no earlier than the last answer went out. The kernel counts in ticks, so
    # an idle connection answered within the tick of its request also passes: the caller
    # tells those apart by when the data came in.
    first = info[_DATA_SEGS_IN] > 0 and info[_DATA_SEGS_OUT] == 0
    if not first and info[_LAST_DATA_RECV] > info[_LAST_DATA_SENT]:
        return None
    return float(info[_LAST_DATA_RECV])


def _plain_ip(address: str) -> str:
    return address.removeprefix("::ffff:").split("%")[0]
