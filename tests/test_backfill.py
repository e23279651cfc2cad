"""Long backfills (SPEC §15): past BACKFILL_PAGES_AT_ONCE pages a sync writes as pages arrive (in
batches: the pages read ahead meanwhile, up to 10), keeps what it wrote when it fails, resumes one
page back, and moves the watermark only at the end.

The stand-in pages 2 tickets at a time and the threshold is 3 pages, so a sync of 10 tickets
(5 pages) is a backfill: pages 1-4 are its first batch (written when page 4 arrives), page 5
its second. The stand-in lists newest first (by id), so page 1 holds tickets 10 and 9.
"""

from __future__ import annotations

import functools
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from typing import TypeVar

import pytest
import time_machine
from django.db import connection
from rest_framework.test import APIClient

from demo.freshservice.api import list_page
from tests.freshservice_data import make_ticket
from tests.upstream import FakeFreshservice
from tickets import selectors
from tickets.models import (
    BackfillProgress,
    ClosedTicket,
    SyncLease,
    SyncRun,
    TicketClosure,
    TicketSyncMetadata,
)
from tickets.services.sync import SyncFailed, sync_closures
from tickets.services.sync.backfill import Backfill
from tickets.services.sync.fetch import READ_AHEAD_SWITCH_INTERVAL

pytestmark = pytest.mark.django_db

T = TypeVar("T")

OSCAR, AJ = 1001, 1002
FIRST, LAST = date(2026, 11, 16), date(2026, 11, 26)
START = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)  # the first attempt of each backfill
LATER = START + timedelta(hours=2)  # the rerun


class Killed(BaseException):
    """The process dies mid-page (as Ctrl-C or SIGTERM do: no handler of Exception sees it)."""


@pytest.fixture(autouse=True)
def in_utc(settings) -> None:
    """The times in these tests are UTC wall-clock times (whatever YAM_TEST_TIME_ZONE says)."""
    settings.TIME_ZONE = "UTC"
    settings.BACKFILL_PAGES_AT_ONCE = 3


@pytest.fixture
def upstream(requests_mock, fresh) -> FakeFreshservice:
    return FakeFreshservice(requests_mock, per_page=2)


def closed(ticket_id: int, day: date, responder: int) -> dict:
    at = f"{day.isoformat()}T10:00:00Z"
    return make_ticket(
        id=ticket_id, responder_id=responder, updated_at=at, resolved_at=at, closed_at=at
    )


def put_tickets(upstream: FakeFreshservice, count: int) -> None:
    """`count` closures, one a day from FIRST on (wrapping), by Oscar and AJ in turn."""
    upstream.put(
        *(
            closed(n, FIRST + timedelta(days=(n - 1) % 10), OSCAR if n % 2 else AJ)
            for n in range(1, count + 1)
        )
    )


def backfill(at: datetime = START, **kwargs):
    kwargs.setdefault("trigger", SyncRun.Trigger.COMMAND)
    with time_machine.travel(at, tick=False):
        return sync_closures(first=FIRST, last=LAST, **kwargs)


def kill_on_page(upstream: FakeFreshservice, page: int | None) -> None:
    """Die while asking for list page `page` (None: stop dying)."""
    handle = type(upstream.faults).handle

    def killing(request):
        if page is not None and list_page(request) == page:
            raise Killed()
        return handle(upstream.faults, request)

    upstream.faults.handle = killing  # type: ignore[method-assign]


def stored() -> dict[str, object]:
    return {
        "tickets": sorted(ClosedTicket.objects.values_list("ticket_id", "closure_date")),
        "closures": sorted(
            TicketClosure.objects.values_list("freshworks_user_id", "date", "tickets_closed")
        ),
    }


def uninterrupted(upstream: FakeFreshservice) -> dict[str, object]:
    """What an uninterrupted backfill stores; the database is emptied again afterwards."""
    backfill(force=True)
    result = stored()
    for model in (ClosedTicket, TicketClosure, SyncRun, TicketSyncMetadata):
        model.objects.all().delete()
    return result


