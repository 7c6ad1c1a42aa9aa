"""Serialising a call-log page in each API profile: the revised shape's local-with-Z times and
uniqueid against the reference shape. Prints its figures (`python bench/bench_profiles.py`)."""

from __future__ import annotations

import argparse
import time

from mockpbx.backend import build_backend
from mockpbx.clock import ControllableClock
from mockpbx.domain.window import Page, make_window
from mockpbx.profiles import get_profile, profile_names
from mockpbx.settings import Settings
from mockpbx.web.responses import json_bytes

DEMO_DOMAIN = "dddddddd-1111-2222-3333-eeeeeeee"
NOW = 1795755600  # 2026-11-27 12:00 in Asia/Ho_Chi_Minh


def main() -> None:
    """Query and serialise the same page of calls in every profile; print the best time of each."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls-per-day", type=int, default=3000)
    parser.add_argument("--limit", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=50)
    args = parser.parse_args()
    settings = Settings.load({}, days=10, calls_per_day=args.calls_per_day, seed=1)
    service = build_backend(settings, ControllableClock(start=NOW, frozen=True)).service
    window = make_window("2026-11-20 00:00:00", "2026-11-27 12:00:00", settings.zone)
    for name in profile_names():
        shape = get_profile(name).call_shaper(settings.zone)
        best, size = float("inf"), 0
        for _ in range(args.repeat):
            started = time.perf_counter()
            page = service.calls.query(DEMO_DOMAIN, window, None, Page(args.limit, 0))
            size = len(json_bytes(page.to_json(shape)))
            best = min(best, time.perf_counter() - started)
        print(f"{name:<10} page of {len(page.calls)} calls ({size} bytes, total {page.total}): "
              f"query + serialise {best * 1000:.2f} ms (best of {args.repeat})")


if __name__ == "__main__":
    main()
