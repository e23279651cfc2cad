"""The sync against the documented Freshservice (SPEC §14): the team's group and its workspace,
deleted and spam tickets, the nightly repair, the shared rate budget, and plain HTTP refused.

At the HTTP layer: requests-mock with vendor-shaped payloads from tests/data/freshservice/, or
the stand-in's API behind requests-mock (FakeFreshservice) where tickets change between syncs.
"""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, timedelta
from urllib.parse import parse_qsl, urlsplit

import pytest
import time_machine
from rest_framework.test import APIClient

from tests.conftest import API_KEY, ENDPOINT, GROUP_ID
from tests.freshservice_data import budget, load_page, make_group, make_ticket, next_link
from tests.upstream import FakeFreshservice
from tickets.models import (
    ClosedTicket,
    FreshserviceGroup,
    FreshworksUserMapping,
    SyncLease,
    SyncRun,
    TicketClosure,
    TicketSyncMetadata,
)
from tickets.services.schedule import repair_sync, scheduled_sync
from tickets.services.sync import SyncFailed, sync_closures

pytestmark = pytest.mark.django_db

GROUP_URL = f"{ENDPOINT}groups/{GROUP_ID}"
TICKETS_URL = f"{ENDPOINT}tickets"
TODAY = date(2026, 11, 26)
OSCAR, AJ = 1001, 1002


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def closed(ticket_id: int, at: str, *, responder: int = OSCAR, **fields) -> dict:
    """A ticket resolved and closed at `at` (UTC), last updated then too."""
    values = {"resolved_at": at, "closed_at": at, "updated_at": at, "status": 5} | fields
    return make_ticket(id=ticket_id, responder_id=responder, **values)


def gone(ticket: dict, how: str) -> dict:
    """The ticket deleted or marked spam upstream: the list call leaves it out from now on."""
    return ticket | {how: True}


def counts(day: date) -> dict[int, int]:
    return dict(
        TicketClosure.objects.filter(date=day).values_list("freshworks_user_id", "tickets_closed")
    )


def requests_made(requests_mock) -> list[tuple[str, dict[str, str]]]:
    """Each request's path and parameters, as sent (requests-mock's own `query` is lowercased)."""
    return [
        (request.path, dict(parse_qsl(urlsplit(request.url).query)))
        for request in requests_mock.request_history
    ]


def group_reads(requests_mock) -> int:
    return sum(
        request.path.startswith("/api/v2/groups/") for request in requests_mock.request_history
    )


def snapshot() -> dict[str, list]:
    """Every row the sync may write, except the SyncRun log."""
    return {
        "tickets": list(ClosedTicket.objects.values_list("ticket_id", "closure_date")),
        "closures": list(
            TicketClosure.objects.values_list("freshworks_user_id", "date", "tickets_closed")
        ),
        "metadata": list(TicketSyncMetadata.objects.values_list("sync_date", "sync_count")),
        "groups": list(FreshserviceGroup.objects.values_list("group_id", "name", "fetched_at")),
    }


def sync(**kwargs):
    kwargs.setdefault("trigger", SyncRun.Trigger.COMMAND)
    return sync_closures(**kwargs)


@pytest.fixture(autouse=True)
def in_utc(settings) -> None:
    """The times in these tests are UTC wall-clock times (whatever YAM_TEST_TIME_ZONE says)."""
    settings.TIME_ZONE = "UTC"


@pytest.fixture(autouse=True)
def known_agents(db) -> None:
    """The responders here (1001-1003, as in tests/data/freshservice/) already have rows, so no
    sync reads the agent list for them (that read is tests/test_directory.py's): the calls these
    tests count are the group's read and the ticket pages."""
    FreshworksUserMapping.objects.bulk_create(
        FreshworksUserMapping(freshworks_user_id=agent_id) for agent_id in (OSCAR, AJ, 1003)
    )


@pytest.fixture
def upstream(requests_mock, fresh) -> FakeFreshservice:
    return FakeFreshservice(requests_mock)


@pytest.fixture
def api(plain_user) -> APIClient:
    client = APIClient()
    client.force_authenticate(plain_user)
    return client


def verdict(err: str) -> str:
    """The command's last line: its one-line reason (log lines may come before it)."""
    return err.strip().splitlines()[-1]


# --- the team's group and its workspace (SPEC §14.2) -------------------------------------------


