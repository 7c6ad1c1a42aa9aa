"""mockpbx's call-log request over HTTP, beside Prism, WireMock and a bare Flask endpoint.

In one run, one after the other, each on a free port of 127.0.0.1: mockpbx with 1 and 2
workers under the production server, repeating one query (answered from the page memo);
mockpbx computing every answer (a different offset, a different window with limit 50, or a
`source` filter on a moving window, each request); the varied request with the access log
on (`serve`'s default) and with 2 workers; a bare Flask hello JSON app under the
same server (the floor); Prism and WireMock serving the contract's call-log example; with
`--baseline DIR`, the same mockpbx requests to another build; and mockpbx holding a
1,000,000-call window, on the varied request. For each: start-up time to the first 200 on the request,
wrk req/s, p50, p99, non-2xx, socket errors, peak RSS and PSS of the server's process tree,
and its exit time on SIGTERM. Then the ratios and the issue's targets. Progress goes to
stderr, the tables to stdout. Prism and WireMock are installed into bench/.peers/ (npm,
pinned versions) when missing.

    python bench/bench_http.py                      # about 8 minutes
    git archive main | tar -x -C /tmp/base && python bench/bench_http.py --baseline /tmp/base
    python bench/bench_http.py --duration 5 --rounds 1 --skip 1M
    python bench/bench_http.py --mockpbx-cmd 'mockpbx serve --workers {workers} --port {port}'
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

from harness import BENCH, exit_on_sigterm, log, require
from measure import Row, Target, best_of, call_log_path, measure, pause, ratio, table

PRISM_VERSION = "5.16.0"
WIREMOCK_VERSION = "3.13.2"
PEERS = BENCH / ".peers"
PRISM = PEERS / "node_modules" / ".bin" / "prism"
WIREMOCK_JAR = PEERS / "node_modules" / "wiremock" / "build" / f"wiremock-standalone-{WIREMOCK_VERSION}.jar"

#: The production server (see bench/README.md for why granian); {module} is the WSGI app.
SERVER = ("{python} -m granian --interface wsgi --working-dir {bench} --host 127.0.0.1 --port {port} "
          "--workers {workers} --blocking-threads 1 --log-level warning {module}")
PRISM_CMD = "{prism} mock --host 127.0.0.1 --port {port} --verboseLevel error {root}/contracts/pbx-api.yaml"
WIREMOCK_CMD = ("java -jar {jar} --bind-address 127.0.0.1 --port {port} --root-dir {bench}/wiremock "
                "--disable-request-logging --no-request-journal --disable-banner")
#: Seconds of load WireMock's JVM gets before it is measured: it gains for about a minute (its JIT),
#: and measured after 6 s it served a third of its settled req/s (4,454 against 12,000-14,700).
JVM_WARMUP = 60.0
VARIED = Path(__file__).resolve().parent / "varied_offset.lua"
WINDOW = Path(__file__).resolve().parent / "varied_window.lua"
#: A source of the demo domain (fixtures/default.json), for the filtered rows.
SOURCE = "0899123456"
#: Calls per weekday that put over 1,000,000 generated calls in a 31-day window.
MILLION = {"MOCKPBX_DAYS": "31", "MOCKPBX_CALLS_PER_DAY": "42000"}


def ensure_peers() -> None:
    """Install Prism and WireMock into bench/.peers/ with npm if they are not there."""
    if PRISM.exists() and WIREMOCK_JAR.exists():
        return
    command = ["npm", "install", "--prefix", str(PEERS), "--no-audit", "--no-fund", "--save-exact",
               f"@stoplight/prism-cli@{PRISM_VERSION}", f"wiremock@{WIREMOCK_VERSION}"]
    log("installing the peers: " + " ".join(command))
    PEERS.mkdir(exist_ok=True)
    subprocess.run(command, check=True, timeout=600, stdout=sys.stderr)


def targets(args: argparse.Namespace) -> list[Target]:
    """Every target of the run, in order."""
    path = call_log_path(days=30, limit=10)
    window = call_log_path(days=30, limit=50)
    source = path + "&source=" + SOURCE
    mockpbx = args.mockpbx_cmd
    logged = mockpbx.replace(" --no-access-log", "")  # `mockpbx serve` as it starts by default
    w1 = {"workers": 1, "module": "wsgi_app:app"}
    bearer = {"Authorization": "Bearer bench-token"}  # Prism and WireMock only check that one is there
    found = [
        Target("mockpbx w1", mockpbx, path, login=True, values=w1),
        Target("mockpbx w2", mockpbx, path, login=True, values={"workers": 2, "module": "wsgi_app:app"}),
        # Every request a different query, so that none is answered from the page memo.
        Target("mockpbx w1 varied", mockpbx, path, login=True, script=str(VARIED), values=w1),
        Target("mockpbx w1 varied window", mockpbx, window, login=True, script=str(WINDOW), values=w1),
        Target("mockpbx w1 source filter", mockpbx, source, login=True, script=str(WINDOW), values=w1),
        Target("mockpbx w1 varied, access log on", logged, path, login=True, script=str(VARIED), values=w1),
        # Two workers: as many Python processes as the machine has cores (WireMock's JVM uses both).
        Target("mockpbx w2 varied", mockpbx, path, login=True, script=str(VARIED),
               values={"workers": 2, "module": "wsgi_app:app"}),
        Target("flask hello w1", args.server_cmd, "/hello", bearer, values={"workers": 1, "module": "hello_app:app"}),
        Target("flask hello w2", args.server_cmd, "/hello", bearer, values={"workers": 2, "module": "hello_app:app"}),
        Target("prism", PRISM_CMD, path, bearer, values={"prism": PRISM}),
        # A JVM is given a longer warm-up, so that it is measured after its JIT has settled.
        Target("wiremock", WIREMOCK_CMD, path, bearer, values={"jar": WIREMOCK_JAR}, warmup=args.jvm_warmup),
    ]
    if args.baseline:  # the same requests to another build (e.g. `git archive main`), in this run
        for name, query, script in (("w1", path, None), ("w1 varied", path, VARIED),
                                    ("w1 varied window", window, WINDOW), ("w1 source filter", source, WINDOW)):
            found.append(Target(f"before: mockpbx {name}", mockpbx, query, login=True, values=w1,
                                script=script and str(script), cwd=args.baseline))
    million = call_log_path(days=31, limit=10)
    found.append(Target("mockpbx w1 1M varied", mockpbx, million, login=True, env=MILLION, ready_timeout=240,
                        script=str(VARIED), values=w1,
                        probes={"offset 500000": million.replace("limit=10", "limit=10&offset=500000"),
                                "source filter": million + "&source=" + SOURCE}))
    return [t for t in found if not any(s in t.name for s in args.skip)]


def report(rows: list[Row], args: argparse.Namespace) -> str:
    """The ratios, the extra probes and the issue's targets, as text."""
    by_name = {r.name: r for r in rows}
    lines = ["", "ratios (req/s, this run):"]
    for row in rows:
        if not row.name.startswith(("mockpbx", "before")):
            continue
        workers = 2 if " w2" in row.name else 1
        others = ("prism", "wiremock", f"flask hello w{workers}", "before: " + row.name)
        figures = [f"{value:.2f}x {other}" for other in others
                   if (value := ratio(by_name, row.name, other)) is not None]
        if figures:
            lines.append(f"  {row.name}: " + ", ".join(figures))
    for row in rows:
        for label, result in row.probes.items():
            lines.append(f"  {row.name}, {label} (1 connection): p50 {result.p50_ms:.2f} ms, "
                         f"p99 {result.p99_ms:.2f} ms, {result.rps:.0f} req/s, non-2xx {result.non_2xx}")
    lines += ["", f"targets ({args.connections} connections):"] + _verdicts(by_name)
    return "\n".join(lines)


