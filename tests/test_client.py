"""The Freshservice client at the HTTP layer: paging, retries, waits, typed errors, secrecy.

Also the group, the agents, the shared rate budget and its credits (SPEC §14).
"""

from __future__ import annotations

import base64
import json
import logging
import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import time_machine

from freshworks.client import (
    Agent,
    FreshserviceClient,
    FreshworksAuthError,
    FreshworksConfigError,
    FreshworksConnectionError,
    FreshworksError,
    FreshworksGroupNotFoundError,
    FreshworksKeyRejectedError,
    FreshworksNotFoundError,
    FreshworksPermissionError,
    FreshworksRateLimitError,
    FreshworksResponseError,
    FreshworksServerError,
    Group,
    Ticket,
)
from tests.freshservice_data import (
    budget,
    load_page,
    make_agent,
    make_agent_page,
    make_group,
    make_page,
    make_ticket,
    make_ticket_view,
    next_link,
)

API_KEY = "sk-test-SECRET-api-key-0123456789"
ENDPOINT = "https://acme.freshservice.com/api/v2/"
TICKETS_URL = ENDPOINT + "tickets"
SINCE = datetime(2026, 11, 26, 8, 0, tzinfo=UTC)
FIRST_QUERY = "updated_since=2026-11-26T08%3A00%3A00Z&include=stats&per_page=100"
FIRST_URL = f"{TICKETS_URL}?{FIRST_QUERY}"
PAGE_2_URL = f"{FIRST_URL}&page=2"
PAGE_3_URL = f"{FIRST_URL}&page=3"
AGENTS_URL = ENDPOINT + "agents"
GROUP_ID = 18000294963
GROUP_URL = f"{ENDPOINT}groups/{GROUP_ID}"

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


def vendor_link(page: int, url: str = TICKETS_URL) -> dict[str, str]:
    """A next-page link as the vendor documents it: the page alone, the caller's filters gone."""
    return next_link(f"{url}?filter=all_tickets&page={page}")


def ticket_query(page: int, **extra: str) -> dict[str, list[str]]:
    """The exact query of one ticket page asked for by `fetch`."""
    query = {
        "updated_since": "2026-11-26T08:00:00Z",
        "include": "stats",
        "per_page": "100",
        "page": str(page),
    } | extra
    return {key: [value] for key, value in query.items()}


def test_it_asks_for_each_page_itself_when_the_links_carry_only_the_page(requests_mock, client):
    requests_mock.get(
        TICKETS_URL,
        [
            {"json": load_page("tickets-page-1"), "headers": vendor_link(2)},
            {"json": load_page("tickets-page-2"), "headers": vendor_link(3)},
            {"json": load_page("tickets-page-3")},
        ],
    )

    pages = fetch(client)

    assert [[ticket.id for ticket in page] for page in pages] == [[301, 302], [303, 304], [305]]
    assert_calls(requests_mock, client, 3)
    assert [query_of(request.url) for request in requests_mock.request_history] == [
        ticket_query(1),
        ticket_query(2),
        ticket_query(3),
    ]
    assert {urlsplit(r.url).path for r in requests_mock.request_history} == {"/api/v2/tickets"}
    assert client.waited_seconds == 0


def test_every_page_carries_the_workspace_given_for_the_call(requests_mock, make_client):
    client = make_client(workspace_id=2)
    requests_mock.get(
        TICKETS_URL,
        [
            {"json": load_page("tickets-page-1"), "headers": vendor_link(2)},
            {"json": load_page("tickets-page-2"), "headers": vendor_link(3)},
            {"json": load_page("tickets-page-3")},
        ],
    )

    pages = list(client.iter_ticket_pages(updated_since=SINCE, workspace_id=5))

    assert [len(page) for page in pages] == [2, 2, 1]
    assert_calls(requests_mock, client, 3)
    assert [query_of(request.url) for request in requests_mock.request_history] == [
        ticket_query(1, workspace_id="5"),
        ticket_query(2, workspace_id="5"),
        ticket_query(3, workspace_id="5"),
    ]


