"""The sync service: what counts, what is fetched, what is written, and what is refused."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime

import pytest
import time_machine

from tests.conftest import GROUP_ID
from tests.freshservice_data import make_ticket
from tests.upstream import FakeFreshservice
from tickets.models import ClosedTicket, SyncLease, SyncRun, TicketClosure, TicketSyncMetadata
from tickets.services.sync import (
    SyncFailed,
    SyncInProgress,
    SyncRateLimited,
    SyncRequestError,
    sync_closures,
)

pytestmark = pytest.mark.django_db

OSCAR, AJ = 1001, 1002


@pytest.fixture(autouse=True)
def in_utc(settings) -> None:
    """The times in these tests are UTC wall-clock times (whatever YAM_TEST_TIME_ZONE says)."""
    settings.TIME_ZONE = "UTC"


def closed(ticket_id: int, at: str, *, responder: int | None = OSCAR, **fields) -> dict:
    """A ticket resolved and closed at `at` (UTC), last updated then too, unless overridden."""
    values = {"resolved_at": at, "closed_at": at, "updated_at": at, "status": 5} | fields
    return make_ticket(id=ticket_id, responder_id=responder, **values)


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def counts(day: date) -> dict[int, int]:
    return dict(
        TicketClosure.objects.filter(date=day).values_list("freshworks_user_id", "tickets_closed")
    )


def sync(**kwargs):
    kwargs.setdefault("trigger", SyncRun.Trigger.COMMAND)
    return sync_closures(**kwargs)


@pytest.fixture
def upstream(requests_mock, fresh) -> FakeFreshservice:
    return FakeFreshservice(requests_mock)


# --- what counts --------------------------------------------------------------------------------


@time_machine.travel(utc("2026-11-26T12:00:00"), tick=False)
def test_the_closure_day_is_resolved_at_else_closed_at_else_updated_at(upstream):
    upstream.put(
        closed(1, "2026-11-26T09:00:00Z", resolved_at="2026-11-24T09:00:00Z"),
        closed(2, "2026-11-26T09:00:00Z", resolved_at=None, closed_at="2026-11-25T09:00:00Z"),
        closed(3, "2026-11-26T09:00:00Z", resolved_at=None, closed_at=None),
    )

    sync(first=date(2026, 11, 24), last=date(2026, 11, 26))

    assert dict(ClosedTicket.objects.values_list("ticket_id", "closure_date")) == {
        1: date(2026, 11, 24),
        2: date(2026, 11, 25),
        3: date(2026, 11, 26),
    }


@time_machine.travel(utc("2026-11-26T12:00:00"), tick=False)
def test_closure_times_are_stored_exactly_and_read_back_unchanged(upstream):
    # Whole seconds (the API's) go to the database as epoch seconds, anything finer as text.
    upstream.put(
        closed(1, "2026-11-26T09:00:00Z"),
        closed(2, "2026-11-26T09:00:00.250000Z"),
        closed(3, "2026-11-26T14:30:05+05:30"),
    )

    sync(force=True)
    first_write = dict(ClosedTicket.objects.values_list("ticket_id", "fetched_at"))
    with time_machine.travel(utc("2026-11-26T12:05:00"), tick=False):
        sync(force=True)

    assert dict(ClosedTicket.objects.values_list("ticket_id", "closed_at")) == {
        1: utc("2026-11-26T09:00:00"),
        2: utc("2026-11-26T09:00:00.250000"),
        3: utc("2026-11-26T09:00:05"),
    }
    # Read back equal to what was fetched, so the second sync rewrote none of them.
    assert dict(ClosedTicket.objects.values_list("ticket_id", "fetched_at")) == first_write


@time_machine.travel(utc("2026-11-26T12:00:00"), tick=False)
def test_closures_a_minute_apart_across_local_midnight_land_on_different_days(upstream, settings):
    settings.TIME_ZONE = "Europe/Berlin"  # UTC+1 in November
    upstream.put(
        closed(1, "2026-11-24T22:59:30Z"),  # 23:59:30 on the 24th in Berlin
        closed(2, "2026-11-24T23:00:30Z"),  # 00:00:30 on the 25th in Berlin
    )

    sync(first=date(2026, 11, 24), last=date(2026, 11, 25))

    assert counts(date(2026, 11, 24)) == {OSCAR: 1}
    assert counts(date(2026, 11, 25)) == {OSCAR: 1}


@time_machine.travel(utc("2026-03-09T15:00:00"), tick=False)
def test_the_dst_day_in_new_york_has_23_hours_and_keeps_its_closures(upstream, settings):
    settings.TIME_ZONE = "America/New_York"  # clocks go forward at 02:00 on 2026-03-08
    upstream.put(
        closed(1, "2026-03-08T04:59:00Z"),  # 23:59 EST on the 7th
        closed(2, "2026-03-08T05:00:00Z"),  # 00:00 EST on the 8th
        closed(3, "2026-03-09T03:59:00Z"),  # 23:59 EDT on the 8th
        closed(4, "2026-03-09T04:00:00Z"),  # 00:00 EDT on the 9th
    )

    result = sync(first=date(2026, 3, 8), last=date(2026, 3, 9))

    assert result.fetched_from == utc("2026-03-08T05:00:00")  # midnight EST
    assert counts(date(2026, 3, 8)) == {OSCAR: 2}
    assert counts(date(2026, 3, 9)) == {OSCAR: 1}
    assert not TicketClosure.objects.filter(date=date(2026, 3, 7)).exists()  # before the fetch


@time_machine.travel(utc("2026-11-26T12:00:00"), tick=False)
def test_only_the_group_closed_statuses_and_a_responder_count(upstream):
    upstream.put(
        closed(1, "2026-11-26T09:00:00Z"),
        closed(2, "2026-11-26T09:00:00Z", status=4),
        closed(3, "2026-11-26T09:00:00Z", status=6),  # a custom status
        closed(4, "2026-11-26T09:00:00Z", status=2),
        closed(5, "2026-11-26T09:00:00Z", responder=None),
        closed(6, "2026-11-26T09:00:00Z", group_id=GROUP_ID + 1),
        closed(7, "2026-11-26T09:00:00Z", group_id=None),
        closed(8, "2026-11-26T09:00:00Z", responder=AJ),
    )

    result = sync()

    assert counts(date(2026, 11, 26)) == {OSCAR: 2, AJ: 1}
    assert result.tickets_processed == 8
    assert TicketSyncMetadata.objects.get(sync_date=date(2026, 11, 26)).tickets_processed == 3


def test_resolved_then_auto_closed_counts_once_on_the_resolved_day(upstream):
    with time_machine.travel(utc("2026-11-24T17:00:00"), tick=False):
        upstream.put(closed(1, "2026-11-24T16:00:00Z", status=4, closed_at=None))
        sync()
    with time_machine.travel(utc("2026-11-26T12:00:00"), tick=False):
        # Freshservice's scheduler closes resolved tickets later; resolved_at stays.
        upstream.put(
            closed(1, "2026-11-26T09:00:00Z", resolved_at="2026-11-24T16:00:00Z", status=5)
        )
        sync()

    assert counts(date(2026, 11, 24)) == {OSCAR: 1}
    assert counts(date(2026, 11, 26)) == {}
    assert ClosedTicket.objects.get(ticket_id=1).status == 5


@pytest.mark.parametrize(
    "change",
    [{"status": 2, "resolved_at": None, "closed_at": None}, {"group_id": GROUP_ID + 1}],
    ids=["reopened", "moved-to-another-group"],
)
def test_a_ticket_that_stops_qualifying_stops_counting_on_the_next_sync(upstream, change):
    with time_machine.travel(utc("2026-11-26T09:30:00"), tick=False):
        upstream.put(closed(1, "2026-11-26T09:00:00Z"), closed(2, "2026-11-26T09:10:00Z"))
        sync()
        assert counts(date(2026, 11, 26)) == {OSCAR: 2}
    with time_machine.travel(utc("2026-11-26T10:30:00"), tick=False):
        upstream.put(closed(1, "2026-11-26T09:00:00Z", **change, updated_at="2026-11-26T10:15:00Z"))
        sync()

    assert counts(date(2026, 11, 26)) == {OSCAR: 1}
    assert not ClosedTicket.objects.filter(ticket_id=1).exists()


def test_an_agent_whose_last_closure_is_reopened_disappears_from_the_day(upstream):
    with time_machine.travel(utc("2026-11-26T09:30:00"), tick=False):
        upstream.put(closed(1, "2026-11-26T09:00:00Z", responder=AJ))
        sync()
    with time_machine.travel(utc("2026-11-26T10:30:00"), tick=False):
        upstream.put(closed(1, "2026-11-26T10:00:00Z", responder=AJ, status=2, resolved_at=None))
        sync()

    assert not TicketClosure.objects.filter(freshworks_user_id=AJ).exists()


def test_a_reassigned_ticket_moves_its_credit_to_the_new_responder(upstream):
    with time_machine.travel(utc("2026-11-26T09:30:00"), tick=False):
        upstream.put(closed(1, "2026-11-26T09:00:00Z", responder=OSCAR))
        sync()
    with time_machine.travel(utc("2026-11-26T10:30:00"), tick=False):
        upstream.put(
            closed(1, "2026-11-26T09:00:00Z", responder=AJ, updated_at="2026-11-26T10:00:00Z")
        )
        sync()

    assert counts(date(2026, 11, 26)) == {AJ: 1}


@time_machine.travel(utc("2026-11-26T12:00:00"), tick=False)
def test_a_response_without_stats_fails_the_sync_and_writes_nothing(upstream):
    upstream.put(closed(1, "2026-11-26T09:00:00Z"))
    broken = make_ticket(
        id=2,
        responder_id=OSCAR,
        status=5,
        updated_at="2026-11-26T09:00:00Z",
        resolved_at=None,
        closed_at=None,
        with_stats=False,
    )
    upstream.put(broken)

    with pytest.raises(SyncFailed, match="stats"):
        sync()

    assert not ClosedTicket.objects.exists()
    assert not TicketClosure.objects.exists()
    assert not TicketSyncMetadata.objects.exists()
    run = SyncRun.objects.get()
    assert run.status == SyncRun.Status.FAILED
    assert "stats" in run.error


# --- what is fetched ------------------------------------------------------------------------------


@pytest.mark.parametrize("updated", [0, 1, 99, 100, 101, 250])
@time_machine.travel(utc("2026-11-26T12:00:00"), tick=False)
def test_a_range_sync_makes_one_call_per_hundred_updated_tickets(upstream, updated):
    upstream.put(*(closed(n, "2026-11-20T09:00:00Z") for n in range(1, updated + 1)))

    result = sync(first=date(2026, 11, 1), last=date(2026, 11, 26))

    # The group's read, then the pages: ceil(T/100), one when there are none.
    assert (upstream.group_reads, upstream.list_calls) == (1, max(1, math.ceil(updated / 100)))
    # With closures by an agent it has no name for, the sync also read the (empty) agent list.
    assert upstream.agent_calls == (2 if updated else 0)
    assert result.api_calls == upstream.calls + upstream.agent_calls
    assert SyncRun.objects.get().api_calls == upstream.calls + upstream.agent_calls
    assert upstream.asked_since == [utc("2026-11-01T00:00:00")]
    assert sum(counts(date(2026, 11, 20)).values()) == updated


def test_a_second_sync_asks_only_for_changes_since_the_first_began_minus_ten_minutes(upstream):
    with time_machine.travel(utc("2026-11-26T09:00:41"), tick=False):
        sync()
    with time_machine.travel(utc("2026-11-26T10:00:05"), tick=False):
        sync()

    assert upstream.asked_since == [utc("2026-11-26T00:00:00"), utc("2026-11-26T08:50:41")]


def test_the_first_sync_of_a_morning_adds_last_evenings_closures_to_yesterday(upstream):
    with time_machine.travel(utc("2026-11-25T18:00:00"), tick=False):
        upstream.put(closed(1, "2026-11-25T17:30:00Z"))
        sync()
    upstream.put(closed(2, "2026-11-25T20:15:00Z"), closed(3, "2026-11-26T07:45:00Z"))

    with time_machine.travel(utc("2026-11-26T08:00:00"), tick=False):
        result = sync()

    assert counts(date(2026, 11, 25)) == {OSCAR: 2}
    assert counts(date(2026, 11, 26)) == {OSCAR: 1}
    assert result.dates_recounted == [date(2026, 11, 25), date(2026, 11, 26)]


def test_a_forced_sync_refetches_from_the_start_of_its_day(upstream):
    with time_machine.travel(utc("2026-11-26T09:00:00"), tick=False):
        sync()
    with time_machine.travel(utc("2026-11-26T09:30:00"), tick=False):
        sync(force=True)

    assert upstream.asked_since == [utc("2026-11-26T00:00:00"), utc("2026-11-26T00:00:00")]
    assert [run.trigger for run in SyncRun.objects.order_by("started_at")] == ["command"] * 2


def test_a_day_before_everything_covered_is_fetched_from_its_start(upstream):
    with time_machine.travel(utc("2026-11-26T09:00:00"), tick=False):
        sync()
    with time_machine.travel(utc("2026-11-26T10:00:00"), tick=False):
        sync(first=date(2026, 11, 20))
    with time_machine.travel(utc("2026-11-26T11:00:00"), tick=False):
        sync(first=date(2026, 11, 21))  # covered since the 20th: incremental again

    assert upstream.asked_since == [
        utc("2026-11-26T00:00:00"),
        utc("2026-11-20T00:00:00"),
        utc("2026-11-26T09:50:00"),
    ]


def test_a_failed_sync_does_not_move_the_watermark(upstream):
    with time_machine.travel(utc("2026-11-26T09:00:00"), tick=False):
        sync()
    upstream.fail_on_page = 1
    with time_machine.travel(utc("2026-11-26T10:00:00"), tick=False), pytest.raises(SyncFailed):
        sync()
    upstream.fail_on_page = None
    with time_machine.travel(utc("2026-11-26T10:05:00"), tick=False):
        sync()

    assert upstream.asked_since[-1] == utc("2026-11-26T08:50:00")


# --- what is written --------------------------------------------------------------------------


@pytest.mark.parametrize("failing_page", [1, 2, 3])
def test_a_failure_on_any_page_writes_nothing_but_a_failed_sync_run(upstream, failing_page):
    with time_machine.travel(utc("2026-11-26T08:00:00"), tick=False):
        upstream.put(closed(1, "2026-11-26T07:00:00Z"))
        sync()
    before = {
        "tickets": list(ClosedTicket.objects.values_list("ticket_id", "closure_date")),
        "closures": list(
            TicketClosure.objects.values_list("freshworks_user_id", "date", "tickets_closed")
        ),
        "metadata": list(
            TicketSyncMetadata.objects.values_list("sync_date", "last_sync_time", "sync_count")
        ),
    }
    upstream.put(*(closed(n, "2026-11-26T08:30:00Z", responder=AJ) for n in range(2, 252)))
    upstream.fail_on_page = failing_page

    with (
        time_machine.travel(utc("2026-11-26T09:00:00"), tick=False),
        pytest.raises(SyncFailed) as failure,
    ):
        sync()

    assert {
        "tickets": list(ClosedTicket.objects.values_list("ticket_id", "closure_date")),
        "closures": list(
            TicketClosure.objects.values_list("freshworks_user_id", "date", "tickets_closed")
        ),
        "metadata": list(
            TicketSyncMetadata.objects.values_list("sync_date", "last_sync_time", "sync_count")
        ),
    } == before
    run = SyncRun.objects.filter(status=SyncRun.Status.FAILED).get()
    assert run == failure.value.run
    assert "500" in run.error
    assert run.api_calls == (failing_page - 1) + 3  # the failing page was tried three times


def test_a_success_records_its_run_and_marks_every_date_asked_for(upstream):
    upstream.put(closed(1, "2026-11-25T09:00:00Z"), closed(2, "2026-11-26T09:00:00Z"))
    with time_machine.travel(utc("2026-11-26T10:00:00"), tick=False):
        sync(first=date(2026, 11, 24), last=date(2026, 11, 26))

    run = SyncRun.objects.get()
    assert (run.status, run.first_date, run.last_date) == (
        "success",
        date(2026, 11, 24),
        date(2026, 11, 26),
    )
    # The group's read and one page (3 credits with stats), and the agent list (active,
    # inactive; 1 credit each) for the agent it did not know.
    assert (run.tickets_processed, run.api_calls, run.credits, run.error) == (
        2,
        1 + 1 + 2,
        1 + 3 + 2,
        "",
    )
    assert run.fetched_from == utc("2026-11-24T00:00:00")
    assert list(
        TicketSyncMetadata.objects.order_by("sync_date").values_list(
            "sync_date", "last_sync_time", "sync_count", "tickets_processed"
        )
    ) == [
        (date(2026, 11, 24), utc("2026-11-26T10:00:00"), 1, 0),
        (date(2026, 11, 25), utc("2026-11-26T10:00:00"), 1, 1),
        (date(2026, 11, 26), utc("2026-11-26T10:00:00"), 1, 1),
    ]


def test_syncing_the_same_data_twice_changes_no_count(upstream):
    upstream.put(*(closed(n, "2026-11-26T09:00:00Z") for n in range(1, 6)))
    with time_machine.travel(utc("2026-11-26T10:00:00"), tick=False):
        sync()
    with time_machine.travel(utc("2026-11-26T10:01:00"), tick=False):
        result = sync(force=True)

    assert counts(date(2026, 11, 26)) == {OSCAR: 5}
    assert result.dates_recounted == []


# --- what is refused -----------------------------------------------------------------------------


def test_a_second_sync_within_the_hour_is_refused_without_calling_upstream(upstream):
    with time_machine.travel(utc("2026-11-26T08:00:41"), tick=False):
        sync()
    with (
        time_machine.travel(utc("2026-11-26T08:59:59"), tick=False),
        pytest.raises(SyncRateLimited) as refusal,
    ):
        sync()

    assert upstream.calls == 2  # the first sync's: the group's read, then one page
    assert refusal.value.next_sync_at == utc("2026-11-26T09:00:00")
    assert refusal.value.minutes_until_next_sync == 1
    assert "2026-11-26 09:00" in str(refusal.value)
    assert SyncRun.objects.count() == 1  # refusals are not logged


def test_a_sync_that_began_at_0800_41_allows_the_next_from_0900_00(upstream):
    with time_machine.travel(utc("2026-11-26T08:00:41"), tick=False):
        sync()
    with time_machine.travel(utc("2026-11-26T09:00:00"), tick=False):
        sync()

    assert upstream.list_calls == 2


def test_force_skips_the_rate_limit(upstream):
    with time_machine.travel(utc("2026-11-26T08:00:00"), tick=False):
        sync()
        sync(force=True, trigger=SyncRun.Trigger.FORCE)

    assert upstream.list_calls == 2


@time_machine.travel(utc("2026-11-26T08:30:00"), tick=False)
def test_the_rate_limit_is_read_from_the_database_and_survives_a_restart(upstream):
    # As left by a sync in another process before a restart.
    TicketSyncMetadata.objects.create(
        sync_date=date(2026, 11, 26), last_sync_time=utc("2026-11-26T08:10:00"), sync_count=1
    )

    with pytest.raises(SyncRateLimited) as refusal:
        sync()

    assert refusal.value.minutes_until_next_sync == 40
    assert upstream.calls == 0


def test_a_range_is_refused_while_any_of_its_days_is_limited_and_names_them(upstream):
    with time_machine.travel(utc("2026-11-26T08:00:00"), tick=False):
        sync(first=date(2026, 11, 25))
    with (
        time_machine.travel(utc("2026-11-26T08:30:00"), tick=False),
        pytest.raises(SyncRateLimited) as refusal,
    ):
        sync(first=date(2026, 11, 20), last=date(2026, 11, 26))

    assert refusal.value.dates == [date(2026, 11, 25)]
    assert "2026-11-25" in str(refusal.value)


def test_a_failed_sync_does_not_count_against_the_rate_limit(upstream):
    upstream.fail_on_page = 1
    with time_machine.travel(utc("2026-11-26T08:00:00"), tick=False), pytest.raises(SyncFailed):
        sync()
    upstream.fail_on_page = None
    with time_machine.travel(utc("2026-11-26T08:01:00"), tick=False):
        sync()

    assert SyncRun.objects.filter(status="success").count() == 1


@time_machine.travel(utc("2026-11-26T08:00:00"), tick=False)
def test_a_sync_is_refused_while_another_holds_the_lease(upstream):
    SyncLease.objects.filter(name="sync").update(
        holder="another-worker", expires_at=utc("2026-11-26T08:05:00")
    )

    with pytest.raises(SyncInProgress):
        sync()

    assert upstream.calls == 0
    assert SyncLease.objects.get(name="sync").holder == "another-worker"


@time_machine.travel(utc("2026-11-26T08:00:00"), tick=False)
def test_a_lease_left_by_a_crashed_sync_expires(upstream):
    SyncLease.objects.filter(name="sync").update(
        holder="crashed-worker", expires_at=utc("2026-11-26T07:59:59")
    )

    sync()

    assert upstream.list_calls == 1
    assert SyncLease.objects.get(name="sync").holder == ""  # released after the sync


@time_machine.travel(utc("2026-11-26T08:00:00"), tick=False)
def test_the_lease_is_released_after_a_failure_and_a_refusal(upstream):
    upstream.fail_on_page = 1
    with pytest.raises(SyncFailed):
        sync()
    upstream.fail_on_page = None
    sync()
    with pytest.raises(SyncRateLimited):
        sync()

    assert SyncLease.objects.get(name="sync").holder == ""


@pytest.mark.parametrize(
    ("first", "last", "message"),
    [
        (date(2026, 11, 26), date(2026, 11, 25), "backwards"),
        (date(2026, 11, 27), None, "future"),
    ],
)
@time_machine.travel(utc("2026-11-26T08:00:00"), tick=False)
def test_impossible_dates_are_refused_before_anything_happens(upstream, first, last, message):
    with pytest.raises(SyncRequestError, match=message):
        sync(first=first, last=last)

    assert upstream.calls == 0
    assert not SyncRun.objects.exists()


# --- faults inside the sync ---------------------------------------------------------------------


@time_machine.travel(utc("2026-11-26T12:00:00"), tick=False)
def test_a_ticket_repeated_across_pages_counts_once(requests_mock, fresh):
    upstream = FakeFreshservice(requests_mock, per_page=2)
    upstream.put(closed(1, "2026-11-26T09:00:00Z"), closed(2, "2026-11-26T09:00:00Z"))
    # Offset paging over a list that changes while it is read can serve a ticket twice.
    upstream.tickets[-2] = closed(2, "2026-11-26T09:00:00Z")

    result = sync()

    assert upstream.list_calls == 2
    assert result.tickets_processed == 2
    assert counts(date(2026, 11, 26)) == {OSCAR: 2}


@time_machine.travel(utc("2026-11-26T12:00:00"), tick=False)
def test_a_sync_that_loses_its_lease_midway_writes_nothing(upstream):
    upstream.put(closed(1, "2026-11-26T09:00:00Z"))

    def lease_taken_over() -> None:
        SyncLease.objects.filter(name="sync").update(holder="a-newer-sync")

    upstream.before_answer = lease_taken_over

    with pytest.raises(SyncFailed, match="lost its lease"):
        sync()

    assert not ClosedTicket.objects.exists()
    assert SyncRun.objects.get().status == "failed"
    assert SyncLease.objects.get(name="sync").holder == "a-newer-sync"  # not ours to release


@time_machine.travel(utc("2026-11-26T12:00:00"), tick=False)
def test_an_unexpected_fault_while_writing_rolls_back_and_is_recorded(upstream, monkeypatch):
    upstream.put(closed(1, "2026-11-26T09:00:00Z"))

    def broken_recount(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr("tickets.services.sync.write._recount", broken_recount)

    with pytest.raises(SyncFailed, match="Unexpected error: RuntimeError: disk full"):
        sync()

    assert not ClosedTicket.objects.exists()
    assert not TicketSyncMetadata.objects.exists()
    assert SyncRun.objects.get().error == "Unexpected error: RuntimeError: disk full"
