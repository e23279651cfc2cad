"""Reading Freshservice for a sync: the client from the configuration, the start, the team's
group and its workspace, the paging."""

from __future__ import annotations

import logging
import queue
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import date, datetime, timedelta

from django.utils import timezone

from freshworks.client import FreshserviceClient, FreshworksConfigError, Group, Ticket
from tickets import dates, selectors
from tickets.freshservice_config import FreshserviceConfig, freshservice_config
from tickets.models import FreshserviceGroup, SyncLease
from tickets.services.sync.errors import (
    LeaseLost,
    SyncFailed,
    SyncNotConfigured,
    WorkspaceConflict,
    WorkspacesDiffer,
)

logger = logging.getLogger("tickets.sync")

# Every incremental fetch reaches this far behind the watermark: a ticket updated while the last
# sync was paging may have missed it, and Freshservice's own clock may run a little behind ours.
OVERLAP = timedelta(minutes=10)
# How often a sync renews its lease while paging.
LEASE_RENEW_SECONDS = 30
# FRESH_WORKSPACE_ID=0 asks Freshservice for every workspace's tickets: never a conflict.
ALL_WORKSPACES = 0


def build_client(
    *,
    max_wait: float | None = None,
    on_wait: Callable[[float, str], None] | None = None,
    time_limit: float | None = None,
) -> FreshserviceClient:
    """A client from `freshservice_config()`; SyncNotConfigured names whatever is missing, and
    SyncFailed whatever the client refuses (plain http:// outside demo mode, SPEC §14.7).

    `on_wait(seconds, reason)` hears of every wait the client makes (Retry-After, the budget
    reserve) before it starts; `time_limit` bounds all the client does, in seconds from now.
    """
    config = freshservice_config()
    missing = [
        name
        for name, value in (
            ("FRESH_API", config.api_key),
            ("FRESH_ENDPOINT", config.endpoint),
            ("FRESH_GROUP_ID", config.group_ids),
        )
        if not value
    ]
    if missing:
        raise SyncNotConfigured(
            f"Freshservice is not configured: set {', '.join(missing)} (see .env.example), "
            f"or start the demo with `make run`."
        )
    try:
        return FreshserviceClient(
            api_key=config.api_key,
            endpoint=config.endpoint,
            timeout=config.timeout,
            max_wait=config.max_wait if max_wait is None else max_wait,
            workspace_id=config.workspace_id,
            budget_reserve=config.budget_reserve,
            on_wait=on_wait,
            time_limit=time_limit,
            # The vendor requires HTTPS; only the demo's stand-in listens on plain loopback HTTP.
            allow_http=config.demo,
        )
    except FreshworksConfigError as exc:
        raise SyncFailed(str(exc)) from None


def team_groups(
    client: FreshserviceClient, *, group_ids: tuple[int, ...], refresh: bool
) -> list[tuple[Group, bool]]:
    """Each team's agent group (SPEC §14.2, §16.5), in the order configured, and whether it was
    read from Freshservice just now.

    Each is read with `GET groups/{id}` (1 credit) once a day: the copy in FreshserviceGroup
    serves while it was read today (TIME_ZONE) unless `refresh` (a forced sync, a repair: it
    must not trust yesterday's workspace). Raises FreshworksGroupNotFoundError (naming
    FRESH_GROUP_ID and the group) for the first group the account does not have, and the
    client's other errors; the caller stores the groups read just now with the sync's write.
    """
    today = timezone.localdate()
    cached = {
        group.group_id: group
        for group in FreshserviceGroup.objects.filter(group_id__in=group_ids)
        if not refresh and timezone.localdate(group.fetched_at) == today
    }
    groups = []
    for group_id in group_ids:
        if (copy := cached.get(group_id)) is not None:
            group = Group(id=group_id, name=copy.name, workspace_id=copy.workspace_id)
            groups.append((group, False))
        else:
            groups.append((client.get_group(group_id), True))
    return groups


