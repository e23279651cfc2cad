"""The connection check (SPEC §14.5): `manage.py check_freshservice` and the admin page.

Freshservice is requests-mock with vendor-shaped answers (tests/account.py); every problem must
come out as one line that says what to do, with exit status 1, and nothing in the database may
change.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import time_machine
from django.apps import apps
from django.contrib.auth.models import Permission, User
from django.test import Client
from django.urls import reverse

from tests.account import AGENTS_URL, GROUP_URL, answer_account
from tests.conftest import API_KEY, GROUP_ID
from tests.freshservice_data import budget, make_group
from tickets.models import SyncRun
from tickets.services.connection import check_connection

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 26, 15, 0, tzinfo=UTC)
CONNECTION = "admin:tickets_syncrun_connection"


@pytest.fixture(autouse=True)
def in_utc(settings) -> None:
    """The times in these tests are UTC wall-clock times (whatever YAM_TEST_TIME_ZONE says)."""
    settings.TIME_ZONE = "UTC"


def rows() -> dict[str, int]:
    """How many rows every model holds: the check must leave all of them alone."""
    return {model._meta.label: model.objects.count() for model in apps.get_models()}


def problems(out: str) -> list[str]:
    """The lines under "N problem(s):" in the command's output."""
    lines = out.splitlines()
    start = next(
        n for n, line in enumerate(lines) if line.strip().endswith(("problem:", "problems:"))
    )
    return [line.strip() for line in lines[start + 1 :]]


@pytest.fixture
def last_sync(db) -> SyncRun:
    return SyncRun.objects.create(
        first_date=date(2026, 11, 26),
        last_date=date(2026, 11, 26),
        trigger=SyncRun.Trigger.SCHEDULE,
        status=SyncRun.Status.SUCCESS,
        started_at=NOW - timedelta(minutes=30),
        finished_at=NOW - timedelta(minutes=29),
        tickets_processed=12,
        api_calls=3,
        credits=9,
    )


# --- all well ---------------------------------------------------------------------------------


@time_machine.travel(NOW, tick=False)
def test_all_well_exits_0_and_names_the_group_workspace_agents_and_budget(
    requests_mock, fresh, manage, last_sync, sleeps
):
    answer_account(requests_mock, group=make_group(name="Service Desk", workspace_id=2))
    before = rows()

    status, out, _ = manage("check_freshservice")

    assert status == 0
    assert "✓ Endpoint    https://acme.freshservice.com/api/v2/ (HTTPS)" in out
    assert "✓ Reachable   yes" in out
    assert "✓ API key     accepted" in out
    assert "✓ Group       Service Desk (18000294963)" in out
    assert "✓ Workspace   2 (the group's; FRESH_WORKSPACE_ID empty)" in out
    assert "✓ Agents      4 (3 active, 1 deactivated)" in out
    assert "✓ Budget      117 of 120 credits left this minute; 24 kept in reserve (20 %)" in out
    assert "· Last sync   2026-11-26 14:30 UTC: 3 API calls, 9 credits" in out
    assert "· This check  3 API calls, 3 credits" in out
    assert out.rstrip().endswith("All well.")
    assert rows() == before
    assert sleeps == []
    # The agents (both listings, one page each), then the group; nothing else.
    asked = [
        (urlsplit(r.url).path, parse_qs(urlsplit(r.url).query))
        for r in requests_mock.request_history
    ]
    assert asked == [
        ("/api/v2/agents", {"active": ["true"], "per_page": ["100"], "page": ["1"]}),
        ("/api/v2/agents", {"active": ["false"], "per_page": ["100"], "page": ["1"]}),
        (f"/api/v2/groups/{GROUP_ID}", {}),
    ]


def test_a_configured_workspace_that_matches_the_groups_is_well(requests_mock, fresh):
    fresh.FRESH_WORKSPACE_ID = 5
    answer_account(requests_mock, group=make_group(workspace_id=5))

    report = check_connection()

    assert report.ok
    assert report.workspace_id == 5
    assert "5 (FRESH_WORKSPACE_ID)" in [finding.value for finding in report.findings]


def test_a_group_without_a_workspace_is_well(requests_mock, fresh):
    answer_account(requests_mock, group=make_group(workspace_id=None))

    report = check_connection()

    assert report.ok
    assert report.workspace_id is None


