"""The admin's first hour (SPEC §19.1): the README's commands on a developer machine.

`make run` writes a development .env (DEBUG=1, a SECRET_KEY of its own) and, while its demo
runs, names the stand-in Freshservice in var/demo.json, so that commands run beside it sync
the demo; with the demo stopped they say what is missing and change nothing. A missing or
malformed setting is one line naming the variable, never a traceback; `.env.example` copied to
`.env` keeps HTTPS off under DEBUG; the README's token example creates its user first.

The same commands, as the README writes them, on a fresh clone: .ci/readme_commands.py.
"""

from __future__ import annotations

import io
import json
import os
import re
import shlex
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from unittest import mock

import pytest
import time_machine
from django.core.management import call_command

from demo.management.commands.runsite import write_development_env
from tests.servers import free_port
from tests.test_settings import load_settings
from tests.upstream import StandIn, serve_stand_in
from tickets.freshservice_config import (
    FreshserviceConfig,
    freshservice_config,
    publish_demo_config,
    running_demo_config,
)
from tickets.models import FreshworksUserMapping, SyncRun

BASE_DIR = Path(__file__).resolve().parent.parent
# Thursday 26 November 2026, 15:00 UTC.
NOW = datetime(2026, 11, 26, 15, 0, tzinfo=UTC)
STAND_IN_KEY = "demo-stand-in-key-123"


def run_python(*argv: str, **env: str | None) -> subprocess.CompletedProcess:
    """`python ...` in the project folder, a new process with only these variables (None:
    unset), as a shell on a fresh machine would start it."""
    base = {"PATH": os.environ["PATH"], "ENV_FILE": ""}
    return subprocess.run(
        [sys.executable, *argv],
        env={name: value for name, value in (base | env).items() if value is not None},
        cwd=BASE_DIR,
        capture_output=True,
        text=True,
        timeout=120,
    )


def run_manage(*args: str, **env: str | None) -> subprocess.CompletedProcess:
    return run_python("manage.py", *args, **env)


# --- one line per bad setting -------------------------------------------------------------------


def test_a_command_without_a_secret_key_says_so_in_one_line():
    done = run_manage("check_freshservice", DEBUG="0")

    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    (line,) = done.stderr.splitlines()
    assert line.startswith("ImproperlyConfigured: SECRET_KEY is not set.")
    assert "`make run` writes a .env with DEBUG=1" in line


@pytest.mark.parametrize(
    ("variable", "value"),
    [("SESSION_DAYS", "thirty"), ("WEB_SYNC_SECONDS", "0"), ("TIME_ZONE", "Mars/Base")],
)
def test_a_malformed_setting_is_one_line_naming_the_variable(variable, value):
    done = run_manage("check", DEBUG="1", **{variable: value})

    assert done.returncode == 1
    (line,) = done.stderr.splitlines()
    assert line.startswith(f"ImproperlyConfigured: {variable}={value!r} is not valid: ")


def gunicorn_config(option: str, *, web_sync_seconds: str) -> subprocess.CompletedProcess:
    """gunicorn with the project's gunicorn.conf.py, checking or printing its configuration."""
    return run_python(
        "-m", "gunicorn", "-c", "gunicorn.conf.py", option,
        DEBUG="1", WEB_SYNC_SECONDS=web_sync_seconds,
    )  # fmt: skip


def test_gunicorn_refuses_a_malformed_setting_in_one_line():
    done = gunicorn_config("--check-config", web_sync_seconds="x")

    assert done.returncode == 1
    assert done.stderr.strip() == (
        "ImproperlyConfigured: WEB_SYNC_SECONDS='x' is not valid: invalid literal for int() "
        "with base 10: 'x'"
    )


def test_gunicorn_conf_sets_the_worker_timeout_above_the_web_sync_limit():
    done = gunicorn_config("--print-config", web_sync_seconds="40")

    assert done.returncode == 0, done.stderr
    printed = dict(re.findall(r"^(\w+)\s+= (.*)$", done.stdout, re.MULTILINE))
    assert printed["timeout"] == "75"
    assert printed["wsgi_app"] == "yam.wsgi:application"


# --- .env: the example keeps HTTPS off under DEBUG; make run writes one for development ---------

SHOW_HTTPS = (
    "import django; django.setup(); from django.conf import settings as s; "
    "print(s.DEBUG, s.HTTPS, s.SECURE_SSL_REDIRECT, s.SESSION_COOKIE_SECURE)"
)


def show_https(**env: str | None) -> str:
    loaded = load_settings(SHOW_HTTPS, **({"SECRET_KEY": None} | env))
    assert loaded.returncode == 0, loaded.stderr
    return loaded.stdout.strip()


def test_env_example_copied_to_env_keeps_https_off_under_make_runs_debug(tmp_path):
    env_file = tmp_path / ".env"
    env_file.write_text((BASE_DIR / ".env.example").read_text())

    # `make run` sets DEBUG=1 in the environment, which wins over the file's DEBUG=0.
    assert show_https(ENV_FILE=str(env_file), DEBUG="1") == "True False False False"
    # Production (the file's DEBUG=0, a key): HTTPS only, as before.
    assert show_https(ENV_FILE=str(env_file), SECRET_KEY="k") == "False True True True"
    # Asked for explicitly, HTTPS holds under DEBUG too.
    assert show_https(ENV_FILE=str(env_file), DEBUG="1", HTTPS="1") == "True True True True"


