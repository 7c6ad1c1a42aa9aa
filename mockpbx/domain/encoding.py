"""How a call and a page of calls become JSON bytes: the one place that shapes them.

A profile gives a function from a call to its JSON object (`CallFields`); `call_encoder`
turns it into the encoder (built once, at data-build time) that each `CallTable` runs once
per call, the first time a page shows the call, and keeps the bytes of, so that answering
a page mostly joins kept bytes. `page_json` is the documented page
object around them, byte for byte what `json.dumps` makes of `CallPage.to_json()`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mockpbx.domain.calls import Call

CallFields = Callable[["Call"], Mapping[str, object]]
CallEncoder = Callable[["Call"], bytes]


def json_bytes(payload: object) -> bytes:
    """Compact JSON, UTF-8 (non-ASCII characters kept as they are; a lone surrogate, which UTF-8
    cannot carry, as its JSON escape `\\udXXX`: backslashreplace writes exactly that in a string)."""
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8", "backslashreplace")


def _no_constant(name: str) -> object:
    raise ValueError(f"{name} is not a JSON value (RFC 8259 has no NaN or Infinity)")


def loads_strict(data: str | bytes) -> object:
    """`json.loads` without the extensions Python's parser allows: `NaN`, `Infinity` and
    `-Infinity` are refused (ValueError), as every other JSON parser refuses them; accepted, they
    would be echoed back (a fault's body, the journal) as JSON that a client cannot read."""
    return json.loads(data, parse_constant=_no_constant)


def utf8_encodable(document: object) -> bool:
    """Whether every string of a decoded JSON document is text that UTF-8 can carry: `"\\ud800"` is
    valid JSON syntax, but decodes to a lone surrogate, which is no character (RFC 8259 8.2). A
    string is checked as it is (`record` asks for two fields of every call it reads)."""
    if isinstance(document, str) and document.isascii():
        return True
    try:
        (document if isinstance(document, str) else json.dumps(document, ensure_ascii=False)).encode()
    except UnicodeEncodeError:
        return False
    return True


#: Why a document with a lone surrogate is refused (a request body, a fixture file).
LONE_SURROGATE = "a \\uD800-\\uDFFF escape that is not half of a surrogate pair (no character)"


def reference_fields(call: Call) -> Mapping[str, object]:
    """The reference shape of a call: the vendor's six documented keys."""
    return call.to_json()


def call_encoder(fields: CallFields = reference_fields) -> CallEncoder:
    """The encoder of a profile's call shape: `fields(call)` as compact JSON."""
    def encode(call: Call) -> bytes:
        return json_bytes(fields(call))
    return encode


#: The encoder of the reference shape, the default of every table.
REFERENCE: CallEncoder = call_encoder()


def page_json(calls: Sequence[bytes], limit: int, offset: int, total: int) -> bytes:
    """The page object `{"data": [...], "limit", "offset", "total"}` around encoded calls."""
    return b'{"data":[%s],"limit":%d,"offset":%d,"total":%d}' % (b",".join(calls), limit, offset, total)
