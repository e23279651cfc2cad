"""Reads: closure counts per agent and the state of the sync."""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.conf import settings
from django.db.models import Max, Min, Sum
from django.utils import timezone

from tickets.models import FreshworksUserMapping, SyncRun, TicketClosure, TicketSyncMetadata


@dataclass(frozen=True)
class ClosureEntry:
    freshworks_user_id: int
    name: str
    username: str | None
    tickets_closed: int


@dataclass(frozen=True)
class ClosuresSummary:
    start: date
    end: date
    total: int
    closures: list[ClosureEntry]
    last_synced_at: datetime | None

    @property
    def top_closer(self) -> ClosureEntry | None:
        return self.closures[0] if self.closures else None


def agent_label(freshworks_user_id: int, name: str | None) -> str:
    """The name shown for an agent: the IDs.txt name, else `Agent <id>`."""
    return name or f"Agent {freshworks_user_id}"


def closures_for_period(*, start: date, end: date) -> ClosuresSummary:
    """Closures per agent from `start` to `end` inclusive, most closures first, then by name."""
    rows = (
        TicketClosure.objects.filter(date__range=(start, end))
        .values("freshworks_user_id")
        .annotate(closed=Sum("tickets_closed"))
        .filter(closed__gt=0)
    )
    counts = {row["freshworks_user_id"]: row["closed"] for row in rows}
    mappings = {
        mapping.freshworks_user_id: mapping
        for mapping in FreshworksUserMapping.objects.filter(
            freshworks_user_id__in=counts
        ).select_related("user")
    }
    entries = []
    for agent_id, closed in counts.items():
        mapping = mappings.get(agent_id)
        entries.append(
            ClosureEntry(
                freshworks_user_id=agent_id,
                name=agent_label(agent_id, mapping.freshworks_username if mapping else None),
                username=mapping.user.username if mapping and mapping.user else None,
                tickets_closed=closed,
            )
        )
    entries.sort(key=lambda entry: (-entry.tickets_closed, entry.name.casefold()))
    return ClosuresSummary(
        start=start,
        end=end,
        total=sum(counts.values()),
        closures=entries,
        last_synced_at=watermark(),
    )


def watermark() -> datetime | None:
    """The start of the last successful sync: every change before it has been seen."""
    return SyncRun.objects.successful().aggregate(at=Max("started_at"))["at"]


def covered_from() -> datetime | None:
    """The earliest `updated_since` of a successful sync: every change since then has been seen."""
    return SyncRun.objects.successful().aggregate(at=Min("fetched_from"))["at"]


@dataclass(frozen=True)
class SyncAllowance:
    sync_date: date
    last_sync_time: datetime | None
    sync_count: int
    next_sync_at: datetime | None

    def minutes_until_next_sync(self, now: datetime) -> int:
        """Whole minutes to wait, rounded up: at least 1 while refused, 0 when allowed."""
        if self.next_sync_at is None or self.next_sync_at <= now:
            return 0
        return max(1, math.ceil((self.next_sync_at - now).total_seconds() / 60))

    def can_sync(self, now: datetime) -> bool:
        return self.minutes_until_next_sync(now) == 0


def next_sync_time(last_sync_time: datetime) -> datetime:
    """When a date last synced at `last_sync_time` may sync again.

    Counted in whole minutes: a sync that began at 08:00:41 allows the next from 09:00:00, so an
    hourly cron is never refused by its own start-up jitter.
    """
    started_minute = last_sync_time.replace(second=0, microsecond=0)
    return started_minute + timedelta(minutes=settings.SYNC_MIN_INTERVAL_MINUTES)


def sync_allowances(*, first: date, last: date) -> list[SyncAllowance]:
    """The rate-limit state of every date from `first` to `last`, read from the database."""
    metadata = {
        row.sync_date: row
        for row in TicketSyncMetadata.objects.filter(sync_date__range=(first, last))
    }
    allowances = []
    for day in days(first, last):
        row = metadata.get(day)
        allowances.append(
            SyncAllowance(
                sync_date=day,
                last_sync_time=row.last_sync_time if row else None,
                sync_count=row.sync_count if row else 0,
                next_sync_at=next_sync_time(row.last_sync_time) if row else None,
            )
        )
    return allowances


def days(first: date, last: date) -> Iterator[date]:
    """Every calendar day from `first` to `last` inclusive."""
    day = first
    while day <= last:
        yield day
        day += timedelta(days=1)


def local_day_start(day: date) -> datetime:
    """Midnight at the start of `day` in TIME_ZONE, as an aware datetime."""
    return timezone.make_aware(datetime.combine(day, datetime.min.time()))
