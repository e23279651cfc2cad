"""Freshservice failing in every way SPEC §13 names, through the real commands, API and cron job.

The demo's stand-in Freshservice (demo.freshservice) answers over loopback HTTP, with the fault
each test injects. The database holds an earlier successful sync, so "changes nothing" is a claim
about real rows. A failed sync leaves only a failed SyncRun whose reason names the cause; a
transient fault is retried and the sync succeeds with exact counts; no output, answer or log line
carries a traceback or the API key.
"""

from __future__ import annotations

import base64
import logging
import math
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

import pytest
import time_machine
from django.core.management import execute_from_command_line
from django.db import connections
from django.utils.html import escape
from rest_framework.test import APIClient

from tests.upstream import StandIn, serve_stand_in
from tickets import cron
from tickets.models import ClosedTicket, SyncLease, SyncRun, TicketClosure, TicketSyncMetadata
from tickets.services.sync import sync_closures

pytestmark = pytest.mark.django_db

KEY = "sk-live-FAULT-SUITE-KEY-123"
WRONG_KEY = "sk-live-FAULT-SUITE-WRONG-KEY-456"
SECRETS = (
    KEY,
    WRONG_KEY,
    *(base64.b64encode(f"{key}:X".encode()).decode() for key in (KEY, WRONG_KEY)),
)
# Thursday afternoon (TIME_ZONE UTC): the last sync ran at 13:00, closures have come in since.
NOW = datetime(2026, 11, 26, 15, 0, tzinfo=UTC)
SEEDED_AT = NOW - timedelta(hours=2)
TODAY = NOW.date()
YESTERDAY = TODAY - timedelta(days=1)
WEEK_AGO = TODAY - timedelta(days=6)
TIMEOUT = 1  # FRESH_TIMEOUT_SECONDS; a "slow" answer takes longer than that
SLOW = 1.5
CHANNELS = ["command", "sync", "force-sync"]


class Clock:
    """The stand-in's clock, moved by hand."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@dataclass
class World:
    sim: StandIn
    seed_calls: int
    before: dict[str, list[dict]]

    @property
    def calls(self) -> int:
        """Requests Freshservice received since the seeding sync."""
        return self.sim.calls - self.seed_calls

    @property
    def paths(self) -> list[str]:
        """The paths and queries Freshservice was asked for since the seeding sync."""
        return self.sim.paths[len(self.sim.paths) - self.calls :]

    def tickets_since(self, since: datetime) -> int:
        """How many tickets a fetch with `updated_since=since` receives now."""
        return sum(
            datetime.fromisoformat(ticket["updated_at"]) >= since
            for ticket in self.sim.world.visible_tickets(now=NOW)
        )

    def pages_since(self, since: datetime) -> int:
        return max(1, math.ceil(self.tickets_since(since) / 100))


@dataclass
class Outcome:
    synced: bool
    reason: str  # what a person reads: the command's last line, or the API's `detail`
    shown: str  # everything shown: stdout and stderr, or the answer's headers and body


def midnight(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def snapshot() -> dict[str, list[dict]]:
    return {
        model.__name__: list(model.objects.order_by("pk").values())
        for model in (ClosedTicket, TicketClosure, TicketSyncMetadata)
    }


def closure_counts(*days: date) -> dict[date, dict[int, int]]:
    counts: dict[date, dict[int, int]] = {day: {} for day in days}
    for row in TicketClosure.objects.filter(date__in=days):
        counts[row.date][row.freshworks_user_id] = row.tickets_closed
    return counts


def pages_showing_the_last_sync(api: APIClient, run: SyncRun) -> list[str]:
    """The admin statistics, as JSON and as the admin page, both naming the failed run's reason."""
    stats = api.get("/api/tickets/admin-stats")
    assert stats.status_code == 200
    assert stats.json()["recent_activity"][0]["error"] == run.error
    page = api.get("/admin/tickets/syncrun/statistics/")
    assert page.status_code == 200
    assert escape(run.error) in page.content.decode()
    return [stats.content.decode(), page.content.decode()]