def test_a_page_without_stats_fails_the_fetch_after_the_pages_before_it(requests_mock, client):
    no_stats = make_page(make_ticket(id=303), make_ticket(id=304, with_stats=False))
    requests_mock.get(
        TICKETS_URL,
        [
            {"json": load_page("tickets-page-1"), "headers": vendor_link(2)},
            {"json": no_stats, "headers": vendor_link(3)},
            {"json": load_page("tickets-page-3")},
        ],
    )
    pages = client.iter_ticket_pages(updated_since=SINCE)

    assert [ticket.id for ticket in next(pages)] == [301, 302]
    with pytest.raises(FreshworksResponseError) as raised:
        next(pages)

    assert str(raised.value) == (
        "Freshservice sent ticket 304 without its stats although include=stats was asked, so "
        "its closing time is unknown; try again later."
    )
    assert_calls(requests_mock, client, 2)


def test_it_parses_tickets_into_utc_values(requests_mock, client):
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
            created_at=datetime(2026, 11, 26, 8, 20, tzinfo=UTC),
        ),
        Ticket(
            id=304,
            group_id=18000294964,
            responder_id=1003,
            status=5,
            updated_at=datetime(2026, 11, 26, 8, 31, 55, tzinfo=UTC),
            resolved_at=datetime(2026, 11, 26, 8, 30, tzinfo=UTC),
            closed_at=datetime(2026, 11, 26, 8, 31, 55, tzinfo=UTC),
            created_at=datetime(2026, 11, 25, 16, 0, tzinfo=UTC),
        ),
    ]
    assert_calls(requests_mock, client, 1)


@pytest.mark.parametrize(
    ("environment", "proxies", "verify"),
    [
        ({}, {}, True),
        ({"HTTPS_PROXY": "http://proxy.corp:3128"}, {"https": "http://proxy.corp:3128"}, True),
        (
            {"HTTPS_PROXY": "http://proxy.corp:3128", "NO_PROXY": "freshservice.com"},
            {},
            True,
        ),
        ({"REQUESTS_CA_BUNDLE": "/etc/ssl/corp.pem"}, {}, "/etc/ssl/corp.pem"),
    ],
    ids=["none", "proxy", "no-proxy", "ca-bundle"],
)
def test_it_honours_the_environments_proxy_and_ca_bundle(
    requests_mock, make_client, monkeypatch, environment, proxies, verify
):
    for name in ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy", "NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    for name in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
        monkeypatch.delenv(name, raising=False)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    requests_mock.get(TICKETS_URL, **OK)

    fetch(make_client())

    # Read once when the client is made, not again for every request (as requests would).
    assert (requests_mock.last_request.proxies, requests_mock.last_request.verify) == (
        proxies,
        verify,
    )


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
    naive = datetime(2026, 11, 26, 8, 0)  # noqa: DTZ001 - the mistake under test
    with pytest.raises(ValueError, match="updated_since must be timezone-aware"):
        list(client.iter_ticket_pages(updated_since=naive))

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

    with pytest.raises(FreshworksKeyRejectedError) as raised:
        fetch(client)

    assert str(raised.value) == (
        "Freshservice rejected the API key (401): check FRESH_API is the current key from the "
        "agent's Profile settings. Freshservice says: You have to be logged in"
    )
    assert sleeps == []
    assert_calls(requests_mock, client, 1)


def test_it_reports_a_role_without_permission_to_view_tickets(requests_mock, client):
    requests_mock.get(TICKETS_URL, status_code=403, text="")

    with pytest.raises(FreshworksPermissionError) as raised:
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


