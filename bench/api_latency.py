"""api-latency: `closures/period` against the bare SQL aggregate it stands on.

300 agents x 1,095 days of TicketClosure rows (every agent mapped to a local user) in SQLite,
written with one `executemany`. "Today" is moved (time_machine, ticking) to the last day of the
previous month, so `period=month` is always a whole month whatever the day of the run. Each
request goes through the whole Django stack in process (`django.test.Client`, a logged-in
session, as the dashboard asks), and is timed against the aggregate that any answer needs,
`SELECT freshworks_user_id, SUM(tickets_closed) ... GROUP BY freshworks_user_id`, run through
`connection.cursor()` on the same connection, turn about, in the same run.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import time_machine
from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.test import Client, override_settings
from django.utils import timezone

from bench.environment import Context, Line, fresh_database, median, previous_month_end, profiled
from tickets.api.etag import forget_kept_answers
from tickets.models import FreshworksUserMapping, SyncRun, default_group_id

AGENTS = 300
DAYS = 3 * 365
RUNS = 15
WARM_UP = 3
TARGET_RATIO = 2.0
TARGET_304 = 1.2
FIRST_AGENT_ID = 18_000_100_000
RAW_SQL = (
    "SELECT freshworks_user_id, SUM(tickets_closed) FROM tickets_ticketclosure "
    "WHERE date BETWEEN %s AND %s GROUP BY freshworks_user_id"
)
INSERT_SQL = (
    "INSERT INTO tickets_ticketclosure "
    "(freshworks_user_id, user_id, date, tickets_closed, group_id, created_at, updated_at) "
    "VALUES (%s, %s, %s, %s, %s, %s, %s)"
)
COPY_SQL = (
    "COPY tickets_ticketclosure "
    "(freshworks_user_id, user_id, date, tickets_closed, group_id, created_at, updated_at) "
    "FROM STDIN"
)
VIEWER = "bench.viewer"


def populate(*, today: date, agents: int = AGENTS, days: int = DAYS) -> int:
    """Mapped agents with closures on each of the `days` days up to `today`; returns the rows."""
    users = get_user_model().objects.bulk_create(
        get_user_model()(username=f"agent.{n:03d}", first_name="Agent", last_name=f"{n:03d}")
        for n in range(agents)
    )
    FreshworksUserMapping.objects.bulk_create(
        FreshworksUserMapping(
            freshworks_user_id=FIRST_AGENT_ID + n, freshworks_username=f"Agent {n:03d}", user=user
        )
        for n, user in enumerate(users)
    )
    rng = random.Random(5)
    stamp = connection.ops.adapt_datetimefield_value(timezone.now())
    group = default_group_id()  # the one team (none is configured here: every row counts)
    rows = (
        (FIRST_AGENT_ID + n, user.pk, str(today - timedelta(days=back)), rng.randint(1, 15))
        for back in range(days)
        for n, user in enumerate(users)
    )
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":  # 1.8 M rows: COPY, not one INSERT per row
            with cursor.cursor.copy(COPY_SQL) as copy:
                for row in rows:
                    copy.write_row((*row, group, stamp, stamp))
        else:
            cursor.executemany(INSERT_SQL, [(*row, group, stamp, stamp) for row in rows])
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE tickets_ticketclosure")
    now = timezone.now()
    SyncRun.objects.create(
        first_date=today,
        last_date=today,
        trigger=SyncRun.Trigger.SCHEDULE,
        status=SyncRun.Status.SUCCESS,
        started_at=now - timedelta(minutes=5),
        finished_at=now - timedelta(minutes=5),
    )
    return agents * days


def run(ctx: Context) -> Line:
    today = previous_month_end(datetime.now(UTC).date())
    with time_machine.travel(datetime(today.year, today.month, today.day, 12, tzinfo=UTC)):
        fresh_database(ctx, "api-latency")
        rows = populate(today=today)
        results, not_modified = measure_ranges(ctx, today)
    return report(
        "api-latency", f"{AGENTS} agents x {DAYS:,} days ({rows:,} rows)", results, not_modified
    )


def measure_ranges(
    ctx: Context, today: date, *, not_modified: bool = True
) -> tuple[dict[str, Measured], NotModified | None]:
    """Each range's first, repeat and raw figures; a 304's against the empty view's."""
    first = signed_in(VIEWER)
    other = signed_in(f"{VIEWER}.2")
    results = {}
    for label, (start, end, query) in ranges(today).items():
        path = f"/api/tickets/closures/period?{query}"
        results[label] = _measure(first, other, path, start, end)
        if ctx.profile:
            profiled(
                lambda path=path: [_get(first, path, cold=True) for _ in range(RUNS)],
                title=f"{RUNS} first reads for {label}",
            )
    if not not_modified:
        return results, None
    with override_settings(ROOT_URLCONF="bench.urls"):
        return results, _measure_304(first, "/api/tickets/closures/period?period=month")


def ranges(today: date) -> dict[str, tuple[date, date, str]]:
    year_start = today - timedelta(days=364)
    return {
        "month": (today.replace(day=1), today, "period=month"),
        "1 year": (year_start, today, f"start={year_start}&end={today}"),
    }


def signed_in(username: str) -> Client:
    client = Client()
    client.force_login(get_user_model().objects.create_user(username))
    return client


