"""`mockpbx verify --profile auto|reference|revised`: auto names the profile the host speaks and
checks it by that profile's contract and rules; a host that fits none is named field by field."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from werkzeug.wrappers import Request, Response

from mockpbx.profiles import get_profile
from mockpbx.verify.detect import detect
from tests.verify.broken import TOKEN, Rewrite, serve, small_mock
from tests.verify.run import run_verify


@pytest.mark.parametrize("profile", ["reference", "revised"])
def test_auto_detects_each_profile_and_passes(profile: str, tmp_path: Path) -> None:
    with serve(small_mock(profile=profile)) as url:
        outcome = run_verify(url, tmp_path)
    assert outcome.code == 0, outcome.out + outcome.err
    assert f"host speaks profile {profile}" in outcome.out
    assert outcome.report is not None and outcome.report["profile"]["checked_against"] == profile
    assert outcome.status("records_in_window") == "passed" and outcome.status("token_expiry") == "passed"
    if profile == "revised":
        assert "pbx-api.yaml (profile revised)" in outcome.out


def test_a_revised_host_checked_as_reference_is_not_conformant(tmp_path: Path) -> None:
    with serve(small_mock(profile="revised")) as url:
        outcome = run_verify(url, tmp_path, profile="reference")
    assert outcome.code == 1
    assert "checked against profile reference (as asked)" in outcome.out
    assert "the token response lacks expire_at" in outcome.out
    assert "records_in_window" in outcome.failed  # local-with-Z times read as UTC fall outside


def _extra_token_field(request: Request, response: Response) -> Response:
    if request.path == TOKEN and response.status_code == 200:
        body = json.loads(response.get_data())
        body["data"]["scope"] = "billing"
        response.set_data(json.dumps(body))
    return response


def test_a_host_that_fits_no_profile_is_checked_as_reference_with_the_fields_named(tmp_path: Path) -> None:
    with serve(Rewrite(small_mock(), answer=_extra_token_field)) as url:
        outcome = run_verify(url, tmp_path)
    assert outcome.code == 1
    assert ("host fits no profile; checked against reference, which differs in: "
            "the token response has scope, not in the contract") in outcome.out


def test_detect_by_fields() -> None:
    reference_call = {"amount": 1, "destination": "x", "duration": 1, "end_time": "t", "source": "s",
                      "start_time": "t"}
    revised_call = {**reference_call, "id": 1, "uniqueid": "1.1"}
    revised_token = dict.fromkeys(["client_id", "expired_in", "refresh_token", "token", "token_type", "user_id"])
    assert detect({"expire_at": 1, "token": "t", "user_id": "u"}, reference_call).profile.name == "reference"
    assert detect(revised_token, revised_call).profile.name == "revised"
    assert detect(revised_token, None).profile.name == "revised"  # an empty first page
    mixed = detect({"expire_at": 1, "token": "t", "user_id": "u"}, revised_call)
    assert not mixed.fits and mixed.profile is get_profile("reference")
    assert mixed.differences == ("a call has id, uniqueid, not in the contract",)
