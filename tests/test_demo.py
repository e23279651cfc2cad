"""Demo mode: the stand-in Freshservice handed to the sync, users, the backfill and runsite."""

from __future__ import annotations

import io
import re
import socket
import threading
from datetime import UTC, date, datetime, timedelta
from unittest import mock

import pytest
import requests
import time_machine
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from django.db.models import Sum
from django.template.loader import render_to_string
from django.test import RequestFactory
from django.utils import timezone

from demo import bootstrap as demo_service
from demo.bootstrap import DEMO_GROUP_ID, DEMO_GROUP_IDS, start_demo
from tests.servers import free_port
from tickets.freshservice_config import (
    FreshserviceConfig,
    freshservice_config,
    running_demo_config,
)
from tickets.models import FreshworksUserMapping, SyncRun, TicketClosure, TicketSyncMetadata

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo_settings(settings, tmp_path):
    """No Freshservice configured (as `make run` on a fresh clone); the test restores them."""
    settings.FRESH_API = ""
    settings.FRESH_ENDPOINT = ""
    settings.FRESH_GROUP_ID = None
    settings.FRESH_WORKSPACE_ID = None
    settings.FRESH_IDS_FILE = str(tmp_path / "unused-IDs.txt")
    settings.FRESH_CLOSED_STATUSES = (4, 5)
    settings.SYNC_MIN_INTERVAL_MINUTES = 60
    settings.DEMO_MODE = False
    return settings


@pytest.fixture
def frozen_now() -> datetime:
    """The stand-in's clock, held still so its truth and the sync's fetch agree exactly."""
    return timezone.now().replace(microsecond=0)


@pytest.fixture
def start(demo_settings, tmp_path, frozen_now):
    started: list[demo_service.DemoSite] = []

    def run(**options):
        options = {
            "port": 8123,
            "stdout": io.StringIO(),
            "ids_path": tmp_path / "var" / "demo-IDs.txt",
            "hourly": False,
            "clock": lambda: frozen_now,
        } | options
        site = start_demo(**options)
        started.append(site)
        return site

    yield run
    for site in started:
        site.stop()


def closure_counts(first: date, last: date) -> dict[date, dict[int, int]]:
    counts: dict[date, dict[int, int]] = {}
    for row in TicketClosure.objects.filter(date__range=(first, last)):
        per_agent = counts.setdefault(row.date, {})
        # An agent's day in both demo teams is two rows.
        per_agent[row.freshworks_user_id] = per_agent.get(row.freshworks_user_id, 0) + (
            row.tickets_closed
        )
    return counts


@pytest.mark.parametrize("zone", ["UTC", "America/New_York"])
def test_the_first_start_backfills_30_days_through_the_real_client(
    start, demo_settings, frozen_now, zone
):
    demo_settings.TIME_ZONE = zone
    out = io.StringIO()
    site = start(stdout=out)
    today = timezone.localdate()
    first = today - timedelta(days=29)

    run = SyncRun.objects.get()
    assert (run.trigger, run.status) == (SyncRun.Trigger.DEMO, SyncRun.Status.SUCCESS)
    assert (run.first_date, run.last_date) == (first, today)
    # Before it, the names: the stand-in's agent list, active and inactive agents, a page each.
    agent_list_calls = sum("/agents?" in path for path in site.server.paths)
    assert agent_list_calls == 2
    assert run.api_calls == site.server.calls - agent_list_calls >= 10
    truth = {
        day: per_agent
        for day, per_agent in site.world.expected_closures(
            now=frozen_now, groups=DEMO_GROUP_IDS
        ).items()
        if first <= day <= today
    }
    assert closure_counts(first, today) == truth
    total = TicketClosure.objects.filter(date__range=(first, today)).aggregate(
        n=Sum("tickets_closed")
    )
    assert 600 < total["n"] < 2400  # about 12 agents x 22 working days x 0-15
    assert TicketSyncMetadata.objects.filter(sync_date__range=(first, today)).count() == 30
    assert "Backfilled 30 days" in out.getvalue()


