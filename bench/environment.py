"""What the benchmarks share: Django on a throwaway SQLite file, the demo's stand-in Freshservice.

`setup_django` must run before anything imports the project's models, so the benchmark modules
are imported by `bench.run` only after it. The environment is made hermetic first, as the test
suite does (pyproject's [tool.pytest_env]): no `.env`, no Freshservice settings from the shell,
and a DATABASE_URL pointing into the benchmark's temporary folder.
"""

from __future__ import annotations

import logging
import os
import platform
import shutil
import socket
import sqlite3
import statistics
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

BASE_DIR = Path(__file__).resolve().parent.parent
SECRET_KEY = "bench-only-secret-key-not-for-production"
API_KEY = "bench-api-key"
# The stand-in's per-minute credit budget: high enough that no benchmark is ever throttled.
UNTHROTTLED = 10_000_000
# Settings the developer's shell might carry; the benchmarks use the defaults instead.
UNSET = (
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
    "LOG_FILE",
    "DEMO_MODE",
    "SESSION_DAYS",
    "TRUST_X_FORWARDED_PROTO",
)
TEMPLATE_NAME = "template.sqlite3"


@dataclass(frozen=True)
class Line:
    """One benchmark's line of the report: its figures, its target, and whether it met it."""

    name: str
    figures: str
    target: str
    ok: bool
    skipped: bool = False  # not run here (what it needs is missing): says so, and why

    def __str__(self) -> str:
        verdict = "skipped" if self.skipped else "ok" if self.ok else "FALLS SHORT"
        return f"{self.name:<17}  {self.figures}  | target {self.target}  {verdict}"


@dataclass(frozen=True)
class Context:
    """What a benchmark gets: its scratch folder, and whether to print a profile to stderr."""

    workdir: Path
    profile: bool = False
    # The shell's DATABASE_URL when it names PostgreSQL (api-latency-pg), read before the
    # environment is made hermetic.
    postgres_url: str | None = None


def bench_environ(database: Path) -> dict[str, str]:
    """The settings' environment for `database`: for this process and for servers it starts."""
    env = {key: value for key, value in os.environ.items() if key not in UNSET}
    env.update(
        ENV_FILE="",  # never the developer's .env
        SECRET_KEY=SECRET_KEY,
        DEBUG="0",
        HTTPS="0",  # plain HTTP on loopback; production's default is HTTPS only
        ALLOWED_HOSTS="testserver,localhost,127.0.0.1",
        TIME_ZONE="UTC",
        DATABASE_URL=f"sqlite:///{database}",
        DJANGO_SETTINGS_MODULE="yam.settings",
        # Playwright's sync API runs an event loop in the main thread beside the ORM calls.
        DJANGO_ALLOW_ASYNC_UNSAFE="true",
    )
    return env


def setup_django(workdir: Path) -> None:
    """Configure Django on a migrated SQLite file in `workdir`, the template of every benchmark."""
    template = workdir / TEMPLATE_NAME
    for name in UNSET:
        os.environ.pop(name, None)
    os.environ.update(bench_environ(template))

    import django
    from django.core.management import call_command
    from django.db import connections

    django.setup()
    call_command("migrate", interactive=False, verbosity=0)
    # The sync logs one INFO line per run; the report is the benchmark lines. Warnings still show.
    for name in ("tickets", "freshworks"):
        logging.getLogger(name).setLevel(logging.WARNING)
    connections.close_all()


def fresh_database(ctx: Context, name: str) -> Path:
    """Point the ORM at a new copy of the migrated template; returns the new file's path."""
    from django.conf import settings
    from django.db import connections

    connections.close_all()
    path = ctx.workdir / f"{name}.sqlite3"
    for leftover in (path, *(path.with_name(path.name + s) for s in ("-journal", "-wal", "-shm"))):
        leftover.unlink(missing_ok=True)
    shutil.copyfile(ctx.workdir / TEMPLATE_NAME, path)
    settings.DATABASES["default"]["NAME"] = str(path)
    connections["default"].settings_dict["NAME"] = str(path)
    connections["default"].ensure_connection()
    return path


# --- the stand-in Freshservice ------------------------------------------------------------------


class Clock:
    """The stand-in's notion of now, moved by hand: its answers are the world as of `now`."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@dataclass(frozen=True)
class StandIn:
    """The demo's stand-in Freshservice as a benchmark drives it: its world and its server."""

    world: Any  # demo.freshservice.world.World
    server: Any  # demo.freshservice.server.FreshserviceServer
    api_key: str

    @property
    def endpoint(self) -> str:
        return self.server.endpoint

    @property
    def calls(self) -> int:
        """HTTP requests the stand-in received."""
        return self.server.calls


