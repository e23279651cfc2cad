"""The JSON API answers as SPEC §9 says: periods, shapes, sorting, sync outcomes, bad input."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from django.contrib.auth.models import User
from django.db import transaction
from rest_framework.test import APIClient

from tests.conftest import ENDPOINT
from tests.freshservice_data import make_ticket
from tests.upstream import FakeFreshservice
from tickets.models import (
    FreshworksUserMapping,
    SyncLease,
    SyncRun,
    TicketClosure,
    TicketSyncMetadata,
)

pytestmark = pytest.mark.django_db

# Thursday 26 November 2026, 10:00 in New York (15:00 UTC).
NOW = datetime(2026, 11, 26, 15, 0, tzinfo=UTC)
TODAY = date(2026, 11, 26)
OSCAR, AJ, COLE, NOBODY = 1001, 1002, 1003, 1999


@pytest.fixture(autouse=True)
def new_york(settings):
    settings.TIME_ZONE = "America/New_York"


@pytest.fixture(autouse=True)
def at_now() -> Iterator[None]:
    """Each test and its fixtures run at NOW unless the test travels on: a session begun in a
    fixture stays valid in the test whatever day the suite runs."""
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def api(plain_user) -> APIClient:
    client = APIClient()
    client.force_login(plain_user)
    return client


@pytest.fixture
def manager_api(manager) -> APIClient:
    client = APIClient()
    client.force_login(manager)
    return client


@pytest.fixture
def team(agent):
    """Three named agents (one matched to a local user) and one without an IDs.txt line."""
    FreshworksUserMapping.objects.create(
        freshworks_user_id=OSCAR, freshworks_username="Oscar S.", user=agent
    )
    FreshworksUserMapping.objects.create(freshworks_user_id=AJ, freshworks_username="AJ Thompson")
    FreshworksUserMapping.objects.create(
        freshworks_user_id=COLE, freshworks_username="Cole O'Grady"
    )


def closures(day: date, **per_agent: int) -> None:
    ids = {"oscar": OSCAR, "aj": AJ, "cole": COLE, "nobody": NOBODY}
    for name, closed in per_agent.items():
        TicketClosure.objects.create(freshworks_user_id=ids[name], date=day, tickets_closed=closed)


# --- closures ------------------------------------------------------------------------------------


@time_machine.travel(NOW, tick=False)
def test_todays_closures_have_the_contract_shape_sorted_with_the_top_closer(api, team, agent):
    closures(TODAY, oscar=3, aj=5, cole=3, nobody=1)
    closures(TODAY - timedelta(days=1), oscar=9)

    answer = api.get("/api/tickets/closures/today").json()

    assert answer == {
        "period": "today",
        "start": "2026-11-26",
        "end": "2026-11-26",
        "total": 12,
        "closures": [
            {
                "freshworks_user_id": AJ,
                "name": "AJ Thompson",
                "username": None,
                "tickets_closed": 5,
                "previous_tickets_closed": 0,
            },
            {
                "freshworks_user_id": COLE,
                "name": "Cole O'Grady",
                "username": None,
                "tickets_closed": 3,
                "previous_tickets_closed": 0,
            },
            {
                "freshworks_user_id": OSCAR,
                "name": "Oscar S.",
                "username": agent.username,
                "tickets_closed": 3,
                "previous_tickets_closed": 9,
            },
            {
                "freshworks_user_id": NOBODY,
                "name": f"Agent {NOBODY}",
                "username": None,
                "tickets_closed": 1,
                "previous_tickets_closed": 0,
            },
        ],
        "previous": {"start": "2026-11-25", "end": "2026-11-25", "total": 9},
        "top_closer": {
            "freshworks_user_id": AJ,
            "name": "AJ Thompson",
            "username": None,
            "tickets_closed": 5,
            "previous_tickets_closed": 0,
        },
        "top_closers": [
            {
                "freshworks_user_id": AJ,
                "name": "AJ Thompson",
                "username": None,
                "tickets_closed": 5,
                "previous_tickets_closed": 0,
            }
        ],
        "last_synced_at": None,
        "stale": True,
        "team": None,  # no sync has read the team's group yet
        "teams": [],  # no group is configured here
        "backfill": None,  # no backfill under way
    }


@time_machine.travel(NOW, tick=False)
def test_an_empty_day_has_no_top_closer_and_shows_when_it_last_synced(api):
    SyncRun.objects.create(
        first_date=TODAY,
        last_date=TODAY,
        trigger="schedule",
        status="success",
        started_at=datetime(2026, 11, 26, 14, 0, 5, tzinfo=UTC),
        finished_at=datetime(2026, 11, 26, 14, 0, 9, tzinfo=UTC),
    )

    answer = api.get("/api/tickets/closures/period?period=today").json()

    assert (answer["total"], answer["closures"], answer["top_closer"]) == (0, [], None)
    assert answer["last_synced_at"] == "2026-11-26T09:00:05-05:00"
    assert answer["stale"] is False


@pytest.mark.parametrize(
    ("now", "period", "start", "end"),
    [
        # a Thursday
        (NOW, "today", "2026-11-26", "2026-11-26"),
        (NOW, "yesterday", "2026-11-25", "2026-11-25"),
        (NOW, "week", "2026-11-23", "2026-11-26"),
        (NOW, "month", "2026-11-01", "2026-11-26"),
        # Monday 23 November, 00:30 in New York
        (datetime(2026, 11, 23, 5, 30, tzinfo=UTC), "week", "2026-11-23", "2026-11-23"),
        # Sunday 29 November, 23:30 in New York (already Monday in UTC)
        (datetime(2026, 11, 30, 4, 30, tzinfo=UTC), "week", "2026-11-23", "2026-11-29"),
        (datetime(2026, 11, 30, 4, 30, tzinfo=UTC), "today", "2026-11-29", "2026-11-29"),
        # 00:30 on Sunday 1 November in New York (the clocks went back at 02:00 that day)
        (datetime(2026, 11, 1, 4, 30, tzinfo=UTC), "month", "2026-11-01", "2026-11-01"),
        (datetime(2026, 11, 1, 4, 30, tzinfo=UTC), "yesterday", "2026-10-31", "2026-10-31"),
        # A Monday that is also the 1st of a month, in New York
        (datetime(2027, 2, 1, 6, 0, tzinfo=UTC), "week", "2027-02-01", "2027-02-01"),
        (datetime(2027, 2, 1, 6, 0, tzinfo=UTC), "yesterday", "2027-01-31", "2027-01-31"),
    ],
)
def test_periods_follow_the_local_calendar(plain_user, now, period, start, end):
    with time_machine.travel(now, tick=False):
        api = APIClient()
        api.force_login(plain_user)
        answer = api.get(f"/api/tickets/closures/period?period={period}").json()

    assert (answer["period"], answer["start"], answer["end"]) == (period, start, end)


@time_machine.travel(NOW, tick=False)
def test_a_period_sums_every_day_in_it_and_nothing_outside(api, team):
    closures(date(2026, 11, 22), oscar=100)  # the Sunday before this week
    closures(date(2026, 11, 23), oscar=2, aj=1)  # Monday
    closures(date(2026, 11, 26), oscar=1, aj=4)  # today
    closures(date(2026, 10, 31), aj=50)  # last month

    week = api.get("/api/tickets/closures/period?period=week").json()
    month = api.get("/api/tickets/closures/period?period=month").json()

    assert [(e["name"], e["tickets_closed"]) for e in week["closures"]] == [
        ("AJ Thompson", 5),
        ("Oscar S.", 3),
    ]
    assert month["total"] == 108


@time_machine.travel(NOW, tick=False)
def test_a_custom_range_is_inclusive_and_called_custom(api, team):
    closures(date(2026, 11, 1), oscar=1)
    closures(date(2026, 11, 10), oscar=2)
    closures(date(2026, 11, 11), oscar=4)

    answer = api.get("/api/tickets/closures/period?start=2026-11-01&end=2026-11-10").json()

    assert (answer["period"], answer["start"], answer["end"], answer["total"]) == (
        "custom",
        "2026-11-01",
        "2026-11-10",
        3,
    )


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("period=fortnight", "use one of today, yesterday, last_workday, week, month"),
        ("start=2026-02-30&end=2026-03-01", "YYYY-MM-DD"),
        ("start=26/11/2026&end=2026-11-26", "YYYY-MM-DD"),
        ("start=2026-11-01", "start and end go together"),
        ("end=2026-11-01", "start and end go together"),
        ("start=2026-11-10&end=2026-11-01", "backwards"),
        ("start=2025-01-01&end=2026-01-02", "at most 366"),
        ("period=week&start=2026-11-01&end=2026-11-02", "either period or start and end"),
    ],
)
def test_bad_periods_are_refused_with_a_message_naming_what_is_allowed(api, query, message):
    for path in ("closures/period", "closures/export.csv"):
        response = api.get(f"/api/tickets/{path}?{query}", HTTP_ACCEPT="application/json")

        assert response.status_code == 400
        assert message in str(response.json())


def test_a_range_of_exactly_366_days_is_allowed(api):
    response = api.get("/api/tickets/closures/period?start=2024-01-01&end=2024-12-31")

    assert response.status_code == 200


@time_machine.travel(NOW, tick=False)
def test_the_csv_export_has_one_row_per_agent_per_day_summing_to_the_json(api, team):
    closures(date(2026, 11, 23), oscar=2, aj=1)
    closures(date(2026, 11, 26), oscar=1, aj=4, nobody=2)
    closures(date(2026, 11, 20), oscar=7)
    FreshworksUserMapping.objects.create(freshworks_user_id=NOBODY, freshworks_username="=cmd()")

    response = api.get("/api/tickets/closures/export.csv?period=week")
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    week = api.get("/api/tickets/closures/period?period=week").json()

    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert 'filename="closures-2026-11-23-2026-11-26.csv"' in response["Content-Disposition"]
    assert [(r["date"], r["name"], r["username"], r["tickets_closed"]) for r in rows] == [
        ("2026-11-23", "Oscar S.", "oscar.solis", "2"),
        ("2026-11-23", "AJ Thompson", "", "1"),
        ("2026-11-26", "AJ Thompson", "", "4"),
        ("2026-11-26", "'=cmd()", "", "2"),  # a formula is neutralised for spreadsheets
        ("2026-11-26", "Oscar S.", "oscar.solis", "1"),
    ]
    assert sum(int(r["tickets_closed"]) for r in rows) == week["total"]


# --- sync ----------------------------------------------------------------------------------------


@pytest.fixture
def upstream(requests_mock, fresh) -> FakeFreshservice:
    fake = FakeFreshservice(requests_mock)
    fake.put(
        make_ticket(
            id=1,
            responder_id=OSCAR,
            updated_at="2026-11-26T14:00:00Z",
            resolved_at="2026-11-26T14:00:00Z",
            closed_at="2026-11-26T14:00:00Z",
        )
    )
    return fake


@time_machine.travel(NOW, tick=False)
def test_a_sync_answers_what_it_did_and_when_the_next_is_allowed(api, upstream):
    response = api.post("/api/tickets/sync", {}, format="json")

    assert response.status_code == 200
    assert response.json() == {
        "synced": True,
        "date": "2026-11-26",
        "tickets_processed": 1,
        # The team's group (read once a day), one page of tickets, and the agent list (active,
        # inactive) for the agent it did not know.
        "api_calls": 1 + 1 + 2,
        "next_sync_at": "2026-11-26T11:00:00-05:00",
    }
    assert (upstream.group_reads, upstream.list_calls, upstream.agent_calls) == (1, 1, 2)
    assert SyncRun.objects.get().trigger == "button"
    assert TicketClosure.objects.get().tickets_closed == 1


@time_machine.travel(NOW, tick=False)
def test_a_sync_accepts_its_date_as_json_or_as_a_form(api, upstream):
    assert api.post("/api/tickets/sync/", {"date": "2026-11-26"}, format="json").status_code == 200
    assert api.post("/api/tickets/sync", {"date": "2026-11-25"}).status_code == 200

    assert list(SyncRun.objects.order_by("pk").values_list("first_date", flat=True)) == [
        date(2026, 11, 26),
        date(2026, 11, 25),
    ]


@time_machine.travel(NOW, tick=False)
def test_a_rate_limited_sync_answers_429_with_retry_after_and_calls_nobody(api, upstream):
    api.post("/api/tickets/sync")
    with time_machine.travel(NOW + timedelta(minutes=20, seconds=30), tick=False):
        response = api.post("/api/tickets/sync")

    assert response.status_code == 429
    assert response["Retry-After"] == "2370"  # 39 min 30 s, until 11:00
    body = response.json()
    assert {key: body[key] for key in body if key != "detail"} == {
        "synced": False,
        "rate_limited": True,
        "date": "2026-11-26",
        "minutes_until_next_sync": 40,
        "next_sync_at": "2026-11-26T11:00:00-05:00",
    }
    assert upstream.calls == 2  # the first sync's: the group, then one page


@time_machine.travel(NOW, tick=False)
def test_a_sync_while_another_runs_answers_429_in_progress(api, upstream):
    SyncLease.objects.filter(name="sync").update(
        holder="other", expires_at=NOW + timedelta(minutes=5)
    )

    response = api.post("/api/tickets/sync")

    assert response.status_code == 429
    assert response.json()["in_progress"] is True
    assert response.json()["synced"] is False
    assert upstream.calls == 0


@pytest.mark.parametrize(("status_code", "reason"), [(401, "API key"), (500, "HTTP 500")])
@time_machine.travel(NOW, tick=False)
def test_a_failing_freshservice_answers_502_with_the_reason_and_changes_nothing(
    api, requests_mock, fresh, status_code, reason
):
    requests_mock.get(f"{ENDPOINT}tickets", status_code=status_code)

    response = api.post("/api/tickets/sync")

    assert response.status_code == 502
    assert response.json()["synced"] is False
    assert reason in response.json()["detail"]
    assert not TicketClosure.objects.exists()
    assert not TicketSyncMetadata.objects.exists()


@time_machine.travel(NOW, tick=False)
def test_a_request_waits_at_most_20_seconds_on_retry_after(api, requests_mock, fresh, sleeps):
    requests_mock.get(
        f"{ENDPOINT}tickets",
        [
            {"status_code": 429, "headers": {"Retry-After": "15"}},
            {"status_code": 429, "headers": {"Retry-After": "15"}},
            {"json": {"tickets": []}},
        ],
    )

    response = api.post("/api/tickets/sync")

    assert response.status_code == 502
    assert "rate limit" in response.json()["detail"]
    assert sleeps == [15]


@time_machine.travel(NOW, tick=False)
def test_an_unconfigured_sync_answers_503_naming_what_is_missing(api):
    response = api.post("/api/tickets/sync")

    assert response.status_code == 503
    assert "FRESH_API" in response.json()["detail"]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"date": "2026-02-30"}, "YYYY-MM-DD"),
        ({"date": "tomorrow"}, "YYYY-MM-DD"),
        ({"date": "2026-11-27"}, "future"),
        ({"date": "1999-12-31"}, "before 2000-01-01"),
        ({"date": 20261126}, "YYYY-MM-DD"),
    ],
)
@time_machine.travel(NOW, tick=False)
def test_a_bad_sync_date_is_refused_with_400(manager_api, upstream, body, message):
    for path in ("sync", "force-sync"):
        response = manager_api.post(f"/api/tickets/{path}", body, format="json")

        assert response.status_code == 400
        assert message in str(response.json())
    assert upstream.calls == 0


@time_machine.travel(NOW, tick=False)
def test_a_plain_user_may_not_sync_an_older_date(api, upstream):
    response = api.post("/api/tickets/sync", {"date": "2026-11-24"}, format="json")

    assert response.status_code == 403
    assert "tickets.force_sync" in response.json()["detail"]
    assert upstream.calls == 0


@time_machine.travel(NOW, tick=False)
def test_force_sync_skips_the_rate_limit(manager_api, upstream):
    manager_api.post("/api/tickets/sync")

    response = manager_api.post("/api/tickets/force-sync", {"date": "2026-11-26"}, format="json")

    assert response.status_code == 200
    assert upstream.list_calls == 2
    assert SyncRun.objects.order_by("pk").last().trigger == "force"


# --- status and statistics -------------------------------------------------------------------


@time_machine.travel(NOW, tick=False)
def test_sync_status_says_whether_and_when_a_date_may_sync(api):
    TicketSyncMetadata.objects.create(
        sync_date=TODAY, last_sync_time=NOW - timedelta(minutes=15, seconds=20), sync_count=3
    )

    today = api.get("/api/tickets/sync-status").json()
    yesterday = api.get("/api/tickets/sync-status?date=2026-11-25").json()

    assert today == {
        "date": "2026-11-26",
        "last_sync_time": "2026-11-26T09:44:40-05:00",
        "can_sync": False,
        "next_sync_at": "2026-11-26T10:44:00-05:00",
        "minutes_until_next_sync": 44,
        "sync_count": 3,
    }
    assert yesterday == {
        "date": "2026-11-25",
        "last_sync_time": None,
        "can_sync": True,
        "next_sync_at": None,
        "minutes_until_next_sync": 0,
        "sync_count": 0,
    }


@time_machine.travel(NOW, tick=False)
def test_top_performers_ranks_a_date_and_honours_the_limit(api, team):
    closures(date(2026, 11, 25), oscar=3, aj=5, cole=4)
    closures(TODAY, oscar=10)

    answer = api.get("/api/tickets/top-performers?date=2026-11-25&limit=2").json()
    default = api.get("/api/tickets/top-performers").json()

    assert answer["date"] == "2026-11-25"
    assert [p["name"] for p in answer["performers"]] == ["AJ Thompson", "Cole O'Grady"]
    assert default["date"] == "2026-11-26"
    assert [p["tickets_closed"] for p in default["performers"]] == [10]


@pytest.mark.parametrize("limit", ["0", "-1", "101", "99999999999999999999", "five", "2.5"])
def test_top_performers_refuses_a_limit_outside_1_to_100(api, limit):
    response = api.get(f"/api/tickets/top-performers?limit={limit}")

    assert response.status_code == 400
    assert "1 to 100" in str(response.json())


@pytest.mark.parametrize("path", ["top-performers?date=2026-13-01", "sync-status?date=nope"])
def test_a_bad_date_in_a_query_is_refused(api, path):
    response = api.get(f"/api/tickets/{path}")

    assert response.status_code == 400
    assert "YYYY-MM-DD" in str(response.json())


def test_stats_over_all_stored_closures(api, team):
    closures(date(2026, 11, 2), oscar=3, aj=1)
    closures(date(2026, 11, 5), oscar=4, aj=4, nobody=1)
    closures(date(2026, 11, 9), cole=2)

    assert api.get("/api/tickets/stats").json() == {
        "total_tickets_closed": 15,
        "days_with_data": 3,
        "agents_tracked": 4,
        "first_date": "2026-11-02",
        "last_date": "2026-11-09",
        "average_per_day": 5.0,
        "average_per_workday": 2.5,  # 15 over Mon 2 .. Mon 9 November: 6 workdays
        "best_day": {"date": "2026-11-05", "tickets_closed": 9},
    }


def test_stats_of_an_empty_database(api):
    assert api.get("/api/tickets/stats").json() == {
        "total_tickets_closed": 0,
        "days_with_data": 0,
        "agents_tracked": 0,
        "first_date": None,
        "last_date": None,
        "average_per_day": 0.0,
        "average_per_workday": 0.0,
        "best_day": None,
    }


def run(started: datetime, *, status: str = "success", first: date = TODAY, processed: int = 0):
    return SyncRun.objects.create(
        first_date=first,
        last_date=first,
        trigger="schedule",
        status=status,
        started_at=started,
        finished_at=started + timedelta(seconds=3),
        tickets_processed=processed,
        api_calls=1,
        error="" if status == "success" else "Freshservice rejected the API key (401)",
    )


@time_machine.travel(NOW, tick=False)
def test_admin_stats_report_sync_health_database_and_recent_activity(manager_api, team, agent):
    run(datetime(2026, 11, 25, 22, 0, tzinfo=UTC), processed=7)  # 17:00 yesterday in New York
    run(datetime(2026, 11, 26, 13, 0, 2, tzinfo=UTC), processed=4)  # 08:00 today
    run(datetime(2026, 11, 26, 14, 0, tzinfo=UTC), status="failed")
    run(datetime(2026, 11, 26, 14, 30, 40, tzinfo=UTC), processed=2, first=date(2026, 11, 20))
    closures(TODAY, oscar=1, nobody=2)
    closures(date(2026, 11, 25), aj=3)
    TicketClosure.objects.create(freshworks_user_id=1998, date=TODAY, tickets_closed=1)

    answer = manager_api.get("/api/tickets/admin-stats").json()

    assert answer["sync_status"] == {
        "last_sync_time": "2026-11-26T09:30:40-05:00",
        "next_sync_at": None,  # today last synced at 08:00:02; allowed again from 09:00
        "next_scheduled_sync": "2026-11-26T11:00:00-05:00",
        "syncs_today": 2,
        "tickets_processed_today": 6,
        "stale": False,
    }
    assert answer["database"] == {
        "total_records": 4,
        "mapped_users": 1,
        "unmapped_agents": 2,
        "unlinked_agents": 3,  # AJ has a name but no local user
        "days_with_data": 2,
        "total_sync_operations": 4,
    }
    activity = answer["recent_activity"]
    assert [entry["started_at"] for entry in activity] == [
        "2026-11-26T09:30:40-05:00",
        "2026-11-26T09:00:00-05:00",
        "2026-11-26T08:00:02-05:00",
        "2026-11-25T17:00:00-05:00",
    ]
    assert activity[1] == {
        "started_at": "2026-11-26T09:00:00-05:00",
        "finished_at": "2026-11-26T09:00:03-05:00",
        "sync_date": "2026-11-26",
        "first_date": "2026-11-26",
        "last_date": "2026-11-26",
        "trigger": "schedule",
        "status": "failed",
        "tickets_processed": 0,
        "api_calls": 1,
        "credits": 0,
        "error": "Freshservice rejected the API key (401)",
    }


@time_machine.travel(NOW, tick=False)
def test_admin_stats_show_only_the_last_ten_syncs(manager_api):
    for minutes in range(12):
        run(NOW - timedelta(minutes=minutes))

    activity = manager_api.get("/api/tickets/admin-stats").json()["recent_activity"]

    assert len(activity) == 10
    assert activity[0]["started_at"] == "2026-11-26T10:00:00-05:00"


@pytest.mark.parametrize(
    ("last_sync", "now", "stale"),
    [
        (None, NOW, True),
        # 0 8-18 * * *, at 10:00: fresh while a sync began since 08:00 (the 09:00 one may have
        # been refused because someone synced at 08:59:30); stale when none did
        (datetime(2026, 11, 26, 12, 59, tzinfo=UTC), NOW, True),
        (datetime(2026, 11, 26, 13, 59, 30, tzinfo=UTC), NOW, False),
        (datetime(2026, 11, 26, 14, 0, 41, tzinfo=UTC), NOW, False),
        # overnight: at 07:00 the last run due was 18:00 yesterday
        (
            datetime(2026, 11, 25, 23, 0, 30, tzinfo=UTC),
            datetime(2026, 11, 26, 12, 0, tzinfo=UTC),
            False,
        ),
        # the 08:00 and 09:00 runs missed: fresh until the 10:00 one is due too
        (
            datetime(2026, 11, 25, 23, 0, 30, tzinfo=UTC),
            datetime(2026, 11, 26, 14, 59, tzinfo=UTC),
            False,
        ),
        (
            datetime(2026, 11, 25, 23, 0, 30, tzinfo=UTC),
            datetime(2026, 11, 26, 15, 1, tzinfo=UTC),
            True,
        ),
    ],
)
def test_the_data_is_stale_when_two_scheduled_syncs_were_missed(manager_api, last_sync, now, stale):
    if last_sync:
        run(last_sync)

    with time_machine.travel(now, tick=False):
        answer = manager_api.get("/api/tickets/admin-stats").json()
        health = APIClient().get("/healthz")

    assert answer["sync_status"]["stale"] is stale
    assert health.json()["stale"] is stale
    assert health.status_code == (503 if stale else 200)


# --- cost ----------------------------------------------------------------------------------------


@pytest.fixture(scope="class")
def big_history(django_db_setup, django_db_blocker):
    """300 agents x 90 days of closures, every agent named in IDs.txt.

    27,000 rows: written once for the class and rolled back after its last test; each test runs
    in a savepoint inside this transaction, as every database test does.
    """
    with django_db_blocker.unblock(), transaction.atomic():
        users = User.objects.bulk_create(User(username=f"agent{n}") for n in range(300))
        FreshworksUserMapping.objects.bulk_create(
            FreshworksUserMapping(
                freshworks_user_id=5000 + n, freshworks_username=f"Agent N{n}", user=u
            )
            for n, u in enumerate(users)
        )
        TicketClosure.objects.bulk_create(
            TicketClosure(
                freshworks_user_id=5000 + n,
                date=TODAY - timedelta(days=d),
                tickets_closed=1 + n % 7,
            )
            for n in range(300)
            for d in range(90)
        )
        run(NOW - timedelta(minutes=5))
        yield
        transaction.set_rollback(True)


class TestWithABigHistory:
    @pytest.mark.parametrize(
        "path",
        [
            "closures/today",
            "closures/period?period=month",
            "closures/period?start=2026-08-29&end=2026-11-26",
            "closures/export.csv?start=2026-08-29&end=2026-11-26",
            "sync-status",
            "top-performers?limit=100",
            "stats",
            "admin-stats",
        ],
    )
    @time_machine.travel(NOW, tick=False)
    def test_every_read_makes_at_most_five_queries_whatever_the_data(
        self, big_history, superuser, path, django_assert_max_num_queries
    ):
        assert TicketClosure.objects.count() == 300 * 90
        client = APIClient()
        client.force_authenticate(superuser)  # no session or permission queries

        # closures: the ETag's data version, the counts, the names, the last sync, a backfill
        # under way (a streamed body queries as it is read)
        with django_assert_max_num_queries(5):
            response = client.get(f"/api/tickets/{path}")
            body = b"".join(response.streaming_content) if response.streaming else response.content

        assert response.status_code == 200
        if path.startswith("closures/export.csv"):
            assert body.count(b"\n") == 300 * 90 + 1


def test_the_big_history_is_gone_after_its_tests():
    assert not TicketClosure.objects.exists()
    assert not User.objects.filter(username__startswith="agent").exists()


def test_the_browsable_api_renders_for_a_browser(api):
    response = api.get("/api/tickets/closures/today", HTTP_ACCEPT="text/html")

    assert response.status_code == 200
    assert "Django REST framework" in response.content.decode()


def test_refreshing_mappings_reports_matches_and_relinks(manager_api, agent, settings, tmp_path):
    ids = tmp_path / "IDs.txt"
    ids.write_text("Oscar S. - 1001\nNobody Known - 1002\nbroken line\n")
    settings.FRESH_IDS_FILE = str(ids)
    TicketClosure.objects.create(freshworks_user_id=OSCAR, date=TODAY, tickets_closed=2)

    answer = manager_api.post("/api/tickets/refresh-mappings").json()

    assert [(m["name"], m["username"]) for m in answer["matched"]] == [("Oscar S.", "oscar.solis")]
    assert [m["name"] for m in answer["unmatched"]] == ["Nobody Known"]
    assert answer["problems"][0]["line"] == 3
    assert answer["relinked_closures"] == 1
    assert TicketClosure.objects.get().user == agent


def test_refreshing_mappings_from_a_missing_file_changes_nothing(manager_api, settings, tmp_path):
    settings.FRESH_IDS_FILE = str(tmp_path / "missing.txt")
    FreshworksUserMapping.objects.create(freshworks_user_id=OSCAR, freshworks_username="Oscar S.")

    response = manager_api.post("/api/tickets/refresh-mappings")

    assert response.status_code == 422
    assert "missing.txt" in response.json()["detail"]
    assert FreshworksUserMapping.objects.count() == 1


def test_a_plain_user_may_not_refresh_mappings(api):
    assert api.post("/api/tickets/refresh-mappings").status_code == 403


def test_the_last_representable_date_is_answered_not_crashed_on(api):
    assert api.get("/api/tickets/sync-status?date=9999-12-31").status_code == 200
    assert api.get("/api/tickets/top-performers?date=9999-12-31").status_code == 200
    assert (
        api.get("/api/tickets/closures/period?start=9999-12-01&end=9999-12-31").status_code == 200
    )
