"""The page revalidates its data (SPEC §19.6): on a reload the browser asks for the closures
with the ETag it kept, the server answers 304, and the page draws the same table from the
browser's copy."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.test_browser import history  # noqa: F401  (a fixture)
from tickets.api.views import TicketsViewSet

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def answered(monkeypatch) -> list[tuple[str, str, int]]:
    """(path, If-None-Match, status) of every API answer the live server gives. Chromium shows
    a revalidated answer to the page (and to Playwright) as the 200 it kept, so the server is
    asked what it sent."""
    seen: list[tuple[str, str, int]] = []
    finalize = TicketsViewSet.finalize_response

    def recording(self, request, response, *args, **kwargs):
        seen.append((request.path, request.headers.get("If-None-Match", ""), response.status_code))
        return finalize(self, request, response, *args, **kwargs)

    monkeypatch.setattr(TicketsViewSet, "finalize_response", recording)
    return seen


def test_a_reload_revalidates_the_closures_and_gets_304(
    open_page,
    history,  # noqa: F811
    plain_user,
    answered,
):
    page = open_page(plain_user)
    first = [entry for entry in answered if "/closures/period" in entry[0]]
    assert [(tag, status) for _, tag, status in first] == [("", 200)]
    answered.clear()

    page.reload()
    expect(page.locator("#ticket-closures")).to_have_attribute("data-ready", "1")

    again = [entry for entry in answered if "/closures/period" in entry[0]]
    assert len(again) == 1
    _, tag, status = again[0]
    assert tag.startswith('"')
    assert status == 304
    expect(page.locator("#closures-table tbody tr")).to_have_count(2)
