"""The closure data (SPEC §4): per-ticket ground truth, daily counts, mappings and the sync log."""

from __future__ import annotations

import hashlib
import os
import socket
import uuid
from datetime import timedelta

from django.conf import settings
from django.db import OperationalError, models
from django.db.models import Q
from django.db.models.functions import Concat, Substr
from django.utils import timezone

from tickets.dates import dates_label
from tickets.freshservice_config import freshservice_config


def default_group_id() -> int:
    """The group of a row made without one (by hand: the shell, tests): the first configured
    group, 0 when none is. The sync always names the ticket's own group."""
    return freshservice_config().group_id or 0


class TicketStatus(models.IntegerChoices):
    """Freshservice's names of the statuses that usually count as closed (FRESH_CLOSED_STATUSES).

    Labels only: a desk may count other statuses too, which show by their number.
    """

    RESOLVED = 4, "Resolved"
    CLOSED = 5, "Closed"


class ClosedTicket(models.Model):
    """A Freshservice ticket that, in the latest data fetched, counts as closed in one of the
    configured groups (the one in `group_id`).

    The daily counts are derived from these rows, which makes every sync idempotent and lets a
    reopened ticket (or one moved to another group) be removed.
    """

    ticket_id = models.BigIntegerField(unique=True)
    responder_id = models.BigIntegerField()
    group_id = models.BigIntegerField(
        default=default_group_id,
        help_text="The configured agent group (team) the ticket is in: one ticket, one group",
    )
    status = models.PositiveSmallIntegerField()
    closed_at = models.DateTimeField(help_text="resolved_at, else closed_at, else updated_at (UTC)")
    closure_date = models.DateField(help_text="closed_at as a calendar day in TIME_ZONE")
    fetched_at = models.DateTimeField(
        help_text="When a sync last wrote this row (a backfill rewrites each row it fetches)"
    )

    class Meta:
        ordering = ["-closed_at"]
        # Read by the recount of TicketClosure for the dates a sync touched.
        indexes = [
            models.Index(fields=["closure_date", "responder_id"], name="closedticket_date_agent")
        ]

    def __str__(self) -> str:
        return f"#{self.ticket_id} by {self.responder_id} on {self.closure_date}"

    @property
    def status_label(self) -> str:
        """`5 Closed`, or the bare number of a status Freshservice does not name by default."""
        return status_label(self.status)


def status_label(status: int) -> str:
    """`4 Resolved`, `5 Closed`; other statuses by their number."""
    if status in TicketStatus.values:
        return f"{status} {TicketStatus(status).label}"
    return str(status)


class TicketClosure(models.Model):
    """Tickets closed by one agent on one day in one group (team), recomputed from ClosedTicket
    (never incremented). An agent who works in two configured groups has a row for each."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="ticket_closures",
    )
    freshworks_user_id = models.BigIntegerField(verbose_name="Freshservice agent ID")
    date = models.DateField()
    group_id = models.BigIntegerField(
        default=default_group_id, help_text="The agent group (team) of the tickets counted"
    )
    tickets_closed = models.PositiveIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-date", "-tickets_closed"]
        constraints = [
            models.UniqueConstraint(
                fields=["freshworks_user_id", "date", "group_id"],
                name="ticketclosure_unique_agent_date_group",
            ),
        ]
        # Read by every period query of the dashboard and API (a date range over all agents).
        indexes = [models.Index(fields=["date"], name="ticketclosure_date")]

    def __str__(self) -> str:
        return (
            f"{self.freshworks_user_id} closed {self.tickets_closed} on {self.date} "
            f"in group {self.group_id}"
        )


def agent_display_name(
    freshworks_user_id: int, *, ids_name: str = "", first_name: str = "", last_name: str = ""
) -> str:
    """The name shown for an agent (SPEC §14.3), the first that exists: the IDs.txt name;
    Freshservice's first name plus last initial (`Temp A.`; only a first name: the first name;
    only a last name: the last name); `Agent <id>`.

    `DISPLAY_NAME` below is the same rule in SQL, for querysets that annotate names; the two
    must agree (tests/test_directory.py compares them).
    """
    if ids_name:
        return ids_name
    if first_name and last_name:
        return f"{first_name} {last_name[0]}."
    return first_name or last_name or f"Agent {freshworks_user_id}"


class NameSource(models.TextChoices):
    """Where an agent's display name comes from."""

    IDS_FILE = "ids", "IDs.txt"
    FRESHSERVICE = "freshservice", "Freshservice"
    FALLBACK = "fallback", "Agent <id> (no name known)"


