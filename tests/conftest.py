"""Shared fixtures: a small named cast of users and a configured Freshservice."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pytest
import time_machine
from django.contrib.auth.models import Group, User
from django.core.management import execute_from_command_line

from freshworks.client import FreshserviceClient

ENDPOINT = "https://acme.freshservice.com/api/v2/"
API_KEY = "sk-test-SECRET-api-key-0123456789"
GROUP_ID = 18000294963


@pytest.fixture
def sleeps(monkeypatch) -> list[float]:
    """Every sleep the client asks for (Retry-After, backoff), recorded instead of slept."""
    recorded: list[float] = []

    def client(**options: Any) -> FreshserviceClient:
        # allow_http: the tests' stand-in Freshservice listens on plain loopback HTTP.
        return FreshserviceClient(**options | {"sleep": recorded.append, "allow_http": True})

    monkeypatch.setattr("tickets.services.sync.fetch.FreshserviceClient", client)
    return recorded


@pytest.fixture
def fresh(settings, sleeps, requests_mock):
    """Freshservice configured as in production, pointing at a host requests-mock answers for.

    The team's group (`GET groups/{GROUP_ID}`, which every sync reads once a day) is answered
    by default, in the primary workspace; a test's own matchers for it, or a FakeFreshservice,
    take precedence.
    """
    from tests.freshservice_data import make_group

    requests_mock.get(f"{ENDPOINT}groups/{GROUP_ID}", json=make_group(id=GROUP_ID))
    settings.FRESH_API = API_KEY
    settings.FRESH_ENDPOINT = ENDPOINT
    settings.FRESH_GROUP_ID = GROUP_ID
    settings.FRESH_WORKSPACE_ID = None
    settings.FRESH_CLOSED_STATUSES = (4, 5)
    settings.FRESH_TIMEOUT_SECONDS = 30
    settings.FRESH_MAX_WAIT_SECONDS = 120
    settings.FRESH_BUDGET_RESERVE = 0.20
    settings.SYNC_MIN_INTERVAL_MINUTES = 60
    settings.DEMO_MODE = False
    return settings


@pytest.fixture
def manage(capsys, caplog, monkeypatch):
    """Run `manage.py ...` in this process as a shell would; returns (status, stdout, stderr).

    Whatever it prints or logs never holds the API key or a traceback.
    """
    caplog.set_level(logging.DEBUG)
    # A command closes its connections when done; the test's transaction lives on one of them.
    monkeypatch.setattr("django.db.connections.close_all", lambda: None)
    # A command configures logging again, dropping caplog's handler; a real process does it once.
    monkeypatch.setattr("django.utils.log.configure_logging", lambda *args: None)

    def run(*argv: str) -> tuple[int, str, str]:
        try:
            execute_from_command_line(["manage.py", *argv])
            status = 0
        except SystemExit as exit_:
            status = exit_.code if isinstance(exit_.code, int) else 1
        out, err = capsys.readouterr()
        for text in (out, err, caplog.text):
            assert API_KEY not in text
            assert "Traceback" not in text
        return status, out, err

    return run


@pytest.fixture
def plain_user(db) -> User:
    return User.objects.create_user("pat.plain", password="pw", first_name="Pat", last_name="Plain")


@pytest.fixture
def agent(db) -> User:
    return User.objects.create_user(
        "oscar.solis", password="pw", first_name="Oscar", last_name="Solis"
    )


def _member(username: str, group: str) -> User:
    first, last = username.split(".")
    user = User.objects.create_user(
        username, password="pw", first_name=first.title(), last_name=last.title(), is_staff=True
    )
    user.groups.add(Group.objects.get(name=group))
    return user


@pytest.fixture
def manager(db) -> User:
    return _member("mia.manager", "Manager")


@pytest.fixture
def developer(db) -> User:
    return _member("dev.developer", "Developer")


@pytest.fixture
def admin_member(db) -> User:
    """In the Admin group (not a superuser)."""
    return _member("ada.admin", "Admin")


@pytest.fixture
def superuser(db) -> User:
    return User.objects.create_superuser("sue.super", password="pw")


# --- Tests that need PostgreSQL or Chromium: deselected (not skipped) without them --------------
# In CI (CI set) nothing may be left out or skipped: .ci/run provides both.

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="session")
def browser():
    """One headless Chromium for the session, shared by every browser test module (Playwright's
    sync API allows one running instance per thread)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


@dataclass(frozen=True)
class _LeftOut:
    because: str  # "N tests {because} and were left out{hint}."
    hint: str = ""
    forbidden_in_ci: bool = False


