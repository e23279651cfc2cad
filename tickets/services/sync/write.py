"""Writing what a sync fetched (SPEC §6), inside the sync's one transaction.

`apply_fetched` upserts the ClosedTicket rows of fetched tickets that count, deletes those that
no longer count and those that did not come back although they must have (deleted or spam
upstream, SPEC §14.4), recounts TicketClosure for every (agent, day, group) whose rows changed
(recomputed from ClosedTicket, never incremented: every row of a day that can differ), and does
the per-date bookkeeping (TicketSyncMetadata) the rate limit reads.
`store_group` keeps a team's group as last read from Freshservice. A ticket counts for the
configured group it is in (SPEC §16.5); one moved between two configured groups moves its
closure with it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any, NamedTuple

from django.conf import settings
from django.db import connection
from django.db.models import Count
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
from tickets.services.data_version import bump_data_version

# SQLite allows a limited number of query parameters; stay well below it.
CHUNK = 500
# The rows (or recounted keys) of one hand-written statement. Few statements matter: Python's
# sqlite3 lets go of the GIL for each (and for each row of an executemany), and gets it back
# only when the threads beside the sync (the page read ahead, a stand-in) let go of it in turn,
# up to 5 ms later. Not too big either: sqlite3 keeps the last 128 statements prepared, one per
# distinct text, i.e. per number of rows.
ROWS_AT_ONCE = 100


def counts_as_closed(ticket: Ticket, config: FreshserviceConfig | None = None) -> bool:
    """SPEC §5 and §16.5: in one of the configured groups, in a closed status, with a
    responder."""
    config = config or freshservice_config()
    return (
        ticket.group_id in config.group_ids
        and ticket.status in config.closed_statuses
        and ticket.responder_id is not None
    )


def closure_date(ticket: Ticket, zone: tzinfo | None = None) -> date:
    """The calendar day in TIME_ZONE (or `zone`, the current time zone read once by a caller
    with many tickets) of the ticket's closure timestamp."""
    return ticket.closure_time.astimezone(zone or timezone.get_current_timezone()).date()


class ClosureKey(NamedTuple):
    """One TicketClosure row's key: the agent, the day, the group (team)."""

    responder_id: int
    closure_date: date
    group_id: int


class _Closure(NamedTuple):
    """What ClosedTicket stores of one ticket, as plain values (cheaper than model instances)."""

    responder_id: int
    group_id: int
    status: int
    closed_at: datetime
    closure_date: date

    @property
    def key(self) -> ClosureKey:
        """The TicketClosure row this closure is counted in."""
        return ClosureKey(self.responder_id, self.closure_date, self.group_id)


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
    """What `write_tickets` changed: the TicketClosure keys whose tickets changed (to recount),
    the received tickets that count per closure day (the bookkeeping's figures), and the keys
    that lost a ticket (their row may have to go)."""

    touched: set[ClosureKey]
    per_day: dict[date, int]
    emptied: set[ClosureKey]


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
        emptied=written.emptied,
        per_day=written.per_day,
        vanished=vanished,
    )


def apply_batch(tickets: Iterable[Ticket]) -> Written:
    """One batch of a backfill (SPEC §15), inside its own transaction: write the tickets and
    recount the (agent, day, group) rows they changed. Every counting row is rewritten
    (`fetched_at` now), so the backfill's sweep at the end can tell the rows it read from those
    it did not (`not_rewritten_since`)."""
    bump_data_version()  # in the batch's transaction, with its rows
    written = write_tickets(list(tickets), rewrite=True)
    _recount(written.touched, emptied=written.emptied)
    return written


def finish_writing(
    *,
    first: date,
    last: date,
    started_at: datetime,
    touched: Iterable[ClosureKey] = (),
    emptied: Iterable[ClosureKey] = (),
    per_day: Mapping[date, int],
    vanished: Mapping[int, date] | None = None,
) -> Applied:
    """Remove the `vanished` closures, recount their rows and the `touched` ones (of which the
    `emptied` lost a ticket), and do the bookkeeping of a whole sync: the end of a short sync's
    one transaction, or of a backfill."""
    bump_data_version()  # in the sync's transaction, with the rows and its SyncRun
    vanished = dict(vanished or {})
    left = {row.key for row in _stored_rows(list(vanished)).values()}
    for ids in _chunks(list(vanished)):
        ClosedTicket.objects.filter(ticket_id__in=ids).delete()
    keys = {*touched, *left}
    _recount(keys, emptied={*emptied, *left})
    _mark_synced(first, last, started_at, per_day)
    recounted = sorted({*(key.closure_date for key in keys), *vanished.values()})
    return Applied(recounted, len(vanished))