def test_an_answer_in_another_encoding_is_read_in_the_encoding_it_declares(requests_mock, client):
    # Pages are decoded the fast way (orjson) only when they are UTF-8, as Freshservice sends.
    # The bytes C3 A9 are "é" in UTF-8 and "Ã©" in ISO-8859-1: the declared encoding decides.
    latin = make_agent(id=21000000001, first_name="AndrÃ©")
    requests_mock.get(
        f"{AGENTS_URL}?active=true",
        content=json.dumps(make_agent_page(latin), ensure_ascii=False).encode("latin-1"),
        headers={"Content-Type": "application/json; charset=ISO-8859-1"},
    )
    requests_mock.get(f"{AGENTS_URL}?active=false", json=make_agent_page())

    agents = client.list_agents()

    assert [agent.first_name for agent in agents] == ["AndrÃ©"]


def test_a_number_that_is_not_a_number_is_an_unreadable_field_not_an_unreadable_page(
    requests_mock, client
):
    # NaN is not JSON, but Python's decoder reads it (the fast one refuses it); either way the
    # ticket's field is named.
    page = json.dumps(make_page(make_ticket(id=301, status=4))).replace(
        '"status": 4', '"status": NaN'
    )
    requests_mock.get(TICKETS_URL, text=page)

    with pytest.raises(FreshworksResponseError) as raised:
        fetch(client)

    assert str(raised.value) == (
        "Freshservice sent ticket 301 with an unreadable status (nan); try again later."
    )


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
        # Past 64 bits no id fits the database; the decoder reads such a number as a float.
        (
            "responder_id",
            2**64,
            "ticket 301 with an unreadable responder_id (1.8446744073709552e+19)",
        ),
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
    ("link", "origin"),
    [
        ("https://evil.example.com/api/v2/tickets?page=2", "https://evil.example.com:443"),
        ("http://acme.freshservice.com/api/v2/tickets?page=2", "http://acme.freshservice.com:80"),
        (
            "https://acme.freshservice.com:8443/api/v2/tickets?page=2",
            "https://acme.freshservice.com:8443",
        ),
    ],
    ids=["other-host", "other-scheme", "other-port"],
)
def test_it_refuses_a_next_link_to_another_origin_and_names_it(requests_mock, client, link, origin):
    elsewhere = requests_mock.get(link, json={"tickets": []})
    requests_mock.get(TICKETS_URL, **OK, headers=next_link(link))

    with pytest.raises(FreshworksResponseError) as raised:
        fetch(client)

    assert str(raised.value) == (
        f"Freshservice's next-page link points at {origin}, not at FRESH_ENDPOINT's "
        "https://acme.freshservice.com:443; refused so the API key never leaves for another "
        "host. Check FRESH_ENDPOINT is the account's own address."
    )
    assert not elsewhere.called
    assert_calls(requests_mock, client, 1)


def test_it_refuses_a_next_link_it_cannot_read(requests_mock, client):
    requests_mock.get(TICKETS_URL, **OK, headers=next_link("ftp://acme.freshservice.com/page2"))

    with pytest.raises(FreshworksResponseError, match="link points at an unreadable address, "):
        fetch(client)

    assert_calls(requests_mock, client, 1)


def test_a_relative_next_link_only_says_that_another_page_follows(requests_mock, client):
    requests_mock.get(
        TICKETS_URL,
        [
            {**OK, "headers": next_link("/api/v2/tickets?filter=all_tickets&page=2")},
            {"json": make_page(make_ticket(id=302))},
        ],
    )

    pages = fetch(client)

    assert [[ticket.id for ticket in page] for page in pages] == [[301], [302]]
    assert_calls(requests_mock, client, 2)
    assert query_of(requests_mock.last_request.url) == ticket_query(2)


def test_it_stops_when_an_empty_page_still_says_more_follow(requests_mock, client):
    requests_mock.get(
        TICKETS_URL,
        [{**OK, "headers": vendor_link(2)}, {"json": {"tickets": []}, "headers": vendor_link(3)}],
    )

    with pytest.raises(FreshworksResponseError) as raised:
        fetch(client)

    assert str(raised.value) == (
        "Freshservice's page 2 of /api/v2/tickets was empty yet its link says more follow; "
        "stopped to avoid an endless loop. Try again later."
    )
    assert_calls(requests_mock, client, 2)


