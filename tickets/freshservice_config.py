"""Which Freshservice the sync talks to, and how (SPEC §3): one frozen value, read in one place.

`freshservice_config()` is what the sync builds its client from and counts by. It is read from
the settings (`FRESH_*`, `DEMO_MODE`), which are never rewritten at run time.

The one other source: a process that serves its own stand-in Freshservice (demo mode's
`manage.py runsite`) hands its configuration over with `override_freshservice_config(config)`.
It holds for every thread of the process (the web requests behind the sync button, the admin's
actions, the hourly sync) until the block ends. Production code never calls it (the benchmarks,
which serve the same stand-in, do).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings


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
    """The configuration in force: the override when one is installed, else the settings'."""
    return _override or FreshserviceConfig.from_settings()


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
