"""The team lead's board in Chromium: the view in the URL, the previous period, ties, the
previous workday, and the page at desktop and phone size (SPEC §16.1, §16.2, §16.6, §16.7).

Screenshots: test-artifacts/screenshots/board-desktop.png, board-phone.png.
"""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from tests.conftest import PHONE, SCREENSHOTS
from tickets.models import FreshworksUserMapping, SyncRun, TicketClosure
from tickets.services.data_version import bump_data_version

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

NAMES = {1: "Freya Q.", 2: "Lukas C.", 3: "Mina B.", 4: "Omar D."}
# One date-time format everywhere, the zone named: `2026-11-26 09:00 CET` (CEST in summer).
BERLIN_TIME = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d CES?T$")


def day(days_ago: int) -> date:
    """A day relative to today: the page and the live server share the real clock."""
    return timezone.localdate() - timedelta(days=days_ago)


def closures(days_ago: int, **per_agent: int) -> None:
    ids = {name.split()[0].lower(): agent_id for agent_id, name in NAMES.items()}
    TicketClosure.objects.bulk_create(
        TicketClosure(freshworks_user_id=ids[name], date=day(days_ago), tickets_closed=n)
        for name, n in per_agent.items()
    )
    bump_data_version()  # as the sync's write does: answers tagged before are out of date


@pytest.fixture
def board(db) -> None:
    """Today: Freya 3, Lukas 5; yesterday: Freya 4, Mina 1; 9 days ago: Omar 2."""
    FreshworksUserMapping.objects.bulk_create(
        FreshworksUserMapping(freshworks_user_id=agent_id, freshworks_username=name)
        for agent_id, name in NAMES.items()
    )
    closures(0, freya=3, lukas=5)
    closures(1, freya=4, mina=1)
    closures(9, omar=2)
    now = timezone.now() - timedelta(minutes=3)
    SyncRun.objects.create(
        first_date=day(0),
        last_date=day(0),
        trigger="schedule",
        status="success",
        started_at=now,
        finished_at=now,
    )


def rows(page: Page) -> list[tuple[str, str, str]]:
    table = page.locator("#closures-table tbody tr")
    return [
        tuple(table.nth(i).locator("td").nth(n).inner_text() for n in (1, 2, 3))
        for i in range(table.count())
    ]


def test_the_range_picker_puts_the_view_in_the_url_and_a_reload_keeps_it(
    open_page, plain_user, board, live_server, settings
):
    page = open_page(plain_user)
    page.fill("#range-start", day(10).isoformat())
    page.fill("#range-end", day(1).isoformat())

    with page.expect_response(lambda r: "closures/period" in r.url):
        page.get_by_role("button", name="Show").click()

    url = f"{live_server.url}/?start={day(10)}&end={day(1)}"
    expect(page).to_have_url(url)
    expect(page.locator("#total")).to_have_text("7")
    assert rows(page) == [
        ("Freya Q.", "4", "▲ 4"),  # against the 10 days before: nothing
        ("Omar D.", "2", "▲ 2"),
        ("Mina B.", "1", "▲ 1"),
    ]

    page.reload()
    expect(page.locator("#ticket-closures")).to_have_attribute("data-ready", "1")
    expect(page).to_have_url(url)
    expect(page.locator("#total")).to_have_text("7")
    expect(page.locator("#range")).to_have_text(f"{day(10)} \N{EN DASH} {day(1)}")
    expect(page.locator("#range-start")).to_have_value(day(10).isoformat())
    expect(page.locator("[data-period][aria-pressed=true]")).to_have_count(0)

    # A period button replaces the range; other parameters (a team) stay as they are.
    settings.FRESH_GROUP_ID = (42, 43)  # two teams: the live server reads settings per request
    page.goto("/?period=yesterday&team=42")
    expect(page.locator("#ticket-closures")).to_have_attribute("data-ready", "1")
    expect(page.locator("[data-period=yesterday]")).to_have_attribute("aria-pressed", "true")
    with page.expect_response(lambda r: "closures/period" in r.url) as response:
        page.get_by_role("button", name="This Week").click()
    assert "team=42" in response.value.url
    expect(page).to_have_url(f"{live_server.url}/?team=42&period=week")
    expect(page.locator("[data-period=week]")).to_have_attribute("aria-pressed", "true")
    with page.expect_response(lambda r: "period=yesterday" in r.url):
        page.go_back()
    expect(page).to_have_url(f"{live_server.url}/?period=yesterday&team=42")
    expect(page.locator("[data-period=yesterday]")).to_have_attribute("aria-pressed", "true")


@pytest.mark.parametrize(
    ("query", "reason"),
    [
        ("period=fortnight", 'Unknown period "fortnight"'),
        ("start=2026-02-30&end=2026-03-01", "YYYY-MM-DD"),
        ("start=2026-03-01", "start and end go together"),
        ("start=2026-03-02&end=2026-03-01", "backwards"),
    ],
)
def test_a_link_with_a_bad_period_shows_today_and_says_why(
    open_page, plain_user, board, live_server, query, reason
):
    page = open_page(plain_user)

    page.goto(f"/?{query}")

    message = page.locator("#message")
    expect(message).to_contain_text("The period in this link could not be shown")
    expect(message).to_contain_text(reason)
    expect(message).to_contain_text("Showing Today instead.")
    expect(page.locator("[data-period=today]")).to_have_attribute("aria-pressed", "true")
    expect(page.locator("#total")).to_have_text("8")
    expect(page).to_have_url(f"{live_server.url}/?period=today")


