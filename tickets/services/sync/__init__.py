"""The sync (SPEC §6): fetch changed tickets from Freshservice, keep those that count, recount days.

The order of a sync, and why:
1. check the dates and build the client (`fetch.build_client`), then
2. claim the database lease (one sync at a time across workers and hosts: `SyncLease.objects`),
3. check the per-date rate limit (inside the lease, so two syncs started together cannot both
   pass the check and both fetch) unless it resumes an unfinished backfill of the same dates,
4. read each team's group, once a day (`fetch.team_groups`): their workspace is the one to list
   (`fetch.list_workspace`, SPEC §14.2); the ticket list is still fetched once for all groups,
5. fetch everything first, page by page (`fetch.fetched_pages`, held by id); read Freshservice's
   agent list when a responder of a counting ticket has no row yet (once, names only:
   `directory`), then
6. write everything in one transaction (`write.apply_fetched`): per-ticket rows, the removal of
   closures that did not come back (deleted or spam, SPEC §14.4), the recounted days, the
   bookkeeping, the group as read, and the SyncRun with its API calls and credits.
A failure anywhere before the commit leaves nothing behind but a failed SyncRun.

Past BACKFILL_PAGES_AT_ONCE pages the sync is a backfill (SPEC §15, `backfill.py`): from then on
pages are written as they arrive, in batches (the pages in when one is written), each in its own
transaction with the progress; the sweep, the bookkeeping and the successful SyncRun wait for the
last page. A failure keeps what was written.

Callers catch `SyncRefused` and `SyncFailed` (errors.py); `tickets.wording.describe_sync` turns
an outcome into the words shown to people.
"""

from __future__ import annotations

import logging
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
    Group,
    Ticket,
)
from tickets import selectors
from tickets.dates import DateRangeError, check_range, dates_label
from tickets.freshservice_config import FreshserviceConfig, freshservice_config, without_key
from tickets.models import BackfillProgress, SyncLease, SyncRun, lease_holder_name
from tickets.services.directory import refresh_for_unknown_agents
from tickets.services.sync.backfill import (
    BATCH_PAGES,
    BATCH_SECONDS,
    Backfill,
    EtaEstimate,
    SyncProgress,
    pages_at_once,
    read_ahead_pages,
    resume_page,
    unfinished_backfill,
)
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
    LeaseKeeper,
    PageReader,
    build_client,
    confirm_gone,
    fetch_start,
    fetched_pages,
    keep_newest,
    lease_ttl,
    list_workspace,
    team_groups,
)
from tickets.services.sync.write import (
    Applied,
    apply_fetched,
    closure_date,
    counts_as_closed,
    finish_writing,
    not_fetched_since,
    not_rewritten_since,
    store_group,
)

