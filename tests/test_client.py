"""The Freshservice client at the HTTP layer: paging, retries, waits, typed errors, secrecy."""

from __future__ import annotations

import base64
import logging
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import time_machine

from freshworks.client import (
    FreshserviceClient,
    FreshworksAuthError,
    FreshworksConfigError,
    FreshworksConnectionError,
    FreshworksError,
    FreshworksNotFoundError,
    FreshworksRateLimitError,
    FreshworksResponseError,
    FreshworksServerError,
    Ticket,
)
from tests.freshservice_data import load_page, make_page, make_ticket, next_link

API_KEY = "sk-test-SECRET-api-key-0123456789"
ENDPOINT = "https://acme.freshservice.com/api/v2/"
TICKETS_URL = ENDPOINT + "tickets"
SINCE = datetime(2026, 11, 26, 8, 0, tzinfo=UTC)
FIRST_QUERY = "updated_since=2026-11-26T08%3A00%3A00Z&include=stats&per_page=100"
FIRST_URL = f"{TICKETS_URL}?{FIRST_QUERY}"
PAGE_2_URL = f"{FIRST_URL}&page=2"
PAGE_3_URL = f"{FIRST_URL}&page=3"

OK = {"json": make_page(make_ticket(id=301))}

MakeClient = Callable[..., FreshserviceClient]


@pytest.fixture
def sleeps() -> list[float]:
    """Every sleep the client asked for, in order; nothing really sleeps."""
    return []


@pytest.fixture
def make_client(sleeps: list[float]) -> MakeClient:
    def make(**overrides: object) -> FreshserviceClient:
        options: dict[str, object] = {
            "api_key": API_KEY,
            "endpoint": ENDPOINT,
            "sleep": sleeps.append,
        }
        return FreshserviceClient(**(options | overrides))  # type: ignore[arg-type]

    return make


@pytest.fixture
def client(make_client: MakeClient) -> FreshserviceClient:
    return make_client()