@time_machine.travel(utc("2026-11-26T12:00:00"), tick=False)
def test_a_group_in_workspace_5_is_listed_with_workspace_id_5_when_none_is_configured(
    requests_mock, fresh
):
    requests_mock.get(GROUP_URL, json=make_group(name="Lab Support", workspace_id=5))
    requests_mock.get(TICKETS_URL, json=load_page("tickets-workspace-5"))

    result = sync()

    assert requests_made(requests_mock) == [
        (f"/api/v2/groups/{GROUP_ID}", {}),
        (
            "/api/v2/tickets",
            {
                "updated_since": "2026-11-26T00:00:00Z",
                "include": "stats",
                "per_page": "100",
                "workspace_id": "5",
                "page": "1",
            },
        ),
    ]
    assert counts(TODAY) == {OSCAR: 2, AJ: 1}
    assert (result.api_calls, result.credits) == (2, 1 + 3)
    group = FreshserviceGroup.objects.get()
    assert (group.group_id, group.name, group.workspace_id) == (GROUP_ID, "Lab Support", 5)


@pytest.mark.parametrize("configured", [5, 0], ids=["the-groups-own", "0-all-workspaces"])
@time_machine.travel(utc("2026-11-26T12:00:00"), tick=False)
def test_a_configured_workspace_that_agrees_with_the_group_is_sent(
    requests_mock, fresh, configured
):
    fresh.FRESH_WORKSPACE_ID = configured
    requests_mock.get(GROUP_URL, json=make_group(workspace_id=5))
    listing = requests_mock.get(TICKETS_URL, json=load_page("tickets-workspace-5"))

    sync()

    assert dict(parse_qsl(urlsplit(listing.last_request.url).query))["workspace_id"] == str(
        configured
    )
    assert counts(TODAY) == {OSCAR: 2, AJ: 1}


@time_machine.travel(utc("2026-11-26T12:00:00"), tick=False)
def test_a_configured_workspace_other_than_the_groups_fails_naming_both(
    requests_mock, fresh, manage
):
    fresh.FRESH_WORKSPACE_ID = 3
    requests_mock.get(GROUP_URL, json=make_group(name="Lab Support", workspace_id=5))
    listing = requests_mock.get(TICKETS_URL, json=load_page("tickets-workspace-5"))

    status, _, err = manage("sync_daily_closures")

    assert status == 1
    assert verdict(err) == (
        "CommandError: Sync failed: FRESH_WORKSPACE_ID is 3, but Freshservice says the agent "
        f"group FRESH_GROUP_ID={GROUP_ID} (Lab Support) lives in workspace 5: set "
        "FRESH_WORKSPACE_ID=5, or leave it empty to use the group's workspace."
    )
    assert listing.call_count == 0
    assert snapshot() == {"tickets": [], "closures": [], "metadata": [], "groups": []}
    run = SyncRun.objects.get()
    assert (run.status, run.api_calls, run.credits) == ("failed", 1, 1)
    assert "FRESH_WORKSPACE_ID is 3" in run.error


@time_machine.travel(utc("2026-11-26T12:00:00"), tick=False)
def test_an_unknown_group_fails_the_sync_naming_fresh_group_id_and_writes_nothing(
    requests_mock, fresh, manage, api
):
    upstream = FakeFreshservice(requests_mock)
    upstream.put(closed(1, "2026-11-26T09:00:00Z"))
    with time_machine.travel(utc("2026-11-25T12:00:00"), tick=False):
        sync(first=date(2026, 11, 25))  # yesterday's data and group, which must stay
    before = snapshot()
    upstream.remove_group()

    status, _, err = manage("sync_daily_closures")
    response = api.post("/api/tickets/sync", {}, format="json")

    assert status == 1
    assert verdict(err).startswith("CommandError: Sync failed: Freshservice has no agent group")
    assert "FRESH_GROUP_ID" in verdict(err)
    assert response.status_code == 502
    assert response.json()["synced"] is False
    assert "FRESH_GROUP_ID" in response.json()["detail"]
    assert snapshot() == before
    failed = SyncRun.objects.filter(status="failed")
    assert failed.count() == 2
    assert all(run.error.startswith("Freshservice has no agent group") for run in failed)
    assert upstream.list_calls == 1  # yesterday's sync only: no page was asked for since