def test_it_stops_when_a_page_repeats_the_one_before_and_says_more_follow(requests_mock, client):
    requests_mock.get(TICKETS_URL, **OK, headers=vendor_link(2))

    with pytest.raises(FreshworksResponseError) as raised:
        fetch(client)

    assert str(raised.value) == (
        "Freshservice's page 2 of /api/v2/tickets repeated page 1 yet its link says more "
        "follow; stopped to avoid an endless loop. Try again later."
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
        ({"budget_reserve": -0.1}, "FRESH_BUDGET_RESERVE must be a fraction from 0 up to"),
        ({"budget_reserve": 1}, "FRESH_BUDGET_RESERVE must be a fraction from 0 up to"),
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


# --- the group --------------------------------------------------------------------------------


def test_it_reads_the_group_with_its_name_and_workspace(requests_mock, client):
    requests_mock.get(GROUP_URL, json=make_group(name="Service Desk", workspace_id=5))

    group = client.get_group(GROUP_ID)

    assert group == Group(id=GROUP_ID, name="Service Desk", workspace_id=5)
    assert_calls(requests_mock, client, 1)
    assert requests_mock.last_request.url == GROUP_URL
    assert client.credits == 1


def test_a_group_without_a_workspace_has_none(requests_mock, client):
    requests_mock.get(GROUP_URL, json=make_group(workspace_id=None))

    assert client.get_group(GROUP_ID).workspace_id is None


def test_an_unknown_group_names_fresh_group_id(requests_mock, client, sleeps):
    requests_mock.get(GROUP_URL, status_code=404, text="")

    with pytest.raises(FreshworksGroupNotFoundError) as raised:
        client.get_group(GROUP_ID)

    assert isinstance(raised.value, FreshworksNotFoundError)
    assert str(raised.value) == (
        "Freshservice has no agent group 18000294963 (404 on /api/v2/groups/18000294963): check "
        "FRESH_GROUP_ID is the id of your team's agent group in this account."
    )
    assert raised.value.__cause__ is None
    assert sleeps == []
    assert_calls(requests_mock, client, 1)


def test_a_role_that_may_not_view_groups_is_told_so(requests_mock, client):
    requests_mock.get(GROUP_URL, status_code=403, text="")

    with pytest.raises(FreshworksAuthError) as raised:
        client.get_group(GROUP_ID)

    assert str(raised.value) == (
        "Freshservice refused access (403): the agent whose key is in FRESH_API has a role "
        "without permission to view agents and agent groups; give it one that can."
    )


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"groups": []}, "Freshservice answered /api/v2/groups/18000294963 without a group: "),
        ({"group": {"id": GROUP_ID, "name": None}}, "group 18000294963 with an unreadable name"),
        ({"group": {"id": "x", "name": "Desk"}}, "group 18000294963 with an unreadable id ('x')"),
        (
            {"group": {"id": GROUP_ID, "name": "Desk", "workspace_id": "two"}},
            "group 18000294963 with an unreadable workspace_id ('two')",
        ),
    ],
    ids=["no-group", "no-name", "bad-id", "bad-workspace"],
)
def test_it_refuses_a_group_answer_it_cannot_read(requests_mock, client, body, message):
    requests_mock.get(GROUP_URL, json=body)

    with pytest.raises(FreshworksResponseError, match=re.escape(message)):
        client.get_group(GROUP_ID)


# --- the agents -------------------------------------------------------------------------------


def agent_query(active: str, page: int) -> dict[str, list[str]]:
    return {"active": [active], "per_page": ["100"], "page": [str(page)]}


