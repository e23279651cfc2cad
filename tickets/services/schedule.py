"""The scheduled jobs: the sync django-crontab runs on SYNC_SCHEDULE (through `tickets.cron`),
which demo mode runs every hour too, the nightly repair on REPAIR_SCHEDULE and the daily digest on
DIGEST_SCHEDULE.

The day's first scheduled sync also reads Freshservice's agent list (names and links,
`tickets.services.directory`), before it syncs; a failure there is only logged.

A scheduled run has nobody to answer to, so it makes its outcome visible itself: a sync that ran
is in SyncRun (failed ones with their reason), and every outcome is logged (stderr, and LOG_FILE
when set).
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from tickets.models import SyncRun
from tickets.services import directory
from tickets.services.digest import (
    DigestNotConfigured,
    compose_digest,
    default_day,
    deliver_digest,
)
from tickets.services.sync import (
    SyncFailed,
    SyncRefused,
    build_client,
    sync_closures,
)
from tickets.wording import describe_sync

# The name its log lines have always carried, whoever runs it.
logger = logging.getLogger("tickets.cron")


def scheduled_sync() -> bool:
    """Sync today (which also picks up late changes to earlier days). True when it synced."""
    _refresh_agent_names()
    try:
        sync_closures(trigger=SyncRun.Trigger.SCHEDULE)
    except SyncRefused as refusal:
        logger.info("Scheduled sync: %s", describe_sync(refusal))
    except SyncFailed as failure:
        # A sync that ran logged its reason and recorded the failed SyncRun; one that could not
        # run (not configured) is logged here.
        if failure.run is None:
            logger.error("Scheduled sync: %s", describe_sync(failure))
    else:
        return True
    return False


def repair_sync() -> bool:
    """A forced sync of the last REPAIR_DAYS days and today (SPEC §14.4). True when it synced.

    It fetches everything updated since the start of its first day, so it removes the closures
    of those days that were deleted or marked spam upstream since they were counted (the list
    call never shows such tickets, and an incremental sync only misses what it did not reach).
    """
    today = timezone.localdate()
    first = today - timedelta(days=settings.REPAIR_DAYS)
    try:
        result = sync_closures(first=first, last=today, trigger=SyncRun.Trigger.REPAIR, force=True)
    except SyncRefused as refusal:
        logger.info("Repair sync: %s", describe_sync(refusal))
    except SyncFailed as failure:
        # As for the scheduled sync: a sync that ran has logged its reason already.
        if failure.run is None:
            logger.error("Repair sync: %s", describe_sync(failure))
    else:
        logger.info(
            "Repair sync: %s (%d closures removed as deleted or spam)",
            describe_sync(result),
            result.tickets_vanished,
        )
        return True
    return False


def _refresh_agent_names() -> None:
    """Read the agent list if this is the day's first scheduled sync (see module docstring)."""
    if directory.read_today():
        return
    try:
        client = build_client()
    except SyncFailed:
        # Not configured, or a setting the client refuses: the sync says so just after.
        return
    with client:
        directory.refresh_once_a_day(client)


def scheduled_digest() -> bool:
    """Send the digest of the previous workday (DIGEST_SCHEDULE). True when every channel took it;
    each outcome is logged by `deliver_digest`."""
    try:
        deliveries = deliver_digest(compose_digest(day=default_day()))
    except DigestNotConfigured as exc:
        logger.error("Scheduled digest: %s", exc)
        return False
    return all(delivery.ok for delivery in deliveries)
