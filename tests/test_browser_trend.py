"""The trend and the tickets behind a number in a real headless Chromium (SPEC §16.3, §16.4).

The page and the server share the real clock: the data is laid out relative to today. Screenshots
land in test-artifacts/screenshots/ (trend-*, drilldown-*).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from django.utils import timezone
from playwright.sync_api import Page, expect

from tests.conftest import DESKTOP, ENDPOINT, PHONE, SCREENSHOTS
from tests.test_browser import chart_bars
from tickets import dates
from tickets.models import ClosedTicket, FreshworksUserMapping, SyncRun, TicketClosure

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

AGENTS = {1001: "Oscar S.", 1002: "AJ Thompson", 1003: "Cole O'Grady"}
FRESHSERVICE = ENDPOINT.removesuffix("api/v2/")  # https://acme.freshservice.com/


def closed_on(agent_id: int, days_ago: int) -> int:
    """The pattern of the history: what an agent closed `days_ago` days before today."""
    return (agent_id + 3 * days_ago) % 5 if days_ago % 7 != 3 else 0  # some days nobody


@pytest.fixture
def site(settings, db) -> date:
    """400 days of closures for three agents, Oscar's tickets of today, and a recent sync."""
    settings.TIME_ZONE = "Europe/Berlin"
    settings.FRESH_ENDPOINT = ENDPOINT
    today = timezone.localdate()
    for agent_id, name in AGENTS.items():
        FreshworksUserMapping.objects.create(freshworks_user_id=agent_id, freshworks_username=name)
    TicketClosure.objects.bulk_create(
        TicketClosure(
            freshworks_user_id=agent_id,
            date=today - timedelta(days=days_ago),
            tickets_closed=closed_on(agent_id, days_ago),
        )
        for agent_id in AGENTS
        for days_ago in range(400)
        if closed_on(agent_id, days_ago)
    )
    ClosedTicket.objects.bulk_create(  # Oscar's tickets behind his counts
        ClosedTicket(
            ticket_id=100_000 + 10 * days_ago + n,
            responder_id=1001,
            status=4 if n == 0 else 5,
            closed_at=dates.local_day_start(today - timedelta(days=days_ago))
            + timedelta(hours=8, minutes=37 * n),
            closure_date=today - timedelta(days=days_ago),
            fetched_at=timezone.now(),
        )
        for days_ago in range(400)
        for n in range(closed_on(1001, days_ago))
    )
    SyncRun.objects.create(
        first_date=today,
        last_date=today,
        trigger="schedule",
        status="success",
        started_at=timezone.now() - timedelta(minutes=3),
        finished_at=timezone.now() - timedelta(minutes=3),
    )
    return today


def trend_range(start: date, end: date) -> tuple[date, date]:
    """The days the trend draws for a view: its own, or the two weeks up to the end of a view
    shorter than a week (trend.js)."""
    if (end - start).days + 1 < 7:
        return end - timedelta(days=13), end
    return start, end


def expected_trend(start: date, end: date, today: date) -> tuple[list[str], list[int]]:
    """Every day the trend draws for the view `start`..`end` and the team's total on it, summed
    from the pattern."""
    days = list(dates.days(*trend_range(start, end)))
    totals = [sum(closed_on(agent_id, (today - day).days) for agent_id in AGENTS) for day in days]
    return [day.isoformat() for day in days], totals


def trend_lines(page: Page) -> list[tuple[str, list[int]]]:
    lines = page.evaluate(
        "() => yamTrend.data.datasets.map((set) => [set.label, Array.from(set.data)])"
    )
    return [(label, data) for label, data in lines]


def trend_days(page: Page) -> list[str]:
    """The days behind the x axis (the tooltip's title names each one)."""
    return page.evaluate(
        """() => yamTrend.data.labels.map((_, index) =>
            yamTrend.options.plugins.tooltip.callbacks.title([{dataIndex: index}]))"""
    )


def click_bar(page: Page, index: int) -> None:
    """Click the middle of the bar chart's `index`th bar."""
    bar = page.evaluate(
        """(index) => {
            const bar = yamChart.getDatasetMeta(0).data[index];
            return {x: (bar.x + bar.base) / 2, y: bar.y};
        }""",
        index,
    )
    box = page.locator("#closures-chart").bounding_box()
    page.mouse.click(box["x"] + bar["x"], box["y"] + bar["y"])