def test_the_change_against_the_previous_period_shows_for_the_total_and_each_agent(
    open_page, plain_user, board
):
    page = open_page(plain_user)

    # Today 8 against yesterday's 5: 60 % more; each agent by count.
    expect(page.locator("#total-change")).to_have_text("▲ 60 %")
    expect(page.locator("#previous")).to_have_text(f"previous period {day(1)}: 5")
    assert rows(page) == [("Lukas C.", "5", "▲ 5"), ("Freya Q.", "3", "▼ 1")]

    # Yesterday against the day before, which had nothing: a count, not a percentage.
    page.get_by_role("button", name="Yesterday", exact=True).click()
    expect(page.locator("#total-change")).to_have_text("▲ 5")


def test_ties_at_the_top_are_all_named_and_highlighted(open_page, plain_user, board):
    closures(0, mina=5)  # Lukas 5, Mina 5
    page = open_page(plain_user)

    expect(page.locator("#top-closer")).to_have_text("Lukas C. and Mina B.")
    expect(page.locator("#top-closer-count")).to_have_text("5 tickets each")

    closures(0, omar=5)  # three
    with page.expect_response(lambda r: "closures/period" in r.url):
        page.get_by_role("button", name="Today", exact=True).click()
    expect(page.locator("#top-closer")).to_have_text("Lukas C., Mina B. and Omar D.")
    colours = page.evaluate("() => yamChart.data.datasets[0].backgroundColor")
    assert colours == ["#f59e0b", "#f59e0b", "#f59e0b", "#2563eb"]


def test_the_previous_workday_button_shows_where_it_is_not_yesterday(
    open_page, plain_user, board, settings
):
    # Whatever day it is: a desk that did not work yesterday had its previous workday before.
    settings.WORKDAYS = tuple(n for n in range(7) if n != day(1).weekday())
    page = open_page(plain_user)
    button = page.get_by_role("button", name="Previous workday")

    with page.expect_response(lambda r: "closures/period" in r.url):
        button.click()

    expect(page.locator("#range")).to_have_text(str(day(2)))
    expect(button).to_have_attribute("aria-pressed", "true")
    assert "period=last_workday" in page.url

    settings.WORKDAYS = (day(1).weekday(),)  # the previous workday is yesterday
    page.reload()
    expect(page.locator("#ticket-closures")).to_have_attribute("data-ready", "1")
    expect(page.get_by_role("button", name="Previous workday")).to_have_count(0)


def test_the_page_tells_other_views_what_it_shows_and_which_agent_was_clicked(
    open_page, plain_user, board
):
    page = open_page(plain_user)
    page.evaluate(
        """() => {
            window.heard = [];
            for (const name of ["yam:view", "yam:agent"]) {
                document.addEventListener(name, (event) => {
                    const detail = {...event.detail};
                    if (detail.data) detail.data = "…";  // the closures answer
                    window.heard.push([name, detail]);
                });
            }
        }"""
    )

    with page.expect_response(lambda r: "closures/period" in r.url):
        page.get_by_role("button", name="Yesterday", exact=True).click()
    page.locator("#closures-table tbody tr").first.click()

    heard = page.evaluate("() => window.heard")
    yesterday = str(day(1))
    assert heard == [
        [
            "yam:view",
            {
                "period": "yesterday",
                "start": yesterday,
                "end": yesterday,
                "team": None,
                "data": "…",
            },
        ],
        [
            "yam:agent",
            {
                "freshworks_user_id": 1,
                "name": "Freya Q.",
                "start": yesterday,
                "end": yesterday,
                "team": None,
            },
        ],
    ]


def test_the_board_at_desktop_and_phone_size(open_page, manager, board, settings):
    settings.TIME_ZONE = "Europe/Berlin"
    closures(0, mina=5)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    desktop = open_page(manager)
    expect(desktop.locator("#last-synced-at")).to_have_text(BERLIN_TIME)
    expect(desktop.get_by_role("link", name="API docs")).to_have_attribute("href", "/api/docs")
    desktop.screenshot(path=SCREENSHOTS / "board-desktop.png")

    phone = open_page(manager, viewport=PHONE)
    assert phone.evaluate("() => document.documentElement.scrollWidth") <= PHONE["width"]
    phone.screenshot(path=SCREENSHOTS / "board-phone.png", full_page=True)

    phone.click("#admin-button")
    started = phone.locator("#stats-activity tbody td").first
    expect(started).to_have_text(BERLIN_TIME)
    # The statistics' table fits the phone: nothing in the dialog or the page spills sideways.
    assert phone.evaluate("() => document.documentElement.scrollWidth") <= PHONE["width"]
    assert phone.evaluate(
        "() => { const d = document.getElementById('admin-modal');"
        " return d.scrollWidth <= d.clientWidth; }"
    )
    phone.locator("#stats-activity").scroll_into_view_if_needed()
    phone.screenshot(path=SCREENSHOTS / "board-phone-statistics.png")