def test_the_sync_uses_the_stand_in_while_the_demo_runs_and_the_settings_stay(
    start, demo_settings, tmp_path
):
    site = start()

    config = freshservice_config()
    assert config == site.config
    assert config.demo is True
    assert config.endpoint == site.server.endpoint
    assert config.api_key == site.server.api.api_key
    assert len(config.api_key) >= 30
    assert config.group_id == DEMO_GROUP_ID == 18000294963
    assert config.group_ids == DEMO_GROUP_IDS == (18000294963, 18000295127)  # two teams
    assert config.ids_file == str(tmp_path / "var" / "demo-IDs.txt")
    # The names come from the stand-in's agent list: no IDs.txt is written.
    assert not (tmp_path / "var" / "demo-IDs.txt").exists()
    assert (demo_settings.FRESH_API, demo_settings.FRESH_ENDPOINT) == ("", "")
    assert (demo_settings.FRESH_GROUP_ID, demo_settings.DEMO_MODE) == (None, False)

    site.stop()

    assert freshservice_config().demo is False
    assert freshservice_config().api_key == ""


def test_the_sync_button_of_the_demo_syncs_from_the_stand_in(start, client, frozen_now):
    site = start()
    assert client.login(username="demo", password=site.password)
    calls = site.server.calls

    answer = client.post("/api/tickets/force-sync", {}, content_type="application/json")

    assert answer.status_code == 200, answer.content
    assert answer.json()["synced"] is True
    assert site.server.calls > calls
    assert b"Demo data" in client.get("/").content


def test_half_the_agents_are_local_users_and_the_rest_show_unmatched(start):
    site = start()

    team = {agent.id for agent in site.world.agents}
    mappings = FreshworksUserMapping.objects.all()
    # Names from the stand-in's agent list, which also holds the other group's agents.
    assert sorted(
        (m.freshworks_user_id, m.display_name) for m in mappings if m.freshworks_user_id in team
    ) == sorted((agent.id, agent.name) for agent in site.world.agents)
    assert not any(m.freshworks_username for m in mappings)
    assert mappings.filter(active=False).exists()
    matched = [m for m in mappings if m.user_id is not None]
    assert len(matched) == 6
    for mapping in matched:
        # Linked by email: each demo user has its agent's.
        assert mapping.user.email == mapping.email
        assert mapping.user.username == mapping.user.first_name.lower() + "." + (
            mapping.user.last_name.lower()
        )
        assert not mapping.user.has_usable_password()
    linked = TicketClosure.objects.filter(user__isnull=False)
    assert linked.exists()
    assert TicketClosure.objects.filter(user__isnull=True).exists()


def test_the_demo_login_is_a_staff_manager_with_a_fresh_password(start, client):
    site = start()

    user = User.objects.get(username="demo")
    assert site.username == "demo"
    assert user.is_staff
    assert not user.is_superuser
    assert list(user.groups.values_list("name", flat=True)) == ["Manager"]
    assert user.has_perm("tickets.force_sync")
    assert user.has_perm("tickets.view_sync_stats")
    assert len(site.password) >= 16
    assert client.login(username="demo", password=site.password)
    assert client.get("/api/tickets/admin-stats").status_code == 200
    assert client.get("/admin/").status_code == 200


def test_a_second_start_changes_the_password_and_does_not_backfill_again(start, client):
    first = start()
    first.stop()
    second = start()

    assert second.password != first.password
    assert not client.login(username="demo", password=first.password)
    assert client.login(username="demo", password=second.password)
    assert SyncRun.objects.filter(trigger=SyncRun.Trigger.DEMO).count() == 1
    assert second.backfill is None
    assert User.objects.filter(username="demo").count() == 1
    assert FreshworksUserMapping.objects.filter(user__isnull=False).count() == 6


def test_a_later_start_catches_up_with_an_ordinary_sync(start, frozen_now):
    start().stop()
    # As if the last sync was two hours ago: the restart may sync today again.
    TicketSyncMetadata.objects.update(last_sync_time=timezone.now() - timedelta(hours=2))
    out = io.StringIO()

    start(stdout=out, clock=lambda: frozen_now + timedelta(hours=2))

    latest = SyncRun.objects.order_by("-started_at").first()
    assert latest.trigger == SyncRun.Trigger.SCHEDULE
    assert latest.status == SyncRun.Status.SUCCESS
    assert "Caught up" in out.getvalue()


