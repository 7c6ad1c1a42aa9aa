"""The one place that decides what is secret: the journal, the access log and `verify` all use it.

A *name* is secret when, lower-cased with `-` and `_` removed, it contains one of
`SECRET_WORDS` (so `password`, `Api-Key`, `apiKey`, `X-Auth-Token`, `ACCESS_TOKEN`,
`Proxy-Authorization`, `Set-Cookie`, `client_secret` all are). Values under a secret name are
replaced by `<redacted>` wherever the name appears: query strings, headers, JSON bodies at any
depth (after decoding, so `"p\\u0061ssword"` is caught), form bodies (`a=b&password=x`) and
`name=value` / `name: value` pairs in text bodies and inside ordinary values (`?note=token: x`).

Values are also recognised by their shape where the shape is unambiguous: anything that looks
like a JWT (`eyJ...`.`...`.`...`, what `/v1/auth/token` issues) is redacted wherever it appears.
API keys are not recognised by shape (they look like the UUIDs the journal must show); they are
caught by name (`api_key`), and `verify` also redacts every secret value it was given or issued
(`Redactor`).
"""

from __future__ import annotations

import functools
import json
import re
import threading
from collections.abc import Iterable, Mapping
from json.encoder import encode_basestring_ascii as _json_str
from urllib.parse import parse_qsl, quote, quote_plus, urlencode
from xml.sax.saxutils import escape

from mockpbx.querystring import query_pairs

REDACTED = "<redacted>"
SECRET_WORDS = ("password", "passwd", "pwd", "secret", "token", "apikey", "authorization", "cookie")
#: A JWT: a base64url JSON header (`{"` encodes as `eyJ`), a payload and a signature.
#: Wherever it starts: glued to other text (`?q=x<jwt>`) or in a path segment, it is a token all the same.
JWT = re.compile(r"eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*")
#: A chain of base64url runs joined by dots: where a JWT can lie (`_redact_jwts`), found in linear time.
_DOTTED = re.compile(r"[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]*)*")
#: `name=value`, `name: value` and `"name": "value"` pairs in free text.
#: Linear time on any input: a name starts only where no name character precedes it, and is
#: at most 64 characters (an unbounded `[\w.-]*` backtracks quadratically over a long word).
#: A quoted value may run to the end of the text without its closing quote: a body the journal cut
#: at its size bound inside a secret (`"password":"hunter2` and nothing after) is redacted too.
_PAIR = re.compile(r"""(?P<name>(?<![\w.'"-])["']?[A-Za-z][\w.-]{0,63}["']?)(?P<sep>[ \t]*[=:][ \t]*)"""
                   r"""(?P<value>"(?:[^"\\]|\\.)*(?:"|\\?\Z)|'[^']*(?:'|\Z)|[^&;,\r\n"'}\]]*)""")
#: `\uXXXX` escapes of JSON text that is not (or no longer, once cut) valid JSON.
_ESCAPE = re.compile(r"\\u([0-9A-Fa-f]{4})")


#: An XML element holding text: `<password>hunter2</password>` (attributes allowed on the opening tag).
_XML_SECRET = re.compile(r"<([A-Za-z_][\w.-]{0,63})(\s[^<>]*)?>([^<]*)</\1\s*>")
#: A JSON string followed by `:` (a member's name), anywhere in text, whitespace and line ends allowed.
#: (Not from a quote escaped by a backslash: from each of a run of `\\"` the engine read up to 4096
#: characters back and forth, and a 16 KiB body of them took a second to show.)
_JSON_NAME = re.compile(r'(?<!\\)"((?:[^"\\]|\\.){0,4096})"\s*:\s*')
#: A number or literal (`true`, `NaN`), up to what ends a JSON value.
_SCALAR = re.compile(r"[^,}\]\s]*")


def _value_end(text: str, start: int) -> int:
    """Where the JSON value at `start` ends: a string, a number or literal, or an object or array
    (brackets matched, strings skipped); the end of the text if it is cut short."""
    if start >= len(text):
        return start
    first = text[start]
    if first == '"':
        index = start + 1
        while index < len(text):
            if text[index] == "\\":
                index += 2
            elif text[index] == '"':
                return index + 1
            else:
                index += 1
        return len(text)
    if first in "[{":
        depth, index = 0, start
        while index < len(text):
            char = text[index]
            if char == '"':
                index = _value_end(text, index)
                continue
            if char in "[{":
                depth += 1
            elif char in "]}":
                depth -= 1
                if depth == 0:
                    return index + 1
            index += 1
        return len(text)
    match = _SCALAR.match(text, start)
    return match.end() if match else start


