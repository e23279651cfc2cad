"""One sync at a time, on a real PostgreSQL: two syncs started together fetch once."""

from __future__ import annotations

import threading

import pytest
from django.db import connection
from django.utils import timezone

from tests.freshservice_data import make_ticket
from tests.upstream import FakeFreshservice
from tickets.models import SyncRun, TicketClosure
from tickets.services.sync import SyncInProgress, SyncRateLimited, sync_closures

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def upstream(requests_mock, fresh) -> FakeFreshservice:
    fake = FakeFreshservice(requests_mock)
    today = timezone.localdate().isoformat()
    fake.put(
        *(
            make_ticket(
                id=n,
                responder_id=1000 + n % 3,
                updated_at=f"{today}T00:00:0{n}Z",
                resolved_at=f"{today}T00:00:0{n}Z",
                closed_at=f"{today}T00:00:0{n}Z",
            )
            for n in range(1, 8)
        )
    )
    return fake


def _sync_in_thread(outcomes: list, start: threading.Barrier | None = None) -> threading.Thread:
    def run() -> None:
        try:
            if start:
                start.wait()
            outcomes.append(sync_closures(trigger=SyncRun.Trigger.BUTTON))
        except (SyncInProgress, SyncRateLimited) as refusal:
            outcomes.append(refusal)
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def _assert_exact_counts() -> None:
    today = timezone.localdate()
    assert dict(
        TicketClosure.objects.filter(date=today).values_list("freshworks_user_id", "tickets_closed")
    ) == {1000: 2, 1001: 3, 1002: 2}


def test_a_sync_that_finds_another_running_is_refused_as_in_progress(upstream, settings):
    settings.TIME_ZONE = "UTC"
    fetching, release = threading.Event(), threading.Event()

    def hold_first_answer() -> None:
        fetching.set()
        assert release.wait(10)

    upstream.before_answer = hold_first_answer
    first_outcome: list = []
    first = _sync_in_thread(first_outcome)
    assert fetching.wait(10)

    second_outcome: list = []
    _sync_in_thread(second_outcome).join(10)
    release.set()
    first.join(10)

    assert isinstance(second_outcome[0], SyncInProgress)
    assert first_outcome[0].tickets_processed == 7
    assert upstream.list_calls == 1
    assert SyncRun.objects.count() == 1
    _assert_exact_counts()


@pytest.mark.parametrize("syncs", [2, 6])
def test_syncs_started_together_fetch_upstream_once(upstream, settings, syncs):
    settings.TIME_ZONE = "UTC"
    start = threading.Barrier(syncs)
    outcomes: list = []
    threads = [_sync_in_thread(outcomes, start) for _ in range(syncs)]
    for thread in threads:
        thread.join(20)

    refusals = [o for o in outcomes if isinstance(o, SyncInProgress | SyncRateLimited)]
    assert len(outcomes) == syncs
    assert len(refusals) == syncs - 1
    assert upstream.list_calls == 1
    assert SyncRun.objects.get().status == "success"
    _assert_exact_counts()
