"""A sync started from the web has a deadline (SPEC §19.2): behind gunicorn, with the project's
gunicorn.conf.py, a slow Freshservice makes it fail cleanly — a 504 JSON answer, a failed
SyncRun, a log line — and the worker lives on to serve the next request."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, datetime

import pytest
import requests

from tests import servers
from tests.upstream import serve_stand_in

pytestmark = pytest.mark.real_clock  # gunicorn and the stand-in run on the real clock

KEY = "sk-live-DEADLINE-TEST-KEY-456"
WEB_SYNC_SECONDS = 2
# Longer than gunicorn.conf.py's worker timeout (WEB_SYNC_SECONDS + 35 s): were the sync not
# to stop itself, gunicorn would kill the worker.
SLOWER_THAN_GUNICORN = 60


def _manage(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [sys.executable, str(servers.BASE_DIR / "manage.py"), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return done.stdout


def test_a_web_sync_past_its_deadline_answers_504_records_it_and_the_worker_lives_on(tmp_path):
    now = datetime.now(UTC).replace(microsecond=0)
    with serve_stand_in(api_key=KEY, agents=5, days=2, clock=lambda: now) as stand_in:
        database = tmp_path / "db.sqlite3"
        env = {
            "PATH": os.environ["PATH"],
            "ENV_FILE": "",
            "DEBUG": "0",
            "HTTPS": "0",  # plain HTTP on loopback
            "SECRET_KEY": "deadline-test-secret-key",
            "ALLOWED_HOSTS": "127.0.0.1",
            "DATABASE_URL": f"sqlite:///{database}",
            "FRESH_API": KEY,
            "FRESH_ENDPOINT": stand_in.endpoint,
            # The stand-in speaks plain loopback HTTP, which the client allows in demo mode only.
            "DEMO_MODE": "1",
            "FRESH_GROUP_ID": str(stand_in.world.group_id),
            "WEB_SYNC_SECONDS": str(WEB_SYNC_SECONDS),
        }
        _manage(env, "migrate", "--noinput", "-v", "0")
        _manage(
            env,
            "shell",
            "-c",
            "from django.contrib.auth.models import User; User.objects.create_user('wallscreen')",
        )
        token = _manage(env, "drf_create_token", "wallscreen").split()[2]
        headers = {"Authorization": f"Token {token}"}
        log_path = tmp_path / "gunicorn.stderr"
        with servers.gunicorn(env, workers=1, log_path=log_path) as url:
            stand_in.faults.slow_next(SLOWER_THAN_GUNICORN)
            started = time.monotonic()

            answer = requests.post(f"{url}/api/tickets/sync", json={}, headers=headers, timeout=90)

            took = time.monotonic() - started
            assert answer.status_code == 504, answer.text
            assert answer.headers["Content-Type"].startswith("application/json")
            body = answer.json()
            assert body["synced"] is False
            assert f"{WEB_SYNC_SECONDS} s time limit" in body["detail"]
            assert "WEB_SYNC_SECONDS" in body["detail"]
            assert took < WEB_SYNC_SECONDS + 10
            with sqlite3.connect(database) as db:
                runs = db.execute("SELECT status, trigger, error FROM tickets_syncrun").fetchall()
            assert runs == [("failed", "button", body["detail"])]

            # The same worker answers the next press, which syncs.
            again = requests.post(f"{url}/api/tickets/sync", json={}, headers=headers, timeout=30)

            assert again.status_code == 200, again.text
            assert again.json()["synced"] is True
        log = log_path.read_text()
    assert "timed out: Gave up on Freshservice within the 2 s time limit" in log
    assert log.count("Booting worker") == 1
    assert "WORKER TIMEOUT" not in log
    assert KEY not in log