def test_the_demo_stand_in_may_answer_over_plain_http(requests_mock, fresh):
    stand_in = "http://127.0.0.1:8765/api/v2/"
    fresh.FRESH_ENDPOINT = stand_in
    fresh.DEMO_MODE = True
    answer_account(requests_mock, endpoint=stand_in)

    report = check_connection()

    assert report.ok, report.problems
    assert report.findings[0].value == f"{stand_in} (plain HTTP: the demo's stand-in)"


# --- each problem: exit 1, one line that says what to do ---------------------------------------


def test_a_rejected_key_exits_1_and_says_to_copy_the_key_again(requests_mock, fresh, manage):
    requests_mock.get(
        AGENTS_URL,
        status_code=401,
        json={"code": "invalid_credentials", "message": f"Unknown key {API_KEY}"},
    )
    before = rows()

    status, out, err = manage("check_freshservice")

    assert status == 1
    assert "✗ API key     rejected (401)" in out
    assert problems(out) == [
        "Freshservice rejected the API key (401): check FRESH_API is the current key from the "
        "agent's Profile settings. Freshservice says: Unknown key ***"
    ]
    assert "· Group       18000294963: not checked" in out
    assert err.strip().splitlines()[-1] == (
        "CommandError: The connection check found 1 problem (see above)."
    )
    assert requests_mock.call_count == 1
    assert rows() == before


def test_a_key_without_permission_exits_1_and_names_the_permission(requests_mock, fresh, manage):
    requests_mock.get(AGENTS_URL, status_code=403, text="")

    status, out, _ = manage("check_freshservice")

    assert status == 1
    assert "✗ API key     accepted, but its role lacks a permission (403)" in out
    assert problems(out) == [
        "Freshservice refused access (403): the agent whose key is in FRESH_API has a role "
        "without permission to view agents and agent groups; give it one that can."
    ]


@pytest.mark.parametrize(
    ("answer", "reachable", "problem"),
    [
        (
            {"status_code": 404, "text": "<html>Not Found</html>"},
            "yes",
            "Freshservice has no /api/v2/agents (404): check FRESH_ENDPOINT, e.g. "
            "https://acme.freshservice.com/api/v2/",
        ),
        (
            {"text": "<html>Log in</html>", "headers": {"Content-Type": "text/html"}},
            "yes",
            "Freshservice answered /api/v2/agents with something that is not JSON (text/html): "
            "check FRESH_ENDPOINT is the API address, e.g. https://acme.freshservice.com/api/v2/",
        ),
        (
            {"status_code": 301, "headers": {"Location": "https://acme.example.org/login"}},
            "yes",
            "Freshservice redirected /api/v2/agents to acme.example.org (HTTP 301), which is not "
            "followed with the API key: set FRESH_ENDPOINT to the API address, "
            "e.g. https://acme.freshservice.com/api/v2/",
        ),
        (
            {"exc": requests.ConnectionError("no route to host")},
            "no",
            "Could not reach Freshservice at acme.freshservice.com for /api/v2/agents (3 "
            "attempts, ConnectionError): check FRESH_ENDPOINT and the network.",
        ),
    ],
    ids=["404", "not-json", "redirect", "unreachable"],
)
def test_a_wrong_endpoint_exits_1_and_says_to_fix_fresh_endpoint(
    requests_mock, fresh, manage, answer, reachable, problem
):
    requests_mock.get(AGENTS_URL, **answer)
    requests_mock.get(GROUP_URL, json=make_group())

    status, out, _ = manage("check_freshservice")

    assert status == 1
    assert f"Reachable   {reachable}" in out
    assert problems(out) == [problem]
    # The group was never asked: its 404 would have blamed FRESH_GROUP_ID.
    assert not any("groups" in r.url for r in requests_mock.request_history)


def test_an_unknown_group_exits_1_and_names_fresh_group_id(requests_mock, fresh, manage):
    answer_account(requests_mock)
    requests_mock.get(GROUP_URL, status_code=404, text="")

    status, out, _ = manage("check_freshservice")

    assert status == 1
    assert "✓ API key     accepted" in out
    assert "✗ Group       18000294963: no such agent group" in out
    assert "✓ Agents      4 (3 active, 1 deactivated)" in out
    assert problems(out) == [
        "Freshservice has no agent group 18000294963 (404 on /api/v2/groups/18000294963): check "
        "FRESH_GROUP_ID is the id of your team's agent group in this account."
    ]