@pytest.fixture
def freshworks_log(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> Iterator[pytest.LogCaptureFixture]:
    """caplog for the "freshworks" logger, which the settings keep from propagating to root."""
    logger = logging.getLogger("freshworks")
    monkeypatch.setattr(logger, "propagate", False)
    logger.addHandler(caplog.handler)
    caplog.set_level(logging.DEBUG, logger="freshworks")
    yield caplog
    logger.removeHandler(caplog.handler)


def fetch(client: FreshserviceClient) -> list[list[Ticket]]:
    return list(client.iter_ticket_pages(updated_since=SINCE))


def query_of(url: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(url).query)


def assert_calls(requests_mock, client: FreshserviceClient, count: int) -> None:
    assert requests_mock.call_count == count
    assert client.api_calls == count


# --- pagination and the request itself --------------------------------------------------------


def test_it_follows_link_headers_across_three_pages(requests_mock, client):
    requests_mock.get(TICKETS_URL, json=load_page("tickets-page-1"), headers=next_link(PAGE_2_URL))
    requests_mock.get(PAGE_2_URL, json=load_page("tickets-page-2"), headers=next_link(PAGE_3_URL))
    requests_mock.get(PAGE_3_URL, json=load_page("tickets-page-3"))

    pages = fetch(client)

    assert [[ticket.id for ticket in page] for page in pages] == [[301, 302], [303, 304], [305]]
    assert_calls(requests_mock, client, 3)
    first, second, third = requests_mock.request_history
    assert query_of(first.url) == {
        "updated_since": ["2026-11-26T08:00:00Z"],
        "include": ["stats"],
        "per_page": ["100"],
    }
    assert second.url == PAGE_2_URL
    assert third.url == PAGE_3_URL
    assert client.waited_seconds == 0


def test_it_parses_tickets_into_utc_dataclasses(requests_mock, client):
    requests_mock.get(TICKETS_URL, json=load_page("tickets-page-2"))

    [page] = fetch(client)

    assert page == [
        Ticket(
            id=303,
            group_id=18000294963,
            responder_id=None,
            status=2,
            updated_at=datetime(2026, 11, 26, 8, 20, tzinfo=UTC),
            resolved_at=None,
            closed_at=None,
        ),
        Ticket(
            id=304,
            group_id=18000294964,
            responder_id=1003,
            status=5,
            updated_at=datetime(2026, 11, 26, 8, 31, 55, tzinfo=UTC),
            resolved_at=datetime(2026, 11, 26, 8, 30, tzinfo=UTC),
            closed_at=datetime(2026, 11, 26, 8, 31, 55, tzinfo=UTC),
        ),
    ]
    assert_calls(requests_mock, client, 1)


def test_it_normalises_timestamps_with_offsets_to_utc(requests_mock, client):
    ticket = make_ticket(
        id=310,
        updated_at="2026-11-26T10:15:00+02:00",
        resolved_at="2026-11-26T07:59:30.250-01:00",
        closed_at=None,
    )
    requests_mock.get(TICKETS_URL, json=make_page(ticket))

    [[parsed]] = fetch(client)

    assert parsed.updated_at == datetime(2026, 11, 26, 8, 15, tzinfo=UTC)
    assert parsed.updated_at.tzinfo is UTC
    assert parsed.resolved_at == datetime(2026, 11, 26, 8, 59, 30, 250000, tzinfo=UTC)
    assert parsed.resolved_at.tzinfo is UTC
    assert parsed.closed_at is None
    assert_calls(requests_mock, client, 1)


@pytest.mark.parametrize("workspace_id", [0, 2])
def test_it_asks_for_the_workspace_when_one_is_set(requests_mock, make_client, workspace_id):
    client = make_client(workspace_id=workspace_id)
    requests_mock.get(TICKETS_URL, **OK)

    fetch(client)

    assert_calls(requests_mock, client, 1)
    assert query_of(requests_mock.last_request.url)["workspace_id"] == [str(workspace_id)]


def test_it_leaves_out_the_workspace_when_none_is_set(requests_mock, client):
    requests_mock.get(TICKETS_URL, **OK)

    fetch(client)

    assert_calls(requests_mock, client, 1)
    assert "workspace_id" not in query_of(requests_mock.last_request.url)


def test_it_sends_updated_since_in_utc_whole_seconds(requests_mock, client):
    requests_mock.get(TICKETS_URL, **OK)
    local = datetime.fromisoformat("2026-11-26T09:00:00.999+01:00")

    list(client.iter_ticket_pages(updated_since=local))

    assert_calls(requests_mock, client, 1)
    assert query_of(requests_mock.last_request.url)["updated_since"] == ["2026-11-26T08:00:00Z"]


def test_it_refuses_a_naive_updated_since(requests_mock, client):
    with pytest.raises(ValueError, match="updated_since must be timezone-aware"):
        list(client.iter_ticket_pages(updated_since=datetime(2026, 11, 26, 8, 0)))

    assert_calls(requests_mock, client, 0)


def test_it_adds_the_missing_trailing_slash_to_the_endpoint(requests_mock, make_client):
    client = make_client(endpoint="https://acme.freshservice.com/api/v2")
    requests_mock.get(TICKETS_URL, **OK)

    fetch(client)

    assert_calls(requests_mock, client, 1)
    assert urlsplit(requests_mock.last_request.url).path == "/api/v2/tickets"
    assert client.endpoint == ENDPOINT


def test_it_authenticates_every_page_with_the_api_key_and_x(requests_mock, client):
    requests_mock.get(TICKETS_URL, **OK, headers=next_link(PAGE_2_URL))
    requests_mock.get(PAGE_2_URL, **OK)

    fetch(client)

    assert_calls(requests_mock, client, 2)
    expected = "Basic " + base64.b64encode(f"{API_KEY}:X".encode()).decode()
    for request in requests_mock.request_history:
        assert request.headers["Authorization"] == expected
        assert request.headers["Accept"] == "application/json"


def test_it_puts_a_timeout_on_every_call(requests_mock, make_client):
    client = make_client(timeout=12, connect_timeout=3)
    requests_mock.get(TICKETS_URL, [{"status_code": 502}, {**OK, "headers": next_link(PAGE_2_URL)}])
    requests_mock.get(PAGE_2_URL, **OK)

    fetch(client)

    assert_calls(requests_mock, client, 3)
    assert [request.timeout for request in requests_mock.request_history] == [(3, 12)] * 3


def test_it_yields_one_empty_page_when_nothing_changed(requests_mock, client):
    requests_mock.get(TICKETS_URL, json={"tickets": []})

    assert fetch(client) == [[]]
    assert_calls(requests_mock, client, 1)


# --- rate limits ------------------------------------------------------------------------------


def test_it_waits_as_long_as_retry_after_says_then_succeeds(requests_mock, client, sleeps):
    requests_mock.get(TICKETS_URL, [{"status_code": 429, "headers": {"Retry-After": "30"}}, OK])

    [[ticket]] = fetch(client)

    assert ticket.id == 301
    assert sleeps == [30]
    assert client.waited_seconds == 30
    assert_calls(requests_mock, client, 2)


@time_machine.travel(datetime(2026, 11, 26, 8, 0, 0, tzinfo=UTC), tick=False)
def test_it_reads_a_retry_after_given_as_an_http_date(requests_mock, client, sleeps):
    retry_after = {"Retry-After": "Thu, 26 Nov 2026 08:00:45 GMT"}
    requests_mock.get(TICKETS_URL, [{"status_code": 429, "headers": retry_after}, OK])

    fetch(client)

    assert sleeps == [45]
    assert client.waited_seconds == 45
    assert_calls(requests_mock, client, 2)


def test_it_fails_at_once_when_retry_after_exceeds_the_wait_budget(requests_mock, client, sleeps):
    requests_mock.get(TICKETS_URL, status_code=429, headers={"Retry-After": "1521"})

    with pytest.raises(FreshworksRateLimitError) as raised:
        fetch(client)

    assert str(raised.value) == (
        "Freshservice's rate limit is exhausted (429 on /api/v2/tickets) and it asked to wait "
        "1521 s, which would exceed the 120 s wait budget (0 s already waited): try again "
        "later, or allow a longer wait (FRESH_MAX_WAIT_SECONDS, or --max-wait for a backfill)."
    )
    assert sleeps == []
    assert client.waited_seconds == 0
    assert_calls(requests_mock, client, 1)


def test_it_counts_every_wait_against_one_budget(requests_mock, make_client, sleeps):
    client = make_client(max_wait=20)
    too_many = {"status_code": 429, "headers": {"Retry-After": "12"}}
    requests_mock.get(TICKETS_URL, [too_many, too_many, OK])

    with pytest.raises(FreshworksRateLimitError, match=r"wait 12 s, .* the 20 s wait budget"):
        fetch(client)

    assert sleeps == [12]
    assert client.waited_seconds == 12
    assert_calls(requests_mock, client, 2)


@pytest.mark.parametrize(
    "headers",
    [{}, {"Retry-After": "0"}, {"Retry-After": "-3"}, {"Retry-After": "soon"}],
    ids=["missing", "zero", "negative", "unparsable"],
)
def test_it_waits_a_short_default_without_a_usable_retry_after(
    requests_mock, client, sleeps, headers
):
    requests_mock.get(TICKETS_URL, [{"status_code": 429, "headers": headers}, OK])

    fetch(client)

    assert sleeps == [5]
    assert client.waited_seconds == 5
    assert_calls(requests_mock, client, 2)


@time_machine.travel(datetime(2026, 11, 26, 8, 0, 0, tzinfo=UTC), tick=False)
def test_it_waits_the_default_when_the_retry_after_date_has_passed(requests_mock, client, sleeps):
    retry_after = {"Retry-After": "Thu, 26 Nov 2026 07:59:00 GMT"}
    requests_mock.get(TICKETS_URL, [{"status_code": 429, "headers": retry_after}, OK])

    fetch(client)

    assert sleeps == [5]
    assert_calls(requests_mock, client, 2)


def test_it_says_when_even_the_default_wait_is_over_budget(requests_mock, make_client, sleeps):
    client = make_client(max_wait=0)
    requests_mock.get(TICKETS_URL, status_code=429)

    with pytest.raises(FreshworksRateLimitError) as raised:
        fetch(client)

    assert "it gave no usable Retry-After (default wait 5 s)" in str(raised.value)
    assert "the 0 s wait budget" in str(raised.value)
    assert sleeps == []
    assert_calls(requests_mock, client, 1)


def test_a_rate_limit_does_not_use_up_the_retry_attempts(requests_mock, client, sleeps):
    requests_mock.get(
        TICKETS_URL,
        [
            {"status_code": 500},
            {"status_code": 429, "headers": {"Retry-After": "30"}},
            {"status_code": 500},
            OK,
        ],
    )

    [[ticket]] = fetch(client)

    assert ticket.id == 301
    assert sleeps == [1, 30, 2]
    assert client.waited_seconds == 30
    assert_calls(requests_mock, client, 4)


# --- transient failures -----------------------------------------------------------------------


def test_it_retries_a_503_then_succeeds(requests_mock, client, sleeps):
    requests_mock.get(TICKETS_URL, [{"status_code": 503}, OK])

    [[ticket]] = fetch(client)

    assert ticket.id == 301
    assert sleeps == [1]
    assert client.waited_seconds == 0
    assert_calls(requests_mock, client, 2)


@pytest.mark.parametrize(
    "timeout", [requests.exceptions.ReadTimeout, requests.exceptions.ConnectTimeout]
)
def test_it_retries_a_timeout_then_succeeds(requests_mock, client, sleeps, timeout):
    requests_mock.get(TICKETS_URL, [{"exc": timeout}, OK])

    [[ticket]] = fetch(client)

    assert ticket.id == 301
    assert sleeps == [1]
    assert_calls(requests_mock, client, 2)


def test_it_gives_up_after_three_server_errors(requests_mock, client, sleeps):
    requests_mock.get(TICKETS_URL, status_code=500)

    with pytest.raises(FreshworksServerError) as raised:
        fetch(client)

    assert str(raised.value) == (
        "Freshservice kept failing on /api/v2/tickets with HTTP 500 (3 attempts): it is having "
        "trouble, try again later."
    )
    assert sleeps == [1, 2]
    assert_calls(requests_mock, client, 3)


def test_it_gives_up_after_three_read_timeouts(requests_mock, client, sleeps):
    requests_mock.get(TICKETS_URL, exc=requests.exceptions.ReadTimeout)

    with pytest.raises(FreshworksConnectionError) as raised:
        fetch(client)

    assert str(raised.value) == (
        "Freshservice did not answer /api/v2/tickets within 30 s (3 attempts): try again later, "
        "or raise FRESH_TIMEOUT_SECONDS."
    )
    assert sleeps == [1, 2]
    assert_calls(requests_mock, client, 3)


def test_it_gives_up_after_three_connect_timeouts(requests_mock, client, sleeps):
    requests_mock.get(TICKETS_URL, exc=requests.exceptions.ConnectTimeout)

    with pytest.raises(FreshworksConnectionError) as raised:
        fetch(client)

    assert str(raised.value) == (
        "Could not connect to Freshservice for /api/v2/tickets within 5 s (3 attempts): check "
        "FRESH_ENDPOINT and the network, or try later."
    )
    assert sleeps == [1, 2]
    assert_calls(requests_mock, client, 3)


def test_it_gives_up_after_three_connection_errors(requests_mock, client, sleeps):
    requests_mock.get(TICKETS_URL, exc=requests.exceptions.ConnectionError("Name or service"))

    with pytest.raises(FreshworksConnectionError) as raised:
        fetch(client)

    assert str(raised.value) == (
        "Could not reach Freshservice at acme.freshservice.com for /api/v2/tickets (3 attempts, "
        "ConnectionError): check FRESH_ENDPOINT and the network."
    )
    assert sleeps == [1, 2]
    assert_calls(requests_mock, client, 3)


# --- errors that are not retried --------------------------------------------------------------


def test_it_reports_a_rejected_api_key(requests_mock, client, sleeps):
    requests_mock.get(
        TICKETS_URL,
        status_code=401,
        json={"code": "invalid_credentials", "message": "You have to be logged in"},
    )

    with pytest.raises(FreshworksAuthError) as raised:
        fetch(client)

    assert str(raised.value) == (
        "Freshservice rejected the API key (401): check FRESH_API is the current key from the "
        "agent's Profile settings. Freshservice says: You have to be logged in"
    )
    assert sleeps == []
    assert_calls(requests_mock, client, 1)


def test_it_reports_a_role_without_permission_to_view_tickets(requests_mock, client):
    requests_mock.get(TICKETS_URL, status_code=403, text="")

    with pytest.raises(FreshworksAuthError) as raised:
        fetch(client)

    assert str(raised.value) == (
        "Freshservice refused access (403): the agent whose key is in FRESH_API has a role "
        "without permission to view tickets; give it one that can."
    )
    assert_calls(requests_mock, client, 1)


def test_it_reports_a_wrong_endpoint_on_404(requests_mock, client):
    requests_mock.get(TICKETS_URL, status_code=404, text="<html>Not Found</html>")

    with pytest.raises(FreshworksNotFoundError) as raised:
        fetch(client)

    assert str(raised.value) == (
        "Freshservice has no /api/v2/tickets (404): check FRESH_ENDPOINT, "
        "e.g. https://acme.freshservice.com/api/v2/"
    )
    assert_calls(requests_mock, client, 1)


def test_it_passes_on_freshservices_explanation_of_a_400(requests_mock, make_client, sleeps):
    client = make_client(workspace_id=-1)
    requests_mock.get(TICKETS_URL, status_code=400, json=load_page("error-400"))

    with pytest.raises(FreshworksResponseError) as raised:
        fetch(client)

    assert str(raised.value) == (
        "Freshservice refused /api/v2/tickets with HTTP 400. Freshservice says: Validation "
        "failed; workspace_id: It should be a/an Positive Integer"
    )
    assert sleeps == []
    assert_calls(requests_mock, client, 1)


def test_it_keeps_a_long_error_body_to_one_short_line(requests_mock, client):
    requests_mock.get(TICKETS_URL, status_code=409, text="conflict\n" + "x" * 1000)

    with pytest.raises(FreshworksResponseError) as raised:
        fetch(client)

    message = str(raised.value)
    assert message.startswith("Freshservice refused /api/v2/tickets with HTTP 409. ")
    assert "Freshservice says: conflict xxx" in message
    assert "\n" not in message
    assert len(message) < 300
    assert_calls(requests_mock, client, 1)


def test_it_does_not_follow_a_redirect(requests_mock, client):
    elsewhere = requests_mock.get("https://login.example.com/", text="login")
    requests_mock.get(
        TICKETS_URL, status_code=302, headers={"Location": "https://login.example.com/"}
    )

    with pytest.raises(FreshworksResponseError) as raised:
        fetch(client)

    assert str(raised.value) == (
        "Freshservice redirected /api/v2/tickets to login.example.com (HTTP 302), which is not "
        "followed with the API key: set FRESH_ENDPOINT to the API address, "
        "e.g. https://acme.freshservice.com/api/v2/"
    )
    assert not elsewhere.called
    assert_calls(requests_mock, client, 1)


# --- answers that cannot be used --------------------------------------------------------------


def test_it_reports_an_answer_that_is_not_json(requests_mock, client):
    requests_mock.get(
        TICKETS_URL, text="<html>Sign in</html>", headers={"Content-Type": "text/html"}
    )

    with pytest.raises(FreshworksResponseError) as raised:
        fetch(client)

    assert str(raised.value) == (
        "Freshservice answered /api/v2/tickets with something that is not JSON (text/html): "
        "check FRESH_ENDPOINT is the API address, e.g. https://acme.freshservice.com/api/v2/"
    )
    assert_calls(requests_mock, client, 1)


@pytest.mark.parametrize(
    "body",
    [{"ticket": {"id": 301}}, [], {"tickets": None}, {"tickets": {"id": 301}}],
    ids=["single-ticket", "list", "null", "object"],
)
def test_it_reports_an_answer_without_a_list_of_tickets(requests_mock, client, body):
    requests_mock.get(TICKETS_URL, json=body)

    with pytest.raises(FreshworksResponseError) as raised:
        fetch(client)

    assert str(raised.value) == (
        "Freshservice answered /api/v2/tickets without a list of tickets: check FRESH_ENDPOINT "
        "is the API address, e.g. https://acme.freshservice.com/api/v2/"
    )
    assert_calls(requests_mock, client, 1)


@pytest.mark.parametrize("stats", ["missing", None, []], ids=["missing", "null", "list"])
def test_it_refuses_a_ticket_without_stats(requests_mock, client, stats):
    ticket = make_ticket(id=302, with_stats=stats != "missing")
    if stats != "missing":
        ticket["stats"] = stats
    requests_mock.get(TICKETS_URL, json=make_page(make_ticket(id=301), ticket))

    with pytest.raises(FreshworksResponseError) as raised:
        fetch(client)

    assert str(raised.value) == (
        "Freshservice sent ticket 302 without its stats although include=stats was asked, so "
        "its closing time is unknown; try again later."
    )
    assert_calls(requests_mock, client, 1)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("id", None, "ticket number 1 of a page without a numeric id (got None)"),
        ("id", "301", "ticket number 1 of a page without a numeric id (got '301')"),
        ("id", True, "ticket number 1 of a page without a numeric id (got True)"),
        ("status", None, "ticket 301 with an unreadable status (None)"),
        ("group_id", "ops", "ticket 301 with an unreadable group_id ('ops')"),
        ("responder_id", 1.5, "ticket 301 with an unreadable responder_id (1.5)"),
        ("updated_at", "yesterday", "ticket 301 with an unreadable updated_at ('yesterday')"),
        ("updated_at", None, "ticket 301 with an unreadable updated_at (None)"),
    ],
)
def test_it_refuses_a_ticket_with_an_unreadable_field(requests_mock, client, field, value, message):
    ticket = make_ticket(id=301)
    ticket[field] = value
    requests_mock.get(TICKETS_URL, json=make_page(ticket))

    with pytest.raises(FreshworksResponseError) as raised:
        fetch(client)

    assert str(raised.value) == f"Freshservice sent {message}; try again later."
    assert_calls(requests_mock, client, 1)


