"""Calendar days: the one range rule every surface uses, periods, and the day iterator."""

from __future__ import annotations

from datetime import date

import pytest
import time_machine

from tickets.dates import DateRangeError, check_range, dates_label, days, period_dates

TODAY = date(2026, 11, 26)  # a Thursday


def test_days_run_from_first_to_last_inclusive_up_to_the_last_date_there_is():
    assert list(days(date(2026, 11, 29), date(2026, 12, 1))) == [
        date(2026, 11, 29),
        date(2026, 11, 30),
        date(2026, 12, 1),
    ]
    assert list(days(date(9999, 12, 31), date(9999, 12, 31))) == [date(9999, 12, 31)]


@pytest.mark.parametrize(
    ("period", "first", "last"),
    [
        ("today", TODAY, TODAY),
        ("yesterday", date(2026, 11, 25), date(2026, 11, 25)),
        ("week", date(2026, 11, 23), TODAY),
        ("month", date(2026, 11, 1), TODAY),
    ],
)
def test_periods_end_today_and_weeks_start_on_monday(period, first, last):
    assert period_dates(period, today=TODAY) == (first, last)


def test_the_label_names_one_day_or_a_range():
    assert dates_label(TODAY, TODAY) == "2026-11-26"
    assert dates_label(date(2026, 11, 20), TODAY) == "2026-11-20..2026-11-26"


@pytest.mark.parametrize(
    ("first", "last", "message"),
    [
        (TODAY, date(2026, 11, 25), "The range is backwards: 2026-11-26 is after 2026-11-25."),
        (
            date(2025, 11, 25),
            TODAY,
            "The range 2025-11-25..2026-11-26 is 367 days; at most 366 are allowed.",
        ),
        (TODAY, date(2026, 11, 27), "2026-11-27 is in the future (today is 2026-11-26)."),
    ],
)
def test_one_rule_refuses_backwards_too_long_and_future_ranges(first, last, message):
    with pytest.raises(DateRangeError) as refusal:
        check_range(first, last, today=TODAY)

    assert str(refusal.value) == message


def test_a_range_of_366_days_up_to_today_is_allowed_and_the_future_only_when_asked():
    check_range(date(2025, 11, 26), TODAY, today=TODAY)
    check_range(TODAY, date(2026, 12, 31), today=TODAY, allow_future=True)


@time_machine.travel("2026-11-26 23:30:00-05:00", tick=False)
def test_today_is_the_local_day_by_default(settings):
    settings.TIME_ZONE = "America/New_York"  # already the 27th in UTC

    with pytest.raises(DateRangeError, match="future"):
        check_range(date(2026, 11, 27), date(2026, 11, 27))
    check_range(TODAY, TODAY)