def drilldown_rows(page: Page) -> list[tuple[str, str, str, str]]:
    rows = page.locator("#drilldown-table tbody tr")
    return [
        (
            rows.nth(i).locator("td").nth(0).inner_text(),
            rows.nth(i).locator("a").get_attribute("href"),
            rows.nth(i).locator("td").nth(1).inner_text(),
            rows.nth(i).locator("td").nth(2).inner_text(),
        )
        for i in range(rows.count())
    ]


def test_the_trend_draws_the_team_total_of_each_day_of_the_view(open_page, plain_user, site):
    page = open_page(plain_user)
    expect(page.locator("#trend-card")).to_be_visible()
    page.wait_for_function("() => window.yamTrend")
    # Today is one day: the trend draws the two weeks up to it.
    days, totals = expected_trend(site, site, site)
    assert len(days) == 14
    assert trend_days(page) == days
    assert trend_lines(page) == [("Team total", totals)]
    expect(page.locator("#trend-heading")).to_have_text("Tickets closed per day, the last 14 days")

    with page.expect_response(lambda r: "closures/daily" in r.url):
        page.get_by_role("button", name="This Month", exact=True).click()

    start, end = dates.period_dates("month", today=site)
    days, totals = expected_trend(start, end, site)
    page.wait_for_function(
        "(n) => window.yamTrend && yamTrend.data.labels.length === n", arg=len(days)
    )
    assert trend_days(page) == days
    assert trend_lines(page) == [("Team total", totals)]
    label = page.locator("#trend-chart").get_attribute("aria-label")
    first, last = trend_range(start, end)  # early in a month, the two weeks up to today
    assert f"from {first} to {last}: {sum(totals)} in all" in label


def test_clicking_a_bar_lists_that_agents_tickets_with_links_to_freshservice(
    open_page, plain_user, site
):
    page = open_page(plain_user)
    oscar = [name for name, _ in chart_bars(page)].index("Oscar S.")

    with page.expect_response(lambda r: "closures/tickets" in r.url):
        click_bar(page, oscar)

    panel = page.locator("#drilldown")
    expect(panel).to_be_visible()
    expect(panel).to_be_focused()
    expect(page.locator("#drilldown-title")).to_have_text("Tickets closed by Oscar S.")
    tickets = list(ClosedTicket.objects.filter(closure_date=site).order_by("-closed_at"))
    assert tickets  # the pattern gives Oscar closures today
    expect(page.locator("#drilldown-summary")).to_contain_text(
        f"{len(tickets)} ticket{'' if len(tickets) == 1 else 's'}, {site}"
    )
    rows = drilldown_rows(page)
    assert [(number, link, status) for number, link, _, status in rows] == [
        (
            f"#{ticket.ticket_id}",
            f"{FRESHSERVICE}a/tickets/{ticket.ticket_id}",
            "4 Resolved" if ticket.status == 4 else "5 Closed",
        )
        for ticket in tickets
    ]
    for (_, _, shown, _), ticket in zip(rows, tickets, strict=True):
        local = timezone.localtime(ticket.closed_at).strftime("%Y-%m-%d %H:%M")
        assert re.fullmatch(rf"{local} (CET|CEST)", shown), shown
    link = page.locator("#drilldown-table a").first
    expect(link).to_have_attribute("target", "_blank")
    expect(link).to_have_attribute("rel", "noopener noreferrer")

    # The trend draws Oscar's line over the team's.
    page.wait_for_function("() => window.yamTrend && yamTrend.data.datasets.length === 2")
    first, last = trend_range(site, site)
    oscar_days = [closed_on(1001, (site - day).days) for day in dates.days(first, last)]
    assert trend_lines(page)[1] == ("Oscar S.", oscar_days)
    expect(page.locator("#trend-heading")).to_contain_text("Oscar S. and the team")


def test_the_table_rows_open_the_list_from_the_keyboard_and_esc_closes_it(
    open_page, plain_user, site
):
    page = open_page(plain_user)
    row = page.locator("#closures-table tbody tr", has_text="AJ Thompson")
    row.focus()

    with page.expect_response(lambda r: "closures/tickets" in r.url):
        page.keyboard.press("Enter")

    expect(page.locator("#drilldown")).to_be_focused()
    expect(page.locator("#drilldown-title")).to_have_text("Tickets closed by AJ Thompson")
    # AJ's closures are counted, but no ticket rows were stored for them in this test.
    expect(page.locator("#drilldown-summary")).to_have_text(f"No tickets closed, {site}.")

    page.keyboard.press("Escape")
    expect(page.locator("#drilldown")).to_be_hidden()
    expect(row).to_be_focused()
    page.get_by_role("button", name="Team total only").click()
    assert [label for label, _ in trend_lines(page)] == ["Team total"]


