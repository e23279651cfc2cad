"""Long backfills (SPEC §15): a sync past BACKFILL_PAGES_AT_ONCE pages writes as it goes.

Up to BACKFILL_PAGES_AT_ONCE pages a sync holds what it fetched and writes it all in one
transaction at the end (SPEC §6). When the next page arrives the sync becomes a backfill: the
pages held are written as its first batch, then pages are written as they arrive, each batch
in its own transaction together with the progress (`BackfillProgress`: the fetch's
`updated_since`, the pages written, when the backfill first started). A batch is the page just
read and those read ahead meanwhile or arriving within BATCH_SECONDS, at most BATCH_PAGES:
against Freshservice (a page every second or more) every page is its own batch; against a fast
upstream the transaction's fixed cost (the lease check, the progress, the commit) is shared by
up to BATCH_PAGES pages. Memory holds at most about twice BACKFILL_PAGES_AT_ONCE pages (those
held, written as the first batch while as many are read ahead: `read_ahead_pages`).

The watermark, covered-from and the deleted-ticket sweep move only when a backfill finishes: its
successful SyncRun is written then, with `started_at` the backfill's first start (so the next
incremental sync reaches back before every change the backfill may have paged past) and
`fetched_from` its `updated_since`. A rerun of the same dates after a crash or a kill resumes:
same `updated_since`, from the last page written, fetched again (see `resume_page`).
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from freshworks.client import Ticket
from tickets.models import BackfillProgress, SyncLease, SyncRun
from tickets.services.sync.errors import LeaseLost
from tickets.services.sync.fetch import keep_newest
from tickets.services.sync.write import apply_batch

# A batch of a backfill: at most this many pages (1,000 tickets), and no page waits longer than
# this many seconds for the others. A kill loses at most the pages read but not yet written.
BATCH_PAGES = 10
BATCH_SECONDS = 1.0


def pages_at_once() -> int:
    """How many pages a sync holds before it becomes a backfill (BACKFILL_PAGES_AT_ONCE)."""
    return settings.BACKFILL_PAGES_AT_ONCE


def read_ahead_pages() -> int:
    """How many pages may wait, read ahead, while a backfill writes: enough to read on through
    its longest write, the first, of the pages held before the sync became a backfill
    (BACKFILL_PAGES_AT_ONCE). With only BATCH_PAGES the reading stopped for most of it."""
    return max(BATCH_PAGES, pages_at_once())


def unfinished_backfill(first: date, last: date) -> BackfillProgress | None:
    """The unfinished backfill of exactly `first`..`last`, which a sync of those dates resumes."""
    return BackfillProgress.objects.filter(first_date=first, last_date=last).first()


def resume_page(progress: BackfillProgress) -> int:
    """The page a resumed backfill starts at: the last one written, fetched again.

    Everything up to it is in the database. The list is paged by offset: a ticket that leaves it
    (deleted, spam) while the backfill is stopped shifts the later ones up by one, so the first
    page not yet read may begin up to a page earlier; asking for the last written page again
    covers up to a page of such shifts. Tickets added or changed since only shift the rest down
    (read twice, kept once), and each ticket changed after the backfill began is fetched again
    by the next sync, which starts from the backfill's first start (its watermark).
    """
    return max(1, progress.pages_done)


@dataclass(frozen=True)
class SyncProgress:
    """Where a sync stands after a page, for progress output.

    `pages`: the number of the last page read; `tickets`: tickets received so far (a resumed
    backfill counts those of its earlier runs too); `credits`: spent by this run; the budget
    left and total as Freshservice's last answer said (None until one did); `eta_seconds`: a
    rough estimate of the time left (None when unknown; see `EtaEstimate`).
    """

    pages: int
    tickets: int
    credits: int
    budget_remaining: int | None
    budget_total: int | None
    backfill: bool
    resumed_from_page: int | None
    eta_seconds: float | None


class EtaEstimate:
    """Time left, guessed from how far back in creation time the list has got.

    Freshservice's list has no total, and comes newest first (the stand-in: by id; the vendor's
    sort field is undocumented). The share of `updated_since`..now that the oldest ticket read
    so far was created in says roughly what share of the pages is done; the pages still to read
    go at this run's pace. Tickets created before `updated_since` and updated since come last,
    so the estimate runs short near the end.
    """

    def __init__(self, *, updated_since: datetime, first_page: int) -> None:
        self.updated_since = updated_since
        self.first_page = first_page
        self.began = time.monotonic()
        self.now = timezone.now()

    def seconds(self, *, page: int, oldest_created: datetime | None) -> float | None:
        span = (self.now - self.updated_since).total_seconds()
        elapsed = time.monotonic() - self.began
        read = page - self.first_page + 1
        if oldest_created is None or span <= 0 or elapsed <= 0 or read <= 0:
            return None
        done = min(1.0, max(0.0, (self.now - oldest_created).total_seconds() / span))
        if done == 0:
            return None
        pages_left = page * (1 - done) / done
        return pages_left * elapsed / read


class Backfill:
    """A backfill's writes: one batch per transaction, with its progress."""

    def __init__(self, progress: BackfillProgress, *, holder: str, resumed: bool) -> None:
        self.progress = progress
        self.holder = holder
        self.resumed_from_page = resume_page(progress) if resumed else None

    @classmethod
    def begin(
        cls,
        *,
        first: date,
        last: date,
        trigger: SyncRun.Trigger,
        force: bool,
        updated_since: datetime,
        started_at: datetime,
        holder: str,
    ) -> Backfill:
        """Record a new backfill; another unfinished one (other dates) is given up."""
        with transaction.atomic():
            BackfillProgress.objects.all().delete()
            progress = BackfillProgress.objects.create(
                first_date=first,
                last_date=last,
                trigger=trigger,
                force=force,
                updated_since=updated_since,
                started_at=started_at,
            )
        return cls(progress, holder=holder, resumed=False)

    @classmethod
    def resume(cls, progress: BackfillProgress, *, holder: str) -> Backfill:
        return cls(progress, holder=holder, resumed=True)

    @property
    def started_at(self) -> datetime:
        return self.progress.started_at

    @property
    def updated_since(self) -> datetime:
        return self.progress.updated_since

    def write(self, tickets: Iterable[Ticket], *, pages_done: int, received: int) -> None:
        """Write one batch (`received` tickets, the pages up to `pages_done`) and the progress,
        all or nothing."""
        progress = self.progress
        with transaction.atomic():
            if not SyncLease.objects.still_held(self.holder):
                raise LeaseLost()
            written = apply_batch(tickets)
            counted = dict(progress.counted)
            for day, count in written.per_day.items():
                counted[day.isoformat()] = counted.get(day.isoformat(), 0) + count
            progress.counted = counted
            progress.pages_done = pages_done
            progress.tickets_done += received
            progress.save(update_fields=["counted", "pages_done", "tickets_done", "updated_at"])

    def write_pages(self, batch: list[tuple[int, list[Ticket]]]) -> None:
        """Write a batch of (page number, tickets), the pages in order, as one: a ticket that
        offset paging repeated keeps its newest state."""
        tickets: dict[int, Ticket] = {}
        for _, page in batch:
            keep_newest(tickets, page)
        received = sum(len(page) for _, page in batch)
        self.write(tickets.values(), pages_done=batch[-1][0], received=received)

    def counted_per_day(self) -> dict[date, int]:
        return {date.fromisoformat(day): n for day, n in self.progress.counted.items()}

    def finished(self) -> None:
        """Inside the transaction that finishes the backfill: it is whole, no longer resumable."""
        BackfillProgress.objects.filter(pk=self.progress.pk).delete()