def write_tickets(fetched: list[Ticket], *, rewrite: bool = False) -> Written:
    """Upsert the ClosedTicket rows of the `fetched` tickets that count (only the changed ones
    unless `rewrite`) and delete the rows of those that no longer count. Recounts nothing."""
    config = freshservice_config()  # read once, not once per ticket
    zone = timezone.get_current_timezone()  # likewise
    counting = {
        ticket.id: _Closure(
            ticket.responder_id,
            ticket.group_id,
            ticket.status,
            ticket.closure_time,
            closure_date(ticket, zone),
        )
        for ticket in fetched
        if counts_as_closed(ticket, config)
        and ticket.responder_id is not None
        and ticket.group_id is not None
    }
    existing = _stored_rows([ticket.id for ticket in fetched])

    touched: set[ClosureKey] = set()
    emptied: set[ClosureKey] = set()  # keys that lost a ticket
    changed: dict[int, _Closure] = {}
    for ticket_id, closure in counting.items():
        old = existing.get(ticket_id)
        if old == closure:
            if rewrite:
                changed[ticket_id] = closure
            continue
        changed[ticket_id] = closure
        touched.add(closure.key)
        if old is not None and old.key != closure.key:
            emptied.add(old.key)
    gone = [ticket_id for ticket_id in existing if ticket_id not in counting]
    emptied.update(existing[ticket_id].key for ticket_id in gone)
    touched |= emptied

    _upsert_closed_tickets(changed, fetched_at=timezone.now())
    for ids in _chunks(gone):
        ClosedTicket.objects.filter(ticket_id__in=ids).delete()
    per_day: dict[date, int] = {}
    for closure in counting.values():
        per_day[closure.closure_date] = per_day.get(closure.closure_date, 0) + 1
    return Written(touched, per_day, emptied)


def store_group(group: Group, *, fetched_at: datetime) -> None:
    """Keep a team's group as just read from Freshservice: its name is the team's name. Called in
    the transaction that ends the sync, whose `finish_writing` raises the data version once for
    the whole of it (not once more per team)."""
    FreshserviceGroup.objects.update_or_create(
        group_id=group.id,
        defaults={"name": group.name, "workspace_id": group.workspace_id, "fetched_at": fetched_at},
    )


def _stored_rows(ids: list[int]) -> dict[int, _Closure]:
    """The stored rows of these tickets, by ticket id: one raw query per CHUNK ids (the ORM's
    queryset machinery cost more than the query itself on a 20,000-ticket sync)."""
    table = connection.ops.quote_name(ClosedTicket._meta.db_table)
    stored: dict[int, _Closure] = {}
    with connection.cursor() as cursor:
        for batch in _chunks(ids):
            # Only constant names and placeholders are formatted in.
            cursor.execute(
                f"SELECT ticket_id, {', '.join(_Closure._fields)} FROM {table} "  # noqa: S608
                f"WHERE ticket_id IN ({', '.join(['%s'] * len(batch))})",
                batch,
            )
            for ticket_id, responder_id, group_id, status, closed_at, day in cursor.fetchall():
                stored[ticket_id] = _Closure(
                    responder_id, group_id, status, _aware(closed_at), _day(day)
                )
    return stored


