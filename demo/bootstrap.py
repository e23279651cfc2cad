"""Demo mode (SPEC §3 `DEMO_MODE`): the site against the stand-in Freshservice, out of the box.

`start_demo` generates the stand-in's world and serves it in this process (`demo.freshservice`),
hands the sync a configuration pointing at it (`override_freshservice_config`: the settings are
left alone), gives half the agents a local user with the agent's email, loads the agent names
from the stand-in's agent list (which links those users by email: the dashboard shows both
linked and unlinked agents), makes a `demo` manager with a fresh password, backfills the last
30 days on first start and syncs every hour on the hour from then on. Everything after the
set-up goes through the real client and the real sync, as it would against Freshservice.

No IDs.txt is written: the agent list gives the names (`First L.`). `var/demo-IDs.txt` is still
read when somebody puts one there, as an override.
"""

from __future__ import annotations

import logging
import secrets
import threading
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Protocol

from cronsim import CronSim
from django.conf import settings
from django.contrib.auth.models import Group, User
from django.db import connections
from django.utils import timezone

from demo.freshservice.api import FreshserviceApi, utc_now
from demo.freshservice.server import FreshserviceServer
from demo.freshservice.world import OTHER_GROUP_ID, World, generate_world
from freshworks.ids import IdsFileError
from tickets import selectors
from tickets.freshservice_config import (
    FreshserviceConfig,
    override_freshservice_config,
)
from tickets.models import FreshworksUserMapping, SyncRun
from tickets.services.directory import refresh_agents
from tickets.services.schedule import scheduled_sync
from tickets.services.sync import SyncFailed, SyncRefused, SyncResult, sync_closures

logger = logging.getLogger("demo")

DEMO_GROUP_ID = 18000294963
# The demo counts two teams (SPEC §16.5), so the dashboard shows its team selector: the service
# desk and the stand-in's second group (Facilities).
DEMO_GROUP_IDS = (DEMO_GROUP_ID, OTHER_GROUP_ID)
DEMO_USERNAME = "demo"
BACKFILL_DAYS = 30
BACKFILL_MAX_WAIT_SECONDS = 120
HOURLY = "0 * * * *"


class Writer(Protocol):
    def write(self, text: str) -> object: ...


def default_ids_path() -> Path:
    """Where the demo looks for an IDs.txt (none is written; `var/` is git-ignored)."""
    return Path(settings.BASE_DIR) / "var" / "demo-IDs.txt"


@dataclass
class DemoSite:
    """A running demo: the site's URL, its login, and the stand-in Freshservice behind it.

    `config` is what the sync uses while the demo runs; `world` and `server` are the stand-in.
    """

    url: str
    username: str
    password: str = field(repr=False)
    config: FreshserviceConfig
    world: World
    server: FreshserviceServer
    ids_path: Path
    backfill: SyncResult | None = None
    _stopping: threading.Event = field(default_factory=threading.Event, repr=False)
    _scheduler: threading.Thread | None = field(default=None, repr=False)
    _cleanup: ExitStack = field(default_factory=ExitStack, repr=False)

    @property
    def admin_url(self) -> str:
        return f"{self.url}admin/"

    def stop(self) -> None:
        """Stop the hourly sync, the configuration override and the stand-in; idempotent."""
        self._stopping.set()
        if self._scheduler is not None:
            self._scheduler.join(timeout=10)
        self._cleanup.close()


def start_demo(
    *,
    port: int,
    stdout: Writer,
    ids_path: Path | None = None,
    hourly: bool = True,
    clock: Callable[[], datetime] | None = None,
) -> DemoSite:
    """Start the stand-in Freshservice and hand this process's sync its configuration.

    `port` is the site's (for the URL printed); the stand-in takes a free port of its own.
    `ids_path` defaults to `var/demo-IDs.txt`; `hourly=False` skips the hourly sync thread and
    `clock` freezes the stand-in's time (both for tests). Progress goes to `stdout`. Until
    `stop()`, every sync of this process (the web requests' too) uses the stand-in.
    """
    clock = clock or utc_now
    today = timezone.localtime(clock()).date()
    world = generate_world(today=today, group_id=DEMO_GROUP_ID, tz=settings.TIME_ZONE)
    api = FreshserviceApi(world, api_key=secrets.token_urlsafe(24), clock=clock)
    server = FreshserviceServer(api)
    cleanup = ExitStack()
    endpoint = server.start()
    cleanup.callback(server.stop)
    try:
        _say(
            stdout,
            f"Demo mode: a stand-in Freshservice with {len(world.agents)} agents serves "
            f"generated tickets at {endpoint}",
        )
        path = ids_path or default_ids_path()
        config = replace(
            FreshserviceConfig.from_settings(),
            api_key=api.api_key,
            endpoint=endpoint,
            group_ids=DEMO_GROUP_IDS,
            workspace_id=None,
            ids_file=str(path),
            demo=True,
        )
        cleanup.enter_context(override_freshservice_config(config))
        _create_agent_users(world)
        try:
            report = refresh_agents(path=path)
        except IdsFileError as exc:  # only when the stand-in's agent list failed
            _say(stdout, f"Could not load the demo agents: {exc}")
        else:
            if report.directory is None:
                _say(stdout, f"The stand-in's agent list: {report.directory_problem}")
            linked = FreshworksUserMapping.objects.filter(user__isnull=False).count()
            _say(
                stdout,
                f"Agents: {linked} linked to local users (by email), the others shown by their "
                "Freshservice name only.",
            )
        password = _reset_demo_user()
        backfill = _backfill_or_catch_up(stdout)
    except BaseException:
        cleanup.close()
        raise

    site = DemoSite(
        url=f"http://127.0.0.1:{port}/",
        username=DEMO_USERNAME,
        password=password,
        config=config,
        world=world,
        server=server,
        ids_path=path,
        backfill=backfill,
        _cleanup=cleanup,
    )
    if hourly:
        site._scheduler = threading.Thread(
            target=_sync_every_hour, args=(site._stopping,), name="demo-hourly-sync", daemon=True
        )
        site._scheduler.start()
    return site


