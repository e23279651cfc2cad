"""The sync commands as cron and people run them: exit status, output, and no secrets."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest
import time_machine

from tests.conftest import API_KEY, ENDPOINT
from tests.freshservice_data import make_ticket
from tests.upstream import FakeFreshservice
from tickets import cron
from tickets.models import SyncLease, SyncRun, TicketClosure

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def in_utc(settings) -> None:
    """The times in these tests are UTC wall-clock times (whatever YAM_TEST_TIME_ZONE says)."""
    settings.TIME_ZONE = "UTC"


@pytest.fixture
def upstream(requests_mock, fresh) -> FakeFreshservice:
    fake = FakeFreshservice(requests_mock)
    fake.put(
        make_ticket(
            id=1,
            responder_id=1001,
            status=5,
            updated_at="2026-11-26T08:00:00Z",
            resolved_at="2026-11-26T08:00:00Z",
            closed_at="2026-11-26T08:00:00Z",
        )
    )
    return fake


@time_machine.travel(NOW, tick=False)
def test_it_exits_0_and_says_what_it_synced(upstream, manage):
    status, out, _ = manage("sync_daily_closures")

    assert status == 0
    assert "Synced 2026-11-26: 1 ticket updated" in out
    # The team's group (read once a day), one page of tickets, and the agent list (active,
    # inactive) for the agent it did not know.
    assert "4 API calls" in out
    assert (upstream.group_reads, upstream.list_calls, upstream.agent_calls) == (1, 1, 2)
    assert TicketClosure.objects.get().tickets_closed == 1
    assert SyncRun.objects.get().trigger == "command"


@time_machine.travel(NOW, tick=False)
def test_it_exits_0_when_rate_limited_and_says_so(upstream, manage):
    manage("sync_daily_closures")

    status, out, _ = manage("sync_daily_closures")

    assert status == 0
    assert "rate limited" in out
    assert "10:00" in out
    assert upstream.calls == 2  # the first sync's: the group, then one page


@time_machine.travel(NOW, tick=False)
def test_it_exits_0_when_another_sync_is_running_and_says_so(upstream, manage):
    SyncLease.objects.filter(name="sync").update(
        holder="other", expires_at=datetime(2026, 11, 26, 9, 5, tzinfo=UTC)
    )

    status, out, _ = manage("sync_daily_closures")

    assert status == 0
    assert "in progress" in out
    assert upstream.calls == 0


@time_machine.travel(NOW, tick=False)
def test_force_syncs_again_within_the_hour(upstream, manage):
    manage("sync_daily_closures")

    status, out, _ = manage("sync_daily_closures", "--force")

    assert status == 0
    assert "Synced" in out
    assert SyncRun.objects.order_by("pk").last().trigger == "force"


@pytest.mark.parametrize(
    ("status_code", "reason"),
    [(401, "API key"), (403, "permission"), (404, "FRESH_ENDPOINT"), (500, "500")],
)
@time_machine.travel(NOW, tick=False)
def test_it_exits_1_with_a_one_line_reason_when_the_sync_fails(
    requests_mock, fresh, manage, status_code, reason
):
    requests_mock.get(f"{ENDPOINT}tickets", status_code=status_code, json={"code": "x"})

    status, _, err = manage("sync_daily_closures")

    assert status == 1
    # Log lines (retries, the failure) come first; the command's verdict is the last line.
    verdict = err.strip().splitlines()[-1]
    assert verdict.startswith("CommandError: Sync failed: ")
    assert reason in verdict
    assert SyncRun.objects.get().status == "failed"
    assert not TicketClosure.objects.exists()


@time_machine.travel(NOW, tick=False)
def test_it_exits_1_and_names_what_is_missing_when_not_configured(manage):
    status, _, err = manage("sync_daily_closures")

    assert status == 1
    assert "FRESH_API, FRESH_ENDPOINT, FRESH_GROUP_ID" in err
    assert not SyncRun.objects.exists()


@pytest.mark.parametrize(
    "argv",
    [
        ["--date", "2026-02-30"],
        ["--date", "yesterday"],
        ["--from", "2026-11-20"],
        ["--from", "2026-11-25", "--to", "2026-11-20"],
        ["--date", "2026-11-25", "--from", "2026-11-20", "--to", "2026-11-21"],
        ["--date", "2026-11-27"],
        ["--max-wait", "-5"],
        ["--max-wait", "3601"],
        ["--from", "2025-01-01", "--to", "2026-01-02"],  # more than 366 days
        ["--bogus"],
    ],
)
@time_machine.travel(NOW, tick=False)
def test_it_exits_2_for_bad_arguments_and_changes_nothing(upstream, manage, argv):
    status, _, err = manage("sync_daily_closures", *argv)

    assert status == 2
    assert err.strip()
    assert upstream.calls == 0
    assert not SyncRun.objects.exists()


@time_machine.travel(NOW, tick=False)
def test_a_range_shows_progress_and_syncs_in_one_fetch(upstream, manage):
    status, out, err = manage("sync_daily_closures", "--from", "2026-11-01", "--to", "2026-11-26")

    assert status == 0
    assert "Fetching 2026-11-01..2026-11-26" in err
    assert "1 pages" in err
    assert "Synced 2026-11-01..2026-11-26" in out
    assert upstream.list_calls == 1


@time_machine.travel(NOW, tick=False)
def test_max_wait_bounds_the_wait_on_retry_after(requests_mock, fresh, manage, sleeps):
    requests_mock.get(
        f"{ENDPOINT}tickets",
        [{"status_code": 429, "headers": {"Retry-After": "30"}}, {"json": {"tickets": []}}],
    )

    status, _, err = manage("sync_daily_closures", "--max-wait", "10")

    assert status == 1
    assert "Retry-After" in err or "30" in err
    assert sleeps == []


@time_machine.travel(NOW, tick=False)
def test_the_scheduled_job_records_and_logs_a_failure_instead_of_raising(
    requests_mock, fresh, caplog
):
    requests_mock.get(f"{ENDPOINT}tickets", status_code=401)

    assert cron.scheduled_sync() is False

    run = SyncRun.objects.get()
    assert (run.trigger, run.status) == ("schedule", "failed")
    assert "401" in caplog.text
    assert API_KEY not in caplog.text


@time_machine.travel(NOW, tick=False)
def test_the_scheduled_job_syncs_today(upstream):
    assert cron.scheduled_sync() is True

    assert TicketClosure.objects.get().date == date(2026, 11, 26)


def test_no_command_imports_another_command():
    # A piece two commands share belongs in a service or module, not in one of the commands.
    commands = Path(__file__).resolve().parent.parent / "tickets" / "management" / "commands"
    files = sorted(commands.glob("*.py"))

    assert len(files) > 2
    for file in files:
        assert "tickets.management.commands" not in file.read_text(), file.name
