"""The page revalidates its data (SPEC §19.6): the page carries the answer to its first
request; each refresh after that asks the API, and from the second on the browser sends the
ETag it kept, the server answers 304, and the page draws the same table from the browser's
copy."""

from __future__ import annotations

import pytest
from django.core.handlers.base import BaseHandler
from playwright.sync_api import expect

from tests.test_browser import history  # noqa: F401  (a fixture)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def answered(monkeypatch) -> list[tuple[str, str, int]]:
    """(path, If-None-Match, status) of every answer the live server gives, whether DRF or the
    middleware before it answered. Chromium shows a revalidated answer to the page (and to
    Playwright) as the 200 it kept, so the server is asked what it sent."""
    seen: list[tuple[str, str, int]] = []
    get_response = BaseHandler.get_response

    def recording(self, request):
        response = get_response(self, request)
        seen.append((request.path, request.headers.get("If-None-Match", ""), response.status_code))
        return response

    monkeypatch.setattr(BaseHandler, "get_response", recording)
    return seen


def refresh(page) -> None:
    """What the page does every few minutes on a wall screen (and on a team change)."""
    page.evaluate("document.dispatchEvent(new CustomEvent('yam:reload'))")


def closures_answers(answered) -> list[tuple[str, int]]:
    return [(tag, status) for path, tag, status in answered if "/closures/period" in path]


def test_the_page_carries_its_first_answer_and_its_refreshes_revalidate_with_304(
    open_page,
    history,  # noqa: F811
    plain_user,
    answered,
):
    page = open_page(plain_user)
    expect(page.locator("#closures-table tbody tr")).to_have_count(2)
    assert closures_answers(answered) == []  # drawn from the answer the page carried

    with page.expect_response(lambda response: "/closures/period" in response.url):
        refresh(page)
    assert closures_answers(answered) == [("", 200)]

    with page.expect_response(lambda response: "/closures/period" in response.url):
        refresh(page)
    (tag, status) = closures_answers(answered)[1]
    assert tag.startswith('"')
    assert status == 304
    expect(page.locator("#closures-table tbody tr")).to_have_count(2)

    page.reload()
    expect(page.locator("#ticket-closures")).to_have_attribute("data-ready", "1")
    assert len(closures_answers(answered)) == 2  # a reload carries the answer again
    expect(page.locator("#closures-table tbody tr")).to_have_count(2)
