"""sync-overhead: what a sync costs on top of reading the same pages.

The stand-in is frozen at the moment when exactly 20,000 tickets have changed since the start
of the sync's first day. Then, in turns, (a) `sync_closures` of that day to today, forced, on a
fresh database copy, and (b) bare paging: a plain `requests.Session` asking the same
`updated_since`, `include=stats`, `per_page=100` with `page=1, 2, ...` while the `link` header
says more follow, and decoding each page with `.json()`. Both read the same responses from the
same server in the same process (the sync also reads the team's group first, one small call),
so the ratio is what the client's parsing and the database writes add; the client decodes the
pages with orjson, faster than `.json()`. Peak memory is measured afterwards, in separate runs
under tracemalloc (which slows Python down).
"""

from __future__ import annotations

import time
import tracemalloc
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import requests

from bench.environment import (
    Clock,
    Context,
    Line,
    StandIn,
    day_start,
    first_updates,
    fresh_database,
    knows_the_agents,
    profiled,
    stand_in,
    ticket_changes,
)
from tickets.models import SyncRun
from tickets.services.sync import SyncResult, sync_closures

TICKETS = 20_000
AGENTS = 300
WORLD_DAYS = 14  # enough history for 20,000 changed tickets with 300 agents
REPEATS = 5
TARGET_RATIO = 1.2


def run(ctx: Context) -> Line:
    now = datetime.now(UTC).replace(microsecond=0)
    today = now.date()
    clock = Clock(now)
    with stand_in(clock, agents=AGENTS, days=WORLD_DAYS) as upstream:
        first, clock.now = _window(upstream, today=today, now=now)
        since = day_start(first).strftime("%Y-%m-%dT%H:%M:%SZ")

        fetched_at: list[float] = []  # when the last page was in: the rest is the writing

        def sync() -> SyncResult:
            return sync_closures(
                first=first,
                last=today,
                trigger=SyncRun.Trigger.COMMAND,
                force=True,
                on_page=lambda pages, tickets: fetched_at.append(time.perf_counter()),
            )

        def page_through() -> tuple[int, int]:
            return _bare_paging(upstream.endpoint, upstream.api_key, since)

        sync_times, fetch_times, bare_times = [], [], []
        for repeat in range(REPEATS):
            fresh_database(ctx, f"sync-overhead-{repeat}")
            knows_the_agents(upstream)
            before = upstream.calls
            start = time.perf_counter()
            seconds, result = _timed(sync)
            sync_times.append(seconds)
            fetch_times.append(fetched_at[-1] - start)
            sync_pages = upstream.calls - before
            seconds, (pages, tickets) = _timed(page_through)
            bare_times.append(seconds)
            # The sync's calls: the team's group (a forced sync reads it), then the pages.
            assert (
                (result.tickets_processed, result.api_calls)
                == (tickets, 1 + pages)
                == (
                    tickets,
                    sync_pages,
                )
            ), "the sync and bare paging read different answers"

        fresh_database(ctx, "sync-overhead-memory")
        knows_the_agents(upstream)
        sync_peak, _ = _peak(sync)
        bare_peak, _ = _peak(page_through)
        if ctx.profile:
            fresh_database(ctx, "sync-overhead-profile")
            knows_the_agents(upstream)
            profiled(sync, title=f"a sync of {tickets} tickets")

    # Best of the repetitions: other work on the machine only ever adds time.
    best = sync_times.index(min(sync_times))
    sync_s, fetch_s, bare_s = sync_times[best], fetch_times[best], min(bare_times)
    ratio = sync_s / bare_s
    figures = (
        f"T={tickets:,} tickets ({first}..{today}), {pages} pages: sync {sync_s:.2f} s "
        f"(fetch+parse {fetch_s:.2f} s, write {sync_s - fetch_s:.2f} s) vs bare paging "
        f"{bare_s:.2f} s = x{ratio:.2f} (best of {REPEATS} each); peak memory (tracemalloc) "
        f"sync {sync_peak / 2**20:.1f} MiB, bare paging {bare_peak / 2**20:.1f} MiB"
    )
    return Line("sync-overhead", figures, f"ratio <= {TARGET_RATIO}", ratio <= TARGET_RATIO)


def _window(upstream: StandIn, *, today: date, now: datetime) -> tuple[date, datetime]:
    """The latest first day with TICKETS changes since it, and the moment they are all in."""
    changes = ticket_changes(upstream)
    for back in range(1, WORLD_DAYS):
        first = today - timedelta(days=back)
        firsts = first_updates(changes, day_start(first))
        if len(firsts) >= TICKETS and firsts[TICKETS - 1] <= now:
            return first, firsts[TICKETS - 1]
    raise RuntimeError(f"the stand-in's {WORLD_DAYS} days hold fewer than {TICKETS} tickets")


def _bare_paging(endpoint: str, api_key: str, since: str) -> tuple[int, int]:
    """(pages, tickets) read with nothing but requests: the floor any sync stands on."""
    pages = tickets = 0
    params = {"updated_since": since, "include": "stats", "per_page": "100"}
    with requests.Session() as session:
        more = True
        while more:
            # As the client does (SPEC §14.1): the link carries only the page, so each page is
            # asked for with the query's own parameters; the link only says more follow.
            response = session.get(
                endpoint + "tickets",
                params=params | {"page": str(pages + 1)},
                auth=(api_key, "X"),
                timeout=30,
            )
            response.raise_for_status()
            tickets += len(response.json()["tickets"])
            pages += 1
            more = "next" in response.links
    return pages, tickets


def _timed(function: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    value = function()
    return time.perf_counter() - start, value


def _peak(function: Callable[[], Any]) -> tuple[int, Any]:
    """Peak bytes allocated by Python while `function` runs (the stand-in's thread included)."""
    tracemalloc.start()
    try:
        value = function()
        return tracemalloc.get_traced_memory()[1], value
    finally:
        tracemalloc.stop()
