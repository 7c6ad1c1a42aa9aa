"""The `drop` fault's physical side: close the client's connection before any status line
(and the end of a stalled body's input, for the body deadline under werkzeug).

werkzeug (`--dev`, `MockPBX`) hands the app its socket. granian does not; `mockpbx serve`'s
RSGI front (mockpbx.web.rsgi) names the client's address and port instead, and the worker's
own sockets are searched for the one connected from there: exactly the request's connection.
Shutting the connection down (both ways) makes the client see the connection close with no
answer at all; whatever the app returns afterwards has nowhere to go. Linux only for granian
(the search reads /proc/self/fd); where the connection cannot be found (the client left
first), `drop_connection` returns False.
"""

from __future__ import annotations

import os
import socket
import stat
from typing import Any


def drop_connection(environ: dict[str, Any]) -> bool:
    """Shut the request's connection down without an answer; False if its socket is out of reach."""
    sock = environ.get("werkzeug.socket") or environ.get("gunicorn.socket")
    if isinstance(sock, socket.socket):
        _shut(sock, socket.SHUT_RDWR)
        return True
    found = _connection_from_client(environ)
    if found is None:
        return False
    try:
        _shut(found, socket.SHUT_RDWR)
    finally:
        found.close()  # a duplicate descriptor: the server still owns and closes the original
    return True


def stop_reading(environ: dict[str, Any]) -> bool:
    """End the request's input as if the client had, so that a read of a stalled body returns
    while the answer can still be sent; False where the server gives the app no socket."""
    sock = environ.get("werkzeug.socket") or environ.get("gunicorn.socket")
    if isinstance(sock, socket.socket):
        _shut(sock, socket.SHUT_RD)
        return True
    return False


def _shut(sock: socket.socket, how: int) -> None:
    try:
        sock.shutdown(how)
    except OSError:  # the client left first
        pass


def _connection_from_client(environ: dict[str, Any]) -> socket.socket | None:
    """A duplicate of the worker's socket connected to SERVER_PORT from REMOTE_ADDR:REMOTE_PORT."""
    try:
        port, client_port = int(environ["SERVER_PORT"]), int(environ["REMOTE_PORT"])
        remote = _plain_ip(str(environ["REMOTE_ADDR"]))
        names = os.listdir("/proc/self/fd")
    except (KeyError, ValueError, OSError):
        return None
    seen: set[int] = set()  # socket inodes: a duplicate made here may take a listed descriptor's number
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


def _plain_ip(address: str) -> str:
    return address.removeprefix("::ffff:").split("%")[0]
