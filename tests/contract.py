"""Checks a response against the contract's schema for its operation and status."""

from __future__ import annotations

from typing import Any

from jsonschema import Draft202012Validator

from mockpbx.profiles import get_profile


def _resolve(document: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        target: Any = document
        for part in node["$ref"].lstrip("#/").split("/"):
            target = target[part.replace("~1", "/").replace("~0", "~")]
        node = target
    return node


def operation(operation_id: str, profile: str = "reference") -> tuple[str, str, dict[str, Any]]:
    """(path, method, operation object) of an operationId in a profile's contract."""
    document = get_profile(profile).contract()
    for path, item in document["paths"].items():
        for method, op in item.items():
            if isinstance(op, dict) and op.get("operationId") == operation_id:
                return path, method, op
    raise KeyError(operation_id)


def assert_conforms(operation_id: str, response: Any, profile: str = "reference") -> None:
    """The status is documented for the operation and the JSON body matches its schema."""
    document = get_profile(profile).contract()
    _, _, op = operation(operation_id, profile)
    status = str(response.status_code)
    assert status in op["responses"], f"{operation_id}: status {status} is not documented"
    declared = _resolve(document, op["responses"][status])
    assert response.mimetype == "application/json", response.mimetype
    schema = declared["content"]["application/json"]["schema"]
    validator = Draft202012Validator({**document, **schema}, format_checker=Draft202012Validator.FORMAT_CHECKER)
    errors = [e.message for e in validator.iter_errors(response.get_json())]
    assert not errors, f"{operation_id} {status}: {errors}"
