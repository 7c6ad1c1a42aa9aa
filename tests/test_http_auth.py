"""Login and token over HTTP (Flask test client), checked against the contract."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient

from mockpbx.clock import ControllableClock
from mockpbx.settings import Settings
from mockpbx.web.app import create_app

from tests.conftest import DEMO, DEMO_API_KEY, NOW, OTHER
from tests.contract import assert_conforms

SEED_ACCOUNT = {
    "user_uuid": "aaaaaaaa-1111-2222-3333-eeeeeeee",
    "domain_uuid": "dddddddd-1111-2222-3333-eeeeeeee",
    "username": "foo",
    "api_key": "aaaaaaaa-bbbb-cccc-dddd-eeeeeeee",
    "user_enabled": "true",
    "level": "admin",
}


def test_login_returns_the_seed_account_exactly(client: FlaskClient) -> None:
    response = client.post("/v1/auth", json=DEMO)
    assert response.status_code == 200
    assert response.get_json() == {"data": SEED_ACCOUNT}
    assert list(response.get_json()["data"]) == list(SEED_ACCOUNT)
    assert_conforms("login", response)


def test_second_account_is_another_tenant(client: FlaskClient) -> None:
    data = client.post("/v1/auth", json=OTHER).get_json()["data"]
    assert data["domain_uuid"] != SEED_ACCOUNT["domain_uuid"] and data["level"] == "user"


@pytest.mark.parametrize("body", [
    {"username": "foo@test.tel4vn.com", "password": "wrong"},
    {"username": "nobody@test.tel4vn.com", "password": "foo123"},
    {"username": "FOO@test.tel4vn.com", "password": "foo123"},
    {"username": "foo", "password": "foo123"},
])
def test_wrong_credentials_are_401(client: FlaskClient, body: dict[str, str]) -> None:
    response = client.post("/v1/auth", json=body)
    assert response.status_code == 401
    assert response.get_json() == {"error": "invalid username or password"}
    assert_conforms("login", response)


@pytest.mark.parametrize("body, message", [
    ({}, "username is required"),
    ({"username": "foo@test.tel4vn.com"}, "password is required"),
    ({"username": 5, "password": "foo123"}, "username must be a non-empty string"),
    ({"username": "foo@test.tel4vn.com", "password": ["foo123"]}, "password must be a non-empty string"),
    ({"username": "", "password": "x"}, "username must be a non-empty string"),
    ({"username": True, "password": None}, "username must be a non-empty string"),
    ({"username": "u" * 257, "password": "x"}, "username must be at most 256 characters"),
    ([], "the request body must be a JSON object"),
    ("foo", "the request body must be a JSON object"),
    (42, "the request body must be a JSON object"),
])
def test_missing_or_ill_typed_fields_are_400(client: FlaskClient, body: object, message: str) -> None:
    response = client.post("/v1/auth", json=body)
    assert response.status_code == 400
    assert response.get_json() == {"error": message}
    assert_conforms("login", response)


@pytest.mark.parametrize("raw", [b"null", b"", b"   ", b"{", b'{"username": "a",}', b"\xff\xfe\x00", b"[" * 100_000, b"NaN"])
def test_bodies_that_are_not_json_objects_are_400(client: FlaskClient, raw: bytes) -> None:
    response = client.post("/v1/auth", data=raw, content_type="application/json")
    assert response.status_code == 400, response.get_data(as_text=True)
    assert response.mimetype == "application/json" and "error" in response.get_json()


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data", ""])
def test_other_media_types_are_415(client: FlaskClient, content_type: str) -> None:
    response = client.post("/v1/auth", data='{"username": "a", "password": "b"}', content_type=content_type)
    assert response.status_code == 415
    assert response.get_json() == {"error": "Content-Type must be application/json"}
    assert_conforms("login", response)


def test_json_with_charset_and_json_suffix_types_are_accepted(client: FlaskClient) -> None:
    for content_type in ("application/json; charset=utf-8", "application/vnd.tel4vn+json"):
        response = client.post("/v1/auth", data='{"username": "foo@test.tel4vn.com", "password": "foo123"}',
                               content_type=content_type)
        assert response.status_code == 200


@pytest.mark.parametrize("path", ["/v1/auth", "/v1/auth/token"])
def test_bodies_over_1_mib_are_413(client: FlaskClient, path: str) -> None:
    response = client.post(path, data=b'{"x": "' + b"a" * (1024 * 1024) + b'"}', content_type="application/json")
    assert response.status_code == 413
    assert response.get_json() == {"error": "request body is larger than 1048576 bytes"}


def test_token_for_the_api_key(client: FlaskClient) -> None:
    response = client.post("/v1/auth/token", json={"api_key": DEMO_API_KEY})
    assert response.status_code == 200
    data = response.get_json()["data"]
    assert list(data) == ["expire_at", "token", "user_id"]
    assert data["expire_at"] == NOW + 3600 and data["user_id"] == SEED_ACCOUNT["user_uuid"]
    assert_conforms("getToken", response)


def test_token_lifetime_is_configurable() -> None:
    app = create_app(Settings.load({}, days=0, token_lifetime=90), clock=ControllableClock(start=NOW, frozen=True))
    data = app.test_client().post("/v1/auth/token", json={"api_key": DEMO_API_KEY}).get_json()["data"]
    assert data["expire_at"] == NOW + 90


@pytest.mark.parametrize("body, status, message", [
    ({"api_key": "nope"}, 401, "invalid api_key"),
    ({"api_key": DEMO_API_KEY.upper()}, 401, "invalid api_key"),
    ({}, 400, "api_key is required"),
    ({"api_key": 1}, 400, "api_key must be a non-empty string"),
    (["x"], 400, "the request body must be a JSON object"),
])
def test_token_errors(client: FlaskClient, body: object, status: int, message: str) -> None:
    response = client.post("/v1/auth/token", json=body)
    assert (response.status_code, response.get_json()) == (status, {"error": message})
    assert_conforms("getToken", response)


def test_instances_with_the_same_seed_accept_each_others_tokens() -> None:
    def app(seed: int, secret: str | None = None) -> FlaskClient:
        settings = Settings.load({}, days=0, seed=seed, jwt_secret=secret)
        return create_app(settings, clock=ControllableClock(start=NOW, frozen=True)).test_client()

    token = app(5).post("/v1/auth/token", json={"api_key": DEMO_API_KEY}).get_json()["data"]["token"]
    query = {"start_date": "2021-06-01 00:00:00", "end_date": "2021-06-02 00:00:00"}
    headers = {"Authorization": f"Bearer {token}"}
    assert app(5).get("/v1/call/log", query_string=query, headers=headers).status_code == 200
    assert app(6).get("/v1/call/log", query_string=query, headers=headers).status_code == 401
    shared = app(1, "team-secret").post("/v1/auth/token", json={"api_key": DEMO_API_KEY}).get_json()["data"]
    other = app(2, "team-secret").get("/v1/call/log", query_string=query,
                                      headers={"Authorization": f"Bearer {shared['token']}"})
    assert other.status_code == 200
