"""Fixture files: the default data, user files, and clear messages for bad ones."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from mockpbx.data.fixtures import load_fixtures
from mockpbx.domain.errors import DataError
from mockpbx.resources import default_fixtures_path


def write(tmp_path: Path, document: Any) -> Path:
    path = tmp_path / "fixtures.json"
    path.write_text(document if isinstance(document, str) else json.dumps(document), encoding="utf-8")
    return path


ACCOUNT = {"login": "a@x", "password": "p", "user_uuid": "u1", "domain_uuid": "d1", "username": "a", "api_key": "k1"}


def test_default_fixtures_hold_the_seed_account_and_samples() -> None:
    fixtures = load_fixtures(default_fixtures_path())
    foo = next(a for a in fixtures.accounts if a.login == "foo@test.tel4vn.com")
    assert (foo.password, foo.user_uuid, foo.domain_uuid, foo.username, foo.api_key, foo.level) == (
        "foo123", "aaaaaaaa-1111-2222-3333-eeeeeeee", "dddddddd-1111-2222-3333-eeeeeeee", "foo",
        "aaaaaaaa-bbbb-cccc-dddd-eeeeeeee", "admin")
    assert len({a.domain_uuid for a in fixtures.accounts}) == 2
    amounts = sorted(c.amount for d, c in fixtures.calls if d == foo.domain_uuid)
    assert amounts == [285, 1600]


def test_a_minimal_user_file(tmp_path: Path) -> None:
    fixtures = load_fixtures(write(tmp_path, {"accounts": [ACCOUNT], "calls": [
        {"domain_uuid": "d1", "source": "s", "destination": "0971234567", "start_time": "2024-01-01T08:00:00+07:00",
         "end_time": "2024-01-01T08:01:00+07:00"}]}))
    (domain, call), = fixtures.calls
    assert domain == "d1" and call.duration == 60 and call.amount == 800 and call.start_time == 1704070800
    assert fixtures.domain_specs()[0].generate is True


@pytest.mark.parametrize("document, message", [
    ("{not json", "fixtures.json: not valid JSON at line 1 column 2"),
    ("[" * 100_000 + "]" * 100_000, "fixtures.json: not valid JSON for mockpbx: arrays or objects nested too deeply"),
    ('{"accounts": [{"login": "\\udc00"}]}', "fixtures.json: not valid JSON: it holds a \\uD800-\\uDFFF escape "
                                            "that is not half of a surrogate pair"),
    ([], "fixtures.json: the file must hold a JSON object"),
    ({"format": "other/9"}, "fixtures.json: format: expected 'mockpbx-fixtures/1'"),
    ({"accounts": {}}, "fixtures.json: accounts: must be a list"),
    ({"accounts": [{**ACCOUNT, "api_key": 5}]}, "fixtures.json: accounts[0]: api_key must be a non-empty string"),
    ({"accounts": [ACCOUNT, {**ACCOUNT, "login": "b@x", "user_uuid": "u2"}]},
     "fixtures.json: accounts[1]: another account already has this api_key"),
    ({"accounts": [{**ACCOUNT, "level": "root"}]}, "fixtures.json: accounts[0]: level must be one of"),
    ({"accounts": [ACCOUNT], "domains": [{"domain_uuid": "d1", "sources": "0971234567"}]},
     "fixtures.json: domains[0]: sources must be a list"),
    ({"accounts": [ACCOUNT], "calls": [{"domain_uuid": "d9", "source": "s", "destination": "d",
                                        "start_time": "2024-01-01T00:00:00Z", "duration": 1}]},
     "fixtures.json: calls[0]: domain_uuid must name a domain"),
    ({"accounts": [ACCOUNT], "calls": [{"domain_uuid": "d1", "source": "s", "destination": "d",
                                        "start_time": "2024-01-01 00:00:00", "duration": 1}]},
     "fixtures.json: calls[0]: start_time must be an RFC 3339 time"),
    ({"accounts": [ACCOUNT], "calls": [{"domain_uuid": "d1", "source": "s", "destination": "d",
                                        "start_time": "2024-02-30T00:00:00Z", "duration": 1}]},
     "fixtures.json: calls[0]: start_time is not a real date"),
    ({"accounts": [ACCOUNT], "calls": [{"domain_uuid": "d1", "source": "s", "destination": "d",
                                        "start_time": "2024-01-01T00:00:00Z", "duration": 5,
                                        "end_time": "2024-01-01T00:00:09Z"}]},
     "fixtures.json: calls[0]: duration 5 disagrees with end_time - start_time = 9"),
    ({"accounts": [ACCOUNT], "calls": [{"domain_uuid": "d1", "source": "s", "destination": "d",
                                        "start_time": "2024-01-01T00:00:00Z", "duration": -1}]},
     "fixtures.json: calls[0]: duration must be an integer"),
    ({"accounts": [ACCOUNT], "calls": [{"domain_uuid": "d1", "source": "s", "destination": "d",
                                        "start_time": "2024-01-01T00:00:00Z"}]},
     "fixtures.json: calls[0]: duration (or end_time) is required"),
    ({"accounts": [ACCOUNT], "calls": [{"domain_uuid": "d1", "source": "s", "destination": "d",
                                        "start_time": "1969-12-31T23:59:59Z", "duration": 1}]},
     "fixtures.json: calls[0]: start_time must be from 1970 on"),
])
def test_bad_files_name_the_file_the_record_and_the_problem(tmp_path: Path, document: Any, message: str) -> None:
    with pytest.raises(DataError) as error:
        load_fixtures(write(tmp_path, document))
    assert str(error.value).startswith(f"{tmp_path}/{message}"), str(error.value)


def test_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="cannot read the fixture file"):
        load_fixtures(tmp_path / "absent.json")


@pytest.mark.parametrize("document, message", [
    ({"acounts": [ACCOUNT]}, "fixtures.json: (top level): unknown key 'acounts' (did you mean 'accounts'?)"),
    ({"accounts": [{**ACCOUNT, "apikey": "k2"}]},
     "fixtures.json: accounts[0]: unknown key 'apikey' (did you mean 'api_key'?)"),
    ({"accounts": [ACCOUNT], "domains": [{"domain_uuid": "d1", "calls_a_day": 5}]},
     "fixtures.json: domains[0]: unknown key 'calls_a_day' (did you mean 'calls_per_day'?)"),
    ({"accounts": [ACCOUNT], "calls": [{"domain_uuid": "d1", "source": "s", "destination": "d",
                                        "start_time": "2024-01-01T00:00:00Z", "duration": 1, "zzz": 0}]},
     "fixtures.json: calls[0]: unknown key 'zzz' (known keys: domain_uuid, source, destination, start_time, "
     "duration, end_time, amount)"),
])
def test_an_unknown_key_is_an_error_naming_it_and_the_nearest_known_key(tmp_path: Path, document: Any,
                                                                         message: str) -> None:
    with pytest.raises(DataError) as error:
        load_fixtures(write(tmp_path, document))
    assert str(error.value) == f"{tmp_path}/{message}"


def test_every_problem_of_a_file_is_reported_at_once_each_with_its_record_and_field(tmp_path: Path) -> None:
    call = {"domain_uuid": "d1", "source": "s", "destination": "d", "start_time": "2024-01-01T00:00:00Z"}
    document = {"accounts": [{**ACCOUNT, "level": "root"}, {**ACCOUNT, "login": "b@x", "user_uuid": "u2",
                                                            "api_key": "k2", "pasword": "x"}],
                "calls": [{**call, "duration": 1}, {**call, "duraton": 60}, {**call, "duration": 2, "amount": -5}]}
    with pytest.raises(DataError) as error:
        load_fixtures(write(tmp_path, document))
    assert str(error.value).splitlines() == [f"{tmp_path}/fixtures.json: {line}" for line in (
        "accounts[0]: level must be one of superadmin, admin, user, agent, public",
        "accounts[1]: unknown key 'pasword' (did you mean 'password'?)",
        "calls[1]: unknown key 'duraton' (did you mean 'duration'?)",
        "calls[1]: duration (or end_time) is required",
        "calls[2]: amount must be an integer from 0 to 1000000000000",
    )]  # calls of the rejected account's domain are not reported as knock-on errors


def test_the_problems_listed_are_capped(tmp_path: Path) -> None:
    bad = {"domain_uuid": "d1", "source": "s", "destination": "d", "start_time": "bad", "duration": 1}
    with pytest.raises(DataError) as error:
        load_fixtures(write(tmp_path, {"accounts": [ACCOUNT], "calls": [bad] * 30}))
    lines = str(error.value).splitlines()
    assert len(lines) == 21 and lines[19].endswith("calls[19]: start_time must be an RFC 3339 time with whole "
                                                   "seconds, e.g. 2021-06-01T13:02:13Z")
    assert lines[20] == f"{tmp_path}/fixtures.json: and 10 more problems (30 in all)"


def test_a_recording_read_in_another_time_zone_is_said_at_start_up(tmp_path: Path) -> None:
    """(Before: a recording made with `--timezone UTC` served other totals than recorded under the
    default zone, and nothing said why.)"""
    from mockpbx.backend import build_backend
    from mockpbx.settings import Settings
    path = tmp_path / "recorded.json"
    path.write_text(json.dumps({"format": "mockpbx-fixtures/1", "recording": {"timezone": "UTC"},
                                "accounts": [{"login": "a@x", "password": "p", "user_uuid": "u", "domain_uuid": "d",
                                              "username": "a", "api_key": "k"}],
                                "domains": [{"domain_uuid": "d", "generate": False}], "calls": []}))
    [warning] = build_backend(Settings.load({}, fixtures=str(path))).data_warnings()
    assert "reads windows in UTC" in warning and "start it with --timezone UTC" in warning
    assert build_backend(Settings.load({}, fixtures=str(path), timezone="UTC")).data_warnings() == []
    assert build_backend(Settings.load({})).data_warnings() == []
