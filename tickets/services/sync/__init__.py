"""The sync (SPEC §6): fetch changed tickets from Freshservice, keep those that count, recount days.

The order of a sync, and why:
1. check the dates and build the client (`fetch.build_client`), then
2. claim the database lease (one sync at a time across workers and hosts: `SyncLease.objects`),
3. check the per-date rate limit (inside the lease, so two syncs started together cannot both
   pass the check and both fetch),
4. read each team's group, once a day (`fetch.team_groups`): their workspace is the one to list
   (`fetch.list_workspace`, SPEC §14.2); the ticket list is still fetched once for all groups,
5. fetch everything first (`fetch.fetch_tickets`); read Freshservice's agent list when a
   responder of a counting ticket has no row yet (once, names only: `directory`), then
6. write everything in one transaction (`write.apply_fetched`): per-ticket rows, the removal of
   closures that did not come back (deleted or spam, SPEC §14.4), the recounted days, the
   bookkeeping, the group as read, and the SyncRun with its API calls and credits.
A failure anywhere before the commit leaves nothing behind but a failed SyncRun.

Callers catch `SyncRefused` and `SyncFailed` (errors.py); `tickets.wording.describe_sync` turns
an outcome into the words shown to people.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterable
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from freshworks.client import (
    FreshserviceClient,
    FreshworksDeadlineError,
    FreshworksError,
    Ticket,
)
from tickets import selectors
from tickets.dates import DateRangeError, check_range, dates_label
from tickets.freshservice_config import freshservice_config, without_key
from tickets.models import SyncLease, SyncRun
from tickets.services.directory import refresh_for_unknown_agents
from tickets.services.sync.errors import (
    LeaseLost,
    SyncFailed,
    SyncInProgress,
    SyncNotConfigured,
    SyncRateLimited,
    SyncRefused,
    SyncRequestError,
    SyncTimedOut,
    WorkspaceConflict,
)
from tickets.services.sync.fetch import (
    build_client,
    confirm_gone,
    fetch_start,
    fetch_tickets,
    lease_ttl,
    list_workspace,
    team_groups,
)
from tickets.services.sync.write import (
    apply_fetched,
    closure_date,
    counts_as_closed,
    not_fetched_since,
    store_group,
)

__all__ = [
    "REQUEST_MAX_WAIT_SECONDS",
    "SyncFailed",
    "SyncInProgress",
    "SyncNotConfigured",
    "SyncRateLimited",
    "SyncRefused",
    "SyncRequestError",
    "SyncResult",
    "SyncTimedOut",
    "build_client",
    "closure_date",
    "counts_as_closed",
    "fetch_start",
    "sync_closures",
    "sync_from_web",
]

logger = logging.getLogger("tickets.sync")

# The longest a sync started from an HTTP request waits on Retry-After in total (SPEC §6).
REQUEST_MAX_WAIT_SECONDS = 20
# How far back a sync started from the web may reach: it fetches everything changed since the
# start of its first day (SPEC §19.2); older dates are the command's.
WEB_SYNC_MAX_DAYS = 31


@dataclass(frozen=True)
class SyncResult:
    run: SyncRun
    first_date: date
    last_date: date
    force: bool
    fetched_from: datetime
    tickets_processed: int
    api_calls: int
    dates_recounted: list[date]
    next_sync_at: datetime
    credits: int = 0
    # Stored closures removed because they did not come back (deleted or spam upstream).
    tickets_vanished: int = 0


def sync_closures(
    *,
    first: date | None = None,
    last: date | None = None,
    trigger: SyncRun.Trigger,
    force: bool = False,
    max_wait: float | None = None,
    client: FreshserviceClient | None = None,
    on_page: Callable[[int, int], None] | None = None,
    on_wait: Callable[[float, str], None] | None = None,
    time_limit: float | None = None,
) -> SyncResult:
    """Sync the closures of `first`..`last` (default today; one day when `last` is omitted).

    Raises SyncRefused (SyncRequestError, SyncInProgress, SyncRateLimited) without touching
    anything; SyncFailed when it cannot run (SyncNotConfigured, or a configuration the client
    refuses) or, after recording a failed SyncRun, when the group, the fetch or the write fails.
    `client` defaults to one built from the settings (`max_wait` bounds its waits on Retry-After
    and the budget reserve; `on_wait(seconds, reason)` hears of each wait before it starts);
    `on_page(pages, tickets)` is called after each page fetched. `time_limit` (seconds; a sync
    started from the web passes WEB_SYNC_SECONDS) bounds the whole talk with Freshservice,
    waits and slow answers included: past it the sync stops, records a failed SyncRun and
    raises SyncTimedOut (SPEC §19.2).
    """
    today = timezone.localdate()
    first = first or today
    last = last or first
    try:
        check_range(first, last, today=today)
    except DateRangeError as exc:
        raise SyncRequestError(str(exc)) from None
    if client is not None and not freshservice_config().group_ids:
        # build_client says so for a client it builds; one handed in skipped it.
        raise SyncNotConfigured("Freshservice is not configured: set FRESH_GROUP_ID.")
    # A client handed in stays open for its owner; one built here is closed after the sync.
    context = (
        nullcontext(client)
        if client is not None
        else build_client(max_wait=max_wait, on_wait=on_wait, time_limit=time_limit)
    )
    with context as upstream:
        return _run_leased(
            first=first, last=last, trigger=trigger, force=force, client=upstream, on_page=on_page
        )


def sync_from_web(
    *,
    first: date,
    last: date | None = None,
    trigger: SyncRun.Trigger,
    force: bool = False,
) -> SyncResult:
    """A sync started by a web request (the API's sync and force-sync, the admin's action).

    It must answer before gunicorn's worker timeout (gunicorn.conf.py), so it reaches back at
    most WEB_SYNC_MAX_DAYS days from today (else SyncRequestError naming the command to use)
    and stops after WEB_SYNC_SECONDS (SyncTimedOut, with a failed SyncRun); otherwise as
    `sync_closures`.
    """
    today = timezone.localdate()
    if (today - first).days >= WEB_SYNC_MAX_DAYS:
        raise SyncRequestError(
            f"A sync started from the web reaches back at most {WEB_SYNC_MAX_DAYS} days (it "
            f"fetches everything changed since {first}); sync older dates with "
            f"`manage.py sync_daily_closures --date {first}`."
        )
    return sync_closures(
        first=first,
        last=last,
        trigger=trigger,
        force=force,
        max_wait=REQUEST_MAX_WAIT_SECONDS,
        time_limit=settings.WEB_SYNC_SECONDS,
    )


def _run_leased(
    *,
    first: date,
    last: date,
    trigger: SyncRun.Trigger,
    force: bool,
    client: FreshserviceClient,
    on_page: Callable[[int, int], None] | None,
) -> SyncResult:
    holder = uuid.uuid4().hex
    ttl = lease_ttl(client)
    if not SyncLease.objects.claim(holder, ttl):
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
        SyncLease.objects.release(holder)


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
    config = freshservice_config()
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
            credits=client.credits,
            error=error,
        )

    try:
        assert config.group_ids  # checked before the lease was claimed
        groups = team_groups(client, group_ids=config.group_ids, refresh=force)
        workspace_id = list_workspace([group for group, _ in groups], config.workspace_id)
        fetch_tickets(
            client,
            updated_since=fetched_from,
            holder=holder,
            ttl=ttl,
            into=tickets,
            workspace_id=workspace_id,
            on_page=on_page,
        )
        # The fetch read every page since fetched_from: a stored closure from then on that did
        # not come back is deleted, spam or no longer counting, once Freshservice confirms it.
        vanished = confirm_gone(
            client,
            not_fetched_since(set(tickets), fetched_from),
            config=config,
            workspace_id=workspace_id,
        )
        # Before the write, so the new rows' closures are linked; a failure is only logged.
        refresh_for_unknown_agents(client, _responders(tickets.values()))
        with transaction.atomic():
            if not SyncLease.objects.still_held(holder):
                raise LeaseLost()
            for group, read_now in groups:
                if read_now:
                    store_group(group, fetched_at=started_at)
            applied = apply_fetched(
                tickets.values(),
                first=first,
                last=last,
                started_at=started_at,
                vanished=vanished,
            )
            run = record(SyncRun.Status.SUCCESS)
    except FreshworksDeadlineError as exc:
        reason = _one_line(
            f"{exc} Syncs started from the web stop there (WEB_SYNC_SECONDS) and change "
            f"nothing; sync long ranges with manage.py sync_daily_closures."
        )
        logger.error("Sync of %s timed out: %s", dates_label(first, last), reason)
        raise SyncTimedOut(reason, run=record(SyncRun.Status.FAILED, reason)) from None
    except (FreshworksError, WorkspaceConflict, LeaseLost) as exc:
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
        "Synced %s (%s%s): %d tickets in %d API calls (%d credits) since %s; %s; recounted %s",
        dates_label(first, last),
        trigger,
        ", forced" if force else "",
        len(tickets),
        client.api_calls,
        client.credits,
        fetched_from.isoformat(),
        _vanished_text(applied.vanished),
        ", ".join(day.isoformat() for day in applied.recounted) or "no days",
    )
    return SyncResult(
        run=run,
        first_date=first,
        last_date=last,
        force=force,
        fetched_from=fetched_from,
        tickets_processed=len(tickets),
        api_calls=client.api_calls,
        dates_recounted=applied.recounted,
        next_sync_at=selectors.next_sync_time(started_at),
        credits=client.credits,
        tickets_vanished=applied.vanished,
    )


def _vanished_text(count: int) -> str:
    if count == 1:
        return "removed 1 closure that no longer exists upstream (deleted or spam)"
    return f"removed {count} closures that no longer exist upstream (deleted or spam)"


def _refuse_if_rate_limited(first: date, last: date, now: datetime) -> None:
    # A date that may not sync now always has a next_sync_at (can_sync is true without one).
    limited = [
        (allowance.next_sync_at, allowance)
        for allowance in selectors.sync_allowances(first=first, last=last)
        if allowance.next_sync_at is not None and not allowance.can_sync(now)
    ]
    if limited:
        next_sync_at, latest = max(limited, key=lambda pair: pair[0])
        raise SyncRateLimited(
            dates=[allowance.sync_date for _, allowance in limited],
            next_sync_at=next_sync_at,
            minutes=latest.minutes_until_next_sync(now),
        )


def _responders(tickets: Iterable[Ticket]) -> set[int]:
    """The agents the tickets that count are credited to."""
    config = freshservice_config()
    return {
        ticket.responder_id
        for ticket in tickets
        if ticket.responder_id is not None and counts_as_closed(ticket, config)
    }


def _one_line(text: str) -> str:
    """Errors go into one log line and one database field; never let the key slip in."""
    return without_key(" ".join(text.split()))[:1000]
