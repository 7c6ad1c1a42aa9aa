"""Accounts of the PBX: who can log in, with which api_key, in which domain (tenant)."""

from __future__ import annotations

import hmac
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from mockpbx.domain.errors import AuthenticationError

LEVELS = ("superadmin", "admin", "user", "agent", "public")
#: The most accounts the control API lets the mock hold (fixtures included): each addition checks
#: the new account against all of them, so a suite that adds one per test and never resets gets a
#: clear 409 rather than an ever slower mock.
MAX_ACCOUNTS = 10_000


@dataclass(frozen=True)
class Account:
    """A PBX user; `login` is what `/v1/auth` takes as `username`."""

    login: str
    password: str
    user_uuid: str
    domain_uuid: str
    username: str
    api_key: str
    level: str = "admin"

    def to_json(self) -> dict[str, str]:
        """The six documented keys, `user_enabled` as the string FusionPBX stores."""
        return {
            "user_uuid": self.user_uuid,
            "domain_uuid": self.domain_uuid,
            "username": self.username,
            "api_key": self.api_key,
            "user_enabled": "true",
            "level": self.level,
        }

    def __repr__(self) -> str:  # never print the secrets
        return f"Account(login={self.login!r}, user_uuid={self.user_uuid!r}, domain_uuid={self.domain_uuid!r})"


class AccountBook:
    """Looks accounts up by login, api_key and user_uuid; each must be unique."""

    def __init__(self, accounts: Iterable[Account] = ()) -> None:
        self._by_login: dict[str, Account] = {}
        self._by_api_key: dict[str, Account] = {}
        self._by_user: dict[str, Account] = {}
        for account in accounts:
            self.add(account)

    def add(self, account: Account) -> None:
        """Add an account; raises ValueError naming the clash if it is not unique."""
        for index, value, what in ((self._by_login, account.login, "login"),
                                   (self._by_api_key, account.api_key, "api_key"),
                                   (self._by_user, account.user_uuid, "user_uuid")):
            if value in index:
                raise ValueError(f"another account already has this {what}")
        self._by_login[account.login] = account
        self._by_api_key[account.api_key] = account
        self._by_user[account.user_uuid] = account

    def __iter__(self) -> Iterator[Account]:
        return iter(list(self._by_user.values()))

    def __len__(self) -> int:
        return len(self._by_user)

    def authenticate(self, login: str, password: str) -> Account:
        """The account with this login and password, else AuthenticationError."""
        account = self._by_login.get(login)
        expected = account.password if account else "\0"
        if not hmac.compare_digest(password.encode(), expected.encode()) or account is None:
            raise AuthenticationError("invalid username or password")
        return account

    def by_api_key(self, api_key: str) -> Account:
        """The account with this api_key, else AuthenticationError."""
        account = self._by_api_key.get(api_key)
        if account is None:
            raise AuthenticationError("invalid api_key")
        return account

    def by_user_uuid(self, user_uuid: str) -> Account | None:
        """The account with this user_uuid, if any."""
        return self._by_user.get(user_uuid)

    def domains(self) -> list[str]:
        """Every domain that has an account, in order of first appearance."""
        return list(dict.fromkeys(a.domain_uuid for a in self._by_user.values()))