def test_it_refuses_an_unreadable_closing_time(requests_mock, client):
    ticket = make_ticket(id=301)
    ticket["stats"]["closed_at"] = "26/11/2026 09:41"
    requests_mock.get(TICKETS_URL, json=make_page(ticket))

    with pytest.raises(FreshworksResponseError) as raised:
        fetch(client)

    assert str(raised.value) == (
        "Freshservice sent ticket 301 with an unreadable closed_at ('26/11/2026 09:41'); "
        "try again later."
    )
    assert_calls(requests_mock, client, 1)


@pytest.mark.parametrize(
    ("link", "host"),
    [
        ("https://evil.example.com/api/v2/tickets?page=2", "evil.example.com"),
        ("http://acme.freshservice.com/api/v2/tickets?page=2", "acme.freshservice.com"),
        ("https://acme.freshservice.com:8443/api/v2/tickets?page=2", "acme.freshservice.com"),
    ],
    ids=["other-host", "other-scheme", "other-port"],
)
def test_it_refuses_a_next_link_to_another_host(requests_mock, client, link, host):
    elsewhere = requests_mock.get(link, json={"tickets": []})
    requests_mock.get(TICKETS_URL, **OK, headers=next_link(link))

    with pytest.raises(FreshworksResponseError) as raised:
        fetch(client)

    assert str(raised.value) == (
        f"Freshservice's next-page link points at {host}, not at FRESH_ENDPOINT's "
        "https://acme.freshservice.com; refused so the API key never leaves for another host. "
        "Check FRESH_ENDPOINT is the account's own address."
    )
    assert not elsewhere.called
    assert_calls(requests_mock, client, 1)


