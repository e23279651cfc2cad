"""Wall screens (SPEC §17) in a real headless Chromium against the live site: a link opens
without a log-in, rotates Today → This Week → This Month, and says so once it is revoked.

Screenshots (tv-desktop.png at 1920x1080, tv-phone.png at 390x844) land in
test-artifacts/screenshots/.
"""

from __future__ import annotations

import pytest
from django.utils import timezone
from playwright.sync_api import Browser, Page, expect

from tests.conftest import DESKTOP, PHONE, SCREENSHOTS
from tests.test_browser import expected, history
from tickets.models import FreshworksUserMapping, TicketClosure, WallScreenLink
from tickets.services.wall_screens import create_wall_screen, revoke_wall_screen

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

__all__ = ["history"]  # a fixture shared with tests/test_browser.py


@pytest.fixture
def open_screen(browser: Browser, live_server):
    """A new browser (no cookies, nobody logged in) showing `path` at a viewport size."""
    contexts = []

    def open_(path: str, viewport=DESKTOP, wait=True, before=None) -> Page:
        context = browser.new_context(viewport=viewport, base_url=live_server.url)
        contexts.append(context)
        page = context.new_page()
        if before:
            before(page)
        page.goto(path)
        expect(page).to_have_url(f"{live_server.url}{path}")  # no detour to a log-in page
        if wait:
            expect(page.locator("#tv")).to_have_attribute("data-ready", "1")
        return page

    yield open_
    for context in contexts:
        context.close()


def bars(page: Page) -> list[tuple[str, int]]:
    data = page.evaluate(
        "() => ({labels: yamTvChart.data.labels, values: yamTvChart.data.datasets[0].data})"
    )
    return list(zip(data["labels"], data["values"], strict=True))


def test_a_wall_screen_opens_without_a_log_in_and_rotates_the_periods(
    open_screen, history, settings
):
    settings.TV_ROTATE_SECONDS = 2
    page = open_screen(create_wall_screen(name="Lobby").path)
    board = page.locator("#tv")

    expect(page.locator("#sync-button")).to_have_count(0)
    expect(page.locator("#admin-button")).to_have_count(0)
    for period in ["today", "week", "month", "today"]:
        expect(board).to_have_attribute("data-period", period)
        want = expected(period)
        assert bars(page) == want, period
        expect(page.locator("#tv-top-closer")).to_have_text(want[0][0])
        expect(page.locator("#tv-total")).to_have_text(str(sum(count for _, count in want)))
        expect(page.locator(f".tv-periods [data-period={period}]")).to_have_class("is-current")
    expect(page.locator("#tv-last-synced")).to_have_text("7 minutes ago")
    expect(page.locator("#tv-stale")).to_be_hidden()
    assert WallScreenLink.objects.get().last_seen_at is not None


def test_the_open_screen_says_revoked_after_revocation(open_screen, history):
    new = create_wall_screen(name="Lobby")
    page = open_screen(new.path, before=lambda page: page.clock.install())
    expect(page.locator("#tv-revoked")).to_be_hidden()

    revoke_wall_screen(name="Lobby")
    page.clock.run_for(5 * 60 * 1000)  # the next reload of the numbers, 5 minutes on

    expect(page.locator("#tv-revoked")).to_be_visible()
    expect(page.locator("#tv-revoked")).to_contain_text("This screen link was revoked")
    expect(page.locator("#tv")).to_have_count(0)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOTS / "tv-revoked.png")

    response = page.reload()
    assert response is not None
    assert response.status == 404
    expect(page.locator("#tv-revoked")).to_contain_text("This screen link was revoked")


def test_a_screen_whose_data_is_stale_says_so(open_screen, db):
    TicketClosure.objects.create(
        freshworks_user_id=1001, date=timezone.localdate(), tickets_closed=3
    )  # and no successful sync ever

    page = open_screen(create_wall_screen(name="Lobby").path)

    expect(page.locator("#tv-stale")).to_be_visible()
    expect(page.locator("#tv-last-synced")).to_have_text("never")


# A desk's worth of agents for the screenshots, besides those of `history` (synced 7 min ago).
DESK = {
    2001: ("Freya Q.", 14),
    2002: ("Lukas C.", 12),
    2003: ("Amara N.", 11),
    2004: ("Mei L.", 9),
    2005: ("Priya R.", 7),
    2006: ("Tom B.", 6),
    2007: ("Sofia M.", 4),
    2008: ("Jonas W.", 2),
    2009: ("Ines D.", 1),
}


@pytest.fixture
def desk(history) -> None:
    today = timezone.localdate()
    for agent_id, (name, closed) in DESK.items():
        FreshworksUserMapping.objects.create(freshworks_user_id=agent_id, freshworks_username=name)
        TicketClosure.objects.create(freshworks_user_id=agent_id, date=today, tickets_closed=closed)


def test_screenshots_of_the_wall_screen_at_tv_and_phone_size(open_screen, desk, settings):
    settings.TV_ROTATE_SECONDS = 600  # stays on Today for the pictures
    path = create_wall_screen(name="Service desk TV").path
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    tv = open_screen(path)
    want = [*expected("today"), *DESK.values()]
    assert bars(tv) == sorted(want, key=lambda bar: (-bar[1], bar[0].casefold()))
    # The whole board fits the screen: nothing to scroll on a TV.
    assert tv.evaluate("() => document.documentElement.scrollHeight") <= DESKTOP["height"]
    tv.screenshot(path=SCREENSHOTS / "tv-desktop.png")

    phone = open_screen(path, viewport=PHONE)
    assert phone.evaluate("() => document.documentElement.scrollWidth") <= PHONE["width"]
    phone.screenshot(path=SCREENSHOTS / "tv-phone.png", full_page=True)
