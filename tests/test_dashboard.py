"""The page at /: login required, a container the static JS fills from the API."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, date, datetime

import pytest
import time_machine

from tickets.models import FreshworksUserMapping, TicketClosure

pytestmark = pytest.mark.django_db


def test_anonymous_visitors_are_sent_to_log_in(client):
    response = client.get("/")

    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/"


def test_the_login_page_is_styled_like_the_site(client):
    page = client.get("/accounts/login/").content.decode()

    assert "tickets/site.css" in page
    assert 'name="username"' in page


def test_the_page_passes_the_api_urls_in_data_attributes(client, plain_user):
    client.force_login(plain_user)

    page = client.get("/").content.decode()

    assert "Daily Ticket Closures" in page
    assert 'data-closures-url="/api/tickets/closures/period"' in page
    assert 'data-sync-url="/api/tickets/sync"' in page
    assert "tickets/vendor/chart.js/chart.umd.min.js" in page
    assert "<script>" not in page  # no inline scripts


def test_plain_users_see_no_admin_extras(client, plain_user):
    client.force_login(plain_user)

    page = client.get("/").content.decode()

    assert 'id="ticket-closures"' in page
    assert 'id="admin-button"' not in page
    assert 'id="admin-modal"' not in page


def test_managers_see_the_admin_extras(client, manager):
    client.force_login(manager)

    page = client.get("/").content.decode()

    assert 'id="admin-button"' in page
    assert 'id="force-sync"' in page
    assert 'id="refresh-mappings"' in page


# --- the answer the page carries (one round trip fewer before the chart is drawn) ---------------

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


@pytest.fixture
def closures(agent, settings) -> Iterator[None]:
    settings.TIME_ZONE = "UTC"
    with time_machine.travel(NOW, tick=False):
        FreshworksUserMapping.objects.create(
            freshworks_user_id=1001, freshworks_username="Oscar S.", user=agent
        )
        for back, count in enumerate([4, 2, 7]):
            TicketClosure.objects.create(
                freshworks_user_id=1001, date=date(2026, 11, 26 - back), tickets_closed=count
            )
        yield


def carried(client, url: str) -> dict | None:
    page = client.get(url)
    assert page.status_code == 200
    found = re.search(
        r'<script id="closures-answer" type="application/json">(.*?)</script>',
        page.content.decode(),
        re.S,
    )
    return json.loads(found.group(1)) if found else None


@pytest.mark.parametrize(
    ("url", "query"),
    [
        ("/", "period=today"),
        ("/?period=week", "period=week"),
        ("/?start=2026-11-01&end=2026-11-25", "start=2026-11-01&end=2026-11-25"),
        ("/?theme=dark&period=month", "theme=dark&period=month"),  # other parameters kept
    ],
)
def test_the_page_carries_the_apis_answer_to_its_first_request(
    client, plain_user, closures, url, query
):
    client.force_login(plain_user)

    answer = carried(client, url)

    assert answer is not None
    assert answer["query"] == query
    api = client.get(f"/api/tickets/closures/period?{query}", HTTP_ACCEPT="application/json")
    assert answer["answer"] == api.json()


def test_the_carried_answer_is_kept_for_the_pages_next_request(
    client, plain_user, closures, django_assert_num_queries
):
    client.force_login(plain_user)
    answer = carried(client, "/?period=month")
    assert answer["answer"]["total"] == 13

    # The session, its user and the tag: the answer itself is not computed again.
    with django_assert_num_queries(3):
        api = client.get(
            "/api/tickets/closures/period?period=month", HTTP_ACCEPT="application/json"
        )
    assert api.json() == answer["answer"]


@pytest.mark.parametrize(
    "url",
    ["/?period=decade", "/?start=2026-11-05", "/?period=week&start=2026-11-01&end=2026-11-02"],
)
def test_a_link_the_api_refuses_carries_no_answer_and_the_page_asks_itself(
    client, plain_user, closures, url
):
    client.force_login(plain_user)

    assert carried(client, url) is None
