"""Domain errors; one place in the web layer maps them to HTTP statuses and JSON bodies."""

from __future__ import annotations


class DomainError(Exception):
    """Base of every error a client can cause; its message is safe to show the client."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidRequestError(DomainError):
    """A missing, ill-typed or out-of-range input (HTTP 400)."""


class AuthenticationError(DomainError):
    """Wrong credentials, an unknown api_key, or a bad or expired token (HTTP 401)."""


class ForbiddenError(DomainError):
    """A request the mock will not take from where it came, e.g. another site's page (HTTP 403)."""


class ConflictError(DomainError):
    """A record that clashes with an existing one, e.g. a login taken (HTTP 409)."""


class DataError(Exception):
    """A fixture file or record that cannot be loaded; names the file, the record and the problem."""
