"""The page's "backfill in progress" notice (SPEC §15), in Chromium."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

# The browser tests' logged-in page on the live server (Chromium is conftest's `browser`).
from tests.conftest import SCREENSHOTS
from tickets import dates
from tickets.models import BackfillProgress, SyncRun

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_page_flags_the_days_of_an_unfinished_backfill(open_page, plain_user):
    today = timezone.localdate()
    BackfillProgress.objects.create(
        first_date=today - timedelta(days=30),
        last_date=today,
        trigger=SyncRun.Trigger.COMMAND,
        updated_since=dates.local_day_start(today - timedelta(days=30)),
        started_at=timezone.now(),
        pages_done=120,
        tickets_done=12_000,
    )

    page = open_page(plain_user)

    notice = page.locator("#backfill-notice")
    expect(notice).to_be_visible()
    expect(notice).to_contain_text(
        f"Backfill in progress for {today - timedelta(days=30)} \u2013 {today}"
    )
    expect(notice).to_contain_text("120 pages, 12,000 tickets so far")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "backfill-in-progress.png"))


def test_the_page_shows_no_notice_without_a_backfill(open_page, plain_user):
    page = open_page(plain_user)

    expect(page.locator("#backfill-notice")).to_be_hidden()