__all__ = [
    "REQUEST_MAX_WAIT_SECONDS",
    "SyncFailed",
    "SyncInProgress",
    "SyncNotConfigured",
    "SyncProgress",
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
    # A backfill (SPEC §15): its pages, and the page a rerun after a crash went on from.
    pages: int = 0
    backfill: bool = False
    resumed_from_page: int | None = None


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
    on_progress: Callable[[SyncProgress], None] | None = None,
    time_limit: float | None = None,
) -> SyncResult:
    """Sync the closures of `first`..`last` (default today; one day when `last` is omitted).

    Raises SyncRefused (SyncRequestError, SyncInProgress, SyncRateLimited) without touching
    anything; SyncFailed when it cannot run (SyncNotConfigured, or a configuration the client
    refuses) or, after recording a failed SyncRun, when the group, the fetch or the write fails.
    `client` defaults to one built from the settings (`max_wait` bounds its waits on Retry-After
    and the budget reserve; `on_wait(seconds, reason)` hears of each wait before it starts);
    `on_page(pages, tickets)` is called after each page fetched, `on_progress(SyncProgress)`
    too, with the credits, the budget left and, in a backfill, an estimate of the time left.
    `time_limit` (seconds; a sync started from the web passes WEB_SYNC_SECONDS) bounds the whole
    talk with Freshservice, waits and slow answers included: past it the sync stops, records a
    failed SyncRun and raises SyncTimedOut (SPEC §19.2).

    A sync past BACKFILL_PAGES_AT_ONCE pages is a backfill (backfill.py): written as it goes.
    When an unfinished backfill of exactly `first`..`last` exists (a crash, a kill), this sync
    resumes it, past the rate limit (it was allowed when it began).
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
            first=first,
            last=last,
            trigger=trigger,
            force=force,
            client=upstream,
            on_page=on_page,
            on_progress=on_progress,
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
    on_progress: Callable[[SyncProgress], None] | None,
) -> SyncResult:
    holder = lease_holder_name()
    ttl = lease_ttl(client)
    if not SyncLease.objects.claim(holder, ttl):
        raise SyncInProgress()
    try:
        started_at = timezone.now()
        resuming = unfinished_backfill(first, last)
        if not force and resuming is None:
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
            on_progress=on_progress,
            resuming=resuming,
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
    on_progress: Callable[[SyncProgress], None] | None,
    resuming: BackfillProgress | None,
) -> SyncResult:
    backfill = Backfill.resume(resuming, holder=holder) if resuming else None
    fetched_from = backfill.updated_since if backfill else fetch_start(first=first, force=force)
    first_page = resume_page(resuming) if resuming else 1
    config = freshservice_config()
    held: dict[int, Ticket] = {}  # a short sync's tickets, by id, until its one write
    received = 0  # tickets received by this run
    last_page = 0
    responders: set[int] = set()
    eta = EtaEstimate(updated_since=fetched_from, first_page=first_page)
    lease = LeaseKeeper(holder, ttl)
    pages: PageReader | None = None

    def record(status: SyncRun.Status, error: str = "", **fields: object) -> SyncRun:
        return SyncRun.objects.create(
            first_date=first,
            last_date=last,
            trigger=trigger,
            status=status,
            finished_at=timezone.now(),
            fetched_from=fetched_from,
            api_calls=client.api_calls,
            credits=client.credits,
            error=error,
            resumed_from_page=backfill.resumed_from_page if backfill else None,
            # A short sync counts each ticket once (a page may repeat one); a backfill holds no
            # tickets to tell, and counts what it received.
            **{
                "started_at": started_at,
                "tickets_processed": received if backfill else len(held),
            }
            | fields,
        )

    def report(page: int, tickets: list[Ticket]) -> None:
        so_far = len(held) if backfill is None else backfill.progress.tickets_done
        if on_page:
            on_page(page, so_far)
        if on_progress:
            created = [ticket.created_at for ticket in tickets if ticket.created_at]
            on_progress(
                SyncProgress(
                    pages=page,
                    tickets=so_far,
                    credits=client.credits,
                    budget_remaining=client.rate_limit_remaining,
                    budget_total=client.rate_limit_total,
                    backfill=backfill is not None,
                    resumed_from_page=backfill.resumed_from_page if backfill else None,
                    eta_seconds=eta.seconds(page=page, oldest_created=min(created, default=None))
                    if backfill
                    else None,
                )
            )

    try:
        assert config.group_ids  # checked before the lease was claimed
        groups = team_groups(client, group_ids=config.group_ids, refresh=force)
        workspace_id = list_workspace([group for group, _ in groups], config.workspace_id)
        read_now = [group for group, fresh in groups if fresh]
        pages = fetched_pages(
            client, updated_since=fetched_from, workspace_id=workspace_id, first_page=first_page
        )
        for page, tickets in pages:
            lease.keep()
            # A backfill writes the pages read ahead meanwhile with this one (a batch).
            batch = [(page, tickets)]
            if backfill is not None:
                pages.read_ahead(read_ahead_pages())
                batch += pages.following(BATCH_PAGES - 1, within=BATCH_SECONDS)
            for number, got in batch:
                received += len(got)
                last_page = number
                responders |= _responders(got, config)
            if backfill is not None:
                backfill.write_pages(batch)
            else:  # not (yet) a backfill: the batch is this page alone
                keep_newest(held, tickets)
                if page > pages_at_once():
                    # Past BACKFILL_PAGES_AT_ONCE pages: a backfill (SPEC §15). What is held
                    # is its first batch; from now on pages are written as they arrive.
                    backfill = Backfill.begin(
                        first=first,
                        last=last,
                        trigger=trigger,
                        force=force,
                        updated_since=fetched_from,
                        started_at=started_at,
                        holder=holder,
                    )
                    pages.read_ahead(read_ahead_pages())
                    backfill.write(held.values(), pages_done=page, received=len(held))
                    held.clear()
            for number, got in batch:
                report(number, got)
        if backfill is not None:
            run, applied = _finish_backfill(
                backfill,
                first=first,
                last=last,
                client=client,
                config=config,
                workspace_id=workspace_id,
                groups=read_now,
                responders=responders,
                record=record,
            )
        else:
            # The fetch read every page since fetched_from: a stored closure from then on that
            # did not come back is deleted, spam or no longer counting, once Freshservice
            # confirms it.
            vanished = confirm_gone(
                client,
                not_fetched_since(set(held), fetched_from),
                config=config,
                workspace_id=workspace_id,
            )
            # Before the write, so the new rows' closures are linked; a failure is only logged.
            refresh_for_unknown_agents(client, responders)
            with transaction.atomic():
                if not SyncLease.objects.still_held(holder):
                    raise LeaseLost()
                for group in read_now:
                    store_group(group, fetched_at=started_at)
                applied = apply_fetched(
                    held.values(),
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
        run = record(SyncRun.Status.FAILED, reason + _kept_text(backfill))
        raise SyncTimedOut(reason + _kept_text(backfill), run=run) from None
    except (FreshworksError, WorkspaceConflict, LeaseLost) as exc:
        reason = _one_line(str(exc))
        logger.error("Sync of %s failed: %s", dates_label(first, last), reason)
        run = record(SyncRun.Status.FAILED, reason + _kept_text(backfill))
        raise SyncFailed(reason + _kept_text(backfill), run=run) from None
    except Exception as exc:
        # An unexpected fault (a bug, the database): keep the traceback in the log, and the
        # audit trail honest.
        logger.exception("Sync of %s failed unexpectedly", dates_label(first, last))
        reason = _one_line(f"Unexpected error: {type(exc).__name__}: {exc}")
        run = record(SyncRun.Status.FAILED, reason + _kept_text(backfill))
        raise SyncFailed(reason + _kept_text(backfill), run=run) from exc
    finally:
        if pages is not None:
            pages.close()

    _log_synced(run, force=force, recounted=applied.recounted, vanished=applied.vanished)
    return SyncResult(
        run=run,
        first_date=first,
        last_date=last,
        force=force,
        fetched_from=fetched_from,
        tickets_processed=run.tickets_processed,
        api_calls=client.api_calls,
        dates_recounted=applied.recounted,
        # A backfill's first start, for one resumed.
        next_sync_at=selectors.next_sync_time(run.started_at),
        credits=client.credits,
        tickets_vanished=applied.vanished,
        pages=backfill.progress.pages_done if backfill else last_page,
        backfill=backfill is not None,
        resumed_from_page=backfill.resumed_from_page if backfill else None,
    )


def _finish_backfill(
    backfill: Backfill,
    *,
    first: date,
    last: date,
    client: FreshserviceClient,
    config: FreshserviceConfig,
    workspace_id: int | None,
    groups: list[Group],
    responders: set[int],
    record: Callable[..., SyncRun],
) -> tuple[SyncRun, Applied]:
    """Every page is written: the sweep (SPEC §14.4), the bookkeeping and the successful
    SyncRun (the watermark and covered-from move now), in one transaction."""
    vanished = confirm_gone(
        client,
        not_rewritten_since(backfill.updated_since, written_before=backfill.started_at),
        config=config,
        workspace_id=workspace_id,
    )
    refresh_for_unknown_agents(client, responders)
    with transaction.atomic():
        if not SyncLease.objects.still_held(backfill.holder):
            raise LeaseLost()
        for group in groups:
            store_group(group, fetched_at=backfill.started_at)
        applied = finish_writing(
            first=first,
            last=last,
            started_at=backfill.started_at,
            per_day=backfill.counted_per_day(),
            vanished=vanished,
        )
        backfill.finished()
        # The backfill's first start: every change from then on is fetched by the next sync.
        run = record(
            SyncRun.Status.SUCCESS,
            started_at=backfill.started_at,
            tickets_processed=backfill.progress.tickets_done,
        )
    # The days of the tickets its batches wrote, and those of the sweep.
    recounted = sorted({*applied.recounted, *backfill.counted_per_day()})
    return run, Applied(recounted, applied.vanished)


def _kept_text(backfill: Backfill | None) -> str:
    """What a failed backfill keeps: the pages written, and how to go on."""
    if backfill is None:
        return ""
    if not backfill.progress.pages_done:
        return " The backfill had written nothing yet."
    return (
        f" The backfill keeps its first {backfill.progress.pages_done} pages: run the same "
        f"sync again to resume from page {resume_page(backfill.progress)}."
    )


def _log_synced(run: SyncRun, *, force: bool, recounted: list[date], vanished: int) -> None:
    logger.info(
        "Synced %s (%s%s%s): %d tickets in %d API calls (%d credits) since %s; %s; recounted %s",
        dates_label(run.first_date, run.last_date),
        run.trigger,
        ", forced" if force else "",
        f", resumed from page {run.resumed_from_page}" if run.resumed_from_page else "",
        run.tickets_processed,
        run.api_calls,
        run.credits,
        run.fetched_from.isoformat() if run.fetched_from else "-",
        _vanished_text(vanished),
        ", ".join(day.isoformat() for day in recounted) or "no days",
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


def _responders(tickets: Iterable[Ticket], config: FreshserviceConfig) -> set[int]:
    """The agents the tickets that count are credited to (`config`: the sync's, read once)."""
    return {
        ticket.responder_id
        for ticket in tickets
        if ticket.responder_id is not None and counts_as_closed(ticket, config)
    }


def _one_line(text: str) -> str:
    """Errors go into one log line and one database field; never let the key slip in."""
    return without_key(" ".join(text.split()))[:1000]