def test_the_group_is_read_once_a_day_in_time_zone_and_again_by_a_forced_sync(
    upstream, requests_mock, settings
):
    settings.TIME_ZONE = "America/New_York"  # UTC-5 in November

    with time_machine.travel(utc("2026-11-26T23:30:00"), tick=False):  # 18:30 on the 26th
        sync()
    with time_machine.travel(utc("2026-11-27T04:30:00"), tick=False):  # 23:30, still the 26th
        sync()
    assert group_reads(requests_mock) == 1

    with time_machine.travel(utc("2026-11-27T04:31:00"), tick=False):
        sync(force=True, trigger=SyncRun.Trigger.FORCE)
    assert group_reads(requests_mock) == 2  # a forced sync does not trust the day's copy

    with time_machine.travel(utc("2026-11-27T05:30:00"), tick=False):  # 00:30 on the 27th
        result = sync()
    assert group_reads(requests_mock) == 3
    assert result.api_calls == 2  # the group, then one page
    assert FreshserviceGroup.objects.get().fetched_at == utc("2026-11-27T05:30:00")


@time_machine.travel(utc("2026-11-26T12:00:00"), tick=False)
def test_the_groups_name_is_the_teams_name_in_the_closures_answer(upstream, api, requests_mock):
    assert api.get("/api/tickets/closures/today").json()["team"] is None  # not read yet

    sync()
    named = api.get("/api/tickets/closures/today").json()["team"]
    upstream.world.groups[GROUP_ID].name = "IT Service Desk"
    with time_machine.travel(utc("2026-11-27T12:00:00"), tick=False):
        sync()
        renamed = api.get("/api/tickets/closures/period?period=today").json()["team"]

    assert named == {"id": GROUP_ID, "name": "Service Desk"}
    assert renamed == {"id": GROUP_ID, "name": "IT Service Desk"}


def test_the_admin_lists_the_group_read_only(superuser, upstream, client):
    with time_machine.travel(utc("2026-11-26T12:00:00"), tick=False):
        sync()
    client.force_login(superuser)

    listing = client.get("/admin/tickets/freshservicegroup/")
    adding = client.get("/admin/tickets/freshservicegroup/add/")

    assert listing.status_code == 200
    assert "Service Desk" in listing.content.decode()
    assert adding.status_code == 403


# --- deleted and spam tickets (SPEC §14.4) -------------------------------------------------------


def test_deleted_and_spam_closures_go_with_the_next_complete_fetch_that_covers_them(upstream):
    live = closed(1, "2026-11-26T10:55:00Z")
    deleted = closed(2, "2026-11-26T10:56:00Z")
    spam = closed(3, "2026-11-26T10:57:00Z", responder=AJ)
    older = closed(4, "2026-11-26T10:30:00Z")
    upstream.put(live, deleted, spam, older)
    with time_machine.travel(utc("2026-11-26T11:00:00"), tick=False):
        sync()
    assert counts(TODAY) == {OSCAR: 3, AJ: 1}

    upstream.put(gone(deleted, "deleted"), gone(spam, "spam"), gone(older, "deleted"))
    with time_machine.travel(utc("2026-11-26T12:00:00"), tick=False):
        result = sync()

    # Fetched from 10:50 (the last sync's start less the overlap): every closure since then that
    # is still there came back; 2 and 3 did not. 4, closed at 10:30, could not have come back.
    assert result.fetched_from == utc("2026-11-26T10:50:00")
    assert result.tickets_vanished == 2
    assert set(ClosedTicket.objects.values_list("ticket_id", flat=True)) == {1, 4}
    assert counts(TODAY) == {OSCAR: 2}
    assert result.dates_recounted == [TODAY]

    with time_machine.travel(utc("2026-11-26T12:01:00"), tick=False):
        repaired = sync(force=True, trigger=SyncRun.Trigger.FORCE)

    assert repaired.fetched_from == utc("2026-11-26T00:00:00")
    assert repaired.tickets_vanished == 1
    assert set(ClosedTicket.objects.values_list("ticket_id", flat=True)) == {1}
    assert counts(TODAY) == {OSCAR: 1}