def _blank(field: str) -> Q:
    return Q(**{field: ""})


# `agent_display_name` for a FreshworksUserMapping queryset, without the `Agent <id>` fallback
# (empty when no name is known: the caller adds the fallback, as `selectors.agent_label` does).
DISPLAY_NAME = models.Case(
    models.When(~_blank("freshworks_username"), then=models.F("freshworks_username")),
    models.When(
        ~_blank("first_name") & ~_blank("last_name"),
        then=Concat(
            models.F("first_name"),
            models.Value(" "),
            Substr(models.F("last_name"), 1, 1),
            models.Value("."),
            output_field=models.CharField(),
        ),
    ),
    models.When(~_blank("first_name"), then=models.F("first_name")),
    default=models.F("last_name"),
    output_field=models.CharField(),
)


class FreshworksUserMappingQuerySet(models.QuerySet):
    def of_outer_agent(self, field: str = "freshworks_user_id") -> FreshworksUserMappingQuerySet:
        """The mapping of the agent named by the outer query's `field`, for Exists/Subquery."""
        return self.filter(freshworks_user_id=models.OuterRef(field))

    def seen_in_directory(self) -> FreshworksUserMappingQuerySet:
        """Agents Freshservice's agent list has listed at least once."""
        return self.filter(directory_seen_at__isnull=False)


class FreshworksUserMapping(models.Model):
    """One Freshservice agent: the name IDs.txt gives it, what Freshservice's agent list says
    of it (SPEC §14.3), and the local user it is linked to.

    A row comes from IDs.txt (`freshworks_username`), from the agent list (`directory_seen_at`
    set), or both. `display_name` is the name shown everywhere.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="freshworks_mappings",
    )
    freshworks_user_id = models.BigIntegerField(unique=True, verbose_name="Freshservice agent ID")
    freshworks_username = models.CharField(
        max_length=200,
        blank=True,
        verbose_name="IDs.txt name",
        help_text="The name in IDs.txt (an override); empty without one",
    )
    # From Freshservice's agent list (SPEC §14.3); empty until the directory has been loaded.
    first_name = models.CharField(max_length=200, blank=True)
    last_name = models.CharField(max_length=200, blank=True)
    email = models.CharField(max_length=254, blank=True)
    active = models.BooleanField(null=True, blank=True, help_text="Unknown until listed")
    directory_seen_at = models.DateTimeField(
        null=True, blank=True, help_text="When Freshservice's agent list last listed this agent"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = FreshworksUserMappingQuerySet.as_manager()

    class Meta:
        ordering = ["freshworks_username"]
        # The model's name is the client package's; what a user reads is the product's.
        verbose_name = "Freshservice agent"
        verbose_name_plural = "Freshservice agents"

    def __str__(self) -> str:
        return f"{self.display_name} ({self.freshworks_user_id})"

    @property
    def display_name(self) -> str:
        return agent_display_name(
            self.freshworks_user_id,
            ids_name=self.freshworks_username,
            first_name=self.first_name,
            last_name=self.last_name,
        )

    @property
    def name_source(self) -> NameSource:
        if self.freshworks_username:
            return NameSource.IDS_FILE
        if self.first_name or self.last_name:
            return NameSource.FRESHSERVICE
        return NameSource.FALLBACK


class FreshserviceGroup(models.Model):
    """A Freshservice agent group whose closures count (FRESH_GROUP_ID), as last read from
    `GET groups/{id}`: its name is the team's name, its workspace the one the list call needs."""

    group_id = models.BigIntegerField(unique=True)
    name = models.CharField(max_length=200)
    workspace_id = models.BigIntegerField(null=True, blank=True)
    fetched_at = models.DateTimeField(help_text="When the group was last read from Freshservice")

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.group_id})"


class TicketSyncMetadata(models.Model):
    """Per-date bookkeeping of successful syncs; the per-date rate limit reads it."""

    sync_date = models.DateField(unique=True)
    last_sync_time = models.DateTimeField(
        help_text="Start of the last successful sync of this date"
    )
    sync_count = models.PositiveIntegerField(default=0)
    tickets_processed = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-sync_date"]
        verbose_name_plural = "ticket sync metadata"

    def __str__(self) -> str:
        return f"{self.sync_date}: {self.sync_count} syncs"