@dataclass(frozen=True)
class Measured:
    days: int
    first: float  # median seconds of a first read (the answer computed)
    repeat: float  # of a repeat read by another client (the answer kept by its tag)
    raw: float  # of the raw aggregate
    queries: int  # of a first read, the session's included

    @property
    def ratio(self) -> float:
        return self.repeat / self.raw


@dataclass(frozen=True)
class NotModified:
    seconds: float
    empty: float
    empty_api: float  # an empty DRF view: shown, not the target's baseline
    queries_beyond_auth: int

    @property
    def ratio(self) -> float:
        return self.seconds / self.empty


def report(name: str, data: str, results: dict[str, Measured], nm: NotModified | None) -> Line:
    parts = [
        f"{label} ({m.days} days): first read {m.first * 1000:.1f} ms (x{m.first / m.raw:.2f}), "
        f"repeat read {m.repeat * 1000:.1f} ms vs raw SQL {m.raw * 1000:.1f} ms = x{m.ratio:.2f}"
        f", {m.queries} queries on a first read"
        for label, m in results.items()
    ]
    ok = all(m.ratio <= TARGET_RATIO for m in results.values())
    target = f"repeat read <= x{TARGET_RATIO} raw SQL each"
    if nm is not None:
        parts.append(
            f"304 (If-None-Match) {nm.seconds * 1000:.2f} ms vs an empty signed-in view "
            f"{nm.empty * 1000:.2f} ms = x{nm.ratio:.2f} (an empty DRF view "
            f"{nm.empty_api * 1000:.2f} ms = x{nm.empty_api / nm.empty:.2f}), "
            f"{nm.queries_beyond_auth} query beyond the session's"
        )
        ok = ok and nm.ratio <= TARGET_304 and nm.queries_beyond_auth <= 2
        target += f"; 304 <= x{TARGET_304} empty view, <= 2 queries beyond auth"
    figures = f"{data}, median of {RUNS}: " + "; ".join(parts)
    return Line(name, figures, target, ok)


def _measure(first: Client, other: Client, path: str, start: date, end: date) -> Measured:
    """Turn about: a first read (nothing kept), a repeat read by another client, the aggregate."""
    for _ in range(WARM_UP):
        _get(first, path, cold=True)
        _get(other, path)
        _raw(start, end)
    first_times, repeat_times, raw_times = [], [], []
    for _ in range(RUNS):
        first_times.append(_get(first, path, cold=True)[0])
        repeat_times.append(_get(other, path)[0])
        raw_times.append(_raw(start, end)[0])
    forget_kept_answers()
    with counted() as queries:
        _, body = _get(first, path)
    _, raw_rows = _raw(start, end)
    # The answer is the aggregate, shaped: the same total, the same agents.
    assert body["total"] == sum(total for _, total in raw_rows), path
    assert len(body["closures"]) == len(raw_rows), path
    assert _get(other, path)[1] == body, path
    return Measured(
        days=(end - start).days + 1,
        first=median(first_times),
        repeat=median(repeat_times),
        raw=median(raw_times),
        queries=len(queries),
    )


def _measure_304(client: Client, path: str) -> NotModified:
    tag = client.get(path, HTTP_ACCEPT="application/json")["ETag"]
    for _ in range(WARM_UP):
        _not_modified(client, path, tag)
        _empty(client)
    times, empty_times, api_times = [], [], []
    for _ in range(RUNS * 2):
        times.append(_not_modified(client, path, tag))
        empty_times.append(_empty(client))
        api_times.append(_empty(client, "/bench/empty-api"))
    with counted() as baseline:
        _empty(client)
    with counted() as queries:
        _not_modified(client, path, tag)
    return NotModified(
        seconds=median(times),
        empty=median(empty_times),
        empty_api=median(api_times),
        queries_beyond_auth=len(queries) - len(baseline),
    )


@contextmanager
def counted() -> Iterator[list[str]]:
    """The SQL run inside the block, each statement once (executemany counts one)."""
    statements: list[str] = []

    def count(execute, sql, params, many, context):
        statements.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(count):
        yield statements


def _get(client: Client, path: str, *, cold: bool = False) -> tuple[float, dict]:
    if cold:
        forget_kept_answers()  # a first read: nothing kept for it
    start = time.perf_counter()
    response = client.get(path, HTTP_ACCEPT="application/json")
    seconds = time.perf_counter() - start
    assert response.status_code == 200, (path, response.status_code, response.content[:200])
    return seconds, response.json()


def _not_modified(client: Client, path: str, tag: str) -> float:
    start = time.perf_counter()
    response = client.get(path, HTTP_ACCEPT="application/json", HTTP_IF_NONE_MATCH=tag)
    seconds = time.perf_counter() - start
    assert response.status_code == 304, (path, response.status_code)
    return seconds


def _empty(client: Client, path: str = "/bench/empty") -> float:
    start = time.perf_counter()
    response = client.get(path, HTTP_ACCEPT="application/json")
    seconds = time.perf_counter() - start
    assert response.status_code == 204, response.status_code
    return seconds


def _raw(start: date, end: date) -> tuple[float, list[tuple[int, int]]]:
    began = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(RAW_SQL, [str(start), str(end)])
        rows = cursor.fetchall()
    return time.perf_counter() - began, rows
