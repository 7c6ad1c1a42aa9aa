"""Bearer tokens: HS256 JWTs whose expiry is judged by the mock's clock, not the system's."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import jwt

from mockpbx.clock import Clock
from mockpbx.domain.accounts import Account
from mockpbx.domain.errors import AuthenticationError

ALGORITHM = "HS256"
ISSUER = "mockpbx"


def signing_key(secret: str) -> bytes:
    """The HMAC key for a secret: a 32-byte digest, so short secrets still make full-length keys."""
    return hashlib.sha256(b"mockpbx-jwt/" + secret.encode()).digest()


@dataclass(frozen=True)
class IssuedToken:
    """What `/v1/auth/token` returns."""

    token: str
    expire_at: int
    user_id: str
    #: Seconds from issue to expiry (the revised profile prints it as `expired_in`).
    lifetime: int = 0

    def to_json(self) -> dict[str, object]:
        """The documented keys."""
        return {"expire_at": self.expire_at, "token": self.token, "user_id": self.user_id}

    def __repr__(self) -> str:  # never print the token itself
        return f"IssuedToken(user_id={self.user_id!r}, expire_at={self.expire_at})"


@dataclass(frozen=True)
class Principal:
    """Who a valid token speaks for."""

    user_uuid: str
    domain_uuid: str


class TokenIssuer:
    """Issues and verifies tokens; instances with the same secret accept each other's tokens."""

    def __init__(self, secret: str, lifetime: int, clock: Clock) -> None:
        if not secret:
            raise ValueError("the JWT secret must not be empty")
        if lifetime <= 0:
            raise ValueError("the token lifetime must be positive")
        self._key = signing_key(secret)
        self.lifetime = lifetime
        self._clock = clock
        # Tokens whose signature and claims were checked once: (principal, expire_at).
        # Expiry is still judged on every use; the cache only skips decoding again.
        self._verified: dict[str, tuple[Principal, int]] = {}

    def issue(self, account: Account) -> IssuedToken:
        """A token for `account`, valid for `lifetime` seconds from the clock's now."""
        issued_at = int(self._clock.now())
        expire_at = issued_at + self.lifetime
        claims = {"iss": ISSUER, "sub": account.user_uuid, "dom": account.domain_uuid,
                  "iat": issued_at, "exp": expire_at}
        return IssuedToken(jwt.encode(claims, self._key, algorithm=ALGORITHM), expire_at, account.user_uuid,
                           self.lifetime)

    def verify(self, token: str) -> Principal:
        """The principal of a genuine, unexpired token; else AuthenticationError.

        The token is valid while the clock is before `expire_at`; at `expire_at` it has expired.
        Only HS256 with this secret is accepted, so `alg: none` and other algorithms fail.
        """
        known = self._verified.get(token)
        if known is not None:
            if self._clock.now() >= known[1]:
                raise AuthenticationError("token expired")
            return known[0]
        try:
            claims = jwt.decode(token, self._key, algorithms=[ALGORITHM], issuer=ISSUER,
                                options={"verify_exp": False, "verify_iat": False,
                                         "require": ["exp", "iat", "sub", "iss"]})
        except (jwt.PyJWTError, ValueError, TypeError):
            raise AuthenticationError("invalid token") from None
        expire_at, subject, domain = claims.get("exp"), claims.get("sub"), claims.get("dom")
        if not isinstance(expire_at, int) or not isinstance(subject, str) or not isinstance(domain, str):
            raise AuthenticationError("invalid token")
        if self._clock.now() >= expire_at:
            raise AuthenticationError("token expired")
        if len(self._verified) >= 4096:  # bounded: forget them all, they are cheap to check again
            self._verified.clear()
        principal = self._verified.setdefault(token, (Principal(subject, domain), expire_at))[0]
        return principal