class SyncRunQuerySet(models.QuerySet):
    def successful(self) -> SyncRunQuerySet:
        return self.filter(status=SyncRun.Status.SUCCESS)


class SyncRun(models.Model):
    """The audit log of syncs that ran (refused attempts are not logged)."""

    class Trigger(models.TextChoices):
        SCHEDULE = "schedule", "Schedule"
        BUTTON = "button", "Button"
        FORCE = "force", "Force"
        COMMAND = "command", "Command"
        INIT = "init", "Init"
        ADMIN = "admin", "Admin"
        DEMO = "demo", "Demo"
        REPAIR = "repair", "Repair"

    class Status(models.TextChoices):
        SUCCESS = "success", "Success"
        FAILED = "failed", "Failed"

    first_date = models.DateField()
    last_date = models.DateField()
    trigger = models.CharField(max_length=16, choices=Trigger.choices)
    status = models.CharField(max_length=16, choices=Status.choices)
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField()
    fetched_from = models.DateTimeField(null=True, blank=True, help_text="updated_since it used")
    tickets_processed = models.PositiveIntegerField(default=0)
    api_calls = models.PositiveIntegerField(default=0)
    credits = models.PositiveIntegerField(
        default=0, help_text="Freshservice rate-limit credits spent (1 per call, +2 with stats)"
    )
    error = models.TextField(blank=True)
    resumed_from_page = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="A backfill run again after a crash or a kill: the page it went on from",
    )

    objects = SyncRunQuerySet.as_manager()

    class Meta:
        ordering = ["-started_at"]
        permissions = [
            ("force_sync", "Can force a sync past the rate limit and sync any date"),
            ("view_sync_stats", "Can view sync statistics"),
        ]
        # Read by the watermark (latest successful start) and recent activity.
        indexes = [models.Index(fields=["status", "started_at"], name="syncrun_status_started")]

    def __str__(self) -> str:
        return f"{self.get_trigger_display()} sync of {self.dates}: {self.status}"

    @property
    def dates(self) -> str:
        return dates_label(self.first_date, self.last_date)


# The one lease row, made by the 0002 migration and after every migrate (tickets.roles).
SYNC_LEASE_NAME = "sync"


def lease_holder_name() -> str:
    """A new holder's name: random, then the host and process, so that a sync on the same host
    can tell a holder that was killed (SIGKILL, no clean-up) and need not wait for its lease to
    expire (`holder_died_here`)."""
    return f"{uuid.uuid4().hex}@{socket.gethostname()[:20]}:{os.getpid()}"


def holder_died_here(holder: str) -> bool:
    """Whether `holder` names a process of this host that no longer runs. Another host's
    holder, or one named otherwise, is never taken for dead (its lease expires instead)."""
    _, _, place = holder.partition("@")
    host, _, pid = place.rpartition(":")
    if host != socket.gethostname()[:20] or not pid.isdigit() or int(pid) == os.getpid():
        return False
    try:
        os.kill(int(pid), 0)  # signal 0: only asks whether the process exists
    except ProcessLookupError:
        return True
    except OSError:
        return False  # exists, as another user's
    return False


class SyncLeaseQuerySet(models.QuerySet):
    """The sync lease, claimed, renewed and released by a holder (a random id per sync)."""

    def _held_by(self, holder: str) -> SyncLeaseQuerySet:
        return self.filter(name=SYNC_LEASE_NAME, holder=holder)

    def claim(self, holder: str, ttl: timedelta) -> bool:
        """Take the lease for `ttl` if it is free or expired, with one conditional UPDATE."""
        now = timezone.now()
        try:
            self.get_or_create(name=SYNC_LEASE_NAME)
            claimed = (
                self.filter(name=SYNC_LEASE_NAME)
                .filter(Q(holder="") | Q(expires_at__isnull=True) | Q(expires_at__lt=now))
                .update(holder=holder, expires_at=now + ttl)
            )
            if not claimed:
                # A holder on this host whose process is gone (killed) blocks no one.
                taken = self.filter(name=SYNC_LEASE_NAME).values_list("holder", flat=True).first()
                if taken and holder_died_here(taken):
                    claimed = self.filter(name=SYNC_LEASE_NAME, holder=taken).update(
                        holder=holder, expires_at=now + ttl
                    )
        except OperationalError:
            # SQLite: another sync's long write transaction held the database past the busy
            # timeout; that sync is running.
            return False
        return claimed == 1

    def renew(self, holder: str, ttl: timedelta) -> bool:
        """Extend `holder`'s lease by `ttl` from now; False when it is no longer theirs."""
        return self._held_by(holder).update(expires_at=timezone.now() + ttl) == 1

    def release(self, holder: str) -> None:
        """Free the lease if `holder` still has it (a newer sync's lease is not ours to free)."""
        self._held_by(holder).update(holder="", expires_at=None)

    def still_held(self, holder: str) -> bool:
        """Inside a transaction: lock the lease row and say whether `holder` still has it, so
        no other sync can take it before the transaction commits."""
        return self._held_by(holder).select_for_update().exists()


