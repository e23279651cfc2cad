"""What a sync raises instead of a result: refused before it started, or failed.

Callers catch exactly two types: `SyncRefused` (nothing happened and nothing is wrong: the date
is rate limited, another sync is running, or the dates make no sense) and `SyncFailed` (the sync
could not run, or ran and failed, changing nothing). Each message is one line a person can act on;
`tickets.services.sync.outcome.describe` turns them into the words commands and the admin show.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime

from django.conf import settings
from django.utils import timezone

from freshworks.client import Group
from tickets.models import SyncRun


class SyncRefused(Exception):
    """The sync did not start; nothing was fetched or written and no SyncRun was recorded."""


class SyncRateLimited(SyncRefused):
    def __init__(self, *, dates: list[date], next_sync_at: datetime, minutes: int) -> None:
        self.dates = dates
        self.next_sync_at = next_sync_at
        self.minutes_until_next_sync = minutes
        names = ", ".join(day.isoformat() for day in dates)
        local = timezone.localtime(next_sync_at)
        super().__init__(
            f"{names} synced less than {settings.SYNC_MIN_INTERVAL_MINUTES} minutes ago; "
            f"next sync allowed at {local:%Y-%m-%d %H:%M %Z} (in {minutes} min)."
        )


class SyncInProgress(SyncRefused):
    def __init__(self) -> None:
        super().__init__("Another sync is running; its numbers will appear when it finishes.")


class SyncRequestError(SyncRefused, ValueError):
    """The dates asked for make no sense (backwards, too long a range, in the future)."""


class SyncFailed(Exception):
    """The sync could not run (`run` is None) or ran and failed (`run` is its failed SyncRun)."""

    def __init__(self, reason: str, *, run: SyncRun | None = None) -> None:
        self.run = run
        super().__init__(reason)


class SyncNotConfigured(SyncFailed):
    """Freshservice is not configured; the message names the missing settings."""


class SyncTimedOut(SyncFailed):
    """The sync ran out of its time limit (a sync started from the web, WEB_SYNC_SECONDS) and
    stopped cleanly: its failed SyncRun says where."""


class WorkspaceConflict(Exception):
    """Inside the sync only: FRESH_WORKSPACE_ID names another workspace than the group's (it
    becomes a SyncFailed)."""

    def __init__(self, *, configured: int, group_id: int, group_name: str, actual: int) -> None:
        super().__init__(
            f"FRESH_WORKSPACE_ID is {configured}, but Freshservice says the agent group "
            f"FRESH_GROUP_ID={group_id} ({group_name}) lives in workspace {actual}: set "
            f"FRESH_WORKSPACE_ID={actual}, or leave it empty to use the group's workspace."
        )


class WorkspacesDiffer(WorkspaceConflict):
    """Inside the sync only: the configured groups live in different workspaces and
    FRESH_WORKSPACE_ID is empty, so the one list call cannot see them all (a SyncFailed)."""

    def __init__(self, groups: Iterable[Group]) -> None:
        listed = "; ".join(f"{g.id} ({g.name}) in workspace {g.workspace_id}" for g in groups)
        Exception.__init__(
            self,
            f"The agent groups of FRESH_GROUP_ID live in different workspaces ({listed}), and "
            "the sync lists tickets once for all of them: set FRESH_WORKSPACE_ID=0 to list "
            "every workspace.",
        )


class LeaseLost(Exception):
    """Inside the sync only: another sync took the lease while this one ran (it becomes a
    SyncFailed)."""

    def __init__(self) -> None:
        super().__init__(
            "The sync lost its lease (it ran longer than the lease allows); nothing was written."
        )
