"""Teams (SPEC §16.5): several agent groups, each a team; a ticket counts for the group it is in.

Two teams are configured here: the Service Desk (GROUP_ID) and Facilities (OTHER_GROUP_ID), both
known to the stand-in. All times are UTC (TIME_ZONE=UTC), on fixed days.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from django.core.exceptions import ImproperlyConfigured
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from demo.freshservice.world import OTHER_GROUP_ID
from tests.account import answer_account
from tests.conftest import ENDPOINT, GROUP_ID
from tests.freshservice_data import make_group, make_ticket
from tests.upstream import FakeFreshservice
from tickets import selectors
from tickets.models import ClosedTicket, FreshworksUserMapping, SyncRun, TicketClosure
from tickets.services.data_version import bump_data_version
from tickets.services.sync import SyncFailed, sync_closures

pytestmark = pytest.mark.django_db

DESK, FACILITIES, ELSEWHERE = GROUP_ID, OTHER_GROUP_ID, 18000299999
OSCAR, AJ, COLE = 1001, 1002, 1003
NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
DAY_BEFORE, TODAY = date(2026, 11, 25), date(2026, 11, 26)


@pytest.fixture(autouse=True)
def in_utc(settings) -> None:
    settings.TIME_ZONE = "UTC"


@pytest.fixture(autouse=True)
def at_now() -> Iterator[None]:
    with time_machine.travel(NOW, tick=False):
        yield


def closed(ticket_id: int, at: str, responder: int, group: int) -> dict:
    """A ticket in `group` resolved and closed at `at` (UTC), last updated then too."""
    return make_ticket(
        id=ticket_id,
        responder_id=responder,
        group_id=group,
        resolved_at=at,
        closed_at=at,
        updated_at=at,
    )


@pytest.fixture
def upstream(requests_mock, fresh) -> FakeFreshservice:
    fresh.FRESH_GROUP_ID = (DESK, FACILITIES)
    upstream = FakeFreshservice(requests_mock)
    upstream.put(
        closed(1, "2026-11-26T09:00:00Z", OSCAR, DESK),
        closed(2, "2026-11-26T09:10:00Z", OSCAR, DESK),
        closed(3, "2026-11-26T09:20:00Z", AJ, DESK),
        closed(4, "2026-11-25T15:00:00Z", OSCAR, DESK),
        closed(5, "2026-11-26T10:00:00Z", OSCAR, FACILITIES),
        closed(6, "2026-11-26T10:10:00Z", COLE, FACILITIES),
        closed(7, "2026-11-25T16:00:00Z", COLE, FACILITIES),
        closed(8, "2026-11-26T10:20:00Z", AJ, ELSEWHERE),  # a group not configured
    )
    FreshworksUserMapping.objects.create(freshworks_user_id=OSCAR, freshworks_username="Oscar S.")
    FreshworksUserMapping.objects.create(freshworks_user_id=AJ, freshworks_username="AJ T.")
    FreshworksUserMapping.objects.create(freshworks_user_id=COLE, freshworks_username="Cole W.")
    return upstream


def sync(**kwargs):
    kwargs.setdefault("trigger", SyncRun.Trigger.COMMAND)
    kwargs.setdefault("first", DAY_BEFORE)
    kwargs.setdefault("last", TODAY)
    return sync_closures(**kwargs)


def per_agent(team: int | None = None) -> dict[int, int]:
    summary = selectors.closures_for_period(start=DAY_BEFORE, end=TODAY, team=team)
    return {entry.freshworks_user_id: entry.tickets_closed for entry in summary.closures}


@pytest.fixture
def api(plain_user) -> APIClient:
    client = APIClient()
    client.force_login(plain_user)
    return client


# --- the sync -----------------------------------------------------------------------------------


def test_two_teams_sum_to_the_whole_per_agent_and_in_total(upstream):
    sync()

    # One list call for both groups; each group read once (its name and workspace).
    assert (upstream.list_calls, upstream.group_reads) == (1, 2)
    desk, facilities, everyone = per_agent(DESK), per_agent(FACILITIES), per_agent()
    assert desk == {OSCAR: 3, AJ: 1}
    assert facilities == {OSCAR: 1, COLE: 2}
    assert everyone == {OSCAR: 4, AJ: 1, COLE: 2}  # ticket 8 is in no configured group
    for agent in everyone:
        assert desk.get(agent, 0) + facilities.get(agent, 0) == everyone[agent]
    totals = {
        team: selectors.closures_for_period(start=DAY_BEFORE, end=TODAY, team=team).total
        for team in (DESK, FACILITIES, None)
    }
    assert totals == {DESK: 4, FACILITIES: 3, None: 7}
    # One row per agent, day and group.
    assert set(
        TicketClosure.objects.values_list(
            "freshworks_user_id", "date", "group_id", "tickets_closed"
        )
    ) == {
        (OSCAR, TODAY, DESK, 2),
        (AJ, TODAY, DESK, 1),
        (OSCAR, DAY_BEFORE, DESK, 1),
        (OSCAR, TODAY, FACILITIES, 1),
        (COLE, TODAY, FACILITIES, 1),
        (COLE, DAY_BEFORE, FACILITIES, 1),
    }


def test_the_group_names_are_read_once_a_day_for_each_team(upstream):
    sync()
    with time_machine.travel(NOW + timedelta(hours=1), tick=False):
        sync(first=TODAY, last=TODAY)

    assert upstream.group_reads == 2
    assert [(team.id, team.name) for team in selectors.teams()] == [
        (DESK, "Service Desk"),
        (FACILITIES, "Facilities"),
    ]


def move_then_sync_an_hour_later(upstream, ticket: dict, group: int) -> None:
    """`ticket` put into `group` at 12:30 UTC, then today synced at 13:00."""
    moved = closed(ticket["id"], ticket["stats"]["resolved_at"], ticket["responder_id"], group)
    moved["updated_at"] = "2026-11-26T12:30:00Z"
    upstream.put(moved)
    with time_machine.travel(NOW + timedelta(hours=1), tick=False):
        sync(first=TODAY, last=TODAY)


def test_a_ticket_moved_between_two_teams_moves_its_closure(upstream):
    sync()

    move_then_sync_an_hour_later(upstream, upstream.tickets[1], FACILITIES)

    assert ClosedTicket.objects.get(ticket_id=1).group_id == FACILITIES
    assert per_agent(DESK) == {OSCAR: 2, AJ: 1}
    assert per_agent(FACILITIES) == {OSCAR: 2, COLE: 2}
    assert per_agent() == {OSCAR: 4, AJ: 1, COLE: 2}  # the whole did not change


def test_a_ticket_moved_to_a_group_not_configured_stops_counting(upstream):
    sync()

    move_then_sync_an_hour_later(upstream, upstream.tickets[5], ELSEWHERE)

    assert not ClosedTicket.objects.filter(ticket_id=5).exists()
    assert per_agent(FACILITIES) == {COLE: 2}
    assert per_agent() == {OSCAR: 3, AJ: 1, COLE: 2}


def test_a_second_group_the_account_does_not_have_fails_the_sync_naming_it(upstream):
    upstream.remove_group(FACILITIES)

    with pytest.raises(SyncFailed) as failed:
        sync()

    assert f"no agent group {FACILITIES}" in str(failed.value)
    assert "FRESH_GROUP_ID" in str(failed.value)
    assert upstream.list_calls == 0
    assert not ClosedTicket.objects.exists()
    assert not TicketClosure.objects.exists()
    assert SyncRun.objects.get().status == SyncRun.Status.FAILED


def test_groups_in_two_workspaces_need_every_workspace_listed(upstream, settings):
    upstream.move_group(5, FACILITIES)

    with pytest.raises(SyncFailed) as failed:
        sync()

    assert "different workspaces" in str(failed.value)
    assert "FRESH_WORKSPACE_ID=0" in str(failed.value)
    assert not ClosedTicket.objects.exists()


# --- the API ------------------------------------------------------------------------------------


def test_the_closures_answer_names_the_team_asked_for_and_every_team(upstream, api):
    sync()
    query = "/api/tickets/closures/period?start=2026-11-25&end=2026-11-26"

    everyone = api.get(query).json()
    facilities = api.get(f"{query}&team={FACILITIES}").json()

    teams = [{"id": DESK, "name": "Service Desk"}, {"id": FACILITIES, "name": "Facilities"}]
    assert (everyone["team"], everyone["teams"], everyone["total"]) == (None, teams, 7)
    assert (facilities["team"], facilities["teams"]) == (teams[1], teams)
    assert [(e["name"], e["tickets_closed"]) for e in facilities["closures"]] == [
        ("Cole W.", 2),
        ("Oscar S.", 1),
    ]
    today = api.get(f"/api/tickets/closures/today?team={DESK}").json()
    assert (today["total"], today["top_closer"]["name"]) == (3, "Oscar S.")


def test_an_empty_team_parameter_means_every_team(upstream, api):
    sync()

    answer = api.get("/api/tickets/closures/today?team=").json()

    assert answer["total"] == 5


@pytest.mark.parametrize(
    "path",
    [
        "/api/tickets/closures/today",
        "/api/tickets/closures/period?period=week",
        "/api/tickets/closures/export.csv?period=week",
        "/api/tickets/stats",
        "/api/tickets/top-performers",
    ],
)
@pytest.mark.parametrize("team", [str(ELSEWHERE), "ops", "-1", "1e3"])
def test_a_team_not_configured_is_a_400_naming_the_teams_there_are(upstream, api, path, team):
    sync()
    before = list(TicketClosure.objects.values_list())
    joiner = "&" if "?" in path else "?"

    response = api.get(f"{path}{joiner}team={team}", HTTP_ACCEPT="application/json")

    assert response.status_code == 400
    assert response.json() == {
        "team": [
            f'Unknown team "{team}": use one of {DESK} (Service Desk), {FACILITIES} (Facilities).'
        ]
    }
    assert list(TicketClosure.objects.values_list()) == before


def test_without_any_group_configured_a_team_is_a_400_saying_so(api, settings):
    settings.FRESH_GROUP_ID = ()

    response = api.get(f"/api/tickets/closures/today?team={DESK}")

    assert response.status_code == 400
    assert response.json() == {
        "team": [f'Unknown team "{DESK}": no team is configured (FRESH_GROUP_ID).']
    }


def test_stats_top_performers_and_export_take_a_team(upstream, api):
    sync()

    stats = api.get(f"/api/tickets/stats?team={FACILITIES}").json()
    top = api.get(f"/api/tickets/top-performers?date=2026-11-26&team={DESK}").json()
    everyone = api.get("/api/tickets/stats").json()
    export = api.get(
        f"/api/tickets/closures/export.csv?start=2026-11-25&end=2026-11-26&team={DESK}"
    )
    whole = api.get("/api/tickets/closures/export.csv?start=2026-11-25&end=2026-11-26")

    assert (stats["total_tickets_closed"], stats["agents_tracked"]) == (3, 2)
    assert stats["best_day"] == {"date": "2026-11-26", "tickets_closed": 2}
    assert (everyone["total_tickets_closed"], everyone["agents_tracked"]) == (7, 3)
    assert [(p["name"], p["tickets_closed"]) for p in top["performers"]] == [
        ("Oscar S.", 2),
        ("AJ T.", 1),
    ]
    assert f"closures-2026-11-25-2026-11-26-team-{DESK}.csv" in export["Content-Disposition"]
    rows = [row[:2] + row[4:] for row in csv_rows(export)]
    assert rows == [
        ["2026-11-25", str(OSCAR), "1"],
        ["2026-11-26", str(OSCAR), "2"],
        ["2026-11-26", str(AJ), "1"],
    ]
    # Without a team, an agent's day in two teams is one row, summed.
    assert ["2026-11-26", str(OSCAR), "3"] in [row[:2] + row[4:] for row in csv_rows(whole)]


def csv_rows(response) -> list[list[str]]:
    text = b"".join(response.streaming_content).decode()
    return list(csv.reader(io.StringIO(text)))[1:]


def _closures(agents: int, days: int) -> None:
    TicketClosure.objects.bulk_create(
        TicketClosure(
            freshworks_user_id=5000 + agent,
            date=TODAY - timedelta(days=day),
            group_id=(DESK, FACILITIES)[agent % 2],
            tickets_closed=agent + 1,
        )
        for agent in range(agents)
        for day in range(days)
    )


@pytest.mark.parametrize(
    "path",
    [
        "/api/tickets/closures/period?start=2026-10-28&end=2026-11-26",
        "/api/tickets/stats",
        "/api/tickets/closures/export.csv?start=2026-10-28&end=2026-11-26",
    ],
)
@pytest.mark.parametrize("team", ["", f"&team={FACILITIES}"])
def test_the_query_count_does_not_grow_with_agents_days_or_teams(fresh, api, path, team):
    fresh.FRESH_GROUP_ID = (DESK, FACILITIES)
    joiner = "&" if "?" in path else "?"
    url = f"{path}{joiner}{team.lstrip('&')}"

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            response = api.get(url)
            if hasattr(response, "streaming_content"):
                b"".join(response.streaming_content)
            assert response.status_code == 200
        return len(captured)

    _closures(agents=2, days=1)
    few = queries()
    TicketClosure.objects.all().delete()
    _closures(agents=60, days=30)
    bump_data_version()  # as every write path does: a new answer, not the kept one
    many = queries()

    assert few == many


# --- the migration ------------------------------------------------------------------------------

BEFORE = [("tickets", "0005_repair_trigger")]
AFTER = [("tickets", "0006_teams")]


@pytest.fixture
def executor(transactional_db) -> Iterator[MigrationExecutor]:
    """Migrations run back to before teams; the database is migrated forward again after."""
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    yield executor
    with connection.cursor() as cursor:  # the rows a test left need no group to go forward
        cursor.execute("DELETE FROM tickets_ticketclosure")
        cursor.execute("DELETE FROM tickets_closedticket")
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())


def _old_rows(executor: MigrationExecutor) -> None:
    apps = executor.loader.project_state(BEFORE).apps
    apps.get_model("tickets", "ClosedTicket").objects.create(
        ticket_id=1,
        responder_id=OSCAR,
        status=5,
        closed_at=NOW,
        closure_date=TODAY,
        fetched_at=NOW,
    )
    apps.get_model("tickets", "TicketClosure").objects.create(
        freshworks_user_id=OSCAR, date=TODAY, tickets_closed=1
    )


def _migrate(executor: MigrationExecutor, targets) -> MigrationExecutor:
    executor.loader.build_graph()
    executor.migrate(targets)
    return MigrationExecutor(connection)


def _groups_after(executor: MigrationExecutor) -> tuple[list[int], list[int]]:
    apps = executor.loader.project_state(AFTER).apps
    return (
        list(apps.get_model("tickets", "ClosedTicket").objects.values_list("group_id", flat=True)),
        list(apps.get_model("tickets", "TicketClosure").objects.values_list("group_id", flat=True)),
    )


def test_the_migration_gives_existing_rows_the_one_configured_group(executor, settings):
    settings.FRESH_GROUP_ID = (DESK,)
    _old_rows(executor)

    after = _migrate(executor, AFTER)

    assert _groups_after(after) == ([DESK], [DESK])


def test_with_no_group_configured_the_migration_takes_the_group_a_sync_last_read(
    executor, settings
):
    settings.FRESH_GROUP_ID = ()
    _old_rows(executor)
    groups = executor.loader.project_state(BEFORE).apps.get_model("tickets", "FreshserviceGroup")
    groups.objects.create(group_id=FACILITIES, name="Facilities", fetched_at=NOW)

    after = _migrate(executor, AFTER)

    assert _groups_after(after) == ([FACILITIES], [FACILITIES])


def test_with_no_group_known_the_migration_stops_and_changes_nothing(executor, settings):
    settings.FRESH_GROUP_ID = ()
    _old_rows(executor)

    with pytest.raises(ImproperlyConfigured, match="Set FRESH_GROUP_ID"):
        _migrate(executor, AFTER)

    apps = executor.loader.project_state(BEFORE).apps
    assert apps.get_model("tickets", "TicketClosure").objects.count() == 1
    settings.FRESH_GROUP_ID = (DESK,)
    assert _groups_after(_migrate(MigrationExecutor(connection), AFTER)) == ([DESK], [DESK])


def test_the_migration_backwards_sums_an_agents_day_over_the_groups(executor, settings):
    settings.FRESH_GROUP_ID = (DESK, FACILITIES)
    after = _migrate(executor, AFTER)
    closures = after.loader.project_state(AFTER).apps.get_model("tickets", "TicketClosure")
    for group, count in ((DESK, 2), (FACILITIES, 3)):
        closures.objects.create(
            freshworks_user_id=OSCAR, date=TODAY, group_id=group, tickets_closed=count
        )

    before = _migrate(after, BEFORE)

    old = before.loader.project_state(BEFORE).apps.get_model("tickets", "TicketClosure")
    assert list(old.objects.values_list("freshworks_user_id", "tickets_closed")) == [(OSCAR, 5)]


# --- the connection check -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("second", "line", "problem"),
    [
        (
            {"json": make_group(id=FACILITIES, name="Facilities")},
            f"✓ More teams  Facilities ({FACILITIES})",
            None,
        ),
        (
            {"status_code": 404, "text": ""},
            f"✗ More teams  {FACILITIES}: no such agent group",
            f"Freshservice has no agent group {FACILITIES} (404 on /api/v2/groups/{FACILITIES}): "
            "check FRESH_GROUP_ID is the id of your team's agent group in this account.",
        ),
        (
            {"json": make_group(id=FACILITIES, name="Facilities", workspace_id=5)},
            f"✓ More teams  Facilities ({FACILITIES})",
            f"The agent groups of FRESH_GROUP_ID live in different workspaces ({DESK} (Service "
            f"Desk) in workspace 2; {FACILITIES} (Facilities) in workspace 5), and the sync lists "
            "tickets once for all of them: set FRESH_WORKSPACE_ID=0 to list every workspace.",
        ),
    ],
)
def test_the_connection_check_reads_every_teams_group(
    requests_mock, fresh, manage, second, line, problem
):
    fresh.FRESH_GROUP_ID = (DESK, FACILITIES)
    answer_account(requests_mock, group=make_group(name="Service Desk"))
    requests_mock.get(f"{ENDPOINT}groups/{FACILITIES}", **second)

    status, out, _ = manage("check_freshservice")

    assert line in out
    if problem is None:
        assert status == 0, out
    else:
        assert status == 1
        assert problem in out
