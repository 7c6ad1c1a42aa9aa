"""Shared fixtures: a settings object with small, fast data and an app built from it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import os

import pytest
from flask import Flask
from hypothesis import settings as hypothesis_settings
from flask.testing import FlaskClient

from mockpbx.clock import ControllableClock
from mockpbx.settings import Settings
from mockpbx.web.app import create_app

# In CI, property tests and fuzzing run a fixed set of examples, so that a landing never depends on
# luck; locally they explore new ones each run.
hypothesis_settings.register_profile("ci", derandomize=True, database=None)
if os.environ.get("CI"):
    hypothesis_settings.load_profile("ci")

DEMO = {"username": "foo@test.tel4vn.com", "password": "foo123"}
DEMO_API_KEY = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeee"
DEMO_DOMAIN = "dddddddd-1111-2222-3333-eeeeeeee"
OTHER = {"username": "bar@other.tel4vn.com", "password": "bar123"}
OTHER_API_KEY = "bbbbbbbb-cccc-dddd-eeee-ffffffff"
#: 2026-11-27 12:00:00 in Asia/Ho_Chi_Minh: tests run on a frozen clock.
NOW = 1795755600


@pytest.fixture
def clock() -> ControllableClock:
    return ControllableClock(start=NOW, frozen=True)


@pytest.fixture
def settings() -> Settings:
    return Settings.load({}, days=40, calls_per_day=120, seed=7)


@pytest.fixture
def app(settings: Settings, clock: ControllableClock) -> Flask:
    return create_app(settings, clock=clock)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def token_for(client: FlaskClient, api_key: str = DEMO_API_KEY) -> str:
    response = client.post("/v1/auth/token", json={"api_key": api_key})
    assert response.status_code == 200, response.get_data(as_text=True)
    return str(response.get_json()["data"]["token"])


@pytest.fixture
def bearer(client: FlaskClient) -> dict[str, str]:
    return {"Authorization": f"Bearer {token_for(client)}"}


def call_log(client: FlaskClient, headers: dict[str, str], **query: Any) -> Any:
    return client.get("/v1/call/log", query_string=query, headers=headers)


@pytest.fixture
def env_clean(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    import os
    for name in list(os.environ):
        if name.startswith("MOCKPBX_"):
            monkeypatch.delenv(name)
    yield
