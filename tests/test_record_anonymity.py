"""What `mockpbx record` writes holds no real number and no secret: keyed pseudonyms of the same
class and length, never colliding; a revised-profile host is read into true UTC."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from faker import Faker
from werkzeug.wrappers import Request, Response

from mockpbx.data.phones import VietnamPhoneProvider
from mockpbx.domain.numbering import MOBILE_PREFIXES
from mockpbx.record.pseudonyms import PseudonymError, number_class, pseudonymise
from mockpbx.record.shape import detect_profile
from mockpbx.testing import MockPBX
from tests.record.source import (
    API_KEY,
    DOMAIN_UUID,
    LOGIN,
    PASSWORD,
    SOURCES,
    USER_UUID,
    WINDOWS,
    WSGIApp,
    listing,
    run_record,
    source_app,
    source_host,
    source_token,
)
from tests.verify.broken import Rewrite

ZONE = ZoneInfo("Asia/Ho_Chi_Minh")
CARRIER = {prefix: carrier for carrier, prefixes in MOBILE_PREFIXES.items() for prefix in prefixes}


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> WSGIApp:
    return source_app(tmp_path_factory.mktemp("source"))


@pytest.fixture(scope="module")
def source(app: WSGIApp) -> Iterator[str]:
    with source_host(app) as (url, _):
        yield url


def _real_numbers(url: str) -> set[str]:
    pbx = MockPBX(url)
    token = source_token(pbx)
    numbers = set(SOURCES) | {"0123456789", "18001234"}
    for start, end in WINDOWS:
        numbers |= {c[f] for c in listing(pbx, token, start, end)[1] for f in ("source", "destination")}
    return numbers


def test_the_file_holds_no_real_number_and_no_secret(app: WSGIApp, tmp_path: Path) -> None:
    with source_host(app) as (url, recording):
        outcome = run_record(url, tmp_path / "recorded.json")
        real = _real_numbers(url)
    text = outcome.path.read_text(encoding="utf-8")
    assert outcome.code == 0 and len(real) > 500
    assert [n for n in real if f'"{n}"' in text] == []
    assert len(recording.tokens) >= 2
    for secret in (PASSWORD, API_KEY, *recording.tokens, "a-fixed-test-salt", LOGIN, "alice", USER_UUID, DOMAIN_UUID):
        for shown in (text, outcome.out, outcome.err):
            assert secret not in shown


def test_pseudonyms_keep_class_and_length_and_never_collide() -> None:
    fake = Faker("vi_VN")
    fake.add_provider(VietnamPhoneProvider)
    fake.seed_instance(11)
    real = {fake.vn_destination_number() for _ in range(3000)} | {fake.vn_trunk_number() for _ in range(50)}
    real |= {"0123456789", "101", "+84971234567", "84283001234", "sip:0912345678@pbx", "anonymous", "*9"}
    mapping = pseudonymise(real, b"test key")
    assert set(mapping) == real
    assert len(set(mapping.values())) == len(real)
    for number, pseudonym in mapping.items():
        assert len(pseudonym) == len(number) and number_class(pseudonym) == number_class(number)
        if number_class(number) == "mobile":  # the same carrier
            assert CARRIER[pseudonym[:3]] == CARRIER[number[:3]]
        if number_class(number) == "fixed":
            code = 3 if number[:3] in ("024", "028") else 4
            assert pseudonym[:code] == number[:code]
    kept = {n for n, p in mapping.items() if n == p}
    assert kept == {"anonymous", "*9"}  # too few digits to be a phone number
    assert not (set(mapping.values()) - kept) & real
    assert mapping["+84971234567"].startswith("+84") and number_class(mapping["+84971234567"]) == "mobile (+84)"
    assert mapping["sip:0912345678@pbx"].startswith("sip:") and mapping["sip:0912345678@pbx"].endswith("@pbx")


def test_pseudonyms_depend_on_the_key_and_are_stable_for_it() -> None:
    numbers = ["0971234567", "02873001234", "18001234", "1900123456"]
    first, again, other = (pseudonymise(numbers, key) for key in (b"key one", b"key one", b"key two"))
    assert first == again
    assert all(first[n] != other[n] for n in numbers)


def test_crowded_classes_resolve_collisions() -> None:
    real = {f"1800{i:04d}" for i in range(0, 10_000, 3)}  # a third of all 8-digit 1800 numbers
    mapping = pseudonymise(real, b"crowded")
    assert len(set(mapping.values())) == len(real) and not set(mapping.values()) & real


def test_a_class_with_no_free_pseudonym_is_an_error_that_names_no_number() -> None:
    with pytest.raises(PseudonymError) as caught:
        pseudonymise({f"0{i:02d}" for i in range(100)}, b"full")
    assert str(caught.value) == "no free pseudonym for a other number of 3 characters after 1000 draws"


def _revised(request: Request, response: Response) -> Response:
    """The reference answers in the vendor's revised shape: local wall-clock times with Z, id, uniqueid."""
    if response.status_code != 200 or request.path not in ("/v1/auth/token", "/v1/call/log"):
        return response
    body = json.loads(response.get_data())
    if request.path == "/v1/auth/token":
        data = body["data"]
        body["data"] = {"client_id": DOMAIN_UUID, "expired_in": 15483776, "refresh_token": "",
                        "token": data["token"], "token_type": "Bearer", "user_id": "1"}
    else:
        for index, call in enumerate(body["data"]):
            start = datetime.fromisoformat(call["start_time"])
            call["uniqueid"] = f"{int(start.timestamp()) - 20}.{index}"
            call["id"] = index + 1
            for field in ("start_time", "end_time"):
                moment = datetime.fromisoformat(call[field]).astimezone(ZONE)
                call[field] = moment.strftime("%Y-%m-%dT%H:%M:%SZ")
    response.set_data(json.dumps(body))
    return response


def test_a_revised_host_is_recorded_in_true_utc(app: WSGIApp, source: str, tmp_path: Path) -> None:
    reference = run_record(source, tmp_path / "reference.json").document
    with source_host(Rewrite(app, answer=_revised)) as (url, _):
        revised = run_record(url, tmp_path / "revised.json").document
    assert revised["recording"]["profile"] == "revised"
    assert revised["calls"] == reference["calls"]


def test_no_anonymize_keeps_the_numbers_and_warns(source: str, tmp_path: Path) -> None:
    outcome = run_record(source, tmp_path / "raw.json", anonymize=False, salt=None)
    document: dict[str, Any] = outcome.document
    assert outcome.code == 0
    assert outcome.err.startswith("warning: --no-anonymize: the file will hold the host's real phone numbers")
    assert {c["source"] for c in document["calls"]} <= set(SOURCES)
    assert document["recording"]["anonymized"] is False and document["recording"]["salt"] is None
    assert "numbers NOT anonymised" in outcome.out


@pytest.mark.parametrize("token, calls, profile", [
    ({"expire_at": 1, "user_id": "u"}, [{"amount": 1, "source": "s"}], "reference"),
    ({"client_id": "c", "expired_in": 1, "token_type": "Bearer", "user_id": "1"}, [], "revised"),
    ({}, [{"id": 42, "uniqueid": "1622815952.3252", "amount": 285}], "revised"),
    ({}, [], "reference"),
])
def test_the_profile_is_told_from_the_token_and_the_first_calls(token: dict[str, object], calls: list[object],
                                                                 profile: str) -> None:
    assert detect_profile(token, calls) == profile
