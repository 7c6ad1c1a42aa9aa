"""A real `mockpbx serve` under 1000 requests of 1 MiB bodies and 1000 with 60 KB headers: the
journal's byte bounds keep the server's memory and `GET /_mock/requests` small."""

from __future__ import annotations

import http.client
import json
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.test_serving import serve

MIB = 1024 * 1024
BODY = b"x" * MIB
BIG_HEADER = "h" * 60_000
REQUESTS = 1000


def _tree(pid: int) -> list[int]:
    """The process and its descendants (granian's workers)."""
    found, queue = [], [pid]
    while queue:
        current = queue.pop()
        found.append(current)
        for task in Path(f"/proc/{current}/task").iterdir():
            children = (task / "children").read_text().split()
            queue.extend(int(child) for child in children)
    return found


def _memory_kib(pid: int) -> dict[str, int]:
    status = Path(f"/proc/{pid}/status").read_text()
    return {line.split(":")[0]: int(line.split()[1]) for line in status.splitlines()
            if line.startswith(("VmHWM:", "VmRSS:"))}


@pytest.mark.parametrize("workers", ["1", "2"])
def test_rss_and_journal_stay_small_under_big_requests(workers: str) -> None:
    with serve("--workers", workers, "--days", "1", "--no-access-log") as server:
        parts = urlsplit(server.url)
        connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
        try:
            for index in range(REQUESTS):
                connection.request("POST", f"/no-such-path/{index}", body=BODY,
                                   headers={"Content-Type": "text/plain"})
                response = connection.getresponse()
                response.read()
                assert response.status == 404
            for index in range(REQUESTS):
                connection.request("GET", f"/healthz?i={index}", headers={"X-Big": BIG_HEADER})
                response = connection.getresponse()
                response.read()
                assert response.status == 200
            connection.request("GET", "/_mock/requests")
            response = connection.getresponse()
            journal = response.read()
        finally:
            connection.close()
        memory = {pid: _memory_kib(pid) for pid in _tree(server.process.pid)}
    peak = max(m["VmHWM"] for m in memory.values())
    print(f"\nworkers={workers}: peak RSS (VmHWM) per process {sorted(m['VmHWM'] // 1024 for m in memory.values())} MiB, "
          f"GET /_mock/requests {len(journal) / MIB:.2f} MiB")
    assert peak < 300 * 1024, memory
    entries = json.loads(journal)["data"]
    assert len(journal) < 6 * MIB and entries
    newest = entries[-1]
    assert newest["path"] == "/healthz" and newest["query"] == {"i": [str(REQUESTS - 1)]}
    assert newest["truncated"] == {"headers": {"X-Big": 60_000}} and len(newest["headers"]["X-Big"]) == 16 * 1024


def test_journal_bounds_are_settings() -> None:
    from mockpbx.settings import Settings, SettingsError
    settings = Settings.load({"MOCKPBX_JOURNAL_BYTES": "1048576", "MOCKPBX_JOURNAL_FIELD_BYTES": "1024"})
    assert (settings.journal_bytes, settings.journal_field_bytes) == (1048576, 1024)
    assert Settings.load({}, journal_bytes=70000).journal_bytes == 70000
    with pytest.raises(SettingsError, match="--journal-bytes must be from 65536"):
        Settings.load({}, journal_bytes=10)
    with pytest.raises(SettingsError, match="MOCKPBX_JOURNAL_FIELD_BYTES must be from 256"):
        Settings.load({"MOCKPBX_JOURNAL_FIELD_BYTES": "1"})
