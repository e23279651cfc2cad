"""The dashboard in a real headless Chromium against the live site (Playwright).

Screenshots (desktop 1920x1080, phone 390x844) land in test-artifacts/screenshots/.
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from tests.conftest import DESKTOP, ENDPOINT, PHONE, SCREENSHOTS
from tests.freshservice_data import make_ticket
from tests.upstream import FakeFreshservice
from tickets import dates
from tickets.models import FreshworksUserMapping, SyncRun, TicketClosure

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Closures per agent per day, relative to today (the page and the server share the real clock).
# No period has two agents tied at the top, whatever day it is: a week or month that reaches back
# to day 3 has Oscar 7, AJ 6 (with AJ at 2 there, every Thursday to Sunday tied them at 7).
AGENTS = {1001: "Oscar S.", 1002: "AJ Thompson", 1003: "Cole O'Grady"}
HISTORY = {0: {1001: 3, 1002: 5}, 1: {1001: 4, 1003: 1}, 3: {1002: 1}, 10: {1003: 9}, 40: {1001: 7}}


@pytest.fixture
def history(db):
    today = timezone.localdate()
    for agent_id, name in AGENTS.items():
        FreshworksUserMapping.objects.create(freshworks_user_id=agent_id, freshworks_username=name)
    for days_ago, per_agent in HISTORY.items():
        for agent_id, closed in per_agent.items():
            TicketClosure.objects.create(
                freshworks_user_id=agent_id,
                date=today - timedelta(days=days_ago),
                tickets_closed=closed,
            )
    SyncRun.objects.create(
        first_date=today,
        last_date=today,
        trigger="schedule",
        status="success",
        started_at=timezone.now() - timedelta(minutes=7),
        finished_at=timezone.now() - timedelta(minutes=7),
    )


def expected(period: str) -> list[tuple[str, int]]:
    """What a period should show, summed from HISTORY independently of the app's queries."""
    today = timezone.localdate()
    start, end = dates.period_dates(period, today=today)
    totals: dict[str, int] = {}
    for days_ago, per_agent in HISTORY.items():
        if start <= today - timedelta(days=days_ago) <= end:
            for agent_id, closed in per_agent.items():
                totals[AGENTS[agent_id]] = totals.get(AGENTS[agent_id], 0) + closed
    return sorted(totals.items(), key=lambda item: (-item[1], item[0].casefold()))


def chart_bars(page: Page) -> list[tuple[str, int]]:
    data = page.evaluate(
        "() => ({labels: yamChart.data.labels, values: yamChart.data.datasets[0].data})"
    )
    return list(zip(data["labels"], data["values"], strict=True))


def table_rows(page: Page) -> list[tuple[str, int]]:
    rows = page.locator("#closures-table tbody tr")
    return [
        (
            rows.nth(i).locator("td").nth(1).inner_text(),
            int(rows.nth(i).locator("td").nth(2).inner_text()),
        )
        for i in range(rows.count())
    ]


def test_the_chart_table_and_top_closer_follow_each_period(open_page, plain_user, history):
    page = open_page(plain_user)

    for period, button in [
        ("today", "Today"),
        ("yesterday", "Yesterday"),
        ("week", "This Week"),
        ("month", "This Month"),
    ]:
        with page.expect_response(lambda r: "closures/period" in r.url):
            page.get_by_role("button", name=button, exact=True).click()
        want = expected(period)
        assert want, period  # every period holds today
        expect(page.locator("#closures-table tbody tr")).to_have_count(len(want))
        assert chart_bars(page) == want, period
        assert table_rows(page) == want, period
        expect(page.locator("#top-closer")).to_have_text(want[0][0] if want else "—")
        expect(page.locator("#total")).to_have_text(str(sum(count for _, count in want)))

    expect(page.locator("#last-synced")).to_have_text("7 minutes ago")
    expect(page.locator("#stale-warning")).to_be_hidden()


def test_many_agents_show_the_top_15_in_the_chart_and_all_in_the_table(open_page, plain_user, db):
    today = timezone.localdate()
    TicketClosure.objects.bulk_create(
        TicketClosure(freshworks_user_id=2000 + n, date=today, tickets_closed=n + 1)
        for n in range(40)
    )
    page = open_page(plain_user)

    assert len(chart_bars(page)) == 15
    assert chart_bars(page)[0] == ("Agent 2039", 40)
    expect(page.locator("#more-agents")).to_have_text("and 25 more (see the table below)")
    expect(page.locator("#closures-table tbody tr")).to_have_count(40)
    expect(page.locator("#stale-warning")).to_be_visible()  # never synced
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOTS / "dashboard-40-agents-desktop.png", full_page=True)


def test_screenshots_at_desktop_and_phone_size(open_page, plain_user, manager, history):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    desktop = open_page(manager)
    # The trend loads on its own after the dashboard is drawn: the screenshots show it drawn.
    trend_drawn = "() => window.yamTrend !== undefined"
    desktop.wait_for_function(trend_drawn)
    desktop.screenshot(path=SCREENSHOTS / "dashboard-desktop.png")
    desktop.click("#admin-button")
    expect(desktop.locator("#stats-database")).to_contain_text("Closure records")
    desktop.screenshot(path=SCREENSHOTS / "admin-modal-desktop.png")

    phone = open_page(plain_user, viewport=PHONE)
    phone.wait_for_function(trend_drawn)
    # Nothing spills sideways on a phone.
    assert phone.evaluate("() => document.documentElement.scrollWidth") <= PHONE["width"]
    phone.screenshot(path=SCREENSHOTS / "dashboard-phone.png", full_page=True)


