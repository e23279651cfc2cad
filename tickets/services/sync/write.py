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

import orjson
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

# SQLite allows a limited number of query parameters; stay well below it (the ORM's statements).
CHUNK = 500


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
    """The calendar day in TIME_ZONE (or `zone`: `days_zone()`, read once by a caller with many
    tickets) of the ticket's closure timestamp."""
    return ticket.closure_time.astimezone(zone or days_zone()).date()


def days_zone() -> tzinfo:
    """The current time zone, in which closures fall on days; UTC as datetime's own `UTC`, to
    which `astimezone` hands the API's UTC times back as they are (0.5 µs a ticket less)."""
    zone = timezone.get_current_timezone()
    return UTC if str(zone) in _UTC_NAMES else zone


_UTC_NAMES = frozenset({"UTC", "Etc/UTC"})

# One TicketClosure row's key: (the agent, the day, the group), a plain tuple: a backfill makes
# one per ticket, and a named one took four times as long.
ClosureKey = tuple[int, date, int]


class _Closure(NamedTuple):
    """What ClosedTicket stores of one ticket, as plain values (cheaper than model instances),
    its key first."""

    responder_id: int
    closure_date: date
    group_id: int
    status: int
    closed_at: datetime

    @property
    def key(self) -> ClosureKey:
        """The TicketClosure row this closure is counted in."""
        return self[:3]


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
    recounted = sorted({*(day for _, day, _ in keys), *vanished.values()})
    return Applied(recounted, len(vanished))


