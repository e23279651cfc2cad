"""The trend and the tickets behind a number (SPEC §16.3, §16.4): `closures/daily` and
`closures/tickets`, against hand-computed answers, in Europe/Berlin (a DST change in October)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from rest_framework.test import APIClient

from tests import test_api
from tests.conftest import ENDPOINT
from tests.freshservice_data import make_ticket
from tests.upstream import FakeFreshservice
from tickets import selectors
from tickets.freshservice_config import FreshserviceConfig
from tickets.models import ClosedTicket, FreshworksUserMapping, SyncRun, TicketClosure
from tickets.services.sync import sync_closures

pytestmark = pytest.mark.django_db

# Thursday 26 November 2026, 16:00 in Berlin (15:00 UTC).
NOW = datetime(2026, 11, 26, 15, 0, tzinfo=UTC)
OSCAR, AJ, COLE, NOBODY = 1001, 1002, 1003, 1999
DAILY = "/api/tickets/closures/daily"
TICKETS = "/api/tickets/closures/tickets"


@pytest.fixture(autouse=True)
def berlin(settings):
    settings.TIME_ZONE = "Europe/Berlin"


@pytest.fixture(autouse=True)
def at_now() -> Iterator[None]:
    with time_machine.travel(NOW, tick=False):
        yield


api = test_api.api  # a plain user's logged-in client


@pytest.fixture
def names(db) -> None:
    """Three named agents; NOBODY has no name (shown as `Agent 1999`)."""
    for agent_id, name in [(OSCAR, "Oscar S."), (AJ, "AJ Thompson"), (COLE, "Cole O'Grady")]:
        FreshworksUserMapping.objects.create(freshworks_user_id=agent_id, freshworks_username=name)


def closures(day: str, **per_agent: int) -> None:
    ids = {"oscar": OSCAR, "aj": AJ, "cole": COLE, "nobody": NOBODY}
    for name, closed in per_agent.items():
        TicketClosure.objects.create(
            freshworks_user_id=ids[name], date=date.fromisoformat(day), tickets_closed=closed
        )


@pytest.fixture
def month_end(names) -> None:
    """Friday 30 October to Monday 2 November 2026, and a day either side that must not count."""
    closures("2026-10-29", aj=9)
    closures("2026-10-30", oscar=2, aj=1)
    # Saturday 31 October: nobody closed anything.
    closures("2026-11-01", cole=4)
    closures("2026-11-02", oscar=1, nobody=3)
    closures("2026-11-03", cole=9)


# --- closures/daily ---------------------------------------------------------------------------


def test_the_daily_answer_spans_a_month_end_with_every_day_and_its_zeros(api, month_end):
    response = api.get(DAILY, {"start": "2026-10-30", "end": "2026-11-02"})

    assert response.status_code == 200, response.content
    assert response.json() == {
        "start": "2026-10-30",
        "end": "2026-11-02",
        "days": ["2026-10-30", "2026-10-31", "2026-11-01", "2026-11-02"],
        "total": [3, 0, 4, 4],
        # Most closures first, then by name: "Agent 1999" before "Oscar S." at 3 each.
        "agents": [
            {"freshworks_user_id": COLE, "name": "Cole O'Grady", "counts": [0, 0, 4, 0]},
            {"freshworks_user_id": NOBODY, "name": "Agent 1999", "counts": [0, 0, 0, 3]},
            {"freshworks_user_id": OSCAR, "name": "Oscar S.", "counts": [2, 0, 0, 1]},
            {"freshworks_user_id": AJ, "name": "AJ Thompson", "counts": [1, 0, 0, 0]},
        ],
    }


def test_the_agents_come_in_the_order_of_the_closures_answer(api, month_end):
    query = {"start": "2026-10-30", "end": "2026-11-02"}
    period = api.get("/api/tickets/closures/period", query).json()

    daily = api.get(DAILY, query).json()

    assert [agent["freshworks_user_id"] for agent in daily["agents"]] == [
        entry["freshworks_user_id"] for entry in period["closures"]
    ]
    assert [sum(agent["counts"]) for agent in daily["agents"]] == [
        entry["tickets_closed"] for entry in period["closures"]
    ]
    assert sum(daily["total"]) == period["total"]


def test_an_agent_filter_keeps_the_whole_team_total(api, month_end):
    response = api.get(DAILY, {"start": "2026-10-30", "end": "2026-11-02", "agent": OSCAR})

    assert response.status_code == 200, response.content
    assert response.json()["total"] == [3, 0, 4, 4]
    assert response.json()["agents"] == [
        {"freshworks_user_id": OSCAR, "name": "Oscar S.", "counts": [2, 0, 0, 1]}
    ]


def test_an_agent_without_closures_or_unknown_gets_zeros_not_a_404(api, month_end):
    response = api.get(DAILY, {"start": "2026-10-30", "end": "2026-11-02", "agent": 4242})

    assert response.status_code == 200, response.content
    assert response.json()["agents"] == [
        {"freshworks_user_id": 4242, "name": "Agent 4242", "counts": [0, 0, 0, 0]}
    ]


def test_a_range_without_closures_is_all_zeros_and_no_agents(api, names):
    response = api.get(DAILY, {"start": "2026-11-20", "end": "2026-11-22"})

    assert response.json() == {
        "start": "2026-11-20",
        "end": "2026-11-22",
        "days": ["2026-11-20", "2026-11-21", "2026-11-22"],
        "total": [0, 0, 0],
        "agents": [],
    }


def test_a_named_period_works_as_in_the_closures_answer(api, names):
    closures("2026-11-23", aj=2)  # Monday of this week
    closures("2026-11-22", aj=5)  # last Sunday

    response = api.get(DAILY, {"period": "week"})

    assert response.json()["days"] == ["2026-11-23", "2026-11-24", "2026-11-25", "2026-11-26"]
    assert response.json()["total"] == [2, 0, 0, 0]


def test_a_leap_year_of_366_days_is_allowed(api, names):
    closures("2024-02-29", oscar=1)

    response = api.get(DAILY, {"start": "2024-01-01", "end": "2024-12-31"})

    assert response.status_code == 200, response.content
    body = response.json()
    assert len(body["days"]) == len(body["total"]) == 366
    assert body["days"][59] == "2024-02-29"
    assert body["total"][59] == 1
    assert sum(body["total"]) == 1


@pytest.mark.parametrize(
    ("path", "query", "says"),
    [
        (DAILY, {"start": "2025-11-25", "end": "2026-11-26"}, "367 days; at most 366"),
        (DAILY, {"start": "2026-11-26", "end": "2026-11-01"}, "backwards"),
        (DAILY, {"start": "2026-11-31", "end": "2026-12-01"}, "YYYY-MM-DD"),
        (DAILY, {"start": "2026-11-01"}, "start and end go together"),
        (DAILY, {"period": "fortnight"}, 'Unknown period "fortnight"'),
        (DAILY, {"period": "week", "agent": "oscar"}, "agent must be a Freshservice agent id"),
        (DAILY, {"period": "week", "agent": "0"}, "agent must be a Freshservice agent id"),
        (DAILY, {"period": "week", "agent": str(2**63)}, "agent must be a Freshservice agent id"),
        (TICKETS, {"start": "2026-11-01", "end": "2026-11-26"}, "agent is required"),
        (TICKETS, {"agent": OSCAR, "start": "2025-01-01", "end": "2026-11-26"}, "at most 366"),
        (TICKETS, {"agent": "-4", "period": "week"}, "agent must be a Freshservice agent id"),
    ],
)
def test_bad_input_is_answered_400_saying_what_is_wrong(api, path, query, says):
    response = api.get(path, query)

    assert response.status_code == 400
    assert says in str(response.json())


@pytest.mark.parametrize("path", [f"{DAILY}?period=week", f"{TICKETS}?agent=1&period=week"])
def test_anonymous_callers_are_refused(path):
    assert APIClient().get(path).status_code == 401


# --- closures/tickets ---------------------------------------------------------------------------


def closed(ticket_id: int, agent: int, at: str, *, status: int = 5) -> None:
    """A ClosedTicket closed at `at` (UTC); its day in Berlin computed by the test, not the app."""
    closed_at = datetime.fromisoformat(at).replace(tzinfo=UTC)
    berlin = closed_at + timedelta(
        hours=2 if closed_at < datetime(2026, 10, 25, 1, tzinfo=UTC) else 1
    )
    ClosedTicket.objects.create(
        ticket_id=ticket_id,
        responder_id=agent,
        status=status,
        closed_at=closed_at,
        closure_date=berlin.date(),
        fetched_at=NOW,
    )


def test_the_tickets_behind_a_count_come_newest_first_with_their_freshservice_links(
    api, names, fresh
):
    closed(71, OSCAR, "2026-11-02T08:00:00", status=4)
    closed(72, OSCAR, "2026-11-02T12:30:00")
    closed(70, OSCAR, "2026-10-30T09:15:00")
    closed(80, OSCAR, "2026-10-29T09:00:00")  # before the range
    closed(73, AJ, "2026-11-01T10:00:00")  # somebody else's

    response = api.get(TICKETS, {"agent": OSCAR, "start": "2026-10-30", "end": "2026-11-02"})

    assert response.status_code == 200, response.content
    assert response.json() == {
        "agent": {"freshworks_user_id": OSCAR, "name": "Oscar S."},
        "start": "2026-10-30",
        "end": "2026-11-02",
        "tickets": [
            {
                "ticket_id": 72,
                "closed_at": "2026-11-02T13:30:00+01:00",
                "closure_date": "2026-11-02",
                "status": 5,
                "status_label": "5 Closed",
                "url": "https://acme.freshservice.com/a/tickets/72",
            },
            {
                "ticket_id": 71,
                "closed_at": "2026-11-02T09:00:00+01:00",
                "closure_date": "2026-11-02",
                "status": 4,
                "status_label": "4 Resolved",
                "url": "https://acme.freshservice.com/a/tickets/71",
            },
            {
                "ticket_id": 70,
                "closed_at": "2026-10-30T10:15:00+01:00",
                "closure_date": "2026-10-30",
                "status": 5,
                "status_label": "5 Closed",
                "url": "https://acme.freshservice.com/a/tickets/70",
            },
        ],
        "count": 3,
        "truncated": False,
    }


def test_an_agent_without_tickets_or_unknown_gets_an_empty_list_not_a_404(api, names):
    response = api.get(TICKETS, {"agent": 4242, "period": "month"})

    assert response.status_code == 200, response.content
    assert response.json()["agent"] == {"freshworks_user_id": 4242, "name": "Agent 4242"}
    assert response.json()["tickets"] == []
    assert response.json()["count"] == 0


def test_a_long_list_is_cut_to_the_newest_and_says_how_many_there_are(api, names, monkeypatch):
    monkeypatch.setattr(selectors, "TICKETS_BEHIND_LIMIT", 2)
    for ticket_id, hour in [(1, 8), (2, 9), (3, 10), (4, 11)]:
        closed(ticket_id, OSCAR, f"2026-11-02T{hour:02}:00:00")

    body = api.get(TICKETS, {"agent": OSCAR, "start": "2026-11-02", "end": "2026-11-02"}).json()

    assert [ticket["ticket_id"] for ticket in body["tickets"]] == [4, 3]
    assert body["count"] == 4
    assert body["truncated"] is True


@pytest.mark.parametrize(
    ("endpoint", "origin"),
    [
        ("https://acme.freshservice.com/api/v2/", "https://acme.freshservice.com"),
        ("https://desk.example.org:8443/api/v2/", "https://desk.example.org:8443"),
        # The demo's stand-in, which answers /a/tickets/<id> with a page of its own.
        ("http://127.0.0.1:50123/api/v2/", "http://127.0.0.1:50123"),
    ],
)
def test_a_ticket_link_is_on_the_endpoints_origin(endpoint, origin):
    config = FreshserviceConfig(
        api_key="k",
        endpoint=endpoint,
        group_ids=(1,),
        workspace_id=None,
        closed_statuses=(4, 5),
        timeout=1,
        max_wait=1,
        ids_file="",
        demo=False,
    )

    assert config.ticket_url(12345) == f"{origin}/a/tickets/12345"


def test_without_an_endpoint_a_ticket_has_no_link(api, names, settings):
    settings.FRESH_ENDPOINT = ""
    closed(71, OSCAR, "2026-11-02T08:00:00")

    body = api.get(TICKETS, {"agent": OSCAR, "start": "2026-11-02", "end": "2026-11-02"}).json()

    assert body["tickets"][0]["url"] is None


# --- across the DST change, through a real sync ------------------------------------------------

# Berlin leaves summer time on Sunday 25 October 2026 at 01:00 UTC (03:00 CEST → 02:00 CET):
# that day has 25 hours, and 02:30 happens twice.
DST_TICKETS = [
    (501, OSCAR, "2026-10-24T21:59:00Z"),  # 23:59 CEST on the 24th
    (502, OSCAR, "2026-10-24T22:00:00Z"),  # 00:00 CEST on the 25th
    (505, AJ, "2026-10-25T00:30:00Z"),  # 02:30 CEST on the 25th, the first time
    (506, AJ, "2026-10-25T01:30:00Z"),  # 02:30 CET on the 25th, the second time
    (503, OSCAR, "2026-10-25T22:59:00Z"),  # 23:59 CET on the 25th
    (504, OSCAR, "2026-10-25T23:00:00Z"),  # 00:00 CET on the 26th
]


@pytest.fixture
def across_dst(names, requests_mock, fresh) -> None:
    upstream = FakeFreshservice(requests_mock)
    upstream.put(
        *(
            make_ticket(id=ticket_id, responder_id=agent, updated_at=at, resolved_at=at)
            for ticket_id, agent, at in DST_TICKETS
        )
    )
    sync_closures(
        first=date(2026, 10, 24),
        last=date(2026, 10, 26),
        trigger=SyncRun.Trigger.COMMAND,
        force=True,
    )


def test_the_daily_counts_follow_berlin_days_across_the_dst_change(api, across_dst):
    body = api.get(DAILY, {"start": "2026-10-24", "end": "2026-10-26"}).json()

    assert body["days"] == ["2026-10-24", "2026-10-25", "2026-10-26"]
    assert body["total"] == [1, 4, 1]
    assert body["agents"] == [
        {"freshworks_user_id": OSCAR, "name": "Oscar S.", "counts": [1, 2, 1]},
        {"freshworks_user_id": AJ, "name": "AJ Thompson", "counts": [0, 2, 0]},
    ]


def test_the_tickets_behind_the_dst_day_show_each_time_with_its_own_offset(api, across_dst):
    oscar = api.get(TICKETS, {"agent": OSCAR, "start": "2026-10-24", "end": "2026-10-26"}).json()
    aj = api.get(TICKETS, {"agent": AJ, "start": "2026-10-25", "end": "2026-10-25"}).json()

    assert [(t["ticket_id"], t["closed_at"], t["closure_date"]) for t in oscar["tickets"]] == [
        (504, "2026-10-26T00:00:00+01:00", "2026-10-26"),
        (503, "2026-10-25T23:59:00+01:00", "2026-10-25"),
        (502, "2026-10-25T00:00:00+02:00", "2026-10-25"),
        (501, "2026-10-24T23:59:00+02:00", "2026-10-24"),
    ]
    assert [(t["ticket_id"], t["closed_at"]) for t in aj["tickets"]] == [
        (506, "2026-10-25T02:30:00+01:00"),
        (505, "2026-10-25T02:30:00+02:00"),
    ]
    assert oscar["tickets"][0]["url"] == f"{ENDPOINT.removesuffix('api/v2/')}a/tickets/504"


def test_each_days_count_matches_the_tickets_listed_behind_it(api, across_dst):
    daily = api.get(DAILY, {"start": "2026-10-24", "end": "2026-10-26"}).json()

    for agent in daily["agents"]:
        for day, count in zip(daily["days"], agent["counts"], strict=True):
            query = {"agent": agent["freshworks_user_id"], "start": day, "end": day}
            assert len(api.get(TICKETS, query).json()["tickets"]) == count


# --- query counts: constant in agents and days ---------------------------------------------------


def history(agents: int, days: int) -> None:
    first = date(2026, 11, 26) - timedelta(days=days - 1)
    TicketClosure.objects.bulk_create(
        TicketClosure(
            freshworks_user_id=5000 + agent,
            date=first + timedelta(days=day),
            tickets_closed=1 + (agent + day) % 4,
        )
        for agent in range(agents)
        for day in range(days)
    )
    FreshworksUserMapping.objects.bulk_create(
        FreshworksUserMapping(freshworks_user_id=5000 + agent, freshworks_username=f"Agent {agent}")
        for agent in range(0, agents, 2)  # half of them named
    )
    ClosedTicket.objects.bulk_create(
        ClosedTicket(
            ticket_id=ticket,
            responder_id=5000,
            status=5,
            closed_at=NOW - timedelta(hours=ticket),
            closure_date=(NOW - timedelta(hours=ticket)).date(),
            fetched_at=NOW,
        )
        for ticket in range(1, days * 3)
    )


@pytest.mark.parametrize(("agents", "days"), [(3, 7), (60, 90)])
@pytest.mark.parametrize(
    ("path", "queries"),
    [
        # the data's version (the ETag), the per-day totals, the agents' rows, their names
        (DAILY, 4),
        (f"{DAILY}?agent=5001", 4),
        # the data's version, the tickets, the agent's name
        (f"{TICKETS}?agent=5000", 3),
    ],
)
def test_the_query_count_does_not_grow_with_agents_or_days(
    agents, days, path, queries, superuser, django_assert_num_queries
):
    history(agents, days)
    first = date(2026, 11, 26) - timedelta(days=days - 1)
    client = APIClient()
    client.force_authenticate(superuser)  # no session or permission queries
    separator = "&" if "?" in path else "?"

    with django_assert_num_queries(queries):
        response = client.get(f"{path}{separator}start={first}&end=2026-11-26")

    assert response.status_code == 200, response.content
    if path == DAILY:
        assert len(response.json()["agents"]) == agents
        assert len(response.json()["days"]) == days
