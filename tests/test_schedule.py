"""The hourly schedule: the django-crontab job: installed for real, silent failures made loud."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
import time_machine
from django.core.checks import run_checks
from django.core.management import call_command
from django.core.management.base import CommandError

from tests.upstream import FakeFreshservice
from tickets.models import SyncRun

pytestmark = pytest.mark.django_db


@pytest.fixture
def fake_crontab(tmp_path, settings):
    """A stand-in for the crontab program that keeps the table in a file, not the user's crontab."""
    table = tmp_path / "crontab.txt"
    table.write_text("# someone else's job\n5 4 * * * /usr/bin/true\n")
    program = tmp_path / "crontab"
    program.write_text(
        f'#!/bin/sh\nif [ "$1" = "-l" ]; then cat "{table}"; else cp "$1" "{table}"; fi\n'
    )
    program.chmod(0o755)
    settings.CRONTAB_EXECUTABLE = str(program)
    return table


def test_crontab_add_installs_the_sync_on_the_schedule_and_keeps_other_jobs(
    fake_crontab, settings, capsys
):
    settings.SYNC_SCHEDULE = "0 * * * *"
    settings.CRONJOBS = [(settings.SYNC_SCHEDULE, "tickets.cron.scheduled_sync")]

    call_command("crontab", "add")

    lines = fake_crontab.read_text().splitlines()
    assert "5 4 * * * /usr/bin/true" in lines
    job = next(line for line in lines if "yam-ticket-closures" in line)
    assert job.startswith("0 * * * * ")
    assert "manage.py crontab run" in job
    assert "Scheduled sync installed: 0 * * * *" in capsys.readouterr().out


def test_crontab_add_installs_the_repair_beside_the_sync_when_it_is_scheduled(
    fake_crontab, settings, capsys
):
    settings.REPAIR_SCHEDULE = "30 2 * * *"
    settings.CRONJOBS = [
        (settings.SYNC_SCHEDULE, "tickets.cron.scheduled_sync"),
        (settings.REPAIR_SCHEDULE, "tickets.cron.repair_sync"),
    ]

    call_command("crontab", "add")

    jobs = [line for line in fake_crontab.read_text().splitlines() if "yam-ticket-closures" in line]
    assert [job.split(" /")[0] for job in jobs] == ["0 8-18 * * *", "30 2 * * *"]
    assert "Repair sync installed: 30 2 * * * (the last 7 days)" in capsys.readouterr().out


def test_crontab_add_refuses_when_the_crontab_program_is_missing(settings):
    settings.CRONTAB_EXECUTABLE = "/nonexistent/crontab"

    with pytest.raises(CommandError, match="not installed"):
        call_command("crontab", "add")


def test_the_deploy_check_warns_when_the_crontab_program_is_missing(settings):
    settings.CRONTAB_EXECUTABLE = "/nonexistent/crontab"

    warnings = run_checks(include_deployment_checks=True)

    assert "tickets.W001" in [message.id for message in warnings]


def test_the_deploy_check_is_quiet_when_crontab_is_there(fake_crontab):
    warnings = run_checks(include_deployment_checks=True)

    assert "tickets.W001" not in [message.id for message in warnings]


@time_machine.travel(datetime(2026, 11, 26, 9, 0, tzinfo=UTC), tick=False)
def test_the_installed_job_runs_the_scheduled_sync(fake_crontab, requests_mock, fresh):
    upstream = FakeFreshservice(requests_mock)
    call_command("crontab", "add")
    job_hash = re.search(r"crontab run (\w+)", fake_crontab.read_text()).group(1)

    call_command("crontab", "run", job_hash)

    assert upstream.list_calls == 1
    assert SyncRun.objects.get().trigger == "schedule"