def test_it_follows_a_relative_next_link_on_the_same_host(requests_mock, client):
    requests_mock.get(TICKETS_URL, **OK, headers=next_link(f"/api/v2/tickets?{FIRST_QUERY}&page=2"))
    requests_mock.get(PAGE_2_URL, json=make_page(make_ticket(id=302)))

    pages = fetch(client)

    assert [[ticket.id for ticket in page] for page in pages] == [[301], [302]]
    assert_calls(requests_mock, client, 2)


def test_it_refuses_a_next_link_it_has_already_followed(requests_mock, client):
    requests_mock.get(TICKETS_URL, **OK, headers=next_link(PAGE_2_URL))
    requests_mock.get(PAGE_2_URL, **OK, headers=next_link(FIRST_URL))

    with pytest.raises(FreshworksResponseError) as raised:
        fetch(client)

    assert str(raised.value) == (
        "Freshservice's next-page link goes back to a page already read "
        f"(/api/v2/tickets?{FIRST_QUERY}); stopped to avoid a loop. Try again later."
    )
    assert_calls(requests_mock, client, 2)


# --- the closure rule -------------------------------------------------------------------------

UPDATED = datetime(2026, 11, 26, 9, 41, 27, tzinfo=UTC)
RESOLVED = datetime(2026, 11, 26, 9, 30, 5, tzinfo=UTC)
CLOSED = datetime(2026, 11, 26, 9, 35, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("resolved_at", "closed_at", "expected"),
    [
        (RESOLVED, CLOSED, RESOLVED),
        (RESOLVED, None, RESOLVED),
        (None, CLOSED, CLOSED),
        (None, None, UPDATED),
    ],
    ids=["resolved-and-closed", "resolved-only", "closed-only", "neither"],
)
def test_closure_time_is_resolved_else_closed_else_updated(resolved_at, closed_at, expected):
    ticket = Ticket(
        id=301,
        group_id=18000294963,
        responder_id=1001,
        status=5,
        updated_at=UPDATED,
        resolved_at=resolved_at,
        closed_at=closed_at,
    )

    assert ticket.closure_time == expected