def _say(stdout: Writer, line: str) -> None:
    stdout.write(line + "\n")


def _create_agent_users(world: World) -> None:
    """Local users for every other agent of the team, with the agent's email (the link): the
    rest show as unlinked, as on a real desk."""
    for agent in world.agents[::2]:
        user, created = User.objects.get_or_create(
            username=agent.username,
            defaults={
                "first_name": agent.first_name,
                "last_name": agent.last_name,
                "email": agent.email,
            },
        )
        if created:
            user.set_unusable_password()
            user.save(update_fields=["password"])
        elif not user.email:
            # Made by an earlier demo, before agents were linked by email.
            user.email = agent.email
            user.save(update_fields=["email"])


def _reset_demo_user() -> str:
    """The `demo` manager (staff, so Django admin opens) with a new password every start."""
    password = secrets.token_urlsafe(12)
    user, _ = User.objects.get_or_create(
        username=DEMO_USERNAME, defaults={"first_name": "Demo", "last_name": "Manager"}
    )
    user.is_staff = True
    user.is_active = True
    user.set_password(password)
    user.save()
    user.groups.add(Group.objects.get(name="Manager"))
    return password


def _backfill_or_catch_up(stdout: Writer) -> SyncResult | None:
    """Backfill the last 30 days the first time; later starts sync today as the hour would."""
    if SyncRun.objects.successful().exists():
        if scheduled_sync():
            _say(stdout, "Caught up with what changed since the last run.")
        else:
            _say(
                stdout, "No catch-up sync now (the reason is logged above); the hourly one follows."
            )
        return None
    today = timezone.localdate()
    first = today - timedelta(days=BACKFILL_DAYS - 1)
    _say(stdout, f"Backfilling {first} to {today} through the Freshservice client...")
    try:
        result = sync_closures(
            first=first,
            last=today,
            trigger=SyncRun.Trigger.DEMO,
            force=True,
            max_wait=BACKFILL_MAX_WAIT_SECONDS,
        )
    except (SyncRefused, SyncFailed) as exc:
        _say(stdout, f"The demo backfill failed: {exc} The hourly sync will try again.")
        return None
    _say(
        stdout,
        f"Backfilled {BACKFILL_DAYS} days: {result.tickets_processed} tickets in "
        f"{result.api_calls} API calls.",
    )
    return result


def _sync_every_hour(stopping: threading.Event) -> None:
    """The demo's cron: `scheduled_sync()` every hour until `stopping` is set.

    At each top of the hour, or, when today synced less than SYNC_MIN_INTERVAL_MINUTES before
    it (the backfill at 15:12 holds off 16:00), as soon as the rate limit lets it: the hour's
    sync is late rather than skipped.
    """
    while not stopping.is_set():
        try:
            when = _next_sync_time()
        finally:
            connections.close_all()
        # Event.wait may wake a little early; wait again until the moment has really come.
        while (left := (when - timezone.now()).total_seconds()) > 0:
            if stopping.wait(left):
                return
        try:
            scheduled_sync()
        except Exception:
            logger.exception("The demo's hourly sync failed")
        finally:
            # This thread's own connection; the server's threads keep theirs.
            connections.close_all()


def _next_sync_time() -> datetime:
    tick = next(CronSim(HOURLY, timezone.localtime()))
    day = timezone.localtime(tick).date()
    (allowance,) = selectors.sync_allowances(first=day, last=day)
    if allowance.next_sync_at is not None and allowance.next_sync_at > tick:
        return allowance.next_sync_at
    return tick
