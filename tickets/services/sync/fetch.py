"""Reading Freshservice for a sync: the client from the configuration, the start, the paging."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import date, datetime, timedelta

from freshworks.client import FreshserviceClient, Ticket
from tickets import dates, selectors
from tickets.freshservice_config import freshservice_config
from tickets.models import SyncLease
from tickets.services.sync.errors import LeaseLost, SyncNotConfigured

# Every incremental fetch reaches this far behind the watermark: a ticket updated while the last
# sync was paging may have missed it, and Freshservice's own clock may run a little behind ours.
OVERLAP = timedelta(minutes=10)
# How often a sync renews its lease while paging.
LEASE_RENEW_SECONDS = 30


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
        # The vendor requires HTTPS; only the demo's stand-in listens on plain loopback HTTP.
        allow_http=config.demo,
    )


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


def fetch_tickets(
    client: FreshserviceClient,
    *,
    updated_since: datetime,
    holder: str,
    ttl: timedelta,
    into: dict[int, Ticket],
    on_page: Callable[[int, int], None] | None = None,
) -> None:
    """Page through every ticket updated since `updated_since` into `into` (by ticket id).

    `into` fills as pages arrive, so a failure part-way still tells how many tickets came. The
    lease of `holder` is renewed for `ttl` as the pages go by; LeaseLost when it was taken.
    `on_page(pages, tickets)` is called after each page.
    """
    renewed = time.monotonic()
    for pages, page in enumerate(client.iter_ticket_pages(updated_since=updated_since), 1):
        for ticket in page:
            # Offset paging over a changing list can repeat a ticket; keep its newest state.
            seen = into.get(ticket.id)
            if seen is None or ticket.updated_at >= seen.updated_at:
                into[ticket.id] = ticket
        # Renewing after every page cost a database write per 100 tickets; every half minute
        # is plenty, as the lease outlasts half a minute plus the slowest page.
        if time.monotonic() - renewed >= LEASE_RENEW_SECONDS:
            if not SyncLease.objects.renew(holder, ttl):
                raise LeaseLost()
            renewed = time.monotonic()
        if on_page:
            on_page(pages, len(into))