# Computed once, at collection: what is installed may change while the suite runs.
_WHY_LEFT_OUT = pytest.StashKey[dict[str, _LeftOut]]()
_LEFT_OUT = pytest.StashKey[dict[str, int]]()


def _on_postgres() -> bool:
    from django.conf import settings

    return settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"


def _why_left_out() -> dict[str, _LeftOut]:
    """Marker -> why tests carrying it cannot run here; the first matching marker counts."""
    why: dict[str, _LeftOut] = {}
    if os.environ.get("YAM_TEST_NOW"):
        elsewhere = _LeftOut(
            "use another process or Chromium (the moved clock does not reach them)"
        )
        why["real_clock"] = why["browser"] = elsewhere
    if not _on_postgres():
        why["postgres"] = _LeftOut(
            "need PostgreSQL (DATABASE_URL=postgres://...)", " (.ci/run provides it)"
        )
    if not os.path.exists(CHROMIUM):
        why.setdefault(
            "browser",
            _LeftOut(
                f"need Chromium at {CHROMIUM} (apt-get install chromium)",
                " (.ci/run provides it)",
                forbidden_in_ci=True,
            ),
        )
    return why


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    why = _why_left_out()
    left_out: dict[str, int] = {}
    kept = []
    for item in items:
        needs = [marker for marker in why if item.get_closest_marker(marker)]
        if needs:
            left_out[needs[0]] = left_out.get(needs[0], 0) + 1
            config.hook.pytest_deselected(items=[item])
        else:
            kept.append(item)
    items[:] = kept
    config.stash[_WHY_LEFT_OUT] = why
    config.stash[_LEFT_OUT] = left_out


def pytest_terminal_summary(
    terminalreporter: pytest.TerminalReporter, exitstatus: int, config: pytest.Config
) -> None:
    why = config.stash.get(_WHY_LEFT_OUT, {})
    counts: dict[_LeftOut, int] = {}  # markers that share a reason share a line
    for marker, count in config.stash.get(_LEFT_OUT, {}).items():
        counts[why[marker]] = counts.get(why[marker], 0) + count
    for reason, count in counts.items():
        terminalreporter.write_line(
            f"{count} tests {reason.because} and were left out{reason.hint}.", yellow=True
        )


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if not os.environ.get("CI"):
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = len(reporter.stats.get("skipped", [])) if reporter else 0
    why = session.config.stash.get(_WHY_LEFT_OUT, {})
    left_out = sum(
        count
        for marker, count in session.config.stash.get(_LEFT_OUT, {}).items()
        if why[marker].forbidden_in_ci
    )
    if skipped or left_out:
        reporter.write_line(
            f"CI forbids leaving tests out: {skipped} skipped, {left_out} browser tests left out.",
            red=True,
        )
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


# --- The suite on another day (README): YAM_TEST_NOW and YAM_TEST_TIME_ZONE ---------------------
# YAM_TEST_NOW=2026-12-01T00:00:30+00:00 starts the clock there for the whole session (ticking);
# tests that freeze time themselves still do. YAM_TEST_TIME_ZONE=America/New_York makes that the
# TIME_ZONE of every test that does not choose its own.


def pytest_configure(config: pytest.Config) -> None:
    now = os.environ.get("YAM_TEST_NOW")
    if now:
        traveller = time_machine.travel(datetime.fromisoformat(now), tick=True)
        traveller.start()
        config.add_cleanup(traveller.stop)


def pytest_report_header(config: pytest.Config) -> str | None:
    moved = {name: os.environ.get(name) for name in ("YAM_TEST_NOW", "YAM_TEST_TIME_ZONE")}
    if any(moved.values()):
        return ", ".join(f"{name}={value}" for name, value in moved.items() if value)
    return None


@pytest.fixture(autouse=True)
def _moved_time_zone(request: pytest.FixtureRequest) -> None:
    zone = os.environ.get("YAM_TEST_TIME_ZONE")
    if zone:
        request.getfixturevalue("settings").TIME_ZONE = zone


@pytest.fixture(autouse=True)
def _app_logs_in_caplog(caplog):
    """The app's loggers do not propagate to root (settings); let caplog see them anyway."""
    loggers = [logging.getLogger(name) for name in ("tickets", "freshworks")]
    for logger in loggers:
        logger.addHandler(caplog.handler)
    yield
    for logger in loggers:
        logger.removeHandler(caplog.handler)


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