class SyncLease(models.Model):
    """The single row that makes syncs run one at a time across workers and hosts.

    A sync claims it with a conditional UPDATE (free or expired -> mine); a crashed sync's lease
    expires, so it cannot block the next one for long.
    """

    name = models.CharField(max_length=32, unique=True)
    holder = models.CharField(max_length=64, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)

    objects = SyncLeaseQuerySet.as_manager()

    def __str__(self) -> str:
        return f"{self.name}: {self.holder or 'free'}"


def token_hash(token: str) -> str:
    """What is stored of a wall-screen token: its SHA-256, in hex."""
    return hashlib.sha256(token.encode()).hexdigest()


class WallScreenLinkQuerySet(models.QuerySet):
    def active(self) -> WallScreenLinkQuerySet:
        return self.filter(revoked_at__isnull=True)

    def by_token(self, token: str) -> WallScreenLink | None:
        """The unrevoked link whose token is `token`, None for an unknown or revoked one.

        The lookup is by the token's hash, so no constant-time comparison is needed: how long
        the database takes to find a row tells at most how much of a *hash* matched, and
        knowing a prefix of SHA-256 does not help anyone build a token that hashes to it.
        """
        return self.active().filter(token_hash=token_hash(token)).first()


class WallScreenLink(models.Model):
    """A link that shows the board on a wall screen without a log-in (SPEC §17).

    The token is shown once, when the link is created; only its hash is stored. A revoked link
    stays revoked (create a new one); its row remains as a record.
    """

    # How often `last_seen_at` is written at most: a screen reads every few minutes, and
    # several screens must not turn every read into a database write.
    SEEN_EVERY = timedelta(minutes=1)

    name = models.CharField(max_length=100, unique=True, help_text="Where the screen hangs")
    team = models.BigIntegerField(
        null=True,
        blank=True,
        help_text="A Freshservice group id (FRESH_GROUP_ID); empty: all configured groups",
    )
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="wall_screen_links",
        editable=False,
    )
    created_at = models.DateTimeField(auto_now_add=True)
    last_seen_at = models.DateTimeField(
        null=True, blank=True, editable=False, help_text="Last read by a screen (to the minute)"
    )
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)

    objects = WallScreenLinkQuerySet.as_manager()

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def revoked(self) -> bool:
        return self.revoked_at is not None


class DataVersion(models.Model):
    """One counter, raised in every transaction that changes what a read answer shows (the
    sync's write, the agent names and links): answers are tagged with it (SPEC §19.6), so a
    client's copy is current exactly while the counter has not moved."""

    version = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"data version {self.version}"


class BackfillProgress(models.Model):
    """A backfill under way (SPEC §15): a sync past BACKFILL_PAGES_AT_ONCE pages, written page by
    page. At most one row; written with each page in the page's own transaction, deleted in the
    transaction that finishes the backfill. A row left behind (a crash, a kill) is what a rerun
    of the same dates resumes from, and what flags the dates "backfill in progress"."""

    first_date = models.DateField()
    last_date = models.DateField()
    trigger = models.CharField(max_length=16, choices=SyncRun.Trigger.choices)
    force = models.BooleanField(default=False)
    updated_since = models.DateTimeField(help_text="The fetch's updated_since, kept on resume")
    started_at = models.DateTimeField(
        help_text="When the backfill first started: its watermark once it finishes"
    )
    pages_done = models.PositiveIntegerField(
        default=0, help_text="Pages written (1 to this); a resume fetches this page again"
    )
    tickets_done = models.PositiveIntegerField(default=0, help_text="Tickets received so far")
    # Received tickets that count, per closure day (ISO date -> n): the bookkeeping at the end.
    counted = models.JSONField(default=dict, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "backfill progress"

    def __str__(self) -> str:
        return f"Backfill of {self.dates}: {self.pages_done} pages"

    @property
    def dates(self) -> str:
        return dates_label(self.first_date, self.last_date)
