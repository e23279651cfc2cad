"""Failed log-ins lock a username out from an address for a while (SPEC §19.5, django-axes)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from axes.models import AccessAttempt
from django.test import Client

from tests.test_settings import load_settings

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 26, 15, 0, tzinfo=UTC)
LOGIN_PAGES = ["/accounts/login/", "/admin/login/", "/api-auth/login/"]


@pytest.fixture(autouse=True)
def at_now() -> Iterator[time_machine.Coordinates]:
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


def log_in(page: str, username: str, password: str, address: str = "10.0.0.1"):
    return Client(REMOTE_ADDR=address).post(
        page, {"username": username, "password": password, "next": "/"}
    )


def fail(times: int, page: str = "/accounts/login/", username: str = "sue.super", **kwargs):
    """Log in with a wrong password `times` times; the answer to the last one."""
    for _ in range(times):
        response = log_in(page, username, "wrong", **kwargs)
    return response


def logged_in(response) -> bool:
    return response.status_code == 302


@pytest.mark.parametrize("page", LOGIN_PAGES)
def test_five_failures_lock_the_username_out_from_that_address(superuser, page):
    assert fail(4, page).status_code == 200
    assert fail(1, page).status_code == 429

    response = log_in(page, "sue.super", "pw")

    assert response.status_code == 429
    assert response["Content-Type"].startswith("text/html")
    text = response.content.decode()
    assert "Too many failed log-ins" in text
    assert "<strong>sue.super</strong> is locked out from this address after 5 failed" in text
    assert "for 15 minutes" in text
    assert "Traceback" not in text


def test_four_failures_and_a_success_start_the_count_again(superuser):
    fail(4)
    assert logged_in(log_in("/accounts/login/", "sue.super", "pw"))

    fail(4)

    assert logged_in(log_in("/accounts/login/", "sue.super", "pw"))


def test_the_lock_counts_failures_on_every_log_in_page_together(superuser):
    for page in (*LOGIN_PAGES, *LOGIN_PAGES[:2]):
        log_in(page, "sue.super", "wrong")

    assert log_in("/api-auth/login/", "sue.super", "pw").status_code == 429


def test_the_lock_holds_one_username_at_one_address(superuser, admin_member):
    fail(5)

    assert logged_in(log_in("/accounts/login/", "sue.super", "pw", address="10.0.0.2"))
    assert logged_in(log_in("/accounts/login/", "ada.admin", "pw"))


def test_the_lock_ends_after_fifteen_minutes(superuser, at_now):
    fail(5)
    at_now.shift(timedelta(minutes=14))
    assert log_in("/accounts/login/", "sue.super", "pw").status_code == 429

    at_now.shift(timedelta(minutes=1, seconds=1))

    assert logged_in(log_in("/accounts/login/", "sue.super", "pw"))


def test_the_limit_and_the_lock_follow_the_settings(superuser, settings, at_now):
    settings.AXES_FAILURE_LIMIT = settings.LOGIN_FAILURE_LIMIT = 2
    settings.AXES_COOLOFF_TIME = timedelta(minutes=1)
    settings.LOGIN_LOCKOUT_MINUTES = 1
    fail(2)

    locked = log_in("/accounts/login/", "sue.super", "pw")
    at_now.shift(timedelta(minutes=1, seconds=1))

    assert locked.status_code == 429
    assert "after 2 failed log-ins in a row, for 1 minute." in locked.content.decode()
    assert logged_in(log_in("/accounts/login/", "sue.super", "pw"))


def test_the_settings_come_from_the_environment():
    code = (
        "import django; django.setup(); from django.conf import settings as s; "
        "print(s.AXES_FAILURE_LIMIT, s.AXES_COOLOFF_TIME)"
    )
    assert load_settings(code).stdout.strip() == "5 0:15:00"
    loaded = load_settings(code, LOGIN_FAILURE_LIMIT="3", LOGIN_LOCKOUT_MINUTES="60")
    assert loaded.stdout.strip() == "3 1:00:00"
    bad = load_settings(code, LOGIN_FAILURE_LIMIT="0")
    assert "LOGIN_FAILURE_LIMIT='0' is not valid" in bad.stderr


def test_an_admin_unlocks_a_username_by_deleting_its_access_attempt(superuser, admin_member):
    fail(5, username="ada.admin")
    [attempt] = AccessAttempt.objects.filter(username="ada.admin")
    admin = Client()
    admin.force_login(superuser)
    assert admin.get("/admin/axes/accessattempt/").status_code == 200

    admin.post(f"/admin/axes/accessattempt/{attempt.pk}/delete/", {"post": "yes"})

    assert not AccessAttempt.objects.exists()
    assert logged_in(log_in("/accounts/login/", "ada.admin", "pw"))
