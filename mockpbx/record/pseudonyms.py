"""Phone-number pseudonyms: same class and length, keyed by a secret, never colliding.

A pseudonym is drawn from HMAC-SHA256(key, number): without the key, hashing candidate
numbers does not reveal which real number a pseudonym stands for. It keeps what tests and
rates depend on: a mobile stays a mobile of the same carrier, a fixed line keeps its area
code, 1800/1900 stay toll-free/premium, and the length is unchanged. Two real numbers never
share a pseudonym, and no pseudonym is one of the real numbers of the recording.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Iterable

from mockpbx.domain.numbering import BIG_CITY_AREA_CODES, MOBILE_PREFIXES, NumberClass, classify

#: Draws tried for one number before giving up (only tiny classes, e.g. 3-digit codes, run out).
MAX_ATTEMPTS = 1000
#: Values with fewer digits are not phone numbers ("anonymous", "*9", "0") and are kept as they are.
MIN_DIGITS = 3
_CARRIER_OF = {prefix: prefixes for prefixes in MOBILE_PREFIXES.values() for prefix in prefixes}
_COUNTRY_PREFIXES = ("+84", "84")

Draw = Callable[[int], int]


class PseudonymError(ValueError):
    """No free pseudonym could be found; the message names the class and length, not the number."""


def _draws(key: bytes, number: str, attempt: int) -> Draw:
    """A stream of integers below `n`, from HMAC(key, attempt, number)."""
    digest = hmac.new(key, f"mockpbx-pseudonym\0{attempt}\0{number}".encode(), hashlib.sha256).digest()
    state = [int.from_bytes(digest, "big")]

    def draw(n: int) -> int:
        state[0], value = divmod(state[0], n)
        return value
    return draw


def _digits(draw: Draw, count: int) -> str:
    return "".join(str(draw(10)) for _ in range(count))


def _national(number: str, draw: Draw) -> str:
    """A candidate of the same class and length as a national number."""
    kind = classify(number)
    if kind is NumberClass.MOBILE:
        prefixes = _CARRIER_OF[number[:3]]
        return prefixes[draw(len(prefixes))] + _digits(draw, 7)
    if kind is NumberClass.FIXED:
        code = number[:3] if number[:3] in BIG_CITY_AREA_CODES else number[:4]
        return code + _digits(draw, len(number) - len(code))
    if kind in (NumberClass.TOLL_FREE, NumberClass.PREMIUM):
        return number[:4] + _digits(draw, len(number) - 4)
    keep = 1 if number.startswith("0") else 0  # a national trunk prefix stays
    return number[:keep] + "".join(str(draw(10)) if c.isdigit() else c for c in number[keep:])


def _candidate(number: str, draw: Draw) -> str:
    """A candidate pseudonym; numbers in international form (+84..., 84...) keep that form."""
    for country in _COUNTRY_PREFIXES:
        national = "0" + number[len(country):]
        if number.startswith(country) and classify(national) is not NumberClass.OTHER:
            return country + _national(national, draw)[1:]
    return _national(number, draw)


def number_class(number: str) -> str:
    """The class a pseudonym must keep (international forms are read as their national number)."""
    for country in _COUNTRY_PREFIXES:
        national = "0" + number[len(country):]
        if number.startswith(country) and classify(national) is not NumberClass.OTHER:
            return f"{classify(national).value} ({country})"
    return classify(number).value


def pseudonymise(numbers: Iterable[str], key: bytes) -> dict[str, str]:
    """A pseudonym for each distinct number, deterministic for the same numbers and key.

    Example:
        >>> pseudonymise(["0971234567", "18001234"], b"a secret key")["18001234"][:4]
        '1800'
    """
    real = set(numbers)
    used: set[str] = set()
    mapping: dict[str, str] = {}
    for number in sorted(real):  # a fixed order: collisions resolve the same way every time
        if sum(c.isdigit() for c in number) < MIN_DIGITS:
            mapping[number] = number
            continue
        wanted = number_class(number)
        for attempt in range(MAX_ATTEMPTS):
            candidate = _candidate(number, _draws(key, number, attempt))
            if candidate not in used and candidate not in real and number_class(candidate) == wanted:
                break
        else:
            raise PseudonymError(f"no free pseudonym for a {wanted} number of {len(number)} characters "
                                 f"after {MAX_ATTEMPTS} draws")
        mapping[number] = candidate
        used.add(candidate)
    return mapping
