"""Tokens: HS256 JWTs, expiry judged by the mock's clock, forgeries refused."""

from __future__ import annotations

import base64
import json
import warnings

import jwt
import pytest

from mockpbx.clock import ControllableClock
from mockpbx.domain.accounts import Account
from mockpbx.domain.errors import AuthenticationError
from mockpbx.domain.tokens import TokenIssuer, signing_key

ACCOUNT = Account("foo@test.tel4vn.com", "foo123", "user-1", "domain-1", "foo", "key-1")


KEY = signing_key("s3cret")


@pytest.fixture
def clock() -> ControllableClock:
    return ControllableClock(start=1_700_000_000, frozen=True)


def test_token_carries_expiry_in_unix_seconds(clock: ControllableClock) -> None:
    issued = TokenIssuer("s3cret", 3600, clock).issue(ACCOUNT)
    assert issued.expire_at == 1_700_003_600 and issued.user_id == "user-1"
    assert jwt.get_unverified_header(issued.token)["alg"] == "HS256"


def test_token_is_valid_until_expire_at_by_the_mock_clock(clock: ControllableClock) -> None:
    issuer = TokenIssuer("s3cret", 60, clock)
    issued = issuer.issue(ACCOUNT)
    clock.advance(59)
    assert issuer.verify(issued.token).domain_uuid == "domain-1"
    clock.advance(1)
    with pytest.raises(AuthenticationError, match="token expired"):
        issuer.verify(issued.token)


def test_instances_sharing_a_secret_accept_each_others_tokens(clock: ControllableClock) -> None:
    token = TokenIssuer("shared", 60, clock).issue(ACCOUNT).token
    assert TokenIssuer("shared", 60, ControllableClock(start=1_700_000_010)).verify(token).user_uuid == "user-1"
    with pytest.raises(AuthenticationError, match="invalid token"):
        TokenIssuer("other", 60, clock).verify(token)


def _b64(data: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


@pytest.mark.parametrize("forge", ["none", "hs512", "tampered", "garbage", "empty_sig", "missing_exp", "wrong_iss"])
def test_forged_tokens_are_refused(clock: ControllableClock, forge: str) -> None:
    issuer = TokenIssuer("s3cret", 60, clock)
    claims = {"iss": "mockpbx", "sub": "user-1", "dom": "domain-1", "iat": 1_700_000_000, "exp": 1_700_000_060}
    genuine = issuer.issue(ACCOUNT).token
    with warnings.catch_warnings():  # PyJWT warns that a 32-byte key is short for HS512: that is the point
        warnings.simplefilter("ignore", jwt.warnings.InsecureKeyLengthWarning)
        hs512 = jwt.encode(claims, KEY, algorithm="HS512")
    token = {
        "none": f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(claims)}.",
        "hs512": hs512,
        "tampered": ".".join([genuine.split(".")[0], _b64({**claims, "dom": "domain-2"}), genuine.split(".")[2]]),
        "garbage": "eyJhbGciOiJSU0EtT0FFUC0yNTYiLCJlbmMiOiJBMjU2R0NNIiwiaWF0IjoxNjEzNjMyNzc4fQ.dGhpcyBpcyB0ZXN0IGRhdGE=",
        "empty_sig": genuine.rsplit(".", 1)[0] + ".",
        "missing_exp": jwt.encode({k: v for k, v in claims.items() if k != "exp"}, KEY, algorithm="HS256"),
        "wrong_iss": jwt.encode({**claims, "iss": "someone"}, KEY, algorithm="HS256"),
    }[forge]
    with pytest.raises(AuthenticationError, match="invalid token"):
        issuer.verify(token)


def test_a_token_signed_with_the_right_key_and_claims_is_accepted(clock: ControllableClock) -> None:
    claims = {"iss": "mockpbx", "sub": "user-1", "dom": "domain-1", "iat": 1_700_000_000, "exp": 1_700_000_060}
    assert TokenIssuer("s3cret", 60, clock).verify(jwt.encode(claims, KEY, algorithm="HS256")).user_uuid == "user-1"


@pytest.mark.parametrize("junk", ["", ".", "a.b.c", "\x00", "é.é.é", "x" * 5000, "Bearer"])
def test_junk_is_refused_cleanly(clock: ControllableClock, junk: str) -> None:
    with pytest.raises(AuthenticationError):
        TokenIssuer("s3cret", 60, clock).verify(junk)


def test_issuer_rejects_unusable_settings(clock: ControllableClock) -> None:
    with pytest.raises(ValueError):
        TokenIssuer("", 60, clock)
    with pytest.raises(ValueError):
        TokenIssuer("s", 0, clock)


def test_reprs_do_not_leak_secrets(clock: ControllableClock) -> None:
    issued = TokenIssuer("s3cret", 60, clock).issue(ACCOUNT)
    assert issued.token not in repr(issued)
    assert "foo123" not in repr(ACCOUNT) and "key-1" not in repr(ACCOUNT)
