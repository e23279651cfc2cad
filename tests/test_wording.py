"""What commands, admin actions and the cron job say about a sync: one function, two forms."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
import time_machine

from tickets.models import SyncRun
from tickets.services.sync import (
    SyncFailed,
    SyncInProgress,
    SyncNotConfigured,
    SyncRateLimited,
    SyncRequestError,
    SyncResult,
)
from tickets.wording import describe_sync, listed, plural, span_label

NOW = datetime(2026, 11, 26, 9, 30, tzinfo=UTC)
FIRST, LAST = date(2026, 11, 25), date(2026, 11, 26)


@pytest.fixture(autouse=True)
def in_utc(settings) -> None:
    """The times in these tests are UTC wall-clock times (whatever YAM_TEST_TIME_ZONE says)."""
    settings.TIME_ZONE = "UTC"


def result(*, tickets: int = 1, calls: int = 1, force: bool = False) -> SyncResult:
    return SyncResult(
        run=SyncRun(),
        first_date=FIRST,
        last_date=LAST,
        force=force,
        fetched_from=datetime(2026, 11, 26, 8, 0, tzinfo=UTC),
        tickets_processed=tickets,
        api_calls=calls,
        dates_recounted=[LAST],
        next_sync_at=datetime(2026, 11, 26, 10, 30, tzinfo=UTC),
    )


def test_counts_and_lists_in_words():
    assert (plural(1, "day"), plural(2, "day"), plural(0, "day")) == ("1 day", "2 days", "0 days")
    assert span_label(LAST, LAST) == "2026-11-26"
    assert span_label(FIRST, LAST) == "2026-11-25..2026-11-26 (2 days)"
    assert listed(str(n) for n in range(12)) == "0; 1; 2; 3; 4; 5; 6; 7; 8; 9; and 2 more."


def test_the_line_of_a_sync_for_commands_and_logs():
    assert describe_sync(result(tickets=3, calls=2)) == (
        "Synced 2026-11-25..2026-11-26: 3 tickets updated since 2026-11-26 08:00 UTC in 2 API "
        "calls; days recounted: 2026-11-26."
    )


def test_one_ticket_and_one_call_are_singular():
    assert describe_sync(result(tickets=1, calls=1)).startswith(
        "Synced 2026-11-25..2026-11-26: 1 ticket updated since 2026-11-26 08:00 UTC in 1 API call; "
    )


def test_the_message_of_a_sync_for_the_admin_names_the_dates_picked():
    assert describe_sync(result(force=True), dates=(FIRST, LAST)) == (
        "Force-synced 2026-11-25..2026-11-26 (2 days): 1 ticket fetched in 1 API call; "
        "1 day recounted."
    )


@time_machine.travel(NOW, tick=False)
@pytest.mark.parametrize(
    ("outcome", "line", "message"),
    [
        (
            SyncRateLimited(dates=[LAST], next_sync_at=NOW, minutes=30),
            "Not synced (rate limited): 2026-11-26 synced less than",
            "2026-11-25..2026-11-26 (2 days) was not synced: 2026-11-26 synced less than",
        ),
        (
            SyncInProgress(),
            "Not synced (in progress): Another sync is running",
            "2026-11-25..2026-11-26 (2 days) was not synced: Another sync is running",
        ),
        (
            SyncRequestError("The range is backwards"),
            "Not synced: The range is backwards",
            "2026-11-25..2026-11-26 (2 days) was not synced: The range is backwards",
        ),
        (
            SyncNotConfigured("Freshservice is not configured: set FRESH_API"),
            "Sync failed: Freshservice is not configured: set FRESH_API",
            "2026-11-25..2026-11-26 (2 days) was not synced: Freshservice is not configured",
        ),
        (
            SyncFailed("Freshservice rejected the API key (401)", run=SyncRun()),
            "Sync failed: Freshservice rejected the API key (401)",
            "The sync of 2026-11-25..2026-11-26 (2 days) failed and changed nothing: "
            "Freshservice rejected",
        ),
    ],
)
def test_refusals_and_failures_in_both_forms(outcome, line, message):
    assert describe_sync(outcome).startswith(line)
    assert describe_sync(outcome, dates=(FIRST, LAST)).startswith(message)
