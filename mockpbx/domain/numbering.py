"""The Vietnamese numbering plan, as far as billing needs it: classes of destination numbers."""

from __future__ import annotations

import re
from enum import Enum

#: Mobile prefixes (the first three digits of a 10-digit national number) by carrier.
MOBILE_PREFIXES: dict[str, tuple[str, ...]] = {
    "viettel": ("086", "096", "097", "098", "032", "033", "034", "035", "036", "037", "038", "039"),
    "vinaphone": ("088", "091", "094", "081", "082", "083", "084", "085", "087"),
    "mobifone": ("089", "090", "093", "070", "076", "077", "078", "079"),
    "vietnamobile": ("092", "052", "056", "058"),
    "gmobile": ("099", "059"),
    "reddi": ("055",),
}
ALL_MOBILE_PREFIXES: frozenset[str] = frozenset(p for ps in MOBILE_PREFIXES.values() for p in ps)

#: Fixed-line area codes: Hanoi and Ho Chi Minh City take 8 subscriber digits, the rest 7.
BIG_CITY_AREA_CODES = ("024", "028")
PROVINCE_AREA_CODES = ("0236", "0225", "0292", "0203", "0204", "0206", "0251", "0254", "0258", "0274")

_FIXED = re.compile(r"0(?:2[48][0-9]{8}|2[0-9]{2}[0-9]{7})")
_SERVICE = re.compile(r"(1800|1900)[0-9]{4,6}")


class NumberClass(str, Enum):
    """What kind of number a call went to; decides its rate."""

    MOBILE = "mobile"
    FIXED = "fixed"
    TOLL_FREE = "toll_free"
    PREMIUM = "premium"
    OTHER = "other"


def classify(number: str) -> NumberClass:
    """Classify a national number; anything unrecognised is OTHER."""
    if len(number) == 10 and number.isdigit() and number[:3] in ALL_MOBILE_PREFIXES:
        return NumberClass.MOBILE
    if len(number) == 11 and _FIXED.fullmatch(number):
        return NumberClass.FIXED
    if _SERVICE.fullmatch(number):
        return NumberClass.TOLL_FREE if number.startswith("1800") else NumberClass.PREMIUM
    return NumberClass.OTHER


def is_valid_number(number: str) -> bool:
    """Whether `number` is a valid Vietnamese mobile, fixed-line, 1800 or 1900 number."""
    return classify(number) is not NumberClass.OTHER
