"""init_ticket_tracking: tables, agent names and two days of closures in one go."""

from __future__ import annotations

from datetime import UTC, date, datetime
from io import StringIO

import pytest
import time_machine
from django.core.management import call_command
from django.core.management.base import CommandError

from tests.conftest import ENDPOINT
from tests.freshservice_data import make_ticket
from tests.upstream import FakeFreshservice
from tickets.models import FreshworksUserMapping, SyncRun, TicketClosure

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)


@pytest.fixture
def ids_file(tmp_path, settings):
    path = tmp_path / "IDs.txt"
    path.write_text("Oscar S. - 1001\nAJ Thompson - 1002\n")
    settings.FRESH_IDS_FILE = str(path)
    return path


def ticket(ticket_id: int, at: str, responder: int) -> dict:
    return make_ticket(
        id=ticket_id, responder_id=responder, updated_at=at, resolved_at=at, closed_at=at
    )


@time_machine.travel(NOW, tick=False)
def test_it_loads_names_and_syncs_yesterday_and_today_in_one_fetch(
    requests_mock, fresh, ids_file, agent
):
    upstream = FakeFreshservice(requests_mock)
    upstream.put(ticket(1, "2026-11-25T15:00:00Z", 1001), ticket(2, "2026-11-26T08:00:00Z", 1002))
    out = StringIO()

    call_command("init_ticket_tracking", stdout=out)

    assert upstream.list_calls == 1
    assert upstream.asked_since == [datetime(2026, 11, 25, tzinfo=UTC)]
    run = SyncRun.objects.get()
    assert (run.trigger, run.first_date, run.last_date) == ("init", date(2026, 11, 25), NOW.date())
    assert TicketClosure.objects.get(date=date(2026, 11, 25)).user == agent
    assert FreshworksUserMapping.objects.count() == 2
    assert "2 agents loaded, 1 matched" in out.getvalue()
    assert "Ticket tracking is ready." in out.getvalue()


@time_machine.travel(NOW, tick=False)
def test_a_failed_step_exits_1_and_the_other_steps_stay_done(requests_mock, fresh, ids_file):
    requests_mock.get(f"{ENDPOINT}tickets", status_code=401)
    out = StringIO()

    with pytest.raises(CommandError, match="sync failed") as failure:
        call_command("init_ticket_tracking", stdout=out)

    assert failure.value.returncode == 1
    assert FreshworksUserMapping.objects.count() == 2
    assert "401" in out.getvalue()
    assert SyncRun.objects.get().status == "failed"


@time_machine.travel(NOW, tick=False)
def test_a_missing_ids_file_fails_its_step_but_the_closures_still_sync(
    requests_mock, fresh, settings, tmp_path
):
    settings.FRESH_IDS_FILE = str(tmp_path / "missing.txt")
    FakeFreshservice(requests_mock).put(ticket(1, "2026-11-26T08:00:00Z", 1001))

    with pytest.raises(CommandError, match="user mappings failed"):
        call_command("init_ticket_tracking", stdout=StringIO())

    assert TicketClosure.objects.get().tickets_closed == 1