def test_it_lists_250_agents_over_three_pages_inactive_ones_included(requests_mock, client):
    active = [make_agent(id=21000000000 + n, first_name=f"Agent{n}") for n in range(200)]
    inactive = [
        make_agent(id=21000000200 + n, first_name=f"Gone{n}", active=False) for n in range(50)
    ]
    requests_mock.get(
        f"{AGENTS_URL}?active=true",
        [
            {"json": make_agent_page(*active[:100]), "headers": vendor_link(2, AGENTS_URL)},
            {"json": make_agent_page(*active[100:])},
        ],
    )
    requests_mock.get(f"{AGENTS_URL}?active=false", json=make_agent_page(*inactive))

    agents = client.list_agents()

    assert len(agents) == 250
    assert [agent.id for agent in agents] == [21000000000 + n for n in range(250)]
    assert sum(not agent.active for agent in agents) == 50
    assert agents[0] == Agent(
        id=21000000000,
        first_name="Agent0",
        last_name="Quinn",
        email="freya.quinn@example.com",
        active=True,
    )
    assert agents[-1].first_name == "Gone49"
    assert not agents[-1].active
    assert_calls(requests_mock, client, 3)
    assert [query_of(request.url) for request in requests_mock.request_history] == [
        agent_query("true", 1),
        agent_query("true", 2),
        agent_query("false", 1),
    ]
    assert client.credits == 3


def test_it_reads_agents_without_last_name_or_email(requests_mock, client):
    nameless = make_agent(id=2, first_name=" Temp ", last_name=None, email=None)
    del nameless["active"]  # then the listing it came from says
    requests_mock.get(f"{AGENTS_URL}?active=true", json=make_agent_page(nameless))
    requests_mock.get(f"{AGENTS_URL}?active=false", json=make_agent_page())

    assert client.list_agents() == [
        Agent(id=2, first_name="Temp", last_name="", email=None, active=True)
    ]


def test_an_agent_in_both_listings_is_listed_once(requests_mock, client):
    requests_mock.get(f"{AGENTS_URL}?active=true", json=make_agent_page(make_agent(id=1)))
    requests_mock.get(
        f"{AGENTS_URL}?active=false",
        json=make_agent_page(make_agent(id=1, active=False), make_agent(id=2, active=False)),
    )

    assert [(agent.id, agent.active) for agent in client.list_agents()] == [(1, True), (2, False)]


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("id", None, "agent number 1 of a page without a numeric id (got None)"),
        ("active", "yes", "agent 7 with an unreadable active ('yes')"),
        ("email", 42, "agent 7 with an unreadable email (42)"),
        ("first_name", ["Freya"], "agent 7 with an unreadable first_name (['Freya'])"),
    ],
)
def test_it_refuses_an_agent_with_an_unreadable_field(requests_mock, client, field, value, message):
    agent = make_agent(id=7)
    agent[field] = value
    requests_mock.get(f"{AGENTS_URL}?active=true", json=make_agent_page(agent))

    with pytest.raises(FreshworksResponseError) as raised:
        client.list_agents()

    assert str(raised.value) == f"Freshservice sent {message}; try again later."


def test_it_reports_an_agents_answer_without_a_list_of_agents(requests_mock, client):
    requests_mock.get(AGENTS_URL, json={"agent": {}})

    with pytest.raises(FreshworksResponseError) as raised:
        client.list_agents()

    assert str(raised.value) == (
        "Freshservice answered /api/v2/agents without a list of agents: check FRESH_ENDPOINT is "
        "the API address, e.g. https://acme.freshservice.com/api/v2/"
    )


def test_the_agents_list_refuses_a_link_to_another_origin(requests_mock, client):
    requests_mock.get(
        AGENTS_URL,
        json=make_agent_page(make_agent(id=1)),
        headers=next_link("https://evil.example.com:8443/api/v2/agents?page=2"),
    )

    with pytest.raises(
        FreshworksResponseError, match=re.escape("points at https://evil.example.com:8443, ")
    ):
        client.list_agents()

    assert_calls(requests_mock, client, 1)


# --- the shared rate budget -------------------------------------------------------------------

# 42.4 s into the minute: the next minute starts 17.6 s later, waited as 18 s.
CLOCK = datetime(2026, 11, 26, 8, 0, 42, 400000, tzinfo=UTC)