@pytest.fixture
def late_in_january() -> Iterator[None]:
    """The server's clock (ticking) at Thursday 28 January 2027, 16:00 in Berlin: This Month
    holds four weeks in the screenshots whatever day the suite runs."""
    with time_machine.travel(datetime(2027, 1, 28, 15, 0, tzinfo=UTC), tick=True):
        yield


def test_screenshots_of_the_trend_and_the_drilldown(late_in_january, open_page, plain_user, site):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for size, viewport in [("desktop", DESKTOP), ("phone", PHONE)]:
        page = open_page(plain_user, viewport=viewport)
        with page.expect_response(lambda r: "closures/daily" in r.url):
            page.get_by_role("button", name="This Month", exact=True).click()
        start, end = dates.period_dates("month", today=site)
        page.wait_for_function(
            "(n) => window.yamTrend && yamTrend.data.labels.length === n",
            arg=(end - start).days + 1,
        )
        page.locator("#trend-card").scroll_into_view_if_needed()
        page.screenshot(path=SCREENSHOTS / f"trend-{size}.png")

        with page.expect_response(lambda r: "closures/tickets" in r.url):
            page.locator("#closures-table tbody tr", has_text="Oscar S.").click()
        # The list holds the tickets behind the number in the bar.
        bar = dict(chart_bars(page))
        expect(page.locator("#drilldown-table tbody tr")).to_have_count(bar["Oscar S."])
        page.wait_for_function("() => window.yamTrend && yamTrend.data.datasets.length === 2")
        page.locator("#drilldown").scroll_into_view_if_needed()
        page.screenshot(path=SCREENSHOTS / f"drilldown-{size}.png")
        # Nothing spills sideways on a phone.
        assert page.evaluate("() => document.documentElement.scrollWidth") <= viewport["width"]


def a_years_work(agent: int, day: date) -> int:
    """What agent 5000 + `agent` closed on `day` in the big year: workdays only, busier by turns."""
    return 0 if day.weekday() >= 5 else 1 + (agent + day.toordinal() // 30) % 4


def test_a_year_of_300_agents_stays_readable(open_page, plain_user, site):
    """366 days: no point markers, a few ticks, 7-day averages; 300 agents: one agent's line at
    a time, on a scale of its own."""
    year = list(dates.days(site - timedelta(days=365), site))
    TicketClosure.objects.bulk_create(
        TicketClosure(freshworks_user_id=5000 + agent, date=day, tickets_closed=closed)
        for agent in range(297)
        for day in year
        if (closed := a_years_work(agent, day))
    )
    page = open_page(plain_user)

    with page.expect_response(lambda r: "closures/daily" in r.url, timeout=60_000):
        page.evaluate(  # what dashboard.js sends for a range of a year
            """([start, end]) => document.dispatchEvent(new CustomEvent("yam:view",
                {detail: {period: null, start, end, team: null}}))""",
            [year[0].isoformat(), site.isoformat()],
        )
    page.wait_for_function(
        "() => window.yamTrend && yamTrend.data.labels.length === 366", timeout=30_000
    )
    assert [label for label, _ in trend_lines(page)] == ["Team total", "Team, 7-day average"]
    assert page.evaluate("() => yamTrend.data.datasets.map((set) => set.pointRadius)") == [0, 0]
    assert 2 <= page.evaluate("() => yamTrend.scales.x.ticks.length") <= 14

    page.evaluate(  # what a click on agent 5001's row sends
        """([start, end]) => document.dispatchEvent(new CustomEvent("yam:agent",
            {detail: {freshworks_user_id: 5001, name: "Agent 5001", start, end, team: null}}))""",
        [year[0].isoformat(), site.isoformat()],
    )
    page.wait_for_function("() => window.yamTrend && yamTrend.data.datasets.length === 3")
    expect(page.locator("#drilldown-summary")).to_contain_text("No tickets closed")
    label, line = trend_lines(page)[2]
    assert label == "Agent 5001, 7-day average (right scale)"
    counts = [a_years_work(1, day) for day in year]
    assert line[:6] == [None] * 6  # no average of fewer than 7 days
    assert line[6:] == pytest.approx(
        [sum(counts[i - 6 : i + 1]) / 7 for i in range(6, 366)],
        abs=0.051,  # one decimal
    )
    assert page.evaluate("() => yamTrend.scales.agent.max") < 10  # not the team's 600
    page.locator("#trend-card").scroll_into_view_if_needed()
    page.screenshot(path=SCREENSHOTS / "trend-year-300-agents-desktop.png")
