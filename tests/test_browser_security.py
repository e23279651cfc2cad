"""Every page works in Chromium under the Content-Security-Policy: no violation (SPEC §19.5)."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.test_csp import failed_run
from tickets.models import FreshworksUserMapping, TicketClosure

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Heard before any page script runs (an init script is not subject to the page's policy).
LISTEN = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  const where = `${event.sourceFile}:${event.lineNumber}`;
  window.__cspViolations.push(
    `${event.violatedDirective} blocked ${event.blockedURI || "inline"} at ${where}`
  );
});
"""

PAGES = [
    ("/", "#ticket-closures[data-ready='1']"),
    ("/admin/", "#content-main"),
    ("/admin/tickets/syncrun/", "#changelist"),
    ("/admin/tickets/syncrun/statistics/", "#content-main"),
    ("/admin/tickets/syncrun/connection/", "#content-main"),
    ("/admin/tickets/freshworksusermapping/", "#changelist"),
    ("/admin/tickets/freshworksusermapping/unmapped-agents/", "#content-main"),
    ("/admin/tickets/ticketclosure/", "#changelist"),
    ("/admin/auth/user/add/", "form"),
    ("/admin/axes/accessattempt/", "#changelist"),
    ("/api/docs/", ".swagger-ui .info"),
]


@pytest.fixture
def site(browser, live_server):
    """A browser page on the live site that records every CSP violation (events and console)."""
    context = browser.new_context(base_url=live_server.url)
    context.add_init_script(LISTEN)
    console: list[str] = []
    page = context.new_page()
    page.on(
        "console",
        lambda message: (
            console.append(message.text)
            if "Content Security Policy" in message.text or "Refused to" in message.text
            else None
        ),
    )
    yield page, console
    context.close()


def violations(page: Page, console: list[str]) -> list[str]:
    return [*page.evaluate("window.__cspViolations"), *console]


@pytest.fixture
def data(db):
    FreshworksUserMapping.objects.create(freshworks_user_id=1001, freshworks_username="Oscar S.")
    TicketClosure.objects.create(freshworks_user_id=1001, date="2026-11-26", tickets_closed=3)
    TicketClosure.objects.create(freshworks_user_id=1999, date="2026-11-26", tickets_closed=1)
    failed_run()


def test_the_log_in_page_and_every_page_after_it_break_no_rule(site, superuser, data):
    page, console = site
    page.goto("/accounts/login/")
    page.fill("#id_username", superuser.username)
    page.fill("#id_password", "pw")
    page.click("button[type=submit]")
    assert violations(page, console) == []

    for path, ready in PAGES:
        page.goto(path)
        expect(page.locator(ready).first).to_be_visible()
        page.wait_for_timeout(200)  # late violations (a chart, Swagger UI's rendering)
        assert violations(page, console) == [], path


def test_the_admin_log_in_and_the_locked_out_page_break_no_rule(site, superuser):
    page, console = site
    page.goto("/admin/login/")
    for _ in range(5):
        page.fill("#id_username", superuser.username)
        page.fill("#id_password", "wrong")
        page.click("input[type=submit]")
        if page.get_by_text("Too many failed log-ins").count():
            break

    expect(page.get_by_role("heading", name="Too many failed log-ins")).to_be_visible()
    assert violations(page, console) == []


def test_the_browsable_api_and_its_log_in_break_no_style_or_script_file_rule(site, superuser):
    page, console = site
    page.goto("/api-auth/login/?next=/api/tickets/stats")
    page.fill("#id_username", superuser.username)
    page.fill("#id_password", "pw")
    page.click("button[type=submit]")

    expect(page.locator(".response-info")).to_be_visible()
    page.wait_for_timeout(200)
    # DRF's page may use inline style (its answers alone allow it); one inline event handler
    # of its page is refused and nothing else.
    assert [
        violation
        for violation in violations(page, console)
        if "script-src-attr" not in violation and "inline event handler" not in violation
    ] == []
