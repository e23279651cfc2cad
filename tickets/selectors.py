"""Reads: closure counts per agent and the state of the sync.

Every closures read takes `team`: a configured group id (SPEC §16.5), or None for all configured
groups. An agent who closed tickets in two teams is summed over them; a ticket is in one group
only, so nothing counts twice.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from cronsim import CronSim
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import Count, Exists, Max, Min, Q, QuerySet, Subquery, Sum
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from tickets.dates import days, local_day_start, previous_period, workdays_in
from tickets.freshservice_config import freshservice_config
from tickets.models import (
    DISPLAY_NAME,
    BackfillProgress,
    ClosedTicket,
    DataVersion,
    FreshserviceGroup,
    FreshworksUserMapping,
    NameSource,
    SyncRun,
    TicketClosure,
    TicketSyncMetadata,
    agent_display_name,
    status_label,
)


@dataclass(frozen=True)
class ClosureEntry:
    freshworks_user_id: int
    name: str
    username: str | None
    tickets_closed: int
    # In the period compared with (SPEC §16.2); 0 where that was not asked for (top performers).
    previous_tickets_closed: int = 0


@dataclass(frozen=True)
class PeriodTotal:
    """The period a view is compared with and its total (`dates.previous_period`)."""

    start: date
    end: date
    total: int


@dataclass(frozen=True)
class Team:
    """A team whose closures count: one Freshservice agent group of FRESH_GROUP_ID. `name` is
    the group's name as a sync last read it, empty before."""

    id: int
    name: str

    @property
    def label(self) -> str:
        """The team's name for people: the group's name, else `Group <id>` until a sync reads it."""
        return self.name or f"Group {self.id}"


@dataclass(frozen=True)
class ClosuresSummary:
    start: date
    end: date
    total: int
    closures: list[ClosureEntry]
    previous: PeriodTotal
    last_synced_at: datetime | None
    # The team the answer covers (the one asked for, or the only one configured), None when it
    # spans several teams or before a sync has read the group's name; `teams`: every configured
    # team (SPEC §16.5).
    team: Team | None = None
    teams: list[Team] = field(default_factory=list)

    @property
    def top_closer(self) -> ClosureEntry | None:
        return self.closures[0] if self.closures else None

    @property
    def top_closers(self) -> list[ClosureEntry]:
        """Every entry with the top count (SPEC §16.6); empty without closures."""
        top = self.top_closer
        return [e for e in self.closures if top and e.tickets_closed == top.tickets_closed]


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


def _ranked(counts: dict[int, int], previous: dict[int, int] | None = None) -> list[ClosureEntry]:
    """Entries for agents with closures: most closures first, then by name; each with its count
    in `previous` (the period compared with) when given."""
    agents = _agents(agent_id for agent_id, closed in counts.items() if closed > 0)
    entries = [
        ClosureEntry(
            freshworks_user_id=agent_id,
            name=agents[agent_id][0],
            username=agents[agent_id][1],
            tickets_closed=closed,
            previous_tickets_closed=(previous or {}).get(agent_id, 0),
        )
        for agent_id, closed in counts.items()
        if closed > 0
    ]
    entries.sort(key=lambda entry: (-entry.tickets_closed, entry.name.casefold()))
    return entries


def team_closures(team: int | None = None) -> QuerySet[TicketClosure]:
    """TicketClosure rows of `team` (a group id), or of every configured group when None (every
    stored row when no group is configured)."""
    return in_team(TicketClosure.objects.all(), team)


def in_team(rows: QuerySet, team: int | None) -> QuerySet:
    """`rows` (closures or closed tickets, which carry `group_id`) of `team`, or of every
    configured group when None (all of them when no group is configured). The one place the
    team filter is written."""
    groups = (team,) if team is not None else freshservice_config().group_ids
    return rows.filter(group_id__in=groups) if groups else rows


def _closed_per_agent(start: date, end: date, team: int | None = None) -> dict[int, int]:
    return dict(
        team_closures(team)
        .filter(date__range=(start, end))
        .values("freshworks_user_id")
        .annotate(closed=Sum("tickets_closed"))
        .values_list("freshworks_user_id", "closed")
    )


def _closed_per_agent_in_both(
    period: tuple[date, date], previous: tuple[date, date], team: int | None
) -> tuple[dict[int, int], dict[int, int]]:
    """Closures per agent in `period` and in `previous` (of `team`, see `team_closures`), in one
    query."""
    in_period, in_previous = Q(date__range=period), Q(date__range=previous)
    rows = (
        team_closures(team)
        .filter(in_period | in_previous)
        .values("freshworks_user_id")
        .annotate(
            closed=Sum("tickets_closed", filter=in_period),
            before=Sum("tickets_closed", filter=in_previous),
        )
        .values_list("freshworks_user_id", "closed", "before")
    )
    now: dict[int, int] = {}
    before: dict[int, int] = {}
    for agent_id, closed, closed_before in rows:
        if closed:
            now[agent_id] = closed
        if closed_before:
            before[agent_id] = closed_before
    return now, before


