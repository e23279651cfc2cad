"""Long requests (SPEC §19.2): a sync started from the web has a total time limit,
WEB_SYNC_SECONDS, waits and slow answers included, and reaches back at most 31 days; past the
limit it fails cleanly with a 504 JSON answer and a failed SyncRun. Also: every unhandled
exception is logged in production (SPEC §19.3).

The gunicorn side (the worker is never killed) is tests/test_web_sync_deadline.py.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
import time_machine
from rest_framework.test import APIClient

from freshworks.client import FreshserviceClient, FreshworksDeadlineError
from tests.conftest import ENDPOINT
from tests.freshservice_data import make_page, make_ticket
from tests.upstream import FakeFreshservice
from tickets.models import SyncRun
from tickets.services.sync import SyncTimedOut, sync_closures

BASE_DIR = Path(__file__).resolve().parent.parent
API_KEY = "sk-test-SECRET-api-key-0123456789"
TICKETS_URL = f"{ENDPOINT}tickets"
SINCE = datetime(2026, 11, 26, 8, 0, tzinfo=UTC)
# Thursday 26 November 2026, 15:00 UTC.
NOW = datetime(2026, 11, 26, 15, 0, tzinfo=UTC)
TODAY = date(2026, 11, 26)
ONE_TICKET = {"json": make_page(make_ticket(id=301))}


class Clock:
    """The client's clock, moved by its sleeps and by the test (a slow answer)."""

    def __init__(self) -> None:
        self.now = NOW
        self.sleeps: list[float] = []

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.advance(seconds)


@pytest.fixture
def clock() -> Clock:
    return Clock()


def limited_client(clock: Clock, time_limit: float, **options: Any) -> FreshserviceClient:
    return FreshserviceClient(
        api_key=API_KEY,
        endpoint=ENDPOINT,
        sleep=clock.sleep,
        clock=clock,
        time_limit=time_limit,
        **options,
    )


def fetch(client: FreshserviceClient) -> list:
    return list(client.iter_ticket_pages(updated_since=SINCE))


FIRST_URL = f"{TICKETS_URL}?updated_since=2026-11-26T08%3A00%3A00Z&include=stats&per_page=100"


def slow_first_page(requests_mock: Any, clock: Clock, *, seconds: float) -> None:
    """Page 1 (of 2) answers after `seconds` by the client's clock."""

    def answer(request: Any, context: Any) -> dict:
        clock.advance(seconds)
        context.headers["Link"] = f'<{FIRST_URL}&page=2>; rel="next"'
        return make_page(make_ticket(id=301))

    requests_mock.get(f"{FIRST_URL}&page=1", complete_qs=True, json=answer)


# --- the client's time limit --------------------------------------------------------------------


def test_a_retry_after_longer_than_the_time_left_gives_up_at_once(requests_mock, clock):
    requests_mock.get(TICKETS_URL, status_code=429, headers={"Retry-After": "15"})
    client = limited_client(clock, 10)

    with pytest.raises(FreshworksDeadlineError) as raised:
        fetch(client)

    assert str(raised.value) == (
        "Gave up on Freshservice within the 10 s time limit: waiting 15 s before "
        "/api/v2/tickets would pass it (1 API calls made)."
    )
    assert clock.sleeps == []


def test_waits_on_retry_after_count_against_the_time_limit(requests_mock, clock):
    too_many = {"status_code": 429, "headers": {"Retry-After": "6"}}
    requests_mock.get(TICKETS_URL, [too_many, too_many, ONE_TICKET])
    client = limited_client(clock, 10)

    with pytest.raises(FreshworksDeadlineError, match="waiting 6 s"):
        fetch(client)

    assert clock.sleeps == [6]
    assert client.api_calls == 2


def test_the_budget_reserve_wait_counts_against_the_time_limit(requests_mock, clock):
    low = {"X-RateLimit-Total": "100", "X-RateLimit-Remaining": "5"}
    requests_mock.get(TICKETS_URL, json=make_page(make_ticket(id=301)), headers=low)
    client = limited_client(clock, 30)
    fetch(client)  # the answer leaves less than the reserve: the next call waits a minute

    with pytest.raises(FreshworksDeadlineError, match="waiting 60 s"):
        fetch(client)

    assert clock.sleeps == []


def test_each_request_waits_for_its_answer_no_longer_than_the_time_left(requests_mock, clock):
    slow_first_page(requests_mock, clock, seconds=4)
    requests_mock.get(f"{FIRST_URL}&page=2", complete_qs=True, **ONE_TICKET)
    client = limited_client(clock, 10, timeout=30)

    assert len(fetch(client)) == 2

    first, second = requests_mock.request_history
    assert first.timeout == (5, 10)
    assert second.timeout == (5, 6)


def test_paging_stops_before_the_next_page_once_the_time_is_up(requests_mock, clock):
    slow_first_page(requests_mock, clock, seconds=11)
    client = limited_client(clock, 10)

    with pytest.raises(FreshworksDeadlineError, match="ran out before /api/v2/tickets"):
        fetch(client)

    assert client.api_calls == 1