# --- batches ------------------------------------------------------------------------------------


def test_up_to_the_threshold_a_sync_stays_all_or_nothing(upstream):
    put_tickets(upstream, 6)  # 3 pages: not past BACKFILL_PAGES_AT_ONCE
    upstream.fail_on_page = 3

    with pytest.raises(SyncFailed) as failure:
        backfill()

    assert stored() == {"tickets": [], "closures": []}
    assert not BackfillProgress.objects.exists()
    assert failure.value.run.status == SyncRun.Status.FAILED
    assert "backfill" not in str(failure.value)


def test_a_backfill_failing_before_its_first_batch_writes_nothing(upstream):
    put_tickets(upstream, 10)
    upstream.fail_on_page = 4  # the page that would have made it a backfill

    with pytest.raises(SyncFailed):
        backfill()

    assert stored() == {"tickets": [], "closures": []}
    assert not BackfillProgress.objects.exists()


def test_past_the_threshold_each_batch_is_committed_and_kept_when_a_later_page_fails(upstream):
    put_tickets(upstream, 10)
    upstream.fail_on_page = 5

    with pytest.raises(SyncFailed) as failure:
        backfill()

    # Pages 1-4 (tickets 10 down to 3), counted; page 5 (tickets 2 and 1) never came.
    assert [ticket for ticket, _ in stored()["tickets"]] == [3, 4, 5, 6, 7, 8, 9, 10]
    assert TicketClosure.objects.get(date=FIRST + timedelta(days=2)).tickets_closed == 1
    assert not TicketClosure.objects.filter(date=FIRST).exists()
    progress = BackfillProgress.objects.get()
    assert (progress.pages_done, progress.tickets_done) == (4, 8)
    assert progress.updated_since == datetime(2026, 11, 16, tzinfo=UTC)
    assert progress.started_at == START
    assert "resume from page 4" in str(failure.value)
    assert failure.value.run.status == SyncRun.Status.FAILED
    # Whole only when finished: no watermark, no covered-from, no bookkeeping.
    assert selectors.watermark() is None
    assert selectors.covered_from() is None
    assert not TicketSyncMetadata.objects.exists()


def at_every_write(monkeypatch, note: Callable[[int, int], T]) -> list[T]:
    """What `note(pages done, tickets received)` says as each batch of a backfill is written."""
    noted: list[T] = []
    write = Backfill.write

    def spy(self, tickets, *, pages_done, received):
        noted.append(note(pages_done, received))
        return write(self, tickets, pages_done=pages_done, received=received)

    monkeypatch.setattr(Backfill, "write", spy)
    return noted


def batches_written(monkeypatch) -> list[tuple[int, int]]:
    """(pages done, tickets received) of every batch a backfill writes, as they are written."""
    return at_every_write(monkeypatch, lambda pages_done, received: (pages_done, received))


def test_pages_read_ahead_meanwhile_are_written_together_in_one_batch(upstream, monkeypatch):
    put_tickets(upstream, 14)  # 7 pages: 1-4 the first batch; 5-7 come at once
    written = batches_written(monkeypatch)

    result = backfill()

    assert written == [(4, 8), (7, 6)]
    assert (result.pages, result.tickets_processed) == (7, 14)
    assert len(stored()["tickets"]) == 14


def test_a_page_slower_than_the_batch_window_is_written_on_its_own(upstream, monkeypatch):
    put_tickets(upstream, 14)
    written = batches_written(monkeypatch)
    monkeypatch.setattr("tickets.services.sync.BATCH_SECONDS", 0.05)
    handle = type(upstream.faults).handle

    def slow_after_page_5(request):
        if (list_page(request) or 0) > 5:
            time.sleep(0.5)  # as Freshservice paces a long list: each page is written at once
        return handle(upstream.faults, request)

    upstream.faults.handle = slow_after_page_5  # type: ignore[method-assign]
    backfill()

    assert written == [(4, 8), (5, 2), (6, 2), (7, 2)]


