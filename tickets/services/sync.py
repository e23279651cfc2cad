"""The sync (SPEC §6): fetch changed tickets from Freshservice, keep those that count, recount days.

The order of a sync, and why:
1. claim the database lease (one sync at a time across workers and hosts), then
2. check the per-date rate limit (inside the lease, so two syncs started together cannot both
   pass the check and both fetch),
3. fetch everything first, then
4. write everything in one transaction: per-ticket rows, the recounted days, the bookkeeping.
A failure anywhere before the commit leaves nothing behind but a failed SyncRun.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import NamedTuple

from django.conf import settings
from django.db import OperationalError, connection, transaction
from django.db.models import Count, Q
from django.utils import timezone

from freshworks.client import FreshserviceClient, FreshworksError, Ticket
from tickets import selectors
from tickets.freshservice_config import FreshserviceConfig, freshservice_config
from tickets.models import (
    ClosedTicket,
    FreshworksUserMapping,
    SyncLease,
    SyncRun,
    TicketClosure,
    TicketSyncMetadata,
    dates_label,
)

logger = logging.getLogger("tickets.sync")

# Every incremental fetch reaches this far behind the watermark: a ticket updated while the last
# sync was paging may have missed it, and Freshservice's own clock may run a little behind ours.
OVERLAP = timedelta(minutes=10)
# The longest a sync started from an HTTP request waits on Retry-After in total (SPEC §6).
REQUEST_MAX_WAIT_SECONDS = 20
# SQLite allows a limited number of query parameters; stay well below it.
CHUNK = 500
LEASE_NAME = "sync"
LEASE_RENEW_SECONDS = 30


class SyncError(Exception):
    """A sync that did not happen; the message is one line a person can act on."""


class SyncNotConfigured(SyncError):
    pass


class SyncRequestError(SyncError, ValueError):
    """The dates asked for make no sense (backwards, in the future)."""


class SyncInProgress(SyncError):
    def __init__(self) -> None:
        super().__init__("Another sync is running; its numbers will appear when it finishes.")


class SyncRateLimited(SyncError):
    def __init__(self, *, dates: list[date], next_sync_at: datetime, minutes: int) -> None:
        self.dates = dates
        self.next_sync_at = next_sync_at
        self.minutes_until_next_sync = minutes
        names = ", ".join(day.isoformat() for day in dates)
        local = timezone.localtime(next_sync_at)
        super().__init__(
            f"{names} synced less than {settings.SYNC_MIN_INTERVAL_MINUTES} minutes ago; "
            f"next sync allowed at {local:%Y-%m-%d %H:%M %Z} (in {minutes} min)."
        )


class SyncFailed(SyncError):
    def __init__(self, reason: str, *, run: SyncRun) -> None:
        self.run = run
        super().__init__(reason)


class LeaseLost(SyncError):
    def __init__(self) -> None:
        super().__init__(
            "The sync lost its lease (it ran longer than the lease allows); nothing was written."
        )


@dataclass(frozen=True)
class SyncResult:
    run: SyncRun
    first_date: date
    last_date: date
    fetched_from: datetime
    tickets_processed: int
    api_calls: int
    dates_recounted: list[date]
    next_sync_at: datetime


def sync_closures(
    *,
    first: date | None = None,
    last: date | None = None,
    trigger: SyncRun.Trigger,
    force: bool = False,
    max_wait: float | None = None,
    client: FreshserviceClient | None = None,
    on_page: Callable[[int, int], None] | None = None,
) -> SyncResult:
    """Sync the closures of `first`..`last` (default today; one day when `last` is omitted).

    Raises SyncNotConfigured, SyncRequestError, SyncInProgress or SyncRateLimited without
    touching anything, and SyncFailed (after recording a failed SyncRun) when the fetch or the
    write fails. `on_page(pages, tickets)` is called after each page fetched.
    """
    today = timezone.localdate()
    first = first or today
    last = last or first
    if last < first:
        raise SyncRequestError(f"The range is backwards: {first} is after {last}.")
    if last > today:
        raise SyncRequestError(f"{last} is in the future (today is {today}); nothing to sync.")
    if (last - first).days + 1 > selectors.MAX_RANGE_DAYS:
        raise SyncRequestError(
            f"The range {first}..{last} is {(last - first).days + 1} days; at most "
            f"{selectors.MAX_RANGE_DAYS} can be synced at once."
        )
    if client is None:
        with build_client(max_wait=max_wait) as own_client:
            return sync_closures(
                first=first,
                last=last,
                trigger=trigger,
                force=force,
                client=own_client,
                on_page=on_page,
            )

    holder = uuid.uuid4().hex
    ttl = _lease_ttl(client)
    if not _claim_lease(holder, ttl):
        raise SyncInProgress()
    try:
        started_at = timezone.now()
        if not force:
            _refuse_if_rate_limited(first, last, started_at)
        return _run(
            first=first,
            last=last,
            trigger=trigger,
            force=force,
            client=client,
            started_at=started_at,
            holder=holder,
            ttl=ttl,
            on_page=on_page,
        )
    finally:
        _release_lease(holder)


def build_client(*, max_wait: float | None = None) -> FreshserviceClient:
    """A client from `freshservice_config()`; SyncNotConfigured names whatever is missing."""
    config = freshservice_config()
    missing = [
        name
        for name, value in (
            ("FRESH_API", config.api_key),
            ("FRESH_ENDPOINT", config.endpoint),
            ("FRESH_GROUP_ID", config.group_id),
        )
        if not value
    ]
    if missing:
        raise SyncNotConfigured(
            f"Freshservice is not configured: set {', '.join(missing)} (see .env.example)."
        )
    return FreshserviceClient(
        api_key=config.api_key,
        endpoint=config.endpoint,
        timeout=config.timeout,
        max_wait=config.max_wait if max_wait is None else max_wait,
        workspace_id=config.workspace_id,
    )


def fetch_start(*, first: date, force: bool) -> datetime:
    """The `updated_since` of a sync whose first day is `first` (SPEC §6, "What a sync fetches").

    Incremental from the watermark minus the overlap; from the start of `first` instead when that
    is earlier and the sync is forced or asks for a day before everything already covered. The
    first sync ever starts at the beginning of its first day. No sync leaves a gap behind it.
    """
    day_start = selectors.local_day_start(first)
    mark = selectors.watermark()
    if mark is None:
        return day_start
    incremental = mark - OVERLAP
    covered = selectors.covered_from()
    if force or covered is None or day_start < covered:
        return min(incremental, day_start)
    return incremental


def counts_as_closed(ticket: Ticket, config: FreshserviceConfig | None = None) -> bool:
    """SPEC §5: in the group, in a closed status, with a responder."""
    config = config or freshservice_config()
    return (
        ticket.group_id == config.group_id
        and ticket.status in config.closed_statuses
        and ticket.responder_id is not None
    )


def closure_date(ticket: Ticket) -> date:
    """The calendar day in TIME_ZONE of the ticket's closure timestamp."""
    return timezone.localtime(ticket.closure_time).date()