def list_workspace(groups: list[Group], configured: int | None) -> int | None:
    """The `workspace_id` the list call needs: FRESH_WORKSPACE_ID when set, else the groups'.

    Without one, Freshservice lists only the primary workspace's tickets, and a group living in
    another would silently count zero. A configured workspace other than a group's (and other
    than 0, all workspaces) raises WorkspaceConflict naming both; groups in different
    workspaces with none configured raise WorkspacesDiffer (the sync lists tickets once).
    """
    if configured is None:
        workspaces = {group.workspace_id for group in groups}
        if len(workspaces) > 1:
            raise WorkspacesDiffer(groups)
        return groups[0].workspace_id
    for group in groups:
        if configured != ALL_WORKSPACES and group.workspace_id not in (None, configured):
            raise WorkspaceConflict(
                configured=configured,
                group_id=group.id,
                group_name=group.name,
                actual=group.workspace_id,
            )
    return configured


# Offset paging over a list that shrinks while a sync pages (a ticket deleted or marked spam on
# a page already read) shifts the rest up, so a live ticket can be skipped. A closure that did not
# come back is therefore removed only once Freshservice confirms it no longer counts, one read
# (1 credit) each. More than this many at once is a mass deletion or a workspace change, not a
# skip (a shift skips at most as many tickets as left the list): those go without a read each.
MAX_GONE_CHECKS = 25


def confirm_gone(
    client: FreshserviceClient,
    candidates: dict[int, date],
    *,
    config: FreshserviceConfig,
    workspace_id: int | None,
) -> dict[int, date]:
    """The `candidates` (stored closures a complete fetch did not bring back) that Freshservice
    says no longer count: gone (404), deleted, spam, or now outside the configured groups, the
    workspace or the closed statuses. The others were skipped by the paging and are kept as
    stored."""
    if len(candidates) > MAX_GONE_CHECKS:
        logger.warning(
            "%d stored closures did not come back in a complete fetch; removing them without "
            "reading each (more than %d at once is a mass deletion or a workspace change)",
            len(candidates),
            MAX_GONE_CHECKS,
        )
        return candidates
    confirmed = {}
    for ticket_id, day in candidates.items():
        state = client.get_ticket_state(ticket_id)
        if (
            state is None
            or state.gone
            or state.group_id not in config.group_ids
            or state.status not in config.closed_statuses
            or workspace_id not in (None, ALL_WORKSPACES, state.workspace_id)
        ):
            confirmed[ticket_id] = day
        else:
            logger.warning(
                "Ticket %d did not come back in the list but still counts in Freshservice "
                "(the paging skipped it while the list changed); kept as stored",
                ticket_id,
            )
    return confirmed


def fetch_start(*, first: date, force: bool) -> datetime:
    """The `updated_since` of a sync whose first day is `first` (SPEC §6, "What a sync fetches").

    Incremental from the watermark minus the overlap; from the start of `first` instead when that
    is earlier and the sync is forced or asks for a day before everything already covered. The
    first sync ever starts at the beginning of its first day. No sync leaves a gap behind it.
    """
    day_start = dates.local_day_start(first)
    mark = selectors.watermark()
    if mark is None:
        return day_start
    incremental = mark - OVERLAP
    covered = selectors.covered_from()
    if force or covered is None or day_start < covered:
        return min(incremental, day_start)
    return incremental


def lease_ttl(client: FreshserviceClient) -> timedelta:
    """Longer than a renewal interval plus the slowest page (3 attempts, backoff, the whole
    Retry-After budget), so a live sync never loses its lease between renewals."""
    worst_page = 3 * (client.connect_timeout + client.timeout) + 3 + client.max_wait
    return timedelta(seconds=LEASE_RENEW_SECONDS + worst_page + 60)


def fetched_pages(
    client: FreshserviceClient,
    *,
    updated_since: datetime,
    workspace_id: int | None = None,
    first_page: int = 1,
) -> PageReader:
    """(page number, tickets) for every page of `workspace_id`'s tickets updated since
    `updated_since`, from page `first_page` on, as each arrives: the caller holds them (a short
    sync) or writes them (a backfill, which reads ahead: `PageReader.read_ahead`)."""
    pages_of = client.iter_ticket_pages(
        updated_since=updated_since, workspace_id=workspace_id, first_page=first_page
    )
    return PageReader(enumerate(pages_of, first_page))