@pytest.mark.parametrize("fails", [False, True], ids=["finishes", "fails"])
def test_threads_switch_more_often_while_pages_are_read_ahead_and_as_before_after(
    upstream, monkeypatch, fails
):
    put_tickets(upstream, 14)
    intervals = at_every_write(monkeypatch, lambda *_: sys.getswitchinterval())
    upstream.fail_on_page = 6 if fails else None
    before = sys.getswitchinterval()

    if fails:
        with pytest.raises(SyncFailed):
            backfill()
    else:
        backfill()

    # The reading thread gets the GIL back within 0.5 ms, not Python's 5 ms, behind the writes.
    assert set(intervals) == {READ_AHEAD_SWITCH_INTERVAL}
    assert sys.getswitchinterval() == before


# --- resume -------------------------------------------------------------------------------------


def test_a_rerun_resumes_from_the_last_page_written_and_ends_as_an_uninterrupted_run(upstream):
    put_tickets(upstream, 10)
    expected = uninterrupted(upstream)
    upstream.fail_on_page = 5
    with pytest.raises(SyncFailed):
        backfill()
    upstream.fail_on_page = None
    calls_before = upstream.list_calls

    # Not forced: a resume finishes what was allowed when it began.
    result = backfill(LATER)

    assert upstream.list_calls - calls_before == 2  # page 4 again, then page 5
    assert upstream.asked_since[-1] == datetime(2026, 11, 16, tzinfo=UTC)
    assert stored() == expected
    assert (result.backfill, result.pages, result.resumed_from_page) == (True, 5, 4)
    run = SyncRun.objects.get(status=SyncRun.Status.SUCCESS)
    assert run.resumed_from_page == 4
    assert run.started_at == START  # the watermark: the backfill's first start
    assert run.fetched_from == datetime(2026, 11, 16, tzinfo=UTC)
    assert not BackfillProgress.objects.exists()
    assert TicketSyncMetadata.objects.filter(sync_date__range=(FIRST, LAST)).count() == 11


def test_a_killed_backfill_keeps_its_progress_frees_its_lease_and_resumes_one_page_back(
    upstream,
):
    put_tickets(upstream, 14)  # 7 pages
    expected = uninterrupted(upstream)
    kill_on_page(upstream, 6)
    with pytest.raises(Killed):
        backfill()

    assert not SyncRun.objects.exists()
    assert BackfillProgress.objects.get().pages_done == 5
    assert SyncLease.objects.get().holder == ""

    kill_on_page(upstream, None)
    calls_before = upstream.list_calls
    result = backfill(LATER)

    assert upstream.list_calls - calls_before == 3  # pages 5 (again), 6 and 7
    assert result.resumed_from_page == 5
    assert stored() == expected


def test_a_sync_of_other_dates_does_not_resume_the_backfill(upstream):
    put_tickets(upstream, 10)
    upstream.fail_on_page = 5
    with pytest.raises(SyncFailed):
        backfill()
    upstream.fail_on_page = None

    with time_machine.travel(LATER, tick=False):
        result = sync_closures(first=LAST, trigger=SyncRun.Trigger.COMMAND)

    assert result.resumed_from_page is None
    assert upstream.asked_since[-1] == datetime(2026, 11, 26, tzinfo=UTC)
    assert BackfillProgress.objects.get().pages_done == 4  # still there to resume


# --- the watermark and the sweep ----------------------------------------------------------------


