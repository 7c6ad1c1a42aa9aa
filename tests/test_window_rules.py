"""The call-log query rules, without Flask: dates, the 31-day window, paging values."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings as hypothesis_settings, strategies as st

from mockpbx.domain.errors import InvalidRequestError
from mockpbx.domain.window import (
    LIMIT_DEFAULT,
    LIMIT_MAX,
    OFFSET_MAX,
    RANGE_TOO_LONG,
    Page,
    make_page,
    make_window,
    normalise_source,
    parse_uint,
)

VN = ZoneInfo("Asia/Ho_Chi_Minh")


def test_window_is_read_in_local_time_and_inclusive() -> None:
    window = make_window("2021-06-01 00:00:00", "2021-06-01 23:59:59", VN)
    assert window.start == 1622480400  # 2021-05-31T17:00:00Z
    assert window.end - window.start == 86399


def test_exactly_31_days_is_allowed_and_one_second_more_is_not() -> None:
    make_window("2021-01-01 00:00:00", "2021-02-01 00:00:00", VN)
    with pytest.raises(InvalidRequestError) as error:
        make_window("2021-01-01 00:00:00", "2021-02-01 00:00:01", VN)
    assert error.value.message == RANGE_TOO_LONG == "date range must be in 31 days"


def test_the_31_days_are_wall_clock_days_across_a_dst_change() -> None:
    berlin = ZoneInfo("Europe/Berlin")  # 2021-03-28 has 23 hours there
    make_window("2021-03-01 00:00:00", "2021-04-01 00:00:00", berlin)
    with pytest.raises(InvalidRequestError):
        make_window("2021-03-01 00:00:00", "2021-04-01 00:00:01", berlin)


def test_start_after_end_is_rejected() -> None:
    with pytest.raises(InvalidRequestError, match="start_date must not be after end_date"):
        make_window("2021-06-02 00:00:00", "2021-06-01 00:00:00", VN)


def test_equal_start_and_end_is_a_one_second_window() -> None:
    window = make_window("2021-06-01 10:00:00", "2021-06-01 10:00:00", VN)
    assert window.start == window.end


@pytest.mark.parametrize("value", [
    "0000-01-01 00:00:00", "2147-02-30 00:00:00", "2021-13-01 00:00:00", "2021-02-29 00:00:00",
    "2021-01-01 24:00:00", "2021-01-01 00:60:00", "2021-01-01 00:00:60", "2021-01-01T00:00:00",
    "2021-01-01", "2021-1-01 00:00:00", " 2021-01-01 00:00:00", "2021-01-01 00:00:00Z",
    "２０２１-01-01 00:00:00", "", "2021-01-01 00:00:00\n",
    "0999-12-01 00:00:00", "0001-01-01 00:00:00",  # years before 1000: outside the contract's pattern (were 200)
])
def test_impossible_or_malformed_dates_are_rejected(value: str) -> None:
    with pytest.raises(InvalidRequestError, match="start_date"):
        make_window(value, "2021-01-02 00:00:00", VN)


def test_missing_dates_are_rejected_by_name() -> None:
    with pytest.raises(InvalidRequestError, match="start_date is required"):
        make_window(None, "2021-01-02 00:00:00", VN)
    with pytest.raises(InvalidRequestError, match="end_date is required"):
        make_window("2021-01-02 00:00:00", None, VN)


def test_extreme_years_do_not_crash() -> None:
    make_window("1000-01-01 00:00:00", "1000-01-31 00:00:00", VN)
    make_window("9999-12-01 00:00:00", "9999-12-31 23:59:59", VN)


def test_paging_defaults_and_bounds() -> None:
    assert make_page(None, None) == make_page("10", "0")
    assert make_page("1", "0").limit == 1
    assert make_page("1000", "2147483647").offset == 2147483647
    assert make_page("007", "00").limit == 7


@pytest.mark.parametrize("limit, offset", [
    ("0", None), ("1001", None), ("-1", None), ("+5", None), (" 5", None), ("5.0", None), ("1e2", None),
    ("５", None), ("", None), ("99999999999999999999999", None), (None, "-1"), (None, "2147483648"),
    (None, "x"), (None, ""),
])
def test_bad_paging_values_are_rejected(limit: str | None, offset: str | None) -> None:
    with pytest.raises(InvalidRequestError, match="limit|offset"):
        make_page(limit, offset)


def test_empty_source_means_no_filter_and_long_sources_are_rejected() -> None:
    assert normalise_source("") is None
    assert normalise_source(None) is None
    assert normalise_source("0899123456") == "0899123456"
    with pytest.raises(InvalidRequestError, match="source"):
        normalise_source("1" * 65)


@hypothesis_settings(max_examples=500, deadline=None)
@given(st.one_of(st.none(), st.text("0123456789 +-x\u00b9\u0663", max_size=12)),
       st.one_of(st.none(), st.text("0123456789 +-x\u00b9\u0663", max_size=12)))
def test_usual_paging_values_are_read_as_the_rule_reads_every_value(limit: str | None, offset: str | None) -> None:
    # make_page reads short plain digits directly; the answer (or the error) is parse_uint's.
    def by_rule() -> object:
        try:
            return Page(parse_uint("limit", limit, LIMIT_DEFAULT, 1, LIMIT_MAX),
                        parse_uint("offset", offset, 0, 0, OFFSET_MAX))
        except InvalidRequestError as error:
            return str(error)
    try:
        got: object = make_page(limit, offset)
    except InvalidRequestError as error:
        got = str(error)
    assert got == by_rule()
