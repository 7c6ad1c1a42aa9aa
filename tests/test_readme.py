"""The README's test examples are the ones the suite runs."""

from __future__ import annotations

import re
from pathlib import Path

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