def test_stop_shuts_the_stand_in_and_the_hourly_thread_down(start, monkeypatch):
    # The thread would read the test database from outside the test's transaction.
    monkeypatch.setattr(
        demo_service, "_next_sync_time", lambda: timezone.now() + timedelta(hours=1)
    )
    site = start(hourly=True)
    endpoint = site.server.endpoint
    assert site._scheduler.is_alive()
    assert requests.get(f"{endpoint}tickets", timeout=5).status_code == 401

    site.stop()

    assert not site._scheduler.is_alive()
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{endpoint}tickets", timeout=5)


def test_a_failing_backfill_is_reported_and_the_site_still_starts(start, monkeypatch):
    def refuse(**kwargs):
        raise demo_service.SyncFailed("Freshservice kept failing.")

    monkeypatch.setattr(demo_service, "sync_closures", refuse)
    out = io.StringIO()

    site = start(stdout=out)

    assert "The demo backfill failed: Freshservice kept failing." in out.getvalue()
    assert site.password


# --- the hourly sync ----------------------------------------------------------------------------


@time_machine.travel(datetime(2026, 11, 26, 15, 12, 30, tzinfo=UTC), tick=False)
def test_the_hour_after_the_backfill_syncs_as_soon_as_the_rate_limit_allows(demo_settings):
    TicketSyncMetadata.objects.create(
        sync_date=date(2026, 11, 26),
        last_sync_time=datetime(2026, 11, 26, 15, 12, 10, tzinfo=UTC),
        sync_count=1,
    )
    assert demo_service._next_sync_time() == datetime(2026, 11, 26, 16, 12, tzinfo=UTC)

    TicketSyncMetadata.objects.update(last_sync_time=datetime(2026, 11, 26, 14, 50, tzinfo=UTC))
    assert demo_service._next_sync_time() == datetime(2026, 11, 26, 16, 0, tzinfo=UTC)


@time_machine.travel(datetime(2026, 11, 26, 23, 40, tzinfo=UTC), tick=False)
def test_the_first_hour_of_a_new_day_is_never_held_back(demo_settings):
    demo_settings.TIME_ZONE = "UTC"  # the day below ends at midnight UTC
    TicketSyncMetadata.objects.create(
        sync_date=date(2026, 11, 26),
        last_sync_time=datetime(2026, 11, 26, 23, 30, tzinfo=UTC),
        sync_count=1,
    )
    assert demo_service._next_sync_time() == datetime(2026, 11, 27, 0, 0, tzinfo=UTC)


def test_the_hourly_thread_runs_the_scheduled_sync_until_stopped(monkeypatch):
    stopping = threading.Event()
    runs: list[datetime] = []

    def sync_once() -> bool:
        runs.append(timezone.now())
        stopping.set()
        return True

    monkeypatch.setattr(demo_service, "_next_sync_time", timezone.now)
    monkeypatch.setattr(demo_service, "scheduled_sync", sync_once)
    # Its own thread, as in the demo: it closes that thread's database connections.
    thread = threading.Thread(target=demo_service._sync_every_hour, args=(stopping,))
    thread.start()
    thread.join(timeout=5)

    assert not thread.is_alive()
    assert len(runs) == 1


# --- the banner ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("demo_mode", "shown"), [(True, True), (False, False)])
def test_the_demo_banner_shows_only_in_demo_mode(settings, demo_mode, shown):
    settings.DEMO_MODE = demo_mode

    html = render_to_string("components/demo_banner.html", request=RequestFactory().get("/"))

    assert ("Demo data" in html) is shown


# --- manage.py runsite --------------------------------------------------------------------------


