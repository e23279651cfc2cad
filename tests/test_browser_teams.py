"""The team selector (SPEC §16.5) in a real headless Chromium: shown with several teams, keeps the
team in the URL (a reload or a link shows the same team), and reloads the board's data.

Screenshots: test-artifacts/screenshots/teams-desktop.png and teams-phone.png.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from tests.conftest import DESKTOP, PHONE, SCREENSHOTS
from tests.test_browser import table_rows
from tickets.models import FreshserviceGroup, FreshworksUserMapping, SyncRun, TicketClosure

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DESK, FACILITIES = 18000294963, 18000295127
AGENTS = {1001: "Oscar S.", 1002: "AJ Thompson", 1003: "Cole O'Grady"}
# Today's closures per team and agent: Oscar works in both teams.
TODAY = {DESK: {1001: 3, 1002: 5}, FACILITIES: {1001: 2, 1003: 4}}


@pytest.fixture
def two_teams(settings, db):
    settings.FRESH_GROUP_ID = (DESK, FACILITIES)
    now = timezone.now()
    for group_id, name in ((DESK, "Service Desk"), (FACILITIES, "Facilities")):
        FreshserviceGroup.objects.create(group_id=group_id, name=name, fetched_at=now)
    for agent_id, name in AGENTS.items():
        FreshworksUserMapping.objects.create(freshworks_user_id=agent_id, freshworks_username=name)
    today = timezone.localdate()
    for group_id, per_agent in TODAY.items():
        for agent_id, closed in per_agent.items():
            TicketClosure.objects.create(
                freshworks_user_id=agent_id, date=today, group_id=group_id, tickets_closed=closed
            )
    # Yesterday, so the team survives a change of period too.
    TicketClosure.objects.create(
        freshworks_user_id=1003, date=today - timedelta(days=1), group_id=DESK, tickets_closed=1
    )
    SyncRun.objects.create(
        first_date=today,
        last_date=today,
        trigger="schedule",
        status="success",
        started_at=now - timedelta(minutes=5),
        finished_at=now - timedelta(minutes=5),
    )


def team_param(page: Page) -> str | None:
    return page.evaluate("() => new URLSearchParams(location.search).get('team')")


def test_the_team_selector_filters_the_board_and_keeps_the_team_in_the_url(
    open_page, plain_user, two_teams
):
    page = open_page(plain_user)
    select = page.locator("#team-select")
    expect(select).to_be_visible()
    expect(select.locator("option")).to_have_text(["All teams", "Service Desk", "Facilities"])
    expect(page.locator("#total")).to_have_text("14")
    assert table_rows(page) == [("AJ Thompson", 5), ("Oscar S.", 5), ("Cole O'Grady", 4)]
    expect(page.locator("#closures-heading")).to_have_text("Daily Ticket Closures — All teams")

    with page.expect_response(lambda r: f"team={FACILITIES}" in r.url):
        select.select_option(label="Facilities")

    assert team_param(page) == str(FACILITIES)
    expect(page.locator("#total")).to_have_text("6")
    expect(page.locator("#closures-heading")).to_have_text("Daily Ticket Closures — Facilities")
    assert table_rows(page) == [("Cole O'Grady", 4), ("Oscar S.", 2)]
    export = page.locator("#export-csv")
    if export.count():
        assert f"team={FACILITIES}" in (export.get_attribute("href") or "")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOTS / "teams-desktop.png")

    # A reload (or the link sent to somebody) shows the same team.
    page.reload()
    expect(page.locator("#ticket-closures")).to_have_attribute("data-ready", "1")
    expect(page.locator("#team-select")).to_have_value(str(FACILITIES))
    expect(page.locator("#total")).to_have_text("6")

    # Another period keeps the team; Back returns to every team.
    with page.expect_response(lambda r: f"team={FACILITIES}" in r.url):
        page.get_by_role("button", name="Yesterday", exact=True).click()
    expect(page.locator("#total")).to_have_text("0")
    with page.expect_response(lambda r: "team=" not in r.url and "closures" in r.url):
        select.select_option(label="All teams")
    assert team_param(page) is None
    expect(page.locator("#total")).to_have_text("1")


def test_on_a_phone_the_selector_fits_and_a_link_opens_the_team(open_page, plain_user, two_teams):
    page = open_page(plain_user, viewport=PHONE)
    page.goto(f"/?team={DESK}")
    expect(page.locator("#ticket-closures")).to_have_attribute("data-ready", "1")

    expect(page.locator("#team-select")).to_have_value(str(DESK))
    expect(page.locator("#total")).to_have_text("8")
    assert page.evaluate("() => document.documentElement.scrollWidth") <= PHONE["width"]
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOTS / "teams-phone.png", full_page=True)


def test_a_team_not_offered_in_the_url_is_dropped_and_every_team_shown(
    open_page, plain_user, two_teams
):
    page = open_page(plain_user)
    page.goto("/?team=42")
    expect(page.locator("#ticket-closures")).to_have_attribute("data-ready", "1")

    assert team_param(page) is None
    expect(page.locator("#team-select")).to_have_value("")
    expect(page.locator("#total")).to_have_text("14")
    expect(page.locator("#message")).to_be_hidden()


def test_with_one_team_there_is_no_selector(open_page, plain_user, two_teams, settings):
    settings.FRESH_GROUP_ID = (DESK,)

    page = open_page(plain_user, viewport=DESKTOP)

    expect(page.locator("#team-select")).to_have_count(0)
    expect(page.locator("#total")).to_have_text("8")
    expect(page.locator("#closures-heading")).to_have_text("Daily Ticket Closures — Service Desk")