def test_an_answer_cut_short_by_the_time_limit_is_not_retried(requests_mock, clock):
    def too_slow(request: Any, context: Any) -> dict:
        clock.advance(request.timeout[1])
        raise requests.ReadTimeout("read timed out")

    requests_mock.get(TICKETS_URL, json=too_slow)
    client = limited_client(clock, 10)

    with pytest.raises(FreshworksDeadlineError, match="ran out waiting for its answer"):
        fetch(client)

    assert client.api_calls == 1
    assert clock.sleeps == []


def test_a_retry_whose_back_off_would_pass_the_time_limit_is_not_made(requests_mock, clock):
    requests_mock.get(TICKETS_URL, status_code=500)
    client = limited_client(clock, 2.5)

    with pytest.raises(FreshworksDeadlineError, match="waiting 2 s"):
        fetch(client)

    assert clock.sleeps == [1]  # after the first 500; the second back-off would pass it
    assert client.api_calls == 2


def test_a_time_limit_must_be_positive():
    with pytest.raises(Exception, match="time limit must be a positive number"):
        FreshserviceClient(api_key=API_KEY, endpoint=ENDPOINT, time_limit=0)


# --- the sync and the API -----------------------------------------------------------------------


@pytest.fixture
def at_now() -> Iterator[None]:
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def api(plain_user, at_now) -> APIClient:
    client = APIClient()
    client.force_login(plain_user)
    return client


@pytest.fixture
def manager_api(manager, at_now) -> APIClient:
    client = APIClient()
    client.force_login(manager)
    return client


@pytest.mark.django_db
def test_a_sync_past_its_time_limit_records_a_failed_run_and_logs_why(
    requests_mock, fresh, sleeps, caplog, at_now
):
    requests_mock.get(TICKETS_URL, status_code=429, headers={"Retry-After": "30"})

    with pytest.raises(SyncTimedOut) as raised:
        sync_closures(trigger=SyncRun.Trigger.BUTTON, time_limit=25)

    run = SyncRun.objects.get()
    assert run.status == SyncRun.Status.FAILED
    assert (
        run.error
        == str(raised.value)
        == (
            "Gave up on Freshservice within the 25 s time limit: waiting 30 s before "
            "/api/v2/tickets would pass it (2 API calls made). Syncs started from the web stop "
            "there (WEB_SYNC_SECONDS) and change nothing; sync long ranges with manage.py "
            "sync_daily_closures."
        )
    )
    assert raised.value.run == run
    assert f"Sync of {TODAY} timed out: Gave up on Freshservice" in caplog.text
    assert sleeps == []


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["sync", "force-sync"])
def test_a_web_sync_past_web_sync_seconds_answers_504_json(
    manager_api, requests_mock, fresh, sleeps, path
):
    fresh.WEB_SYNC_SECONDS = 5
    requests_mock.get(TICKETS_URL, status_code=429, headers={"Retry-After": "10"})

    response = manager_api.post(f"/api/tickets/{path}", {}, format="json")

    assert response.status_code == 504
    body = response.json()
    assert body == {"synced": False, "detail": SyncRun.objects.get().error}
    assert "within the 5 s time limit" in body["detail"]
    assert SyncRun.objects.get().status == SyncRun.Status.FAILED
    assert sleeps == []


@pytest.mark.django_db
def test_a_web_sync_reaches_back_at_most_31_days(manager_api, requests_mock, fresh):
    upstream = FakeFreshservice(requests_mock)
    too_old = TODAY - timedelta(days=31)

    refused = manager_api.post("/api/tickets/force-sync", {"date": str(too_old)}, format="json")

    assert refused.status_code == 400
    assert refused.json() == {
        "date": [
            "A sync started from the web reaches back at most 31 days (it fetches everything "
            f"changed since {too_old}); sync older dates with `manage.py sync_daily_closures "
            f"--date {too_old}`."
        ]
    }
    assert upstream.calls == 0
    assert not SyncRun.objects.exists()

    oldest = TODAY - timedelta(days=30)
    synced = manager_api.post("/api/tickets/force-sync", {"date": str(oldest)}, format="json")

    assert synced.status_code == 200
    assert SyncRun.objects.get().first_date == oldest


# --- errors are logged in production (SPEC §19.3) -----------------------------------------------

RAISE_IN_A_VIEW = """
import django
django.setup()
from django.test import Client
from django.test.utils import override_settings
from django.urls import path

def broken(request):
    raise ZeroDivisionError("a bug in a view")

urlpatterns = [path("broken", broken)]
with override_settings(ROOT_URLCONF=__name__):
    answer = Client(raise_request_exception=False).get("/broken", secure=True)
print(answer.status_code)
"""


def test_production_logs_every_unhandled_exception_to_stderr_and_log_file(tmp_path):
    log_file = tmp_path / "logs" / "yam.log"
    env = {
        "PATH": os.environ["PATH"],
        "ENV_FILE": "",
        "DJANGO_SETTINGS_MODULE": "yam.settings",
        "DEBUG": "0",
        "SECRET_KEY": "production-logging-test-key",
        "ALLOWED_HOSTS": "testserver",
        "LOG_FILE": str(log_file),
    }

    done = subprocess.run(
        [sys.executable, "-c", RAISE_IN_A_VIEW],
        env=env,
        cwd=BASE_DIR,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert done.stdout.strip() == "500", done.stderr
    for log in (done.stderr, log_file.read_text()):
        assert "ERROR django.request: Internal Server Error: /broken" in log
        assert "ZeroDivisionError: a bug in a view" in log
