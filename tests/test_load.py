"""Twenty sync presses at once behind gunicorn (4 workers) on PostgreSQL: exactly one sync runs.

The whole production path: gunicorn worker processes sharing the test database, DRF token auth,
the database lease and the per-date rate limit, the real client against the stand-in Freshservice
(demo.freshservice) in this process. One press syncs; the other nineteen are refused with 429
(in progress, or rate limited once the first has finished); none is answered 5xx.
"""

from __future__ import annotations

import math
import os
import threading
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from urllib.parse import quote
from zoneinfo import ZoneInfo

import pytest
import requests
from django.db import connection
from rest_framework.authtoken.models import Token

from tests import servers
from tests.upstream import StandIn, serve_stand_in
from tickets.models import SyncRun, TicketClosure

pytestmark = [pytest.mark.postgres, pytest.mark.real_clock, pytest.mark.django_db(transaction=True)]

KEY = "sk-live-LOAD-TEST-KEY-789"
WORKERS = 4
PRESSES = 20


def _late_afternoon_zone(now: datetime) -> str:
    """A fixed-offset zone where it is 17:xx now: today holds most of a working day's closures,
    whenever the suite runs, and midnight is hours away from both the test and the server."""
    offset = (17 - now.hour + 12) % 24 - 12  # -12..+11 hours
    return f"Etc/GMT{-offset:+d}"  # POSIX sign: Etc/GMT-3 is UTC+3


def _database_url() -> str:
    """The test database pytest-django created (NAME is the test database's name)."""
    db = connection.settings_dict
    user, password = quote(db["USER"], safe=""), quote(db["PASSWORD"], safe="")
    host, port = db["HOST"] or "127.0.0.1", db["PORT"] or 5432
    return f"postgres://{user}:{password}@{host}:{port}/{db['NAME']}"


@dataclass
class Upstream:
    sim: StandIn
    now: datetime
    zone: str

    @property
    def today(self) -> date:
        return self.now.astimezone(ZoneInfo(self.zone)).date()

    def tickets_changed_today(self) -> int:
        """What the first sync ever fetches: every ticket updated since the start of today."""
        midnight = datetime.combine(self.today, datetime.min.time(), tzinfo=ZoneInfo(self.zone))
        return sum(
            datetime.fromisoformat(ticket["updated_at"]) >= midnight
            for ticket in self.sim.world.visible_tickets(now=self.now)
        )


@pytest.fixture
def upstream(settings) -> Iterator[Upstream]:
    """The stand-in Freshservice, its clock held still so its truth and the sync agree exactly."""
    now = datetime.now(UTC).replace(microsecond=0)
    zone = _late_afternoon_zone(now)
    settings.TIME_ZONE = zone  # so this process's "today" is the server's
    with serve_stand_in(api_key=KEY, agents=25, days=3, tz=zone, clock=lambda: now) as sim:
        yield Upstream(sim, now, zone)


@pytest.fixture
def gunicorn(upstream, tmp_path) -> Iterator[tuple[str, Path]]:
    """gunicorn with 4 workers on the test database; yields its URL and its stderr log."""
    env = {
        "PATH": os.environ["PATH"],
        "ENV_FILE": "",
        "DEBUG": "0",
        "HTTPS": "0",  # plain HTTP on loopback; production default is HTTPS only
        "SECRET_KEY": "load-test-secret-key-not-for-production",
        "ALLOWED_HOSTS": "127.0.0.1",
        "DATABASE_URL": _database_url(),
        "FRESH_API": KEY,
        "FRESH_ENDPOINT": upstream.sim.endpoint,
        # The stand-in listens on plain loopback HTTP, which the client allows in demo mode only
        # (the vendor requires HTTPS, SPEC §14.7); nothing else here depends on the flag.
        "DEMO_MODE": "1",
        "FRESH_GROUP_ID": str(upstream.sim.world.group_id),
        "TIME_ZONE": upstream.zone,
    }
    log_path = tmp_path / "gunicorn.stderr"
    with servers.gunicorn(env, workers=WORKERS, log_path=log_path) as url:
        yield url, log_path


def _press_sync_at_once(url: str, token: str, presses: int) -> list[requests.Response]:
    start = threading.Barrier(presses)
    answers: list[requests.Response] = []
    failures: list[BaseException] = []

    def press() -> None:
        try:
            start.wait(10)
            answers.append(
                requests.post(
                    f"{url}/api/tickets/sync",
                    json={},
                    headers={"Authorization": f"Token {token}"},
                    timeout=30,
                )
            )
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=press) for _ in range(presses)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(40)
    assert not failures, failures
    return answers


def test_twenty_presses_at_once_behind_four_workers_sync_once_and_refuse_the_rest(
    upstream, gunicorn, plain_user
):
    url, log_path = gunicorn
    token = Token.objects.create(user=plain_user).key
    changed = upstream.tickets_changed_today()
    pages = max(1, math.ceil(changed / 100))
    # The sync meets agents it has no name for and reads the agent list once: its active and its
    # inactive listing, one page each (25 agents of the team, 40 of another group).
    agent_list = 2
    truth = upstream.sim.world.expected_closures(now=upstream.now).get(upstream.today, {})
    assert sum(truth.values()) > 0

    answers = _press_sync_at_once(url, token, PRESSES)

    statuses = Counter(answer.status_code for answer in answers)
    assert statuses == {200: 1, 429: PRESSES - 1}, statuses
    (synced,) = [answer.json() for answer in answers if answer.status_code == 200]
    assert synced["synced"] is True
    assert synced["date"] == upstream.today.isoformat()
    # The team's group (read once a day), the pages, and the agent list.
    assert (synced["tickets_processed"], synced["api_calls"]) == (changed, 1 + pages + agent_list)
    for answer in answers:
        if answer.status_code == 429:
            refusal = answer.json()
            assert refusal["synced"] is False
            assert refusal.get("rate_limited") is True or refusal.get("in_progress") is True
            if refusal.get("rate_limited"):
                assert int(answer.headers["Retry-After"]) >= 1
    # Exactly one sync's worth of upstream calls: the group's read, the list pages of one fetch
    # and one read of the agent list, nothing more.
    assert upstream.sim.calls == 1 + pages + agent_list
    group_read, *_ = upstream.sim.paths
    assert group_read == f"/api/v2/groups/{upstream.sim.world.group_id}"
    assert sum(path.startswith("/api/v2/groups/") for path in upstream.sim.paths) == 1
    assert sum(path.startswith("/api/v2/tickets?") for path in upstream.sim.paths) == pages
    assert sum(path.startswith("/api/v2/agents?") for path in upstream.sim.paths) == agent_list
    run = SyncRun.objects.get()
    assert (run.status, run.trigger) == (SyncRun.Status.SUCCESS, SyncRun.Trigger.BUTTON)
    assert (run.tickets_processed, run.api_calls) == (changed, 1 + pages + agent_list)
    assert (
        dict(
            TicketClosure.objects.filter(date=upstream.today).values_list(
                "freshworks_user_id", "tickets_closed"
            )
        )
        == truth
    )
    server_log = log_path.read_text()
    assert "Traceback" not in server_log
    assert KEY not in server_log
    assert server_log.count("INFO tickets.sync: Synced ") == 1
