"""The words shown to people: counts in words, lists cut short, the outcome of a sync, and the
connection check.

Commands, admin actions and the cron job all describe a sync's outcome with `describe_sync`,
so the same outcome reads the same wherever it is shown; `describe_connection` is the connection
check as `check_freshservice` and `init_ticket_tracking` print it.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import TYPE_CHECKING

from django.utils import timezone

from tickets.dates import dates_label
from tickets.services.sync import (
    SyncFailed,
    SyncInProgress,
    SyncProgress,
    SyncRateLimited,
    SyncRefused,
    SyncResult,
)

if TYPE_CHECKING:  # connection.py uses `plural` from here
    from tickets.services.connection import ConnectionReport

# How many items one message lists before "and N more".
LISTED = 10


def plural(count: int, word: str) -> str:
    """`1 ticket`, `2 tickets`."""
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def listed(texts: Iterable[str]) -> str:
    """`a; b; c.`, cut after LISTED items with "and N more"."""
    items = list(texts)
    shown = "; ".join(items[:LISTED])
    return shown + (f"; and {len(items) - LISTED} more" if len(items) > LISTED else "") + "."


def names_label(names: list[str]) -> str:
    """`Freya Q.`, `Freya Q. and Lukas C.`, `Ana B., Freya Q. and Lukas C.`."""
    if len(names) < 2:
        return "".join(names)
    return f"{', '.join(names[:-1])} and {names[-1]}"


def change_label(total: int, previous: int) -> str:
    """How `total` compares with `previous`: `▲ 5 (+12 %)`, `▼ 3 (-20 %)`, `no change`; against
    a previous 0 only the difference (`▲ 4`), since no percentage of nothing means anything."""
    difference = total - previous
    if difference == 0:
        return "no change"
    arrow = "▲" if difference > 0 else "▼"
    if previous == 0:
        return f"{arrow} {abs(difference)}"
    percent = round(abs(difference) / previous * 100)
    sign = "+" if difference > 0 else "-"
    return f"{arrow} {abs(difference)} ({sign}{percent} %)"


def span_label(first: date, last: date) -> str:
    """The dates of a sync, with the days of a range counted: `2026-11-25..2026-11-26 (2 days)`."""
    if first == last:
        return dates_label(first, last)
    return f"{dates_label(first, last)} ({plural((last - first).days + 1, 'day')})"


def describe_sync(
    outcome: SyncResult | SyncRefused | SyncFailed, *, dates: tuple[date, date] | None = None
) -> str:
    """What a sync did, or why it did not, in one line.

    Without `dates`: the line a command prints and the cron job logs (`Synced …`, `Not synced
    (rate limited): …`, `Sync failed: …`). With `dates` (the first and last date a person picked,
    as in the admin): a message that names them and counts in words.
    """
    if dates is not None:
        return _about_dates(outcome, span_label(*dates))
    if isinstance(outcome, SyncResult):
        recounted = ", ".join(str(day) for day in outcome.dates_recounted) or "none changed"
        backfill = ""
        if outcome.backfill:
            backfill = f" (a backfill of {outcome.pages} pages"
            if outcome.resumed_from_page:
                backfill += f", resumed from page {outcome.resumed_from_page}"
            backfill += ")"
        return (
            f"Synced {dates_label(outcome.first_date, outcome.last_date)}{backfill}: "
            f"{plural(outcome.tickets_processed, 'ticket')} updated since "
            f"{timezone.localtime(outcome.fetched_from):%Y-%m-%d %H:%M %Z} "
            f"in {plural(outcome.api_calls, 'API call')}; "
            f"days recounted: {recounted}."
        )
    if isinstance(outcome, SyncRateLimited):
        return f"Not synced (rate limited): {outcome}"
    if isinstance(outcome, SyncInProgress):
        return f"Not synced (in progress): {outcome}"
    if isinstance(outcome, SyncRefused):
        return f"Not synced: {outcome}"
    return f"Sync failed: {outcome}"


def backfill_text(pages: int) -> str:
    """Said once when a sync turns into a backfill (SPEC §15)."""
    return (
        f"More than {pages - 1} pages: a backfill. Pages are written as they arrive; if it "
        f"stops, run the same sync again to resume it."
    )


def resumed_text(page: int) -> str:
    """Said when a sync resumes an unfinished backfill of the same dates."""
    return (
        f"Resuming the unfinished backfill of these dates from page {page} (the last page "
        f"written, fetched again), not from the start."
    )


def progress_text(step: SyncProgress) -> str:
    """A sync's progress in a few words: tickets, credits, the budget left, the time left."""
    parts = [f"{step.tickets:,} tickets", f"{step.credits:,} credits"]
    if step.budget_remaining is not None and step.budget_total is not None:
        parts.append(f"budget {step.budget_remaining:,}/{step.budget_total:,} left this minute")
    if step.backfill:
        parts.append(f"ETA ~{_duration(step.eta_seconds)}" if step.eta_seconds else "ETA unknown")
    return ", ".join(parts)


def _duration(seconds: float | None) -> str:
    minutes, secs = divmod(round(seconds or 0), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def _about_dates(outcome: SyncResult | SyncRefused | SyncFailed, label: str) -> str:
    if isinstance(outcome, SyncResult):
        verb = "Force-synced" if outcome.force else "Synced"
        return (
            f"{verb} {label}: {plural(outcome.tickets_processed, 'ticket')} fetched in "
            f"{plural(outcome.api_calls, 'API call')}; "
            f"{plural(len(outcome.dates_recounted), 'day')} recounted."
        )
    if isinstance(outcome, SyncFailed) and outcome.run is not None:
        return f"The sync of {label} failed and changed nothing: {outcome}"
    return f"{label} was not synced: {outcome}"


# How a finding of the connection check is marked in a command's output.
_MARKS = {True: "✓", False: "✗", None: "·"}


def describe_connection(report: ConnectionReport) -> list[str]:
    """The connection check as lines: one per finding, then the problems, or "All well"."""
    width = max(len(finding.label) for finding in report.findings)
    lines = [
        f"{_MARKS[finding.ok]} {finding.label:<{width}}  {finding.value}"
        for finding in report.findings
    ]
    if report.ok:
        lines.append("All well.")
    else:
        lines.append(f"{plural(len(report.problems), 'problem')}:")
        lines.extend(f"  {problem}" for problem in report.problems)
    return lines