def test_a_workspace_that_differs_from_the_groups_exits_1_naming_both(requests_mock, fresh, manage):
    fresh.FRESH_WORKSPACE_ID = 3
    answer_account(requests_mock, group=make_group(name="Service Desk", workspace_id=5))

    status, out, _ = manage("check_freshservice")

    assert status == 1
    assert "✗ Workspace   FRESH_WORKSPACE_ID is 3, the group is in 5" in out
    assert problems(out) == [
        "FRESH_WORKSPACE_ID is 3, but agent group 18000294963 (Service Desk) is in workspace 5: "
        "set FRESH_WORKSPACE_ID to 5, or leave it empty to use the group's workspace."
    ]


def test_a_plain_http_endpoint_exits_1_without_sending_the_key(requests_mock, fresh, manage):
    fresh.FRESH_ENDPOINT = "http://acme.freshservice.com/api/v2/"
    answer_account(requests_mock, endpoint="http://acme.freshservice.com/api/v2/")

    status, out, _ = manage("check_freshservice")

    assert status == 1
    assert "✗ Endpoint    http://acme.freshservice.com/api/v2/ (not HTTPS)" in out
    assert problems(out) == [
        "FRESH_ENDPOINT uses plain http://, but Freshservice requires HTTPS and the API key must "
        "not travel unencrypted: set it to your account's https:// address, e.g. "
        "https://acme.freshservice.com/api/v2/"
    ]
    assert requests_mock.call_count == 0


def test_a_nearly_spent_budget_exits_1_and_says_who_shares_it(requests_mock, fresh, manage, sleeps):
    # 10 credits left after the last call, below the 24 (20 % of 120) kept for others.
    answer_account(requests_mock, remaining=(60, 59, 10))

    status, out, _ = manage("check_freshservice")

    assert status == 1
    assert "✗ Budget      10 of 120 credits left this minute; 24 kept in reserve (20 %)" in out
    assert problems(out) == [
        "Freshservice's per-minute API budget is nearly spent: 10 of 120 credits left, below the "
        "24 kept for the account's other integrations (FRESH_BUDGET_RESERVE 20 %), so syncs wait "
        "for the next minute: check again in a minute; if it stays low, find the integration "
        "that spends the budget, or lower FRESH_BUDGET_RESERVE."
    ]
    assert sleeps == []


def test_a_budget_below_the_reserve_stops_the_check_instead_of_waiting(
    requests_mock, fresh, sleeps
):
    answer_account(requests_mock, remaining=(5, 4, 3))

    report = check_connection()

    assert not report.ok
    assert (report.budget_remaining, report.budget_total) == (5, 120)
    assert report.agents is None
    assert report.group is None
    assert report.findings[5].label == "Agents"
    assert report.findings[5].value == "not checked"
    assert len(report.problems) == 1
    assert report.problems[0].startswith("Freshservice's per-minute API budget is nearly spent: 5")
    # One call, no wait for the next minute, the others' share left alone.
    assert requests_mock.call_count == 1
    assert sleeps == []


def test_a_used_up_budget_429_exits_1_without_waiting(requests_mock, fresh, manage, sleeps):
    requests_mock.get(AGENTS_URL, status_code=429, headers={"Retry-After": "30"})

    status, out, _ = manage("check_freshservice")

    assert status == 1
    assert "✗ Budget      used up (429 Too Many Requests)" in out
    assert problems(out) == [
        "Freshservice's per-minute API budget is used up (it answered 429): the account's other "
        "integrations share it; check again in a minute, and if it stays used up, find the "
        "integration that spends it."
    ]
    assert sleeps == []


