"""Schemathesis over the contract, positive and negative, through the gate: one engine run per
step (examples, coverage of each operation, fuzzing, stateful), each within its share of the budget."""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from typing import Any

import schemathesis
from hypothesis import configuration
from schemathesis.engine import events

from mockpbx.conformance import hooks
from mockpbx.conformance.rules import TimeReader, read_utc
from mockpbx.verify.client import BudgetedClient
from mockpbx.verify.contract import MOCK_ONLY_TAGS, Contract
from mockpbx.verify.gate import Gate
from mockpbx.verify.options import VerifyOptions
from mockpbx.verify.results import Results, VerifyAborted
from mockpbx.verify.scenarios import collect_scenario

#: Statuses a schema-valid request may get: a valid-looking window over 31 days is refused by design.
POSITIVE_STATUSES = ["2xx", "400", "401"]
STATEFUL_STEPS = 6
#: Seconds between progress lines while schemathesis runs.
PROGRESS_EVERY = 5.0


@dataclass(frozen=True)
class Step:
    """One engine run: which phase, on which operation (None: all), and its weight in the budget."""

    label: str
    phase: str
    operation_id: str | None
    weight: float


def plan(contract: Contract) -> list[Step]:
    """Examples first, then coverage per operation (reads weigh double), fuzzing, stateful."""
    steps = [Step("examples", "examples", None, 1.0)]
    for operation in contract.operations:
        weight = 2.0 if operation.method == "GET" else 1.0
        steps.append(Step(f"coverage of {operation.operation_id}", "coverage", operation.operation_id, weight))
    steps += [Step("fuzzing", "fuzzing", None, 2.0), Step("stateful", "stateful", None, 2.0)]
    return steps


def _config(options: VerifyOptions, step: Step, allowance: int, operations: int) -> schemathesis.Config:
    """An explicit config (so no schemathesis.toml is discovered) for one step."""
    examples = max(2, allowance // (3 * operations)) if step.phase == "fuzzing" else max(2, allowance // 12)
    phases: dict[str, Any] = {name: {"enabled": name == step.phase}
                              for name in ("examples", "coverage", "fuzzing", "stateful")}
    phases["stateful"]["max-steps"] = STATEFUL_STEPS
    if not options.probe_methods:
        phases["coverage"]["unexpected-methods"] = []
    data: dict[str, Any] = {
        "cache": {"enabled": False}, "seed": options.seed, "workers": 1, "continue-on-failure": True,
        "request-timeout": options.timeout, "phases": phases,
        "generation": {"max-examples": examples, "database": "none", "no-shrink": True},
        "checks": {"positive_data_acceptance": {"expected-statuses": POSITIVE_STATUSES},
                   "unsupported_method": {"enabled": options.probe_methods}},
    }
    if step.phase == "stateful":
        data.update(_credential_dictionaries(options))
    return schemathesis.Config.from_dict(data)


def _credential_dictionaries(options: VerifyOptions) -> dict[str, Any]:
    """Steer stateful logins to the real credentials often, so that the links are followed."""
    credentials = options.credentials
    values = {"username": credentials.username, "password": credentials.password, "api_key": credentials.api_key}
    given = {name: value for name, value in values.items() if value}
    return {"dictionaries": {f"verify_{name}": {"values": [value]} for name, value in given.items()},
            "parameters": {f"body.{name}": {"dictionary": f"verify_{name}", "probability": 0.7} for name in given}}


def _schema(options: VerifyOptions, step: Step, allowance: int, contract: Contract, url: str) -> Any:
    """The contract as a schemathesis schema for one step, pointed at the gate."""
    config = _config(options, step, allowance, len(contract.operations))
    schema: Any = schemathesis.openapi.from_dict(contract.document, config=config)
    schema.config.update(base_url=url)
    hooks.install_auth(schema, options.credentials)
    hooks.install_window_steering(schema, anchor=options.window_end)
    for tag in sorted(MOCK_ONLY_TAGS):
        schema = schema.exclude(tag=tag)
    if step.operation_id is not None:
        schema = schema.include(operation_id=step.operation_id)
    return schema


@contextmanager
def _private_hypothesis_home() -> Iterator[None]:
    """Keep hypothesis's files (e.g. its constants cache) out of the user's current directory."""
    previous = getattr(configuration, "__hypothesis_home_directory", None)
    with tempfile.TemporaryDirectory(prefix="mockpbx-verify-") as home:
        configuration.set_hypothesis_home_dir(home)
        try:
            yield
        finally:
            configuration.set_hypothesis_home_dir(previous)


def run_fuzz(options: VerifyOptions, contract: Contract, client: BudgetedClient, results: Results,
             progress: Callable[[str], None], read_time: TimeReader = read_utc) -> None:
    """Run every step with its share of what is left of the budget (times read by `read_time`)."""
    steps = plan(contract)
    previous_zone, hooks.RULES.zone = hooks.RULES.zone, options.zone
    previous_reader, hooks.RULES.read_time = hooks.RULES.read_time, read_time
    try:
        with _private_hypothesis_home(), Gate(client, contract, probe_methods=options.probe_methods) as gate:
            for index, step in enumerate(steps):
                if client.remaining <= 0 or client.stop_reason:
                    why = "the run stopped early" if client.stop_reason else "the request budget is spent"
                    results.notes.append(f"schemathesis did not run {step.label} and later steps: {why}")
                    break
                weights = sum(s.weight for s in steps[index:])
                allowance = max(1, int(client.remaining * step.weight / weights))
                progress(f"schemathesis: {step.label} (up to {allowance} requests)")
                gate.open(allowance, step.label)
                schema = _schema(options, step, allowance, contract, gate.url)
                _run_step(schema, gate, client, results, partial(progress, f"schemathesis: {step.label} ..."))
            results.not_sent = gate.blocked
            if gate.blocked:
                results.notes.append(f"{gate.blocked} requests outside the contract were not sent "
                                     "(use --probe-methods to send undeclared methods)")
    finally:
        hooks.RULES.zone, hooks.RULES.read_time = previous_zone, previous_reader


def _run_step(schema: Any, gate: Gate, client: BudgetedClient, results: Results,
              tick: Callable[[], None]) -> None:
    """Drive one engine run, stopping it as soon as the gate closes."""
    stream = schemathesis.engine.from_schema(schema).execute()
    shown = time.monotonic()
    for event in stream:
        if gate.closed.is_set():
            stream.stop()
        if time.monotonic() - shown > PROGRESS_EVERY:
            tick()
            shown = time.monotonic()
        if isinstance(event, (events.ScenarioFinished, events.FuzzScenarioFinished)):
            collect_scenario(event.recorder, client, results)
        elif isinstance(event, events.NonFatalError) and not gate.closed.is_set():
            results.note_error(f"schemathesis error in {event.label}: {event.info.title}: {event.info.message}")
        elif isinstance(event, events.FatalError):
            raise VerifyAborted(f"schemathesis could not run: {event.exception}")
