"""Writing what a sync fetched (SPEC §6), inside the sync's one transaction.

`apply_fetched` upserts the ClosedTicket rows of fetched tickets that count, deletes those that
no longer count and those that did not come back although they must have (deleted or spam
upstream, SPEC §14.4), recounts TicketClosure for every day whose rows changed (recomputed, never
incremented), and does the per-date bookkeeping (TicketSyncMetadata) the rate limit reads.
`store_group` keeps the team's group as last read from Freshservice.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from datetime import date, datetime, timedelta
from typing import NamedTuple

from django.db import connection
from django.db.models import Count, Model
from django.utils import timezone

from freshworks.client import Group, Ticket
from tickets import dates
from tickets.freshservice_config import FreshserviceConfig, freshservice_config
from tickets.models import (
    ClosedTicket,
    FreshserviceGroup,
    FreshworksUserMapping,
    TicketClosure,
    TicketSyncMetadata,
)

# SQLite allows a limited number of query parameters; stay well below it.
CHUNK = 500


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


class _Closure(NamedTuple):
    """What ClosedTicket stores of one ticket, as plain values (cheaper than model instances)."""

    responder_id: int
    status: int
    closed_at: datetime
    closure_date: date


class Applied(NamedTuple):
    """What `apply_fetched` changed: the days recounted, and how many stored closures it removed
    because they did not come back (deleted or spam upstream, or moved out of the workspace)."""

    recounted: list[date]
    vanished: int


def not_fetched_since(fetched_ids: set[int], since: datetime) -> dict[int, date]:
    """Stored closures (ticket id -> closure day) closed at or after `since` that a complete
    fetch from `since` did not bring back: a ticket closed at or after it was updated at or after
    it too, so a live one comes back, unless offset paging skipped it (see fetch.confirm_gone)."""
    # The closure_date bound only lets the (closure_date, responder) index narrow the scan;
    # a day's margin covers rows dated under another TIME_ZONE (offsets stay within a day).
    since_day = timezone.localtime(since).date() - timedelta(days=1)
    stored_since = (
        ClosedTicket.objects.filter(closure_date__gte=since_day, closed_at__gte=since)
        .order_by()
        .values_list("ticket_id", "closure_date")
    )
    return {ticket_id: day for ticket_id, day in stored_since if ticket_id not in fetched_ids}


class Written(NamedTuple):
    """What `write_tickets` changed: the days whose rows changed, and the received tickets that
    count per closure day (the bookkeeping's figures)."""

    touched: set[date]
    per_day: dict[date, int]
    # (agent, day) whose rows changed: a backfill's batch recounts only those.
    pairs: set[tuple[int, date]]


def not_rewritten_since(since: datetime, *, written_before: datetime) -> dict[int, date]:
    """A backfill's sweep (SPEC §14.4): stored closures (ticket id -> closure day) closed at or
    after `since` that no batch of the backfill begun at `written_before` rewrote, i.e. that did
    not come back in its fetch from `since` (its batches rewrite every row they read)."""
    since_day = timezone.localtime(since).date() - timedelta(days=1)
    return dict(
        ClosedTicket.objects.filter(
            closure_date__gte=since_day, closed_at__gte=since, fetched_at__lt=written_before
        )
        .order_by()
        .values_list("ticket_id", "closure_date")
    )


def apply_fetched(
    tickets: Iterable[Ticket],
    *,
    first: date,
    last: date,
    started_at: datetime,
    vanished: Mapping[int, date] | None = None,
) -> Applied:
    """Write what was fetched, and remove the `vanished` closures (ticket id -> closure day:
    deleted or spam upstream, or no longer counting, as Freshservice confirmed), recounting
    their days. Nothing that was not fetched is removed otherwise.
    """
    written = write_tickets(list(tickets))
    return finish_writing(
        first=first,
        last=last,
        started_at=started_at,
        touched=written.touched,
        per_day=written.per_day,
        vanished=vanished,
    )


def apply_batch(tickets: Iterable[Ticket]) -> Written:
    """One batch of a backfill (SPEC §15), inside its own transaction: write the tickets and
    recount their days. Every counting row is rewritten (`fetched_at` now), so the backfill's
    sweep at the end can tell the rows it read from those it did not (`not_rewritten_since`)."""
    written = write_tickets(list(tickets), rewrite=True)
    _recount_pairs(written.pairs)
    return written


def finish_writing(
    *,
    first: date,
    last: date,
    started_at: datetime,
    touched: Iterable[date] = (),
    per_day: Mapping[date, int],
    vanished: Mapping[int, date] | None = None,
) -> Applied:
    """Remove the `vanished` closures, recount their days and the `touched` ones, and do the
    bookkeeping of a whole sync: the end of a short sync's one transaction, or of a backfill."""
    vanished = dict(vanished or {})
    for ids in _chunks(list(vanished)):
        ClosedTicket.objects.filter(ticket_id__in=ids).delete()
    recounted = sorted({*touched, *vanished.values()})
    _recount(recounted)
    _mark_synced(first, last, started_at, per_day)
    return Applied(recounted, len(vanished))


def write_tickets(fetched: list[Ticket], *, rewrite: bool = False) -> Written:
    """Upsert the ClosedTicket rows of the `fetched` tickets that count (only the changed ones
    unless `rewrite`) and delete the rows of those that no longer count. Recounts nothing."""
    config = freshservice_config()  # read once, not once per ticket
    counting = {
        ticket.id: _Closure(
            ticket.responder_id, ticket.status, ticket.closure_time, closure_date(ticket)
        )
        for ticket in fetched
        if counts_as_closed(ticket, config) and ticket.responder_id is not None
    }
    existing = {
        ticket_id: _Closure(responder_id, status, closed_at, day)
        for ids in _chunks([ticket.id for ticket in fetched])
        for ticket_id, responder_id, status, closed_at, day in ClosedTicket.objects.filter(
            ticket_id__in=ids
        ).values_list("ticket_id", "responder_id", "status", "closed_at", "closure_date")
    }

    pairs: set[tuple[int, date]] = set()
    changed: dict[int, _Closure] = {}
    for ticket_id, closure in counting.items():
        old = existing.get(ticket_id)
        if old == closure:
            if rewrite:
                changed[ticket_id] = closure
            continue
        changed[ticket_id] = closure
        pairs.add((closure.responder_id, closure.closure_date))
        if old is not None:
            pairs.add((old.responder_id, old.closure_date))
    gone = [ticket_id for ticket_id in existing if ticket_id not in counting]
    pairs.update(
        (existing[ticket_id].responder_id, existing[ticket_id].closure_date) for ticket_id in gone
    )

    _upsert_closed_tickets(changed, fetched_at=timezone.now())
    for ids in _chunks(gone):
        ClosedTicket.objects.filter(ticket_id__in=ids).delete()
    per_day: dict[date, int] = {}
    for closure in counting.values():
        per_day[closure.closure_date] = per_day.get(closure.closure_date, 0) + 1
    return Written({day for _, day in pairs}, per_day, pairs)


def store_group(group: Group, *, fetched_at: datetime) -> None:
    """Keep the team's group as just read from Freshservice: its name is the team's name."""
    FreshserviceGroup.objects.update_or_create(
        group_id=group.id,
        defaults={"name": group.name, "workspace_id": group.workspace_id, "fetched_at": fetched_at},
    )


def _upsert_closed_tickets(rows: dict[int, _Closure], *, fetched_at: datetime) -> None:
    """Insert or update ClosedTicket rows in one statement per batch.

    Hand-written because bulk_create(update_conflicts=True) spent most of a 20,000-ticket sync
    preparing model fields (bench/sync_overhead.py); see `_raw_upsert`.
    """
    if not rows:
        return
    ops = connection.ops
    fetched = ops.adapt_datetimefield_value(fetched_at)
    written = _raw_upsert(
        ClosedTicket,
        ("ticket_id", "responder_id", "status", "closed_at", "closure_date", "fetched_at"),
        conflict=("ticket_id",),
        update=("responder_id", "status", "closed_at", "closure_date", "fetched_at"),
        rows=[
            (
                ticket_id,
                row.responder_id,
                row.status,
                ops.adapt_datetimefield_value(row.closed_at),
                ops.adapt_datefield_value(row.closure_date),
                fetched,
            )
            for ticket_id, row in rows.items()
        ],
    )
    if not written:
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


def _raw_upsert(
    model: type[Model],
    columns: tuple[str, ...],
    *,
    conflict: tuple[str, ...],
    update: tuple[str, ...],
    rows: list[tuple],
) -> bool:
    """INSERT ... ON CONFLICT (`conflict`) DO UPDATE the `update` columns, one statement per
    batch of `rows` (values adapted by the caller with the backend's own adapters, so time zones
    are stored exactly as the ORM stores them). The same SQL on SQLite and PostgreSQL; False on
    other databases, where the caller uses bulk_create."""
    if connection.vendor not in {"sqlite", "postgresql"}:
        return False
    quote = connection.ops.quote_name
    updates = ", ".join(f"{column} = excluded.{column}" for column in update)
    placeholders = ", ".join(["%s"] * len(columns))
    # Only constant names are formatted in; every value is a query parameter.
    sql = (
        f"INSERT INTO {quote(model._meta.db_table)} ({', '.join(columns)}) "  # noqa: S608
        f"VALUES ({placeholders}) ON CONFLICT ({', '.join(conflict)}) DO UPDATE SET {updates}"
    )
    with connection.cursor() as cursor:
        for batch in _chunks(rows):
            cursor.executemany(sql, batch)
    return True


def _recount_pairs(pairs: set[tuple[int, date]]) -> None:
    """Recompute TicketClosure for the (agent, day) `pairs` from ClosedTicket: what a
    backfill's page touched (a page's 100 tickets touch a few agents' days, where recounting
    whole days rewrote every agent of them, page after page)."""
    if not pairs:
        return
    agents = sorted({agent for agent, _ in pairs})
    days = sorted({day for _, day in pairs})
    fresh: dict[tuple[int, date], int] = {}
    users: dict[int, int] = {}
    for agent_chunk in _chunks(agents):
        for row in (
            ClosedTicket.objects.filter(closure_date__in=days, responder_id__in=agent_chunk)
            .values("responder_id", "closure_date")
            .annotate(closed=Count("id"))
        ):
            pair = (row["responder_id"], row["closure_date"])
            if pair in pairs:
                fresh[pair] = row["closed"]
        users.update(
            FreshworksUserMapping.objects.filter(
                freshworks_user_id__in=agent_chunk, user__isnull=False
            ).values_list("freshworks_user_id", "user_id")
        )
    ops = connection.ops
    now = timezone.now()
    stamp = ops.adapt_datetimefield_value(now)
    written = _raw_upsert(
        TicketClosure,
        ("freshworks_user_id", "date", "tickets_closed", "user_id", "created_at", "updated_at"),
        conflict=("freshworks_user_id", "date"),
        update=("tickets_closed", "user_id", "updated_at"),
        rows=[
            (agent, ops.adapt_datefield_value(day), closed, users.get(agent), stamp, stamp)
            for (agent, day), closed in fresh.items()
        ],
    )
    if not written:
        _write_closures(fresh, users)
    # The pairs left without a closure (most pages have none).
    for agent, day in pairs - fresh.keys():
        TicketClosure.objects.filter(freshworks_user_id=agent, date=day).delete()


def _recount(touched: list[date]) -> None:
    """Recompute TicketClosure for the `touched` days from ClosedTicket: never incremented,
    always derived."""
    if not touched:
        return
    users = dict(
        FreshworksUserMapping.objects.filter(user__isnull=False).values_list(
            "freshworks_user_id", "user_id"
        )
    )
    fresh: dict[tuple[int, date], int] = {}
    for day_chunk in _chunks(touched):
        for row in (
            ClosedTicket.objects.filter(closure_date__in=day_chunk)
            .values("responder_id", "closure_date")
            .annotate(closed=Count("id"))
        ):
            fresh[(row["responder_id"], row["closure_date"])] = row["closed"]
    _write_closures(fresh, users)
    stale = [
        pk
        for day_chunk in _chunks(touched)
        for pk, agent_id, day in TicketClosure.objects.filter(date__in=day_chunk).values_list(
            "pk", "freshworks_user_id", "date"
        )
        if (agent_id, day) not in fresh
    ]
    for pks in _chunks(stale):
        TicketClosure.objects.filter(pk__in=pks).delete()


def _write_closures(fresh: dict[tuple[int, date], int], users: Mapping[int, int]) -> None:
    """Insert or update TicketClosure rows: (agent, day) -> tickets closed."""
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


def _mark_synced(
    first: date, last: date, started_at: datetime, per_day: Mapping[date, int]
) -> None:
    """Bookkeeping for every date asked for: the rate limit and the statistics read it."""
    existing = {
        row.sync_date: row
        for row in TicketSyncMetadata.objects.filter(sync_date__range=(first, last))
    }
    new: list[TicketSyncMetadata] = []
    for day in dates.days(first, last):
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


def _chunks(items: list, size: int = CHUNK) -> Iterator[list]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _conflict_target(fields: list[str]) -> list[str] | None:
    """bulk_create's unique_fields where the database takes them (MySQL/MariaDB do not)."""
    return fields if connection.features.supports_update_conflicts_with_target else None
