"""The call index answers like a brute-force scan, for any window, source, offset and limit."""

from __future__ import annotations

from hypothesis import given, settings, strategies as st

from mockpbx.clock import ControllableClock
from mockpbx.domain.calllog import CallLog, CallPage
from mockpbx.domain.calls import Call, CallTable, page_of, page_runs
from mockpbx.domain.window import Page, Window

SOURCES = ["0899123456", "02873001234", "0971234567"]

calls_strategy = st.lists(
    st.builds(Call, start_time=st.integers(1_000, 1_300), duration=st.integers(0, 50),
              source=st.sampled_from(SOURCES), destination=st.sampled_from(["0912345678", "1800123456", "x-odd"]),
              amount=st.integers(0, 5000)),
    max_size=60)


def brute_force(tables: list[list[Call]], window: Window, source: str | None,
                offset: int, limit: int) -> tuple[int, list[Call]]:
    # The documented order: newest first; ties: later table, then later position, first.
    keyed = [((c.start_time, t, i), c) for t, calls in enumerate(tables)
             for i, c in enumerate(sorted(calls, key=lambda c: c.start_time))
             if window.start <= c.start_time <= window.end and (source is None or c.source == source)]
    keyed.sort(key=lambda kc: kc[0], reverse=True)
    return len(keyed), [c for _, c in keyed[offset:offset + limit]]


@settings(max_examples=300, deadline=None)
@given(explicit=calls_strategy, generated=calls_strategy,
       start=st.integers(990, 1310), length=st.integers(0, 320),
       source=st.one_of(st.none(), st.sampled_from(SOURCES + ["nobody"])),
       offset=st.integers(0, 130), limit=st.integers(1, 25))
def test_union_of_tables_matches_brute_force(explicit: list[Call], generated: list[Call], start: int,
                                             length: int, source: str | None, offset: int, limit: int) -> None:
    tables = [CallTable(sorted(explicit, key=lambda c: c.start_time), tag=0),
              CallTable(sorted(generated, key=lambda c: c.start_time), tag=1)]
    window = Window(start, start + length)
    spans = [t.span(window.start, window.end, source) for t in tables]
    assert page_of(spans, offset, limit) == brute_force([explicit, generated], window, source, offset, limit)


@settings(max_examples=300, deadline=None)
@given(explicit=st.one_of(st.just([]), calls_strategy), generated=calls_strategy, start=st.integers(990, 1310),
       length=st.integers(0, 320), source=st.one_of(st.none(), st.sampled_from(SOURCES)),
       offset=st.integers(0, 40), limit=st.integers(1, 25), some_shown_before=st.booleans())
def test_page_bytes_equal_json_dumps_across_tables(explicit: list[Call], generated: list[Call], start: int,
                                                   length: int, source: str | None, offset: int, limit: int,
                                                   some_shown_before: bool) -> None:
    # A page is answered by joining each call's kept JSON, read as runs of one table (a slice
    # read backwards, or source positions): the same bytes as json.dumps of the page, whether
    # none, some or all of its calls were encoded by an earlier page.
    tables = [CallTable(sorted(explicit, key=lambda c: c.start_time), tag=0),
              CallTable(sorted(generated, key=lambda c: c.start_time), tag=1)]
    if some_shown_before:
        for table in tables:
            for position in range(0, len(table), 3):
                table.encoded(position)
    spans = [t.span(start, start + length, source) for t in tables]
    total, runs = page_runs(spans, offset, limit)
    page = CallPage(runs, limit, offset, total)
    first = page.to_bytes()  # encodes what was not kept yet
    assert first == page.to_bytes() == page.reference_bytes()  # the second: every call kept
    assert (total, page.calls) == brute_force([explicit, generated], window=Window(start, start + length),
                                              source=source, offset=offset, limit=limit)


@settings(max_examples=100, deadline=None)
@given(calls=calls_strategy, offset=st.integers(0, 70), limit=st.integers(1, 30))
def test_single_table_pages_are_disjoint_and_cover_total(calls: list[Call], offset: int, limit: int) -> None:
    table = CallTable(sorted(calls, key=lambda c: c.start_time))
    total, _ = page_of([table.span(0, 10_000, None)], 0, 1)
    seen: list[Call] = []
    for page_offset in range(0, total + limit, limit):
        _, page = page_of([table.span(0, 10_000, None)], page_offset, limit)
        seen.extend(page)
    assert len(seen) == total == len(calls)
    assert [c.start_time for c in seen] == sorted((c.start_time for c in calls), reverse=True)


def test_calls_round_trip_through_the_columns() -> None:
    calls = [Call(5, 38, "0899123456", "0123456789", 285), Call(5, 0, "src", "+84 not digits", 0),
             Call(9, 120, "0899123456", "00000000000000000", 1600)]
    table = CallTable(calls)
    assert list(table) == calls
    assert table.sources == ["0899123456", "src"]


def test_added_calls_with_equal_start_times_come_newest_added_first() -> None:
    log = CallLog(ControllableClock(start=0, frozen=True))
    first, second = Call(100, 1, "a", "b", 0), Call(100, 2, "a", "b", 0)
    log.add_calls("d", [first])
    log.add_calls("d", [second])
    page = log.query("d", Window(0, 200), None, Page(10, 0))
    assert page.calls == [second, first] and page.total == 2


def test_unknown_domain_has_no_calls() -> None:
    page = CallLog(ControllableClock(start=0)).query("nobody", Window(0, 10**9), None, Page())
    assert page.total == 0 and page.calls == []