def test_a_live_closure_the_paging_skipped_is_kept_once_freshservice_says_it_still_counts(
    upstream, requests_mock, caplog
):
    skipped = closed(1, "2026-11-26T10:55:00Z")
    listed = closed(2, "2026-11-26T10:56:00Z", responder=AJ)
    upstream.put(skipped, listed)
    with time_machine.travel(utc("2026-11-26T11:00:00"), tick=False):
        sync()
    # The list shrank while the next sync paged (a ticket on a page already read was deleted),
    # so the pages shifted and ticket 1, live and unchanged, was on none of them.
    requests_mock.get(TICKETS_URL, json={"tickets": [listed]})

    with time_machine.travel(utc("2026-11-26T12:00:00"), tick=False):
        result = sync()

    assert upstream.ticket_reads == 1  # `GET tickets/1`: live, in the group, closed
    assert result.tickets_vanished == 0
    assert set(ClosedTicket.objects.values_list("ticket_id", flat=True)) == {1, 2}
    assert counts(TODAY) == {OSCAR: 1, AJ: 1}
    assert "Ticket 1 did not come back in the list but still counts" in caplog.text


def test_many_closures_gone_at_once_are_removed_without_a_read_each(upstream, requests_mock):
    many = [closed(n, "2026-11-26T10:55:00Z") for n in range(1, 28)]
    upstream.put(*many)
    with time_machine.travel(utc("2026-11-26T11:00:00"), tick=False):
        sync()
    upstream.put(*(gone(ticket, "deleted") for ticket in many))

    with time_machine.travel(utc("2026-11-26T12:00:00"), tick=False):
        result = sync()

    # 27 at once is past MAX_GONE_CHECKS (25): a mass deletion, not a page skipped.
    assert upstream.ticket_reads == 0
    assert result.tickets_vanished == 27
    assert not ClosedTicket.objects.exists()


def test_a_forced_sync_of_a_day_removes_its_deleted_and_spam_closures_and_no_earlier_ones(
    upstream,
):
    two_days_ago = closed(1, "2026-11-24T09:00:00Z")
    yesterday = closed(2, "2026-11-25T09:00:00Z")
    yesterday_spam = closed(3, "2026-11-25T15:00:00Z", responder=AJ)
    today = closed(4, "2026-11-26T09:00:00Z")
    upstream.put(two_days_ago, yesterday, yesterday_spam, today)
    with time_machine.travel(utc("2026-11-26T10:00:00"), tick=False):
        sync(first=date(2026, 11, 24), last=TODAY)
    upstream.put(
        gone(two_days_ago, "deleted"), gone(yesterday, "deleted"), gone(yesterday_spam, "spam")
    )

    with time_machine.travel(utc("2026-11-26T10:30:00"), tick=False):
        result = sync(first=date(2026, 11, 25), force=True, trigger=SyncRun.Trigger.FORCE)

    assert result.fetched_from == utc("2026-11-25T00:00:00")
    assert result.dates_recounted == [date(2026, 11, 25)]
    assert counts(date(2026, 11, 24)) == {OSCAR: 1}  # closed before the fetch: kept
    assert counts(date(2026, 11, 25)) == {}
    assert counts(TODAY) == {OSCAR: 1}
    assert set(ClosedTicket.objects.values_list("ticket_id", flat=True)) == {1, 4}


def test_an_incomplete_fetch_removes_nothing(requests_mock, fresh):
    upstream = FakeFreshservice(requests_mock, per_page=1)
    first, second = closed(1, "2026-11-26T09:00:00Z"), closed(2, "2026-11-26T09:30:00Z")
    upstream.put(first, second)
    with time_machine.travel(utc("2026-11-26T10:00:00"), tick=False):
        sync()
    before = snapshot()
    upstream.put(gone(first, "deleted"), closed(3, "2026-11-26T10:30:00Z"))
    upstream.fail_on_page = 2

    with (
        time_machine.travel(utc("2026-11-26T11:00:00"), tick=False),
        pytest.raises(SyncFailed),
    ):
        sync(force=True, trigger=SyncRun.Trigger.FORCE)

    assert snapshot() == before
    assert counts(TODAY) == {OSCAR: 2}


# --- the repair job (REPAIR_SCHEDULE, REPAIR_DAYS) -----------------------------------------------


