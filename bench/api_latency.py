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
from datetime import UTC, date, datetime, timedelta

import time_machine
from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from bench.environment import Context, Line, fresh_database, median, previous_month_end, profiled
from tickets.models import FreshworksUserMapping, SyncRun

AGENTS = 300
DAYS = 3 * 365
RUNS = 15
WARM_UP = 3
TARGET_RATIO = 2.0
FIRST_AGENT_ID = 18_000_100_000
RAW_SQL = (
    "SELECT freshworks_user_id, SUM(tickets_closed) FROM tickets_ticketclosure "
    "WHERE date BETWEEN %s AND %s GROUP BY freshworks_user_id"
)
INSERT_SQL = (
    "INSERT INTO tickets_ticketclosure "
    "(freshworks_user_id, user_id, date, tickets_closed, created_at, updated_at) "
    "VALUES (%s, %s, %s, %s, %s, %s)"
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
    rows = [
        (FIRST_AGENT_ID + n, user.pk, str(today - timedelta(days=back)), rng.randint(1, 15))
        for back in range(days)
        for n, user in enumerate(users)
    ]
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.executemany(INSERT_SQL, [(*row, stamp, stamp) for row in rows])
    now = timezone.now()
    SyncRun.objects.create(
        first_date=today,
        last_date=today,
        trigger=SyncRun.Trigger.SCHEDULE,
        status=SyncRun.Status.SUCCESS,
        started_at=now - timedelta(minutes=5),
        finished_at=now - timedelta(minutes=5),
    )
    return len(rows)


def run(ctx: Context) -> Line:
    today = previous_month_end(datetime.now(UTC).date())
    with time_machine.travel(datetime(today.year, today.month, today.day, 12, tzinfo=UTC)):
        fresh_database(ctx, "api-latency")
        rows = populate(today=today)
        client = Client()
        client.force_login(get_user_model().objects.create_user(VIEWER))
        ranges = {
            "month": (today.replace(day=1), today, "period=month"),
            "1 year": (today - timedelta(days=364), today, None),
        }
        results = {}
        for label, (start, end, query) in ranges.items():
            query = query or f"start={start}&end={end}"
            results[label] = _measure(client, f"/api/tickets/closures/period?{query}", start, end)
            if ctx.profile:
                path = f"/api/tickets/closures/period?{query}"
                profiled(
                    lambda path=path: [_get(client, path) for _ in range(RUNS)],
                    title=f"{RUNS} requests for {label}",
                )

    parts = []
    for label, (start, end, _) in ranges.items():
        app, raw, queries = results[label]
        days = (end - start).days + 1
        parts.append(
            f"{label} ({days} days): {app * 1000:.1f} ms vs raw SQL {raw * 1000:.1f} ms "
            f"= x{app / raw:.2f}, {queries} queries/request"
        )
    worst = max(app / raw for app, raw, _ in results.values())
    figures = f"{AGENTS} agents x {DAYS:,} days ({rows:,} rows), median of {RUNS}: " + "; ".join(
        parts
    )
    return Line("api-latency", figures, f"ratio <= {TARGET_RATIO} each", worst <= TARGET_RATIO)


def _measure(client: Client, path: str, start: date, end: date) -> tuple[float, float, int]:
    """Median seconds of the request and of the raw aggregate, and the request's query count."""
    for _ in range(WARM_UP):
        _get(client, path)
        _raw(start, end)
    app_times, raw_times = [], []
    for _ in range(RUNS):
        app_times.append(_get(client, path)[0])
        raw_times.append(_raw(start, end)[0])
    with CaptureQueriesContext(connection) as queries:
        _, body = _get(client, path)
    _, raw_rows = _raw(start, end)
    # The answer is the aggregate, shaped: the same total, the same agents.
    assert body["total"] == sum(total for _, total in raw_rows), path
    assert len(body["closures"]) == len(raw_rows), path
    return median(app_times), median(raw_times), len(queries.captured_queries)


def _get(client: Client, path: str) -> tuple[float, dict]:
    start = time.perf_counter()
    response = client.get(path, HTTP_ACCEPT="application/json")
    seconds = time.perf_counter() - start
    assert response.status_code == 200, (path, response.status_code, response.content[:200])
    return seconds, response.json()


def _raw(start: date, end: date) -> tuple[float, list[tuple[int, int]]]:
    began = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(RAW_SQL, [str(start), str(end)])
        rows = cursor.fetchall()
    return time.perf_counter() - began, rows
