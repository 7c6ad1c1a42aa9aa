"""Ratios that survive a busy machine: every server up at once, short wrk bursts interleaved.

`bench_http.py` measures one target after another, 10 s each; on a machine shared with other
jobs the load can change several-fold between two targets a minute apart. Here every target
is started first (mockpbx's varied rows, the repeated query (page memo), the varied one with
the access log on and with 2 workers, the same
rows of `--baseline DIR` if given, the 1,000,000-call window on the varied request, the two ceiling
rows of `ceiling.py` (the call log answered by a constant, behind the front and before it), Prism,
WireMock, the bare Flask floor; Prism and WireMock are loaded twice, with their static request
and with the varied rows' wrk script, so that a ratio can be taken with the client doing the same
work per request on both sides), then `--rounds` rounds load each target for `--burst` seconds
in a shuffled order (`--only TEXT` keeps the targets whose name contains TEXT). A ratio is taken within each round (targets measured seconds apart) and
the median over rounds is reported, beside each target's median req/s and p99.

    python bench/bench_paired.py --baseline /tmp/base          # about 8 minutes
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
from contextlib import nullcontext
from pathlib import Path

from bench_http import (
    JVM_WARMUP,
    MILLION,
    PRISM,
    PRISM_CMD,
    SERVER,
    SOURCE,
    VARIED,
    WINDOW,
    WIREMOCK_CMD,
    WIREMOCK_JAR,
    ensure_peers,
)
from harness import (
    BENCH,
    ROOT,
    Server,
    ThreadSampler,
    exit_on_sigterm,
    expand,
    free_port,
    log,
    require,
    run_wrk,
    wait_until,
)
from measure import Probe, Target, call_log_path

MOCKPBX = "{python} -m mockpbx serve --workers 1 --port {port} --no-access-log"


def plan(baseline: Path | None, jvm_warmup: float = JVM_WARMUP) -> list[Target]:
    """The targets, each started once and kept up for the whole run."""
    path = call_log_path(days=30, limit=10)
    window = call_log_path(days=30, limit=50)
    source = path + "&source=" + SOURCE
    bearer = {"Authorization": "Bearer bench-token"}
    rows = [("varied", path, VARIED), ("varied window", window, WINDOW), ("source filter", source, WINDOW)]
    found = [Target(f"mockpbx {name}", MOCKPBX, query, login=True, script=str(script)) for name, query, script in rows]
    # The same query repeated: answered from the page memo after the token and the journal.
    found.append(Target("mockpbx repeated", MOCKPBX, path, login=True))
    # `mockpbx serve` with its defaults: the access log on (one JSON line per request on stderr).
    found.append(Target("mockpbx varied, access log on", MOCKPBX.replace(" --no-access-log", ""), path,
                        login=True, script=str(VARIED)))
    # Two workers, one per core (WireMock's JVM uses both): beside the 1-worker rows.
    found.append(Target("mockpbx varied, 2 workers", MOCKPBX.replace("--workers 1", "--workers 2"), path,
                        login=True, script=str(VARIED)))
    if baseline:
        found += [Target(f"before: mockpbx {name}", MOCKPBX, query, login=True, script=str(script), cwd=baseline)
                  for name, query, script in rows]
    million = call_log_path(days=31, limit=10)
    found.append(Target("mockpbx 1M varied", MOCKPBX, million, login=True, env=MILLION, ready_timeout=240,
                        script=str(VARIED)))
    # What bounds one worker (bench/ceiling.py): the call log answered by a constant behind the
    # whole front, and before any of it. The varied row minus these is what the call log costs.
    found += [Target(f"ceiling: {mode}", MOCKPBX.replace("-m mockpbx", f"{{bench}}/ceiling.py {mode}"), path,
                     login=True, script=str(VARIED)) for mode in ("constant-app", "empty-front")]
    found += [Target("prism", PRISM_CMD, path, bearer, values={"prism": PRISM}),
              # Warmed until its JIT has settled (it gains for about a minute of load; after 6 s it
              # served a third of its settled rate, which flatters the ratios).
              Target("wiremock", WIREMOCK_CMD, path, bearer, values={"jar": WIREMOCK_JAR},
                     warmup=jvm_warmup),
              Target("flask hello", SERVER, "/hello", bearer, values={"workers": 1, "module": "hello_app:app"})]
    # The same peers sent the varied rows' request stream (the same wrk script, so the client does
    # the same work per request as for mockpbx's rows; the peers answer every query alike).
    found += [Target(f"{peer}, varied requests", "", path, bearer, script=str(VARIED), server_of=peer)
              for peer in ("prism", "wiremock")]
    return found


def main() -> int:
    """Start every target, interleave the bursts, print medians and paired ratios."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    parser.add_argument("--rounds", type=int, default=7, help="rounds of one burst per target [7]")
    parser.add_argument("--burst", type=float, default=3, help="seconds of wrk per burst [3]")
    parser.add_argument("--connections", type=int, default=32, help="wrk connections [32]")
    parser.add_argument("--baseline", type=Path, help="a checkout of another build: its rows as 'before: ...'")
    parser.add_argument("--seed", type=int, default=11, help="seed of the burst order [11]")
    parser.add_argument("--jvm-warmup", type=float, default=JVM_WARMUP,
                        help=f"seconds of load WireMock's JVM gets before the rounds [{JVM_WARMUP:g}]")
    parser.add_argument("--same-session", action="store_true",
                        help="start the servers in wrk's session (a process group each), so that Linux's "
                             "autogroup scheduler does not share the CPUs between them and wrk as groups")
    parser.add_argument("--threads", action="store_true",
                        help="also report how the CPUs were shared during each target's bursts: each server "
                             "thread's time on a CPU and time runnable but waiting for one (schedstat)")
    parser.add_argument("--only", action="append", default=[], metavar="TEXT",
                        help="only the targets whose name contains TEXT (repeatable)")
    args = parser.parse_args()
    exit_on_sigterm()
    require(["wrk", "java", "npm"])
    ensure_peers()
    targets = [t for t in plan(args.baseline, args.jvm_warmup) if not args.only or any(text in t.name for text in args.only)]
    servers: list[Server] = []
    ready: dict[str, tuple[int, dict[str, str]]] = {}
    samplers: dict[str, ThreadSampler] = {}
    try:
        for target in targets:
            if target.server_of is not None:  # another request stream to a server already up
                if target.server_of not in ready:
                    raise SystemExit(f"{target.name}: keep the target {target.server_of!r} too (--only)")
                port, headers = ready[target.server_of]
                run_wrk(port, target.path, headers, 2, args.connections, 1, target.script)
                ready[target.name] = (port, headers)
                samplers[target.name] = ThreadSampler(samplers[target.server_of].sid, not args.same_session)
                log(f"[{target.name}] on the server of {target.server_of}")
                continue
            port = free_port()
            command = expand(target.command, port=port, python=sys.executable, bench=BENCH, root=ROOT,
                             **target.values)
            server = Server(command, env=target.env, cwd=target.cwd or ROOT, own_session=not args.same_session)
            servers.append(server.start())
            samplers[target.name] = ThreadSampler(server.sid, not args.same_session)
            probe = Probe(target, port)
            wait_until(probe, server, target.ready_timeout)
            run_wrk(port, target.path, probe.headers, target.warmup or 2, args.connections, 1, target.script)
            ready[target.name] = (port, probe.headers)
            log(f"[{target.name}] up, {probe.first}")
        order = random.Random(args.seed)
        rps: dict[str, list[float]] = {t.name: [] for t in targets}
        p50: dict[str, list[float]] = {t.name: [] for t in targets}
        p99: dict[str, list[float]] = {t.name: [] for t in targets}
        for number in range(args.rounds):
            shuffled = targets[:]
            order.shuffle(shuffled)
            for target in shuffled:
                port, headers = ready[target.name]
                with samplers[target.name] if args.threads else nullcontext():
                    result = run_wrk(port, target.path, headers, args.burst, args.connections, 1, target.script)
                rps[target.name].append(result.rps)
                p50[target.name].append(result.p50_ms)
                p99[target.name].append(result.p99_ms)
            log(f"round {number + 1}: " + ", ".join(f"{n} {v[-1]:.0f}" for n, v in rps.items()))
    finally:
        for server in servers:
            server.stop()
    print(f"{args.rounds} rounds of wrk -t1 -c{args.connections} {args.burst:g} s bursts per target, shuffled; "
          "every server up for the whole run"
          + (", in wrk's session" if args.same_session else ", each in a session of its own")
          + "; median over rounds\n")
    print(f"{'target':<34} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8}   req/s in each round")
    for name in rps:
        print(f"{name:<34} {statistics.median(rps[name]):>8.0f} {statistics.median(p50[name]):>8.2f} "
              f"{statistics.median(p99[name]):>8.2f}   "
              + "/".join(f"{v:.0f}" for v in rps[name]))
    print("\nratios, median of the per-round ratios (range):")
    for name in [t.name for t in targets if t.name.startswith(("mockpbx", "ceiling"))]:
        plain = name.replace(", access log on", "")
        scripted = ("prism, varied requests", "wiremock, varied requests") if "repeated" not in name else ()
        others = (f"before: {plain}", "prism", "wiremock", *scripted, "flask hello") \
            + (("mockpbx varied",) if "1M" in name or "access log" in name or "workers" in name
               or "ceiling" in name else ())
        for other in others:
            if other in rps:
                ratios = [a / b for a, b in zip(rps[name], rps[other], strict=True) if b]
                print(f"  {name} / {other}: {statistics.median(ratios):.2f}x ({min(ratios):.2f}-{max(ratios):.2f})")
    if args.threads:
        print("\nhow the CPUs were shared during each target's bursts (every thread of the server on a CPU "
              "more than 2% of the time; 'waiting for a CPU': runnable, not running):")
        for target in targets:
            print(f"  {target.name}:")
            for line in samplers[target.name].report():
                print(f"    {line}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