def _verdicts(by_name: dict[str, Row]) -> list[str]:
    """PASS or FAIL on each of the issues' targets."""
    checks: list[tuple[str, bool | None, str]] = []  # (target, met, the figure)

    def at_least(top: str, bottom: str, floor: float) -> None:
        value = ratio(by_name, top, bottom)
        checks.append((f"{top} >= {floor:g}x {bottom}", None if value is None else value >= floor,
                       "" if value is None else f"{value:.2f}x"))

    for other in ("prism", "wiremock"):
        at_least("mockpbx w1", other, 2.0)
        at_least("mockpbx w1 varied", other, 2.0)
    at_least("mockpbx w1 varied window", "prism", 1.5)
    at_least("mockpbx w1 source filter", "prism", 1.5)
    at_least("mockpbx w1 1M varied", "mockpbx w1 varied", 0.9)
    for name, limit in (("mockpbx w1 varied", 10.0), ("mockpbx w1", 50.0), ("mockpbx w2", 50.0)):
        row = by_name.get(name)
        if row is not None and row.wrk is not None:
            checks.append((f"{name} p99 <= {limit:g} ms", row.wrk.p99_ms <= limit, f"{row.wrk.p99_ms:.2f} ms"))
    for row in by_name.values():
        if row.name.startswith("mockpbx") and row.wrk is not None:
            errors = row.wrk.non_2xx + row.wrk.socket_errors
            checks.append((f"{row.name} no errors", errors == 0, f"{errors} non-2xx or socket errors"))
    for name in ("mockpbx w1", "mockpbx w2"):
        row = by_name.get(name)
        if row is not None and row.startup_s is not None:
            checks.append((f"{name} start-up <= 1 s", row.startup_s <= 1, f"{row.startup_s:.2f} s"))
    verdict = {True: "PASS", False: "FAIL", None: "n/a"}
    return [f"  {label}: {verdict[met]}" + (f" ({figure})" if figure else "") for label, met, figure in checks]


