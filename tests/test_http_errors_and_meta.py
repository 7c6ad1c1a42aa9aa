"""Every error is JSON (never HTML, never a 500); probes; the contract is what the app serves."""

from __future__ import annotations

import json

import pytest
import yaml
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings, strategies as st

from mockpbx.domain import window
from mockpbx.resources import contract_path, control_contract_path, load_contract

from tests.contract import assert_conforms


@pytest.mark.parametrize("method, path, status", [
    ("GET", "/nope", 404), ("GET", "/v1", 404), ("GET", "/v1/call/logs", 404), ("POST", "/", 404),
    ("DELETE", "/v1/auth", 405), ("GET", "/v1/auth", 405), ("PUT", "/v1/auth/token", 405),
    ("POST", "/v1/call/log", 405), ("PATCH", "/v1/call/log", 405), ("OPTIONS", "/v1/call/log", 405),
    ("TRACE", "/v1/auth", 405), ("POST", "/healthz", 405),
])
def test_unknown_paths_and_methods_are_json(client: FlaskClient, method: str, path: str, status: int) -> None:
    response = client.open(path, method=method)
    assert response.status_code == status
    assert response.mimetype == "application/json" and set(response.get_json()) == {"error"}
    if status == 405:
        assert response.headers["Allow"] and "OPTIONS" not in response.headers["Allow"]
        assert f"method {method} not allowed" in response.get_json()["error"]


def test_405_lists_the_allowed_methods(client: FlaskClient) -> None:
    response = client.delete("/v1/call/log")
    assert set(response.headers["Allow"].split(", ")) == {"GET", "HEAD"}
    assert client.delete("/v1/auth").headers["Allow"] == "POST"


def test_health(client: FlaskClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200 and response.get_json()["status"] == "ok"
    assert_conforms("health", response)


def test_the_served_contract_is_the_file_with_this_host_as_its_first_server(client: FlaskClient) -> None:
    """(Before: the servers said 127.0.0.1:8080 whatever port the mock ran on, so a generator or a
    tool reading /openapi.json called the wrong port.)"""
    here = {"url": "http://127.0.0.1:18999", "description": "this mockpbx, at the URL it was reached by"}
    as_json = client.get("/openapi.json", base_url=here["url"])
    document = as_json.get_json()
    assert as_json.mimetype == "application/json" and document["servers"][0] == here
    assert {**document, "servers": document["servers"][1:]} == load_contract()
    as_yaml = client.get("/openapi.yaml", base_url=here["url"])
    lines = as_yaml.get_data(as_text=True).splitlines(keepends=True)
    first = lines.index("servers:\n") + 1
    assert lines[first:first + 2] == [f"  - url: {here['url']}\n", f"    description: {here['description']}\n"]
    assert as_yaml.mimetype == "application/yaml"
    assert "".join(lines[:first] + lines[first + 2:]).encode() == contract_path().read_bytes()  # as written
    assert yaml.safe_load(as_yaml.get_data()) == document


def test_routes_are_exactly_the_contracts_operations(app: Flask) -> None:
    served = {(rule.rule, method) for rule in app.url_map.iter_rules() if rule.endpoint != "static"
              for method in rule.methods or () if method not in ("HEAD", "OPTIONS")}
    declared = {(path.replace("{fault_id}", "<int:fault_id>").replace("{name}", "<name>"), method.upper())
                for document in (load_contract(), load_contract(control_contract_path()))
                for path, item in document["paths"].items() for method in item}
    assert served == declared


def test_the_contract_states_the_domain_rules() -> None:
    params = {p["name"]: p for p in load_contract()["paths"]["/v1/call/log"]["get"]["parameters"]}
    assert params["limit"]["schema"]["minimum"] == 1
    assert params["limit"]["schema"]["maximum"] == window.LIMIT_MAX
    assert params["limit"]["schema"]["default"] == window.LIMIT_DEFAULT
    assert params["offset"]["schema"]["maximum"] == window.OFFSET_MAX
    assert params["source"]["schema"]["maxLength"] == window.SOURCE_MAX_LENGTH
    examples = load_contract()["paths"]["/v1/call/log"]["get"]["responses"]["400"]["content"]["application/json"]
    assert examples["examples"]["rangeTooLong"]["value"] == {"error": window.RANGE_TOO_LONG}


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(method=st.sampled_from(["GET", "POST", "PUT", "DELETE", "HEAD"]),
       path=st.sampled_from(["/v1/auth", "/v1/auth/token", "/v1/call/log", "/healthz", "/x"]),
       query=st.dictionaries(st.sampled_from(["start_date", "end_date", "limit", "offset", "source", "zz"]),
                             st.text(max_size=30), max_size=5),
       body=st.one_of(st.binary(max_size=200), st.text(max_size=200).map(str.encode),
                      st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=20),
                                   lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=8), c, max_size=3),
                                   max_leaves=8).map(lambda v: json.dumps(v).encode())),
       content_type=st.sampled_from(["application/json", "text/plain", "", "application/json; charset=latin-1"]),
       auth=st.sampled_from([None, "Bearer x", "Bearer", "", "Basic a"]))
def test_no_input_gets_a_500_or_html(client: FlaskClient, method: str, path: str, query: dict[str, str],
                                     body: bytes, content_type: str, auth: str | None) -> None:
    headers = {"Authorization": auth} if auth is not None else {}
    response = client.open(path, method=method, query_string=query, data=body,
                           content_type=content_type or None, headers=headers)
    assert response.status_code < 500
    if method != "HEAD":
        assert response.mimetype == "application/json"
        json.loads(response.get_data())
