"""A Faker provider of valid Vietnamese phone numbers.

Faker's own vi_VN numbers are mostly invalid (wrong prefixes, spaces); these follow the
numbering plan in `mockpbx.domain.numbering`. The provider draws only from the generator's
`random`, so it follows mockpbx's seeded streams.
"""

from __future__ import annotations

from faker.providers import BaseProvider

from mockpbx.domain.numbering import BIG_CITY_AREA_CODES, MOBILE_PREFIXES, PROVINCE_AREA_CODES

_CARRIERS = tuple(MOBILE_PREFIXES)
#: Rough market shares: Viettel, Vinaphone, Mobifone, Vietnamobile, Gmobile, Reddi.
_CARRIER_WEIGHTS = (55, 20, 19, 4, 1, 1)
_DESTINATION_WEIGHTS = (70, 22, 5, 3)  # mobile, fixed line, 1800, 1900


class VietnamPhoneProvider(BaseProvider):
    """Valid Vietnamese mobile, fixed-line, 1800 and 1900 numbers."""

    def _digits(self, count: int) -> str:
        return str(self.generator.random.randrange(10 ** count)).zfill(count)

    def vn_mobile_number(self) -> str:
        """A 10-digit mobile number with a real carrier prefix, e.g. 0971234567."""
        rnd = self.generator.random
        carrier = rnd.choices(_CARRIERS, _CARRIER_WEIGHTS)[0]
        return str(rnd.choice(MOBILE_PREFIXES[carrier])) + self._digits(7)

    def vn_fixed_line_number(self) -> str:
        """An 11-digit fixed-line number: 024/028 + 8 digits or a province code + 7 digits."""
        rnd = self.generator.random
        if rnd.random() < 0.75:
            return str(rnd.choice(BIG_CITY_AREA_CODES)) + self._digits(8)
        return str(rnd.choice(PROVINCE_AREA_CODES)) + self._digits(7)

    def vn_toll_free_number(self) -> str:
        """A 1800 number of 8 or 10 digits."""
        return "1800" + self._digits(self.generator.random.choice((4, 6)))

    def vn_premium_number(self) -> str:
        """A 1900 number of 8 or 10 digits."""
        return "1900" + self._digits(self.generator.random.choice((4, 6)))

    def vn_destination_number(self) -> str:
        """A destination as a business dials them: mostly mobiles, then fixed lines, some 1800/1900."""
        kinds = (self.vn_mobile_number, self.vn_fixed_line_number,
                 self.vn_toll_free_number, self.vn_premium_number)
        return str(self.generator.random.choices(kinds, _DESTINATION_WEIGHTS)[0]())

    def vn_trunk_number(self) -> str:
        """A company's outbound number (source): a fixed-line DID or a mobile."""
        return self.vn_fixed_line_number() if self.generator.random.random() < 0.6 else self.vn_mobile_number()