def main() -> int:
    """Measure every target and print the tables; exit 1 if a target could not be measured."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    parser.add_argument("--duration", type=float, default=10, help="seconds of measured load per target [10]")
    parser.add_argument("--warmup", type=float, default=2, help="seconds of unmeasured load first [2]")
    parser.add_argument("--jvm-warmup", type=float, default=JVM_WARMUP,
                        help=f"seconds of unmeasured load WireMock's JVM gets first [{JVM_WARMUP:g}]")
    parser.add_argument("--connections", type=int, default=32, help="wrk connections [32]")
    parser.add_argument("--threads", type=int, default=1, help="wrk threads [1: leaves the other core to the server]")
    parser.add_argument("--server-cmd", default=SERVER,
                        help="production server template for the bare Flask app and, by default, mockpbx "
                             "({port} {workers} {module} {python} {bench} {root})")
    parser.add_argument("--mockpbx-cmd", default="{python} -m mockpbx serve --workers {workers} --port {port} "
                                                 "--no-access-log",
                        help="template for mockpbx [%(default)s]")
    parser.add_argument("--baseline", type=Path,
                        help="a checkout of another build (e.g. `git archive main | tar -x -C DIR`): adds "
                             "its rows ('before: ...') to this run, started from that folder")
    parser.add_argument("--rounds", type=int, default=2,
                        help="measure every target this many times, alternating the order; report the best [2]")
    parser.add_argument("--skip", nargs="*", default=[], help="skip targets whose name contains one of these")
    parser.add_argument("--logs", type=Path, help="a folder for each server's output")
    parser.add_argument("--json", type=Path, help="also write the figures as JSON here")
    args = parser.parse_args()
    exit_on_sigterm()
    require(["wrk", "java", "npm"])
    ensure_peers()
    if args.logs:
        args.logs.mkdir(parents=True, exist_ok=True)
    plan = targets(args)
    load_before = os.getloadavg()
    runs: dict[str, list[Row]] = {t.name: [] for t in plan}
    for number in range(args.rounds):
        log(f"--- round {number + 1} of {args.rounds}")
        for target in plan if number % 2 == 0 else reversed(plan):  # every other round backwards, against drift
            if number == 0 or not target.once:
                runs[target.name].append(measure(target, args.duration, args.connections, args.threads,
                                                 args.warmup, args.logs))
                pause(1)
    rows = [best_of(runs[t.name]) for t in plan]
    print(f"GET /v1/call/log (30-day window ending now, limit 10 (50 for 'varied window'); /hello for the floor): "
          f"wrk -t{args.threads} "
          f"-c{args.connections} -d{args.duration:g}s --latency after {args.warmup:g} s warm-up "
          f"({max(args.warmup, args.jvm_warmup):g} s for WireMock's JVM), on 127.0.0.1")
    print(f"mockpbx: {args.mockpbx_cmd}\nfloor:   {args.server_cmd}")
    print(f"each row: the best of {args.rounds} round(s) by req/s; 1-min load average "
          f"{load_before[0]:.2f} before, {os.getloadavg()[0]:.2f} after ({os.cpu_count()} cores)\n")
    print(table(rows))
    print("\nreq/s in each round: " + "; ".join(
        f"{name} " + "/".join(f"{r.wrk.rps:.0f}" if r.wrk else "-" for r in found) for name, found in runs.items()))
    print(report(rows, args))
    if args.json:
        args.json.write_text(json.dumps([_plain(r) for r in rows], indent=1) + "\n")
    return 1 if any(r.error for r in rows) else 0


def _plain(row: Row) -> dict[str, object]:
    """A row without wrk's raw output."""
    data = {k: v for k, v in vars(row).items() if k not in ("wrk", "probes")}
    data["wrk"] = row.wrk and {k: v for k, v in vars(row.wrk).items() if k != "raw"}
    data["probes"] = {k: {n: v for n, v in vars(p).items() if n != "raw"} for k, p in row.probes.items()}
    return data


if __name__ == "__main__":
    sys.exit(main())
