"""The PBX billing service: the three operations, on plain Python values."""

from __future__ import annotations

from collections.abc import Mapping
from zoneinfo import ZoneInfo

from mockpbx.domain.accounts import Account, AccountBook
from mockpbx.domain.calllog import CallLog, CallPage
from mockpbx.domain.errors import AuthenticationError, InvalidRequestError
from mockpbx.domain.tokens import IssuedToken, Principal, TokenIssuer
from mockpbx.domain.window import make_page, make_window, normalise_source

FIELD_MAX_LENGTH = 256


def string_field(body: object, name: str) -> str:
    """A required, non-empty string field of a JSON object body."""
    if not isinstance(body, dict):
        raise InvalidRequestError("the request body must be a JSON object")
    value = body.get(name)
    if value is None:
        raise InvalidRequestError(f"{name} is required")
    if not isinstance(value, str) or not value:
        raise InvalidRequestError(f"{name} must be a non-empty string")
    if len(value) > FIELD_MAX_LENGTH:
        raise InvalidRequestError(f"{name} must be at most {FIELD_MAX_LENGTH} characters")
    return value


class PbxService:
    """Login, token and call log, as the vendor's API reference documents them."""

    def __init__(self, accounts: AccountBook, tokens: TokenIssuer, calls: CallLog, zone: ZoneInfo) -> None:
        self.accounts = accounts
        self.tokens = tokens
        self.calls = calls
        self.zone = zone

    def login(self, body: object) -> Account:
        """`POST /v1/auth`: the account for a username and password."""
        username = string_field(body, "username")
        password = string_field(body, "password")
        return self.accounts.authenticate(username, password)

    def issue_token(self, body: object) -> IssuedToken:
        """`POST /v1/auth/token`: a bearer token for an api_key."""
        return self.tokens.issue(self.accounts.by_api_key(string_field(body, "api_key")))

    def authorize(self, authorization: str | None) -> Principal:
        """The principal of an `Authorization: Bearer <token>` header value."""
        if not authorization:
            raise AuthenticationError("missing bearer token (Authorization: Bearer <token>)")
        scheme, _, token = authorization.strip().partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise AuthenticationError("malformed Authorization header (expected: Bearer <token>)")
        principal = self.tokens.verify(token.strip())
        account = self.accounts.by_user_uuid(principal.user_uuid)
        if account is None or account.domain_uuid != principal.domain_uuid:
            raise AuthenticationError("invalid token")  # e.g. an account removed by a reset
        return principal

    def list_calls(self, principal: Principal, args: Mapping[str, str | None]) -> CallPage:
        """`GET /v1/call/log`: a page of the principal's domain's calls in a window."""
        window = make_window(args.get("start_date"), args.get("end_date"), self.zone)
        source = normalise_source(args.get("source"))
        page = make_page(args.get("limit"), args.get("offset"))
        return self.calls.query(principal.domain_uuid, window, source, page)