def _aware(value: Any) -> datetime:
    """A closed_at from a raw query: SQLite's come back naive (UTC, as stored), or as text."""
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _day(value: Any) -> date:
    """A closure_date from a raw query: a date, or its ISO text."""
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def _upsert_closed_tickets(rows: dict[int, _Closure], *, fetched_at: datetime) -> None:
    """Insert or update ClosedTicket rows, one statement per ROWS_AT_ONCE rows.

    Hand-written because bulk_create(update_conflicts=True) spent most of a 20,000-ticket sync
    preparing model fields (bench/sync_overhead.py). ON CONFLICT ... DO UPDATE is the same on
    SQLite and PostgreSQL; values go through the backend's own adapters, so time zones are
    stored exactly as the ORM stores them. One statement of many rows, not executemany: Python's
    sqlite3 lets go of the GIL for every row it steps (see ROWS_AT_ONCE).
    """
    if not rows:
        return
    if not _upserts_in_sql():
        ClosedTicket.objects.bulk_create(
            [
                ClosedTicket(ticket_id=ticket_id, fetched_at=fetched_at, **row._asdict())
                for ticket_id, row in rows.items()
            ],
            batch_size=CHUNK,
            update_conflicts=True,
            unique_fields=_conflict_target(["ticket_id"]),
            update_fields=[*_Closure._fields, "fetched_at"],
        )
        return
    ops = connection.ops
    table = ops.quote_name(ClosedTicket._meta.db_table)
    columns = ("ticket_id", *_Closure._fields, "fetched_at")
    updates = ", ".join(f"{column} = excluded.{column}" for column in columns[1:])
    row = "(" + ", ".join(["%s"] * len(columns)) + ")"
    fetched = ops.adapt_datetimefield_value(fetched_at)
    moment, day = _datetime_adapter(), _date_adapter()
    values = [
        (ticket_id, responder_id, group_id, status, moment(closed_at), day(closure_date), fetched)
        for ticket_id, (responder_id, group_id, status, closed_at, closure_date) in rows.items()
    ]
    with connection.cursor() as cursor:
        for batch in _chunks(values, ROWS_AT_ONCE):
            # Only constant names and placeholders are formatted in; every value a parameter.
            cursor.execute(
                f"INSERT INTO {table} ({', '.join(columns)}) "  # noqa: S608
                f"VALUES {', '.join([row] * len(batch))} "
                f"ON CONFLICT (ticket_id) DO UPDATE SET {updates}",
                [value for values_of_row in batch for value in values_of_row],
            )


def _datetime_adapter() -> Callable[[datetime], Any]:
    """The backend's adapter of aware datetimes, made once for a whole batch.

    On SQLite that is exactly what `adapt_datetimefield_value` does (naive in the connection's
    time zone, as text) without its per-value settings and time-zone look-ups, which were a
    third of the write of a 20,000-ticket sync; elsewhere the backend's own.
    """
    ops = connection.ops
    if connection.vendor != "sqlite" or not settings.USE_TZ:
        return ops.adapt_datetimefield_value
    zone = connection.timezone
    return lambda value: str(value.astimezone(zone).replace(tzinfo=None))


def _date_adapter() -> Callable[[date], Any]:
    """The backend's adapter of dates, made once for a whole batch: on SQLite the ISO text
    (what `adapt_datefield_value` gives), without a look-up of the connection per value."""
    if connection.vendor == "sqlite":
        return date.isoformat
    return connection.ops.adapt_datefield_value


def _upserts_in_sql() -> bool:
    """SQLite and PostgreSQL share INSERT ... ON CONFLICT; other databases take the ORM's way."""
    return connection.vendor in {"sqlite", "postgresql"}


