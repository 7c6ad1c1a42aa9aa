"""A typed client generated from the contract by openapi-python-client works against a real mock.

The generator and the generated client's runtime (httpx, attrs) live in a venv of their own
(cached under ~/.cache/mockpbx, or $MOCKPBX_TOOLS_CACHE), so that they never change the
project's environment. Without PyPI the test skips locally and fails in CI.
"""

from __future__ import annotations

import json
import os
import subprocess
import venv
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mockpbx.resources import contract_path
from mockpbx.testing import DEMO_LOGIN, DEMO_PASSWORD, MockPBX

GENERATOR = "openapi-python-client==0.29.1"
CACHE = Path(os.environ.get("MOCKPBX_TOOLS_CACHE") or Path.home() / ".cache" / "mockpbx")

# Run by the tools venv's python: argv = [url, client parent folder]; prints what it saw as JSON.
DRIVER = """
import datetime, json, sys
sys.path.insert(0, sys.argv[2])
from pbx_client import AuthenticatedClient, Client
from pbx_client.api.auth import get_token, login
from pbx_client.api.calls import list_calls
from pbx_client.models import CallLogPage, Error, LoginRequest, LoginResponse, TokenRequest, TokenResponse

url, seen = sys.argv[1], {}
plain = Client(base_url=url)
account = login.sync(client=plain, body=LoginRequest(username=sys.argv[3], password=sys.argv[4]))
assert isinstance(account, LoginResponse), account
token = get_token.sync(client=plain, body=TokenRequest(api_key=account.data.api_key))
assert isinstance(token, TokenResponse), token
seen["expire_at"] = token.data.expire_at
authed = AuthenticatedClient(base_url=url, token=token.data.token)
page = list_calls.sync(client=authed, start_date="2021-06-01 00:00:00", end_date="2021-06-05 23:59:59")
assert isinstance(page, CallLogPage), page
seen["page"] = {"total": page.total, "limit": page.limit,
                "start_times": [[type(c.start_time).__name__, c.start_time.isoformat(),
                                 c.start_time.utcoffset().total_seconds()] for c in page.data],
                "durations": [(c.end_time - c.start_time).total_seconds() for c in page.data]}
wrong = login.sync_detailed(client=plain, body=LoginRequest(username=sys.argv[3], password="wrong"))
too_long = list_calls.sync_detailed(client=authed, start_date="2021-06-01 00:00:00", end_date="2021-07-15 00:00:00")
for name, response in (("wrong_password", wrong), ("too_long", too_long)):
    assert isinstance(response.parsed, Error), response
    seen[name] = [response.status_code.value, response.parsed.error]
print("ready", flush=True)
input()  # the test injects a 503 fault, then says go
faulted = list_calls.sync_detailed(client=authed, start_date="2021-06-01 00:00:00", end_date="2021-06-05 23:59:59")
assert isinstance(faulted.parsed, Error), faulted
seen["fault"] = [faulted.status_code.value, faulted.parsed.error, faulted.headers.get("Retry-After")]
print(json.dumps(seen))
"""


def tools_python() -> Path:
    """The python of a venv holding the generator; created (from PyPI) on first use."""
    home = CACHE / GENERATOR.replace("==", "-")
    python = home / "bin" / "python"
    if (home / ".complete").exists():
        return python
    venv.create(home, with_pip=True, clear=True)
    result = subprocess.run([str(python), "-m", "pip", "install", "-q", GENERATOR],
                            capture_output=True, text=True, timeout=600)
    if result.returncode != 0:
        message = f"cannot install {GENERATOR} from PyPI: {result.stderr.strip()[-500:]}"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    (home / ".complete").touch()
    return python


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Path, str]]:
    """(tools python, folder holding the generated `pbx_client` package, generator output)."""
    python = tools_python()
    out = tmp_path_factory.mktemp("client")
    result = subprocess.run([str(python.with_name("openapi-python-client")), "generate", "--path",
                             str(contract_path()), "--output-path", str(out / "pbx_client"), "--meta", "none"],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    yield python, out, result.stdout + result.stderr


def test_the_generator_loses_nothing_of_the_vendor_operations(generated: tuple[Path, Path, str]) -> None:
    _, out, log = generated
    warnings = [line for line in log.splitlines() if line.startswith("WARNING")]
    # The only piece left out: the YAML copy of the contract (the generator reads JSON only).
    assert warnings == ["WARNING parsing GET /openapi.yaml within meta."], log
    call = (out / "pbx_client" / "models" / "call.py").read_text(encoding="utf-8")
    assert "start_time: datetime.datetime" in call and "end_time: datetime.datetime" in call
    list_calls = (out / "pbx_client" / "api" / "calls" / "list_calls.py").read_text(encoding="utf-8")
    for status in (400, 401, 429, 503):
        assert f"response_{status} = Error.from_dict(response.json())" in list_calls


def test_a_generated_client_logs_in_pages_calls_and_reads_errors_and_a_503(
        generated: tuple[Path, Path, str]) -> None:
    python, out, _ = generated
    with MockPBX(days=1, calls_per_day=5) as pbx:
        driver = subprocess.Popen([str(python), "-c", DRIVER, pbx.url, str(out), DEMO_LOGIN, DEMO_PASSWORD],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        assert driver.stdin is not None and driver.stdout is not None
        try:
            assert driver.stdout.readline() == "ready\n", driver.stderr.read() if driver.stderr else ""
            seen_before = [f"{e['method']} {e['path']} {e['status']}" for e in pbx.requests()]
            pbx.add_fault("GET", "/v1/call/log", status=503, body={"error": "maintenance"},
                          headers={"Retry-After": "2"}, times=1)
            stdout, stderr = driver.communicate("go\n", timeout=60)
        finally:
            if driver.poll() is None:
                driver.kill()
                driver.communicate()
        assert driver.returncode == 0, stderr
        seen: dict[str, Any] = json.loads(stdout)
    assert seen_before == ["POST /v1/auth 200", "POST /v1/auth/token 200", "GET /v1/call/log 200",
                           "POST /v1/auth 401", "GET /v1/call/log 400"]
    assert isinstance(seen["expire_at"], int)
    assert seen["page"]["total"] == 2 and seen["page"]["limit"] == 10
    assert seen["page"]["start_times"] == [["datetime", "2021-06-04T12:12:59+00:00", 0.0],
                                           ["datetime", "2021-06-01T13:02:13+00:00", 0.0]]
    assert seen["page"]["durations"] == [38.0, 120.0]
    assert seen["wrong_password"] == [401, "invalid username or password"]
    assert seen["too_long"] == [400, "date range must be in 31 days"]
    assert seen["fault"] == [503, "maintenance", "2"]

