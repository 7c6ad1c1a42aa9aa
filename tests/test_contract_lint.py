"""The contracts as public tools see them: validators, linters, schemathesis's CLI run bare."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from openapi_spec_validator import validate

from mockpbx.resources import contract_path, control_contract_path

from tests.conftest import call_log
from tests.test_live_server import start

ROOT = Path(__file__).resolve().parents[1]
LINT = ROOT / ".ci" / "lint-contracts"
IN_CI = bool(os.environ.get("CI"))
VENDOR_OPERATIONS = ("login", "getToken", "listCalls")


def contract() -> dict[str, Any]:
    return yaml.safe_load(contract_path().read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def operations(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {op["operationId"]: op for item in document["paths"].values() for op in item.values()
            if isinstance(op, dict) and "operationId" in op}


def needs_npm() -> None:
    """Spectral and Redocly run on node: skip without npm locally, fail without it in CI."""
    if shutil.which("npm") is None:
        if IN_CI:
            pytest.fail("npm is missing in CI: the contract lint (Spectral, Redocly) cannot run")
        pytest.skip("npm is not installed: Spectral and Redocly cannot run here (CI runs them)")


def run_lint(*contracts: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHON": sys.executable}
    return subprocess.run(["bash", str(LINT), *map(str, contracts)], capture_output=True, text=True,
                          env=env, timeout=300)


@pytest.mark.parametrize("path", [contract_path(), control_contract_path()], ids=["pbx-api", "mock-control"])
def test_contract_is_valid_for_openapi_spec_validator(path: Path) -> None:
    validate(yaml.safe_load(path.read_text(encoding="utf-8")))


def test_spectral_and_redocly_find_no_error_and_no_warning_on_both_contracts() -> None:
    needs_npm()
    result = run_lint()
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 contract(s) clean" in result.stdout
    assert result.stdout.count(": 0 errors, 0 warnings") == 2


def test_every_profile_resolved_contract_is_lint_clean(tmp_path: Path) -> None:
    """Each profile's overlay, applied to the base, still passes the validator and both linters."""
    from mockpbx.profiles import get_profile, profile_names
    others = [name for name in profile_names() if name != "reference"]
    assert others, "no profile besides reference: this test would lint nothing"
    paths = []
    for name in others:
        validate(get_profile(name).contract())
        path = tmp_path / f"pbx-api-{name}.yaml"
        path.write_bytes(get_profile(name).contract_yaml())
        paths.append(path)
    needs_npm()
    result = run_lint(*paths)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count(": 0 errors, 0 warnings") == len(paths)


def test_the_lint_fails_on_a_warning(tmp_path: Path) -> None:
    needs_npm()
    text = contract_path().read_text(encoding="utf-8")
    description = re.search(r"\n +description: .*gets a bearer token.*\n", text)
    assert description is not None  # the login operation's description
    broken = tmp_path / "broken.yaml"
    broken.write_text(text.replace(description.group(0), "\n"), encoding="utf-8")
    result = run_lint(broken)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "operation-description" in result.stdout and "paths./v1/auth.post" in result.stdout  # Spectral
    assert "problems found" in result.stderr


def test_the_vendor_operations_declare_429_and_503_with_retry_after_and_a_4xx() -> None:
    document = contract()
    responses = document["components"]["responses"]
    for operation_id in VENDOR_OPERATIONS:
        declared = operations(document)[operation_id]["responses"]
        assert any(code.startswith("4") and code not in ("429",) for code in declared), operation_id
        for code, name in (("429", "TooManyRequests"), ("503", "ServiceUnavailable")):
            assert declared[code] == {"$ref": f"#/components/responses/{name}"}, (operation_id, code)
    for name in ("TooManyRequests", "ServiceUnavailable"):
        assert responses[name]["headers"]["Retry-After"] == {"$ref": "#/components/headers/RetryAfter"}
        assert "fault" in responses[name]["description"] and "vendor" in responses[name]["description"]


def test_every_component_is_referenced() -> None:
    """Redocly's no-unused-components is off (it ignores references from extensions): kept here."""
    text = contract_path().read_text(encoding="utf-8")
    for kind, names in contract()["components"].items():
        for name in names:
            if kind != "securitySchemes":
                assert f'"#/components/{kind}/{name}"' in text, f"{kind}/{name} is not referenced"


def test_response_times_are_date_times_with_their_pattern() -> None:
    utc = contract()["components"]["schemas"]["UtcDateTime"]
    assert utc["format"] == "date-time" and utc["pattern"].endswith("Z$")


def local_pattern() -> re.Pattern[str]:
    return re.compile(contract()["components"]["schemas"]["LocalDateTime"]["pattern"])


@pytest.mark.parametrize("value", ["0000-00-00 00:00:00", "2024-13-01 00:00:00", "2024-01-32 00:00:00",
                                   "2024-01-01 24:00:00", "2024-01-01 23:60:00", "2024-01-01 23:59:60",
                                   "2024-01-01T00:00:00", "0999-01-01 00:00:00"])
def test_local_date_time_pattern_rejects_out_of_range_fields(value: str) -> None:
    assert local_pattern().search(value) is None


@pytest.mark.parametrize("value", ["2024-02-31 00:00:00", "2023-02-29 12:00:00", "2024-04-31 23:59:59"])
def test_impossible_dates_that_fit_the_pattern_answer_the_documented_400(client: Any, bearer: dict[str, str],
                                                                         value: str) -> None:
    assert local_pattern().search(value)  # schemathesis may generate it as valid data
    response = call_log(client, bearer, start_date=value, end_date="2024-05-01 00:00:00")
    assert response.status_code == 400
    assert response.get_json() == {"error": f"start_date is not a real calendar date and time: {value}"}
    assert "400" in operations(contract())["listCalls"]["responses"]


def test_schemathesis_cli_run_bare_against_serve_finds_nothing(tmp_path: Path) -> None:
    """`st run CONTRACT --url URL` with its defaults (all phases, default checks), no credentials."""
    served = start("--days", "5", "--calls-per-day", "50")
    try:
        seed = ["--seed", "20210601"] if IN_CI else []
        result = subprocess.run([str(Path(sys.executable).with_name("st")), "run", str(contract_path()),
                                 "--url", served.url, *seed], capture_output=True, text=True, timeout=240,
                                cwd=tmp_path, env={**os.environ, "NO_COLOR": "1"})
    finally:
        served.process.terminate()
        served.process.communicate(timeout=10)
    summary = result.stdout[result.stdout.rfind("SUMMARY"):]
    assert result.returncode == 0, summary
    assert "Failures:" not in summary and re.search(r"(\d+) generated, \1 passed", summary), summary
