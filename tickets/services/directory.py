"""Freshservice's agent list in FreshworksUserMapping (SPEC §14.3): names, emails, active flags.

`refresh_agents` is what "refresh user mappings" means everywhere (the command, the API, the
admin, `init_ticket_tracking`, the demo): the agent list, then IDs.txt, in one transaction.
`refresh_directory` reads the agent list alone; the sync and the schedule call it on their
occasions (`refresh_for_unknown_agents`, `refresh_once_a_day`), where a failure is only logged:
names are cosmetic and never worth a sync's counts.

The agent list costs one call per 100 agents of each listing (active and inactive agents are
listed separately): ceil(active / 100) + ceil(inactive / 100) calls, 1 credit each.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path

from django.db import connection, transaction
from django.utils import timezone

from freshworks.client import Agent, FreshserviceClient, FreshworksError
from freshworks.ids import IdsFileMissing, read_ids_file
from tickets.dates import local_day_start
from tickets.models import FreshworksUserMapping
from tickets.services.data_version import bump_data_version
from tickets.services.mapping import (
    EmailOutcome,
    MappingReport,
    apply_ids_file,
    ids_file_path,
    link_by_email,
)

logger = logging.getLogger("tickets.directory")

# SQLite allows a limited number of query parameters; stay well below it.
CHUNK = 500


@dataclass(frozen=True)
class DirectoryReport:
    """One read of the agent list: how many agents it listed, what changed in the table."""

    listed: int
    active: int
    inactive: int
    created: list[int]
    changed: list[int]
    not_listed: list[int]
    seen_at: datetime
    api_calls: int = 0
    email_outcomes: tuple[EmailOutcome, ...] = ()
    relinked_closures: int = 0

    @property
    def email_linked(self) -> list[EmailOutcome]:
        return [outcome for outcome in self.email_outcomes if outcome.username is not None]


class DirectoryUnavailable(Exception):
    """The agent list could not be read: Freshservice is not configured, or the call failed.

    `configured` tells which; the message is one line a person can act on.
    """

    def __init__(self, message: str, *, configured: bool) -> None:
        super().__init__(message)
        self.configured = configured


def write_directory(
    agents: Sequence[Agent], *, seen_at: datetime, api_calls: int = 0
) -> DirectoryReport:
    """Store what the agent list says of each agent; call it inside a transaction.

    A row is created for an agent new to the table; every listed agent's names, email, active
    flag and `directory_seen_at` are set. Agents the list no longer has keep their rows as they
    were (their `directory_seen_at` is older than `seen_at`). Links and IDs.txt names are not
    touched here.
    """
    bump_data_version()
    existing = {
        mapping.freshworks_user_id: mapping for mapping in FreshworksUserMapping.objects.all()
    }
    to_create: list[FreshworksUserMapping] = []
    to_update: list[FreshworksUserMapping] = []
    for agent in agents:
        fields = {
            "first_name": agent.first_name[:200],
            "last_name": agent.last_name[:200],
            "email": (agent.email or "")[:254],
            "active": agent.active,
        }
        mapping = existing.get(agent.id)
        if mapping is None:
            to_create.append(
                FreshworksUserMapping(
                    freshworks_user_id=agent.id, directory_seen_at=seen_at, **fields
                )
            )
        elif any(getattr(mapping, name) != value for name, value in fields.items()):
            for name, value in fields.items():
                setattr(mapping, name, value)
            # bulk_update skips auto_now: only rows whose data changed get a new timestamp.
            mapping.updated_at = seen_at
            to_update.append(mapping)

    if to_create:
        # Two refreshes at once (a sync and the command) may both create an agent: the second
        # insert updates the first's row instead of failing.
        FreshworksUserMapping.objects.bulk_create(
            to_create,
            batch_size=CHUNK,
            update_conflicts=True,
            # MySQL and MariaDB take no conflict target (write.py says the same).
            unique_fields=(
                ["freshworks_user_id"]
                if connection.features.supports_update_conflicts_with_target
                else None
            ),
            update_fields=["first_name", "last_name", "email", "active", "directory_seen_at"],
        )
    if to_update:
        FreshworksUserMapping.objects.bulk_update(
            to_update,
            ["first_name", "last_name", "email", "active", "updated_at"],
            batch_size=200,
        )
    listed_ids = {agent.id for agent in agents}
    listed = sorted(listed_ids)
    for start in range(0, len(listed), CHUNK):
        FreshworksUserMapping.objects.filter(
            freshworks_user_id__in=listed[start : start + CHUNK]
        ).update(directory_seen_at=seen_at)

    inactive = sum(not agent.active for agent in agents)
    return DirectoryReport(
        listed=len(agents),
        active=len(agents) - inactive,
        inactive=inactive,
        created=sorted(mapping.freshworks_user_id for mapping in to_create),
        changed=sorted(mapping.freshworks_user_id for mapping in to_update),
        not_listed=sorted(
            agent_id
            for agent_id, mapping in existing.items()
            if mapping.directory_seen_at is not None and agent_id not in listed_ids
        ),
        seen_at=seen_at,
        api_calls=api_calls,
    )


def refresh_directory(*, client: FreshserviceClient) -> DirectoryReport:
    """Read the agent list with `client` and store it, filling empty links by email and
    relinking closures, in one transaction. FreshworksError when the list cannot be read
    (nothing written then)."""
    calls_before = client.api_calls
    agents = client.list_agents()
    with transaction.atomic():
        report = write_directory(
            agents, seen_at=timezone.now(), api_calls=client.api_calls - calls_before
        )
        outcomes, relinked = link_by_email()
    report = replace(report, email_outcomes=tuple(outcomes), relinked_closures=relinked)
    logger.info(
        "Agent list read from Freshservice: %d agents (%d active, %d inactive) in %d calls; "
        "%d new, %d changed, %d no longer listed, %d linked by email, %d closure rows relinked",
        report.listed,
        report.active,
        report.inactive,
        report.api_calls,
        len(report.created),
        len(report.changed),
        len(report.not_listed),
        len(report.email_linked),
        relinked,
    )
    return report


def refresh_agents(
    *, path: str | Path | None = None, client: FreshserviceClient | None = None
) -> MappingReport:
    """Refresh agent names and links: Freshservice's agent list, then IDs.txt.

    Reads the agent list (with `client`, else one built from the configuration; skipped, and
    said so in `directory_problem`, when Freshservice is not configured or the call fails),
    then the IDs file (`path`, default FRESH_IDS_FILE), and writes both in one transaction (see
    `write_directory` and `mapping.apply_ids_file`). A missing IDs file is no error once the
    agent list has listed somebody (now or before): no agent has an IDs.txt name then. Raises
    `freshworks.ids.IdsFileError`, having changed nothing, when the file is missing before the
    agent list ever loaded, or is unreadable or without a valid line.
    """
    agents: list[Agent] | None = None
    problem = ""
    failed = False
    calls = 0
    try:
        agents, calls = _read_agent_list(client)
    except DirectoryUnavailable as exc:
        problem, failed = str(exc), exc.configured
        if failed:
            logger.warning("Agent names: %s", problem)

    ids_path = ids_file_path(path)
    try:
        ids = read_ids_file(ids_path)
    except IdsFileMissing as exc:
        # Loaded means it named somebody: now, or on an earlier read.
        if not agents and not FreshworksUserMapping.objects.seen_in_directory().exists():
            if failed:
                raise IdsFileMissing(f"{exc}; and {problem}") from None
            raise
        ids = None

    with transaction.atomic():
        directory = (
            write_directory(agents, seen_at=timezone.now(), api_calls=calls)
            if agents is not None
            else None
        )
        report = apply_ids_file(ids, path=ids_path)
    return replace(report, directory=directory, directory_problem=problem, directory_failed=failed)


def refresh_for_unknown_agents(client: FreshserviceClient, agent_ids: Iterable[int]) -> bool:
    """Inside a sync: read the agent list once when one of `agent_ids` (the responders of the
    tickets that count) has no row yet. True when it was read.

    A failure is logged as a warning and otherwise ignored: the names are cosmetic, the sync's
    counts are not.
    """
    wanted = set(agent_ids)
    if not wanted:
        return False
    known: set[int] = set()
    ids = sorted(wanted)
    for start in range(0, len(ids), CHUNK):
        known.update(
            FreshworksUserMapping.objects.filter(
                freshworks_user_id__in=ids[start : start + CHUNK]
            ).values_list("freshworks_user_id", flat=True)
        )
    unknown = wanted - known
    if not unknown:
        return False
    logger.info(
        "The sync met %d agent(s) without a name yet (e.g. %d); reading Freshservice's agent list",
        len(unknown),
        min(unknown),
    )
    return _refresh_quietly(client, occasion="for the agents a sync met")


def read_today() -> bool:
    """Whether the agent list was read today (in TIME_ZONE): some agent was listed today."""
    today_began = local_day_start(timezone.localdate())
    return FreshworksUserMapping.objects.filter(directory_seen_at__gte=today_began).exists()


def refresh_once_a_day(client: FreshserviceClient) -> bool:
    """For the first scheduled sync of a day (in TIME_ZONE): read the agent list unless it was
    read today already. True when it was read; a failure is only logged."""
    if read_today():
        return False
    return _refresh_quietly(client, occasion="for the day's first scheduled sync")


def _refresh_quietly(client: FreshserviceClient, *, occasion: str) -> bool:
    try:
        refresh_directory(client=client)
    except FreshworksError as exc:
        logger.warning(
            "Could not read Freshservice's agent list %s: %s. Agent names may be out of date "
            "(names only; the closure counts are not affected).",
            occasion,
            " ".join(str(exc).split()),
        )
        return False
    except Exception:
        # A bug or the database: worth its traceback, never worth the sync.
        logger.exception(
            "Could not store Freshservice's agent list %s (names only; the closure counts are "
            "not affected)",
            occasion,
        )
        return False
    return True


def _read_agent_list(client: FreshserviceClient | None) -> tuple[list[Agent], int]:
    """The agent list and the calls it took; DirectoryUnavailable when it cannot be read."""
    if client is not None:
        before = client.api_calls
        try:
            return client.list_agents(), client.api_calls - before
        except FreshworksError as exc:
            raise DirectoryUnavailable(_reading_failed(exc), configured=True) from None
    # Imported here: the sync package imports this module (its unknown-agent hook).
    from tickets.services.sync.errors import SyncFailed, SyncNotConfigured
    from tickets.services.sync.fetch import build_client

    try:
        own = build_client()
    except SyncNotConfigured as exc:
        reason = str(exc).rstrip(".")
        raise DirectoryUnavailable(f"not read ({reason})", configured=False) from None
    except SyncFailed as exc:
        # A setting the client refuses, such as plain http:// outside demo mode.
        reason = " ".join(str(exc).split())
        raise DirectoryUnavailable(
            f"could not read Freshservice's agent list: {reason}", configured=True
        ) from None
    with own:
        try:
            return own.list_agents(), own.api_calls
        except FreshworksError as exc:
            raise DirectoryUnavailable(_reading_failed(exc), configured=True) from None


def _reading_failed(exc: FreshworksError) -> str:
    return f"could not read Freshservice's agent list: {' '.join(str(exc).split())}"
