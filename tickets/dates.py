"""Calendar days in TIME_ZONE: the one place for day ranges, named periods and their limits.

Every surface that takes dates (the API, the sync command, the admin, the sync itself) checks
them with `check_range`, so a backwards, too long or future range is refused by one rule.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timedelta

from django.conf import settings
from django.utils import timezone

PERIODS = ("today", "yesterday", "week", "month")
# The longest range one request, export or sync may cover (a leap year).
MAX_RANGE_DAYS = 366


class DateRangeError(ValueError):
    """A range that makes no sense; the message says why, in words a person can act on."""


def days(first: date, last: date) -> Iterator[date]:
    """Every calendar day from `first` to `last` inclusive."""
    for offset in range((last - first).days + 1):  # no date past the last: 9999-12-31 is valid
        yield first + timedelta(days=offset)


def local_day_start(day: date) -> datetime:
    """Midnight at the start of `day` in TIME_ZONE, as an aware datetime."""
    return timezone.make_aware(datetime.combine(day, datetime.min.time()))


def period_dates(period: str, *, today: date) -> tuple[date, date]:
    """The first and last day of a named period; weeks start on Monday."""
    if period == "today":
        return today, today
    if period == "yesterday":
        yesterday = today - timedelta(days=1)
        return yesterday, yesterday
    if period == "week":
        return today - timedelta(days=today.weekday()), today
    if period == "month":
        return today.replace(day=1), today
    raise ValueError(f"unknown period {period!r}; use one of {', '.join(PERIODS)}")


def dates_label(first: date, last: date) -> str:
    """`2026-11-26`, or `2026-11-20..2026-11-26`: how logs and pages name the dates of a sync."""
    return first.isoformat() if first == last else f"{first.isoformat()}..{last.isoformat()}"


def check_range(
    first: date, last: date, *, today: date | None = None, allow_future: bool = False
) -> None:
    """Raise DateRangeError when `first`..`last` is backwards, longer than MAX_RANGE_DAYS or,
    unless `allow_future`, ends after `today` (default: today in TIME_ZONE)."""
    if last < first:
        raise DateRangeError(f"The range is backwards: {first} is after {last}.")
    length = (last - first).days + 1
    if length > MAX_RANGE_DAYS:
        raise DateRangeError(
            f"The range {dates_label(first, last)} is {length} days; "
            f"at most {MAX_RANGE_DAYS} are allowed."
        )
    if not allow_future:
        today = today or timezone.localdate()
        if last > today:
            raise DateRangeError(f"{last} is in the future (today is {today}).")


def is_workday(day: date) -> bool:  # (placeholder: board branch provides this)
    return day.weekday() in settings.WORKDAYS


def previous_workday(day: date) -> date:  # (placeholder: board branch provides this)
    previous = day - timedelta(days=1)
    while not is_workday(previous):
        previous -= timedelta(days=1)
    return previous
