"""API profiles: `reference` is today's shape, `revised` the vendor's later one; both from one module."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import yaml
from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient

from mockpbx import profiles
from mockpbx.cli import main
from mockpbx.clock import ControllableClock
from mockpbx.profiles import Profile, get_profile, merge_overlay, profile_names, register
from mockpbx.settings import Settings, SettingsError
from mockpbx.testing import MockPBX
from mockpbx.web.app import create_app
from tests.conftest import NOW, call_log, token_for
from tests.contract import assert_conforms

HCM = ZoneInfo("Asia/Ho_Chi_Minh")
WINDOW = {"start_date": "2026-11-26 00:00:00", "end_date": "2026-11-27 12:00:00", "limit": 1000}


def make_app(profile: str, clock: ControllableClock | None = None, **settings: object) -> Flask:
    values = {"days": 3, "calls_per_day": 120, "seed": 7, **settings}
    return create_app(Settings.load({}, profile=profile, **values),
                      clock=clock or ControllableClock(start=NOW, frozen=True))


def page(client: FlaskClient, **query: object) -> dict:  # type: ignore[type-arg]
    response = call_log(client, {"Authorization": f"Bearer {token_for(client)}"}, **{**WINDOW, **query})
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()  # type: ignore[no-any-return]


def test_reference_is_the_default_and_keeps_todays_shapes() -> None:
    assert Settings.load({}).profile == "reference" and profile_names()[0] == "reference"
    client = make_app("reference").test_client()
    token = client.post("/v1/auth/token", json={"api_key": "aaaaaaaa-bbbb-cccc-dddd-eeeeeeee"})
    assert set(token.get_json()["data"]) == {"expire_at", "token", "user_id"}
    body = page(client)
    assert set(body["data"][0]) == {"amount", "destination", "duration", "end_time", "source", "start_time"}
    assert_conforms("getToken", token)


def test_revised_token_has_the_revised_keys_and_lifetime() -> None:
    client = make_app("revised", token_lifetime=900).test_client()
    response = client.post("/v1/auth/token", json={"api_key": "aaaaaaaa-bbbb-cccc-dddd-eeeeeeee"})
    data = response.get_json()["data"]
    assert set(data) == {"client_id", "expired_in", "refresh_token", "token", "token_type", "user_id"}
    assert data["expired_in"] == 900 and data["refresh_token"] == "" and data["token_type"] == "Bearer"
    assert isinstance(data["user_id"], str) and data["user_id"]
    assert_conforms("getToken", response, "revised")
    with pytest.raises(AssertionError):  # the reference contract does not accept it
        assert_conforms("getToken", response, "reference")
    # the token works for the call log
    assert call_log(client, {"Authorization": f"Bearer {data['token']}"}, **WINDOW).status_code == 200


def test_revised_calls_print_local_time_with_z_and_gain_id_and_uniqueid() -> None:
    reference, revised = page(make_app("reference").test_client()), page(make_app("revised").test_client())
    assert reference["total"] == revised["total"] > 100
    for ref, rev in zip(reference["data"], revised["data"], strict=True):
        utc = datetime.strptime(ref["start_time"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
        assert rev["start_time"] == utc.astimezone(HCM).strftime("%Y-%m-%dT%H:%M:%SZ")
        assert {k: v for k, v in rev.items() if k not in ("id", "uniqueid", "start_time", "end_time")} == \
            {k: v for k, v in ref.items() if k not in ("start_time", "end_time")}
        seconds, _, sequence = rev["uniqueid"].partition(".")
        assert 5 <= utc.timestamp() - int(seconds) <= 40 and sequence.isdigit()
        assert isinstance(rev["id"], int) and 0 < rev["id"] < 2**53
    ids = [c["id"] for c in revised["data"]]
    assert len(set(ids)) == len(ids)


def test_revised_pages_conform_to_the_revised_contract() -> None:
    client = make_app("revised").test_client()
    response = call_log(client, {"Authorization": f"Bearer {token_for(client)}"}, **WINDOW)
    assert_conforms("listCalls", response, "revised")
    with pytest.raises(AssertionError):
        assert_conforms("listCalls", response, "reference")


def test_ids_are_stable_across_instances_and_when_the_clock_moves_far() -> None:
    clock = ControllableClock(start=NOW, frozen=True)
    first = make_app("revised", clock, days=5)
    before = {c["uniqueid"]: c["id"] for c in page(first.test_client())["data"]}
    clock.advance(2 * 86400)  # leaves the generated range: the days are generated again
    client = first.test_client()
    again = page(client)["data"]
    assert {c["uniqueid"]: c["id"] for c in again} == before
    other = {c["uniqueid"]: c["id"] for c in page(make_app("revised", days=5).test_client())["data"]}
    assert other == before


def test_explicit_calls_with_the_same_start_get_distinct_ids(client: FlaskClient) -> None:
    app = make_app("revised", days=0)
    client = app.test_client()
    call = {"source": "0899123456", "destination": "0971234567", "start_time": "2026-11-27T03:00:00Z", "duration": 61}
    body = {"username": "foo@test.tel4vn.com", "calls": [call, call, {**call, "duration": 5}]}
    assert client.post("/_mock/calls", json=body).status_code == 201
    first = page(client, start_date="2026-11-27 00:00:00", end_date="2026-11-27 12:00:00")["data"]
    assert len(first) == 3 and len({c["id"] for c in first}) == 3
    assert client.post("/_mock/calls", json={**body, "calls": [call]}).status_code == 201
    second = page(client, start_date="2026-11-27 00:00:00", end_date="2026-11-27 12:00:00")["data"]
    assert {c["id"] for c in first} < {c["id"] for c in second} and len({c["id"] for c in second}) == 4


@pytest.mark.parametrize("profile", ["reference", "revised"])
def test_openapi_serves_the_running_profiles_contract(profile: str) -> None:
    client = make_app(profile, days=0).test_client()
    document = client.get("/openapi.json").get_json()
    assert {**document, "servers": document["servers"][1:]} == get_profile(profile).contract()  # [0]: this host
    assert yaml.safe_load(client.get("/openapi.yaml").get_data()) == document
    token = document["components"]["schemas"]["Token"]["required"]
    assert ("expired_in" in token) == (profile == "revised")


def test_the_overlay_deep_merges_onto_the_base() -> None:
    base = {"a": {"b": 1, "c": [1, 2], "d": {"e": 1}}, "keep": True}
    assert merge_overlay(base, {"a": {"b": None, "c": [3], "d": {"f": 2}}, "new": "x"}) == \
        {"a": {"c": [3], "d": {"e": 1, "f": 2}}, "keep": True, "new": "x"}
    assert base == {"a": {"b": 1, "c": [1, 2], "d": {"e": 1}}, "keep": True}  # untouched
    revised = get_profile("revised").contract()
    reference = get_profile("reference").contract()
    # what the overlay does not mention comes from the base
    assert revised["paths"]["/v1/auth"] == reference["paths"]["/v1/auth"]
    assert revised["components"]["schemas"]["Error"] == reference["components"]["schemas"]["Error"]


def test_profile_is_a_setting_from_the_environment_and_arguments() -> None:
    assert Settings.load({"MOCKPBX_PROFILE": "revised"}).profile == "revised"
    assert Settings.load({"MOCKPBX_PROFILE": "revised"}, profile="reference").profile == "reference"
    with pytest.raises(SettingsError, match="MOCKPBX_PROFILE is not a profile: unknown profile 'v2'"):
        Settings.load({"MOCKPBX_PROFILE": "v2"})


def test_a_third_profile_is_one_registration(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(profiles, "PROFILES", dict(profiles.PROFILES))

    def numeric_token(issued):  # type: ignore[no-untyped-def]
        return {"token": issued.token, "ttl": issued.lifetime}

    register(Profile("ttl-only", "a token with a ttl", numeric_token, profiles.reference_call,
                     profiles.utc_time, profiles.read_utc_time))
    client = make_app("ttl-only", days=0, token_lifetime=60).test_client()
    response = client.post("/v1/auth/token", json={"api_key": "aaaaaaaa-bbbb-cccc-dddd-eeeeeeee"})
    assert set(response.get_json()["data"]) == {"token", "ttl"} and response.get_json()["data"]["ttl"] == 60
    with pytest.raises(ValueError, match="already registered"):
        register(get_profile("revised"))


def test_mockpbx_testing_takes_a_profile() -> None:
    with MockPBX(days=1, calls_per_day=20, profile="revised") as pbx:
        reply = pbx.request("POST", "/v1/auth/token", json_body={"api_key": "aaaaaaaa-bbbb-cccc-dddd-eeeeeeee"})
        assert reply.status == 200 and reply.body["data"]["token_type"] == "Bearer"
        assert pbx.request("GET", "/openapi.json").body["info"]["x-mockpbx-profile"] == "revised"


@pytest.mark.parametrize("form", ["yaml", "json"])
def test_contract_command_writes_the_resolved_contract(tmp_path: Path, form: str) -> None:
    import yaml
    target = tmp_path / f"revised.{form}"
    result = CliRunner().invoke(main, ["contract", "--profile", "revised", "-o", str(target), "--format", form])
    assert result.exit_code == 0, result.output
    loaded = json.loads(target.read_text()) if form == "json" else yaml.safe_load(target.read_text())
    assert loaded == get_profile("revised").contract()
    reference = CliRunner().invoke(main, ["contract"])
    assert yaml.safe_load(reference.output) == get_profile("reference").contract()
    bad = CliRunner().invoke(main, ["contract", "--profile", "v2"])
    assert bad.exit_code == 2 and "unknown profile 'v2'" in bad.output


@pytest.mark.parametrize("zone", ["Asia/Ho_Chi_Minh", "Europe/Berlin", "Australia/Lord_Howe", "Asia/Kathmandu"])
def test_local_z_times_are_exact_across_offset_changes(zone: str) -> None:
    """The per-quarter-hour offset memo prints what an exact conversion prints, DST changes included."""
    tz = ZoneInfo(zone)
    spring, autumn = 1711846800, 1729990800  # 2024-03-31 01:00Z and 2024-10-27 01:00Z (EU changes)
    moments = [t for centre in (spring, autumn, 1712415600, 1728144000)  # Lord Howe's April/October changes
               for t in range(centre - 5400, centre + 5400, 61)] + list(range(0, 2**31, 2**31 // 997))
    for moment in moments:
        assert profiles.local_z_time(moment, tz) == datetime.fromtimestamp(moment, tz).strftime("%Y-%m-%dT%H:%M:%SZ")