# --- configuration and secrecy ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"api_key": ""}, "FRESH_API is empty"),
        ({"api_key": "   "}, "FRESH_API is empty"),
        ({"endpoint": ""}, "FRESH_ENDPOINT is empty"),
        ({"endpoint": "acme.freshservice.com/api/v2/"}, "FRESH_ENDPOINT is not an http"),
        ({"timeout": 0}, "FRESH_TIMEOUT_SECONDS must be a positive number"),
        ({"max_wait": -1}, "FRESH_MAX_WAIT_SECONDS must be 0 or more"),
    ],
)
def test_it_refuses_unusable_settings(make_client, overrides, message):
    with pytest.raises(FreshworksConfigError, match=message):
        make_client(**overrides)


def test_its_repr_hides_the_api_key(client):
    assert repr(client) == (
        "FreshserviceClient(endpoint='https://acme.freshservice.com/api/v2/', "
        "workspace_id=None, api_key='***')"
    )


@pytest.mark.parametrize(
    "responses",
    [
        [{"status_code": 401, "json": {"description": f"Unknown key {API_KEY}"}}],
        [{"status_code": 400, "text": f"bad request for {API_KEY}"}],
        [{"status_code": 503}] * 3,
        [{"exc": requests.exceptions.ConnectionError(f"refused for {API_KEY}")}] * 3,
        [{"exc": requests.exceptions.InvalidURL(f"bad url {API_KEY}")}],
        [{"status_code": 429, "headers": {"Retry-After": "60"}}] * 3,
        [{**OK, "headers": next_link(f"https://evil.example.com/?key={API_KEY}")}],
    ],
    ids=["401-echo", "400-echo", "5xx", "connection", "invalid-url", "429", "foreign-link"],
)
def test_the_api_key_appears_in_no_error_log_or_repr(
    requests_mock, client, freshworks_log, responses
):
    requests_mock.get(TICKETS_URL, responses)

    with pytest.raises(FreshworksError) as raised:
        fetch(client)

    basic = base64.b64encode(f"{API_KEY}:X".encode()).decode()
    for text in (str(raised.value), repr(raised.value), freshworks_log.text, repr(client)):
        assert API_KEY not in text
        assert basic not in text
    assert "\n" not in str(raised.value)
    assert all("\n" not in record.getMessage() for record in freshworks_log.records)
    assert raised.value.__cause__ is None
    assert client.api_calls == requests_mock.call_count == len(responses)


def test_it_logs_one_line_per_retry_and_wait(requests_mock, client, freshworks_log):
    requests_mock.get(
        TICKETS_URL,
        [
            {"status_code": 502},
            {"status_code": 429, "headers": {"Retry-After": "7"}},
            {"exc": requests.exceptions.ReadTimeout},
            OK,
        ],
    )

    fetch(client)

    assert [(record.levelname, record.getMessage()) for record in freshworks_log.records] == [
        (
            "WARNING",
            "Freshservice /api/v2/tickets answered HTTP 502 (attempt 1 of 3); retrying in 1 s",
        ),
        (
            "WARNING",
            "Freshservice rate limit hit (429 on /api/v2/tickets); waiting 7 s as asked "
            "(7 of 120 s used)",
        ),
        (
            "WARNING",
            "Freshservice /api/v2/tickets failed (ReadTimeout) (attempt 2 of 3); retrying in 2 s",
        ),
    ]
    assert_calls(requests_mock, client, 4)
