"""Which Freshservice the sync talks to, and how (SPEC §3): one frozen value, read in one place.

`freshservice_config()` is what the sync builds its client from and counts by. It is read from
the settings (`FRESH_*`, `DEMO_MODE`), which are never rewritten at run time.

The other sources, both demo mode's (`make run`, i.e. `manage.py runsite`):
- the process that serves its own stand-in Freshservice hands its configuration over with
  `override_freshservice_config(config)`. It holds for every thread of the process (the web
  requests behind the sync button, the admin's actions, the hourly sync) until the block ends.
  Production code never calls it (the benchmarks, which serve the same stand-in, do).
- that process also publishes the stand-in in `settings.DEMO_STATE_FILE` (`var/demo.json`:
  its pid, endpoint, key, group and IDs file) while it runs (`publish_demo_config`). Another
  process on the machine with no Freshservice account configured (no `FRESH_API`) — the
  README's commands, cron — syncs that running demo (`running_demo_config`), as the site
  does. Once the demo stops, the file is gone (or names a dead process) and the settings hold
  again.
"""

from __future__ import annotations

import functools
import json
import os
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver

from freshworks.secrets import redact


@dataclass(frozen=True)
class FreshserviceConfig:
    """The Freshservice account, the groups whose closures count (each a team, SPEC §16.5),
    and the client's limits."""

    api_key: str = field(repr=False)
    endpoint: str
    group_ids: tuple[int, ...]
    workspace_id: int | None
    closed_statuses: tuple[int, ...]
    timeout: float
    max_wait: float
    ids_file: str
    demo: bool
    budget_reserve: float = 0.20

    @classmethod
    def from_settings(cls) -> FreshserviceConfig:
        return cls(
            api_key=settings.FRESH_API,
            endpoint=settings.FRESH_ENDPOINT,
            group_ids=group_ids(settings.FRESH_GROUP_ID),
            workspace_id=settings.FRESH_WORKSPACE_ID,
            closed_statuses=tuple(settings.FRESH_CLOSED_STATUSES),
            timeout=settings.FRESH_TIMEOUT_SECONDS,
            max_wait=settings.FRESH_MAX_WAIT_SECONDS,
            ids_file=settings.FRESH_IDS_FILE,
            demo=bool(settings.DEMO_MODE),
            budget_reserve=settings.FRESH_BUDGET_RESERVE,
        )

    @property
    def group_id(self) -> int | None:
        """The first configured group (the one group of a single-team desk); None without one."""
        return self.group_ids[0] if self.group_ids else None

    def ticket_url(self, ticket_id: int) -> str | None:
        """The ticket's page in Freshservice's agent portal, `https://<domain>/a/tickets/<id>`, on
        the endpoint's own origin (the demo's stand-in serves one too); None when no endpoint is
        configured."""
        origin = urlsplit(self.endpoint)
        if not origin.scheme or not origin.netloc:
            return None
        host = origin.netloc.rpartition("@")[2]  # never a user or password in a link
        return f"{origin.scheme}://{host}/a/tickets/{ticket_id}"


_lock = threading.Lock()
_override: FreshserviceConfig | None = None


def freshservice_config() -> FreshserviceConfig:
    """The configuration in force: the override when one is installed, else the settings', or
    the running demo's when the settings name no account (no FRESH_API)."""
    if _override is not None:
        return _override
    config = _settings_config()
    if not config.api_key:
        return running_demo_config() or config
    return config


def running_demo_config() -> FreshserviceConfig | None:
    """The stand-in Freshservice of the demo `make run` serves on this machine, if one runs."""
    try:
        found = os.stat(settings.DEMO_STATE_FILE)
    except OSError:
        return None
    published = _published(settings.DEMO_STATE_FILE, found.st_ino, found.st_mtime_ns)
    if published is None:
        return None
    config, pid = published
    return config if _process_runs(pid) else None


# Every API read's ETag reads the configuration (`tickets.api.etag`): it is made once, and a
# demo's state file read again only when it is another file, not on every request (that was a
# tenth of a 304's own work). Settings do not change while a process runs, except in tests,
# whose overrides clear both.
@functools.cache
def _settings_config() -> FreshserviceConfig:
    return FreshserviceConfig.from_settings()


@functools.lru_cache(maxsize=4)
def _published(
    path: str | Path, inode: int, modified_ns: int
) -> tuple[FreshserviceConfig, int] | None:
    """The configuration and pid in a demo's state file, as written at `modified_ns`."""
    try:
        state = json.loads(Path(path).read_text(encoding="utf-8"))
        pid = int(state["pid"])
        published = replace(
            _settings_config(),
            api_key=str(state["api_key"]),
            endpoint=str(state["endpoint"]),
            group_ids=tuple(int(group) for group in state["group_ids"]),
            workspace_id=None,
            ids_file=str(state["ids_file"]),
            demo=True,
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return published, pid


@receiver(setting_changed)
def _settings_changed(**kwargs: object) -> None:
    _settings_config.cache_clear()
    _published.cache_clear()


@contextmanager
def publish_demo_config(config: FreshserviceConfig) -> Iterator[Path]:
    """Write `config` (a running demo's) to `settings.DEMO_STATE_FILE` for this process's
    lifetime, readable by its owner only; removed when the block ends."""
    path = Path(settings.DEMO_STATE_FILE)
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {
        "pid": os.getpid(),
        "endpoint": config.endpoint,
        "api_key": config.api_key,
        "group_ids": list(config.group_ids),
        "ids_file": config.ids_file,
    }
    partial = path.with_name(f".{path.name}.{os.getpid()}")
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        json.dump(state, file)
    os.replace(partial, path)  # whole or not at all, for a reader at the same moment
    try:
        yield path
    finally:
        with suppress(FileNotFoundError):
            path.unlink()


def _process_runs(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, another user's
        return True
    return True


@contextmanager
def override_freshservice_config(config: FreshserviceConfig) -> Iterator[FreshserviceConfig]:
    """Use `config` instead of the settings in this whole process until the block ends."""
    global _override
    with _lock:
        previous, _override = _override, config
    try:
        yield config
    finally:
        with _lock:
            _override = previous


def group_ids(value: Any) -> tuple[int, ...]:
    """FRESH_GROUP_ID as a tuple: settings parse it to one; a test or an older caller may
    still set a single id, or None for none."""
    if value is None:
        return ()
    if isinstance(value, int):
        return (value,)
    assert isinstance(value, Iterable)
    return tuple(int(group) for group in value)


def without_key(text: str) -> str:
    """`text` with the API key in force hidden in every form (`freshworks.secrets.redact`):
    for whatever is logged, stored in the database or shown on a page or in an answer."""
    return redact(text, freshservice_config().api_key)
