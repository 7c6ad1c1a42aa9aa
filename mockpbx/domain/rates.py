"""The rate table: how a call's amount (VND) follows from its destination and talk time."""

from __future__ import annotations

from dataclasses import dataclass

from mockpbx.domain.numbering import NumberClass, classify


@dataclass(frozen=True)
class Rate:
    """A price per minute, billed in a first block then in increments (seconds)."""

    per_minute: int
    first_block: int
    increment: int

    def billable_seconds(self, duration: int) -> int:
        """Talk time rounded up to the billing blocks; a call shorter than the first block pays it."""
        if duration <= 0:
            return 0
        if duration <= self.first_block:
            return self.first_block
        extra = duration - self.first_block
        return self.first_block + -(-extra // self.increment) * self.increment

    def amount(self, duration: int) -> int:
        """The amount in VND, rounded half up."""
        return (self.billable_seconds(duration) * self.per_minute + 30) // 60


#: SIP-trunk style rates. The seed's samples fit them: 38 s to a fixed-rate class at
#: 450 VND/min is 285 VND; 120 s at 800 VND/min is 1600 VND.
RATE_TABLE: dict[NumberClass, Rate] = {
    NumberClass.MOBILE: Rate(per_minute=800, first_block=6, increment=1),
    NumberClass.FIXED: Rate(per_minute=450, first_block=6, increment=1),
    NumberClass.TOLL_FREE: Rate(per_minute=0, first_block=60, increment=60),
    NumberClass.PREMIUM: Rate(per_minute=2000, first_block=60, increment=60),
    NumberClass.OTHER: Rate(per_minute=800, first_block=6, increment=1),
}


def amount_for(destination: str, duration: int) -> int:
    """The billed amount of a call to `destination` lasting `duration` seconds."""
    return RATE_TABLE[classify(destination)].amount(duration)