def test_not_configured_exits_1_and_names_the_missing_variables(requests_mock, manage, settings):
    settings.FRESH_API = ""
    settings.FRESH_ENDPOINT = ""
    settings.FRESH_GROUP_ID = None
    before = rows()

    status, out, _ = manage("check_freshservice")

    assert status == 1
    assert "✗ Endpoint    not set (FRESH_ENDPOINT)" in out
    assert "✗ API key     not set (FRESH_API)" in out
    assert "✗ Group       not set (FRESH_GROUP_ID)" in out
    assert problems(out) == [
        "Freshservice is not configured: set FRESH_API, FRESH_ENDPOINT, FRESH_GROUP_ID "
        "(see .env.example), or start the demo with `make run`."
    ]
    assert requests_mock.call_count == 0
    assert rows() == before


def test_the_key_is_never_shown_even_inside_the_endpoint(requests_mock, fresh):
    fresh.FRESH_ENDPOINT = f"http://{API_KEY.upper()}@acme.freshservice.com/api/v2/"

    report = check_connection()

    shown = [report.endpoint, *report.problems, *(f.value for f in report.findings)]
    assert not any(API_KEY.casefold() in text.casefold() for text in shown)
    assert "http://***@acme.freshservice.com/api/v2/" in report.endpoint


def test_it_works_on_a_database_not_yet_migrated(requests_mock, fresh, monkeypatch):
    # init_ticket_tracking checks before it migrates: there may be no SyncRun table yet.
    answer_account(requests_mock)
    monkeypatch.setattr(
        "tickets.services.connection.connection.introspection.table_names", lambda: []
    )

    report = check_connection()

    assert report.ok
    assert report.last_sync is None


# --- the admin page ---------------------------------------------------------------------------


def login(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


@time_machine.travel(NOW, tick=False)
def test_the_admin_page_renders_the_same_findings(requests_mock, fresh, manager, last_sync):
    answer_account(requests_mock)
    client = login(manager)  # a session row, before the count
    before = rows()

    response = client.get(reverse(CONNECTION))

    assert response.status_code == 200
    report = response.context["report"]
    assert report.ok
    page = response.content.decode()
    assert "Freshservice connection" in page
    assert "All well" in page
    assert report.findings
    for finding in report.findings:
        assert f'<th scope="row">{finding.label}</th>' in page
        assert f"<td>{finding.value}</td>" in page.replace("&#x27;", "'")
    assert "Service Desk (18000294963)" in page
    assert "2026-11-26 14:30 UTC: 3 API calls, 9 credits" in page
    assert API_KEY not in page
    assert rows() == before


def test_the_admin_page_lists_each_problem_with_its_fix(requests_mock, fresh, manager):
    requests_mock.get(AGENTS_URL, status_code=401, text="")

    response = login(manager).get(reverse(CONNECTION))

    assert response.status_code == 200
    page = response.content.decode()
    assert "1 problem</strong>" in page
    assert (
        '<li class="connection-problem">Freshservice rejected the API key (401): check FRESH_API '
        "is the current key from the agent&#x27;s Profile settings.</li>"
    ) in page
    assert "<td>rejected (401)</td>" in page


def test_the_admin_page_refuses_users_without_the_sync_stats_permission(
    requests_mock, fresh, plain_user
):
    viewer = User.objects.create_user("vic.viewer", password="pw", is_staff=True)
    viewer.user_permissions.add(
        *Permission.objects.filter(
            content_type__app_label="tickets", codename__startswith="view_"
        ).exclude(codename="view_sync_stats")
    )

    assert login(viewer).get(reverse(CONNECTION)).status_code == 403
    # Not staff, or not logged in: the admin's login page.
    assert login(plain_user).get(reverse(CONNECTION)).status_code == 302
    assert Client().get(reverse(CONNECTION)).status_code == 302
    assert requests_mock.call_count == 0
    assert reverse(CONNECTION) not in login(viewer).get(reverse("admin:index")).content.decode()


def test_the_admin_index_and_the_sync_runs_link_the_page(manager):
    client = login(manager)

    assert reverse(CONNECTION) in client.get(reverse("admin:index")).content.decode()
    assert (
        reverse(CONNECTION)
        in client.get(reverse("admin:tickets_syncrun_changelist")).content.decode()
    )


def test_budget_headers_come_from_the_last_answer(requests_mock, fresh):
    answer_account(requests_mock)
    requests_mock.get(GROUP_URL, json=make_group(), headers=budget(total=200, remaining=150))

    report = check_connection()

    assert (report.budget_remaining, report.budget_total, report.reserve_credits) == (150, 200, 40)