def closures_for_period(
    *, start: date, end: date, period: str | None = None, team: int | None = None
) -> ClosuresSummary:
    """Closures per agent from `start` to `end` inclusive, of one `team` (group id) or of every
    configured team when None, most closures first, then by name, compared with the period
    before (`dates.previous_period`; `period` names a `week` or `month` so that it compares with
    the previous calendar one). Agents with closures only in the previous period count in its
    total but are not listed. 4 queries, whatever the agents."""
    previous = previous_period(start=start, end=end, period=period)
    counts, before = _closed_per_agent_in_both((start, end), previous, team)
    configured = teams()
    return ClosuresSummary(
        start=start,
        end=end,
        total=sum(counts.values()),
        closures=_ranked(counts, before),
        previous=PeriodTotal(start=previous[0], end=previous[1], total=sum(before.values())),
        last_synced_at=watermark(),
        team=_covered_team(configured, team),
        teams=configured,
    )


def teams() -> list[Team]:
    """Every configured team, in FRESH_GROUP_ID's order, with the name a sync last read from
    Freshservice (empty before one has read it; `Team.label` then says `Group <id>`): one
    query."""
    group_ids = freshservice_config().group_ids
    names = dict(
        FreshserviceGroup.objects.filter(group_id__in=group_ids).values_list("group_id", "name")
    )
    return [Team(id=group_id, name=names.get(group_id, "")) for group_id in group_ids]


def _covered_team(configured: list[Team], team: int | None) -> Team | None:
    """The team an answer covers: `team`, or the only configured one; None when it spans
    several or before a sync has read its name (SPEC §14.2)."""
    if team is None and len(configured) == 1:
        team = configured[0].id
    covered = next((each for each in configured if each.id == team), None)
    return covered if covered is not None and covered.name else None


def top_performers(*, day: date, limit: int, team: int | None = None) -> list[ClosureEntry]:
    """The `limit` agents who closed the most tickets on `day` (in `team`, or in every team)."""
    return _ranked(_closed_per_agent(day, day, team))[:limit]


# --- the trend and the tickets behind a number (SPEC §16.3, §16.4) ------------------------------

# The longest list of tickets one answer holds: a year of a busy agent (~20 closures a workday)
# fits; an automation account closing thousands a day is cut to its newest (about 170 bytes a
# row in JSON: 5,000 rows are ~850 kB).
TICKETS_BEHIND_LIMIT = 5000


@dataclass(frozen=True)
class AgentDays:
    freshworks_user_id: int
    name: str
    counts: list[int]


@dataclass(frozen=True)
class DailyClosures:
    start: date
    end: date
    days: list[date]
    total: list[int]
    agents: list[AgentDays]


def daily_closures(
    *, start: date, end: date, team: int | None = None, agent: int | None = None
) -> DailyClosures:
    """Closures per day from `start` to `end` inclusive, every day (zeros included): the team's
    total and each agent's counts, agents ordered as in `closures_for_period`.

    With `agent`, `agents` holds that agent only (all zeros when they closed nothing, or are
    unknown) while `total` stays the whole team's, so the agent's line can be drawn over it.
    At most three queries, whatever the number of agents and days.
    """
    range_days = list(days(start, end))
    position = {day: index for index, day in enumerate(range_days)}
    closures = team_closures(team).filter(date__range=(start, end)).order_by()
    total = [0] * len(range_days)
    for day, closed in (
        closures.values("date").annotate(closed=Sum("tickets_closed")).values_list("date", "closed")
    ):
        total[position[day]] = closed
    if agent is not None:
        closures = closures.filter(freshworks_user_id=agent)
    counts: dict[int, list[int]] = {} if agent is None else {agent: [0] * len(range_days)}
    for day, agent_id, closed in closures.filter(tickets_closed__gt=0).values_list(
        "date", "freshworks_user_id", "tickets_closed"
    ):
        counts.setdefault(agent_id, [0] * len(range_days))[position[day]] += closed
    names = _agents(counts)
    agents = [
        AgentDays(freshworks_user_id=agent_id, name=names[agent_id][0], counts=per_day)
        for agent_id, per_day in counts.items()
    ]
    agents.sort(key=lambda row: (-sum(row.counts), row.name.casefold()))
    return DailyClosures(start=start, end=end, days=range_days, total=total, agents=agents)


@dataclass(frozen=True)
class Agent:
    freshworks_user_id: int
    name: str


@dataclass(frozen=True)
class TicketBehind:
    ticket_id: int
    closed_at: datetime
    closure_date: date
    status: int
    url: str | None

    @property
    def status_label(self) -> str:
        return status_label(self.status)