def _redact_json_members(text: str) -> str:
    """`text` with the value of every secret-named JSON member replaced, whatever the value (a
    string, a number, an object, an array) and whether or not the text is whole JSON: a body cut
    at the journal's bound, or one that is not JSON (NaN) or not sent as JSON, is still read so."""
    parts: list[str] = []
    position = 0
    for match in _JSON_NAME.finditer(text):
        if match.start() < position or not is_secret_name(match[1]):
            continue
        end = _value_end(text, match.end())
        parts += [text[position:match.end()], f'"{REDACTED}"']
        position = end
    return "".join(parts) + text[position:] if parts else text


_NOT_ALPHANUMERIC = re.compile(r"[\W_]+")


@functools.lru_cache(maxsize=4096)  # names repeat (header names, JSON keys): decide each once
def is_secret_name(name: str) -> bool:
    """Whether a field, parameter or header name holds a secret (any case and separator)."""
    normal = _NOT_ALPHANUMERIC.sub("", name.lower())  # `api-key`, `api.key`, `api key`, `pass\x00word`
    return any(word in normal for word in SECRET_WORDS)


def _redact_jwts(text: str) -> str:
    """`JWT.sub(REDACTED, text)` in linear time. (The regex tried every `eyJ` of a run of them up to
    the run's end: 64 KiB of `eyJ` took 1.4 s, and a journal of such bodies minutes to read.) A
    JWT lies in one chain of base64url runs joined by dots: from the first `eyJ` of a segment with
    at least 4 characters after it, over the next segment (not empty) and the one after."""
    if "eyJ" not in text:
        return text
    parts: list[str] = []
    position = 0
    for chain in _DOTTED.finditer(text):
        segments = chain[0].split(".")
        if len(segments) < 3 or "eyJ" not in chain[0]:
            continue
        starts = [chain.start()]
        for segment in segments[:-1]:
            starts.append(starts[-1] + len(segment) + 1)
        index = 0
        while index + 2 < len(segments):
            found = segments[index].find("eyJ")
            if found >= 0 and len(segments[index]) - found >= 7 and segments[index + 1]:
                parts += [text[position:starts[index] + found], REDACTED]
                position = starts[index + 2] + len(segments[index + 2])
                index += 3
            else:
                index += 1
    return "".join(parts) + text[position:] if parts else text


#: A pair's separator (`name=value`, `name: value`), for `_redact_inner_pairs`.
_SEPARATOR = re.compile("[:=]")
#: What ends a pair's name, read back from its separator.
_NAME_STOPS = frozenset(" \t\r\n\u00a0:=;,&?/()[]{}<>")
#: A quoted value after a pair's separator, as `_PAIR` reads one; one quoted as in JSON held in a
#: JSON string (`\\"hunter2\\"`) runs to the next escaped quote.
_QUOTED = re.compile(r"""\\"(?:[^"\\]|\\[^"])*(?:\\"|\\?\Z)|"(?:[^"\\]|\\.)*(?:"|\\?\Z)|'[^']*(?:'|\Z)""")
#: What ends an unquoted value as `_PAIR` reads one, and the separators it may run into.
_VALUE_STOP = re.compile(r"""[:=&;,\r\n"'}\]]""")
_SPACE = " \t\u00a0"
_SPACE_OR_LINE_END = _SPACE + "\r\n"
#: The password of a URL's user (`http://bob:hunter2@host/`); bounded, so linear on any input.
#: (Not across quotes, the marks that end a value, or a space as a form or URL writes one (`+`,
#: `%20`): `"https://pbx:8443","mail":"ops@x"` and `see+https://pbx:8443+or+ops@x` hold no password.)
_ENCODED_CHAR = r"%(?!20|09|0[AaDd]|2[Cc]|3[Bb]|22|27)[0-9A-Fa-f]{2}"
_USERINFO = re.compile(rf"""(://(?:[^\s/?#@:"'<>,;&(){{}}\[\]+%]|{_ENCODED_CHAR}){{0,256}}:)"""
                       rf"""(?:[^\s/?#@"'<>,;&(){{}}\[\]+%]|{_ENCODED_CHAR}){{1,256}}@""")


