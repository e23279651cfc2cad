"""Reads: closure counts per agent and the state of the sync."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from cronsim import CronSim
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import Count, Exists, Max, Min, Q, QuerySet, Subquery, Sum
from django.utils import timezone

from tickets.dates import days, local_day_start
from tickets.freshservice_config import freshservice_config
from tickets.models import (
    DISPLAY_NAME,
    BackfillProgress,
    FreshserviceGroup,
    FreshworksUserMapping,
    NameSource,
    SyncRun,
    TicketClosure,
    TicketSyncMetadata,
    agent_display_name,
)


@dataclass(frozen=True)
class ClosureEntry:
    freshworks_user_id: int
    name: str
    username: str | None
    tickets_closed: int


@dataclass(frozen=True)
class Team:
    """The team whose closures count: its Freshservice agent group (FRESH_GROUP_ID)."""

    id: int
    name: str


@dataclass(frozen=True)
class ClosuresSummary:
    start: date
    end: date
    total: int
    closures: list[ClosureEntry]
    last_synced_at: datetime | None
    team: Team | None = None

    @property
    def top_closer(self) -> ClosureEntry | None:
        return self.closures[0] if self.closures else None


def agent_label(freshworks_user_id: int, name: str | None) -> str:
    """The name shown for an agent whose known name (`DISPLAY_NAME`) is `name`: that name, else
    `Agent <id>` (see `tickets.models.agent_display_name`)."""
    return name or f"Agent {freshworks_user_id}"


def with_agent(queryset: QuerySet, agent_field: str) -> QuerySet:
    """`queryset` annotated with `agent_name` (the known name: IDs.txt's, else Freshservice's;
    empty without one) and `agent_username` from the mapping of the agent in `agent_field`: two
    subqueries, never one query per row."""
    mapping = FreshworksUserMapping.objects.of_outer_agent(agent_field)
    return queryset.annotate(
        agent_name=Subquery(mapping.annotate(display=DISPLAY_NAME).values("display")[:1]),
        agent_username=Subquery(mapping.values("user__username")[:1]),
    )


def _agents(agent_ids: Iterable[int]) -> dict[int, tuple[str, str | None]]:
    """(display name, local username) of each agent, in one query."""
    ids = list(agent_ids)
    mappings = FreshworksUserMapping.objects.values_list(
        "freshworks_user_id", "freshworks_username", "first_name", "last_name", "user__username"
    )
    if len(ids) < 50:  # a few agents: ask for them; many: the whole (small) table is cheaper
        mappings = mappings.filter(freshworks_user_id__in=ids)
    known = {
        agent_id: (
            agent_display_name(agent_id, ids_name=name, first_name=first, last_name=last),
            username,
        )
        for agent_id, name, first, last, username in mappings
    }
    return {agent_id: known.get(agent_id, (agent_label(agent_id, None), None)) for agent_id in ids}


def _ranked(counts: dict[int, int]) -> list[ClosureEntry]:
    """Entries for agents with closures: most closures first, then by name."""
    agents = _agents(counts)
    entries = [
        ClosureEntry(
            freshworks_user_id=agent_id,
            name=agents[agent_id][0],
            username=agents[agent_id][1],
            tickets_closed=closed,
        )
        for agent_id, closed in counts.items()
        if closed > 0
    ]
    entries.sort(key=lambda entry: (-entry.tickets_closed, entry.name.casefold()))
    return entries


def _closed_per_agent(start: date, end: date) -> dict[int, int]:
    return dict(
        TicketClosure.objects.filter(date__range=(start, end))
        .values("freshworks_user_id")
        .annotate(closed=Sum("tickets_closed"))
        .values_list("freshworks_user_id", "closed")
    )


def closures_for_period(*, start: date, end: date) -> ClosuresSummary:
    """Closures per agent from `start` to `end` inclusive, most closures first, then by name."""
    counts = _closed_per_agent(start, end)
    return ClosuresSummary(
        start=start,
        end=end,
        total=sum(counts.values()),
        closures=_ranked(counts),
        last_synced_at=watermark(),
        team=team(),
    )


def team() -> Team | None:
    """The configured group with the name a sync last read from Freshservice; None before the
    first successful sync has read it (SPEC §14.2)."""
    group_id = freshservice_config().group_id
    if group_id is None:
        return None
    name = (
        FreshserviceGroup.objects.filter(group_id=group_id).values_list("name", flat=True).first()
    )
    return Team(id=group_id, name=name) if name is not None else None


def top_performers(*, day: date, limit: int) -> list[ClosureEntry]:
    """The `limit` agents who closed the most tickets on `day`."""
    return _ranked(_closed_per_agent(day, day))[:limit]


@dataclass(frozen=True)
class ClosureRow:
    date: date
    freshworks_user_id: int
    name: str
    username: str | None
    tickets_closed: int


def closure_rows(*, start: date, end: date) -> list[ClosureRow]:
    """One row per agent per day with closures, by day, then most closures, then name."""
    return closure_rows_of(TicketClosure.objects.filter(date__range=(start, end)))


def closure_rows_of(closures: QuerySet[TicketClosure]) -> list[ClosureRow]:
    """`closures` (with at least one ticket) as export rows, in the order of `closure_rows`."""
    rows = list(
        closures.filter(tickets_closed__gt=0)
        .order_by()
        .values_list("date", "freshworks_user_id", "tickets_closed")
    )
    agents = _agents({agent_id for _, agent_id, _ in rows})
    result = [
        ClosureRow(
            date=day,
            freshworks_user_id=agent_id,
            name=agents[agent_id][0],
            username=agents[agent_id][1],
            tickets_closed=closed,
        )
        for day, agent_id, closed in rows
    ]
    result.sort(key=lambda row: (row.date, -row.tickets_closed, row.name.casefold()))
    return result


def watermark() -> datetime | None:
    """The start of the last successful sync: every change before it has been seen."""
    return SyncRun.objects.successful().aggregate(at=Max("started_at"))["at"]


def covered_from() -> datetime | None:
    """The earliest `updated_since` of a successful sync: every change since then has been seen."""
    return SyncRun.objects.successful().aggregate(at=Min("fetched_from"))["at"]


def last_successful_sync() -> SyncRun | None:
    """The latest successful SyncRun (its cost in API calls and credits), None before the first."""
    return SyncRun.objects.successful().order_by("-started_at").first()


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


def unmapped_agents() -> list[dict[str, Any]]:
    """Agents with closures and no local user, most closures first (the unmapped-agents page).

    Each: `freshworks_user_id`, `label` (the display name), `total` closed, `days`, `first` and
    `last` day, `name_from` (`NameSource` label), and `reason`: why no local user is linked (not
    in Freshservice's agent list, no longer in it, inactive there, the IDs.txt name matching
    nobody, no IDs.txt line, no email or no local user with it, an ambiguous email).
    """
    linked = FreshworksUserMapping.objects.of_outer_agent().filter(user__isnull=False)
    agents = list(
        TicketClosure.objects.filter(~Exists(linked))
        .order_by()
        .values("freshworks_user_id")
        .annotate(
            total=Sum("tickets_closed"),
            days=Count("date"),
            first=Min("date"),
            last=Max("date"),
        )
        .order_by("-total", "freshworks_user_id")
    )
    if not agents:
        return []
    mappings = {
        mapping.freshworks_user_id: mapping
        for mapping in FreshworksUserMapping.objects.filter(
            freshworks_user_id__in=[agent["freshworks_user_id"] for agent in agents]
        )
    }
    last_read = FreshworksUserMapping.objects.aggregate(at=Max("directory_seen_at"))["at"]
    emails = Counter(
        email.strip().casefold()
        for email in get_user_model().objects.exclude(email="").values_list("email", flat=True)
    )
    result = []
    for agent in agents:
        agent_id = agent["freshworks_user_id"]
        mapping = mappings.get(agent_id)
        result.append(
            {
                **agent,
                "label": mapping.display_name if mapping else agent_label(agent_id, None),
                "name_from": (mapping.name_source if mapping else NameSource.FALLBACK).label,
                "reason": _why_unlinked(mapping, last_read=last_read, emails=emails),
            }
        )
    return result


def _why_unlinked(
    mapping: FreshworksUserMapping | None, *, last_read: datetime | None, emails: Counter[str]
) -> str:
    listed = mapping is not None and mapping.directory_seen_at is not None
    reasons: list[str] = []
    if last_read is None:
        reasons.append("Freshservice's agent list has not been read yet")
    elif mapping is None or mapping.directory_seen_at is None:
        reasons.append("not in Freshservice's agent list")
    elif mapping.directory_seen_at < last_read:
        seen = timezone.localtime(mapping.directory_seen_at).date().isoformat()
        reasons.append(f"no longer in Freshservice's agent list (last listed {seen})")
    if mapping is not None and mapping.active is False:
        reasons.append("inactive in Freshservice")
    if mapping is not None and mapping.freshworks_username:
        reasons.append(f"the IDs.txt name “{mapping.freshworks_username}” matches no local user")
    else:
        reasons.append("no IDs.txt line")
    if mapping is not None and listed:
        email = mapping.email.strip()
        users = emails[email.casefold()] if email else 0
        if not email:
            reasons.append("no email in Freshservice")
        elif users == 0:
            reasons.append(f"no local user has the email {email}")
        elif users == 1:
            reasons.append(
                f"a local user has the email {email}, unlinked by hand or since the last "
                "refresh (refresh the agent names to link it)"
            )
        else:
            reasons.append(f"ambiguous email: {users} local users have {email}")
    return "; ".join(reasons)


# --- statistics ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class BestDay:
    date: date
    tickets_closed: int


@dataclass(frozen=True)
class ClosureStats:
    total_tickets_closed: int
    days_with_data: int
    agents_tracked: int
    first_date: date | None
    last_date: date | None
    best_day: BestDay | None

    @property
    def average_per_day(self) -> float:
        if not self.days_with_data:
            return 0.0
        return round(self.total_tickets_closed / self.days_with_data, 2)


def closure_stats() -> ClosureStats:
    """Totals over everything stored."""
    totals = TicketClosure.objects.filter(tickets_closed__gt=0).aggregate(
        total=Sum("tickets_closed"),
        days=Count("date", distinct=True),
        agents=Count("freshworks_user_id", distinct=True),
        first=Min("date"),
        last=Max("date"),
    )
    best = (
        TicketClosure.objects.values("date")
        .annotate(closed=Sum("tickets_closed"))
        .order_by("-closed", "-date")
        .first()
    )
    return ClosureStats(
        total_tickets_closed=totals["total"] or 0,
        days_with_data=totals["days"],
        agents_tracked=totals["agents"],
        first_date=totals["first"],
        last_date=totals["last"],
        best_day=BestDay(date=best["date"], tickets_closed=best["closed"])
        if best and best["closed"]
        else None,
    )


@dataclass(frozen=True)
class SyncStatus:
    date: date
    last_sync_time: datetime | None
    sync_count: int
    next_sync_at: datetime | None
    minutes_until_next_sync: int

    @property
    def can_sync(self) -> bool:
        return self.minutes_until_next_sync == 0


def sync_status(*, day: date, now: datetime) -> SyncStatus:
    """Whether `day` may be synced now and, if not, from when."""
    (allowance,) = sync_allowances(first=day, last=day)
    minutes = allowance.minutes_until_next_sync(now)
    return SyncStatus(
        date=day,
        last_sync_time=allowance.last_sync_time,
        sync_count=allowance.sync_count,
        next_sync_at=allowance.next_sync_at if minutes else None,
        minutes_until_next_sync=minutes,
    )


def scheduled_ticks(now: datetime, *, back: int = 2) -> tuple[list[datetime], datetime]:
    """The latest `back` times SYNC_SCHEDULE fired at or before `now` (newest first), and the
    next one, in local time."""
    local = timezone.localtime(now).replace(second=0, microsecond=0)
    earlier = CronSim(settings.SYNC_SCHEDULE, local + timedelta(minutes=1), reverse=True)
    return [next(earlier) for _ in range(back)], next(CronSim(settings.SYNC_SCHEDULE, local))


@dataclass(frozen=True)
class BackfillState:
    """A backfill under way over some of the dates asked for (SPEC §15): their counts are
    still filling in. `start`..`end` are the backfill's dates, `pages_done` the pages written,
    `updated_at` when the last one was (a stopped backfill stops moving)."""

    start: date
    end: date
    pages_done: int
    tickets: int
    started_at: datetime
    updated_at: datetime
    in_progress: bool = True


def backfill_in_progress(*, start: date, end: date) -> BackfillState | None:
    """The unfinished backfill whose dates overlap `start`..`end`, None when there is none."""
    row = BackfillProgress.objects.filter(first_date__lte=end, last_date__gte=start).first()
    if row is None:
        return None
    return BackfillState(
        start=row.first_date,
        end=row.last_date,
        pages_done=row.pages_done,
        tickets=row.tickets_done,
        started_at=row.started_at,
        updated_at=row.updated_at,
    )


def is_stale(last_sync: datetime | None, *, now: datetime) -> bool:
    """True when two scheduled syncs in a row passed without a successful sync.

    "Older than twice the schedule's interval", measured in the schedule's own ticks: the quiet
    night of a `0 8-18 * * *` schedule is not stale; a morning whose 08:00 and 09:00 syncs both
    failed is, from 10:00. One tick refused by the rate limit (a button press just before it)
    never makes it stale.
    """
    if last_sync is None:
        return True
    (_, _, third_latest), _ = scheduled_ticks(now, back=3)
    return last_sync < third_latest


@dataclass(frozen=True)
class SyncRunEntry:
    started_at: datetime
    finished_at: datetime
    sync_date: date
    first_date: date
    last_date: date
    trigger: str
    status: str
    tickets_processed: int
    api_calls: int
    error: str
    credits: int = 0


@dataclass(frozen=True)
class AdminStats:
    last_sync_time: datetime | None
    next_sync_at: datetime | None
    next_scheduled_sync: datetime
    syncs_today: int
    tickets_processed_today: int
    stale: bool
    total_records: int
    mapped_users: int
    # SPEC §9: agents with closures and no mapping row (neither IDs.txt nor the agent list knows
    # them); `unlinked_agents` also counts those with a row but no local user (the page's list).
    unmapped_agents: int
    unlinked_agents: int
    days_with_data: int
    total_sync_operations: int
    recent_activity: list[SyncRunEntry]


def admin_stats(*, now: datetime) -> AdminStats:
    """The sync's health and the database's contents, for the admin statistics (4 queries)."""
    today = timezone.localdate(now)
    success = Q(status=SyncRun.Status.SUCCESS)
    runs = SyncRun.objects.aggregate(
        total=Count("id"),
        last=Max("started_at", filter=success),
        # The last successful sync that asked for today (what TicketSyncMetadata records).
        last_today=Max(
            "started_at", filter=success & Q(first_date__lte=today, last_date__gte=today)
        ),
        syncs_today=Count("id", filter=success & Q(started_at__gte=local_day_start(today))),
        processed_today=Sum(
            "tickets_processed", filter=success & Q(started_at__gte=local_day_start(today))
        ),
    )
    mapped = FreshworksUserMapping.objects.of_outer_agent()
    closures = TicketClosure.objects.aggregate(
        records=Count("id"),
        days=Count("date", distinct=True, filter=Q(tickets_closed__gt=0)),
        unmapped=Count("freshworks_user_id", distinct=True, filter=~Exists(mapped)),
        unlinked=Count(
            "freshworks_user_id",
            distinct=True,
            filter=~Exists(mapped.filter(user__isnull=False)),
        ),
    )
    next_sync_at = next_sync_time(runs["last_today"]) if runs["last_today"] else None
    return AdminStats(
        last_sync_time=runs["last"],
        next_sync_at=next_sync_at if next_sync_at and next_sync_at > now else None,
        next_scheduled_sync=scheduled_ticks(now)[1],
        syncs_today=runs["syncs_today"],
        tickets_processed_today=runs["processed_today"] or 0,
        stale=is_stale(runs["last"], now=now),
        total_records=closures["records"],
        mapped_users=FreshworksUserMapping.objects.filter(user__isnull=False).count(),
        unmapped_agents=closures["unmapped"],
        unlinked_agents=closures["unlinked"],
        days_with_data=closures["days"],
        total_sync_operations=runs["total"],
        recent_activity=[
            SyncRunEntry(
                started_at=run.started_at,
                finished_at=run.finished_at,
                sync_date=run.first_date,
                first_date=run.first_date,
                last_date=run.last_date,
                trigger=run.trigger,
                status=run.status,
                tickets_processed=run.tickets_processed,
                api_calls=run.api_calls,
                error=run.error,
                credits=run.credits,
            )
            for run in SyncRun.objects.order_by("-started_at", "-pk")[:10]
        ],
    )
