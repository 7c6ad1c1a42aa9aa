"""Turns what schemathesis recorded into check results tied to the client's exchanges."""

from __future__ import annotations

from typing import Any

from mockpbx.verify.client import BudgetedClient, Exchange
from mockpbx.verify.gate import EXCHANGE, MARKER
from mockpbx.verify.results import SCHEMATHESIS, Finding, Results

DESCRIPTIONS = {
    "not_a_server_error": "no 5xx, whatever is sent",
    "status_code_conformance": "every status is one the contract documents",
    "content_type_conformance": "every Content-Type is one the contract documents (JSON, also for errors)",
    "response_schema_conformance": "every body matches its schema in the contract",
    "response_headers_conformance": "documented response headers are present and valid",
    "positive_data_acceptance": "valid requests are accepted (2xx, or 400/401 where the rules say so)",
    "negative_data_rejection": "invalid requests are rejected with a 4xx",
    "ignored_auth": "the call log refuses requests without a token or with a bad one",
    "missing_required_header": "a missing required header is rejected",
    "unsupported_method": "undeclared methods get 405 (only with --probe-methods)",
    "allow_header_conformance": "405 answers carry an Allow header",
    "call_log_window_rule": "generated windows: over 31 days refused with the documented message, inverted refused",
    "call_log_paging": "generated queries: echo, page size, order, window, filter, arithmetic",
}


def _header(headers: Any, name: str) -> str | None:
    """A header of a schemathesis response (values are lists), case-insensitively."""
    for key, value in (headers or {}).items():
        if key.lower() == name.lower():
            return str(value[0] if isinstance(value, list) and value else value)
    return None


def _exchange(client: BudgetedClient, response: Any) -> tuple[Exchange | None, bool]:
    """The exchange behind a response, and whether the gate (not the host) answered it."""
    if response is None:
        return None, False
    if _header(response.headers, MARKER) is not None:
        return None, True
    ident = _header(response.headers, EXCHANGE)
    return (client.exchange(int(ident)) if ident and ident.isdigit() else None), False


def collect_scenario(recorder: Any, client: BudgetedClient, results: Results) -> None:
    """Record every check outcome of a finished scenario; gate-made answers are not judged."""
    for case_id, nodes in recorder.checks.items():
        for node in nodes:
            failure = node.failure_info.failure if node.failure_info is not None else None
            interaction = recorder.interactions.get((failure.case_id if failure else None) or case_id) \
                or recorder.interactions.get(case_id)
            exchange, local = _exchange(client, interaction.response if interaction else None)
            if local:
                continue  # the gate answered (blocked, budget spent): nothing to judge about the host
            result = results.check(node.name, SCHEMATHESIS, DESCRIPTIONS.get(node.name, ""))
            if failure is None:
                result.passed += str(node.status.value) == "success"
                continue
            message = " ".join(str(failure.message or "").split())
            title = failure.title or node.name
            result.fail(Finding(f"{title}: {message}" if message else title, exchange))