def _redact_inner_pairs(text: str) -> str:
    """`text` with the value of every secret-named pair replaced, each separator read on its own.
    (`_PAIR` reads a value up to `&`, `;` or `,`: a harmless pair before a secret one, as in
    `note: token: x` or `a=1 token: x`, took the secret as its own value.) A name is what precedes
    the separator (`_secret_name_before`). The value follows any white space, line ends included:
    an array or object whole, a quoted string, or unquoted text up to what ends a value or to the
    next secret pair (`token: a password: "x"`, `token:\\npassword: 'x'`). Linear: a separator
    inside a value already replaced is skipped, and an unquoted value is read only up to its end."""
    parts: list[str] = []
    position, size = 0, len(text)
    for separator in _SEPARATOR.finditer(text):
        index = separator.start()
        # (The name is read in the text as sent, even where a value just replaced ends:
        # `secret:"token":x` hides `x` too.)
        if index < position or _secret_name_before(text, index, 0) is None:
            continue
        begin = index + 1
        while begin < size and text[begin] in _SPACE_OR_LINE_END:
            begin += 1
        first = text[begin:begin + 1]
        if first in ("[", "{"):  # an array or object (JSON in a value): all of it
            parts += [text[position:begin], f'"{REDACTED}"']
            position = _value_end(text, begin)
            continue
        quoted = _QUOTED.match(text, begin) if first in ("\"", "'", "\\") else None
        if quoted is not None:
            finish = quoted.end()
            quote_char = '\\"' if first == "\\" else first
        else:
            finish, quote_char = _unquoted_end(text, begin, "\n" in text[index:begin] or "\r" in text[index:begin]), ""
        if finish == begin:
            continue
        parts += [text[position:begin], f"{quote_char}{REDACTED}{quote_char}"]
        position = finish
    return "".join(parts) + text[position:] if parts else text


def _secret_name_before(text: str, index: int, floor: int) -> int | None:
    """Where the secret name of the separator at `index` starts, or None if the name there is not
    secret: read back over spaces, then up to white space or a mark that separates pairs, at most
    64 characters and their quotes (as `_PAIR` reads one), not before `floor`."""
    end = index
    while end > floor and text[end - 1] in _SPACE:
        end -= 1
    start, stop = end, max(floor, end - 66)
    while start > stop and text[start - 1] not in _NAME_STOPS:
        start -= 1
    return start if start < end and is_secret_name(text[start:end]) else None


def _unquoted_end(text: str, begin: int, new_line: bool = False) -> int:
    """Where the unquoted value at `begin` ends: at what ends a value as `_PAIR` reads one, or before
    a secret-named pair it runs into (white space before either left out). A pair it runs into is
    one whose name follows white space in the value (`token: a password: x`), or starts it on a
    new line (`token:\\npassword: x`, `new_line`); not the value's own first word, which may hold
    a secret word and `=` or `:` itself (`token: AbCpwd==`, `password: MySecret:123`)."""
    end = len(text)
    for stop in _VALUE_STOP.finditer(text, begin):
        index = stop.start()
        if text[index] not in ":=":
            end = index
            break
        name = _secret_name_before(text, index, begin)
        if name is not None and ((name > begin and text[name - 1] in _SPACE_OR_LINE_END) or (name == begin and new_line)):
            end = name
            break
    while end > begin and text[end - 1] in _SPACE_OR_LINE_END:
        end -= 1
    return end


def _redact_url_passwords(text: str) -> str:
    """`text` with the password of every URL's user replaced (`http://bob:<redacted>@host/`)."""
    return _USERINFO.sub(rf"\1{REDACTED}@", text) if "@" in text else text


def _redact_xml(text: str) -> str:
    """`text` with the text of every secret-named XML element replaced."""
    return _XML_SECRET.sub(lambda m: m[0] if not is_secret_name(m[1]) else f"<{m[1]}{m[2] or ''}>{REDACTED}</{m[1]}>",
                           text)


