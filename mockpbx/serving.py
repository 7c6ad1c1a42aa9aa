"""`mockpbx serve` on a production server: granian (WSGI), one or more worker processes.

The backend (fixtures and generated traffic) is built once in the main process and
inherited by the forked workers. With several workers the control state lives in a
`SharedStore` in a private temporary directory, so a change made through any worker
(clock, faults, data, reset) is seen by every later request and the journal is complete.
"""

from __future__ import annotations

import gc
import os
import shutil
import socket
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, TextIO

from mockpbx.backend import Backend, build_backend
from mockpbx.control.shared import SharedStore
from mockpbx.settings import Settings

_PRELOADED: Backend | None = None


def load_app(target: str = "") -> Any:
    """Granian's target loader: the WSGI app over the backend built before the workers started."""
    from mockpbx.web.app import create_app
    if _PRELOADED is None:  # a worker that was spawned, not forked: nothing to inherit
        raise RuntimeError("mockpbx workers must be forked from `mockpbx serve`")
    app = create_app(backend=_PRELOADED)
    gc.freeze()  # what was built before serving lives on: spare it the cyclic collector's scans
    return app


def free_port(host: str) -> int:
    """A port that is free on `host` now (for --port 0)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def prepare(settings: Settings) -> tuple[Backend, Path | None]:
    """The backend for `settings.workers` processes, and the shared-state directory to remove afterwards."""
    if settings.workers <= 1:
        return build_backend(settings), None
    directory = Path(tempfile.mkdtemp(prefix="mockpbx-state-"))
    start = settings.start_clock().now()
    store = SharedStore.create(directory, start, frozen=settings.freeze_clock, journal_size=settings.journal_size)
    return build_backend(settings, clock=store.clock, store=store), directory  # type: ignore[arg-type]


def run_production(settings: Settings, backend: Backend, banner_text: str, out: TextIO = sys.stdout) -> None:
    """Serve with granian until SIGTERM or Ctrl-C; in-flight requests get up to 10 s to finish."""
    from granian import Granian
    from granian.constants import Interfaces
    from granian.log import LogLevels

    global _PRELOADED
    _PRELOADED = backend
    server = Granian("mockpbx.serving:load_app", address=settings.host, port=settings.port,
                     interface=Interfaces.WSGI, workers=settings.workers, blocking_threads=_threads(),
                     workers_kill_timeout=10, log_level=LogLevels.warning, log_access=False)
    # The banner is the readiness signal: print it once a worker accepts connections. The
    # thread runs while granian forks its workers: what it would import is imported first,
    # so that no import lock is held at a fork (a forked worker would wait for it forever).
    "127.0.0.1".encode("idna")
    ready = threading.Thread(target=_announce_when_listening, args=(settings, banner_text, out), daemon=True)
    server.on_startup(ready.start)
    try:
        server.serve(target_loader=load_app)
    finally:
        print("mockpbx stopped", file=out, flush=True)


def _threads() -> int:
    """Blocking threads per worker: 1, or MOCKPBX_THREADS (provisional, for bench/bench_http.py;
    to be replaced by the `--threads` setting of `mockpbx serve`)."""
    value = os.environ.get("MOCKPBX_THREADS", "1")
    if not value.isdigit() or not 1 <= int(value) <= 64:
        raise ValueError(f"MOCKPBX_THREADS must be an integer from 1 to 64, not {value!r}")
    return int(value)


def _announce_when_listening(settings: Settings, banner_text: str, out: TextIO) -> None:
    host = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(settings.host, settings.host)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            socket.create_connection((host, settings.port), timeout=1).close()
            break
        except OSError:
            time.sleep(0.02)
    print(banner_text, file=out, flush=True)


def cleanup(directory: Path | None) -> None:
    """Remove the shared-state directory, if any."""
    if directory is not None and os.getpid() == _MAIN_PID:
        shutil.rmtree(directory, ignore_errors=True)


_MAIN_PID = os.getpid()