# --- the run ------------------------------------------------------------------------------------


def _run(
    *,
    first: date,
    last: date,
    trigger: SyncRun.Trigger,
    force: bool,
    client: FreshserviceClient,
    started_at: datetime,
    holder: str,
    ttl: timedelta,
    on_page: Callable[[int, int], None] | None,
) -> SyncResult:
    fetched_from = fetch_start(first=first, force=force)
    tickets: dict[int, Ticket] = {}

    def record(status: SyncRun.Status, error: str = "") -> SyncRun:
        return SyncRun.objects.create(
            first_date=first,
            last_date=last,
            trigger=trigger,
            status=status,
            started_at=started_at,
            finished_at=timezone.now(),
            fetched_from=fetched_from,
            tickets_processed=len(tickets),
            api_calls=client.api_calls,
            error=error,
        )

    renewed = time.monotonic()
    try:
        for pages, page in enumerate(client.iter_ticket_pages(updated_since=fetched_from), 1):
            for ticket in page:
                # Offset paging over a changing list can repeat a ticket; keep its newest state.
                seen = tickets.get(ticket.id)
                if seen is None or ticket.updated_at >= seen.updated_at:
                    tickets[ticket.id] = ticket
            # Renewing after every page cost a database write per 100 tickets; every half
            # minute is plenty, as the lease outlasts half a minute plus the slowest page.
            if time.monotonic() - renewed >= LEASE_RENEW_SECONDS:
                if not _renew_lease(holder, ttl):
                    raise LeaseLost()
                renewed = time.monotonic()
            if on_page:
                on_page(pages, len(tickets))
        with transaction.atomic():
            if (
                not SyncLease.objects.select_for_update()
                .filter(name=LEASE_NAME, holder=holder)
                .exists()
            ):
                raise LeaseLost()
            recounted = _apply(tickets.values(), first=first, last=last, started_at=started_at)
            run = record(SyncRun.Status.SUCCESS)
    except (FreshworksError, LeaseLost) as exc:
        reason = _one_line(str(exc))
        logger.error("Sync of %s failed: %s", dates_label(first, last), reason)
        raise SyncFailed(reason, run=record(SyncRun.Status.FAILED, reason)) from None
    except Exception as exc:
        # An unexpected fault (a bug, the database): keep the traceback in the log, and the
        # audit trail honest.
        logger.exception("Sync of %s failed unexpectedly", dates_label(first, last))
        reason = _one_line(f"Unexpected error: {type(exc).__name__}: {exc}")
        raise SyncFailed(reason, run=record(SyncRun.Status.FAILED, reason)) from exc

    logger.info(
        "Synced %s (%s%s): %d tickets in %d API calls since %s; recounted %s",
        dates_label(first, last),
        trigger,
        ", forced" if force else "",
        len(tickets),
        client.api_calls,
        fetched_from.isoformat(),
        ", ".join(day.isoformat() for day in recounted) or "no days",
    )
    return SyncResult(
        run=run,
        first_date=first,
        last_date=last,
        fetched_from=fetched_from,
        tickets_processed=len(tickets),
        api_calls=client.api_calls,
        dates_recounted=recounted,
        next_sync_at=selectors.next_sync_time(started_at),
    )


