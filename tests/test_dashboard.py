"""The page at / (a plain table until the full dashboard lands): login required, today's counts."""

from __future__ import annotations

import pytest
import time_machine
from django.utils import timezone

from tickets.models import FreshworksUserMapping, TicketClosure

pytestmark = pytest.mark.django_db


def test_anonymous_visitors_are_sent_to_log_in(client):
    response = client.get("/")

    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


@time_machine.travel("2026-11-26 12:00:00Z", tick=False)
def test_it_lists_todays_closures_by_agent_name(client, plain_user):
    today = timezone.localdate()
    FreshworksUserMapping.objects.create(freshworks_user_id=1001, freshworks_username="Oscar S.")
    TicketClosure.objects.create(freshworks_user_id=1001, date=today, tickets_closed=4)
    TicketClosure.objects.create(freshworks_user_id=1002, date=today, tickets_closed=7)
    client.force_login(plain_user)

    page = client.get("/").content.decode()

    assert "Total: 11" in page
    assert page.index("Agent 1002") < page.index("Oscar S.")
