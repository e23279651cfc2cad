"""The scheduled sync: what django-crontab runs on SYNC_SCHEDULE (through `tickets.cron`), and
what demo mode runs every hour.

A scheduled run has nobody to answer to, so it makes its outcome visible itself: a sync that ran
is in SyncRun (failed ones with their reason), and every outcome is logged (stderr, and LOG_FILE
when set).
"""

from __future__ import annotations

import logging

from tickets.models import SyncRun
from tickets.services.sync import (
    SyncFailed,
    SyncInProgress,
    SyncNotConfigured,
    SyncRateLimited,
    sync_closures,
)

# The name its log lines have always carried, whoever runs it.
logger = logging.getLogger("tickets.cron")


def scheduled_sync() -> bool:
    """Sync today (which also picks up late changes to earlier days). True when it synced."""
    try:
        sync_closures(trigger=SyncRun.Trigger.SCHEDULE)
    except (SyncRateLimited, SyncInProgress) as exc:
        logger.info("Scheduled sync skipped: %s", exc)
    except SyncFailed:
        pass  # the sync logged the reason and recorded the failed SyncRun
    except SyncNotConfigured as exc:
        logger.error("Scheduled sync cannot run: %s", exc)
    else:
        return True
    return False