@pytest.fixture
def waits() -> list[tuple[float, str]]:
    """Every wait reported to on_wait, in order."""
    return []


@pytest.fixture
def budgeted(make_client: MakeClient, waits: list[tuple[float, str]]) -> FreshserviceClient:
    """A client with the default 20 % reserve, a fixed clock and an on_wait that records."""
    return make_client(clock=lambda: CLOCK, on_wait=lambda s, reason: waits.append((s, reason)))


def test_it_exposes_the_last_rate_limit_headers_seen(requests_mock, budgeted):
    assert (budgeted.rate_limit_total, budgeted.rate_limit_remaining) == (None, None)
    requests_mock.get(
        TICKETS_URL,
        [
            {**OK, "headers": vendor_link(2) | budget(total=200, remaining=197, used=3)},
            {"json": make_page(make_ticket(id=302)), "headers": budget(total=200, remaining=194)},
        ],
    )

    fetch(budgeted)

    assert (budgeted.rate_limit_total, budgeted.rate_limit_remaining) == (200, 194)


def test_a_budget_below_the_reserve_waits_for_the_next_minute(
    requests_mock, budgeted, sleeps, waits
):
    requests_mock.get(
        TICKETS_URL,
        [
            {**OK, "headers": vendor_link(2) | budget(total=100, remaining=19, used=3)},
            {
                "json": make_page(make_ticket(id=302)),
                "headers": vendor_link(3) | budget(total=100, remaining=97, used=3),
            },
            {"json": make_page(make_ticket(id=303)), "headers": budget(total=100, remaining=5)},
        ],
    )

    pages = fetch(budgeted)

    assert [[ticket.id for ticket in page] for page in pages] == [[301], [302], [303]]
    # One wait, before page 2; none before page 3; none after the last page either.
    assert sleeps == [18]
    assert waits == [(18, "Freshservice budget low (19 of 100 credits left, 20 kept in reserve)")]
    assert budgeted.waited_seconds == 18
    assert_calls(requests_mock, budgeted, 3)


def test_a_budget_at_the_reserve_does_not_wait(requests_mock, budgeted, sleeps):
    requests_mock.get(
        TICKETS_URL,
        [
            {**OK, "headers": vendor_link(2) | budget(total=140, remaining=28)},
            {"json": make_page(make_ticket(id=302))},
        ],
    )

    fetch(budgeted)

    assert sleeps == []


def test_a_reserve_of_zero_never_waits(requests_mock, make_client, sleeps):
    client = make_client(budget_reserve=0, clock=lambda: CLOCK)
    requests_mock.get(
        TICKETS_URL,
        [
            {**OK, "headers": vendor_link(2) | budget(total=100, remaining=0)},
            {"json": make_page(make_ticket(id=302))},
        ],
    )

    fetch(client)

    assert sleeps == []
    assert_calls(requests_mock, client, 2)


def test_the_reserve_applies_to_every_call_of_the_client(requests_mock, budgeted, sleeps):
    requests_mock.get(GROUP_URL, json=make_group(), headers=budget(total=100, remaining=3))
    requests_mock.get(f"{AGENTS_URL}?active=true", json=make_agent_page(make_agent(id=1)))
    requests_mock.get(f"{AGENTS_URL}?active=false", json=make_agent_page())

    budgeted.get_group(GROUP_ID)
    budgeted.list_agents()

    assert sleeps == [18]
    assert_calls(requests_mock, budgeted, 3)