def test_the_watermark_and_the_deleted_ticket_sweep_move_only_when_it_finishes(upstream):
    upstream.put(closed(99, FIRST + timedelta(days=3), OSCAR))
    with time_machine.travel(datetime(2026, 11, 19, 18, 0, tzinfo=UTC), tick=False):
        sync_closures(first=FIRST + timedelta(days=3), trigger=SyncRun.Trigger.COMMAND)
    first_watermark = selectors.watermark()
    upstream.put(closed(99, FIRST + timedelta(days=3), OSCAR) | {"deleted": True})
    put_tickets(upstream, 10)
    upstream.fail_on_page = 5

    with pytest.raises(SyncFailed):
        backfill(force=True)

    assert ClosedTicket.objects.filter(ticket_id=99).exists()
    assert selectors.watermark() == first_watermark

    upstream.fail_on_page = None
    backfill(LATER, force=True)

    assert not ClosedTicket.objects.filter(ticket_id=99).exists()
    assert selectors.watermark() == START
    assert selectors.covered_from() == datetime(2026, 11, 16, tzinfo=UTC)
    with time_machine.travel(LATER + timedelta(hours=1), tick=False):
        sync_closures(trigger=SyncRun.Trigger.COMMAND)
    assert upstream.asked_since[-1] == START - timedelta(minutes=10)


# --- the flag in the API, the command's output ----------------------------------------------


def test_the_closures_answer_flags_the_dates_of_an_unfinished_backfill(upstream, plain_user):
    put_tickets(upstream, 10)
    upstream.fail_on_page = 5
    with pytest.raises(SyncFailed):
        backfill()
    api = APIClient()
    api.force_login(plain_user)
    url = "/api/tickets/closures/period"

    with time_machine.travel(LATER, tick=False):
        inside = api.get(f"{url}?start=2026-11-20&end=2026-11-30").json()
        outside = api.get(f"{url}?start=2026-11-01&end=2026-11-15").json()

    assert inside["backfill"] == {
        "in_progress": True,
        "start": "2026-11-16",
        "end": "2026-11-26",
        "pages_done": 4,
        "tickets": 8,
        "started_at": "2026-11-26T12:00:00Z",
        "updated_at": "2026-11-26T12:00:00Z",
    }
    assert outside["backfill"] is None

    upstream.fail_on_page = None
    backfill(LATER)
    with time_machine.travel(LATER, tick=False):
        assert api.get(f"{url}?start=2026-11-20&end=2026-11-30").json()["backfill"] is None


def test_the_command_shows_the_backfill_and_says_it_resumes(upstream, manage):
    put_tickets(upstream, 10)
    argv = ("sync_daily_closures", "--from", str(FIRST), "--to", str(LAST))
    upstream.fail_on_page = 5
    with time_machine.travel(START, tick=False):
        status, _, err = manage(*argv)

    assert status == 1
    assert "More than 3 pages: a backfill" in err
    assert "run the same sync again to resume from page 4" in err

    upstream.fail_on_page = None
    with time_machine.travel(LATER, tick=False):
        status, out, err = manage(*argv)

    assert status == 0
    assert "Resuming the unfinished backfill of these dates from page 4" in err
    assert "5 pages" in err
    # Tickets received (page 4 twice), credits, the budget left, the time left.
    assert "12 tickets, 7 credits, budget 999,980/1,000,000 left this minute, ETA ~" in err
    assert "(a backfill of 5 pages, resumed from page 4)" in out


# --- the lease ----------------------------------------------------------------------------------


def test_a_lease_left_by_a_killed_process_of_this_host_is_taken_at_once(db):
    dead = f"gone@{socket.gethostname()[:20]}:{_pid_of_finished()}"
    alive = f"other@{socket.gethostname()[:20]}:{os.getppid()}"
    elsewhere = f"remote@another-host:{_pid_of_finished()}"
    ttl = timedelta(minutes=5)

    for holder, taken in ((alive, False), (elsewhere, False), (dead, True)):
        SyncLease.objects.update_or_create(
            name="sync", defaults={"holder": holder, "expires_at": START + timedelta(hours=1)}
        )
        with time_machine.travel(START, tick=False):
            assert SyncLease.objects.claim("next", ttl) is taken, holder