def test_the_repair_job_force_syncs_the_last_repair_days_and_removes_the_deleted(
    upstream, settings, caplog
):
    settings.REPAIR_DAYS = 3
    outside = closed(1, "2026-11-22T09:00:00Z")
    first_day = closed(2, "2026-11-23T09:00:00Z")
    later = closed(3, "2026-11-25T09:00:00Z")
    kept = closed(4, "2026-11-25T10:00:00Z", responder=AJ)
    upstream.put(outside, first_day, later, kept)
    with time_machine.travel(utc("2026-11-25T20:00:00"), tick=False):
        sync(first=date(2026, 11, 22), last=date(2026, 11, 25))
    upstream.put(gone(outside, "deleted"), gone(first_day, "spam"), gone(later, "deleted"))

    with time_machine.travel(utc("2026-11-26T02:30:00"), tick=False):
        assert repair_sync() is True

    run = SyncRun.objects.latest("started_at")
    assert (run.trigger, run.status) == ("repair", "success")
    assert (run.first_date, run.last_date) == (date(2026, 11, 23), TODAY)
    assert run.fetched_from == utc("2026-11-23T00:00:00")
    assert set(ClosedTicket.objects.values_list("ticket_id", flat=True)) == {1, 4}
    assert counts(date(2026, 11, 22)) == {OSCAR: 1}  # before the repair's reach
    assert counts(date(2026, 11, 23)) == {}
    assert counts(date(2026, 11, 25)) == {AJ: 1}
    assert "Repair sync: Synced 2026-11-23..2026-11-26" in caplog.text
    assert "(2 closures removed as deleted or spam)" in caplog.text


@time_machine.travel(utc("2026-11-26T02:30:00"), tick=False)
def test_the_repair_job_logs_a_refusal_and_a_failure_like_the_scheduled_sync(
    upstream, settings, caplog
):
    SyncLease.objects.filter(name="sync").update(
        holder="another-worker", expires_at=utc("2026-11-26T02:35:00")
    )
    assert repair_sync() is False
    assert "Repair sync: Not synced (in progress)" in caplog.text

    SyncLease.objects.filter(name="sync").update(holder="", expires_at=None)
    upstream.remove_group()
    assert repair_sync() is False
    run = SyncRun.objects.get()
    assert (run.trigger, run.status) == ("repair", "failed")
    failures = [record for record in caplog.records if record.levelno >= logging.ERROR]
    assert len(failures) == 1
    assert "FRESH_GROUP_ID" in failures[0].getMessage()

    settings.FRESH_API = ""
    assert repair_sync() is False
    assert "Repair sync: Sync failed: Freshservice is not configured" in caplog.text


# --- the shared rate budget (SPEC §14.6) ---------------------------------------------------------


@pytest.mark.parametrize(
    "argv", [[], ["--from", "2026-11-25", "--to", "2026-11-26"]], ids=["one-day", "range"]
)
@time_machine.travel(utc("2026-11-26T09:00:45"), tick=False)
def test_the_reserve_makes_the_sync_wait_for_the_next_minute_and_the_command_says_so(
    requests_mock, fresh, manage, sleeps, caplog, argv
):
    # 15 of the minute's 100 credits left after the group's read: below the 20 % reserve.
    requests_mock.get(GROUP_URL, json=make_group(), headers=budget(total=100, remaining=15))
    requests_mock.get(
        TICKETS_URL, json=load_page("tickets-page-1"), headers=budget(total=100, remaining=60)
    )

    status, out, err = manage("sync_daily_closures", *argv)

    assert status == 0, err
    assert out.startswith("Synced ")
    assert sleeps == [15]  # 09:00:45 -> 09:01:00, recorded instead of slept
    shown = "Waiting 15 s: Freshservice budget low (15 of 100 credits left, 20 kept in reserve)."
    assert shown in err
    assert "Freshservice budget low (15 of 100 credits left, 20 kept in reserve)" in caplog.text
    assert counts(TODAY) == {OSCAR: 1, AJ: 1}


@time_machine.travel(utc("2026-11-26T09:00:45"), tick=False)
def test_a_reserve_of_0_never_waits(requests_mock, fresh, sleeps):
    fresh.FRESH_BUDGET_RESERVE = 0
    requests_mock.get(GROUP_URL, json=make_group(), headers=budget(total=100, remaining=1))
    requests_mock.get(TICKETS_URL, json=load_page("tickets-page-1"))

    sync()

    assert sleeps == []


