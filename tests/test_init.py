"""init_ticket_tracking: the connection check first, then tables, agent names and two days of
closures in one go."""

from __future__ import annotations

from datetime import UTC, date, datetime
from io import StringIO

import pytest
import time_machine
from django.core.management import call_command
from django.core.management.base import CommandError

from tests.account import ACTIVE_AGENTS, AGENTS_URL, answer_account
from tests.conftest import ENDPOINT
from tests.freshservice_data import budget, make_agent_page, make_ticket
from tests.upstream import FakeFreshservice
from tickets.models import FreshserviceGroup, FreshworksUserMapping, SyncRun, TicketClosure

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def in_utc(settings) -> None:
    """The times in these tests are UTC wall-clock times (whatever YAM_TEST_TIME_ZONE says)."""
    settings.TIME_ZONE = "UTC"


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
    answer_account(requests_mock)
    out = StringIO()

    call_command("init_ticket_tracking", stdout=out)

    # One ticket fetch. The check's calls (agents, group), the names step's agent list and the
    # sync's group read are answered by answer_account: the check writes no FreshserviceGroup, so
    # the sync reads the group itself and keeps it.
    assert upstream.list_calls == 1
    assert upstream.calls == 1
    group_reads = [call for call in requests_mock.request_history if "/groups/" in call.path]
    assert len(group_reads) == 2
    assert FreshserviceGroup.objects.get().fetched_at == NOW
    assert upstream.asked_since == [datetime(2026, 11, 25, tzinfo=UTC)]
    run = SyncRun.objects.get()
    assert (run.trigger, run.first_date, run.last_date) == ("init", date(2026, 11, 25), NOW.date())
    assert TicketClosure.objects.get(date=date(2026, 11, 25)).user == agent
    # The two IDs.txt lines and the four agents Freshservice lists (tests/account.py).
    assert FreshworksUserMapping.objects.count() == 2 + 4
    assert "2 agents loaded, 1 matched" in out.getvalue()
    assert "✓ Group       Service Desk (18000294963)" in out.getvalue()
    assert "Ticket tracking is ready for Service Desk." in out.getvalue()


@time_machine.travel(NOW, tick=False)
def test_a_failed_step_exits_1_and_the_other_steps_stay_done(requests_mock, fresh, ids_file):
    answer_account(requests_mock)
    # The connection check reads the agents and passes; the names step's read is then refused.
    requests_mock.get(
        f"{ENDPOINT}agents?active=true",
        [
            {"json": make_agent_page(*ACTIVE_AGENTS), "headers": budget(total=120, remaining=119)},
            {"status_code": 401},
        ],
    )
    requests_mock.get(f"{ENDPOINT}tickets", status_code=401)
    out = StringIO()

    with pytest.raises(CommandError, match="agent list and sync failed") as failure:
        call_command("init_ticket_tracking", stdout=out)

    assert failure.value.returncode == 1
    assert FreshworksUserMapping.objects.count() == 2
    assert "401" in out.getvalue()
    assert SyncRun.objects.get().status == "failed"


@time_machine.travel(NOW, tick=False)
def test_a_missing_ids_file_is_no_error_once_freshservice_has_named_the_agents(
    requests_mock, fresh, settings, tmp_path
):
    settings.FRESH_IDS_FILE = str(tmp_path / "missing.txt")
    FakeFreshservice(requests_mock).put(ticket(1, "2026-11-26T08:00:00Z", 1001))
    answer_account(requests_mock)
    out = StringIO()

    call_command("init_ticket_tracking", stdout=out)

    assert "no IDs.txt; names from Freshservice" in out.getvalue()
    assert TicketClosure.objects.get().tickets_closed == 1


@time_machine.travel(NOW, tick=False)
def test_a_missing_ids_file_fails_its_step_when_the_agent_list_failed_too(
    requests_mock, fresh, settings, tmp_path
):
    settings.FRESH_IDS_FILE = str(tmp_path / "missing.txt")
    FakeFreshservice(requests_mock).put(ticket(1, "2026-11-26T08:00:00Z", 1001))
    answer_account(requests_mock)
    requests_mock.get(
        f"{ENDPOINT}agents?active=true",
        [
            {"json": make_agent_page(*ACTIVE_AGENTS), "headers": budget(total=120, remaining=119)},
            {"status_code": 401},
        ],
    )

    with pytest.raises(CommandError, match="user mappings failed"):
        call_command("init_ticket_tracking", stdout=StringIO())

    # The closures still sync: the names are not needed to count them.
    assert TicketClosure.objects.get().tickets_closed == 1


@pytest.mark.parametrize(
    ("break_it", "problem"),
    [
        (
            lambda requests_mock, settings: requests_mock.get(AGENTS_URL, status_code=401),
            "Freshservice rejected the API key (401): check FRESH_API",
        ),
        (
            lambda requests_mock, settings: requests_mock.get(
                f"{ENDPOINT}groups/18000294963", status_code=404
            ),
            "Freshservice has no agent group 18000294963",
        ),
        (
            lambda requests_mock, settings: setattr(settings, "FRESH_WORKSPACE_ID", 7),
            "FRESH_WORKSPACE_ID is 7, but agent group 18000294963 (Service Desk) is in workspace 2",
        ),
    ],
    ids=["bad-key", "unknown-group", "other-workspace"],
)
@time_machine.travel(NOW, tick=False)
def test_a_failed_connection_check_stops_before_anything_is_done(
    requests_mock, fresh, ids_file, monkeypatch, break_it, problem
):
    upstream = FakeFreshservice(requests_mock)
    upstream.put(ticket(1, "2026-11-26T08:00:00Z", 1001))
    answer_account(requests_mock)
    break_it(requests_mock, fresh)
    commands: list[str] = []
    monkeypatch.setattr(
        "tickets.management.commands.init_ticket_tracking.call_command",
        lambda name, **options: commands.append(name),
    )
    out = StringIO()

    with pytest.raises(
        CommandError, match="Set-up stopped: the connection check found 1 problem"
    ) as stop:
        call_command("init_ticket_tracking", stdout=out)

    assert stop.value.returncode == 1
    assert problem in out.getvalue()
    assert "2/4" not in out.getvalue()
    assert commands == []  # not even migrate
    assert upstream.calls == 0
    assert not FreshworksUserMapping.objects.exists()
    assert not SyncRun.objects.exists()
    assert not TicketClosure.objects.exists()