@pytest.fixture
def upstream(requests_mock, fresh) -> FakeFreshservice:
    requests_mock.real_http = True  # the browser's own traffic is not requests'
    fake = FakeFreshservice(requests_mock)
    stamp = (timezone.now() - timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    fake.put(
        make_ticket(id=1, responder_id=1001, updated_at=stamp, resolved_at=stamp, closed_at=stamp)
    )
    return fake


def test_the_sync_button_syncs_then_shows_the_clock(open_page, plain_user, history, upstream):
    page = open_page(plain_user)
    button = page.locator("#sync-button")
    expect(button).to_have_attribute("data-state", "ready")
    expect(button).to_have_text("🔄")

    button.click()

    expect(button).to_have_attribute("data-state", "rate-limited")
    expect(button.locator(".clock-icon")).to_have_count(1)  # an SVG, not an emoji
    expect(button).to_contain_text("min")
    expect(page.locator("#sync-state")).to_contain_text("(rate limit)")
    expect(page.locator("#message")).to_contain_text("Synced: 1 updated ticket read in")
    expect(page.locator("#last-synced")).to_have_text("just now")
    # The sync read the team's group: its name now heads the section.
    expect(page.locator("#closures-heading")).to_have_text("Daily Ticket Closures — Service Desk")
    assert upstream.list_calls == 1


def test_a_failed_sync_says_so_on_the_page(open_page, plain_user, history, requests_mock, fresh):
    requests_mock.real_http = True
    requests_mock.get(f"{ENDPOINT}tickets", status_code=401)
    page = open_page(plain_user)

    page.click("#sync-button")

    message = page.locator("#message")
    expect(message).to_contain_text("Sync failed: Freshservice rejected the API key (401)")
    expect(message).to_have_class("message is-error")
    expect(page.locator("#sync-button")).to_have_attribute("data-state", "ready")


def test_a_plain_user_sees_no_admin_extras(open_page, plain_user, history):
    page = open_page(plain_user)

    expect(page.locator("#admin-button")).to_have_count(0)
    expect(page.locator("#admin-modal")).to_have_count(0)


def test_a_manager_uses_the_statistics_modal(
    open_page, manager, history, upstream, settings, tmp_path
):
    ids = tmp_path / "IDs.txt"
    ids.write_text("Oscar Solis - 1001\nAJ Thompson - 1002\n")
    settings.FRESH_IDS_FILE = str(ids)
    page = open_page(manager)

    page.click("#admin-button")
    modal = page.locator("#admin-modal")
    expect(modal).to_be_visible()
    expect(modal.locator("#stats-database")).to_contain_text("Closure records")
    expect(modal.locator("#stats-activity tbody tr")).to_have_count(1)

    modal.locator("#force-sync").click()
    expect(modal.locator("#admin-message")).to_contain_text("Synced")
    expect(modal.locator("#stats-activity tbody tr")).to_have_count(2)
    assert SyncRun.objects.order_by("pk").last().trigger == "force"

    modal.locator("#refresh-mappings").click()
    expect(modal.locator("#admin-message")).to_contain_text(
        "User mappings refreshed: 0 matched, 2 unmatched"
    )
    expect(page.locator("#closures-table")).to_contain_text("Oscar Solis")

    with page.expect_download() as csv_download:
        modal.locator("#export-csv").click()
    lines = Path(csv_download.value.path()).read_text().splitlines()
    # Today was recounted by the forced sync from the one ticket upstream has.
    assert lines == [
        "date,freshworks_user_id,name,username,tickets_closed",
        f"{timezone.localdate()},1001,Oscar Solis,,1",
    ]

    with page.expect_download() as stats_download:
        modal.locator("#export-stats").click()
    stats = json.loads(Path(stats_download.value.path()).read_text())
    assert stats["database"]["total_sync_operations"] == 2


def test_the_admin_actions_work_in_the_browser(browser, live_server, superuser, history, upstream):
    context = browser.new_context(viewport=DESKTOP, base_url=live_server.url)
    page = context.new_page()
    page.goto("/admin/login/?next=/admin/tickets/ticketclosure/")
    page.fill("#id_username", superuser.username)
    page.fill("#id_password", "pw")
    page.click("input[type=submit]")
    expect(page.locator("#result_list")).to_be_visible()

    page.check("#action-toggle")
    page.select_option("select[name=action]", "export_selected_closures_csv")
    with page.expect_download() as download:
        page.click("button[name=index]")
    lines = Path(download.value.path()).read_text().splitlines()
    assert len(lines) == 1 + sum(len(per_agent) for per_agent in HISTORY.values())

    page.check("#action-toggle")
    page.select_option("select[name=action]", "force_sync_selected_dates")
    page.click("button[name=index]")
    # The oldest row is 40 days back: past what a sync started from the web may reach.
    expect(page.locator(".messagelist")).to_contain_text("reaches back at most 31 days")
    assert upstream.list_calls == 0

    page.locator("input.action-select").first.check()  # today's (newest first)
    page.select_option("select[name=action]", "force_sync_selected_dates")
    page.click("button[name=index]")
    expect(page.locator(".messagelist")).to_contain_text("Force-synced")
    assert SyncRun.objects.order_by("pk").last().trigger == "admin"
    assert upstream.list_calls == 1

    page.goto("/admin/")
    page.get_by_role("link", name="Sync statistics").first.click()
    expect(page).to_have_url(f"{live_server.url}/admin/tickets/syncrun/statistics/")
    expect(page.locator("#recent-activity")).to_contain_text("Last 2 syncs")
    page.screenshot(path=SCREENSHOTS / "admin-statistics.png", full_page=True)
    context.close()
