"""Vietnamese numbers (the Faker provider) and the rate table."""

from __future__ import annotations

import random

import pytest
from faker import Faker

from mockpbx.data.phones import VietnamPhoneProvider
from mockpbx.domain.numbering import NumberClass, classify, is_valid_number
from mockpbx.domain.rates import RATE_TABLE, amount_for


@pytest.fixture
def fake() -> Faker:
    fake = Faker("vi_VN")
    fake.add_provider(VietnamPhoneProvider)
    fake.random = random.Random(1)
    return fake


@pytest.mark.parametrize("method, kind", [
    ("vn_mobile_number", NumberClass.MOBILE), ("vn_fixed_line_number", NumberClass.FIXED),
    ("vn_toll_free_number", NumberClass.TOLL_FREE), ("vn_premium_number", NumberClass.PREMIUM),
])
def test_provider_numbers_are_valid_and_of_their_class(fake: Faker, method: str, kind: NumberClass) -> None:
    numbers = [getattr(fake, method)() for _ in range(2000)]
    assert all(classify(n) is kind for n in numbers), [n for n in numbers if classify(n) is not kind][:5]
    assert len(set(numbers)) > 1500


def test_destination_mix_is_mostly_mobile_and_all_valid(fake: Faker) -> None:
    classes = [classify(fake.vn_destination_number()) for _ in range(5000)]
    assert NumberClass.OTHER not in classes
    assert 0.6 < classes.count(NumberClass.MOBILE) / len(classes) < 0.8


def test_fakers_own_vi_vn_numbers_are_mostly_invalid_which_is_why_the_provider_exists(fake: Faker) -> None:
    valid = sum(is_valid_number(fake.phone_number()) for _ in range(500))
    assert valid < 250


@pytest.mark.parametrize("number, kind", [
    ("0971234567", NumberClass.MOBILE), ("0899123456", NumberClass.MOBILE), ("02873001234", NumberClass.FIXED),
    ("02363123456", NumberClass.FIXED), ("18001234", NumberClass.TOLL_FREE), ("1900123456", NumberClass.PREMIUM),
    ("0123456789", NumberClass.OTHER), ("097123456", NumberClass.OTHER), ("0281234567", NumberClass.OTHER),
    ("+84971234567", NumberClass.OTHER), ("", NumberClass.OTHER),
])
def test_classify(number: str, kind: NumberClass) -> None:
    assert classify(number) is kind


def test_the_seed_samples_fit_the_rate_table() -> None:
    assert RATE_TABLE[NumberClass.FIXED].amount(38) == 285
    assert RATE_TABLE[NumberClass.MOBILE].amount(120) == 1600


def test_billing_blocks() -> None:
    mobile = RATE_TABLE[NumberClass.MOBILE]
    assert mobile.billable_seconds(1) == 6 and mobile.billable_seconds(7) == 7 and mobile.billable_seconds(0) == 0
    premium = RATE_TABLE[NumberClass.PREMIUM]
    assert premium.billable_seconds(61) == 120
    assert amount_for("18001234", 600) == 0
    assert amount_for("1900123456", 61) == 4000
