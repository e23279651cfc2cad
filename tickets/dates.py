"""Calendar days in TIME_ZONE: the one place for day ranges, named periods and their limits.

Every surface that takes dates (the API, the sync command, the admin, the sync itself) checks
them with `check_range`, so a backwards, too long or future range is refused by one rule.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timedelta

from django.conf import settings
from django.utils import timezone

PERIODS = ("today", "yesterday", "last_workday", "week", "month")
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


def is_workday(day: date) -> bool:
    """Whether `day` is one of the desk's WORKDAYS."""
    return day.weekday() in settings.WORKDAYS


def previous_workday(day: date) -> date:
    """The last workday strictly before `day` (on a Monday, with the default WORKDAYS: Friday)."""
    for back in range(1, 8):  # WORKDAYS names at least one weekday (settings)
        candidate = day - timedelta(days=back)
        if is_workday(candidate):
            return candidate
    raise ValueError("WORKDAYS names no weekday")


def workdays_in(first: date, last: date) -> int:
    """How many of the days from `first` to `last` inclusive are workdays (0 when backwards)."""
    if last < first:
        return 0
    weeks, rest = divmod((last - first).days + 1, 7)
    tail = (first + timedelta(days=weeks * 7 + offset) for offset in range(rest))
    return weeks * len(settings.WORKDAYS) + sum(1 for day in tail if is_workday(day))


def period_dates(period: str, *, today: date) -> tuple[date, date]:
    """The first and last day of a named period; weeks start on Monday."""
    if period == "today":
        return today, today
    if period == "yesterday":
        yesterday = today - timedelta(days=1)
        return yesterday, yesterday
    if period == "last_workday":
        workday = previous_workday(today)
        return workday, workday
    if period == "week":
        return today - timedelta(days=today.weekday()), today
    if period == "month":
        return today.replace(day=1), today
    raise ValueError(f"unknown period {period!r}; use one of {', '.join(PERIODS)}")


def previous_period(*, start: date, end: date, period: str | None) -> tuple[date, date]:
    """The period a view is compared with (SPEC §16.2).

    `week` and `month` (which end today): the previous calendar week or month up to the same
    weekday or day, clipped to that month's length (March 1-31 compares with February 1-28).
    `last_workday`: the workday before it. Anything else (today, yesterday, a range): the period
    of equal length just before `start`.
    """
    if period == "week":
        return start - timedelta(days=7), end - timedelta(days=7)
    if period == "month":
        last_month_end = start - timedelta(days=1)
        first = last_month_end.replace(day=1)
        return first, min(last_month_end, first + timedelta(days=end.day - 1))
    if period == "last_workday":
        workday = previous_workday(start)
        return workday, workday
    length = timedelta(days=(end - start).days + 1)
    if start - date.min < length:  # the calendar begins inside it: what there is of it
        return date.min, start - timedelta(days=1) if start > date.min else date.min
    return start - length, start - timedelta(days=1)


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