class _Closure(NamedTuple):
    """What ClosedTicket stores of one ticket, as plain values (cheaper than model instances)."""

    responder_id: int
    status: int
    closed_at: datetime
    closure_date: date


def _apply(
    tickets: Iterable[Ticket], *, first: date, last: date, started_at: datetime
) -> list[date]:
    """Write what was fetched; returns the days whose counts were recomputed."""
    fetched = list(tickets)
    config = freshservice_config()
    counting = {
        ticket.id: _Closure(
            ticket.responder_id, ticket.status, ticket.closure_time, closure_date(ticket)
        )
        for ticket in fetched
        if counts_as_closed(ticket, config)
    }
    existing = {
        ticket_id: _Closure(*stored)
        for ids in _chunks([ticket.id for ticket in fetched])
        for ticket_id, *stored in ClosedTicket.objects.filter(ticket_id__in=ids).values_list(
            "ticket_id", "responder_id", "status", "closed_at", "closure_date"
        )
    }

    touched: set[date] = set()
    changed: dict[int, _Closure] = {}
    for ticket_id, closure in counting.items():
        old = existing.get(ticket_id)
        if old == closure:
            continue
        changed[ticket_id] = closure
        touched.add(closure.closure_date)
        if old is not None:
            touched.add(old.closure_date)
    gone = [ticket_id for ticket_id in existing if ticket_id not in counting]
    touched.update(existing[ticket_id].closure_date for ticket_id in gone)

    _upsert_closed_tickets(changed, fetched_at=timezone.now())
    for ids in _chunks(gone):
        ClosedTicket.objects.filter(ticket_id__in=ids).delete()

    recounted = sorted(touched)
    _recount(recounted)
    _mark_synced(first, last, started_at, counting.values())
    return recounted


