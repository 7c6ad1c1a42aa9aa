"""Many threads use the server while the controls change clock, faults and data: no errors, no torn state."""

from __future__ import annotations

import threading
import time
from collections import Counter

import requests

from mockpbx.testing import MockPBX

THREADS, REQUESTS_EACH, BATCH, BATCHES = 6, 60, 7, 25
WINDOW = {"start_date": "2024-01-01 00:00:00", "end_date": "2024-01-31 00:00:00"}


def test_controls_under_concurrent_load() -> None:
    with MockPBX(days=2, calls_per_day=50) as pbx:
        pbx.freeze_clock()
        tenant = pbx.add_account("load@acme.vn", "pw", api_key="load-key")
        token = pbx.token("load-key")
        pbx.add_fault("GET", "/healthz", status=503, times=40)
        statuses: Counter[int] = Counter()
        problems: list[str] = []
        lock = threading.Lock()
        deadline = time.monotonic() + 60

        def reader(index: int) -> None:
            session = requests.Session()
            last_total, last_now = 0, 0
            for _ in range(REQUESTS_EACH):
                if time.monotonic() > deadline:
                    break
                page = session.get(pbx.url + "/v1/call/log", params=WINDOW, timeout=10,
                                   headers={"Authorization": f"Bearer {token}"})
                health = session.get(pbx.url + "/healthz", timeout=10)
                clock = session.get(pbx.url + "/_mock/clock", timeout=10).json()["unix"]
                with lock:
                    statuses.update([page.status_code, health.status_code])
                    total = page.json().get("total", -1)
                    if page.status_code != 200 or total % BATCH or total < last_total:
                        problems.append(f"reader {index}: {page.status_code} total {total} after {last_total}")
                    if clock < last_now:
                        problems.append(f"reader {index}: clock went back from {last_now} to {clock}")
                last_total, last_now = max(last_total, total), clock

        def writer() -> None:
            for batch in range(BATCHES):
                calls = [{"source": "02873001234", "destination": "0971234567", "duration": 60,
                          "start_time": f"2024-01-{1 + batch:02d}T0{i}:00:00Z"} for i in range(BATCH)]
                pbx.add_calls(calls, domain_uuid=tenant["domain_uuid"])
                pbx.advance_clock(1)

        threads = [threading.Thread(target=reader, args=(i,)) for i in range(THREADS)]
        threads.append(threading.Thread(target=writer))
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=90)

        assert not any(t.is_alive() for t in threads)
        assert problems == []
        assert set(statuses) <= {200, 503} and statuses[503] == 40  # exactly `times` injected failures
        final = pbx.call_log(**WINDOW, token=token).body
        assert final["total"] == BATCH * BATCHES
        assert len(pbx.requests("GET", "/healthz")) == THREADS * REQUESTS_EACH
