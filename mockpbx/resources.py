"""Finds the contract and the default fixtures, in a source checkout or an installed wheel."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

_PACKAGE = Path(__file__).resolve().parent
CONTRACT_NAME = "pbx-api.yaml"
DEFAULT_FIXTURES_NAME = "default.json"


def _folder(name: str) -> Path:
    # A wheel carries the top-level folders inside the package (see pyproject.toml);
    # a source checkout or an editable install has them beside the package.
    for candidate in (_PACKAGE / "_bundled" / name, _PACKAGE.parent / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"mockpbx cannot find its {name}/ folder (is the installation complete?)")


def contract_path() -> Path:
    """The OpenAPI contract, `contracts/pbx-api.yaml`."""
    return _folder("contracts") / CONTRACT_NAME


def profile_overlay_path(profile: str) -> Path:
    """The contract overlay of a profile, `contracts/profiles/<profile>.yaml`."""
    return _folder("contracts") / "profiles" / f"{profile}.yaml"


def control_contract_path() -> Path:
    """The control API's contract, `contracts/mock-control.yaml`."""
    return _folder("contracts") / "mock-control.yaml"


def default_fixtures_path() -> Path:
    """The default fixture file, `fixtures/default.json`."""
    return _folder("fixtures") / DEFAULT_FIXTURES_NAME


@lru_cache(maxsize=4)
def load_contract(path: Path | None = None) -> dict[str, Any]:
    """The contract as a dictionary (parsed once per path)."""
    text = (path or contract_path()).read_text(encoding="utf-8")
    document = yaml.safe_load(text)
    if not isinstance(document, dict) or "paths" not in document:
        raise ValueError(f"{path or contract_path()} is not an OpenAPI document")
    return document


def contract_json() -> bytes:
    """The contract serialised as JSON."""
    return json.dumps(load_contract(), ensure_ascii=False, indent=2).encode()