def _upsert_closed_tickets(rows: dict[int, _Closure], *, fetched_at: datetime) -> None:
    """Insert or update ClosedTicket rows in one statement per batch.

    Hand-written because bulk_create(update_conflicts=True) spent most of a 20,000-ticket sync
    preparing model fields (bench/sync_overhead.py). ON CONFLICT ... DO UPDATE is the same on
    SQLite and PostgreSQL; values go through the backend's own adapters, so time zones are stored
    exactly as the ORM stores them.
    """
    if not rows:
        return
    if connection.vendor not in {"sqlite", "postgresql"}:
        ClosedTicket.objects.bulk_create(
            [
                ClosedTicket(ticket_id=ticket_id, fetched_at=fetched_at, **row._asdict())
                for ticket_id, row in rows.items()
            ],
            batch_size=CHUNK,
            update_conflicts=True,
            unique_fields=_conflict_target(["ticket_id"]),
            update_fields=["responder_id", "status", "closed_at", "closure_date", "fetched_at"],
        )
        return
    ops = connection.ops
    table = ops.quote_name(ClosedTicket._meta.db_table)
    columns = ("ticket_id", "responder_id", "status", "closed_at", "closure_date", "fetched_at")
    updates = ", ".join(f"{column} = excluded.{column}" for column in columns[1:])
    placeholders = ", ".join(["%s"] * len(columns))
    # Only constant names are formatted in; every value is a query parameter.
    sql = (
        f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({placeholders}) "  # noqa: S608
        f"ON CONFLICT (ticket_id) DO UPDATE SET {updates}"
    )
    fetched = ops.adapt_datetimefield_value(fetched_at)
    values = [
        (
            ticket_id,
            row.responder_id,
            row.status,
            ops.adapt_datetimefield_value(row.closed_at),
            ops.adapt_datefield_value(row.closure_date),
            fetched,
        )
        for ticket_id, row in rows.items()
    ]
    with connection.cursor() as cursor:
        for batch in _chunks(values):
            cursor.executemany(sql, batch)


def _recount(dates: list[date]) -> None:
    """Recompute TicketClosure for `dates` from ClosedTicket: never incremented, always derived."""
    if not dates:
        return
    users = dict(
        FreshworksUserMapping.objects.filter(user__isnull=False).values_list(
            "freshworks_user_id", "user_id"
        )
    )
    fresh: dict[tuple[int, date], int] = {}
    for day_chunk in _chunks(dates):
        for row in (
            ClosedTicket.objects.filter(closure_date__in=day_chunk)
            .values("responder_id", "closure_date")
            .annotate(closed=Count("id"))
        ):
            fresh[(row["responder_id"], row["closure_date"])] = row["closed"]
    TicketClosure.objects.bulk_create(
        [
            TicketClosure(
                freshworks_user_id=agent_id,
                date=day,
                tickets_closed=closed,
                user_id=users.get(agent_id),
            )
            for (agent_id, day), closed in fresh.items()
        ],
        batch_size=CHUNK,
        update_conflicts=True,
        unique_fields=_conflict_target(["freshworks_user_id", "date"]),
        update_fields=["tickets_closed", "user", "updated_at"],
    )
    stale = [
        pk
        for day_chunk in _chunks(dates)
        for pk, agent_id, day in TicketClosure.objects.filter(date__in=day_chunk).values_list(
            "pk", "freshworks_user_id", "date"
        )
        if (agent_id, day) not in fresh
    ]
    for pks in _chunks(stale):
        TicketClosure.objects.filter(pk__in=pks).delete()


