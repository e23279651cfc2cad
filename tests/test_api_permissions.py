"""Who may call what (SPEC §8, §9): each endpoint for each role, tokens, CSRF, docs, healthz."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
import time_machine
from django.contrib.staticfiles import finders
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from tests.freshservice_data import make_ticket
from tests.upstream import FakeFreshservice
from tickets.models import SyncRun

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
TODAY, YESTERDAY, LAST_WEEK = "2026-11-26", "2026-11-25", "2026-11-19"

ENDPOINTS = [
    ("get", "/api/tickets/closures/today"),
    ("get", "/api/tickets/closures/period?period=week"),
    ("get", "/api/tickets/closures/export.csv?period=today"),
    ("get", "/api/tickets/closures/daily?period=week"),
    ("get", "/api/tickets/closures/tickets?agent=1001&period=week"),
    ("post", "/api/tickets/sync"),
    ("get", "/api/tickets/sync-status"),
    ("get", "/api/tickets/top-performers"),
    ("get", "/api/tickets/stats"),
    ("get", "/api/tickets/admin-stats"),
    ("post", "/api/tickets/force-sync"),
]
GET_PATHS = [path for method, path in ENDPOINTS if method == "get"]
ROLES = ["anonymous", "plain_user", "manager", "developer", "admin_member", "superuser"]
# What a plain user lacks, and the permission the refusal has to name.
NEEDS_PERMISSION = {
    "/api/tickets/admin-stats": "tickets.view_sync_stats",
    "/api/tickets/force-sync": "tickets.force_sync",
}


def expected_status(role: str, path: str) -> int:
    if role == "anonymous":
        return 401
    if role == "plain_user" and path in NEEDS_PERMISSION:
        return 403
    return 200


@pytest.fixture(autouse=True)
def at_now() -> Iterator[None]:
    """Each test and its fixtures run at NOW unless the test travels on: a session begun in a
    fixture stays valid in the test whatever day the suite runs."""
    with time_machine.travel(NOW, tick=False):
        yield


def call(client: APIClient, method: str, path: str, **kwargs):
    if method == "post":
        kwargs.setdefault("format", "json")
    return getattr(client, method)(path, **kwargs)


@pytest.fixture
def upstream(requests_mock, fresh) -> FakeFreshservice:
    fake = FakeFreshservice(requests_mock)
    fake.put(make_ticket(id=1, updated_at="2026-11-26T09:41:27Z"))
    return fake


@pytest.fixture
def logged_in(plain_user) -> APIClient:
    client = APIClient()
    client.force_login(plain_user)
    return client


# --- the matrix -----------------------------------------------------------------------------


@time_machine.travel(NOW, tick=False)
@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
@pytest.mark.parametrize("role", ROLES)
def test_each_role_gets_what_its_permissions_allow(request, upstream, role, method, path):
    client = APIClient()
    if role != "anonymous":
        client.force_login(request.getfixturevalue(role))
    expected = expected_status(role, path)

    response = call(client, method, path)

    assert response.status_code == expected, response.content
    if expected == 401:
        assert response["WWW-Authenticate"].startswith("Token")
    if expected == 403:
        assert NEEDS_PERMISSION[path] in response.json()["detail"]
    if method == "post" and expected == 200:
        assert response.json()["synced"] is True
    # A refused call never reaches Freshservice; an allowed sync asks it twice: the team's
    # group (once a day), then one page.
    assert upstream.calls == (2 if method == "post" and expected == 200 else 0)


# --- which dates a plain user may sync ------------------------------------------------------


@time_machine.travel(NOW, tick=False)
def test_a_plain_user_may_not_sync_a_date_before_yesterday(logged_in, upstream):
    response = logged_in.post("/api/tickets/sync", {"date": "2026-11-24"}, format="json")

    assert response.status_code == 403
    assert "tickets.force_sync" in response.json()["detail"]
    assert upstream.calls == 0
    assert not SyncRun.objects.exists()


@time_machine.travel(NOW, tick=False)
def test_a_plain_user_may_sync_yesterday(logged_in, upstream):
    response = logged_in.post("/api/tickets/sync", {"date": YESTERDAY}, format="json")

    assert response.status_code == 200, response.content
    assert response.json()["date"] == YESTERDAY
    assert upstream.list_calls == 1


@time_machine.travel(NOW, tick=False)
def test_a_manager_may_sync_an_older_date_with_the_rate_limited_sync(manager, upstream):
    client = APIClient()
    client.force_login(manager)

    response = client.post("/api/tickets/sync", {"date": LAST_WEEK}, format="json")

    assert response.status_code == 200, response.content
    assert response.json()["date"] == LAST_WEEK
    assert SyncRun.objects.get().trigger == SyncRun.Trigger.BUTTON


# --- tokens ---------------------------------------------------------------------------------


def test_a_token_logs_a_script_in(plain_user):
    token = Token.objects.create(user=plain_user)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")

    response = client.get("/api/tickets/closures/today")

    assert response.status_code == 200


def test_a_wrong_token_is_refused_with_401(plain_user):
    Token.objects.create(user=plain_user)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token " + "0" * 40)

    response = client.get("/api/tickets/closures/today")

    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Token")


# --- CSRF -----------------------------------------------------------------------------------


@time_machine.travel(NOW, tick=False)
def test_a_session_post_without_the_csrf_token_is_refused_and_changes_nothing(plain_user, upstream):
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(plain_user)

    response = client.post("/api/tickets/sync", format="json")

    assert response.status_code == 403
    assert "CSRF" in response.json()["detail"]
    assert upstream.calls == 0
    assert not SyncRun.objects.exists()


@time_machine.travel(NOW, tick=False)
def test_a_session_post_with_the_csrf_token_syncs(plain_user, upstream):
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(plain_user)
    client.get("/api-auth/login/")  # any page with a form sets the CSRF cookie
    csrf_token = client.cookies["csrftoken"].value

    response = client.post("/api/tickets/sync", format="json", HTTP_X_CSRFTOKEN=csrf_token)

    assert response.status_code == 200, response.content
    assert upstream.list_calls == 1


@time_machine.travel(NOW, tick=False)
def test_a_token_post_needs_no_csrf_token(plain_user, upstream):
    token = Token.objects.create(user=plain_user)
    client = APIClient(enforce_csrf_checks=True)
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")

    response = client.post("/api/tickets/sync", format="json")

    assert response.status_code == 200, response.content
    assert upstream.list_calls == 1


# --- healthz, docs and schema ---------------------------------------------------------------


@time_machine.travel(NOW, tick=False)
def test_healthz_needs_no_login_and_is_stale_until_a_sync_succeeds(logged_in, upstream):
    anonymous = APIClient()

    before = anonymous.get("/healthz")
    logged_in.post("/api/tickets/sync", format="json")
    after = anonymous.get("/healthz")

    assert before.status_code == 503
    assert before.json()["stale"] is True
    assert after.status_code == 200
    assert after.json() == {
        "status": "ok",
        "database": True,
        "last_sync_at": NOW.isoformat(),
        "last_sync_age_seconds": 0,
        "stale": False,
    }


def test_the_docs_page_sends_anonymous_visitors_to_log_in(db):
    response = APIClient().get("/api/docs/")

    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/api/docs/"


def test_the_schema_needs_a_login(logged_in):
    anonymous = APIClient().get("/api/schema/")

    assert anonymous.status_code == 401
    assert logged_in.get("/api/schema/").status_code == 200


def test_the_docs_page_loads_everything_from_the_site_itself(logged_in):
    response = logged_in.get("/api/docs/")

    page = response.content.decode()
    assert response.status_code == 200
    assert "cdn" not in page.lower()
    assert "http://" not in page
    assert "https://" not in page
    urls = re.findall(r"""\b(?:src|href)\s*=\s*["']([^"']*)["']""", page)
    assert urls, "the page should load Swagger UI"
    # Swagger UI's start-up script comes from the page itself (no inline script: the CSP).
    urls.remove("/api/docs/?script=")
    script = logged_in.get("/api/docs/?script=")
    assert script["Content-Type"].startswith("application/javascript")
    assert "SwaggerUIBundle" in script.content.decode()
    for url in urls:
        assert url.startswith("/static/"), url
        assert finders.find(url.removeprefix("/static/")), f"{url} is not a local static file"


# --- both URL forms -------------------------------------------------------------------------


def with_slash(path: str) -> str:
    path, _, query = path.partition("?")
    return f"{path}/?{query}" if query else f"{path}/"


@pytest.mark.parametrize("path", [*GET_PATHS, *map(with_slash, GET_PATHS)])
def test_each_path_answers_with_and_without_a_slash(manager, path):
    client = APIClient()
    client.force_login(manager)

    response = client.get(path)

    assert response.status_code == 200


@time_machine.travel(NOW, tick=False)
def test_a_sync_posted_to_the_path_with_a_slash_runs(logged_in, upstream):
    response = logged_in.post("/api/tickets/sync/", {"date": TODAY}, format="json")

    assert response.status_code == 200
    assert upstream.list_calls == 1
