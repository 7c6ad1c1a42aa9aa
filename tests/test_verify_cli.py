"""The `mockpbx verify` command: exit codes 0/1/2, one-line reasons, credentials from the
environment, JUnit and JSON reports, and no secret in any output."""

from __future__ import annotations

import json
import socket
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import pytest
from click.testing import CliRunner, Result

from mockpbx.cli import main
from tests.verify.broken import TOKEN, Recording, Rewrite, serve, small_mock

WSGIApp = Callable[..., Any]
PASSWORD, API_KEY = "foo123", "aaaaaaaa-bbbb-cccc-dddd-eeeeeeee"
FAST = ["--rate-limit", "1000/s", "--max-requests", "100"]


@pytest.fixture(scope="module")
def mock() -> WSGIApp:
    return small_mock()


@pytest.fixture(scope="module")
def url(mock: WSGIApp) -> Iterator[str]:
    with serve(mock) as base:
        yield base


def verify(*args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(main, ["verify", *args], env={"MOCKPBX_VERIFY_USERNAME": None,
                                                            "MOCKPBX_VERIFY_PASSWORD": None,
                                                            "MOCKPBX_VERIFY_API_KEY": None, **(env or {})})


def _one_line(result: Result) -> str:
    lines = result.stderr.strip().splitlines()
    assert lines, result.output
    return lines[-1]


@pytest.mark.parametrize("args, reason", [
    ([], "--base-url is required"),
    (["--base-url", "ftp://example.com", "--username", "u", "--password", "p"], "--base-url must be"),
    (["--base-url", "http://127.0.0.1:1"], "no credentials"),
    (["--base-url", "http://127.0.0.1:1", "--username", "u"], "both --username and --password"),
    (["--base-url", "http://127.0.0.1:1", "--api-key", "k", "--max-requests", "abc"], "not a valid integer"),
    (["--base-url", "http://127.0.0.1:1", "--api-key", "k", "--window-start", "2026-01-10",
      "--window-end", "2026-01-01"], "must be before"),
    (["--base-url", "http://127.0.0.1:1", "--api-key", "k", "--window-start", "2026-01-01",
      "--window-end", "2026-03-01"], "at most 31 days"),
    (["--base-url", "http://127.0.0.1:1", "--api-key", "k", "--timezone", "Mars/Olympus"], "time zone"),
    (["--base-url", "http://127.0.0.1:1", "--api-key", "k", "--rate-limit", "fast"], "--rate-limit"),
    # (Before: a ValueError traceback and exit 1; a refused URL was echoed with its password.)
    (["--base-url", "http://[::1", "--api-key", "k"], "--base-url is not a valid URL"),
    (["--base-url", "http://127.0.0.1:abc", "--api-key", "k"], "--base-url is not a valid URL"),
    (["--base-url", "http://admin:S3cretPW@127.0.0.1:1", "--api-key", "k"], "must not hold a user name or password"),
    (["--base-url", "ftp://admin:S3cretPW@127.0.0.1:1", "--api-key", "k"], "'ftp://<redacted>@127.0.0.1:1'"),
])
def test_bad_arguments_exit_2_with_one_line(args: list[str], reason: str) -> None:
    result = verify(*args)
    assert result.exit_code == 2
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert reason in _one_line(result)
    assert "S3cretPW" not in result.stderr + result.stdout


@pytest.mark.parametrize("text, reason", [
    ("[" * 100_000 + "]" * 100_000, "lists or mappings nested too deeply"),
    ("[1, 2]\n", "is not an OpenAPI document"),
    ("paths: [1]\n", "is not a valid OpenAPI document: AttributeError"),
    ("openapi: 3.0.0\npaths: {/v1/call/log: {get: {responses: 5}}}\n", "is not a valid OpenAPI document"),
    ("paths: {/x: {get: 5}}\n", "declares no operations to verify"),
])
def test_a_contract_of_the_wrong_shape_exits_2_with_one_line(tmp_path: Path, text: str, reason: str) -> None:
    """Before: a traceback (RecursionError, AttributeError) and exit 1."""
    contract = tmp_path / "contract.yaml"
    contract.write_text(text)
    result = verify("--base-url", "http://127.0.0.1:1", "--api-key", "k", "--contract", str(contract))
    assert result.exit_code == 2 and "Traceback" not in result.output, result.output
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert reason in _one_line(result) and str(contract) in _one_line(result)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_an_unreachable_host_exits_2(tmp_path: Path) -> None:
    result = verify("--base-url", f"http://127.0.0.1:{_free_port()}", "--api-key", API_KEY)
    assert result.exit_code == 2
    assert "cannot reach" in _one_line(result) and "Connection refused" in _one_line(result)
    assert result.stdout == ""


def test_a_refused_login_exits_2(url: str) -> None:
    result = verify("--base-url", url, "--username", "foo@test.tel4vn.com", "--password", "wrong-password")
    assert result.exit_code == 2
    assert "login refused: POST /v1/auth answered HTTP 401" in _one_line(result)
    assert "wrong-password" not in result.output


def test_credentials_from_the_environment_and_reports(url: str, tmp_path: Path) -> None:
    junit, report = tmp_path / "out" / "junit.xml", tmp_path / "out" / "verify.json"
    result = verify("--base-url", url, *FAST, "--report-junit", str(junit), "--report-json", str(report),
                    env={"MOCKPBX_VERIFY_USERNAME": "foo@test.tel4vn.com", "MOCKPBX_VERIFY_PASSWORD": PASSWORD})
    assert result.exit_code == 0, result.output
    assert "CONFORMANT" in result.stdout and "requests]" in result.stderr
    document = json.loads(report.read_text())
    assert document["conformant"] is True and document["requests"]["sent"] <= 100
    suites = ElementTree.parse(junit).getroot()
    names = {case.get("name") for case in suites.iter("testcase")}
    assert {"paging", "window_31_days", "response_schema_conformance"} <= names
    assert all(suite.get("failures") == "0" for suite in suites.iter("testsuite"))


def test_an_api_key_alone_is_enough(url: str) -> None:
    result = verify("--base-url", url, *FAST, env={"MOCKPBX_VERIFY_API_KEY": API_KEY})
    assert result.exit_code == 0, result.output


def _leaky(app: WSGIApp) -> WSGIApp:
    """Violations around login and token, so that reports show those requests and answers."""
    def answer(request: Any, response: Any) -> Any:
        if request.path in ("/v1/auth", TOKEN) and response.status_code == 200:
            body = json.loads(response.get_data())
            body["data"]["expire_at" if request.path == TOKEN else "user_enabled"] = "soon"
            response.set_data(json.dumps(body))
        return response
    return Rewrite(app, answer=answer)


def test_secrets_never_appear_in_outputs_or_reports(mock: WSGIApp, tmp_path: Path) -> None:
    recording = Recording(_leaky(mock))
    junit, report = tmp_path / "junit.xml", tmp_path / "verify.json"
    with serve(recording) as base:
        result = verify("--base-url", base, *FAST, "--report-junit", str(junit), "--report-json", str(report),
                        env={"MOCKPBX_VERIFY_USERNAME": "foo@test.tel4vn.com", "MOCKPBX_VERIFY_PASSWORD": PASSWORD})
    assert result.exit_code == 1, result.output
    outputs = {"stdout": result.stdout, "stderr": result.stderr, "junit": junit.read_text(),
               "json": report.read_text()}
    secrets = {"password": PASSWORD, "api_key": API_KEY} | {f"token {i}": t for i, t in enumerate(recording.tokens)}
    assert len(recording.tokens) >= 2
    for where, text in outputs.items():
        for what, secret in secrets.items():
            assert secret not in text, f"the {what} appears in {where}"
    assert "<redacted>" in outputs["json"] and "curl" in outputs["stdout"]
    assert "response_schema_conformance" in outputs["stdout"] and "token_expiry" in outputs["stdout"]
