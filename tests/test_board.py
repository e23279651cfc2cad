"""The team lead's board in the API (SPEC §16.1, §16.2, §16.6, §16.7): the previous period,
ties at the top, working days, and `/api/` as an index. Expectations are counted by hand.

Times are stated in UTC; the calendar is Europe/Berlin's (CET, CEST until 25 October 2026).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime

import pytest
import time_machine
from rest_framework.test import APIClient

from tickets.dates import (
    is_workday,
    period_dates,
    previous_period,
    previous_workday,
    workdays_in,
)
from tickets.models import FreshworksUserMapping, TicketClosure

pytestmark = pytest.mark.django_db

# Thursday 26 November 2026, 11:00 in Berlin.
NOW = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)
FREYA, LUKAS, MINA, OMAR = 2001, 2002, 2003, 2004
NAMES = {FREYA: "Freya Q.", LUKAS: "Lukas C.", MINA: "Mina B.", OMAR: "Omar D."}


@pytest.fixture(autouse=True)
def berlin(settings):
    settings.TIME_ZONE = "Europe/Berlin"
    settings.WORKDAYS = (0, 1, 2, 3, 4)


@pytest.fixture(autouse=True)
def at_now() -> Iterator[None]:
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def api(plain_user) -> APIClient:
    client = APIClient()
    client.force_authenticate(plain_user)  # no session to expire when a test travels on
    return client


@pytest.fixture
def names(db) -> None:
    FreshworksUserMapping.objects.bulk_create(
        FreshworksUserMapping(freshworks_user_id=agent_id, freshworks_username=name)
        for agent_id, name in NAMES.items()
    )


def closed(day: str, **per_agent: int) -> None:
    ids = {"freya": FREYA, "lukas": LUKAS, "mina": MINA, "omar": OMAR}
    TicketClosure.objects.bulk_create(
        TicketClosure(freshworks_user_id=ids[name], date=date.fromisoformat(day), tickets_closed=n)
        for name, n in per_agent.items()
    )


def get(api: APIClient, query: str) -> dict:
    response = api.get(f"/api/tickets/closures/period?{query}")
    assert response.status_code == 200, response.content
    return response.json()


def listed(answer: dict) -> list[tuple[str, int, int]]:
    return [
        (e["name"], e["tickets_closed"], e["previous_tickets_closed"]) for e in answer["closures"]
    ]


# --- the period compared with --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "end", "period", "before"),
    [
        # Thursday's week so far: last week Monday to Thursday.
        ("2026-11-23", "2026-11-26", "week", ("2026-11-16", "2026-11-19")),
        # A week that began in the previous month.
        ("2026-11-30", "2026-12-02", "week", ("2026-11-23", "2026-11-25")),
        ("2026-11-01", "2026-11-26", "month", ("2026-10-01", "2026-10-26")),
        # 31 March compares with all of February, which has 28 days (29 in a leap year).
        ("2027-03-01", "2027-03-31", "month", ("2027-02-01", "2027-02-28")),
        ("2028-03-01", "2028-03-30", "month", ("2028-02-01", "2028-02-29")),
        ("2027-01-01", "2027-01-15", "month", ("2026-12-01", "2026-12-15")),
        ("2026-11-26", "2026-11-26", "today", ("2026-11-25", "2026-11-25")),
        ("2026-11-25", "2026-11-25", "yesterday", ("2026-11-24", "2026-11-24")),
        # Friday, the last workday before Monday 30 November, compares with Thursday.
        ("2026-11-27", "2026-11-27", "last_workday", ("2026-11-26", "2026-11-26")),
        # A range across a month end and the clocks going back (25 October): 14 days before.
        ("2026-10-20", "2026-11-02", "custom", ("2026-10-06", "2026-10-19")),
        ("2026-11-20", "2026-12-05", None, ("2026-11-04", "2026-11-19")),
        # Nothing lies before the first date there is: the comparison is empty, not an error.
        ("0001-01-01", "0001-01-05", "custom", ("0001-01-01", "0001-01-01")),
        ("0001-01-03", "0001-01-09", "custom", ("0001-01-01", "0001-01-02")),
    ],
)
def test_the_previous_period_is_the_calendar_one_for_week_and_month_else_equal_length(
    start, end, period, before
):
    got = previous_period(
        start=date.fromisoformat(start), end=date.fromisoformat(end), period=period
    )

    assert got == tuple(date.fromisoformat(day) for day in before)


def test_the_week_compares_with_last_week_up_to_the_same_weekday(api, names):
    closed("2026-11-16", freya=4, omar=2)  # last Monday
    closed("2026-11-19", lukas=1)  # last Thursday
    closed("2026-11-20", freya=50)  # last Friday: after the same weekday, not compared
    closed("2026-11-23", freya=3, lukas=2)
    closed("2026-11-26", lukas=3)

    answer = get(api, "period=week")

    assert (answer["start"], answer["end"], answer["total"]) == ("2026-11-23", "2026-11-26", 8)
    # Omar closed tickets only last week: he counts in its total, he is not listed.
    assert answer["previous"] == {"start": "2026-11-16", "end": "2026-11-19", "total": 7}
    assert listed(answer) == [("Lukas C.", 5, 1), ("Freya Q.", 3, 4)]


def test_the_month_compares_with_last_month_up_to_the_same_day(api, names):
    closed("2026-10-01", mina=2)
    closed("2026-10-26", mina=1, freya=1)
    closed("2026-10-27", freya=9)  # after the 26th
    closed("2026-11-02", mina=6)

    answer = get(api, "period=month")

    assert answer["previous"] == {"start": "2026-10-01", "end": "2026-10-26", "total": 4}
    assert listed(answer) == [("Mina B.", 6, 3)]


@time_machine.travel(datetime(2027, 3, 31, 20, 0, tzinfo=UTC), tick=False)  # 22:00 CEST
def test_the_31st_of_march_compares_with_the_whole_of_february(api, names):
    closed("2027-02-01", freya=1)
    closed("2027-02-28", freya=2)
    closed("2027-03-01", freya=5)

    answer = get(api, "period=month")

    assert answer["previous"] == {"start": "2027-02-01", "end": "2027-02-28", "total": 3}
    assert listed(answer) == [("Freya Q.", 5, 3)]


def test_a_range_across_a_month_end_and_the_clock_change_compares_with_as_many_days_before(
    api, names
):
    closed("2026-10-06", freya=1)  # first day compared with
    closed("2026-10-05", freya=100)  # one day too early
    closed("2026-10-19", lukas=2)  # last day compared with
    closed("2026-10-25", freya=3)  # the 25-hour day
    closed("2026-11-02", lukas=4)

    answer = get(api, "start=2026-10-20&end=2026-11-02")

    assert answer["period"] == "custom"
    assert answer["previous"] == {"start": "2026-10-06", "end": "2026-10-19", "total": 3}
    assert listed(answer) == [("Lukas C.", 4, 2), ("Freya Q.", 3, 1)]


def test_today_compares_with_yesterday(api, names):
    closed("2026-11-25", freya=2)
    closed("2026-11-26", freya=1)

    answer = api.get("/api/tickets/closures/today").json()

    assert answer["previous"] == {"start": "2026-11-25", "end": "2026-11-25", "total": 2}
    assert listed(answer) == [("Freya Q.", 1, 2)]
    assert answer["top_closer"]["previous_tickets_closed"] == 2


@time_machine.travel(datetime(2026, 10, 25, 23, 30, tzinfo=UTC), tick=False)  # Mon 00:30 CET
def test_just_after_the_clocks_went_back_today_compares_with_the_long_sunday(api, names):
    closed("2026-10-25", mina=7)
    closed("2026-10-26", mina=1)

    answer = get(api, "period=today")

    assert (answer["start"], answer["previous"]["start"]) == ("2026-10-26", "2026-10-25")
    assert listed(answer) == [("Mina B.", 1, 7)]


def test_nothing_before_or_now_compares_zero_with_zero(api):
    answer = get(api, "period=week")

    assert answer["previous"] == {"start": "2026-11-16", "end": "2026-11-19", "total": 0}
    assert (answer["closures"], answer["top_closer"], answer["top_closers"]) == ([], None, [])


# --- ties ----------------------------------------------------------------------------------------


def test_two_agents_tied_at_the_top_are_both_top_closers_the_first_by_name_first(api, names):
    closed("2026-11-26", lukas=4, freya=4, mina=1)

    answer = get(api, "period=today")

    assert [e["name"] for e in answer["top_closers"]] == ["Freya Q.", "Lukas C."]
    assert answer["top_closer"] == answer["top_closers"][0] == answer["closures"][0]


def test_three_tied_agents_are_all_top_closers_and_every_bar_below_is_not(api, names):
    closed("2026-11-26", omar=2, lukas=2, freya=2, mina=1)
    closed("2026-11-25", mina=5)  # another day

    answer = get(api, "period=today")

    assert [(e["name"], e["tickets_closed"]) for e in answer["top_closers"]] == [
        ("Freya Q.", 2),
        ("Lukas C.", 2),
        ("Omar D.", 2),
    ]
    assert answer["top_closer"]["name"] == "Freya Q."


# --- working days --------------------------------------------------------------------------------


def test_workdays_default_to_monday_to_friday():
    assert [is_workday(date(2026, 11, 23 + n)) for n in range(7)] == [True] * 5 + [False] * 2
    assert previous_workday(date(2026, 11, 30)) == date(2026, 11, 27)  # Monday: Friday
    assert previous_workday(date(2026, 11, 26)) == date(2026, 11, 25)
    assert previous_workday(date(2026, 11, 29)) == date(2026, 11, 27)  # Sunday: Friday
    assert period_dates("last_workday", today=date(2026, 11, 30)) == (
        date(2026, 11, 27),
        date(2026, 11, 27),
    )


def test_a_desk_working_sunday_to_thursday_has_thursday_before_its_sunday(settings):
    settings.WORKDAYS = (6, 0, 1, 2, 3)

    assert previous_workday(date(2026, 11, 29)) == date(2026, 11, 26)  # Sunday: Thursday
    assert previous_workday(date(2026, 11, 30)) == date(2026, 11, 29)  # Monday: Sunday
    assert workdays_in(date(2026, 11, 23), date(2026, 11, 29)) == 5


@pytest.mark.parametrize(
    ("first", "last", "workdays"),
    [
        ("2026-11-23", "2026-11-23", 1),
        ("2026-11-28", "2026-11-29", 0),  # a weekend
        ("2026-11-02", "2026-11-09", 6),
        ("2026-11-01", "2026-11-30", 21),
        ("2026-01-01", "2026-12-31", 261),
        ("2026-11-09", "2026-11-02", 0),  # backwards
    ],
)
def test_workdays_are_counted_in_a_span(first, last, workdays):
    assert workdays_in(date.fromisoformat(first), date.fromisoformat(last)) == workdays


@time_machine.travel(datetime(2026, 11, 30, 6, 30, tzinfo=UTC), tick=False)  # Mon 07:30 CET
def test_on_monday_the_last_workday_is_friday_compared_with_thursday(api, names):
    closed("2026-11-26", freya=1)
    closed("2026-11-27", freya=2, lukas=5)
    closed("2026-11-29", freya=40)  # Sunday
    closed("2026-11-30", lukas=1)

    answer = get(api, "period=last_workday")

    assert (answer["period"], answer["start"], answer["end"]) == (
        "last_workday",
        "2026-11-27",
        "2026-11-27",
    )
    assert answer["previous"] == {"start": "2026-11-26", "end": "2026-11-26", "total": 1}
    assert listed(answer) == [("Lukas C.", 5, 0), ("Freya Q.", 2, 1)]


def test_the_average_per_workday_counts_the_workdays_of_the_span_with_data(api, names, settings):
    closed("2026-11-06", freya=6)  # Friday
    closed("2026-11-08", lukas=3)  # Sunday: counts, though no workday
    closed("2026-11-09", mina=3)  # Monday

    stats = api.get("/api/tickets/stats").json()
    assert (stats["average_per_day"], stats["average_per_workday"]) == (4.0, 6.0)  # 12 / 2

    settings.WORKDAYS = (5, 6)  # a weekend desk: Saturday and Sunday
    assert api.get("/api/tickets/stats").json()["average_per_workday"] == 6.0

    settings.WORKDAYS = (2,)  # Wednesdays only: none from Friday to Monday
    assert api.get("/api/tickets/stats").json()["average_per_workday"] == 0.0


# --- bad input -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("period=lastworkday", "use one of today, yesterday, last_workday, week, month"),
        ("period=last_workday&start=2026-11-01&end=2026-11-02", "either period or start"),
        ("start=2026-11-31&end=2026-12-01", "YYYY-MM-DD"),
        ("start=2026-12-01&end=2026-11-30", "backwards"),
    ],
)
def test_bad_input_is_answered_400_with_what_is_allowed(api, query, message):
    response = api.get(f"/api/tickets/closures/period?{query}")

    assert response.status_code == 400
    assert message in str(response.json())


# --- cost ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("agents", [1, 60])
def test_closures_with_their_comparison_take_five_queries_whatever_the_agents(
    plain_user, agents, django_assert_num_queries
):
    TicketClosure.objects.bulk_create(
        TicketClosure(freshworks_user_id=3000 + n, date=day, tickets_closed=1 + n % 4)
        for n in range(agents)
        for day in (date(2026, 11, 19), date(2026, 11, 24))
    )
    client = APIClient()
    client.force_authenticate(plain_user)

    # the data's version (the ETag), closures now and before (one query), the agents' names,
    # the last sync, a backfill under way; no team configured
    with django_assert_num_queries(5):
        answer = client.get("/api/tickets/closures/period?period=week").json()

    assert len(answer["closures"]) == agents
    assert answer["previous"]["total"] == answer["total"]


# --- /api/ ---------------------------------------------------------------------------------------


def test_the_api_root_links_every_endpoint_and_the_docs(api):
    answer = api.get("/api/").json()

    assert answer["docs"] == "http://testserver/api/docs"
    assert answer["schema"] == "http://testserver/api/schema"
    assert answer["endpoints"]["tickets/closures/period"] == (
        "http://testserver/api/tickets/closures/period"
    )
    assert "tickets/stats" in answer["endpoints"]
    for url in answer["endpoints"].values():
        assert api.get(url).status_code != 404


def test_the_api_root_needs_a_log_in():
    assert APIClient().get("/api/").status_code == 401


# --- the page ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("now", "shown"),
    [
        (datetime(2026, 11, 30, 8, 0, tzinfo=UTC), True),  # Monday: Friday is not yesterday
        (datetime(2026, 11, 29, 8, 0, tzinfo=UTC), True),  # Sunday: Friday either
        (NOW, False),  # Thursday: the previous workday is yesterday
    ],
)
def test_the_previous_workday_button_shows_only_where_it_is_not_yesterday(
    client, plain_user, now, shown
):
    with time_machine.travel(now, tick=False):
        client.force_login(plain_user)
        page = client.get("/").content.decode()

    assert 'data-period="yesterday"' in page
    assert ('data-period="last_workday"' in page) is shown


def test_the_page_names_its_time_zone_and_its_icon_and_no_inline_script_or_style(
    client, plain_user
):
    client.force_login(plain_user)

    page = client.get("/").content.decode()

    assert 'data-time-zone="Europe/Berlin"' in page
    assert 'id="range-form"' in page
    assert 'rel="icon" href="/static/tickets/favicon.svg"' in page
    assert "<script>" not in page
    assert "<style" not in page
    assert "style=" not in page
    assert "API docs" not in page  # for staff only


def test_staff_get_a_link_to_the_api_docs(client, manager):
    client.force_login(manager)

    assert '<a href="/api/docs">API docs</a>' in client.get("/").content.decode()


def test_the_admin_has_the_icon_and_says_freshservice(client, superuser):
    client.force_login(superuser)

    for path in ("/admin/", "/admin/tickets/freshworksusermapping/"):
        page = client.get(path).content.decode()
        assert 'rel="icon" href="/static/tickets/favicon.svg"' in page
        assert "Freshservice agents" in page
        assert "Freshworks" not in page
