"""Keeps passwords, api keys and tokens out of everything verify prints or writes."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterable
from urllib.parse import quote, quote_plus
from xml.sax.saxutils import escape

REDACTED = "<redacted>"
#: Headers whose values are always secret, whatever they hold.
SECRET_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie", "set-cookie", "x-api-key"})
#: Shorter values are not treated as secrets: replacing them would mangle unrelated text.
_MIN_LENGTH = 4
#: A long secret is also recognised by this many leading characters, so that a copy cut
#: short (a truncated body, a shortened message) is redacted as well.
_PREFIX = 12
_TOKEN_CHARS = r"[A-Za-z0-9._~+/=-]*"


class Redactor:
    """Replaces every known secret, in its plain, URL- and JSON-encoded forms, by `<redacted>`.

    Example:
        >>> r = Redactor(["s3cret!"])
        >>> r.redact('{"password": "s3cret!"} and s3cret%21')
        '{"password": "<redacted>"} and <redacted>'
    """

    def __init__(self, secrets: Iterable[str | None] = ()) -> None:
        self._lock = threading.Lock()
        self._forms: list[str] = []
        self._prefixes: set[str] = set()
        self._pattern: re.Pattern[str] | None = None
        for secret in secrets:
            self.add(secret)

    def add(self, secret: str | None) -> None:
        """Treat `secret` (and its encodings) as secret from now on."""
        if not secret or len(secret) < _MIN_LENGTH:
            return
        forms = {secret, quote(secret, safe=""), quote_plus(secret), json.dumps(secret)[1:-1], escape(secret),
                 escape(secret, {'"': "&quot;"}), json.dumps(secret, ensure_ascii=False)[1:-1]}
        with self._lock:
            self._forms = sorted(set(self._forms) | forms, key=len, reverse=True)
            if len(secret) >= 2 * _PREFIX:
                self._prefixes.add(secret[:_PREFIX])
                alternatives = sorted(re.escape(p) for p in self._prefixes)
                self._pattern = re.compile(f"(?:{'|'.join(alternatives)}){_TOKEN_CHARS}")

    def redact(self, text: str) -> str:
        """`text` with every secret replaced."""
        with self._lock:
            forms, pattern = list(self._forms), self._pattern
        for form in forms:
            if form in text:
                text = text.replace(form, REDACTED)
        return pattern.sub(REDACTED, text) if pattern is not None else text

    def header(self, name: str, value: str) -> str:
        """A header value fit to show: secret headers keep only their scheme."""
        if name.lower() in SECRET_HEADERS:
            scheme, _, rest = value.partition(" ")
            return f"{scheme} {REDACTED}" if rest and scheme.isalpha() else REDACTED
        return self.redact(value)