def test_a_reserve_wait_beyond_the_wait_budget_fails_at_once(
    requests_mock, make_client, sleeps, waits
):
    client = make_client(max_wait=10, clock=lambda: CLOCK, on_wait=lambda *wait: waits.append(wait))
    requests_mock.get(
        TICKETS_URL,
        [
            {**OK, "headers": vendor_link(2) | budget(total=100, remaining=12, used=3)},
            {"json": make_page(make_ticket(id=302))},
        ],
    )

    with pytest.raises(FreshworksRateLimitError) as raised:
        fetch(client)

    assert str(raised.value) == (
        "Freshservice's per-minute budget is nearly spent (12 of 100 credits left, 20 kept in "
        "reserve for the account's other integrations) and waiting 18 s for the next minute "
        "before /api/v2/tickets would exceed the 10 s wait budget (0 s already waited): try "
        "again later, lower FRESH_BUDGET_RESERVE, or allow a longer wait "
        "(FRESH_MAX_WAIT_SECONDS, or --max-wait for a backfill)."
    )
    assert sleeps == []
    assert waits == []
    assert_calls(requests_mock, client, 1)


def test_reserve_waits_and_retry_after_share_one_wait_budget(
    requests_mock, make_client, sleeps, waits
):
    client = make_client(max_wait=40, clock=lambda: CLOCK, on_wait=lambda *wait: waits.append(wait))
    requests_mock.get(
        TICKETS_URL,
        [
            {"status_code": 429, "headers": {"Retry-After": "30"} | budget(total=100, remaining=0)},
            {**OK, "headers": vendor_link(2) | budget(total=100, remaining=10)},
            {"json": make_page(make_ticket(id=302))},
        ],
    )

    with pytest.raises(FreshworksRateLimitError, match=r"the 40 s wait budget \(30 s already"):
        fetch(client)

    # The 429 is waited out once, as asked; its Remaining of 0 adds no reserve wait of its own.
    assert sleeps == [30]
    assert waits == [(30, "Freshservice rate limit hit (429 on /api/v2/tickets)")]
    assert client.waited_seconds == 30
    assert_calls(requests_mock, client, 2)


def test_it_logs_each_reserve_wait_on_one_line(requests_mock, budgeted, freshworks_log):
    requests_mock.get(
        TICKETS_URL,
        [
            {**OK, "headers": vendor_link(2) | budget(total=100, remaining=4)},
            {"json": make_page(make_ticket(id=302))},
        ],
    )

    fetch(budgeted)

    assert [(record.levelname, record.getMessage()) for record in freshworks_log.records] == [
        (
            "WARNING",
            "Freshservice budget low (4 of 100 credits left, 20 kept in reserve) before "
            "/api/v2/tickets; waiting 18 s for the next minute (18 of 120 s used)",
        )
    ]


@pytest.mark.parametrize(
    ("moment", "wait"),
    [
        (datetime(2026, 11, 26, 8, 0, 0, tzinfo=UTC), 60),
        (datetime(2026, 11, 26, 8, 0, 59, 900000, tzinfo=UTC), 1),
        (datetime(2026, 11, 26, 8, 59, 30, tzinfo=UTC), 30),
    ],
    ids=["on-the-minute", "just-before", "across-the-hour"],
)
def test_the_reserve_wait_lasts_until_the_next_minute(
    requests_mock, make_client, sleeps, moment, wait
):
    client = make_client(clock=lambda: moment)
    requests_mock.get(
        TICKETS_URL,
        [
            {**OK, "headers": vendor_link(2) | budget(total=100, remaining=1)},
            {"json": make_page(make_ticket(id=302))},
        ],
    )

    fetch(client)

    assert sleeps == [wait]


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"X-Ratelimit-Remaining": "3"},
        budget(total=100, remaining=3) | {"X-Ratelimit-Total": "?"},
    ],
    ids=["none", "no-total", "unreadable-total"],
)
def test_without_a_readable_budget_it_does_not_wait(requests_mock, budgeted, sleeps, headers):
    requests_mock.get(
        TICKETS_URL,
        [{**OK, "headers": vendor_link(2) | headers}, {"json": make_page(make_ticket(id=302))}],
    )

    fetch(budgeted)

    assert sleeps == []


def test_retry_after_waits_are_reported_to_on_wait(requests_mock, budgeted, waits):
    requests_mock.get(TICKETS_URL, [{"status_code": 429, "headers": {"Retry-After": "7"}}, OK])

    fetch(budgeted)

    assert waits == [(7, "Freshservice rate limit hit (429 on /api/v2/tickets)")]