def write_tickets(fetched: list[Ticket], *, rewrite: bool = False) -> Written:
    """Upsert the ClosedTicket rows of the `fetched` tickets that count (only the changed ones
    unless `rewrite`) and delete the rows of those that no longer count. Recounts nothing."""
    config = freshservice_config()  # read once, not once per ticket
    zone = days_zone()  # likewise
    counting: dict[int, _Closure] = {}
    for ticket in fetched:
        if (
            counts_as_closed(ticket, config)
            and ticket.responder_id is not None
            and ticket.group_id is not None
        ):
            counting[ticket.id] = _Closure(
                ticket.responder_id,
                closure_date(ticket, zone),
                ticket.group_id,
                ticket.status,
                ticket.closure_time,
            )
    existing = _stored_rows([ticket.id for ticket in fetched])

    touched: set[ClosureKey] = set()
    emptied: set[ClosureKey] = set()  # keys that lost a ticket
    changed: dict[int, _Closure] = {}
    per_day: dict[date, int] = {}
    for ticket_id, closure in counting.items():
        day = closure.closure_date
        per_day[day] = per_day.get(day, 0) + 1
        old = existing.get(ticket_id)
        if old == closure:
            continue
        changed[ticket_id] = closure
        key = closure.key
        touched.add(key)
        if old is not None and old.key != key:
            emptied.add(old.key)
    gone = [ticket_id for ticket_id in existing if ticket_id not in counting]
    emptied.update(existing[ticket_id].key for ticket_id in gone)
    touched |= emptied

    # A rewrite writes every row that counts.
    _upsert_closed_tickets(counting if rewrite else changed, fetched_at=timezone.now())
    for ids in _chunks(gone):
        ClosedTicket.objects.filter(ticket_id__in=ids).delete()
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
    """The stored rows of these tickets, by ticket id, in one query (the ids one JSON parameter:
    `_json_rows`; the ORM's queryset machinery cost more than the query on a 20,000-ticket sync)."""
    if not ids:
        return {}
    table = connection.ops.quote_name(ClosedTicket._meta.db_table)
    stored: dict[int, _Closure] = {}
    with connection.cursor() as cursor:
        # Only constant names and placeholders are formatted in.
        cursor.execute(
            f"SELECT ticket_id, {', '.join(_Closure._fields)} FROM {table} "  # noqa: S608
            f"WHERE ticket_id IN (SELECT ticket_id FROM {_json_rows(_ID_COLUMNS)})",
            [_json([(ticket_id,) for ticket_id in ids])],
        )
        for ticket_id, responder_id, day, group_id, status, closed_at in cursor.fetchall():
            stored[ticket_id] = _Closure(
                responder_id, _day(day), group_id, status, _aware(closed_at)
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
    """Insert or update ClosedTicket rows in one statement, the rows one JSON parameter
    (`_json_rows`).

    Hand-written because bulk_create(update_conflicts=True) spent most of a 20,000-ticket sync
    preparing model fields (bench/sync_overhead.py). ON CONFLICT ... DO UPDATE is the same on
    SQLite and PostgreSQL; times go in as the ORM writes them (`_json_moment`).
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
    table = connection.ops.quote_name(ClosedTicket._meta.db_table)
    names = ", ".join(name for name, _ in _CLOSED_TICKET_COLUMNS)
    updates = ", ".join(f"{name} = excluded.{name}" for name in [*_Closure._fields, "fetched_at"])
    moment = _json_moment()
    values = [
        (ticket_id, responder_id, closure_date, group_id, status, moment(closed_at))
        for ticket_id, (responder_id, closure_date, group_id, status, closed_at) in rows.items()
    ]
    with connection.cursor() as cursor:
        # Only constant names and placeholders are formatted in; every value a parameter.
        # SQLite needs the WHERE of an INSERT ... SELECT ... ON CONFLICT.
        cursor.execute(
            f"INSERT INTO {table} ({names}, fetched_at) "  # noqa: S608
            f"SELECT {names}, %s FROM {_json_rows(_CLOSED_TICKET_COLUMNS)} WHERE 1 = 1 "
            f"ON CONFLICT (ticket_id) DO UPDATE SET {updates}",
            [connection.ops.adapt_datetimefield_value(fetched_at), _json(values)],
        )


# A batch's rows go to the database as one JSON parameter, unpacked there (`_json_rows`): one
# statement per batch instead of one per hundred rows, and no Python binding each value. That
# matters beyond the statements' own cost: Python's sqlite3 lets go of the GIL for every
# statement and gets it back only when the threads beside the sync (the page read ahead, a
# stand-in) let go of it in turn, up to a switch interval later. Each column: (name, its type
# in PostgreSQL); SQLite takes JSON's integers and text as they are.
_ID_COLUMNS = (("ticket_id", "bigint"),)
_CLOSED_TICKET_COLUMNS = (  # in the order of _Closure's fields
    ("ticket_id", "bigint"),
    ("responder_id", "bigint"),
    ("closure_date", "date"),
    ("group_id", "bigint"),
    ("status", "integer"),
    ("closed_at", "timestamptz"),
)
_KEY_COLUMNS = _CLOSED_TICKET_COLUMNS[1:4]  # a closure's key: the first three of its fields


def _json_rows(columns: tuple[tuple[str, str], ...]) -> str:
    """SQL to put after FROM: a table read from one parameter, a JSON array of rows (each an
    array in the order of `columns`). SQLite's json_each, PostgreSQL's jsonb_array_elements. A
    timestamptz column holds what `_json_moment` made: seconds since the epoch, or text."""
    sqlite = connection.vendor == "sqlite"
    fields = []
    for i, (name, kind) in enumerate(columns):
        if sqlite:
            field = f"json_extract(value, '$[{i}]')"
            if kind == "timestamptz":
                field = (
                    f"CASE json_type(value, '$[{i}]') WHEN 'text' THEN {field} "
                    f"ELSE datetime({field}, 'unixepoch') END"
                )
        elif kind == "timestamptz":
            field = (
                f"CASE jsonb_typeof(value -> {i}) WHEN 'string' THEN CAST(value ->> {i} AS "
                f"timestamptz) ELSE to_timestamp(CAST(value ->> {i} AS bigint)) END"
            )
        else:
            field = f"CAST(value ->> {i} AS {kind})"
        fields.append(f"{field} AS {name}")
    elements = "json_each(%s)" if sqlite else "jsonb_array_elements(%s::jsonb) AS elements (value)"
    return f"(SELECT {', '.join(fields)} FROM {elements}) AS rows"  # noqa: S608


def _json(rows: list[tuple[Any, ...]]) -> str:
    """Rows as a JSON array of arrays; dates as ISO 8601 text (orjson: a fifth of the standard
    library's time for a batch's rows)."""
    return orjson.dumps(rows).decode()


def _json_moment() -> Callable[[datetime], int | str]:
    """How an aware datetime goes into `_json_rows`, decided once for a whole batch: whole
    seconds (the API's, always) as seconds since the epoch, turned into the stored form by the
    database; text otherwise, exactly as the ORM writes it: on SQLite naive in the connection's
    time zone, on PostgreSQL ISO 8601 with its offset. Making the text in Python took 2 µs a
    ticket, a tenth of a backfill's writes."""
    if connection.vendor != "sqlite":
        as_text: Callable[[datetime], str] = datetime.isoformat
    elif settings.USE_TZ and (zone := connection.timezone) is not None:
        as_text = lambda value: str(value.astimezone(zone).replace(tzinfo=None))  # noqa: E731
        if connection.timezone_name != "UTC":
            return as_text  # SQLite's datetime(..., 'unixepoch') is UTC
    else:
        return lambda value: str(connection.ops.adapt_datetimefield_value(value))
    return lambda value: as_text(value) if value.microsecond else int(value.timestamp())


def _upserts_in_sql() -> bool:
    """SQLite and PostgreSQL share INSERT ... ON CONFLICT; other databases take the ORM's way."""
    return connection.vendor in {"sqlite", "postgresql"}


def _recount(keys: Iterable[ClosureKey], *, emptied: Iterable[ClosureKey] = ()) -> None:
    """Recompute the TicketClosure rows of these (agent, day, group) `keys` from ClosedTicket:
    never incremented, always derived. All in the database, the keys one JSON parameter
    (`_json_rows`): an upsert of each key's count (the keys joined to ClosedTicket through its
    (closure_date, responder_id) index), linked to the agent's mapped user; then, for the
    `emptied` keys (those that lost a ticket), a delete of the rows no closure is left for. A
    backfill's batch recounts its own rows, not every agent's row of every day it touched."""
    keys = set(keys)
    if not keys:
        return
    if not _upserts_in_sql():
        _recount_with_the_orm(sorted({day for _, day, _ in keys}))
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
    cte = f"WITH k AS (SELECT * FROM {_json_rows(_KEY_COLUMNS)}) "  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(cte + upsert, [_json(list(keys)), now, now])
        if emptied := list(set(emptied)):
            cursor.execute(cte + delete, [_json(emptied)])


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
