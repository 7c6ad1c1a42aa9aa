"""Probes over a sample of real calls: paging, order across pages, the source filter, and the
time zone the host reads windows in."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import timedelta
from itertools import pairwise

from mockpbx.conformance import rules
from mockpbx.verify.client import Exchange
from mockpbx.verify.probes import ProbeContext, describe_answer, describe_page, window_query

#: Most pages fetched when paging through the sample (plus the checks around them).
MAX_PAGES = 6
#: The largest page the contract allows.
FULL_PAGE = 1000
#: Half-width of the narrow window that pins down a time-zone offset.
ZONE_PROBE = timedelta(hours=6)
SECOND = timedelta(seconds=1)


@dataclass
class Sample:
    """Calls of the sample window: all of them (`complete`) or the first pages."""

    records: list[object]
    complete: bool
    total: int
    #: Why there are no records although the window may hold calls (its first page could not be read).
    unread: str | None = None

    def nothing_to_check(self) -> str:
        """Why a check that needs calls of the sample cannot run."""
        return ("the sample window's first page could not be read (see paging)" if self.unread
                else "no calls in the sample window")


def probe_paging(ctx: ProbeContext) -> Sample:
    """Page through the sample window: echo, stable total, disjoint pages that add up, empty past the end."""
    options, verify = ctx.options, ctx.results.verify
    base = window_query(options.window_start, options.window_end)
    exchange, body = ctx.page("paging", base)
    if body is None:
        why = describe_page(exchange)
        ctx.results.fail("paging", f"expected 200 with a page for the sample window, got {why}", exchange)
        return Sample([], False, 0, unread=why)
    total = int(str(body["total"]))
    if total == 0:
        ctx.results.skip("paging", "no calls in the sample window: widen --window-start/--window-end")
        return Sample([], True, 0)
    covered = min(total, FULL_PAGE)
    full: list[object] | None = None
    if total <= FULL_PAGE:
        exchange, body = ctx.page("paging", base | {"limit": total})
        if body is None:
            ctx.results.fail("paging", f"expected 200 for limit={total}, got {describe_page(exchange)}", exchange)
        else:
            verify("paging", exchange, rules.check_total_stable, total, body["total"], 0)
            full = body["data"] if isinstance(body["data"], list) else None
    size = max(1, -(-covered // MAX_PAGES))
    pages, exchange = _pages(ctx, base, total, covered, size, exchange)
    verify("paging", exchange, rules.check_pages_cover, pages, total, full)
    joined = [record for _, data in pages for record in data]
    verify("newest_first", exchange, rules.check_newest_first, joined)
    _past_the_end(ctx, base, total, size)
    records = full if full is not None else joined
    return Sample(records, full is not None, total)


def _pages(ctx: ProbeContext, base: dict[str, object], total: int, covered: int, size: int,
           exchange: Exchange) -> tuple[list[tuple[int, list[object]]], Exchange]:
    """Fetch pages of `size` from offset 0 until `covered` calls are in; the pages and the last exchange."""
    pages: list[tuple[int, list[object]]] = []
    for offset in range(0, covered, size)[:MAX_PAGES + 1]:
        ctx.progress(f"business rules: paging, offset {offset} of {total}")
        exchange, body = ctx.page("paging", base | {"limit": size, "offset": offset})
        if body is None:
            ctx.results.fail("paging", f"expected 200 for the page at offset {offset}, got {describe_page(exchange)}",
                             exchange)
            break
        ctx.results.verify("paging", exchange, rules.check_total_stable, total, body["total"], offset)
        pages.append((offset, body["data"] if isinstance(body["data"], list) else []))
    return pages, exchange


def _past_the_end(ctx: ProbeContext, base: dict[str, object], total: int, size: int) -> None:
    """The page at offset total is empty (the page rules check it), and total does not move."""
    exchange, body = ctx.page("paging", base | {"limit": size, "offset": total})
    if body is not None:
        ctx.results.verify("paging", exchange, rules.check_total_stable, total, body["total"], total)
    if total > FULL_PAGE:
        ctx.page("paging", base | {"limit": size, "offset": total - 1})


def probe_source_filter(ctx: ProbeContext, sample: Sample) -> None:
    """Ask for the calls of one source: only they come back and, with a complete sample, all of them."""
    counts = Counter(r.get("source") for r in sample.records if isinstance(r, dict) and isinstance(r.get("source"), str))
    if not counts:
        ctx.results.skip("source_filter", f"{sample.nothing_to_check()}: no source to pick")
        return
    source = min(counts, key=lambda s: (counts[s], str(s)))
    expected = counts[source] if sample.complete else None
    limit = min(FULL_PAGE, expected or FULL_PAGE)
    query = window_query(ctx.options.window_start, ctx.options.window_end, source=source, limit=limit)
    exchange, body = ctx.page("source filter", query)
    if body is None:
        ctx.results.fail("source_filter", f"expected 200 for source={source}, got {describe_answer(exchange)}",
                         exchange)
    elif expected is not None:
        ctx.results.verify("source_filter", exchange, _same_total, source, expected, body["total"])


def _same_total(source: object, expected: int, total: object) -> None:
    if not (total == expected):
        raise rules.RuleViolation(f"source={source!r}: expected total {expected} (its calls in the unfiltered "
                               f"listing), got {total!r}")


def probe_time_zone(ctx: ProbeContext, sample: Sample) -> None:
    """Ask for windows whose calls are known: the quietest stretch of the sample (no calls in it,
    busy hours on both sides) and a few hours around a known call. A host that reads windows in
    another time zone answers with calls from outside them."""
    times = sorted(t for t in (rules.local_start(r, ctx.options.zone, ctx.profile.read_time)
                               for r in sample.records) if t is not None)
    if not times:
        ctx.results.skip("records_in_window", sample.nothing_to_check())
        return
    quiet_start, quiet_end = max(pairwise(times), key=lambda pair: pair[1] - pair[0], default=(None, None))
    if quiet_start is not None and quiet_end is not None and quiet_end - quiet_start > 2 * SECOND:
        ctx.page("time zone", window_query(quiet_start + SECOND, quiet_end - SECOND, limit=FULL_PAGE))
    center = times[len(times) // 2]
    ctx.page("time zone", window_query(center - ZONE_PROBE, center + ZONE_PROBE, limit=FULL_PAGE))


def diagnose_time_zone(ctx: ProbeContext) -> None:
    """When calls fall outside their windows, say whether one constant offset explains them all."""
    result = ctx.results.check("records_in_window")
    if not result.failed or not ctx.samples:
        return
    shift = rules.window_shift(ctx.samples)
    text = rules.describe_shift(shift, ctx.options.zone, ctx.options.window_end) if shift else None
    if text:
        result.notes.append(text)
