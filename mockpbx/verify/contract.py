"""What verify reads from the contract: the operations it may call and the documented messages."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from mockpbx.conformance.rules import RANGE_TOO_LONG
from mockpbx.profiles import Profile
from mockpbx.resources import contract_path, load_contract

#: Operations tagged like this exist only on the mock (probes, the contract itself).
MOCK_ONLY_TAGS = frozenset({"meta"})
_METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")


class ContractError(ValueError):
    """The contract cannot be used; the message says why."""


@dataclass(frozen=True)
class Operation:
    """One operation of the contract."""

    path: str
    method: str
    operation_id: str
    tags: frozenset[str]

    @property
    def pattern(self) -> re.Pattern[str]:
        """The path template as a regular expression."""
        parts = re.split(r"(\{[^}/]+\})", self.path)
        return re.compile("".join("[^/]+" if p.startswith("{") else re.escape(p) for p in parts))


@dataclass(frozen=True)
class Contract:
    """The contract's operations that exist on the vendor's host, and the 31-day message."""

    path: Path
    operations: tuple[Operation, ...]
    range_message: str
    #: The whole OpenAPI document (resolved for a profile), for schemathesis.
    document: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)
    #: How the report names it, e.g. "pbx-api.yaml (profile revised)".
    label: str = ""

    def path_of(self, operation_id: str, default: str) -> str:
        """The path of an operation by its operationId."""
        return next((o.path for o in self.operations if o.operation_id == operation_id), default)

    def match(self, method: str, path: str) -> tuple[bool, bool]:
        """Whether `path` is declared, and whether `method` is declared on it."""
        found = [o for o in self.operations if o.pattern.fullmatch(path)]
        return bool(found), any(o.method == method.upper() for o in found)


def _range_message(document: dict[str, Any]) -> str:
    """The error of the `rangeTooLong` example of the call log's 400 response."""
    for item in document.get("paths", {}).values():
        responses = (item.get("get") or {}).get("responses", {})
        content = (responses.get("400") or {}).get("content", {}).get("application/json", {})
        for name, example in (content.get("examples") or {}).items():
            error = (example.get("value") or {}).get("error") if isinstance(example, dict) else None
            if isinstance(error, str) and (name == "rangeTooLong" or "31 days" in error):
                return error
    return RANGE_TOO_LONG


def load(path: Path) -> Contract:
    """Read the contract at `path`; raises ContractError if it is missing or not OpenAPI."""
    try:
        document = load_contract(path)
    except (OSError, ValueError, yaml.YAMLError) as error:
        raise ContractError(f"cannot read the contract {path}: {error}") from None
    except RecursionError:
        raise ContractError(f"cannot read the contract {path}: lists or mappings nested too deeply") from None
    try:
        return from_document(document, path, path.name)
    except (AttributeError, TypeError, KeyError) as error:  # a part of another shape than OpenAPI's
        raise ContractError(f"the contract {path} is not a valid OpenAPI document: "
                            f"{type(error).__name__}: {error}") from None


def for_profile(profile: Profile) -> Contract:
    """The resolved contract of an API profile."""
    try:
        document = profile.contract()
    except (OSError, ValueError, yaml.YAMLError) as error:
        raise ContractError(f"cannot read the contract of profile {profile.name}: {error}") from None
    return from_document(document, contract_path(), f"{contract_path().name} (profile {profile.name})")


def from_document(document: dict[str, Any], path: Path, label: str) -> Contract:
    """A contract from an OpenAPI document; raises ContractError if it declares nothing to verify."""
    operations = []
    for route, item in document.get("paths", {}).items():
        for method in _METHODS:
            spec = item.get(method) if isinstance(item, dict) else None
            if isinstance(spec, dict):
                tags = frozenset(spec.get("tags") or ())
                operations.append(Operation(route, method.upper(), str(spec.get("operationId", "")), tags))
    exposed = tuple(o for o in operations if not o.tags & MOCK_ONLY_TAGS)
    if not exposed:
        raise ContractError(f"the contract {path} declares no operations to verify")
    return Contract(path, exposed, _range_message(document), document, label)
