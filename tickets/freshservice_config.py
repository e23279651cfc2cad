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
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from django.conf import settings

from freshworks.secrets import redact


@dataclass(frozen=True)
class FreshserviceConfig:
    """The Freshservice account, the group whose closures count, and the client's limits."""

    api_key: str = field(repr=False)
    endpoint: str
    group_id: int | None
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
            group_id=settings.FRESH_GROUP_ID,
            workspace_id=settings.FRESH_WORKSPACE_ID,
            closed_statuses=tuple(settings.FRESH_CLOSED_STATUSES),
            timeout=settings.FRESH_TIMEOUT_SECONDS,
            max_wait=settings.FRESH_MAX_WAIT_SECONDS,
            ids_file=settings.FRESH_IDS_FILE,
            demo=bool(settings.DEMO_MODE),
            budget_reserve=settings.FRESH_BUDGET_RESERVE,
        )


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


def without_key(text: str) -> str:
    """`text` with the API key in force hidden in every form (`freshworks.secrets.redact`):
    for whatever is logged, stored in the database or shown on a page or in an answer."""
    return redact(text, freshservice_config().api_key)
