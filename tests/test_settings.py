"""Configuration is read once from the environment and fails loudly, naming the variable."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

BASE_DIR = Path(__file__).resolve().parent.parent
PRINT = (
    "import django; django.setup(); from django.conf import settings as s; "
    "print(s.TIME_ZONE, s.FRESH_CLOSED_STATUSES, s.FRESH_ENDPOINT, s.SYNC_SCHEDULE, s.DEBUG)"
)


def load_settings(code: str = PRINT, **env: str | None) -> subprocess.CompletedProcess:
    """Start Python with only these variables (None: unset), as a fresh server process would."""
    base = {
        "PATH": os.environ["PATH"],
        "ENV_FILE": "",
        "DJANGO_SETTINGS_MODULE": "yam.settings",
        "SECRET_KEY": "s3cret-for-this-test",
    }
    return subprocess.run(
        [sys.executable, "-c", code],
        env={name: value for name, value in (base | env).items() if value is not None},
        cwd=BASE_DIR,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_defaults_load_with_a_secret_key():
    loaded = load_settings()

    assert loaded.returncode == 0, loaded.stderr
    assert loaded.stdout.strip() == "UTC (4, 5)  0 8-18 * * * False"


def test_production_refuses_to_start_without_a_secret_key():
    loaded = load_settings(SECRET_KEY="")

    assert loaded.returncode != 0
    assert "SECRET_KEY is not set" in loaded.stderr


def test_debug_runs_without_a_secret_key():
    loaded = load_settings(SECRET_KEY="", DEBUG="1")

    assert loaded.returncode == 0, loaded.stderr


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("SYNC_MIN_INTERVAL_MINUTES", "hourly"),
        ("FRESH_TIMEOUT_SECONDS", "0"),
        ("FRESH_MAX_WAIT_SECONDS", "-1"),
        ("FRESH_GROUP_ID", "group-a"),
        ("FRESH_GROUP_ID", "18000294963,ops"),
        ("FRESH_GROUP_ID", "18000294963,,18000295127"),
        ("FRESH_GROUP_ID", "18000294963,18000294963"),
        ("FRESH_GROUP_ID", "0"),
        ("FRESH_WORKSPACE_ID", "x"),
        ("FRESH_CLOSED_STATUSES", "resolved,closed"),
        ("FRESH_ENDPOINT", "acme.freshservice.com"),
        ("TIME_ZONE", "Mars/Olympus_Mons"),
        ("SYNC_SCHEDULE", "every hour"),
        ("DEMO_MODE", "maybe"),
        ("DEBUG", "perhaps"),
        ("SESSION_DAYS", "0"),
        ("DATABASE_URL", "nosuchdb://x"),
        ("FRESH_BUDGET_RESERVE", "1"),
        ("FRESH_BUDGET_RESERVE", "20%"),
        ("REPAIR_SCHEDULE", "nightly"),
        ("REPAIR_DAYS", "0"),
        ("REPAIR_DAYS", "400"),
        ("WORKDAYS", "monday-friday"),
        ("WORKDAYS", "mon,tue,funday"),
        ("WORKDAYS", ","),
        ("TV_ROTATE_SECONDS", "0"),
    ],
)
def test_a_malformed_value_stops_start_up_naming_the_variable(variable, value):
    loaded = load_settings(**{variable: value})

    assert loaded.returncode != 0
    assert "ImproperlyConfigured" in loaded.stderr
    assert variable in loaded.stderr.strip().splitlines()[-1]


@pytest.mark.parametrize(
    ("value", "groups"),
    [
        ("18000294963", "(18000294963,)"),
        (" 18000294963 , 18000295127 ", "(18000294963, 18000295127)"),
        (None, "()"),
    ],
)
def test_fresh_group_id_is_one_group_or_several_separated_by_commas(value, groups):
    code = "import django; django.setup(); from django.conf import settings as s; "
    loaded = load_settings(code + "print(s.FRESH_GROUP_ID)", FRESH_GROUP_ID=value)

    assert loaded.returncode == 0, loaded.stderr
    assert loaded.stdout.strip() == groups


def test_the_group_is_required_once_an_api_key_is_set():
    loaded = load_settings(FRESH_API="key-that-must-not-leak", FRESH_ENDPOINT="https://a.b/api/v2")

    assert loaded.returncode != 0
    assert "FRESH_GROUP_ID is not set" in loaded.stderr
    assert "key-that-must-not-leak" not in loaded.stderr


def test_values_are_normalised():
    loaded = load_settings(
        FRESH_ENDPOINT="https://acme.freshservice.com/api/v2",
        FRESH_CLOSED_STATUSES="4, 5, 7",
        SYNC_SCHEDULE="0  *  * * *",
        TIME_ZONE="America/New_York",
    )

    assert loaded.stdout.strip() == (
        "America/New_York (4, 5, 7) https://acme.freshservice.com/api/v2/ 0 * * * * False"
    )


def test_workdays_are_weekday_names_read_as_numbers_from_monday_0():
    code = "import django; django.setup(); from django.conf import settings as s; print(s.WORKDAYS)"

    assert load_settings(code).stdout.strip() == "(0, 1, 2, 3, 4)"
    assert load_settings(code, WORKDAYS="Sunday, mon,TUE,sat").stdout.strip() == "(0, 1, 5, 6)"


def test_a_dot_env_file_is_read_and_the_environment_wins(tmp_path):
    env_file = tmp_path / ".env"
    env_file.write_text("TIME_ZONE=Europe/Paris\nSYNC_SCHEDULE=0 * * * *\n")

    loaded = load_settings(ENV_FILE=str(env_file), SYNC_SCHEDULE="30 9 * * 1-5")

    assert loaded.stdout.strip() == "Europe/Paris (4, 5)  30 9 * * 1-5 False"


def test_the_repair_job_is_scheduled_only_when_repair_schedule_is_set():
    code = (
        "import django; django.setup(); from django.conf import settings as s; "
        "print(s.CRONJOBS, s.REPAIR_DAYS, s.FRESH_BUDGET_RESERVE)"
    )

    off = load_settings(code)
    on = load_settings(code, REPAIR_SCHEDULE="30  2 * * *", REPAIR_DAYS="3")

    assert off.stdout.strip() == "[('0 8-18 * * *', 'tickets.cron.scheduled_sync')] 7 0.2"
    assert on.stdout.strip() == (
        "[('0 8-18 * * *', 'tickets.cron.scheduled_sync'), "
        "('30 2 * * *', 'tickets.cron.repair_sync')] 3 0.2"
    )


def test_sync_logs_go_to_stderr_and_to_log_file_when_set(tmp_path):
    log_file = tmp_path / "logs" / "ticket_sync.log"
    code = "import django, logging; django.setup(); logging.getLogger('tickets.sync').info('hello')"

    loaded = load_settings(code, LOG_FILE=str(log_file))

    assert "INFO tickets.sync: hello" in loaded.stderr
    assert "INFO tickets.sync: hello" in log_file.read_text()


SPEC_VARIABLES = set(
    [
        "FRESH_API",
        "FRESH_ENDPOINT",
        "FRESH_GROUP_ID",
        "FRESH_WORKSPACE_ID",
        "FRESH_CLOSED_STATUSES",
        "FRESH_IDS_FILE",
        "SYNC_MIN_INTERVAL_MINUTES",
        "FRESH_TIMEOUT_SECONDS",
        "FRESH_MAX_WAIT_SECONDS",
        "SYNC_SCHEDULE",
        "WORKDAYS",
        "LOG_FILE",
        "DEMO_MODE",
        "TIME_ZONE",
        "DATABASE_URL",
        "SECRET_KEY",
        "DEBUG",
        "ALLOWED_HOSTS",
        "SESSION_DAYS",
        # beyond SPEC §3: production HTTPS
        "HTTPS",
        "TRUST_X_FORWARDED_PROTO",
        # SPEC §14: the budget reserve and the repair job
        "FRESH_BUDGET_RESERVE",
        "REPAIR_SCHEDULE",
        "REPAIR_DAYS",
        "DIGEST_SCHEDULE",
        "DIGEST_TO",
        "DIGEST_WEBHOOK_URL",
        "EMAIL_URL",
        "DEFAULT_FROM_EMAIL",
        # SPEC §17: wall screens
        "TV_ROTATE_SECONDS",
        "WEB_SYNC_SECONDS",
        "LOGIN_FAILURE_LIMIT",
        "LOGIN_LOCKOUT_MINUTES",
        "BACKFILL_PAGES_AT_ONCE",
    ]
)


def test_env_example_lists_every_variable_each_under_a_comment():
    lines = (BASE_DIR / ".env.example").read_text().splitlines()
    listed = {}
    for number, line in enumerate(lines):
        if line and not line.startswith("#"):
            listed[line.split("=", 1)[0]] = lines[number - 1]

    assert set(listed) == SPEC_VARIABLES
    assert all(previous.startswith("#") for previous in listed.values())


def test_env_example_with_a_secret_key_is_a_working_configuration(tmp_path):
    env_file = tmp_path / ".env"
    env_file.write_text((BASE_DIR / ".env.example").read_text() + "SECRET_KEY=x\n")

    loaded = load_settings(
        "import django; django.setup(); from django.conf import settings as s; "
        "print(s.DATABASES['default']['NAME'])",
        ENV_FILE=str(env_file),
        SECRET_KEY=None,
    )

    assert loaded.returncode == 0, loaded.stderr
    assert loaded.stdout.strip() == str(BASE_DIR / "db.sqlite3")


def test_production_settings_pass_the_deploy_checks():
    loaded = load_settings(
        "import django, sys; django.setup(); from django.core.management import call_command; "
        "call_command('check', '--deploy', '--fail-level', 'WARNING')",
        SECRET_KEY="a-long-random-production-secret-key-" + "x" * 40,
        ALLOWED_HOSTS="yam.example.com",
    )

    # Without the crontab program (a developer machine) only tickets.W001 may remain; CI has it.
    if shutil.which("crontab"):
        assert loaded.returncode == 0, loaded.stderr
        assert "no issues" in loaded.stdout
    else:
        assert "(tickets.W001)" in loaded.stderr
        assert "security." not in loaded.stderr


def test_production_redirects_to_https_except_the_health_check():
    code = (
        "import django; django.setup(); from django.test import Client; c = Client(); "
        "print(c.get('/').status_code, c.get('/').headers.get('Location'), "
        "c.get('/healthz').status_code != 301)"
    )
    loaded = load_settings(code, ALLOWED_HOSTS="testserver", DATABASE_URL="sqlite://:memory:")

    assert loaded.stdout.split() == ["301", "https://testserver/", "True"]


def test_a_log_in_lasts_session_days():
    loaded = load_settings(
        "import django; django.setup(); from django.conf import settings as s; "
        "print(s.SESSION_COOKIE_AGE)",
        SESSION_DAYS="7",
    )

    assert loaded.stdout.strip() == str(7 * 24 * 3600)


def test_the_apps_sqlite_connections_use_the_write_ahead_log(tmp_path):
    """Every connection to a SQLite file: WAL (readers and the sync's writes do not wait for
    each other) and synchronous=NORMAL (no sync to disk at every commit); see README, Set-up."""
    database = tmp_path / "db.sqlite3"
    loaded = load_settings(
        "import django; django.setup(); from django.db import connection; "
        "cursor = connection.cursor(); "
        "print(cursor.execute('PRAGMA journal_mode').fetchone()[0], "
        "cursor.execute('PRAGMA synchronous').fetchone()[0])",
        DATABASE_URL=f"sqlite:///{database}",
    )

    assert loaded.returncode == 0, loaded.stderr
    assert loaded.stdout.split() == ["wal", "1"]  # 1: NORMAL
