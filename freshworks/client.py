"""Freshservice REST API v2 client: changed tickets with their stats, paged, retried, typed.

Plain Python with no Django import, so it is tested at the HTTP layer and every caller decides
where its settings come from. Responses become `Ticket` dataclasses here, at the boundary; every
failure is a `FreshworksError` whose message says what to do about it. The API key never appears
in a message, a log line or a repr.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests

logger = logging.getLogger("freshworks")

MAX_ATTEMPTS = 3
BACKOFF_SECONDS = (1, 2)  # sleeps between attempts 1-2 and 2-3
DEFAULT_RETRY_AFTER_SECONDS = 5
PER_PAGE = 100  # the API's maximum
MAX_DETAIL_CHARS = 200
ENDPOINT_EXAMPLE = "https://acme.freshservice.com/api/v2/"
_DEFAULT_PORTS = {"http": 80, "https": 443}


@dataclass(frozen=True)
class Ticket:
    """The fields of a Freshservice ticket that the closure count needs; times are aware, UTC."""

    id: int
    group_id: int | None
    responder_id: int | None
    status: int
    updated_at: datetime
    resolved_at: datetime | None
    closed_at: datetime | None

    @property
    def closure_time(self) -> datetime:
        """When the ticket was done: resolved, else closed, else its last update."""
        # Schedulers move Resolved to Closed hours or days later, so resolved_at is the moment
        # the agent finished; updated_at is only a fallback for tickets without either stat.
        return self.resolved_at or self.closed_at or self.updated_at


class FreshworksError(Exception):
    """Base of every client error; str(err) is one line a person can act on."""


class FreshworksConfigError(FreshworksError):
    """The client was given an unusable setting (empty key or endpoint, bad timeout)."""


class FreshworksAuthError(FreshworksError):
    """401 (the key is wrong) or 403 (the agent's role may not view tickets)."""


class FreshworksNotFoundError(FreshworksError):
    """404: FRESH_ENDPOINT does not point at a Freshservice API."""


class FreshworksRateLimitError(FreshworksError):
    """429 whose Retry-After would take the total wait past the budget."""


class FreshworksServerError(FreshworksError):
    """5xx on every attempt."""


class FreshworksConnectionError(FreshworksError):
    """Connection errors or timeouts on every attempt."""


class FreshworksResponseError(FreshworksError):
    """An answer the client cannot use: not JSON, wrong shape, missing stats, foreign link, 4xx."""


class FreshserviceClient:
    """Reads Freshservice with one session, bounded retries and a per-client Retry-After budget.

    `api_calls` counts every HTTP request sent (retries included) and `waited_seconds` the time
    spent honouring Retry-After, both over the client's lifetime: use one client per sync.
    """

    def __init__(
        self,
        *,
        api_key: str,
        endpoint: str,
        timeout: float = 30,
        connect_timeout: float = 5,
        max_wait: float = 120,
        workspace_id: int | None = None,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        """Check the settings; raise FreshworksConfigError naming the one that is unusable."""
        api_key = (api_key or "").strip()
        endpoint = (endpoint or "").strip()
        if not api_key:
            raise FreshworksConfigError(
                "FRESH_API is empty: set it to the API key from the Freshservice agent's "
                "Profile settings."
            )
        if not endpoint:
            raise FreshworksConfigError(
                f"FRESH_ENDPOINT is empty: set it to your Freshservice API address, "
                f"e.g. {ENDPOINT_EXAMPLE}"
            )
        if not endpoint.endswith("/"):
            endpoint += "/"
        origin = _origin(endpoint)
        if origin is None:
            raise FreshworksConfigError(
                f"FRESH_ENDPOINT is not an http(s) URL: set it to your Freshservice API "
                f"address, e.g. {ENDPOINT_EXAMPLE}"
            )
        if not timeout > 0 or not connect_timeout > 0:
            raise FreshworksConfigError(
                "FRESH_TIMEOUT_SECONDS must be a positive number of seconds."
            )
        if not max_wait >= 0:
            raise FreshworksConfigError("FRESH_MAX_WAIT_SECONDS must be 0 or more seconds.")

        self.endpoint = endpoint
        self.timeout = timeout
        self.connect_timeout = connect_timeout
        self.max_wait = max_wait
        self.workspace_id = workspace_id
        self.api_calls = 0
        self.waited_seconds = 0.0
        self._api_key = api_key
        self._origin = origin
        self._session = session if session is not None else requests.Session()
        self._sleep = sleep

    def __repr__(self) -> str:
        return (
            f"FreshserviceClient(endpoint={self.endpoint!r}, workspace_id={self.workspace_id!r}, "
            f"api_key='***')"
        )

    def close(self) -> None:
        """Close the underlying session and its pooled connections."""
        self._session.close()

    def __enter__(self) -> FreshserviceClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def iter_ticket_pages(self, *, updated_since: datetime) -> Iterator[list[Ticket]]:
        """Yield every page of tickets updated at or after `updated_since`, stats included.

        Follows the `link` header's rel="next" until it is absent. Raises a FreshworksError
        subclass on any failure; pages already yielded may then be an incomplete set.
        """
        if updated_since.tzinfo is None:
            raise ValueError("updated_since must be timezone-aware")
        # Reference: https://api.freshservice.com/#view_all_ticket
        url = self.endpoint + "tickets"
        first_params = {
            # Whole seconds, rounded down: the window can only grow.
            "updated_since": updated_since.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "include": "stats",
            "per_page": str(PER_PAGE),
        }
        if self.workspace_id is not None:
            first_params["workspace_id"] = str(self.workspace_id)
        params: dict[str, str] | None = first_params
        visited: set[str] = set()
        while True:
            response = self._get(url, params=params)
            visited.add(response.url)
            page = self._parse_page(response)
            next_url = self._next_url(response, visited)
            yield page
            if next_url is None:
                return
            # The next link already carries the query; sending params again would repeat them.
            url, params = next_url, None

    # --- one request, with retries ----------------------------------------------------------

    def _get(self, url: str, *, params: dict[str, str] | None) -> requests.Response:
        """GET with 3 attempts for 5xx, connection errors and timeouts; 429s wait instead."""
        path = urlsplit(url).path
        attempt = 1
        while True:
            self.api_calls += 1
            try:
                response = self._session.get(
                    url,
                    params=params,
                    auth=(self._api_key, "X"),
                    headers={"Accept": "application/json"},
                    timeout=(self.connect_timeout, self.timeout),
                    # A redirect could carry the request elsewhere; refuse it below instead.
                    allow_redirects=False,
                )
            except (
                requests.ConnectionError,
                requests.Timeout,
                requests.exceptions.ChunkedEncodingError,
            ) as exc:
                if attempt >= MAX_ATTEMPTS:
                    raise FreshworksConnectionError(
                        self._connection_message(exc, path, attempt)
                    ) from None
                self._back_off(attempt, path, f"failed ({type(exc).__name__})")
                attempt += 1
                continue
            except requests.RequestException as exc:
                raise FreshworksConnectionError(
                    f"The request to Freshservice {path} could not be sent "
                    f"({type(exc).__name__}: {self._one_line(str(exc))}): check FRESH_ENDPOINT."
                ) from None

            status = response.status_code
            if status == 429:
                self._wait_for_rate_limit(response, path)
                continue
            if status >= 500:
                if attempt >= MAX_ATTEMPTS:
                    raise FreshworksServerError(
                        f"Freshservice kept failing on {path} with HTTP {status} "
                        f"({attempt} attempts): it is having trouble, try again later."
                    )
                self._back_off(attempt, path, f"answered HTTP {status}")
                attempt += 1
                continue
            if 200 <= status < 300:
                return response
            raise self._error_for(response, path)

    def _back_off(self, attempt: int, path: str, what: str) -> None:
        delay = BACKOFF_SECONDS[attempt - 1]
        logger.warning(
            "Freshservice %s %s (attempt %d of %d); retrying in %d s",
            path,
            what,
            attempt,
            MAX_ATTEMPTS,
            delay,
        )
        self._sleep(delay)

    def _wait_for_rate_limit(self, response: requests.Response, path: str) -> None:
        asked = _retry_after_seconds(response.headers.get("Retry-After"))
        wait = asked if asked is not None else DEFAULT_RETRY_AFTER_SECONDS
        if self.waited_seconds + wait > self.max_wait:
            how_long = (
                f"asked to wait {wait} s"
                if asked is not None
                else f"gave no usable Retry-After (default wait {wait} s)"
            )
            raise FreshworksRateLimitError(
                f"Freshservice's rate limit is exhausted (429 on {path}) and it {how_long}, "
                f"which would exceed the {self.max_wait:g} s wait budget "
                f"({self.waited_seconds:g} s already waited): try again later, or allow a "
                f"longer wait (FRESH_MAX_WAIT_SECONDS, or --max-wait for a backfill)."
            )
        logger.warning(
            "Freshservice rate limit hit (429 on %s); waiting %d s as asked (%g of %g s used)",
            path,
            wait,
            self.waited_seconds + wait,
            self.max_wait,
        )
        self._sleep(wait)
        self.waited_seconds += wait

    # --- errors -----------------------------------------------------------------------------

    def _connection_message(self, exc: requests.RequestException, path: str, attempts: int) -> str:
        if isinstance(exc, requests.ConnectTimeout):
            return (
                f"Could not connect to Freshservice for {path} within {self.connect_timeout:g} s "
                f"({attempts} attempts): check FRESH_ENDPOINT and the network, or try later."
            )
        if isinstance(exc, requests.Timeout):
            return (
                f"Freshservice did not answer {path} within {self.timeout:g} s ({attempts} "
                f"attempts): try again later, or raise FRESH_TIMEOUT_SECONDS."
            )
        return (
            f"Could not reach Freshservice at {self._origin[1]} for {path} ({attempts} attempts, "
            f"{type(exc).__name__}): check FRESH_ENDPOINT and the network."
        )

    def _error_for(self, response: requests.Response, path: str) -> FreshworksError:
        status = response.status_code
        detail = self._vendor_detail(response)
        says = f" Freshservice says: {detail}" if detail else ""
        if status == 401:
            return FreshworksAuthError(
                f"Freshservice rejected the API key (401): check FRESH_API is the current key "
                f"from the agent's Profile settings.{says}"
            )
        if status == 403:
            return FreshworksAuthError(
                f"Freshservice refused access (403): the agent whose key is in FRESH_API has a "
                f"role without permission to view tickets; give it one that can.{says}"
            )
        if status == 404:
            return FreshworksNotFoundError(
                f"Freshservice has no {path} (404): check FRESH_ENDPOINT, e.g. {ENDPOINT_EXAMPLE}"
            )
        if 300 <= status < 400:
            location = response.headers.get("Location")
            target = _origin(urljoin(response.url, location)) if location else None
            where = f" to {target[1]}" if target else ""
            return FreshworksResponseError(
                f"Freshservice redirected {path}{where} (HTTP {status}), which is not followed "
                f"with the API key: set FRESH_ENDPOINT to the API address, "
                f"e.g. {ENDPOINT_EXAMPLE}"
            )
        return FreshworksResponseError(
            f"Freshservice refused {path} with HTTP {status}.{says or ' (no details given)'}"
        )

    def _vendor_detail(self, response: requests.Response) -> str:
        """`description` and `errors[].message` of an error body, else its raw text; one line."""
        try:
            body: Any = response.json()
        except ValueError:
            return self._one_line(response.text)
        if not isinstance(body, dict):
            return self._one_line(response.text)
        parts: list[str] = []
        for key in ("description", "message"):
            if isinstance(body.get(key), str):
                parts.append(body[key])
                break
        errors = body.get("errors")
        for error in errors if isinstance(errors, list) else []:
            if isinstance(error, dict) and error.get("message"):
                field = error.get("field")
                parts.append(f"{field}: {error['message']}" if field else str(error["message"]))
        return self._one_line("; ".join(parts))

    def _one_line(self, text: str) -> str:
        """Collapse whitespace, hide the key should anything echo it, cap the length."""
        text = " ".join(text.split()).replace(self._api_key, "***")
        if len(text) > MAX_DETAIL_CHARS:
            text = text[: MAX_DETAIL_CHARS - 1] + "…"
        return text

    # --- parsing ----------------------------------------------------------------------------

    def _next_url(self, response: requests.Response, visited: set[str]) -> str | None:
        link = response.links.get("next", {}).get("url")
        if not link:
            return None
        next_url = urljoin(response.url, link)
        origin = _origin(next_url)
        if origin != self._origin:
            host = origin[1] if origin else "an unreadable address"
            raise FreshworksResponseError(
                f"Freshservice's next-page link points at {host}, not at FRESH_ENDPOINT's "
                f"{self._origin[0]}://{self._origin[1]}; refused so the API key never leaves "
                f"for another host. Check FRESH_ENDPOINT is the account's own address."
            )
        if next_url in visited:
            raise FreshworksResponseError(
                f"Freshservice's next-page link goes back to a page already read "
                f"({urlsplit(next_url).path}?{urlsplit(next_url).query}); stopped to avoid a "
                f"loop. Try again later."
            )
        return next_url

    def _parse_page(self, response: requests.Response) -> list[Ticket]:
        path = urlsplit(response.url).path
        try:
            body: Any = response.json()
        except ValueError:
            content_type = response.headers.get("Content-Type", "no content type")
            raise FreshworksResponseError(
                f"Freshservice answered {path} with something that is not JSON "
                f"({content_type}): check FRESH_ENDPOINT is the API address, "
                f"e.g. {ENDPOINT_EXAMPLE}"
            ) from None
        if not isinstance(body, dict) or not isinstance(body.get("tickets"), list):
            raise FreshworksResponseError(
                f"Freshservice answered {path} without a list of tickets: check FRESH_ENDPOINT "
                f"is the API address, e.g. {ENDPOINT_EXAMPLE}"
            )
        return [_parse_ticket(raw, position) for position, raw in enumerate(body["tickets"], 1)]


def _parse_ticket(raw: object, position: int) -> Ticket:
    if not isinstance(raw, dict):
        raise FreshworksResponseError(
            f"Freshservice sent ticket number {position} of a page as something other than an "
            f"object; try again later."
        )
    ticket_id = raw.get("id")
    if not _is_int(ticket_id):
        raise FreshworksResponseError(
            f"Freshservice sent ticket number {position} of a page without a numeric id "
            f"(got {_short_repr(ticket_id)}); try again later."
        )
    stats = raw.get("stats")
    if not isinstance(stats, dict):
        raise FreshworksResponseError(
            f"Freshservice sent ticket {ticket_id} without its stats although include=stats was "
            f"asked, so its closing time is unknown; try again later."
        )
    return Ticket(
        id=ticket_id,
        group_id=_optional_int(raw, "group_id", ticket_id),
        responder_id=_optional_int(raw, "responder_id", ticket_id),
        status=_required_int(raw, "status", ticket_id),
        updated_at=_required_time(raw, "updated_at", ticket_id),
        resolved_at=_optional_time(stats, "resolved_at", ticket_id),
        closed_at=_optional_time(stats, "closed_at", ticket_id),
    )


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _bad_field(ticket_id: int, field: str, value: object) -> FreshworksResponseError:
    return FreshworksResponseError(
        f"Freshservice sent ticket {ticket_id} with an unreadable {field} "
        f"({_short_repr(value)}); try again later."
    )


def _required_int(raw: dict[str, Any], field: str, ticket_id: int) -> int:
    value = raw.get(field)
    if not _is_int(value):
        raise _bad_field(ticket_id, field, value)
    return value


def _optional_int(raw: dict[str, Any], field: str, ticket_id: int) -> int | None:
    value = raw.get(field)
    if value is not None and not _is_int(value):
        raise _bad_field(ticket_id, field, value)
    return value


def _required_time(raw: dict[str, Any], field: str, ticket_id: int) -> datetime:
    value = _optional_time(raw, field, ticket_id)
    if value is None:
        raise _bad_field(ticket_id, field, None)
    return value


def _optional_time(raw: dict[str, Any], field: str, ticket_id: int) -> datetime | None:
    value = raw.get(field)
    if value is None:
        return None
    if not isinstance(value, str):
        raise _bad_field(ticket_id, field, value)
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise _bad_field(ticket_id, field, value) from None
    # The API sends UTC with a Z, but offsets occur elsewhere in its docs; a bare time is UTC.
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def _short_repr(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:39] + "…"


def _origin(url: str) -> tuple[str, str, int] | None:
    """(scheme, host, port) of an http(s) URL, the default port filled in; None if unusable."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.hostname:
        return None
    return scheme, parts.hostname.lower(), port or _DEFAULT_PORTS[scheme]


def _retry_after_seconds(header: str | None) -> int | None:
    """Whole seconds asked by Retry-After (seconds or an HTTP date); None if unusable or <= 0."""
    if header is None:
        return None
    header = header.strip()
    if header.isascii() and header.isdigit():
        seconds: float = int(header)
    else:
        # The docs say seconds; Freshworks' own SDK swagger says a date. Accept both.
        try:
            moment = parsedate_to_datetime(header)
        except (TypeError, ValueError, IndexError, OverflowError):
            return None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        seconds = (moment - datetime.now(UTC)).total_seconds()
    return math.ceil(seconds) if seconds > 0 else None
