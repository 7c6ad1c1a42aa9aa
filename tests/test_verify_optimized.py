"""Business-rule checks are explicit raises: under `python -O` (asserts stripped) verify still
catches a broken host and exits 1, and no library module relies on `assert`."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import mockpbx
from tests.verify.broken import Rewrite, no_range_rule, serve, small_mock

FAST = ["--rate-limit", "1000/s", "--max-requests", "100"]


def test_verify_under_python_O_still_fails_a_host_that_serves_32_days(tmp_path: Path) -> None:
    report = tmp_path / "verify.json"
    with serve(Rewrite(small_mock(), query=no_range_rule)) as url:
        env = {**os.environ, "MOCKPBX_VERIFY_USERNAME": "foo@test.tel4vn.com", "MOCKPBX_VERIFY_PASSWORD": "foo123"}
        done = subprocess.run([sys.executable, "-O", "-m", "mockpbx", "verify", "--base-url", url, *FAST,
                               "--report-json", str(report)], env=env, capture_output=True, text=True, timeout=120,
                              check=False)
    assert done.returncode == 1, done.stdout + done.stderr
    checks = {c["name"]: c["status"] for c in json.loads(report.read_text())["checks"]}
    assert checks["window_31_days"] == "failed"
    assert "foo123" not in done.stdout + done.stderr


def test_no_library_module_uses_assert() -> None:
    package = Path(mockpbx.__file__).parent
    found = [f"{path.relative_to(package)}:{node.lineno}" for path in sorted(package.rglob("*.py"))
             for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))) if isinstance(node, ast.Assert)]
    assert found == []