@dataclass(frozen=True)
class TicketsBehind:
    agent: Agent
    start: date
    end: date
    tickets: list[TicketBehind]
    count: int

    @property
    def truncated(self) -> bool:
        return self.count > len(self.tickets)


def tickets_behind(*, agent: int, start: date, end: date, team: int | None = None) -> TicketsBehind:
    """The tickets behind an agent's count from `start` to `end` inclusive, newest first, each
    with its page in Freshservice; at most TICKETS_BEHIND_LIMIT of them (`count` says how many
    there are). An agent who closed nothing there, or is unknown, gets an empty list.

    Two queries (three when the list is cut, to count the rest).
    """
    config = freshservice_config()
    closed = in_team(ClosedTicket.objects.all(), team).filter(
        responder_id=agent, closure_date__range=(start, end)
    )
    rows = list(
        closed.order_by("-closed_at", "-ticket_id").values_list(
            "ticket_id", "closed_at", "closure_date", "status"
        )[: TICKETS_BEHIND_LIMIT + 1]
    )
    count = len(rows) if len(rows) <= TICKETS_BEHIND_LIMIT else closed.count()
    return TicketsBehind(
        agent=Agent(freshworks_user_id=agent, name=_agents([agent])[agent][0]),
        start=start,
        end=end,
        tickets=[
            TicketBehind(
                ticket_id=ticket_id,
                closed_at=closed_at,
                closure_date=closure_date,
                status=status,
                url=config.ticket_url(ticket_id),
            )
            for ticket_id, closed_at, closure_date, status in rows[:TICKETS_BEHIND_LIMIT]
        ],
        count=count,
    )


@dataclass(frozen=True)
class ClosureRow:
    date: date
    freshworks_user_id: int
    name: str
    username: str | None
    tickets_closed: int


def closure_rows(*, start: date, end: date, team: int | None = None) -> list[ClosureRow]:
    """One row per agent per day with closures (in `team`, or summed over every team), by day,
    then most closures, then name."""
    return closure_rows_of(team_closures(team).filter(date__range=(start, end)))


def closure_rows_of(closures: QuerySet[TicketClosure]) -> list[ClosureRow]:
    """`closures` (with at least one ticket) as export rows, in the order of `closure_rows`:
    an agent's rows of one day in several groups make one row."""
    rows = list(
        closures.filter(tickets_closed__gt=0)
        .order_by()
        .values("date", "freshworks_user_id")
        .annotate(closed=Sum("tickets_closed"))
        .values_list("date", "freshworks_user_id", "closed")
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


def data_state() -> tuple[int, datetime | None]:
    """The data version (SPEC §19.6: it moves whenever a read answer may have changed) and the
    `watermark`, in one query: every conditional read asks it first, so it is written once, in
    SQL, rather than compiled by the ORM on each request (a third of a 304's time)."""
    with connection.cursor() as cursor:
        cursor.execute(_DATA_STATE_SQL, [SyncRun.Status.SUCCESS])
        row = cursor.fetchone()
    version, latest = row if row is not None else (0, None)
    if isinstance(latest, str):  # SQLite hands raw queries' datetimes back as text
        latest = parse_datetime(latest)
    if latest is not None and timezone.is_naive(latest):
        latest = timezone.make_aware(latest, UTC)
    return (version or 0), latest


# Only constant table and column names are formatted in. A missing version row (a flushed test
# database) reads as version 0: the LEFT JOIN of a one-row select keeps the watermark.
_DATA_STATE_SQL = (
    f"SELECT v.version, (SELECT MAX(r.started_at) FROM {SyncRun._meta.db_table} r "  # noqa: S608
    f"WHERE r.status = %s) FROM (SELECT 1 AS one) o "
    f"LEFT JOIN {DataVersion._meta.db_table} v ON v.id = 1"
)


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

    @property
    def average_per_workday(self) -> float:
        """Every closure stored ÷ the WORKDAYS from the first to the last date with data (days
        without closures included, weekend closures counted too); 0.0 without any workday."""
        if self.first_date is None or self.last_date is None:
            return 0.0
        workdays = workdays_in(self.first_date, self.last_date)
        return round(self.total_tickets_closed / workdays, 2) if workdays else 0.0


def closure_stats(*, team: int | None = None) -> ClosureStats:
    """Totals over everything stored, of `team` or of every configured team."""
    closures = team_closures(team)
    totals = closures.filter(tickets_closed__gt=0).aggregate(
        total=Sum("tickets_closed"),
        days=Count("date", distinct=True),
        agents=Count("freshworks_user_id", distinct=True),
        first=Min("date"),
        last=Max("date"),
    )
    best = (
        closures.values("date")
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
