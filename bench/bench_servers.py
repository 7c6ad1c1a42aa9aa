"""Which production WSGI server should `mockpbx serve --workers N` use?

Measures mockpbx's call-log request (demo token, 30-day window ending now, limit 10) under
gunicorn (sync, gthread) and granian (WSGI) with 1 and 2 workers, beside the current
werkzeug dev server, then checks what each does with a request in flight on SIGTERM.
Progress goes to stderr, the tables to stdout.

    python bench/bench_servers.py --duration 10
"""

from __future__ import annotations

import argparse
import threading
import time
from pathlib import Path

from harness import BENCH, ROOT, Server, exit_on_sigterm, expand, free_port, log, request, require, wait_until
from measure import Target, call_log_path, measure, pause, table

GUNICORN = ("{python} -m gunicorn --chdir {bench} -b 127.0.0.1:{port} -w {workers} --no-control-socket "
            "{extra} {module}")
GRANIAN = ("{python} -m granian --interface wsgi --working-dir {bench} --host 127.0.0.1 --port {port} "
           "--workers {workers} --log-level warning {extra} {module}")

VARIANTS: dict[str, tuple[str, str]] = {
    "gunicorn sync": (GUNICORN, "-k sync"),
    "gunicorn gthread t4": (GUNICORN, "-k gthread --threads 4"),
    "gunicorn gthread t4 preload": (GUNICORN, "-k gthread --threads 4 --preload"),
    "granian bt1": (GRANIAN, "--blocking-threads 1"),
    "granian bt2": (GRANIAN, "--blocking-threads 2"),
    "granian bt4": (GRANIAN, "--blocking-threads 4"),
}


def targets(path: str, worker_counts: list[int]) -> list[Target]:
    """The matrix: each variant at each worker count, after the dev server."""
    found = [Target("werkzeug dev (mockpbx serve)", "{python} -m mockpbx serve --port {port}", path, login=True)]
    for workers in worker_counts:
        for name, (template, extra) in VARIANTS.items():
            if "preload" in name and workers == 1:
                continue
            found.append(Target(f"{name} w{workers}", template, path, login=True,
                                values={"workers": workers, "extra": extra, "module": "wsgi_app:app"}))
    return found


def sigterm_check(name: str, template: str, extra: str, workers: int) -> str:
    """Start hello_app, put a 2 s request in flight, SIGTERM the server 0.5 s in: report
    whether that request still got its 200, whether new connections were refused, and
    how long the server took to exit."""
    port = free_port()
    command = expand(template, port=port, python=__import__("sys").executable, bench=BENCH, root=ROOT,
                     workers=workers, extra=extra, module="hello_app:app")
    server = Server(command).start()
    outcome: dict[str, object] = {}

    def slow() -> None:
        try:
            outcome["in_flight"] = request(port, "GET", "/slow?ms=2000", timeout=15)[0]
        except OSError as error:
            outcome["in_flight"] = type(error).__name__

    try:
        wait_until(lambda: request(port, "GET", "/hello", timeout=2)[0] == 200, server, 30)
        thread = threading.Thread(target=slow)
        thread.start()
        time.sleep(0.5)
        begin = time.perf_counter()
        server.process.terminate()  # type: ignore[union-attr]
        time.sleep(0.2)
        try:
            outcome["new"] = request(port, "GET", "/hello", timeout=3)[0]
        except OSError as error:
            outcome["new"] = type(error).__name__
        thread.join(20)
        server.process.wait(20)  # type: ignore[union-attr]
        outcome["exit"] = f"{time.perf_counter() - begin:.2f} s, rc {server.process.returncode}"  # type: ignore[union-attr]
    except Exception as error:  # noqa: BLE001 -- reported in the line instead
        outcome["error"] = f"{type(error).__name__}: {error}"
    finally:
        server.stop(grace=5)
    return (f"{name} w{workers}: in-flight request -> {outcome.get('in_flight')}, new request after "
            f"SIGTERM -> {outcome.get('new')}, exited after {outcome.get('exit')} {outcome.get('error', '')}")


def main() -> None:
    """Run the matrix and the SIGTERM checks; print both."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=10, help="seconds of load per target")
    parser.add_argument("--warmup", type=float, default=2, help="seconds of unmeasured load first")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--threads", type=int, default=1, help="wrk threads")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--only", nargs="*", help="substrings of target names to keep")
    parser.add_argument("--no-sigterm", action="store_true", help="skip the SIGTERM checks")
    parser.add_argument("--logs", type=Path, help="a folder for each server's output")
    args = parser.parse_args()
    exit_on_sigterm()
    require(["wrk"])
    if args.logs:
        args.logs.mkdir(parents=True, exist_ok=True)
    rows = []
    for target in targets(call_log_path(), args.workers):
        if args.only and not any(s in target.name for s in args.only):
            continue
        rows.append(measure(target, args.duration, args.connections, args.threads, args.warmup, args.logs))
        pause(1)
    print(f"mockpbx call-log under each server: wrk -t{args.threads} -c{args.connections} "
          f"-d{args.duration:g}s after {args.warmup:g} s warm-up\n")
    print(table(rows))
    if not args.no_sigterm:
        print("\nSIGTERM with a 2 s request in flight (bench/hello_app.py /slow):")
        for name, (template, extra) in VARIANTS.items():
            if "preload" not in name and (not args.only or any(s in name for s in args.only)):
                line = sigterm_check(name, template, extra, 2)
                log(line)
                print("  " + line)


if __name__ == "__main__":
    main()