def test_runsite_with_a_real_key_just_runs_runserver(demo_settings, monkeypatch):
    demo_settings.FRESH_API = "a-real-key"
    demo_settings.FRESH_ENDPOINT = "https://acme.freshservice.com/api/v2/"
    demo_settings.FRESH_GROUP_ID = 42
    monkeypatch.delenv("PORT", raising=False)
    runserver = mock.Mock()
    demo = mock.Mock()
    monkeypatch.setattr("demo.management.commands.runsite.call_command", runserver)
    monkeypatch.setattr("demo.management.commands.runsite.start_demo", demo)

    call_command("runsite", stdout=io.StringIO())

    runserver.assert_called_once_with("runserver", "127.0.0.1:8000")
    demo.assert_not_called()
    assert demo_settings.DEMO_MODE is False


def test_runsite_takes_the_port_from_the_environment(demo_settings, monkeypatch):
    demo_settings.FRESH_API = "a-real-key"
    monkeypatch.setenv("PORT", "9123")
    runserver = mock.Mock()
    monkeypatch.setattr("demo.management.commands.runsite.call_command", runserver)

    call_command("runsite", stdout=io.StringIO())

    runserver.assert_called_once_with("runserver", "127.0.0.1:9123")


def test_runsite_refuses_a_bad_port(demo_settings, monkeypatch):
    monkeypatch.setenv("PORT", "eighty")
    with pytest.raises(CommandError, match="PORT='eighty' is not valid"):
        call_command("runsite", stdout=io.StringIO())


def test_runsite_refuses_a_port_in_use_before_starting_the_demo(demo_settings, monkeypatch):
    demo = mock.Mock()
    monkeypatch.setattr("demo.management.commands.runsite.start_demo", demo)
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(CommandError, match=f"Port {port} is already in use"):
            call_command("runsite", "--port", str(port), stdout=io.StringIO())
    demo.assert_not_called()


def test_runsite_without_a_key_serves_the_demo_and_prints_the_login(
    demo_settings, monkeypatch, tmp_path, client, frozen_now
):
    sites: list[demo_service.DemoSite] = []

    def start_for_test(**options):
        site = start_demo(
            **options, ids_path=tmp_path / "IDs.txt", hourly=False, clock=lambda: frozen_now
        )
        sites.append(site)
        return site

    def runserver(name, address, **options):
        # While "runserver" runs, the stand-in answers and the printed login works.
        endpoint = freshservice_config().endpoint
        assert requests.get(f"{endpoint}tickets", timeout=5).status_code == 401
        # ... and other processes on the machine find it (var/demo.json).
        assert running_demo_config() == freshservice_config()
        served.append((name, address, options))

    served: list[tuple] = []
    monkeypatch.setattr("demo.management.commands.runsite.start_demo", start_for_test)
    monkeypatch.setattr("demo.management.commands.runsite.call_command", runserver)
    port = free_port()
    out = io.StringIO()

    call_command("runsite", "--port", str(port), stdout=out)

    printed = out.getvalue()
    assert served == [("runserver", f"127.0.0.1:{port}", {"use_reloader": False})]
    assert "Demo" in printed
    assert f"http://127.0.0.1:{port}/" in printed
    assert f"http://127.0.0.1:{port}/admin/" in printed
    assert "FRESH_API, FRESH_ENDPOINT and" in printed
    username = re.search(r"Log in:\s+(\S+)", printed).group(1)
    password = re.search(r"Password:\s+(\S+)", printed).group(1)
    assert username == "demo"
    assert client.login(username=username, password=password)
    (site,) = sites
    with pytest.raises(requests.ConnectionError):  # stopped once runserver returned
        requests.get(f"{site.server.endpoint}tickets", timeout=5)
    assert running_demo_config() is None


def test_runsite_with_demo_mode_forced_ignores_a_configured_key(demo_settings, monkeypatch):
    demo_settings.FRESH_API = "a-real-key"
    demo_settings.DEMO_MODE = True
    demo = mock.Mock()
    demo.return_value.config = FreshserviceConfig.from_settings()
    runserver = mock.Mock()
    monkeypatch.setattr("demo.management.commands.runsite.start_demo", demo)
    monkeypatch.setattr("demo.management.commands.runsite.call_command", runserver)

    call_command("runsite", "--port", str(free_port()), stdout=io.StringIO())

    demo.assert_called_once()
    assert runserver.call_args.kwargs == {"use_reloader": False}
    demo.return_value.stop.assert_called_once()
