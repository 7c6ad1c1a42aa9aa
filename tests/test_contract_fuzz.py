"""Schemathesis drives the contract against the app in-process: built-in checks plus the
business rules (31-day window, paging), with a login -> token auth provider."""

from __future__ import annotations

import os
from datetime import datetime
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings as hsettings

from mockpbx.clock import ControllableClock
from mockpbx.conformance import hooks
from mockpbx.conformance.hooks import Credentials, install_auth, install_window_steering
from mockpbx.profiles import get_profile
from mockpbx.resources import contract_path, control_contract_path
from mockpbx.settings import Settings
from mockpbx.web.app import create_app

from tests.conftest import DEMO, NOW

SEED = {"seed": 20210601} if os.environ.get("CI") else {}  # fixed in CI, see conftest.py
CONFIG = schemathesis.Config.from_dict({
    **SEED,
    "generation": {"max-examples": 150, "database": "none"},
    "checks": {"positive_data_acceptance": {"expected-statuses": ["2xx", "400", "401"]}},
})

APP = create_app(Settings.load({}, days=40, calls_per_day=120, seed=3),
                 clock=ControllableClock(start=NOW, frozen=True))
schema = schemathesis.openapi.from_path(contract_path(), config=CONFIG)
schema.app = APP
install_auth(schema, Credentials(**DEMO))
install_window_steering(schema, anchor=datetime(2026, 11, 27, 12, 0, 0))


@schema.parametrize()
@hsettings(suppress_health_check=list(HealthCheck), deadline=None)
def test_operation_conforms(case: Any) -> None:
    case.call_and_validate()


class APIWorkflow(schema.as_state_machine()):  # type: ignore[misc]
    """Stateful: login -> getToken -> listCalls through the contract's links."""

    def validate_response(self, response: Any, case: Any, **kwargs: Any) -> None:
        case.validate_response(response)


APIWorkflow.TestCase.settings = hsettings(max_examples=25, stateful_step_count=6, deadline=None,
                                           suppress_health_check=list(HealthCheck))
TestAPIWorkflow = APIWorkflow.TestCase


# The same, against the mock speaking the revised profile and its resolved contract (fewer
# examples: the operations and rules are the same, only the shapes differ).
REVISED = get_profile("revised")
REVISED_CONFIG = schemathesis.Config.from_dict({
    **SEED,
    "generation": {"max-examples": 60, "database": "none"},
    "checks": {"positive_data_acceptance": {"expected-statuses": ["2xx", "400", "401"]}},
})
REVISED_APP = create_app(Settings.load({}, days=40, calls_per_day=120, seed=3, profile="revised"),
                         clock=ControllableClock(start=NOW, frozen=True))
revised_schema = schemathesis.openapi.from_dict(REVISED.contract(), config=REVISED_CONFIG)
revised_schema.app = REVISED_APP
install_auth(revised_schema, Credentials(**DEMO))
install_window_steering(revised_schema, anchor=datetime(2026, 11, 27, 12, 0, 0))


@pytest.fixture
def revised_rules(monkeypatch: pytest.MonkeyPatch) -> None:
    """The business-rule checks read times as the revised profile prints them."""
    monkeypatch.setattr(hooks.RULES, "read_time", REVISED.read_time)


@revised_schema.parametrize()
@hsettings(suppress_health_check=list(HealthCheck), deadline=None)
def test_revised_operation_conforms(case: Any, revised_rules: None) -> None:
    case.call_and_validate()


class RevisedWorkflow(revised_schema.as_state_machine()):  # type: ignore[misc]
    """Stateful login -> getToken -> listCalls on the revised profile."""

    def validate_response(self, response: Any, case: Any, **kwargs: Any) -> None:
        previous, hooks.RULES.read_time = hooks.RULES.read_time, REVISED.read_time
        try:
            case.validate_response(response)
        finally:
            hooks.RULES.read_time = previous


RevisedWorkflow.TestCase.settings = hsettings(max_examples=10, stateful_step_count=6, deadline=None,
                                              suppress_health_check=list(HealthCheck))
TestRevisedWorkflow = RevisedWorkflow.TestCase


def test_revised_times_are_read_as_local_by_the_rules() -> None:
    """The window rule reads revised times as local wall-clock: with UTC reading, a page fails."""
    from mockpbx.conformance.rules import CallLogQuery, check_page
    client = REVISED_APP.test_client()
    token = client.post("/v1/auth/token", json={"api_key": "aaaaaaaa-bbbb-cccc-dddd-eeeeeeee"}).get_json()
    query = {"start_date": "2026-11-27 08:00:00", "end_date": "2026-11-27 09:00:00", "limit": 1000}
    response = client.get("/v1/call/log", query_string=query,
                          headers={"Authorization": f"Bearer {token['data']['token']}"})
    body, zone = response.get_json(), hooks.RULES.zone
    assert body["total"] > 0
    check_page(CallLogQuery.from_mapping(query), 200, body, zone, REVISED.read_time)
    with pytest.raises(AssertionError, match="outside the window"):
        check_page(CallLogQuery.from_mapping(query), 200, body, zone)


# The control API has its own contract and its own app: its fuzzing moves the clock, adds
# accounts and faults, which must not disturb the checks above.
CONTROL_CONFIG = schemathesis.Config.from_dict({
    **SEED,
    "generation": {"max-examples": 40, "database": "none"},
    "checks": {"positive_data_acceptance": {"expected-statuses": ["2xx", "400", "404", "409"]}},
})
CONTROL_APP = create_app(Settings.load({}, days=2, calls_per_day=20, seed=3),
                         clock=ControllableClock(start=NOW, frozen=True))
control_schema = schemathesis.openapi.from_path(control_contract_path(), config=CONTROL_CONFIG)
control_schema.app = CONTROL_APP


@control_schema.parametrize()
@hsettings(suppress_health_check=list(HealthCheck), deadline=None)
def test_control_operation_conforms(case: Any) -> None:
    case.call_and_validate()


def test_the_business_rule_checks_catch_a_broken_mock(monkeypatch: pytest.MonkeyPatch) -> None:
    """The custom checks can fail: with the 31-day rule off, a 32-day window is served and caught."""
    from datetime import timedelta

    from mockpbx.domain import window
    monkeypatch.setattr(window, "MAX_RANGE", timedelta(days=40))
    broken = schemathesis.openapi.from_path(contract_path(), config=CONFIG)
    broken.app = APP
    token = APP.test_client().post("/v1/auth/token", json={"api_key": "aaaaaaaa-bbbb-cccc-dddd-eeeeeeee"})
    case = broken["/v1/call/log"]["GET"].Case(
        query={"start_date": "2026-10-01 00:00:00", "end_date": "2026-11-02 00:00:00"},
        headers={"Authorization": f"Bearer {token.get_json()['data']['token']}"})
    with pytest.raises(BaseException) as failure:  # schemathesis raises an exception group
        case.call_and_validate()
    assert "call_log_window_rule" in str(failure.value)
    assert "over 31 days: expected 400, got 200" in str(failure.value)


def test_every_profile_is_fuzzed_here() -> None:
    """A new profile gets its own schemathesis block above (schema, app, parametrized test)."""
    from mockpbx.profiles import profile_names
    fuzzed = {"reference", "revised"}
    assert set(profile_names()) == fuzzed, f"add schemathesis tests for {set(profile_names()) - fuzzed}"
