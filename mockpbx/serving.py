"""`mockpbx serve` on a production server: granian (WSGI), one or more worker processes.

The backend (fixtures and generated traffic) is built once in the main process and
inherited by the forked workers. With several workers the control state lives in a
`SharedStore` in a private temporary directory, so a change made through any worker
(clock, faults, data, reset) is seen by every later request and the journal is complete.
"""

from __future__ import annotations

import errno
import ipaddress
import gc
import os
import select
import shutil
import signal
import socket
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

from mockpbx.backend import Backend, build_backend
from mockpbx.control.shared import SharedStore
from mockpbx.settings import Settings

_PRELOADED: Backend | None = None
_SERVER_PID = 0  # the process that forks the workers (set as it starts serving)
_READY_FD: int | None = None  # where a worker says it serves: a pipe's writing end (see run_production)
#: How long a worker may take to stop once told to, before it is killed (granian's kill timeout).
WORKER_STOP_SECONDS = 10


def load_app(target: str = "") -> Any:
    """Granian's target loader: the RSGI front (mockpbx.web.rsgi) of the WSGI app over the
    backend built before the workers started."""
    from mockpbx.web.app import create_app
    from mockpbx.web.rsgi import RSGIFront
    if _PRELOADED is None:  # a worker that was spawned, not forked: nothing to inherit
        raise RuntimeError("mockpbx workers must be forked from `mockpbx serve`")
    stop_with_server(_SERVER_PID)
    app = create_app(backend=_PRELOADED)
    # (Flask's __call__ only calls wsgi_app.)
    front = RSGIFront(app.wsgi_app, app.extensions["mockpbx.call_log"], _PRELOADED, on_serving=_tell_serving)
    gc.freeze()  # what was built before serving lives on: spare it the cyclic collector's scans
    return front


def stop_with_server(server_pid: int) -> None:
    """Have this worker stop when the server process ends, however it ends. A server killed
    outright (SIGKILL: `timeout -s KILL`, a test harness's `kill()`, the OOM killer) cannot stop
    its workers, and granian's would serve on as orphans: holding the port, so that the next
    `mockpbx serve` on it fails, and answering from state nobody can reset. A thread waits on the
    server's pidfd (Linux); elsewhere nothing changes."""
    if os.getpid() == server_pid or not hasattr(os, "pidfd_open"):  # not a worker, or not Linux
        return
    # Until granian sets the worker's own handler (after this loader returns), SIGTERM would reach
    # the server's handler, inherited at the fork, which stops nothing here: a worker not serving
    # yet is simply ended.
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    try:
        server: int | None = os.pidfd_open(server_pid)
    except OSError:  # ended already
        server = None
    if server is None or os.getppid() != server_pid:  # (while it is our parent, the pid is its own)
        os.kill(os.getpid(), signal.SIGTERM)
        return
    threading.Thread(target=_stop_when_ended, args=(server,), name="mockpbx-server-watch", daemon=True).start()


def _tell_serving() -> None:
    """Tell the server that this worker serves (its event loop runs): see `_announce_when_serving`."""
    if _READY_FD is not None:
        try:
            os.write(_READY_FD, b".")
        except OSError:  # the server stopped listening (a worker respawned after the banner)
            pass


def _stop_when_ended(server: int) -> None:
    select.select([server], [], [])  # readable once the server process has ended
    os.kill(os.getpid(), signal.SIGTERM)  # granian's graceful stop of this worker
    # The server would kill a worker still running after WORKER_STOP_SECONDS; so does this. (A
    # SIGTERM that lands as granian's worker starts can leave its graceful stop waiting forever.)
    time.sleep(WORKER_STOP_SECONDS)
    os._exit(1)


class StartupError(Exception):
    """Why the server cannot start, in one line."""