def redact_text(text: str) -> str:
    """Free text with the values of secret-named pairs, of secret-named JSON members (even in JSON
    cut short or invalid), of secret-named XML elements, the passwords of URLs and every
    JWT-shaped value replaced (`\\uXXXX` escapes are decoded first, so an escaped name is caught)."""
    if "\\u" in text:
        text = _ESCAPE.sub(lambda m: chr(int(m[1], 16)), text)
    if '"' in text:
        text = _redact_json_members(text)
    if "<" in text:
        text = _redact_xml(text)
    def pair(match: re.Match[str]) -> str:
        if not is_secret_name(match["name"].strip("\"'")) or not match["value"]:
            return match[0]
        value, begin = match["value"], match.start("value")
        if match.string.startswith(("[", "{", '\\"'), begin) or (
                value[0] not in "\"'" and _unquoted_end(match.string, begin) < begin + len(value.rstrip(_SPACE))):
            return match[0]  # read whole, or up to the secret pair it runs into, by _redact_inner_pairs
        quote_char = value[0] if value[0] in "\"'" else ""
        return f"{match['name']}{match['sep']}{quote_char}{REDACTED}{quote_char}"
    text = _redact_inner_pairs(_PAIR.sub(pair, text))
    return _redact_jwts(_redact_url_passwords(text))