def assert_nothing_leaks(*texts: str) -> None:
    for text in texts:
        assert "Traceback" not in text
        for secret in SECRETS:
            assert secret not in text


class _CurrentStderr:
    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


@pytest.fixture
def freshservice(settings, sleeps) -> Iterator[StandIn]:
    """The stand-in on a free port, and the settings pointed at it; backoff is recorded."""
    with serve_stand_in(api_key=KEY, agents=12, days=10, clock=Clock(SEEDED_AT)) as sim:
        settings.FRESH_API = KEY
        settings.FRESH_ENDPOINT = sim.endpoint
        settings.FRESH_GROUP_ID = sim.world.group_id
        settings.FRESH_WORKSPACE_ID = None
        settings.FRESH_CLOSED_STATUSES = (4, 5)
        settings.FRESH_TIMEOUT_SECONDS = TIMEOUT
        settings.FRESH_MAX_WAIT_SECONDS = 5
        settings.SYNC_MIN_INTERVAL_MINUTES = 60
        settings.DEMO_MODE = False
        settings.TIME_ZONE = "UTC"
        yield sim


@pytest.fixture
def world(freshservice, sleeps) -> Iterator[World]:
    """Yesterday and today synced at 13:00; the clocks (ours and the stand-in's) now at 15:00."""
    with time_machine.travel(SEEDED_AT, tick=False) as traveller:
        sync_closures(first=YESTERDAY, last=TODAY, trigger=SyncRun.Trigger.COMMAND)
        traveller.move_to(NOW)
        freshservice.api.clock.now = NOW
        sleeps.clear()
        before = snapshot()
        assert before["ClosedTicket"]
        assert before["TicketSyncMetadata"]
        yield World(freshservice, freshservice.calls, before)


@pytest.fixture
def logs(caplog, capsys, monkeypatch) -> Iterator[pytest.LogCaptureFixture]:
    """Every record of the app's loggers, which the settings keep from propagating to root.

    Their stderr handler writes to whatever sys.stderr is at the moment (pytest swaps it between
    set-up and the test), so log lines land in the captured stderr, as in a shell. A command run
    in this process would configure logging again (django.setup), binding a new handler to a
    stream closed once the test ends; a real `manage.py` process configures it once, and so does
    this one.
    """
    monkeypatch.setattr("django.utils.log.configure_logging", lambda *args: None)
    loggers = [logging.getLogger(name) for name in ("tickets", "freshworks")]
    for logger in loggers:
        for handler in logger.handlers:
            if type(handler) is logging.StreamHandler:
                monkeypatch.setattr(handler, "stream", _CurrentStderr())
        logger.addHandler(caplog.handler)
    caplog.set_level(logging.DEBUG, logger="tickets")
    caplog.set_level(logging.DEBUG, logger="freshworks")
    yield caplog
    for logger in loggers:
        logger.removeHandler(caplog.handler)


@pytest.fixture
def api(manager) -> APIClient:
    """Signed in as a manager: may force a sync and see the sync statistics."""
    client = APIClient()
    client.force_login(manager)
    return client


@pytest.fixture
def attempt(capsys, monkeypatch, api, logs) -> Callable[..., Outcome]:
    """Sync through `manage.py sync_daily_closures`, `POST /api/tickets/sync` or `force-sync`."""
    # A command closes its connections when done; the test's transaction lives on one of them.
    monkeypatch.setattr(connections, "close_all", lambda: None)

    def run(channel: str, *, first: date | None = None, last: date | None = None) -> Outcome:
        if channel == "command":
            return _command(capsys, first, last)
        assert first == last or last is None
        path = "/api/tickets/sync" if channel == "sync" else "/api/tickets/force-sync"
        response = api.post(path, {"date": first.isoformat()} if first else {}, format="json")
        headers = "\n".join(f"{name}: {value}" for name, value in response.items())
        shown = f"{headers}\n\n{response.content.decode()}"
        assert response.status_code in (200, 502), shown
        body = response.json()
        if response.status_code == 200:
            assert body["synced"] is True
            return Outcome(True, str(body), shown)
        assert body["synced"] is False
        return Outcome(False, body["detail"], shown)

    return run