def _mark_synced(
    first: date, last: date, started_at: datetime, counting: Iterable[_Closure]
) -> None:
    """Bookkeeping for every date asked for: the rate limit and the statistics read it."""
    per_day: dict[date, int] = {}
    for row in counting:
        per_day[row.closure_date] = per_day.get(row.closure_date, 0) + 1
    existing = {
        row.sync_date: row
        for row in TicketSyncMetadata.objects.filter(sync_date__range=(first, last))
    }
    new = []
    for day in selectors.days(first, last):
        row = existing.get(day)
        if row is None:
            new.append(
                TicketSyncMetadata(
                    sync_date=day,
                    last_sync_time=started_at,
                    sync_count=1,
                    tickets_processed=per_day.get(day, 0),
                )
            )
        else:
            row.last_sync_time = started_at
            row.sync_count += 1
            row.tickets_processed += per_day.get(day, 0)
            row.updated_at = timezone.now()
    TicketSyncMetadata.objects.bulk_create(new, batch_size=CHUNK)
    TicketSyncMetadata.objects.bulk_update(
        existing.values(),
        ["last_sync_time", "sync_count", "tickets_processed", "updated_at"],
        batch_size=CHUNK,
    )


def _refuse_if_rate_limited(first: date, last: date, now: datetime) -> None:
    limited = [
        allowance
        for allowance in selectors.sync_allowances(first=first, last=last)
        if not allowance.can_sync(now)
    ]
    if limited:
        latest = max(limited, key=lambda allowance: allowance.next_sync_at)
        raise SyncRateLimited(
            dates=[allowance.sync_date for allowance in limited],
            next_sync_at=latest.next_sync_at,
            minutes=latest.minutes_until_next_sync(now),
        )


# --- the lease ----------------------------------------------------------------------------------


def _lease_ttl(client: FreshserviceClient) -> timedelta:
    """Longer than a renewal interval plus the slowest page (3 attempts, backoff, the whole
    Retry-After budget), so a live sync never loses its lease between renewals."""
    worst_page = 3 * (client.connect_timeout + client.timeout) + 3 + client.max_wait
    return timedelta(seconds=LEASE_RENEW_SECONDS + worst_page + 60)


def _claim_lease(holder: str, ttl: timedelta) -> bool:
    """Take the lease if it is free or expired, with one conditional UPDATE."""
    now = timezone.now()
    try:
        SyncLease.objects.get_or_create(name=LEASE_NAME)  # made by the migration and post_migrate
        claimed = (
            SyncLease.objects.filter(name=LEASE_NAME)
            .filter(Q(holder="") | Q(expires_at__isnull=True) | Q(expires_at__lt=now))
            .update(holder=holder, expires_at=now + ttl)
        )
    except OperationalError:
        # SQLite: another sync's long write transaction held the database past the busy timeout.
        return False
    return claimed == 1


def _renew_lease(holder: str, ttl: timedelta) -> bool:
    return (
        SyncLease.objects.filter(name=LEASE_NAME, holder=holder).update(
            expires_at=timezone.now() + ttl
        )
        == 1
    )


def _release_lease(holder: str) -> None:
    SyncLease.objects.filter(name=LEASE_NAME, holder=holder).update(holder="", expires_at=None)


# --- small helpers ------------------------------------------------------------------------------


def _chunks(items: list, size: int = CHUNK) -> Iterator[list]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _conflict_target(fields: list[str]) -> list[str] | None:
    """bulk_create's unique_fields where the database takes them (MySQL/MariaDB do not)."""
    return fields if connection.features.supports_update_conflicts_with_target else None


def _one_line(text: str) -> str:
    """Errors go into one log line and one database field; never let the key slip in."""
    line = " ".join(text.split())
    if key := freshservice_config().api_key:
        line = line.replace(key, "[FRESH_API]")
    return line[:1000]