def test_make_run_writes_a_development_env_once_and_commands_run_with_it(tmp_path):
    env_file = tmp_path / ".env"

    assert write_development_env(env_file) is True
    written = env_file.read_text()
    assert write_development_env(env_file) is False
    assert env_file.read_text() == written

    assert "DEBUG=1" in written.splitlines()
    (key,) = re.findall(r"^SECRET_KEY=(\S{40,})$", written, re.MULTILINE)
    done = run_manage("check", ENV_FILE=str(env_file))
    assert done.returncode == 0, done.stderr
    assert show_https(ENV_FILE=str(env_file)) == "True False False False"
    assert key not in show_https(ENV_FILE=str(env_file))


def test_runsite_writes_the_development_env_only_where_none_is(settings, tmp_path, monkeypatch):
    settings.BASE_DIR = tmp_path
    settings.FRESH_API = "a-real-key"
    monkeypatch.delenv("ENV_FILE")
    monkeypatch.setattr("demo.management.commands.runsite.call_command", mock.Mock())
    out = io.StringIO()

    call_command("runsite", "--port", str(free_port()), stdout=out)
    call_command("runsite", "--port", str(free_port()), stdout=out)

    assert out.getvalue().count(f"Wrote {tmp_path / '.env'} for development") == 1
    assert (tmp_path / ".env").read_text().startswith("# Written by `make run`")


# --- commands beside the running demo, and after it stopped -------------------------------------


@pytest.fixture
def stand_in() -> Iterator[StandIn]:
    with (
        time_machine.travel(NOW, tick=False),
        serve_stand_in(api_key=STAND_IN_KEY, agents=6, days=3, clock=lambda: NOW) as served,
    ):
        yield served


def demo_config(stand_in: StandIn, tmp_path: Path) -> FreshserviceConfig:
    """What runsite publishes: the stand-in, as demo.bootstrap.start_demo configures it."""
    return replace(
        FreshserviceConfig.from_settings(),
        api_key=STAND_IN_KEY,
        endpoint=stand_in.endpoint,
        group_ids=(stand_in.world.group_id,),
        workspace_id=None,
        ids_file=str(tmp_path / "demo-IDs.txt"),
        demo=True,
    )


def names() -> dict[int, str]:
    return {mapping.freshworks_user_id: mapping.display_name for mapping in _mappings()}


def _mappings() -> list[FreshworksUserMapping]:
    return list(FreshworksUserMapping.objects.all())


@pytest.mark.django_db
def test_commands_beside_the_running_demo_sync_its_stand_in_and_keep_its_names(
    stand_in, tmp_path, manage
):
    with publish_demo_config(demo_config(stand_in, tmp_path)) as state:
        assert state.stat().st_mode & 0o077 == 0  # the stand-in's key: its owner's only
        assert freshservice_config().endpoint == stand_in.endpoint

        status, out, _ = manage("refresh_user_mappings")
        assert status == 0, out
        shown = names()
        assert len(shown) >= 6
        assert not any(name.startswith("Agent ") for name in shown.values())

        status, out, _ = manage("init_ticket_tracking")
        assert status == 0, out
        assert "Ticket tracking is ready for" in out
        status, out, _ = manage("sync_daily_closures", "--force")
        assert status == 0, out
        status, out, _ = manage("check_freshservice")
        assert status == 0, out

        assert names() == shown
        assert SyncRun.objects.filter(status=SyncRun.Status.FAILED).count() == 0
    assert not state.exists()
    assert running_demo_config() is None


@pytest.mark.django_db
def test_commands_after_the_demo_stopped_say_so_and_change_nothing(
    stand_in, tmp_path, manage, settings
):
    config = demo_config(stand_in, tmp_path)
    with publish_demo_config(config) as state_file:
        manage("refresh_user_mappings")
        shown = names()
        state = json.loads(state_file.read_text())
    # A demo killed without cleaning up: its state file names a process that is gone.
    gone = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    Path(settings.DEMO_STATE_FILE).write_text(json.dumps(state | {"pid": int(gone.stdout)}))
    assert running_demo_config() is None
    runs = SyncRun.objects.count()

    for command in ("init_ticket_tracking", "sync_daily_closures", "check_freshservice"):
        status, out, err = manage(command)

        assert status == 1, command
        assert "Freshservice is not configured" in out + err
        assert "make run" in out + err
    manage("refresh_user_mappings")

    assert names() == shown
    assert SyncRun.objects.count() == runs


# --- the README's token example ---------------------------------------------------------------


@pytest.mark.django_db
def test_the_readme_token_example_creates_its_user_first(manage):
    readme = (BASE_DIR / "README.md").read_text()
    block = readme.split("Create a token for a user", 1)[1].split("```sh", 1)[1].split("```", 1)[0]
    commands = [
        line for line in block.splitlines() if line.startswith(".venv/bin/python manage.py")
    ]
    assert len(commands) == 2

    for command in commands * 2:  # and again: the example may be run twice
        argv = shlex.split(command.split("  #", 1)[0])[2:]
        status, out, err = manage(*argv)
        assert status == 0, err
    assert re.fullmatch(r"Generated token [0-9a-f]{40} for user wallscreen\s*", out)
