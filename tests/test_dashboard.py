"""The page at /: login required, a container the static JS fills from the API."""

from __future__ import annotations

import pytest

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
