"""sync-calls and sync-calls-hourly: how many upstream calls a sync makes.

A list call returns at most 100 tickets, so T updated tickets cannot take fewer than
ceil(T/100) calls (one call when there are none). The day's first sync also reads the team's
group (`GET groups/{id}`, SPEC §14.2), once a day: 1 + ceil(T/100). Both benchmarks run the real
`sync_closures` against the stand-in over HTTP, with the app's clock moved by time_machine to
the stand-in's, and count calls twice: the client's `api_calls` and the stand-in's own counter.
"""

from __future__ import annotations

import math
from datetime import date, timedelta

import time_machine

from bench.environment import (
    Clock,
    Context,
    Line,
    day_start,
    first_updates,
    fresh_database,
    knows_the_agents,
    stand_in,
    ticket_changes,
)
from tickets.models import SyncRun, TicketClosure
from tickets.services.sync import sync_closures

AGENTS = 300  # the largest desk SPEC §1 names
# A Tuesday of the generated world with about 2,080 closures by 300 agents (the world is a pure
# function of the seed, the team and the day, so the figures repeat run after run).
DAY = date(2026, 11, 17)
SIZES = (1, 100, 101, 250, 2000)
MIN_CLOSURES = 2000
FIRST_HOUR, LAST_HOUR = 8, 18  # SYNC_SCHEDULE's default, 0 8-18 * * *
CRON_JITTER = timedelta(seconds=20)  # a job starts a little after the hour


def minimum_calls(tickets: int) -> int:
    """The list calls T updated tickets need."""
    return max(1, math.ceil(tickets / 100))


def first_sync_calls(tickets: int) -> int:
    """A day's first sync: the team's group, then the list calls."""
    return 1 + minimum_calls(tickets)


def run_calls(ctx: Context) -> Line:
    """A first sync of DAY with the stand-in's clock where exactly T tickets changed since 00:00."""
    clock = Clock(day_start(DAY) + timedelta(days=1))
    measured = []
    with stand_in(clock, agents=AGENTS, days=2) as upstream:
        firsts = first_updates(ticket_changes(upstream), day_start(DAY))
        for size in SIZES:
            moment = firsts[size - 1]
            assert moment.date() == DAY, f"{DAY} has fewer than {size} changed tickets"
            clock.now = moment
            fresh_database(ctx, f"sync-calls-{size}")
            knows_the_agents(upstream)
            before = upstream.calls
            with time_machine.travel(moment, tick=False):
                result = sync_closures(first=DAY, trigger=SyncRun.Trigger.COMMAND)
            measured.append((result.tickets_processed, result.api_calls, upstream.calls - before))

    ok = all(calls == served == first_sync_calls(t) for t, calls, served in measured)
    detail = ", ".join(
        f"T={t}: {calls}" + ("" if calls == served else f" (stand-in {served})")
        for t, calls, served in measured
    )
    agree = "client and stand-in counts agree" if ok else "see each T"
    return Line(
        "sync-calls",
        f"first sync of a day, calls per T updated tickets: {detail}; {agree}",
        "calls = 1 (the group) + ceil(T/100) each",
        ok,
    )


def run_hourly(ctx: Context) -> Line:
    """A working day on the default schedule: the 08:00 sync, then hourly incremental ones."""
    clock = Clock(day_start(DAY))
    hours = []
    with stand_in(clock, agents=AGENTS, days=2) as upstream:
        day_end = day_start(DAY) + timedelta(days=1)
        closures = sum(upstream.world.expected_closures(now=day_end)[DAY].values())
        assert closures >= MIN_CLOSURES, f"{DAY} has only {closures} closures"
        fresh_database(ctx, "sync-calls-hourly")
        knows_the_agents(upstream)
        for hour in range(FIRST_HOUR, LAST_HOUR + 1):
            moment = day_start(DAY) + timedelta(hours=hour) + CRON_JITTER
            clock.now = moment
            before = upstream.calls
            with time_machine.travel(moment, tick=False):
                result = sync_closures(first=DAY, trigger=SyncRun.Trigger.SCHEDULE)
            served = upstream.calls - before
            hours.append((hour, result.tickets_processed, result.api_calls, served))
        expected = upstream.world.expected_closures(now=clock.now).get(DAY, {})

    stored = dict(
        TicketClosure.objects.filter(date=DAY).values_list("freshworks_user_id", "tickets_closed")
    )
    (_, first_tickets, first_calls, _), *hourly = hours  # 08:00 is the day's first, from 00:00
    calls = [calls for _, _, calls, _ in hourly]
    tickets = [t for _, t, _, _ in hourly]
    minimal = all(c == served == minimum_calls(t) for _, t, c, served in hourly)
    figures = (
        f"{AGENTS} agents, {closures:,} closures on {DAY:%a %Y-%m-%d}; hourly syncs "
        f"{FIRST_HOUR + 1:02d}:00-{LAST_HOUR:02d}:00 made {'/'.join(map(str, calls))} calls "
        f"for {min(tickets)}-{max(tickets)} updated tickets (10-min overlap incl.), "
        f"{'each = ceil(T/100)' if minimal else 'NOT ceil(T/100)'}; first sync "
        f"{FIRST_HOUR:02d}:00: {first_tickets} tickets, {first_calls} calls "
        f"(the group's read incl.); counts "
        f"{'match' if stored == expected else 'DIFFER FROM'} the stand-in"
    )
    return Line(
        "sync-calls-hourly",
        figures,
        "<= 2 calls per hourly sync",
        max(calls) <= 2 and stored == expected,
    )
