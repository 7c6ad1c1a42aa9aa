"""The README's test examples are the ones the suite runs."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

ROOT = Path(__file__).resolve().parents[1]


def test_readme_python_examples_are_verbatim_from_the_example_tests() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Using mockpbx in your tests", 1)[1].split("\n## ", 1)[0]
    examples = (ROOT / "tests" / "examples" / "test_pbx_client.py").read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", section, re.S)
    assert len(blocks) >= 3
    for block in blocks:
        assert block in examples, block.splitlines()[0]


def test_readme_quick_start_has_exactly_two_commands() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    quick = readme.split("## Quick start", 1)[1].split("`mockpbx serve` prints", 1)[0]
    commands = re.findall(r"```sh\n(.*?)```", quick, re.S)
    assert [c.count("\n") for c in commands] == [1, 1]
    assert commands[0].strip().endswith("mockpbx serve")
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert commands[1].strip() in ci


def readme() -> str:
    return (ROOT / "README.md").read_text(encoding="utf-8")


def section(title: str) -> str:
    return readme().split(f"\n{title}\n", 1)[1].split("\n## ", 1)[0]


def table(text: str, first_header: str) -> list[list[str]]:
    """The rows (cells stripped) of the Markdown table whose first header cell is `first_header`."""
    lines = text.split(f"| {first_header} |", 1)[1].splitlines()[2:]
    return [[c.strip() for c in line.strip().strip("|").split("|")] for line in lines if line.startswith("|")]


def test_quick_start_curl_commands_run_as_pasted_against_serve() -> None:
    """Pasted into bash, the commands log in, capture the api_key and token, and read the call log."""
    from tests.test_live_server import start
    block = readme().split("`mockpbx serve` prints", 1)[1].split("```sh\n", 1)[1].split("```", 1)[0]
    served = start("--days", "2", "--calls-per-day", "20")
    try:
        script = "set -euo pipefail\n" + block.replace("http://127.0.0.1:8080", served.url)
        result = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=60)
    finally:
        served.process.terminate()
        served.process.communicate(timeout=10)
    assert result.returncode == 0, result.stderr
    page = json.loads(result.stdout)
    assert page["total"] == 2 and [c["amount"] for c in page["data"]] == [285, 1600]


def test_the_fixture_file_example_loads() -> None:
    from mockpbx.data.fixtures import parse_fixtures
    example = section("## Data").split("```json\n", 1)[1].split("```", 1)[0]
    fixtures = parse_fixtures(json.loads(example), Path("example.json"))
    assert [a.login for a in fixtures.accounts] == ["me@example.vn"] and len(fixtures.calls) == 1


def test_the_fixture_error_example_is_what_serve_prints(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from mockpbx.cli import main
    shown = section("## Data").split("```text\n", 1)[1].split("```", 1)[0]
    call = {"domain_uuid": "d-1", "source": "02873001234", "destination": "0971234567",
            "start_time": "2024-05-02T09:15:00+07:00", "duration": 75}
    calls = [call] * 3 + [{**call, "start_time": "2024-05-02 09:15:00"}] + [call] * 3
    calls.append({k: v for k, v in call.items() if k != "duration"} | {"duraton": 75})
    monkeypatch.chdir(tmp_path)
    Path("my.json").write_text(json.dumps({"accounts": [], "domains": [{"domain_uuid": "d-1"}], "calls": calls}))
    result = CliRunner().invoke(main, ["serve", "--fixtures", "my.json", "--port", "0"])
    assert result.exit_code == 2 and result.output == shown


def test_the_plugin_defaults_that_differ_from_serve_are_the_ones_listed() -> None:
    from mockpbx.pytest_plugin import DEFAULT_SETTINGS
    from mockpbx.settings import Settings
    from mockpbx.testing import LOCAL_SERVER
    serve, plugin = Settings(), {**LOCAL_SERVER, **DEFAULT_SETTINGS}
    differing = {name for name, value in plugin.items() if getattr(serve, name) != value}
    rows = {row[0].strip("`"): row[1:] for row in table(section("## Using mockpbx in your tests"), "Setting")}
    assert differing == {name for name in rows if name in plugin}
    for name in differing:
        shown_serve, shown_plugin = rows[name]
        value = plugin[name]
        if isinstance(value, bool):
            assert (shown_serve, shown_plugin) == (("on", "off") if getattr(serve, name) else ("off", "on"))
        else:
            assert shown_serve == f"`{getattr(serve, name)}`" and shown_plugin.startswith(f"`{value}`"), name


def test_every_option_of_the_configuration_table_is_an_option_of_serve() -> None:
    from mockpbx.cli import main
    help_text = CliRunner().invoke(main, ["serve", "--help"]).output
    for row in table(section("## Configuration"), "Option"):
        for option in re.findall(r"--[a-z-]+", row[0]):
            assert option in help_text, option