def _command(capsys, first: date | None, last: date | None) -> Outcome:
    argv = ["manage.py", "sync_daily_closures"]
    if first and last and first != last:
        argv += ["--from", first.isoformat(), "--to", last.isoformat()]
    elif first:
        argv += ["--date", first.isoformat()]
    try:
        execute_from_command_line(argv)
        status = 0
    except SystemExit as exit_:
        status = exit_.code if isinstance(exit_.code, int) else 1
    out, err = capsys.readouterr()
    shown = out + err
    if status == 0:
        assert out.startswith("Synced "), shown
        return Outcome(True, out.strip(), shown)
    assert status == 1, shown
    # Log lines (retries, the failure) may come first; the verdict is the last line, and one line.
    verdict = err.strip().splitlines()[-1]
    assert verdict.startswith("CommandError: Sync failed: "), shown
    return Outcome(False, verdict, shown)


def wrong_key(world: World, settings) -> None:
    settings.FRESH_API = WRONG_KEY


def wrong_path(world: World, settings) -> None:
    settings.FRESH_ENDPOINT = world.sim.endpoint.replace("/api/v2/", "/api/v1/")


def answer(status: int, **options) -> Callable[[World, object], None]:
    return lambda world, settings: world.sim.faults.fail_next(status, **options)


def every_first_page(status: int) -> Callable[[World, object], None]:
    return lambda world, settings: world.sim.faults.fail_on_page(1, status)


def slow(times: int) -> Callable[[World, object], None]:
    def inject(world: World, settings) -> None:
        for _ in range(times):
            world.sim.faults.slow_next(SLOW)

    return inject


def drop(times: int) -> Callable[[World, object], None]:
    def inject(world: World, settings) -> None:
        for _ in range(times):
            world.sim.faults.drop_connection_next()

    return inject


def invalid_json(world: World, settings) -> None:
    world.sim.faults.invalid_json_next()


# (fault, what the reason must name, requests Freshservice receives, the same for a forced sync,
# backoff sleeps). A forced sync reads the team's group first (the others use the group read at
# 13:00): a fault on the next request hits that read, a fault on the list's pages comes after it.
FAILURES = {
    "401-wrong-key": (wrong_key, "401", 1, 1, []),
    "403-no-permission": (answer(403), "403", 1, 1, []),
    "404-wrong-endpoint": (wrong_path, "404", 1, 1, []),
    "429-beyond-the-wait-budget": (answer(429, retry_after=600), "rate limit", 1, 1, []),
    "500-on-every-attempt": (every_first_page(500), "HTTP 500", 3, 4, [1, 2]),
    "timeout-on-every-attempt": (slow(3), "did not answer", 3, 3, [1, 2]),
    "dropped-connection-on-every-attempt": (drop(3), "Could not reach", 3, 3, [1, 2]),
    "invalid-json": (invalid_json, "not JSON", 1, 1, []),
}


@pytest.mark.parametrize("channel", CHANNELS)
@pytest.mark.parametrize(
    ("fault", "cause", "calls", "forced_calls", "backoff"), FAILURES.values(), ids=FAILURES
)
def test_a_failing_freshservice_changes_nothing_and_the_reason_names_the_cause(
    world, settings, attempt, api, logs, sleeps, channel, fault, cause, calls, forced_calls, backoff
):
    if channel == "force-sync":
        calls = forced_calls
    fault(world, settings)

    outcome = attempt(channel)

    assert not outcome.synced
    assert cause in outcome.reason
    run = SyncRun.objects.latest("pk")
    assert run.status == SyncRun.Status.FAILED
    assert cause in run.error
    assert run.error in outcome.reason
    assert run.api_calls == calls == world.calls
    assert sleeps == backoff
    assert snapshot() == world.before
    assert SyncLease.objects.get(name="sync").holder == ""
    assert_nothing_leaks(
        outcome.shown, run.error, logs.text, *pages_showing_the_last_sync(api, run)
    )

    # A failed sync does not count against the rate limit: once Freshservice is back, it syncs.
    settings.FRESH_API, settings.FRESH_ENDPOINT = KEY, world.sim.endpoint
    world.sim.faults.reset()
    assert attempt(channel).synced