def _pid_of_finished() -> int:
    """The id of a process that has ended (and been reaped)."""
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def test_sigterm_stops_the_command_keeping_the_pages_written_and_freeing_the_lease(
    upstream, manage
):
    put_tickets(upstream, 10)
    handle = type(upstream.faults).handle

    def terminated_on_page_5(request):
        if list_page(request) == 5:
            os.kill(os.getpid(), signal.SIGTERM)  # as `kill <pid>` does
            time.sleep(1)  # the handler runs in the main thread meanwhile
        return handle(upstream.faults, request)

    upstream.faults.handle = terminated_on_page_5  # type: ignore[method-assign]
    with time_machine.travel(START, tick=False):
        status, _, err = manage("sync_daily_closures", "--from", str(FIRST), "--to", str(LAST))

    assert status == 1
    assert "Stopped before the sync finished" in err
    # Page 5 is read ahead while pages 1-4 are written: that batch is in or rolled back.
    assert BackfillProgress.objects.get().pages_done in (0, 4)
    assert SyncLease.objects.get().holder == ""
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL

    upstream.faults.handle = functools.partial(handle, upstream.faults)  # type: ignore[method-assign]
    with time_machine.travel(LATER, tick=False):
        status, _, _ = manage("sync_daily_closures", "--from", str(FIRST), "--to", str(LAST))
    assert status == 0
    assert [ticket for ticket, _ in stored()["tickets"]] == list(range(1, 11))


@contextmanager
def signalled_during(sql_start: str, number: signal.Signals) -> Iterator[list[str]]:
    """Send `number` to this process while it runs the first query that starts with
    `sql_start` (as `kill` or Ctrl-C may, at any moment); yields the queries run after it."""
    after: list[str] = []

    def wrapper(execute, sql, params, many, context):
        if after or sql.startswith(sql_start):
            after.append(sql)
        if len(after) == 1:
            os.kill(os.getpid(), number)  # its handler runs here, inside the database call
        return execute(sql, params, many, context)

    with connection.execute_wrapper(wrapper):
        yield after


@pytest.mark.parametrize("number", [signal.SIGTERM, signal.SIGINT], ids=["kill", "ctrl-c"])
def test_a_stop_during_a_database_call_waits_for_the_call_and_stops_at_the_next_page(
    upstream, manage, number
):
    # Raised inside the call, the interrupt could leave PostgreSQL's connection mid-command:
    # the write rolled back half-way and the lease left held ("another command is already in
    # progress" when it is freed).
    put_tickets(upstream, 10)
    argv = ("sync_daily_closures", "--from", str(FIRST), "--to", str(LAST))
    progress_table = BackfillProgress._meta.db_table
    handlers = {stop: signal.getsignal(stop) for stop in (signal.SIGTERM, signal.SIGINT)}
    with (
        time_machine.travel(START, tick=False),
        signalled_during(f'UPDATE "{progress_table}"', number),
    ):
        status, _, err = manage(*argv)

    assert status == 1
    assert "Stopped before the sync finished" in err
    # The first batch (pages 1-4) was being written: it is written whole, and page 5 is not.
    assert BackfillProgress.objects.get().pages_done == 4
    assert [ticket for ticket, _ in stored()["tickets"]] == list(range(3, 11))
    assert SyncLease.objects.get().holder == ""
    assert {stop: signal.getsignal(stop) for stop in handlers} == handlers  # put back

    with time_machine.travel(LATER, tick=False):
        status, _, err = manage(*argv)
    assert status == 0
    assert "Resuming the unfinished backfill of these dates from page 4" in err
    assert [ticket for ticket, _ in stored()["tickets"]] == list(range(1, 11))


def test_a_stop_during_the_last_write_lets_the_sync_finish_and_say_so(upstream, manage):
    put_tickets(upstream, 2)  # one page: a short sync, written once at the end
    run_table = SyncRun._meta.db_table
    with (
        time_machine.travel(START, tick=False),
        signalled_during(f'INSERT INTO "{run_table}"', signal.SIGTERM) as after,
    ):
        status, out, _ = manage("sync_daily_closures", "--date", str(FIRST), "--force")

    assert status == 0
    assert "Synced" in out
    assert SyncRun.objects.get().status == SyncRun.Status.SUCCESS
    assert SyncLease.objects.get().holder == ""
    assert after[-1].startswith(f'UPDATE "{SyncLease._meta.db_table}"')  # the lease freed, last