@time_machine.travel(utc("2026-11-26T12:00:00"), tick=False)
def test_credits_are_recorded_per_sync_run_and_shown(requests_mock, fresh, manager, client):
    # Three pages whose links, like the vendor's example, carry only the page.
    for page in (1, 2, 3):
        headers = next_link(f"{ENDPOINT}tickets?page={page + 1}") if page < 3 else {}
        requests_mock.get(
            f"{TICKETS_URL}?page={page}", json=load_page(f"tickets-page-{page}"), headers=headers
        )
    requests_mock.get(GROUP_URL, status_code=404)
    with pytest.raises(SyncFailed):
        sync()
    requests_mock.get(GROUP_URL, json=make_group())

    result = sync()

    pages = [query for path, query in requests_made(requests_mock) if path == "/api/v2/tickets"]
    assert [query["page"] for query in pages] == ["1", "2", "3"]
    assert all(query["updated_since"] == "2026-11-26T00:00:00Z" for query in pages)
    assert (result.api_calls, result.credits) == (4, 1 + 3 * 3)
    assert list(SyncRun.objects.order_by("pk").values_list("status", "api_calls", "credits")) == [
        ("failed", 1, 1),
        ("success", 4, 10),
    ]
    client.force_login(manager)
    stats = client.get("/api/tickets/admin-stats").json()
    assert [run["credits"] for run in stats["recent_activity"]] == [10, 1]
    statistics = client.get("/admin/tickets/syncrun/statistics/").content.decode()
    assert '<th scope="col">Credits</th>' in statistics
    assert "<td>10</td>" in statistics
    changelist = client.get("/admin/tickets/syncrun/").content.decode()
    assert "column-credits" in changelist


# --- plain HTTP (SPEC §14.7) ---------------------------------------------------------------------


@time_machine.travel(utc("2026-11-26T12:00:00"), tick=False)
def test_a_plain_http_endpoint_fails_the_sync_outside_demo_mode(
    settings, requests_mock, manage, api
):
    # Not the `fresh` fixture: its client lets plain HTTP through for the tests' stand-ins.
    settings.FRESH_API = API_KEY
    settings.FRESH_ENDPOINT = "http://acme.freshservice.com/api/v2/"
    settings.FRESH_GROUP_ID = GROUP_ID
    settings.DEMO_MODE = False

    status, _, err = manage("sync_daily_closures")
    response = api.post("/api/tickets/sync", {}, format="json")

    assert status == 1
    assert verdict(err) == (
        "CommandError: Sync failed: FRESH_ENDPOINT uses plain http://, but Freshservice requires "
        "HTTPS: set it to the https:// address of your account, "
        "e.g. https://acme.freshservice.com/api/v2/"
    )
    assert response.status_code == 502
    assert response.json()["detail"].startswith("FRESH_ENDPOINT uses plain http://")
    assert requests_mock.call_count == 0
    assert not SyncRun.objects.exists()


def test_the_repair_reaches_back_repair_days_before_today(upstream, settings):
    settings.REPAIR_DAYS = 7
    with time_machine.travel(utc("2026-11-26T02:30:00"), tick=False):
        repair_sync()

    run = SyncRun.objects.get()
    assert (run.first_date, run.last_date) == (TODAY - timedelta(days=7), TODAY)


@time_machine.travel(utc("2026-11-26T12:00:00"), tick=False)
def test_a_plain_http_endpoint_is_reported_by_the_check_the_schedule_and_the_names_refresh(
    settings, requests_mock, manage, caplog, tmp_path
):
    # As above, without the `fresh` fixture: build_client turns the client's refusal into a
    # SyncFailed, which the connection check, the day's first agent-list read and the names
    # refresh each take as a finding, never as a crash.
    settings.FRESH_API = API_KEY
    settings.FRESH_ENDPOINT = "http://acme.freshservice.com/api/v2/"
    settings.FRESH_GROUP_ID = GROUP_ID
    settings.DEMO_MODE = False
    ids = tmp_path / "IDs.txt"
    ids.write_text("Oscar S. - 1001\n")
    settings.FRESH_IDS_FILE = str(ids)

    check_status, check_out, _ = manage("check_freshservice")
    scheduled = scheduled_sync()
    names_status, _, names_err = manage("refresh_user_mappings")

    assert check_status == 1
    assert "FRESH_ENDPOINT uses plain http://" in check_out
    assert scheduled is False
    assert "Scheduled sync: " in caplog.text
    # The IDs file still loads; the agent list's failure makes the command exit 1, as any does.
    assert names_status == 1
    assert "FRESH_ENDPOINT uses plain http://" in verdict(names_err)
    assert requests_mock.call_count == 0
    assert not SyncRun.objects.exists()