def _recount(keys: Iterable[ClosureKey], *, emptied: Iterable[ClosureKey] = ()) -> None:
    """Recompute the TicketClosure rows of these (agent, day, group) `keys` from ClosedTicket:
    never incremented, always derived. All in the database, per ROWS_AT_ONCE keys: an upsert of
    each key's count (the keys joined to ClosedTicket through its (closure_date, responder_id)
    index), linked to the agent's mapped user; then, for the `emptied` keys (those that lost a
    ticket), a delete of the rows no closure is left for. A backfill's batch recounts its own
    rows, not every agent's row of every day it touched."""
    ordered = sorted(set(keys))
    if not ordered:
        return
    if not _upserts_in_sql():
        _recount_with_the_orm(sorted({key.closure_date for key in ordered}))
        return
    q = connection.ops.quote_name
    closures, tickets = q(TicketClosure._meta.db_table), q(ClosedTicket._meta.db_table)
    mappings = q(FreshworksUserMapping._meta.db_table)
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    same_key = (
        "c.closure_date = k.closure_date AND c.responder_id = k.responder_id "
        "AND c.group_id = k.group_id"
    )
    # Only constant names and placeholders are formatted in; the keys are parameters. SQLite
    # needs the WHERE of an INSERT ... SELECT ... ON CONFLICT with a join.
    upsert = (
        f"INSERT INTO {closures} "  # noqa: S608
        "(freshworks_user_id, date, group_id, tickets_closed, user_id, created_at, updated_at) "
        "SELECT k.responder_id, k.closure_date, k.group_id, COUNT(*), "
        f"(SELECT m.user_id FROM {mappings} m WHERE m.freshworks_user_id = k.responder_id), "
        f"%s, %s FROM k JOIN {tickets} c ON {same_key} WHERE 1 = 1 "
        "GROUP BY k.responder_id, k.closure_date, k.group_id "
        "ON CONFLICT (freshworks_user_id, date, group_id) DO UPDATE SET "
        "tickets_closed = excluded.tickets_closed, user_id = excluded.user_id, "
        "updated_at = excluded.updated_at"
    )
    delete = (
        f"DELETE FROM {closures} WHERE id IN (SELECT t.id FROM k JOIN {closures} t "  # noqa: S608
        "ON t.freshworks_user_id = k.responder_id AND t.date = k.closure_date "
        f"AND t.group_id = k.group_id WHERE NOT EXISTS (SELECT 1 FROM {tickets} c "
        f"WHERE {same_key}))"
    )
    day = _date_adapter()

    def keys_cte(chunk: list[ClosureKey]) -> tuple[str, list[Any]]:
        rows = ", ".join(["(%s, %s, %s)"] * len(chunk))
        params = [
            value
            for agent_id, closure_day, group_id in chunk
            for value in (agent_id, day(closure_day), group_id)
        ]
        return f"WITH k (responder_id, closure_date, group_id) AS (VALUES {rows}) ", params

    with connection.cursor() as cursor:
        for chunk in _chunks(ordered, ROWS_AT_ONCE):
            cte, params = keys_cte(chunk)
            cursor.execute(cte + upsert, [*params, now, now])
        for chunk in _chunks(sorted(set(emptied)), ROWS_AT_ONCE):
            cte, params = keys_cte(chunk)
            cursor.execute(cte + delete, params)


def _recount_with_the_orm(touched: list[date]) -> None:
    """`_recount` where the database has no INSERT ... ON CONFLICT (MySQL, MariaDB)."""
    users = dict(
        FreshworksUserMapping.objects.filter(user__isnull=False).values_list(
            "freshworks_user_id", "user_id"
        )
    )
    fresh: dict[tuple[int, date, int], int] = {}
    for day_chunk in _chunks(touched):
        for agent_id, day, group_id, closed in (
            ClosedTicket.objects.filter(closure_date__in=day_chunk)
            .values("responder_id", "closure_date", "group_id")
            .annotate(closed=Count("id"))
            .values_list("responder_id", "closure_date", "group_id", "closed")
        ):
            fresh[(agent_id, day, group_id)] = closed
    TicketClosure.objects.bulk_create(
        [
            TicketClosure(
                freshworks_user_id=agent_id,
                date=day,
                group_id=group_id,
                tickets_closed=closed,
                user_id=users.get(agent_id),
            )
            for (agent_id, day, group_id), closed in fresh.items()
        ],
        batch_size=CHUNK,
        update_conflicts=True,
        unique_fields=_conflict_target(["freshworks_user_id", "date", "group_id"]),
        update_fields=["tickets_closed", "user", "updated_at"],
    )
    stale = [
        pk
        for day_chunk in _chunks(touched)
        for pk, *key in TicketClosure.objects.filter(date__in=day_chunk).values_list(
            "pk", "freshworks_user_id", "date", "group_id"
        )
        if tuple(key) not in fresh
    ]
    for pks in _chunks(stale):
        TicketClosure.objects.filter(pk__in=pks).delete()


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
