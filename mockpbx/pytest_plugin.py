"""pytest fixtures for testing PBX clients against mockpbx (registered as the `mockpbx` plugin).

- `mockpbx_settings` (session): settings of the live server; override it in your conftest.py.
- `mockpbx_server` (session): a real server on 127.0.0.1, or the one at `--mockpbx-url` /
  `MOCKPBX_URL` (e.g. a CI service container).
- `mockpbx` (per test): that server, reset to its start-up state.
- `mockpbx_app` / `mockpbx_client`: an in-process Flask app and its test client.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

from mockpbx.testing import MockPBX


def pytest_addoption(parser: pytest.Parser) -> None:
    """`--mockpbx-url`: use a running mockpbx instead of starting one."""
    group = parser.getgroup("mockpbx")
    group.addoption("--mockpbx-url", default=None, help="URL of a running mockpbx (default: start one). "
                                                        "Env MOCKPBX_URL.")


@pytest.fixture(scope="session")
def mockpbx_settings() -> dict[str, Any]:
    """Settings of the session's server; override to change seed, days, token_lifetime, profile..."""
    return {"days": 30, "calls_per_day": 200}


@pytest.fixture(scope="session")
def mockpbx_server(request: pytest.FixtureRequest, mockpbx_settings: dict[str, Any]) -> Iterator[MockPBX]:
    """A mockpbx for the whole session."""
    url = request.config.getoption("--mockpbx-url") or os.environ.get("MOCKPBX_URL")
    token = os.environ.get("MOCKPBX_CONTROL_TOKEN")
    server = MockPBX(url, control_token=token) if url else MockPBX(**mockpbx_settings)
    with server:
        yield server


@pytest.fixture
def mockpbx(mockpbx_server: MockPBX) -> MockPBX:
    """The session's mockpbx, reset: start-up data and clock, no faults, an empty journal."""
    mockpbx_server.reset()
    return mockpbx_server


@pytest.fixture
def mockpbx_app(mockpbx_settings: dict[str, Any]) -> Any:
    """An in-process Flask app of the mock (no socket)."""
    from mockpbx.settings import Settings
    from mockpbx.web.app import create_app
    return create_app(Settings.load({}, **mockpbx_settings))


@pytest.fixture
def mockpbx_client(mockpbx_app: Any) -> Any:
    """A Flask test client of `mockpbx_app`."""
    return mockpbx_app.test_client()