def redact_json(value: object) -> object:
    """A copy of a decoded JSON value with every secret-named member replaced, at any depth."""
    if isinstance(value, dict):
        return {k: REDACTED if is_secret_name(str(k)) else redact_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [redact_json(v) for v in value]
    if isinstance(value, str):
        return _redact_value(value) if "<" not in value else redact_text(value)
    return value


def redact_query(pairs: Iterable[tuple[str, str]] | Mapping[str, list[str]]) -> dict[str, list[str]]:
    """Query parameters as {name: [values]}, secret-named and JWT-shaped values replaced."""
    items = ((k, v) for k, values in pairs.items() for v in values) if isinstance(pairs, Mapping) else pairs
    return _grouped((name, _shown_value(name, value)) for name, value in items)


def _grouped(pairs: Iterable[tuple[str, str]]) -> dict[str, list[str]]:
    """Pairs as {name: [values]}, in the order each name first came."""
    grouped: dict[str, list[str]] = {}
    for name, value in pairs:
        grouped.setdefault(name, []).append(value)
    return grouped


def _shown_value(name: str, value: str) -> str:
    """A query value fit to show: replaced whole under a secret name, else its secrets replaced."""
    return REDACTED if is_secret_name(name) else _redact_value(value)


#: How deep URLs held in a query value (`?next=http://a/?back=http://b/?...`) are read as URLs; a
#: deeper one is read as text. (Each level read its inner value twice, which doubled the time per
#: level, and about 300 levels raised RecursionError: a 500, and a journal that could not be read.)
#: Percent-encoded at each level, as redirects are, 32 levels do not fit in the journal's 16 KiB.
_URL_DEPTH = 32


def _redact_value(value: str, depth: int = 0) -> str:
    """A value under an ordinary name: `name=value` and `name: value` pairs in it (`password=x`,
    `a;password=x`, the query of a URL such as a Referer's, `note: token: x`), a URL's password,
    secret-named XML elements and JWTs replaced. (The access log reads every query value: a colon
    with no letter in the value, as in the call log's dates, cannot end a name.)"""
    if "=" in value:
        base, mark, query = value.partition("?")
        if mark and "=" in query and depth < _URL_DEPTH:  # a URL: its query read as one (`http:` would
            return redact_text(base) + mark + _redact_query_raw(query, depth + 1)  # swallow it as a value)
        return redact_text(value)
    if ":" in value and value.lower() != value.upper():  # (a letter in it: cheaper than a regex search)
        # Pairs and a URL's password, read as they are: not as a text body, whose `\\uXXXX`
        # escapes would be decoded in a value that holds no secret.
        value = _redact_url_passwords(_redact_inner_pairs(value))
    if "<" in value:
        value = _redact_xml(value)
    return _redact_jwts(value) if "eyJ" in value else value


def _environ_query_pairs(query_string: str) -> list[tuple[str, str]]:
    """The pairs of a query as a WSGI environ holds it (PEP 3333: each byte as a Latin-1
    character): raw UTF-8 bytes read as UTF-8, as the API reads them."""
    return query_pairs(query_string if query_string.isascii() else _utf8(query_string))


def redact_query_string(query_string: str) -> dict[str, list[str]]:
    """A raw query string (as a WSGI environ holds it), parsed, with secrets replaced."""
    return redact_query(_environ_query_pairs(query_string))


def redact_query_string_json(query_string: str) -> str:
    """The compact JSON of `redact_query_string(query_string)` (what `json.dumps` with `(",", ":")`
    separators gives), written out directly: the access log shows every request's query, and
    the dict of lists and its encoding took half of the access log's time."""
    pairs = _environ_query_pairs(query_string)
    if len({name for name, _ in pairs}) < len(pairs):  # a name given more than once: its values in one list
        return "{" + ",".join([f'{_json_str(name)}:[{",".join(map(_json_str, values))}]'
                               for name, values in redact_query(pairs).items()]) + "}"
    return "{" + ",".join([f"{_json_str(name)}:[{_json_str(_shown_value(name, value))}]"
                           for name, value in pairs]) + "}"


def redact_query_string_raw(query_string: str) -> str:
    """A raw query string with secrets replaced, still a query string (unchanged when clean)."""
    return _redact_query_raw(query_string, 0)


def _redact_query_raw(query_string: str, depth: int) -> str:
    """`redact_query_string_raw` for a query `depth` URLs deep: each value read once, the pairs in
    the order sent."""
    pairs = query_pairs(query_string)
    shown = [(k, REDACTED if is_secret_name(k) else _redact_value(v, depth)) for k, v in pairs]
    if shown == pairs:
        return query_string
    # (errors: a lone surrogate, which a JSON string can hold, made urlencode raise; a JSON body
    # was then shown by the text rules, which do not look inside a string's URL.)
    return urlencode(shown, errors="surrogatepass")


def redact_path(path: str) -> str:
    """A request path fit to show: JWT-shaped segments replaced (`/v1/call/log/<jwt>`), and read
    as UTF-8 from a WSGI environ's Latin-1 form (`/café`, not `/cafÃ©`)."""
    if not path.isascii():
        path = _utf8(path)
    if ";" in path or "=" in path:  # path parameters: /v1/call/log;password=x
        path = redact_text(path)
    return _redact_jwts(path) if "eyJ" in path else path


def _utf8(text: str) -> str:
    """WSGI's Latin-1 form of UTF-8 bytes read as UTF-8; anything else (bytes that are not UTF-8,
    or text decoded already) as it is."""
    try:
        return text.encode("latin-1").decode("utf-8")
    except UnicodeError:
        return text


def redact_header(name: str, value: str) -> str:
    """A header value fit to show: a secret header keeps only its scheme (`Bearer <redacted>`)."""
    if is_secret_name(name):
        scheme, _, rest = value.strip().partition(" ")
        return f"{scheme} {REDACTED}" if rest and scheme.isalpha() else REDACTED
    return _redact_value(value)


def redact_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """Headers with every secret value hidden."""
    return {name: redact_header(name, value) for name, value in headers.items()}


def redact_body(raw: bytes, mimetype: str) -> object:
    """A request body fit to show: JSON decoded and redacted, a form or text with its secret
    pairs replaced; None when empty."""
    if not raw:
        return None
    # As the API reads JSON (UTF-8, or UTF-16 or UTF-32 by its first bytes): read as UTF-8, a
    # UTF-16 `password` would be `p\x00a\x00...`, which no name rule recognises.
    text = raw.decode(json.detect_encoding(raw), "replace")
    if mimetype == "application/json" or mimetype.endswith("+json") or text.lstrip()[:1] in ("{", "["):
        try:  # (JSON sent as a form, as `curl -d` does, is JSON all the same)
            return redact_json(json.loads(text, parse_constant=str))  # NaN shown as "NaN": valid JSON to read
        except (ValueError, RecursionError):
            return redact_text(text)  # cut short or not JSON: its members are still found
    if mimetype == "multipart/form-data":
        return _redact_multipart(text)
    if mimetype == "application/x-www-form-urlencoded":
        pairs = parse_qsl(text, keep_blank_values=True)
        # (As `redact_query_string_raw` reads a query: an encoded `password%3Dx` in an ordinary
        # value is a pair once decoded, and the raw text's rules would not see it. Each value is
        # read once.)
        shown = [(k, _shown_value(k, v)) for k, v in pairs]
        if shown != pairs or any(is_secret_name(k) for k, _ in pairs):
            # Decoded, to read; then the text rules over it all, as over a form shown raw: a secret
            # written as XML, JSON or `name: value` in another value is caught there.
            return redact_text("&".join(f"{k}={v}" for k, values in _grouped(shown).items() for v in values))
    return redact_text(text)


_PART_NAME = re.compile(r'\bname="?([^";\r\n]*)"?', re.IGNORECASE)


def _redact_multipart(text: str) -> str:
    """A multipart/form-data body with the content of every secret-named part replaced."""
    boundary = text.split("\n", 1)[0].strip()
    if not boundary.startswith("--") or len(boundary) < 3:
        return redact_text(text)
    shown = []
    for part in text.split(boundary):
        head, separator, content = part.partition("\r\n\r\n") if "\r\n\r\n" in part else part.partition("\n\n")
        name = _PART_NAME.search(head)
        if separator and name and is_secret_name(name[1]):
            ending = "\r\n" if content.endswith("\r\n") else "\n" if content.endswith("\n") else ""
            part = f"{head}{separator}{REDACTED}{ending}"
        shown.append(part)
    return redact_text(boundary.join(shown))


class Redactor:
    """Also replaces every known secret *value* (given to or issued to `verify`), in its plain,
    URL-, JSON- and XML-encoded forms, on top of the name rules of this module.

    Example:
        >>> r = Redactor(["s3cret!"])
        >>> r.redact('{"note": "s3cret!"} and s3cret%21')
        '{"note": "<redacted>"} and <redacted>'
    """

    #: Shorter values are not treated as secrets: replacing them would mangle unrelated text.
    MIN_LENGTH = 4
    #: A long secret is also recognised by this many leading characters, so that a copy cut
    #: short (a truncated body, a shortened message) is redacted as well.
    PREFIX = 12

    def __init__(self, secrets: Iterable[str | None] = ()) -> None:
        self._lock = threading.Lock()
        self._forms: list[str] = []
        self._prefixes: set[str] = set()
        self._pattern: re.Pattern[str] | None = None
        for secret in secrets:
            self.add(secret)

    def add(self, secret: str | None) -> None:
        """Treat `secret` (and its encodings) as secret from now on."""
        if not secret or len(secret) < self.MIN_LENGTH:
            return
        forms = {secret, quote(secret, safe=""), quote_plus(secret), json.dumps(secret)[1:-1], escape(secret),
                 escape(secret, {'"': "&quot;"}), json.dumps(secret, ensure_ascii=False)[1:-1]}
        with self._lock:
            self._forms = sorted(set(self._forms) | forms, key=len, reverse=True)
            if len(secret) >= 2 * self.PREFIX:
                self._prefixes.add(secret[:self.PREFIX])
                alternatives = sorted(re.escape(p) for p in self._prefixes)
                self._pattern = re.compile(f"(?:{'|'.join(alternatives)})[A-Za-z0-9._~+/=-]*")

    def redact(self, text: str) -> str:
        """`text` with every known secret value and every JWT-shaped value replaced."""
        with self._lock:
            forms, pattern = list(self._forms), self._pattern
        for form in forms:
            if form in text:
                text = text.replace(form, REDACTED)
        text = pattern.sub(REDACTED, text) if pattern is not None else text
        return _redact_jwts(text)

    def header(self, name: str, value: str) -> str:
        """A header value fit to show: secret-named headers keep only their scheme."""
        return self.redact(redact_header(name, value))

    def url(self, url: str) -> str:
        """A URL with secret-named query values and known secrets replaced."""
        base, sep, query = url.partition("?")
        return self.redact(base + sep + (redact_query_string_raw(query) if sep else ""))

    def body(self, raw: bytes, content_type: str) -> str:
        """A request body as text with secret-named values and known secrets replaced."""
        shown = redact_body(raw, content_type.split(";", 1)[0].strip().lower())
        if shown is None:
            return ""
        return self.redact(shown if isinstance(shown, str) else json.dumps(shown, ensure_ascii=False))


#: What a terminal, a CI log or XML 1.0 must not get raw from what a host sent: C0 and C1 controls
#: but tab and newline, DEL, lone surrogates and the two non-characters XML excludes.
_UNPRINTABLE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")


def printable(text: str) -> str:
    """`text` with every character a terminal or XML must not get raw written as a Python escape."""
    return _UNPRINTABLE.sub(lambda m: repr(m[0])[1:-1], text)