# --- credits ----------------------------------------------------------------------------------


def test_each_ticket_page_costs_three_credits_and_every_other_call_one(requests_mock, client):
    requests_mock.get(
        TICKETS_URL,
        [
            {**OK, "headers": vendor_link(2)},
            {"json": make_page(make_ticket(id=302)), "headers": vendor_link(3)},
            {"json": make_page(make_ticket(id=303))},
        ],
    )
    requests_mock.get(GROUP_URL, json=make_group())
    requests_mock.get(f"{AGENTS_URL}?active=true", json=make_agent_page(make_agent(id=1)))
    requests_mock.get(f"{AGENTS_URL}?active=false", json=make_agent_page())

    fetch(client)
    assert client.credits == 9
    client.get_group(GROUP_ID)
    assert client.credits == 10
    client.list_agents()
    assert client.credits == 12
    assert client.api_calls == 6


def test_retried_calls_cost_credits_too(requests_mock, client):
    requests_mock.get(
        TICKETS_URL,
        [{"status_code": 503}, {"status_code": 429, "headers": {"Retry-After": "1"}}, OK],
    )

    fetch(client)

    assert client.api_calls == 3
    assert client.credits == 9


# --- plain HTTP -------------------------------------------------------------------------------


def test_it_refuses_a_plain_http_endpoint(make_client):
    with pytest.raises(FreshworksConfigError) as raised:
        make_client(endpoint="http://acme.freshservice.com/api/v2/")

    assert str(raised.value) == (
        "FRESH_ENDPOINT uses plain http://, but Freshservice requires HTTPS: set it to the "
        "https:// address of your account, e.g. https://acme.freshservice.com/api/v2/"
    )


def test_it_talks_plain_http_when_allowed(requests_mock, make_client):
    client = make_client(endpoint="http://127.0.0.1:8765/api/v2/", allow_http=True)
    requests_mock.get(
        "http://127.0.0.1:8765/api/v2/tickets",
        [
            {**OK, "headers": next_link("http://127.0.0.1:8765/api/v2/tickets?page=2")},
            {"json": make_page(make_ticket(id=302))},
        ],
    )

    assert [len(page) for page in fetch(client)] == [1, 1]
    assert_calls(requests_mock, client, 2)
    assert requests_mock.last_request.url.startswith("http://127.0.0.1:8765/api/v2/tickets?")


# --- one ticket's state: deleted, spam or live ------------------------------------------------


@pytest.mark.parametrize(
    ("flags", "gone"),
    [({}, False), ({"deleted": True}, True), ({"spam": True}, True)],
    ids=["live", "deleted", "spam"],
)
def test_it_reads_whether_a_ticket_is_deleted_or_spam(requests_mock, client, flags, gone):
    requests_mock.get(f"{ENDPOINT}tickets/266", json=make_ticket_view(id=266, **flags))

    state = client.get_ticket_state(266)

    assert state is not None
    assert (state.id, state.gone, state.group_id, state.status) == (266, gone, GROUP_ID, 5)
    assert state.workspace_id == 3  # as in the vendor's sample
    assert_calls(requests_mock, client, 1)
    assert client.credits == 1


def test_a_ticket_freshservice_no_longer_has_reads_as_none(requests_mock, client):
    requests_mock.get(f"{ENDPOINT}tickets/266", status_code=404, json={"code": "not_found"})

    assert client.get_ticket_state(266) is None
    assert_calls(requests_mock, client, 1)


def test_a_ticket_answer_with_unreadable_flags_is_refused(requests_mock, client):
    body = make_ticket_view(id=266)
    body["ticket"]["deleted"] = "no"
    requests_mock.get(f"{ENDPOINT}tickets/266", json=body)

    with pytest.raises(FreshworksResponseError, match="ticket 266 with an unreadable deleted"):
        client.get_ticket_state(266)