def knows_the_agents(upstream: StandIn) -> None:
    """Store the stand-in's agents as the day's read of its agent list would, without a call.

    The agent list is read once a day (tickets.services.directory), not by every sync: with the
    agents known, a sync's calls are its ticket pages alone, which is what the benchmarks measure.
    """
    from django.utils import timezone

    from freshworks.client import Agent
    from tickets.services.directory import write_directory

    world = upstream.world
    write_directory(
        [
            Agent(agent.id, agent.first_name, agent.last_name, agent.email, agent.active)
            for agent in [*world.agents, *world.other_agents]
        ],
        seen_at=timezone.now(),
    )


@contextmanager
def stand_in(clock: Clock, *, agents: int, days: int) -> Iterator[StandIn]:
    """The stand-in on a free port, and the sync pointed at it (as demo mode does it)."""
    from dataclasses import replace

    from demo.freshservice.api import FreshserviceApi
    from demo.freshservice.server import FreshserviceServer
    from demo.freshservice.world import generate_world
    from tickets.freshservice_config import FreshserviceConfig, override_freshservice_config

    world = generate_world(today=clock().date(), agents=agents, days=days, tz="UTC")
    api = FreshserviceApi(world, api_key=API_KEY, per_minute=UNTHROTTLED, clock=clock)
    with FreshserviceServer(api) as server:
        config = replace(
            FreshserviceConfig.from_settings(),
            api_key=API_KEY,
            endpoint=server.endpoint,
            group_ids=(world.group_id,),
            workspace_id=None,
            demo=True,  # the stand-in listens on plain loopback HTTP, as in demo mode
        )
        with override_freshservice_config(config):
            yield StandIn(world, server, API_KEY)


def ticket_changes(stand_in: StandIn) -> list[list[datetime]]:
    """The moments of every change of every generated ticket, read from its final state.

    Every change a generated ticket goes through leaves its moment in its last state (created,
    resolved, closed, status changed, pending, last updated).
    """
    forever = datetime(9999, 1, 1, tzinfo=UTC)
    changes = []
    for ticket in stand_in.world.visible_tickets(now=forever):
        stats = ticket["stats"]
        stamps = (
            ticket["created_at"],
            ticket["updated_at"],
            stats["resolved_at"],
            stats["closed_at"],
            stats["status_updated_at"],
            stats["pending_since"],
        )
        changes.append([datetime.fromisoformat(stamp) for stamp in stamps if stamp])
    return changes


def first_updates(changes: list[list[datetime]], since: datetime) -> list[datetime]:
    """For every ticket changed at or after `since`, the moment of its first such change; sorted.

    With the stand-in's clock at `now`, a list call with `updated_since=since` answers exactly
    the tickets whose first change at or after `since` is at or before `now`: the k-th moment
    here is when the answer grows to k tickets.
    """
    firsts = []
    for moments in changes:
        after = [moment for moment in moments if moment >= since]
        if after:
            firsts.append(min(after))
    firsts.sort()
    return firsts


def day_start(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


# --- figures ------------------------------------------------------------------------------------


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def profiled(function: Callable[[], Any], *, title: str, limit: int = 30) -> None:
    """Run `function` under cProfile and print its costliest calls to stderr."""
    import cProfile
    import io
    import pstats
    import sys

    profiler = cProfile.Profile()
    profiler.enable()
    try:
        function()
    finally:
        profiler.disable()
    for order in ("tottime", "cumulative"):
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).strip_dirs().sort_stats(order).print_stats(limit)
        print(f"--- profile of {title}, by {order} ---\n{out.getvalue()}", file=sys.stderr)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def machine() -> str:
    """The header: CPU, cores, Python, SQLite, Django and when."""
    import django

    cpu = platform.processor() or "unknown CPU"
    try:
        for row in Path("/proc/cpuinfo").read_text().splitlines():
            if row.startswith("model name"):
                cpu = row.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    when = datetime.now().astimezone().replace(microsecond=0).isoformat()
    return (
        f"bench: {cpu}, {cores} cores, Python {platform.python_version()}, "
        f"SQLite {sqlite3.sqlite_version}, Django {django.get_version()}, {when}"
    )


def previous_month_end(today: date) -> date:
    return today.replace(day=1) - timedelta(days=1)
