"""What a URL given to mockpbx must be (`--base-url`, `--mockpbx-url`): one check for every command."""

from __future__ import annotations

from urllib.parse import urlsplit


def url_problem(text: str) -> str | None:
    """Why `text` is not the http:// or https:// URL of a host, or None if it is: a host, a port
    that is a number from 0 to 65535 if given, no user name or password (credentials are options
    of their own: in a URL they would be printed wherever the URL is), no query or fragment."""
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number in range
    except ValueError as error:
        return f"is not a valid URL ({error})"
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "must be an http:// or https:// URL with a host"
    if parts.username is not None or parts.password is not None:
        return "must not hold a user name or password"
    if parts.query or parts.fragment:
        return "must not have a query or fragment"
    return None


def shown(text: str) -> str:
    """`text` fit for a message: whatever precedes an `@` in its authority (a user name and
    password) replaced, so that a refused URL is not echoed with its password."""
    scheme, sep, rest = text.partition("://")
    if not sep:
        scheme, rest = "", text
    authority, slash, path = rest.partition("/")
    if "@" in authority:
        authority = "<redacted>@" + authority.rpartition("@")[2]
    return f"{scheme}{sep}{authority}{slash}{path}"