def listen_address(host: str) -> str:
    """The IP address to listen on for `host`: an IPv4 or IPv6 address (brackets allowed) or a name."""
    bare = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    try:
        return str(ipaddress.ip_address(bare))
    except ValueError:
        pass
    try:
        found = socket.getaddrinfo(bare, None, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise StartupError(f"--host {host}: no such host name or address") from None
    return str(found[0][4][0])


def check_bindable(host: str, port: int) -> None:
    """Fail now, in one line, if the server could not listen on `host:port` alone.

    granian listens with SO_REUSEPORT, which would let a second mockpbx share a busy port and
    split the connections with the first. A probe without it is refused by any listener.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # a closed server's TIME_WAIT is no obstacle
        try:
            probe.bind((host, port))
        except OSError as error:
            raise StartupError(bind_failure(host, port, error)) from None


def bind_failure(host: str, port: int, error: OSError) -> str:
    """A one-line reason for a failed bind."""
    where = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    if error.errno == errno.EADDRINUSE:
        return f"cannot listen on {where}: the port is already in use (by another mockpbx or another program)"
    if error.errno == errno.EADDRNOTAVAIL:
        return f"cannot listen on {where}: the address is not available on this machine"
    if error.errno == errno.EACCES:
        return f"cannot listen on {where}: permission denied (ports below 1024 need privileges)"
    return f"cannot listen on {where}: {error.strerror or error}"


def exposure_warnings(settings: Settings) -> list[str]:
    """One-line warnings for a server reachable from other machines with test-only defaults."""
    if ipaddress.ip_address(settings.host).is_loopback:
        return []
    found = []
    if settings.control and not settings.control_token:
        found.append(f"warning: listening on {settings.host} with the /_mock control API open to anyone who can "
                     "reach it; set --control-token or --no-control")
    if not settings.jwt_secret:
        found.append(f"warning: listening on {settings.host} with tokens signed by a secret derived from the "
                     "public seed, so anyone can forge them; set --jwt-secret")
    return found


def free_port(host: str) -> int:
    """A port that is free on `host` now (for --port 0)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        try:
            probe.bind((host, 0))
        except OSError as error:
            raise StartupError(bind_failure(host, 0, error)) from None
        return int(probe.getsockname()[1])


#: The shared-state directories' names (in the temporary directory), and the file in each that
#: names the server that made it: its pid and its start time.
STATE_PREFIX, STATE_OWNER = "mockpbx-state-", "server"


def prepare(settings: Settings) -> tuple[Backend, Path | None]:
    """The backend for `settings.workers` processes, and the shared-state directory to remove afterwards."""
    if settings.workers <= 1:
        return build_backend(settings), None
    sweep_stale_state(Path(tempfile.gettempdir()))
    directory = Path(tempfile.mkdtemp(prefix=STATE_PREFIX))
    (directory / STATE_OWNER).write_text(f"{os.getpid()} {_started(os.getpid())}\n")
    start = settings.start_clock().now()
    store = SharedStore.create(directory, start, frozen=settings.freeze_clock, journal_size=settings.journal_size,
                               journal_bytes=settings.journal_bytes)
    return build_backend(settings, clock=store.clock, store=store), directory  # type: ignore[arg-type]


def run_production(settings: Settings, backend: Backend, banner_text: str, out: TextIO = sys.stdout) -> None:
    """Serve with granian until SIGTERM, SIGHUP or Ctrl-C; in-flight requests get up to 10 s to finish."""
    from granian import Granian
    from granian.constants import HTTPModes, Interfaces
    from granian.http import HTTP1Settings
    from granian.log import LogLevels

    from mockpbx.server import on_hangup

    global _PRELOADED, _SERVER_PID, _READY_FD
    _PRELOADED, _SERVER_PID = backend, os.getpid()
    ready_fd, _READY_FD = os.pipe()
    # Each worker serves its requests on its event loop (RSGI; see mockpbx.web.rsgi for why):
    # bodies and delay faults are waited for there, many at once. Headers that do not arrive in
    # time are cut off by granian itself, on the same deadline as bodies.
    header_timeout = min(60_000, max(1, round(settings.body_timeout * 1000)))
    # HTTP/1.1 only: the vendor's API is plain http:// HTTP/1.1, as are --dev and MockPBX; granian
    # would otherwise speak HTTP/2 to a client that opens with its preface (h2c), which the real
    # host would refuse, and a drop fault would cut every stream of that connection. (Measured
    # against granian's default: 1.02x, no cost.) No WebSockets either: the API has none, and
    # granian would answer an `Upgrade: websocket` request itself (403, no body, not journaled);
    # without them the request is the plain HTTP request it also is, as under --dev.
    server = Granian("mockpbx.serving:load_app", address=settings.host, port=settings.port,
                     interface=Interfaces.RSGI, http=HTTPModes.http1, workers=settings.workers, loop=_event_loop(),
                     http1_settings=HTTP1Settings(header_read_timeout=header_timeout),
                     websockets=False, workers_kill_timeout=WORKER_STOP_SECONDS, log_level=LogLevels.warning,
                     log_access=False)
    # SIGHUP is granian's "reload": fresh workers forked from the state at start-up, which would
    # drop every fault, account, call and clock change made since (with one worker, answered for
    # a while by the old worker and the new one alike). Here it stops the server as SIGTERM does,
    # or stays ignored under nohup (mockpbx.server.on_hangup), as under --dev.
    # A stop asked for while the workers start waits until they serve (at most WORKER_STOP_SECONDS):
    # granian's workers, told to stop in the middle of starting, can hang until they are killed.
    gate = _StartupGate(server.signal_handler_interrupt)
    server.signal_handler_interrupt = gate.request  # type: ignore[method-assign]
    server.signal_handler_reload = on_hangup(gate.request)  # type: ignore[method-assign]
    # The banner is the readiness signal: print it once every worker serves. The thread runs
    # while granian forks its workers, so it imports nothing: an import lock held at a fork
    # would leave the forked worker waiting for it forever.
    ready = threading.Thread(target=_announce_when_serving, args=(settings.workers, ready_fd, banner_text, out),
                             kwargs={"gate": gate}, daemon=True)
    server.on_startup(ready.start)
    try:
        server.serve(target_loader=load_app)
    finally:
        print("mockpbx stopped", file=out, flush=True)


def _event_loop() -> Any:
    """uvloop where it is installed (a dependency on Linux and macOS): measured, it serves the
    call log about 1.5 times as fast as asyncio's loop (bench/bench_paired.py); else asyncio."""
    from granian.constants import Loops
    try:
        import uvloop  # noqa: F401
    except ImportError:
        return Loops.asyncio
    return Loops.uvloop


class _StartupGate:
    """Holds a stop (SIGTERM, SIGINT, SIGHUP) asked for while the workers start, and carries it out
    once they all serve (`release`), or WORKER_STOP_SECONDS after it was asked for. (A SIGTERM in
    the middle of a granian worker's start could leave its graceful stop hanging until the server
    killed it 10 s later: 2 stops in 17 with --workers 2 at the moment the workers started.)"""

    def __init__(self, stop: Callable[..., Any]) -> None:
        self._stop, self._lock = stop, threading.Lock()
        self._released = self._pending = False

    def request(self, *args: Any) -> None:
        """The signal handler: stop now, or once the workers serve."""
        with self._lock:
            now, self._pending = self._released, True
        if now:
            self._stop(*args)
        else:
            backstop = threading.Timer(WORKER_STOP_SECONDS, self.release)
            backstop.daemon = True
            backstop.start()

    def release(self) -> bool:
        """The workers serve (or the wait is over): carry out a stop asked for meanwhile. Whether
        none was (so that the banner is worth printing)."""
        with self._lock:
            if self._released:
                return not self._pending
            self._released, pending = True, self._pending
        if pending:
            self._stop()
        return not pending


def _announce_when_serving(workers: int, ready_fd: int, banner_text: str, out: TextIO,
                           timeout: float = 60.0, gate: _StartupGate | None = None) -> None:
    """Print the banner once each of the `workers` has said it serves (a byte on `ready_fd`
    each), or after `timeout` seconds whatever they said. Not as soon as the port accepts
    connections: granian's server listens before its workers run, and a SIGTERM sent to a
    worker still starting (a client that stops the mock as soon as it saw the banner) could
    leave its graceful stop hanging until the server killed it 10 s later."""
    deadline = time.monotonic() + timeout
    told = 0
    with os.fdopen(ready_fd, "rb", buffering=0) as pipe:
        while told < workers and (left := deadline - time.monotonic()) > 0:
            if select.select([pipe], [], [], left)[0]:
                told += len(pipe.read(workers - told))
    if gate is None or gate.release():  # (not for a server already told to stop)
        print(banner_text, file=out, flush=True)


def _started(pid: int) -> str:
    """When process `pid` started (clock ticks since boot, from /proc), or "" where that is unknown."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rpartition(")")[2].split()[19]
    except (OSError, IndexError):
        return ""


def _gone(owner: str) -> bool:
    """Whether the server an owner file names has ended: no such process, or another process (a
    pid reused) that started at another time. Anything unclear counts as still running."""
    try:
        pid_text, _, started = owner.strip().partition(" ")
        pid = int(pid_text)
    except ValueError:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except OSError:  # it exists (another user's, say)
        return False
    now = _started(pid)
    return bool(started and now and now != started)


def sweep_stale_state(temporary: Path) -> None:
    """Remove the shared-state directories of servers that ended without removing theirs (killed
    outright: SIGKILL, the OOM killer); this user's only, and only those whose server is gone.
    POSIX only (workers are forked there; on Windows `os.kill(pid, 0)` would end the process)."""
    if os.name != "posix":
        return
    try:
        candidates = [d for d in temporary.iterdir() if d.name.startswith(STATE_PREFIX)]
    except OSError:
        return
    for directory in candidates:
        try:
            if directory.is_symlink() or directory.stat().st_uid != os.getuid():
                continue
            owner = (directory / STATE_OWNER).read_text()
        except OSError:  # not a directory, or made by a server older than the owner file: left alone
            continue
        if _gone(owner):
            shutil.rmtree(directory, ignore_errors=True)


def cleanup(directory: Path | None) -> None:
    """Remove the shared-state directory, if any."""
    if directory is not None and os.getpid() == _MAIN_PID:
        shutil.rmtree(directory, ignore_errors=True)


_MAIN_PID = os.getpid()