@pytest.mark.parametrize(
    ("channel", "first", "last"),
    [("command", WEEK_AGO, TODAY), ("force-sync", WEEK_AGO, WEEK_AGO)],
    ids=["range-command", "force-sync-a-week-ago"],
)
def test_a_failure_on_a_middle_page_writes_nothing_of_the_pages_before_it(
    world, attempt, logs, sleeps, channel, first, last
):
    # Both fetch from the start of the older day: several pages of tickets.
    assert world.pages_since(midnight(WEEK_AGO)) >= 3
    world.sim.faults.fail_on_page(2, 500)

    outcome = attempt(channel, first=first, last=last)

    assert not outcome.synced
    assert "HTTP 500" in outcome.reason
    run = SyncRun.objects.latest("pk")
    assert (run.status, run.first_date, run.last_date) == (SyncRun.Status.FAILED, first, last)
    # Page 1, then page 2 three times; a forced sync reads the group before them.
    assert run.api_calls == world.calls == (channel == "force-sync") + 1 + 3
    assert sum("page=2" in path for path in world.paths) == 3
    assert sleeps == [1, 2]
    assert snapshot() == world.before
    assert_nothing_leaks(outcome.shown, run.error, logs.text)


# (fault, backoff sleeps or Retry-After waits)
TRANSIENT = {
    "one-503": (answer(503), [1]),
    "one-timeout": (slow(1), [1]),
    "one-dropped-connection": (drop(1), [1]),
    "one-429-within-the-wait-budget": (answer(429, retry_after=3), [3]),
}


@pytest.mark.parametrize("channel", CHANNELS)
@pytest.mark.parametrize(("fault", "waits"), TRANSIENT.values(), ids=TRANSIENT)
def test_a_transient_fault_is_retried_and_the_sync_succeeds_with_exact_counts(
    world, settings, attempt, logs, sleeps, channel, fault, waits
):
    # Incremental from the last sync (minus the overlap); forced from the start of today.
    since = SEEDED_AT - timedelta(minutes=10)
    if channel == "force-sync":
        since = midnight(TODAY)
    pages = world.pages_since(since)
    fault(world, settings)

    outcome = attempt(channel)

    assert outcome.synced, outcome.shown
    run = SyncRun.objects.latest("pk")
    assert run.status == SyncRun.Status.SUCCESS
    # One request repeated; a forced sync also reads the group, first (where the fault hits).
    assert run.api_calls == world.calls == pages + 1 + (channel == "force-sync")
    assert run.tickets_processed == world.tickets_since(since)
    assert sleeps == waits
    truth = world.sim.world.expected_closures(now=NOW)
    assert closure_counts(YESTERDAY, TODAY) == {YESTERDAY: truth[YESTERDAY], TODAY: truth[TODAY]}
    # Closures came in since 13:00: the counts moved, so "changes nothing" above means something.
    assert snapshot()["TicketClosure"] != world.before["TicketClosure"]
    assert_nothing_leaks(outcome.shown, logs.text)


def test_the_scheduled_job_under_a_rejected_key_logs_one_line_and_changes_nothing(
    world, settings, logs, capsys
):
    settings.FRESH_API = WRONG_KEY

    assert cron.scheduled_sync() is False

    run = SyncRun.objects.latest("pk")
    assert (run.trigger, run.status) == (SyncRun.Trigger.SCHEDULE, SyncRun.Status.FAILED)
    assert "401" in run.error
    failures = [record for record in logs.records if record.levelno >= logging.ERROR]
    assert len(failures) == 1
    assert failures[0].exc_info is None
    assert "401" in failures[0].getMessage()
    # What cron mails or the log file keeps: one line naming the date and the cause.
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert (
        "ERROR tickets.sync: Sync of 2026-11-26 failed: Freshservice rejected the API key" in line
    )
    assert snapshot() == world.before
    assert_nothing_leaks(run.error, logs.text, line)
