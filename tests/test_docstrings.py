"""The examples in the package's docstrings run and print what they show (they are documentation a
user copies: one that fails teaches the wrong thing)."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = ["mockpbx.profiles", "mockpbx.record.pseudonyms", "mockpbx.redaction", "mockpbx.testing", "mockpbx.web.app"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    for variable in ("MOCKPBX_ACCESS_LOG", "MOCKPBX_FIXTURES", "MOCKPBX_PROFILE"):
        monkeypatch.delenv(variable, raising=False)
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0, result