class LeaseKeeper:
    """Renews the lease of `holder` for `ttl` as the pages go by; LeaseLost when it was taken.

    Renewing after every page cost a database write per 100 tickets; every half minute is
    plenty, as the lease outlasts half a minute plus the slowest page.
    """

    def __init__(self, holder: str, ttl: timedelta) -> None:
        self.holder = holder
        self.ttl = ttl
        self.renewed = time.monotonic()

    def keep(self) -> None:
        if time.monotonic() - self.renewed >= LEASE_RENEW_SECONDS:
            if not SyncLease.objects.renew(self.holder, self.ttl):
                raise LeaseLost()
            self.renewed = time.monotonic()


_END = object()


# While a page is read ahead, Python's threads hand the GIL over at least this often (seconds;
# Python's default is 5 ms). The reading thread needs it back after every socket read, and with
# the default it waited up to 5 ms each time behind the writer's Python.
READ_AHEAD_SWITCH_INTERVAL = 0.0005


class PageReader:
    """Iterates over `pages`; after `read_ahead(pages)`, a thread fetches the next pages (at
    most `pages` wait) while the caller writes (a backfill's wall time is then about the slower
    of the two, not their sum), and `following` hands over those that are in. Whatever the
    fetch raises is raised to the caller, after the pages before it. The thread never touches
    the database; `close()` lets it go. Meanwhile the process switches threads more often
    (READ_AHEAD_SWITCH_INTERVAL); `close()` restores the interval.
    """

    def __init__(self, pages: Iterator[tuple[int, list[Ticket]]]) -> None:
        self._pages = pages
        self._ahead: queue.Queue[object] | None = None
        self._next: object = None  # the end, or a failure, met by `following`
        self._stop = threading.Event()
        self._switch_interval: float | None = None  # the process's own, while reading ahead

    def __iter__(self) -> PageReader:
        return self

    def __next__(self) -> tuple[int, list[Ticket]]:
        if self._ahead is None:
            return next(self._pages)
        if self._next is None:
            item = self._ahead.get()
        else:
            item, self._next = self._next, None
        if item is _END:
            self._next = _END  # and so on every later call
            raise StopIteration
        if isinstance(item, BaseException):
            raise item
        return item  # type: ignore[return-value]

    def following(self, limit: int, *, within: float) -> list[tuple[int, list[Ticket]]]:
        """Up to `limit` more pages read ahead, those in already and those that arrive within
        `within` seconds. The end or a failure met on the way comes with the next `next()`."""
        pages: list[tuple[int, list[Ticket]]] = []
        if self._ahead is None:
            return pages
        deadline = time.monotonic() + within
        while len(pages) < limit and self._next is None:
            try:
                item = self._ahead.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                break
            if item is _END or isinstance(item, BaseException):
                self._next = item
            else:
                pages.append(item)  # type: ignore[arg-type]
        return pages

    def read_ahead(self, pages: int) -> None:
        if self._ahead is None:
            self._ahead = queue.Queue(maxsize=pages)
            self._switch_interval = sys.getswitchinterval()
            sys.setswitchinterval(min(self._switch_interval, READ_AHEAD_SWITCH_INTERVAL))
            threading.Thread(target=self._fetch, name="sync-read-ahead", daemon=True).start()

    def close(self) -> None:
        self._stop.set()
        if self._switch_interval is not None:
            sys.setswitchinterval(self._switch_interval)
            self._switch_interval = None

    def _fetch(self) -> None:
        try:
            for item in self._pages:
                if not self._hand_over(item):
                    return
            self._hand_over(_END)
        except BaseException as exc:  # handed to the caller, who raises it
            self._hand_over(exc)

    def _hand_over(self, item: object) -> bool:
        assert self._ahead is not None
        while not self._stop.is_set():
            try:
                self._ahead.put(item, timeout=0.5)
                return True
            except queue.Full:
                continue
        return False


def keep_newest(into: dict[int, Ticket], page: list[Ticket]) -> None:
    """Add a page to the tickets held by id. Offset paging over a changing list can repeat a
    ticket; keep its newest state."""
    for ticket in page:
        seen = into.get(ticket.id)
        if seen is None or ticket.updated_at >= seen.updated_at:
            into[ticket.id] = ticket
