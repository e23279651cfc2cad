"""Shared fixtures: a small named cast of users and a configured Freshservice."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group, User

ENDPOINT = "https://acme.freshservice.com/api/v2/"
API_KEY = "sk-test-SECRET-api-key-0123456789"
GROUP_ID = 18000294963


@pytest.fixture
def fresh(settings):
    """Freshservice configured as in production, pointing at a host requests-mock answers for."""
    settings.FRESH_API = API_KEY
    settings.FRESH_ENDPOINT = ENDPOINT
    settings.FRESH_GROUP_ID = GROUP_ID
    settings.FRESH_WORKSPACE_ID = None
    settings.FRESH_CLOSED_STATUSES = (4, 5)
    settings.FRESH_TIMEOUT_SECONDS = 30
    settings.FRESH_MAX_WAIT_SECONDS = 120
    settings.SYNC_MIN_INTERVAL_MINUTES = 60
    settings.DEMO_MODE = False
    return settings


@pytest.fixture
def plain_user(db) -> User:
    return User.objects.create_user("pat.plain", password="pw", first_name="Pat", last_name="Plain")


@pytest.fixture
def agent(db) -> User:
    return User.objects.create_user(
        "oscar.solis", password="pw", first_name="Oscar", last_name="Solis"
    )


@pytest.fixture
def manager(db) -> User:
    user = User.objects.create_user(
        "mia.manager", password="pw", first_name="Mia", last_name="Manager", is_staff=True
    )
    user.groups.add(Group.objects.get(name="Manager"))
    return user
