"""What the package imports is what it declares: a lean core, and `verify` as an extra."""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

import pytest
from click.testing import CliRunner

ROOT = Path(__file__).resolve().parents[1]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
#: Parts of the package that only the `verify` extra needs, and the plugin that only runs in pytest.
VERIFY_PARTS = ("mockpbx/verify/", "mockpbx/conformance/hooks.py")
PLUGIN = "mockpbx/pytest_plugin.py"


def names(requirements: list[str]) -> set[str]:
    return {re.split(r"[<>=!~\[ ;]", r, maxsplit=1)[0].lower().replace("_", "-") for r in requirements}


def imported_distributions(files: list[Path]) -> set[str]:
    """The distributions of the third-party modules that `files` import directly."""
    found: set[str] = set()
    providers = packages_distributions()
    for path in files:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            modules = ([a.name for a in node.names] if isinstance(node, ast.Import)
                       else [node.module] if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module
                       else [])
            for module in modules:
                top = module.split(".")[0]
                if top in sys.stdlib_module_names or top in ("mockpbx", "__future__"):
                    continue
                found |= {d.lower().replace("_", "-") for d in providers.get(top, [top])}
    return found


def package_files(*, verify: bool) -> list[Path]:
    files = sorted((ROOT / "mockpbx").rglob("*.py"))
    chosen = [f for f in files if f.relative_to(ROOT).as_posix().startswith(VERIFY_PARTS) == verify]
    return [f for f in chosen if f.relative_to(ROOT).as_posix() != PLUGIN]


def test_every_module_the_core_imports_is_a_core_dependency() -> None:
    assert imported_distributions(package_files(verify=False)) <= names(PROJECT["dependencies"])


def test_every_module_verify_imports_is_declared_by_the_core_or_the_verify_extra() -> None:
    declared = names(PROJECT["dependencies"]) | names(PROJECT["optional-dependencies"]["verify"])
    assert imported_distributions(package_files(verify=True)) <= declared
    assert "schemathesis" not in names(PROJECT["dependencies"])


def test_the_plugin_imports_only_pytest_beyond_the_core() -> None:
    """The plugin is loaded by pytest itself, so pytest is there whenever it runs."""
    extra = imported_distributions([ROOT / PLUGIN]) - names(PROJECT["dependencies"])
    assert extra == {"pytest"}


def test_the_test_extras_do_not_cap_pytest_and_schemathesis_is_a_range() -> None:
    pytest_spec, = (r for r in PROJECT["optional-dependencies"]["test"] if r.startswith("pytest>"))
    assert "<" not in pytest_spec
    schemathesis_spec, = (r for r in PROJECT["optional-dependencies"]["verify"] if r.startswith("schemathesis"))
    assert "==" not in schemathesis_spec and "<5" in schemathesis_spec


BLOCKED_IMPORT = """
import sys
class Block:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("schemathesis", "hypothesis"):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name.split(".")[0])
sys.meta_path.insert(0, Block())
from mockpbx.testing import MockPBX
import mockpbx.pytest_plugin, mockpbx.cli
with MockPBX(days=1, calls_per_day=5) as pbx:
    print(pbx.call_log("2021-06-01 00:00:00", "2021-06-05 23:59:59").body["total"])
"""


def test_the_mock_and_the_plugin_run_without_the_verify_extra() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MOCKPBX_")}
    result = subprocess.run([sys.executable, "-c", BLOCKED_IMPORT], capture_output=True, text=True, env=env,
                            timeout=120)
    assert result.returncode == 0 and result.stdout.strip() == "2", result.stderr


def test_verify_without_the_extra_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    from mockpbx.cli import main
    for name in [m for m in sys.modules if m.startswith(("mockpbx.verify", "schemathesis"))]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "schemathesis", None)  # makes `import schemathesis` fail
    result = CliRunner().invoke(main, ["verify", "--base-url", "http://127.0.0.1:9", "--api-key", "k"])
    assert result.exit_code == 2
    assert "mockpbx verify needs the 'verify' extra (schemathesis is not installed): " \
           "pip install 'mockpbx[verify]'" in result.output
