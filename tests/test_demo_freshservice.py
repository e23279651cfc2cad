"""The demo's stand-in Freshservice (demo.freshservice), driven by the real client over HTTP.

The world (generated tickets and the answer key), the API (served over loopback HTTP), the rate
budget, the faults the tests and benchmarks inject, and the server's lifecycle.
"""

from __future__ import annotations

import base64
import contextlib
import json
import math
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
import requests

from demo.freshservice.api import ApiRequest, FreshserviceApi
from demo.freshservice.server import FreshserviceServer
from demo.freshservice.world import (
    DEFAULT_GROUP_ID,
    ID_BLOCK,
    ID_EPOCH,
    World,
    generate_world,
)
from freshworks.client import (
    FreshserviceClient,
    FreshworksAuthError,
    FreshworksRateLimitError,
    FreshworksResponseError,
    FreshworksServerError,
    Ticket,
)
from freshworks.ids import parse_ids
from tests.freshservice_data import DATA_DIR, make_ticket
from tests.upstream import StandIn, serve_stand_in

API_KEY = "sim-test-key"
NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)  # a Thursday, mid-morning in New York


class Clock:
    """A clock a test moves by hand."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock(NOW)


@pytest.fixture
def make_sim(clock: Clock) -> Iterator[Callable[..., StandIn]]:
    with contextlib.ExitStack() as started:

        def make(**options: Any) -> StandIn:
            options = {"api_key": API_KEY, "days": 10, "clock": clock} | options
            return started.enter_context(serve_stand_in(**options))

        yield make


@pytest.fixture
def sim(make_sim) -> StandIn:
    return make_sim()


def world(**options: Any) -> World:
    """A generated world as on NOW's day (options as generate_world's)."""
    return generate_world(**({"today": NOW.date()} | options))


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def make_client(sim: StandIn, sleeps: list[float]) -> Callable[..., FreshserviceClient]:
    def make(**options: Any) -> FreshserviceClient:
        options = {
            "api_key": API_KEY,
            "endpoint": sim.endpoint,
            "timeout": 5,
            "sleep": sleeps.append,
            "allow_http": True,
        } | options
        return FreshserviceClient(**options)

    return make


def fetch(client: FreshserviceClient, since: datetime) -> list[Ticket]:
    return [ticket for page in client.iter_ticket_pages(updated_since=since) for ticket in page]


def get(sim: StandIn, auth: tuple[str, str] = (API_KEY, "X"), **params: Any):
    return requests.get(f"{sim.endpoint}tickets", params=params, auth=auth, timeout=5)


def updated_at(ticket: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(ticket["updated_at"])


# --- the list call ------------------------------------------------------------------------------


def test_the_client_pages_through_every_changed_ticket_100_at_a_time(sim, make_client):
    since = NOW - timedelta(days=7)
    expected = {t["id"] for t in sim.world.visible_tickets(now=NOW) if updated_at(t) >= since}
    client = make_client()

    tickets = fetch(client, since)

    assert len(expected) > 300
    assert [ticket.id for ticket in tickets] == sorted(expected, reverse=True)
    assert client.api_calls == math.ceil(len(expected) / 100)


def test_the_next_link_is_absent_exactly_when_the_page_holds_the_rest(sim):
    since = (NOW - timedelta(hours=8)).strftime("%Y-%m-%dT%H:%M:%SZ")
    total = len(get(sim, updated_since=since, per_page=100).json()["tickets"])
    assert 1 < total < 100

    whole = get(sim, updated_since=since, per_page=total)
    assert len(whole.json()["tickets"]) == total
    assert "next" not in whole.links

    first = get(sim, updated_since=since, per_page=total - 1)
    assert len(first.json()["tickets"]) == total - 1
    # Like the vendor's only documented example, the link names the next page and nothing else.
    assert first.links["next"]["url"] == f"{sim.endpoint}tickets?page=2"
    last = get(sim, updated_since=since, per_page=total - 1, page=2)
    assert len(last.json()["tickets"]) == 1
    assert "next" not in last.links


def test_following_the_link_as_given_reads_another_list(sim):
    # What SPEC §14.1 guards against: the link drops updated_since, include and per_page.
    since = (NOW - timedelta(hours=8)).strftime("%Y-%m-%dT%H:%M:%SZ")
    first = get(sim, updated_since=since, include="stats", per_page=5)

    followed = requests.get(first.links["next"]["url"], auth=(API_KEY, "X"), timeout=5)

    asked = get(sim, updated_since=since, include="stats", per_page=5, page=2)
    assert followed.json() != asked.json()
    assert all("stats" not in ticket for ticket in followed.json()["tickets"])
    assert len(followed.json()["tickets"]) == 30  # the default per_page


def test_paging_is_stable_by_id_and_order_type_flips_it(sim):
    since = (NOW - timedelta(hours=8)).isoformat()
    desc = [t["id"] for t in get(sim, updated_since=since, per_page=100).json()["tickets"]]
    asc = [
        t["id"]
        for t in get(sim, updated_since=since, per_page=100, order_type="asc").json()["tickets"]
    ]
    assert desc == sorted(desc, reverse=True)
    assert asc == sorted(asc)
    assert set(desc) == set(asc)
    assert get(sim, updated_since=since, order_type="sideways").status_code == 400


def test_stats_come_only_with_include_stats_and_cost_two_more_credits(sim):
    since = (NOW - timedelta(days=1)).isoformat()
    plain = get(sim, updated_since=since)
    with_stats = get(sim, updated_since=since, include="stats")

    assert len(plain.json()["tickets"]) == 30  # the default per_page
    assert len(with_stats.json()["tickets"]) == 30
    assert all("stats" not in ticket for ticket in plain.json()["tickets"])
    assert all("resolved_at" in ticket["stats"] for ticket in with_stats.json()["tickets"])
    assert plain.headers["X-Ratelimit-Used-CurrentRequest"] == "1"
    assert with_stats.headers["X-Ratelimit-Used-CurrentRequest"] == "3"


def test_tickets_are_shaped_like_the_vendors(sim):
    vendor = json.loads((DATA_DIR / "ticket.json").read_text(encoding="utf-8"))
    since = (NOW - timedelta(days=1)).isoformat()

    (ticket,) = get(sim, updated_since=since, include="stats", per_page=1).json()["tickets"]

    assert list(ticket) == list(vendor)
    assert list(ticket["stats"]) == list(vendor["stats"])
    assert ticket["updated_at"].endswith("Z")
    assert ticket["stats"]["ticket_id"] == ticket["id"]
    assert ticket["stats"]["updated_at"] == ticket["updated_at"]


def test_updated_since_is_honoured_with_z_an_offset_or_a_bare_date(sim, make_client):
    since = NOW - timedelta(hours=30)
    tickets = fetch(make_client(), since)

    assert tickets
    assert all(ticket.updated_at >= since for ticket in tickets)
    expected = {t["id"] for t in sim.world.visible_tickets(now=NOW) if updated_at(t) >= since}
    assert {ticket.id for ticket in tickets} == expected

    as_z = get(sim, updated_since="2026-11-25T06:00:00Z", per_page=100)
    as_offset = get(sim, updated_since="2026-11-25T08:00:00+02:00", per_page=100)
    assert as_z.json() == as_offset.json()
    as_date = get(sim, updated_since="2026-11-25", per_page=100)
    assert as_date.json()["tickets"]
    assert all(
        updated_at(t) >= datetime(2026, 11, 25, tzinfo=UTC) for t in as_date.json()["tickets"]
    )
    assert get(sim, updated_since="yesterday").status_code == 400


def test_without_updated_since_only_tickets_created_in_the_last_30_days_are_listed(make_sim):
    sim = make_sim(days=40)
    listed: list[dict[str, Any]] = []
    page: int | None = 1
    while page:
        response = get(sim, per_page=100, page=page)
        listed += response.json()["tickets"]
        page = page + 1 if "next" in response.links else None

    created = [datetime.fromisoformat(t["created_at"]) for t in listed]
    assert min(created) >= NOW - timedelta(days=30)
    assert len(listed) == sum(
        1
        for t in sim.world.visible_tickets(now=NOW)
        if datetime.fromisoformat(t["created_at"]) >= NOW - timedelta(days=30)
    )


def test_without_workspace_id_only_the_primary_workspaces_tickets_are_listed(make_sim):
    sim = make_sim(workspace_id=5)  # the team's group lives in workspace 5
    since = (NOW - timedelta(hours=30)).isoformat()

    def ids(**params: Any) -> set[int]:
        listed, page = set(), 1
        while True:
            answer = get(sim, updated_since=since, per_page=100, page=page, **params)
            listed |= {ticket["id"] for ticket in answer.json()["tickets"]}
            if "next" not in answer.links:
                return listed
            page += 1

    team = {
        t["id"]
        for t in sim.world.visible_tickets(now=NOW)
        if updated_at(t) >= NOW - timedelta(hours=30) and t["group_id"] == DEFAULT_GROUP_ID
    }
    assert team
    assert ids().isdisjoint(team)  # the silent zero of SPEC §14.2
    assert ids(workspace_id=5) == team
    assert ids(workspace_id=0) == ids() | team
    assert get(sim, workspace_id=-1).status_code == 400


def test_a_group_is_read_with_its_name_and_workspace_and_an_unknown_one_is_404(make_sim):
    sim = make_sim(workspace_id=5, group_name="IT Service Desk")

    found = requests.get(f"{sim.endpoint}groups/{DEFAULT_GROUP_ID}", auth=(API_KEY, "X"), timeout=5)
    missing = requests.get(f"{sim.endpoint}groups/42", auth=(API_KEY, "X"), timeout=5)

    group = found.json()["group"]
    vendor = json.loads((DATA_DIR / "group.json").read_text(encoding="utf-8"))["group"]
    assert list(group) == list(vendor)
    assert (group["id"], group["name"], group["workspace_id"]) == (
        DEFAULT_GROUP_ID,
        "IT Service Desk",
        5,
    )
    assert found.headers["X-Ratelimit-Used-CurrentRequest"] == "1"
    assert missing.status_code == 404


def test_a_ticket_link_of_the_dashboard_opens_a_page_of_the_stand_in():
    hand_made = World()
    hand_made.put(make_ticket(id=7, updated_at="2026-11-26T09:00:00Z"))
    api = FreshserviceApi(hand_made, api_key=API_KEY, clock=lambda: NOW)

    found = api.handle(ApiRequest("GET", "http://127.0.0.1:5000/a/tickets/7"))
    missing = api.handle(ApiRequest("GET", "http://127.0.0.1:5000/a/tickets/8"))

    assert found.status == 200
    assert found.headers["Content-Type"].startswith("text/html")
    assert "<h1>Ticket #7</h1>" in found.body.decode()
    assert missing.status == 404
    assert "No such ticket" in missing.body.decode()


def test_deleted_and_spam_tickets_are_left_out_of_the_list():
    hand_made = World()
    hand_made.put(
        make_ticket(id=1, updated_at="2026-11-26T09:00:00Z"),
        make_ticket(id=2, updated_at="2026-11-26T09:00:00Z") | {"deleted": True},
        make_ticket(id=3, updated_at="2026-11-26T09:00:00Z") | {"spam": True},
    )
    api = FreshserviceApi(hand_made, api_key=API_KEY, clock=lambda: NOW)
    url = "https://acme.example/api/v2/tickets?updated_since=2026-11-26T00:00:00Z"

    listed = api.handle(ApiRequest("GET", url, basic())).json()["tickets"]

    assert [ticket["id"] for ticket in listed] == [1]
    assert [ticket["id"] for ticket in hand_made.visible_tickets(now=NOW)] == [1]


# --- errors -------------------------------------------------------------------------------------


def test_a_wrong_key_or_password_is_refused_with_401(sim, make_client):
    with pytest.raises(FreshworksAuthError, match="401"):
        fetch(make_client(api_key="not-the-key"), NOW)

    response = get(sim, auth=(API_KEY, "password"))
    assert response.status_code == 401
    assert response.json()["code"] == "invalid_credentials"
    assert requests.get(f"{sim.endpoint}tickets", timeout=5).status_code == 401


@pytest.mark.parametrize("per_page", ["101", "0", "-3", "ten"])
def test_a_per_page_outside_1_to_100_is_a_400_naming_the_field(sim, per_page):
    response = get(sim, per_page=per_page)

    assert response.status_code == 400
    body = response.json()
    assert body["description"] == "Validation failed"
    assert body["errors"][0]["field"] == "per_page"
    assert body["errors"][0]["code"] == "invalid_value"


def test_page_zero_and_unknown_includes_are_400s(sim):
    assert get(sim, page=0).json()["errors"][0]["field"] == "page"
    assert get(sim, include="everything").json()["errors"][0]["field"] == "include"


def test_unknown_paths_and_verbs_answer_json_errors(sim):
    missing = requests.get(f"{sim.endpoint}problems", auth=(API_KEY, "X"), timeout=5)
    outside = requests.get(sim.endpoint.replace("/api/v2/", "/nope"), timeout=5)
    posted = requests.post(f"{sim.endpoint}tickets", auth=(API_KEY, "X"), json={}, timeout=5)

    assert (missing.status_code, outside.status_code, posted.status_code) == (404, 404, 405)
    assert missing.json()["message"] == "Not Found"
    assert "X-Ratelimit-Remaining" in missing.headers


# --- the rate limit -----------------------------------------------------------------------------


def test_every_answer_counts_down_the_minutes_credits(make_sim):
    sim = make_sim(per_minute=140)
    first = get(sim, include="stats")
    second = get(sim)
    error = get(sim, per_page=500)

    assert first.headers["X-Ratelimit-Total"] == "140"
    assert first.headers["X-Ratelimit-Remaining"] == "137"
    assert second.headers["X-Ratelimit-Remaining"] == "136"
    assert error.headers["X-Ratelimit-Remaining"] == "135"  # invalid requests count too


def test_an_exhausted_budget_answers_429_with_retry_after(make_sim):
    sim = make_sim(per_minute=5)
    assert get(sim, include="stats").status_code == 200

    refused = get(sim, include="stats")

    assert refused.status_code == 429
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert refused.headers["X-Ratelimit-Remaining"] == "2"
    assert refused.json()["code"] == "rate_limit_exceeded"
    assert get(sim).status_code == 200  # a cheaper call still fits


def test_the_client_gives_up_when_the_wait_would_exceed_its_budget(make_sim, sleeps):
    sim = make_sim(per_minute=3)
    client = FreshserviceClient(
        api_key=API_KEY,
        endpoint=sim.endpoint,
        max_wait=90,
        sleep=sleeps.append,
        allow_http=True,
    )

    with pytest.raises(FreshworksRateLimitError, match="429"):
        fetch(client, NOW - timedelta(days=3))

    assert sleeps
    assert sum(sleeps) <= 90
    assert all(1 <= wait <= 60 for wait in sleeps)


# --- faults -------------------------------------------------------------------------------------


def test_fail_next_with_5xx_is_retried_by_the_client(sim, make_client, sleeps):
    sim.faults.fail_next(503, times=2)
    client = make_client()

    tickets = fetch(client, NOW - timedelta(hours=4))

    assert tickets
    assert sleeps == [1, 2]
    assert client.api_calls == 3


def test_fail_next_more_often_than_the_client_retries_fails_the_fetch(sim, make_client):
    sim.faults.fail_next(500, times=3)
    with pytest.raises(FreshworksServerError, match="500"):
        fetch(make_client(), NOW - timedelta(hours=4))
    assert fetch(make_client(), NOW - timedelta(hours=4))  # the faults are used up


def test_fail_next_429_with_retry_after_is_waited_out(sim, make_client, sleeps):
    sim.faults.fail_next(429, retry_after=7)

    assert fetch(make_client(), NOW - timedelta(hours=4))
    assert sleeps == [7]


def test_fail_on_page_fails_that_page_every_time_until_reset(sim, make_client, sleeps):
    sim.faults.fail_on_page(2, 502)

    with pytest.raises(FreshworksServerError, match="502"):
        fetch(make_client(), NOW - timedelta(days=3))
    assert sim.paths[-1].endswith("page=2")

    sim.faults.reset()
    assert len(fetch(make_client(), NOW - timedelta(days=3))) > 100


def test_slow_next_trips_the_clients_timeout_once(sim, make_client, sleeps):
    sim.faults.slow_next(0.6)
    client = make_client(timeout=0.2)

    assert fetch(client, NOW - timedelta(hours=4))
    assert sleeps == [1]
    assert client.api_calls == 2


def test_invalid_json_next_is_a_response_error(sim, make_client):
    sim.faults.invalid_json_next()
    with pytest.raises(FreshworksResponseError, match="not JSON"):
        fetch(make_client(), NOW - timedelta(hours=4))


def test_drop_connection_next_is_retried_like_a_network_error(sim, make_client, sleeps):
    sim.faults.drop_connection_next()
    client = make_client()

    assert fetch(client, NOW - timedelta(hours=4))
    assert sleeps == [1]
    assert sim.calls == 2


# --- time ---------------------------------------------------------------------------------------


def test_tickets_appear_and_change_only_as_the_clock_reaches_them(sim, make_client, clock):
    later = NOW + timedelta(hours=3)
    changing = {
        t["id"]: t
        for t in sim.world.visible_tickets(now=later)
        if NOW < updated_at(t) <= later and t["status"] in (4, 5)
    }
    assert changing

    before = {ticket.id: ticket for ticket in fetch(make_client(), NOW - timedelta(days=4))}
    assert before
    assert all(ticket.updated_at <= NOW for ticket in before.values())
    for ticket_id, future in changing.items():
        shown = before.get(ticket_id)
        assert shown is None or shown.updated_at < updated_at(future)

    clock.now = later
    after = {ticket.id: ticket for ticket in fetch(make_client(), NOW)}
    for ticket_id, future in changing.items():
        assert after[ticket_id].updated_at == updated_at(future)
        assert after[ticket_id].status == future["status"]


# --- the world ----------------------------------------------------------------------------------


def test_the_world_is_the_same_for_the_same_seed_and_differs_for_another():
    one = world(days=5)
    two = world(days=5)
    other = world(days=5, seed=8)

    assert one.visible_tickets(now=NOW) == two.visible_tickets(now=NOW)
    assert one.agents == two.agents
    assert one.agents != other.agents


def test_a_later_start_sees_the_same_tickets_under_the_same_ids():
    today = world(days=5)
    in_three_days = world(days=5, today=(NOW + timedelta(days=3)).date())
    everything = NOW + timedelta(days=14)
    later = {t["id"]: t for t in in_three_days.visible_tickets(now=everything)}

    shared = [
        ticket
        for ticket in today.visible_tickets(now=everything)
        if ID_EPOCH + timedelta(days=ticket["id"] // ID_BLOCK) >= in_three_days.first_day
    ]

    assert len(shared) > 100
    assert all(later[ticket["id"]] == ticket for ticket in shared)


def test_the_team_closes_0_to_15_a_day_with_quieter_weekends():
    team = world(tz="America/New_York", days=28)
    closures = team.expected_closures(now=NOW + timedelta(days=8))
    agent_ids = {agent.id for agent in team.agents}

    assert len(team.agents) == 12
    assert all(set(per_agent) <= agent_ids for per_agent in closures.values())
    assert all(0 < count <= 16 for per_agent in closures.values() for count in per_agent.values())
    weekdays = [sum(c.values()) for day, c in closures.items() if day.weekday() < 5]
    weekends = [sum(c.values()) for day, c in closures.items() if day.weekday() >= 5]
    assert sum(weekdays) / len(weekdays) > 3 * sum(weekends) / len(weekends)


def test_the_world_holds_noise_that_must_not_count(sim):
    tickets = sim.world.visible_tickets(now=NOW)
    statuses = Counter(ticket["status"] for ticket in tickets)

    assert {2, 3, 4, 5, 6} <= set(statuses)
    assert any(t["group_id"] != DEFAULT_GROUP_ID for t in tickets)
    assert any(t["responder_id"] is None and t["status"] in (4, 5) for t in tickets)
    reopened = [t for t in tickets if t["status"] == 2 and t["stats"]["resolved_at"]]
    assert reopened
    counted = sum(
        sum(per_agent.values()) for per_agent in sim.world.expected_closures(now=NOW).values()
    )
    assert counted < statuses[4] + statuses[5]


def test_auto_closed_tickets_close_a_day_after_resolution_and_move_updated_at(sim):
    closed = [t for t in sim.world.visible_tickets(now=NOW) if t["status"] == 5]

    assert closed
    for ticket in closed:
        resolved = datetime.fromisoformat(ticket["stats"]["resolved_at"])
        closed_at = datetime.fromisoformat(ticket["stats"]["closed_at"])
        assert timedelta(days=1) <= closed_at - resolved <= timedelta(days=1, hours=2)
        assert ticket["updated_at"] == ticket["stats"]["closed_at"]


def test_closures_fall_in_working_hours_of_the_zone():
    tokyo = world(tz="Asia/Tokyo", days=5)
    resolved = [
        t["stats"]["resolved_at"]
        for t in tokyo.visible_tickets(now=NOW)
        if t["stats"]["resolved_at"]
    ]

    assert resolved
    for at in resolved:
        assert 8 <= datetime.fromisoformat(at).astimezone(tokyo.tz).hour < 18


def test_ids_txt_names_every_agent():
    team = world()
    parsed = parse_ids(team.ids_txt())

    assert not parsed.problems
    assert team.agents
    assert [(e.freshworks_user_id, e.name) for e in parsed.entries] == [
        (agent.id, agent.name) for agent in team.agents
    ]
    assert all(agent.name.endswith(".") and len(agent.name.split()) == 2 for agent in team.agents)


# --- the agents ---------------------------------------------------------------------------------


def get_agents(sim: StandIn, **params: Any) -> requests.Response:
    return requests.get(f"{sim.endpoint}agents", params=params, auth=(API_KEY, "X"), timeout=5)


def test_the_account_lists_its_team_and_other_agents_some_inactive(make_sim, make_client):
    sim = make_sim(agents=150)

    with make_client(endpoint=sim.endpoint) as client:
        agents = client.list_agents()

    team = {agent.id: agent for agent in sim.world.agents}
    assert len(agents) == 150 + 40
    assert {agent.id for agent in agents} >= set(team)
    assert {agent.id for agent in agents if not agent.active} == {
        agent.id for agent in sim.world.other_agents if not agent.active
    }
    assert 5 <= sum(not agent.active for agent in agents) <= 20
    listed = {agent.id: agent for agent in agents}
    for agent_id, agent in team.items():
        assert (listed[agent_id].first_name, listed[agent_id].last_name) == (
            agent.first_name,
            agent.last_name,
        )
        assert listed[agent_id].email == agent.email == f"{agent.username}@example.com"
    assert len({agent.email for agent in agents}) == len(agents)
    # 150 active team agents and ~30 active others: two pages, then one page of inactive ones.
    assert client.api_calls == 3
    assert [path.split("?")[1] for path in sim.paths] == [
        "active=true&per_page=100&page=1",
        "active=true&per_page=100&page=2",
        "active=false&per_page=100&page=1",
    ]


def test_the_agents_list_pages_by_first_name_with_a_link_carrying_only_the_page(sim):
    first = get_agents(sim, active="true", per_page=5)
    second = get_agents(sim, active="true", per_page=5, page=2)
    inactive = get_agents(sim, active="false", per_page=100)

    names = [agent["first_name"] for agent in first.json()["agents"]]
    assert names == sorted(names, key=str.casefold)
    assert first.headers["link"] == f'<{sim.endpoint}agents?page=2>; rel="next"'
    assert {a["id"] for a in first.json()["agents"]}.isdisjoint(
        a["id"] for a in second.json()["agents"]
    )
    assert all(agent["active"] is False for agent in inactive.json()["agents"])
    assert "link" not in inactive.headers
    assert first.headers["X-Ratelimit-Used-CurrentRequest"] == "1"


@pytest.mark.parametrize(
    ("params", "field"),
    [({"per_page": 101}, "per_page"), ({"page": 0}, "page"), ({"active": "yes"}, "active")],
)
def test_bad_agents_parameters_are_400s_naming_the_field(sim, params, field):
    answer = get_agents(sim, **params)

    assert answer.status_code == 400
    assert answer.json()["errors"][0]["field"] == field


def test_agents_put_by_hand_are_listed_as_put():
    hand = World()
    hand.put_agent({"id": 7, "first_name": "Temp", "last_name": None, "active": False})

    assert hand.list_agents(active=False, offset=0, limit=100) == (
        [{"id": 7, "first_name": "Temp", "last_name": None, "active": False}],
        1,
    )
    assert hand.list_agents(active=True, offset=0, limit=100) == ([], 0)


# --- lifecycle ----------------------------------------------------------------------------------


def test_stop_closes_the_port_and_kept_alive_connections(clock):
    server = FreshserviceServer(FreshserviceApi(world(days=1), api_key=API_KEY, clock=clock))
    with server:
        session = requests.Session()
        assert session.get(f"{server.endpoint}tickets", auth=(API_KEY, "X"), timeout=5).ok

    with pytest.raises(requests.ConnectionError):
        session.get(f"{server.endpoint}tickets", auth=(API_KEY, "X"), timeout=5)
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{server.endpoint}tickets", auth=(API_KEY, "X"), timeout=5)
    server.stop()  # idempotent


def test_calls_counts_every_request(sim):
    get(sim)
    get(sim, per_page=1000)
    requests.get(f"{sim.endpoint}nothing", timeout=5)
    assert sim.calls == 3


def test_a_date_in_the_first_day_is_generated_and_none_before(sim):
    created = [
        datetime.fromisoformat(t["created_at"]).date() for t in sim.world.visible_tickets(now=NOW)
    ]
    assert min(created) >= sim.world.first_day - timedelta(days=3)
    assert sim.world.first_day == date(2026, 11, 16)


# --- the API without HTTP, over tickets put by hand --------------------------------------------


def basic(key: str = API_KEY) -> str:
    return "Basic " + base64.b64encode(f"{key}:X".encode()).decode()


def test_the_api_answers_a_request_without_any_socket():
    hand_made = World()
    hand_made.put(
        make_ticket(id=1, updated_at="2026-11-26T09:00:00Z"),
        make_ticket(id=2, updated_at="2026-11-26T11:00:00Z"),
        make_ticket(id=3, updated_at="2026-11-25T09:00:00Z"),
    )
    api = FreshserviceApi(hand_made, api_key=API_KEY, clock=lambda: NOW)
    url = "https://acme.example/api/v2/tickets?updated_since=2026-11-26T00:00:00Z&per_page=1"

    first = api.handle(ApiRequest("GET", url, basic()))
    with_stats = api.handle(ApiRequest("GET", url + "&include=stats", basic()))
    refused = api.handle(ApiRequest("GET", url, basic("wrong")))

    assert first.status == 200
    assert [ticket["id"] for ticket in first.json()["tickets"]] == [2]
    assert "stats" not in first.json()["tickets"][0]
    assert "stats" in with_stats.json()["tickets"][0]
    assert first.headers["link"] == '<https://acme.example/api/v2/tickets?page=2>; rel="next"'
    assert refused.status == 401
    assert refused.json()["code"] == "invalid_credentials"


def test_a_ticket_put_by_hand_replaces_the_generated_one_with_its_id():
    team = world(days=2)
    generated = team.visible_tickets(now=NOW)[0]
    team.put(make_ticket(id=generated["id"], status=2, updated_at="2026-11-26T11:30:00Z"))

    (shown,) = [t for t in team.visible_tickets(now=NOW) if t["id"] == generated["id"]]

    assert shown["status"] == 2
    assert shown["updated_at"] == "2026-11-26T11:30:00Z"
