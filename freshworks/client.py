"""Freshservice REST API v2 client: changed tickets with their stats, the team's group, the agents.

Plain Python with no Django import, so it is tested at the HTTP layer and every caller decides
where its settings come from. Responses become `Ticket`, `Group` and `Agent` values here, at
the boundary; every failure is a `FreshworksError` whose message says what to do about it. The API
key never appears in a message, a log line or a repr.

Paging never trusts the `link` header beyond "a next page exists": every page is asked for with
the call's own parameters and `page=N+1` (SPEC §14.1). The per-minute rate budget is shared with
every other integration of the account, so the client keeps a reserve of it (SPEC §14.6).
"""

from __future__ import annotations

import functools
import inspect
import logging
import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any, NamedTuple, Protocol, TypeGuard, TypeVar, cast
from urllib.parse import urljoin, urlsplit

import orjson
import requests

from freshworks.secrets import redact

logger = logging.getLogger("freshworks")

MAX_ATTEMPTS = 3
BACKOFF_SECONDS = (1, 2)  # sleeps between attempts 1-2 and 2-3
DEFAULT_RETRY_AFTER_SECONDS = 5
PER_PAGE = 100  # the API's maximum
DEFAULT_BUDGET_RESERVE = 0.20
# Credits (SPEC §14.6, the vendor's rate-limit notes): a list or read call costs 1, and each
# `include` embedded in a list call 2 more.
CALL_CREDITS = 1
INCLUDE_CREDITS = 2
MAX_DETAIL_CHARS = 200
ENDPOINT_EXAMPLE = "https://acme.freshservice.com/api/v2/"
_DEFAULT_PORTS = {"http": 80, "https": 443}
_TICKETS_PERMISSION = "view tickets"
_AGENTS_PERMISSION = "view agents and agent groups"
_UTF8 = frozenset({"utf-8", "utf8"})


class Ticket(NamedTuple):
    """The fields of a Freshservice ticket that the closure count needs; times are aware, UTC.

    A named tuple rather than a frozen dataclass like the others: a backfill makes one per ticket
    (200,000 for a quarter of a large desk), and a frozen dataclass took three times as long to
    make.
    """

    id: int
    group_id: int | None
    responder_id: int | None
    status: int
    updated_at: datetime
    resolved_at: datetime | None
    closed_at: datetime | None
    # Only for a backfill's estimate of the time left (the list comes newest first).
    created_at: datetime | None = None

    @property
    def closure_time(self) -> datetime:
        """When the ticket was done: resolved, else closed, else its last update."""
        # Schedulers move Resolved to Closed hours or days later, so resolved_at is the moment
        # the agent finished; updated_at is only a fallback for tickets without either stat.
        return self.resolved_at or self.closed_at or self.updated_at


@dataclass(frozen=True)
class TicketState:
    """What `GET tickets/{id}` says of one ticket: enough to tell a deleted or spam ticket (which
    the list leaves out) from a live one the list skipped."""

    id: int
    deleted: bool
    spam: bool
    group_id: int | None
    workspace_id: int | None
    status: int

    @property
    def gone(self) -> bool:
        """Deleted or marked spam: the list call never shows it, and it must not count."""
        return self.deleted or self.spam


@dataclass(frozen=True)
class Group:
    """A Freshservice agent group; `workspace_id` is None when the answer names none."""

    id: int
    name: str
    workspace_id: int | None


@dataclass(frozen=True)
class Agent:
    """A Freshservice agent; names are "" and `email` None when Freshservice sends none."""

    id: int
    first_name: str
    last_name: str
    email: str | None
    active: bool


class FreshworksError(Exception):
    """Base of every client error; str(err) is one line a person can act on."""


class FreshworksConfigError(FreshworksError):
    """The client was given an unusable setting (empty key or endpoint, plain HTTP, bad number)."""


class FreshworksAuthError(FreshworksError):
    """401 (the key is wrong) or 403 (the agent's role may not read what was asked)."""


class FreshworksKeyRejectedError(FreshworksAuthError):
    """401: Freshservice does not accept the API key."""


class FreshworksPermissionError(FreshworksAuthError):
    """403: the key is accepted, but the agent's role may not read what was asked."""


class FreshworksNotFoundError(FreshworksError):
    """404: FRESH_ENDPOINT does not point at a Freshservice API."""


class FreshworksGroupNotFoundError(FreshworksNotFoundError):
    """404 on `groups/{id}`: FRESH_GROUP_ID names no agent group of the account."""


class FreshworksRateLimitError(FreshworksError):
    """A wait (429's Retry-After, or the budget reserve) that would go past the wait budget."""


class FreshworksServerError(FreshworksError):
    """5xx on every attempt."""


class FreshworksConnectionError(FreshworksError):
    """Connection errors or timeouts on every attempt."""


class FreshworksDeadlineError(FreshworksError):
    """The client's `time_limit` ran out (or would, during a wait) before it was done."""


class FreshworksResponseError(FreshworksError):
    """An answer the client cannot use: not JSON, wrong shape, missing stats, foreign link, 4xx."""


class _Identified(Protocol):
    @property
    def id(self) -> int: ...


_Item = TypeVar("_Item", bound=_Identified)


def _utc_now() -> datetime:
    return datetime.now(UTC)


_Method = TypeVar("_Method", bound=Callable[..., Any])


def _key_hidden(method: _Method) -> _Method:
    """Every FreshworksError the endpoint method raises has the key, in any form, hidden in its
    message: a vendor answer or field value could echo the key or the Authorization header."""

    def hide(client: FreshserviceClient, exc: FreshworksError) -> None:
        exc.args = tuple(
            redact(arg, client._api_key) if isinstance(arg, str) else arg for arg in exc.args
        )

    if inspect.isgeneratorfunction(method):

        @functools.wraps(method)
        def generator(self: FreshserviceClient, *args: Any, **kwargs: Any) -> Any:
            try:
                yield from method(self, *args, **kwargs)
            except FreshworksError as exc:
                hide(self, exc)
                raise

        return cast(_Method, generator)

    @functools.wraps(method)
    def function(self: FreshserviceClient, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(self, *args, **kwargs)
        except FreshworksError as exc:
            hide(self, exc)
            raise

    return cast(_Method, function)


class FreshserviceClient:
    """Reads Freshservice with one session, bounded retries and a per-client wait budget.

    Over the client's lifetime (use one client per sync): `api_calls` counts every HTTP request
    sent (retries included), `credits` what they cost against the account's per-minute budget
    (1 a call, 3 for a ticket page with stats; retries included, as the vendor counts even
    invalid requests), `waited_seconds` the time spent waiting on Retry-After and on the budget
    reserve. `rate_limit_total` and `rate_limit_remaining` are the last `X-RateLimit-Total` and
    `X-RateLimit-Remaining` seen (None until an answer carried them).

    `budget_reserve` is the fraction of `X-RateLimit-Total` left to the account's other
    integrations: once an answer shows less than that remaining, the next request waits for the
    next minute (0 never waits). `time_limit` (seconds from the client's creation, by its
    `clock`) bounds everything the client does: each request's timeouts shrink to the time left,
    and a request, a retry or a wait that cannot finish in time raises FreshworksDeadlineError
    instead of starting (a sync started from a web request must answer before gunicorn's
    timeout). `on_wait(seconds, reason)` hears of every wait counted in the budget before it
    starts, for progress output. `http://` endpoints are refused unless
    `allow_http` (the demo's and the tests' local stand-ins).
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
        budget_reserve: float = DEFAULT_BUDGET_RESERVE,
        on_wait: Callable[[float, str], None] | None = None,
        allow_http: bool = False,
        clock: Callable[[], datetime] = _utc_now,
        time_limit: float | None = None,
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
        if origin[0] == "http" and not allow_http:
            # The vendor answers plain HTTP with `ssl_required`; and the key must not travel
            # in clear text. Only local stand-ins (demo, tests) are let through.
            raise FreshworksConfigError(
                f"FRESH_ENDPOINT uses plain http://, but Freshservice requires HTTPS: set it to "
                f"the https:// address of your account, e.g. {ENDPOINT_EXAMPLE}"
            )
        if not timeout > 0 or not connect_timeout > 0:
            raise FreshworksConfigError(
                "FRESH_TIMEOUT_SECONDS must be a positive number of seconds."
            )
        if not max_wait >= 0:
            raise FreshworksConfigError("FRESH_MAX_WAIT_SECONDS must be 0 or more seconds.")
        if time_limit is not None and not time_limit > 0:
            raise FreshworksConfigError("The time limit must be a positive number of seconds.")
        if not 0 <= budget_reserve < 1:
            raise FreshworksConfigError(
                "FRESH_BUDGET_RESERVE must be a fraction from 0 up to (not including) 1, "
                "e.g. 0.2 to leave 20 % of the per-minute budget to other integrations."
            )

        self.endpoint = endpoint
        self.timeout = timeout
        self.connect_timeout = connect_timeout
        self.max_wait = max_wait
        self.workspace_id = workspace_id
        self.budget_reserve = budget_reserve
        self.api_calls = 0
        self.credits = 0
        self.waited_seconds = 0.0
        self.rate_limit_total: int | None = None
        self.rate_limit_remaining: int | None = None
        self._api_key = api_key
        self._origin = origin
        self._session = session if session is not None else _session_for(endpoint)
        self._sleep = sleep
        self._on_wait = on_wait
        self._clock = clock
        self.time_limit = time_limit
        self._deadline = clock() + timedelta(seconds=time_limit) if time_limit else None
        # Set by an answer that showed the budget below the reserve: the next request waits.
        self._reserve_low: tuple[int, int, float] | None = None

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

    # --- the endpoints ----------------------------------------------------------------------

    @_key_hidden
    def iter_ticket_pages(
        self,
        *,
        updated_since: datetime,
        workspace_id: int | None = None,
        first_page: int = 1,
    ) -> Iterator[list[Ticket]]:
        """Yield every page of tickets updated at or after `updated_since`, stats included,
        from page `first_page` on (a resumed backfill starts past page 1).

        `workspace_id` (else the client's own, else none: the primary workspace only) is sent
        with every page. Each page costs 3 credits. Raises a FreshworksError subclass on any
        failure; pages already yielded may then be an incomplete set.
        """
        if updated_since.tzinfo is None:
            raise ValueError("updated_since must be timezone-aware")
        # Reference: https://api.freshservice.com/#view_all_ticket (parameters, include=stats
        # costing 2 more credits, workspace_id: without it only the primary workspace's tickets)
        # and https://api.freshservice.com/#pagination (page, per_page up to 100, `link`).
        params = {
            # Whole seconds, rounded down: the window can only grow.
            "updated_since": updated_since.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "include": "stats",
            "per_page": str(PER_PAGE),
        }
        workspace = workspace_id if workspace_id is not None else self.workspace_id
        if workspace is not None:
            params["workspace_id"] = str(workspace)
        yield from self._iter_pages(
            "tickets",
            params,
            self._parse_ticket_page,
            credits=CALL_CREDITS + INCLUDE_CREDITS,
            permission=_TICKETS_PERMISSION,
            first_page=first_page,
        )

    @_key_hidden
    def get_group(self, group_id: int) -> Group:
        """The agent group `group_id` with its name and workspace (1 credit).

        Raises FreshworksGroupNotFoundError (naming FRESH_GROUP_ID) when the account has no such
        group, and the other FreshworksError subclasses as every call does.
        """
        # Reference: https://api.freshservice.com/#view_a_group — `{"group": {...}}`; groups
        # live in a workspace and the answer names it (`workspace_id`, 2 = primary by default).
        path = f"groups/{int(group_id)}"
        try:
            response = self._get(
                self.endpoint + path,
                params=None,
                credits=CALL_CREDITS,
                permission=_AGENTS_PERMISSION,
            )
        except FreshworksNotFoundError:
            raise FreshworksGroupNotFoundError(
                f"Freshservice has no agent group {group_id} (404 on {self._path(path)}): check "
                f"FRESH_GROUP_ID is the id of your team's agent group in this account."
            ) from None
        body = self._json(response)
        raw = body.get("group") if isinstance(body, dict) else None
        if not isinstance(raw, dict):
            raise FreshworksResponseError(
                f"Freshservice answered {self._path(path)} without a group: check FRESH_ENDPOINT "
                f"is the API address, e.g. {ENDPOINT_EXAMPLE}"
            )
        return _parse_group(raw, group_id)

    @_key_hidden
    def get_ticket_state(self, ticket_id: int) -> TicketState | None:
        """Whether ticket `ticket_id` still exists, is deleted or is spam (1 credit); None when
        Freshservice answers 404 (deleted for good, or never in this account)."""
        # Reference: https://api.freshservice.com/#view_a_ticket — `{"ticket": {...}}` with the
        # booleans `deleted` and `spam` (reference/samples/ticket-view.json).
        path = f"tickets/{int(ticket_id)}"
        try:
            response = self._get(
                self.endpoint + path,
                params=None,
                credits=CALL_CREDITS,
                permission=_TICKETS_PERMISSION,
            )
        except FreshworksNotFoundError:
            return None
        body = self._json(response)
        raw = body.get("ticket") if isinstance(body, dict) else None
        if not isinstance(raw, dict):
            raise FreshworksResponseError(
                f"Freshservice answered {self._path(path)} without a ticket: check "
                f"FRESH_ENDPOINT is the API address, e.g. {ENDPOINT_EXAMPLE}"
            )
        raw, answered_id = _item(raw, "ticket", 1)
        flags = {}
        for field in ("deleted", "spam"):
            value = raw.get(field, False)
            if not isinstance(value, bool):
                raise _bad_field(answered_id, field, value)
            flags[field] = value
        return TicketState(
            id=answered_id,
            deleted=flags["deleted"],
            spam=flags["spam"],
            group_id=_optional_int(raw, "group_id", answered_id),
            workspace_id=_optional_int(raw, "workspace_id", answered_id),
            status=_required_int(raw, "status", answered_id),
        )

    @_key_hidden
    def iter_agents(self) -> Iterator[Agent]:
        """Yield every agent of the account, active ones first, then deactivated ones.

        Two paged listings, `active=true` and `active=false`, 100 agents a page and 1 credit a
        page; an agent met in both (deactivated between the two) is yielded once, as first seen.
        """
        # Reference: https://api.freshservice.com/#list_all_agents documents the filter
        # `active=[true/false]` but not whether the unfiltered list includes deactivated agents,
        # so both are asked for: departed agents keep their names on past closures.
        seen: set[int] = set()
        for active in (True, False):
            for page in self._iter_pages(
                "agents",
                {"active": "true" if active else "false", "per_page": str(PER_PAGE)},
                functools.partial(self._parse_agent_page, listed_active=active),
                credits=CALL_CREDITS,
                permission=_AGENTS_PERMISSION,
            ):
                for agent in page:
                    if agent.id not in seen:
                        seen.add(agent.id)
                        yield agent

    def list_agents(self) -> list[Agent]:
        """Every agent of the account, active and deactivated (see `iter_agents`)."""
        return list(self.iter_agents())

    # --- paging -----------------------------------------------------------------------------

    def _iter_pages(
        self,
        path: str,
        params: dict[str, str],
        parse: Callable[[requests.Response], list[_Item]],
        *,
        credits: int,
        permission: str,
        first_page: int = 1,
    ) -> Iterator[list[_Item]]:
        """Ask for page `first_page`, then the next, ... with the call's own `params` while
        `link` says more follow.

        The vendor's only documented link (`…/tickets?filter=all_tickets&page=2`) drops the
        caller's filters, so following it would silently read another list (SPEC §14.1).
        """
        url = self.endpoint + path
        page = first_page
        previous: list[int] | None = None
        while True:
            response = self._get(
                url, params=params | {"page": str(page)}, credits=credits, permission=permission
            )
            items = parse(response)
            more = self._has_next_page(response)
            ids = [item.id for item in items]
            if more and (not ids or ids == previous):
                what = "was empty" if not ids else f"repeated page {page - 1}"
                raise FreshworksResponseError(
                    f"Freshservice's page {page} of {self._path(path)} {what} yet its link says "
                    f"more follow; stopped to avoid an endless loop. Try again later."
                )
            yield items
            if not more:
                return
            previous = ids
            page += 1

    def _has_next_page(self, response: requests.Response) -> bool:
        """Whether `link` has a rel="next"; one to another origin is refused, never followed."""
        link = response.links.get("next", {}).get("url")
        if not link:
            return False
        origin = _origin(urljoin(response.url, link))
        if origin != self._origin:
            where = _origin_text(origin) if origin else "an unreadable address"
            raise FreshworksResponseError(
                f"Freshservice's next-page link points at {where}, not at FRESH_ENDPOINT's "
                f"{_origin_text(self._origin)}; refused so the API key never leaves for another "
                f"host. Check FRESH_ENDPOINT is the account's own address."
            )
        return True

    # --- one request, with retries and waits ------------------------------------------------

    def _get(
        self,
        url: str,
        *,
        params: dict[str, str] | None,
        credits: int = CALL_CREDITS,
        permission: str = _TICKETS_PERMISSION,
    ) -> requests.Response:
        """GET with 3 attempts for 5xx, connection errors and timeouts; 429s wait instead."""
        path = urlsplit(url).path
        attempt = 1
        while True:
            self._wait_for_reserve(path)
            self._check_deadline(path)
            self.api_calls += 1
            self.credits += credits
            try:
                response = self._session.get(
                    url,
                    params=params,
                    auth=(self._api_key, "X"),
                    headers={"Accept": "application/json"},
                    timeout=self._timeouts(),
                    # A redirect could carry the request elsewhere; refuse it below instead.
                    allow_redirects=False,
                )
            except (
                requests.ConnectionError,
                requests.Timeout,
                requests.exceptions.ChunkedEncodingError,
            ) as exc:
                # Cut short by the time limit: no retry could finish either.
                self._check_deadline(path, doing=f"waiting for its answer ({type(exc).__name__})")
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

            self._read_budget(response)
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
            raise self._error_for(response, path, permission)

    def _time_left(self) -> float | None:
        """Seconds until the time limit, by the client's clock; None without a limit."""
        if self._deadline is None:
            return None
        return (self._deadline - self._clock()).total_seconds()

    def _check_deadline(self, path: str, *, wait: float = 0, doing: str = "") -> None:
        """FreshworksDeadlineError unless there is time left (beyond a `wait` about to start)."""
        left = self._time_left()
        if left is None or left > wait:
            return
        if wait:
            why = f"waiting {wait:g} s before {path} would pass it"
        elif doing:
            why = f"it ran out {doing} on {path}"
        else:
            why = f"it ran out before {path}"
        raise FreshworksDeadlineError(
            f"Gave up on Freshservice within the {self.time_limit:g} s time limit: {why} "
            f"({self.api_calls} API calls made)."
        )

    def _timeouts(self) -> tuple[float, float]:
        """(connect, read) timeouts of the next request: the settings', or the time left."""
        left = self._time_left()
        if left is None:
            return self.connect_timeout, self.timeout
        return min(self.connect_timeout, left), min(self.timeout, left)

    def _back_off(self, attempt: int, path: str, what: str) -> None:
        delay = BACKOFF_SECONDS[attempt - 1]
        self._check_deadline(path, wait=delay)
        logger.warning(
            "Freshservice %s %s (attempt %d of %d); retrying in %d s",
            path,
            what,
            attempt,
            MAX_ATTEMPTS,
            delay,
        )
        self._sleep(delay)

    def _read_budget(self, response: requests.Response) -> None:
        """Keep the answer's X-RateLimit-Total/-Remaining; note when it is below the reserve."""
        # Reference: https://api.freshservice.com/#rate_limit — every answer carries
        # X-Ratelimit-Total, X-Ratelimit-Remaining and X-Ratelimit-Used-CurrentRequest; the
        # budget is per minute and account-wide, shared with every other integration.
        total = _header_int(response, "X-RateLimit-Total")
        remaining = _header_int(response, "X-RateLimit-Remaining")
        if total is not None:
            self.rate_limit_total = total
        if remaining is not None:
            self.rate_limit_remaining = remaining
        self._reserve_low = None
        if total and remaining is not None and self.budget_reserve > 0:
            reserve = round(self.budget_reserve * total, 6)
            if remaining < reserve:
                self._reserve_low = (remaining, total, reserve)

    def _wait_for_reserve(self, path: str) -> None:
        """Before a request: if the last answer left less than the reserve, wait for the minute."""
        if self._reserve_low is None:
            return
        remaining, total, reserve = self._reserve_low
        now = self._clock()
        next_minute = now.replace(second=0, microsecond=0) + timedelta(minutes=1)
        wait = max(1, math.ceil((next_minute - now).total_seconds()))
        left = f"{remaining} of {total} credits left, {reserve:g} kept in reserve"
        if self.waited_seconds + wait > self.max_wait:
            raise FreshworksRateLimitError(
                f"Freshservice's per-minute budget is nearly spent ({left} for the account's "
                f"other integrations) and waiting {wait} s for the next minute before {path} "
                f"would exceed the {self.max_wait:g} s wait budget ({self.waited_seconds:g} s "
                f"already waited): try again later, lower FRESH_BUDGET_RESERVE, or allow a "
                f"longer wait (FRESH_MAX_WAIT_SECONDS, or --max-wait for a backfill)."
            )
        self._check_deadline(path, wait=wait)
        self._wait(
            wait,
            f"Freshservice budget low ({left})",
            "Freshservice budget low (%s) before %s; waiting %d s for the next minute "
            "(%g of %g s used)",
            left,
            path,
        )
        self._reserve_low = None

    def _wait_for_rate_limit(self, response: requests.Response, path: str) -> None:
        # Retry-After supersedes the reserve: the wait it asks for is the one to honour.
        self._reserve_low = None
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
        self._check_deadline(path, wait=wait)
        self._wait(
            wait,
            f"Freshservice rate limit hit (429 on {path})",
            "Freshservice rate limit hit (429 on %s); waiting %d s as asked (%g of %g s used)",
            path,
        )

    def _wait(self, seconds: int, reason: str, log_format: str, *log_args: object) -> None:
        """One wait counted in the budget: logged, reported to on_wait, slept."""
        logger.warning(log_format, *log_args, seconds, self.waited_seconds + seconds, self.max_wait)
        if self._on_wait is not None:
            self._on_wait(seconds, reason)
        self._sleep(seconds)
        self.waited_seconds += seconds

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

    def _error_for(
        self, response: requests.Response, path: str, permission: str
    ) -> FreshworksError:
        status = response.status_code
        detail = self._vendor_detail(response)
        says = f" Freshservice says: {detail}" if detail else ""
        if status == 401:
            return FreshworksKeyRejectedError(
                f"Freshservice rejected the API key (401): check FRESH_API is the current key "
                f"from the agent's Profile settings.{says}"
            )
        if status == 403:
            return FreshworksPermissionError(
                f"Freshservice refused access (403): the agent whose key is in FRESH_API has a "
                f"role without permission to {permission}; give it one that can.{says}"
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
        text = redact(" ".join(text.split()), self._api_key)
        if len(text) > MAX_DETAIL_CHARS:
            text = text[: MAX_DETAIL_CHARS - 1] + "…"
        return text

    # --- parsing ----------------------------------------------------------------------------

    def _path(self, relative: str) -> str:
        """The URL path of an endpoint-relative path, as messages name it."""
        return urlsplit(self.endpoint + relative).path

    def _json(self, response: requests.Response) -> Any:
        # orjson first: it decodes a page of 100 tickets in 0.3 ms, the standard library in 0.8
        # (bench/sync_overhead.py). It reads only UTF-8, which Freshservice sends; whatever it
        # refuses (another encoding, a byte-order mark, NaN) requests decodes, as before. An
        # integer past 64 bits it reads as a float, which no id or field takes (unreadable).
        if response.encoding is None or response.encoding.lower() in _UTF8:
            try:
                return orjson.loads(response.content)
            except orjson.JSONDecodeError:
                pass
        try:
            return response.json()
        except ValueError:
            content_type = response.headers.get("Content-Type", "no content type")
            raise FreshworksResponseError(
                f"Freshservice answered {urlsplit(response.url).path} with something that is "
                f"not JSON ({content_type}): check FRESH_ENDPOINT is the API address, "
                f"e.g. {ENDPOINT_EXAMPLE}"
            ) from None

    def _list_of(self, response: requests.Response, key: str) -> list[Any]:
        body = self._json(response)
        if not isinstance(body, dict) or not isinstance(body.get(key), list):
            raise FreshworksResponseError(
                f"Freshservice answered {urlsplit(response.url).path} without a list of {key}: "
                f"check FRESH_ENDPOINT is the API address, e.g. {ENDPOINT_EXAMPLE}"
            )
        return body[key]

    def _parse_ticket_page(self, response: requests.Response) -> list[Ticket]:
        raws = self._list_of(response, "tickets")
        return [_parse_ticket(raw, position) for position, raw in enumerate(raws, 1)]

    def _parse_agent_page(self, response: requests.Response, listed_active: bool) -> list[Agent]:
        raws = self._list_of(response, "agents")
        return [_parse_agent(raw, position, listed_active) for position, raw in enumerate(raws, 1)]


def _session_for(endpoint: str) -> requests.Session:
    """A session with the environment's proxy and CA-bundle settings (HTTPS_PROXY, NO_PROXY,
    REQUESTS_CA_BUNDLE, ...) for `endpoint` read once, now. requests would read the whole
    environment again, twice, for every request (0.14 ms a request on our machine: more than half
    of what parsing a page of 100 tickets takes)."""
    session = requests.Session()
    found = session.merge_environment_settings(endpoint, {}, None, None, None)
    session.trust_env = False
    session.proxies.update(found["proxies"])
    session.verify = found["verify"]
    return session


def _parse_ticket(raw: object, position: int) -> Ticket:
    raw, ticket_id = _item(raw, "ticket", position)
    stats = raw.get("stats")
    if not isinstance(stats, dict):
        raise FreshworksResponseError(
            f"Freshservice sent ticket {ticket_id} without its stats although include=stats was "
            f"asked, so its closing time is unknown; try again later."
        )
    # Positional: a backfill parses one per ticket, and keywords cost twice as much.
    return Ticket(
        ticket_id,
        _optional_int(raw, "group_id", ticket_id),
        _optional_int(raw, "responder_id", ticket_id),
        _required_int(raw, "status", ticket_id),
        _required_time(raw, "updated_at", ticket_id),
        _optional_time(stats, "resolved_at", ticket_id),
        _optional_time(stats, "closed_at", ticket_id),
        _optional_time(raw, "created_at", ticket_id),
    )


def _parse_group(raw: dict[str, Any], group_id: int) -> Group:
    answered_id = raw.get("id")
    if not _is_int(answered_id):
        raise _bad_field(group_id, "id", answered_id, kind="group")
    name = raw.get("name")
    if not isinstance(name, str):
        raise _bad_field(answered_id, "name", name, kind="group")
    return Group(
        id=answered_id,
        name=name,
        workspace_id=_optional_int(raw, "workspace_id", answered_id, kind="group"),
    )


def _parse_agent(raw: object, position: int, listed_active: bool) -> Agent:
    raw, agent_id = _item(raw, "agent", position)
    active = raw.get("active")
    if active is None:
        # Not in the answer: the listing it came from (active=true or false) says.
        active = listed_active
    elif not isinstance(active, bool):
        raise _bad_field(agent_id, "active", active, kind="agent")
    return Agent(
        id=agent_id,
        first_name=(_optional_str(raw, "first_name", agent_id) or "").strip(),
        last_name=(_optional_str(raw, "last_name", agent_id) or "").strip(),
        email=(_optional_str(raw, "email", agent_id) or "").strip() or None,
        active=active,
    )


def _item(raw: object, kind: str, position: int) -> tuple[dict[str, Any], int]:
    """The `position`th item of a page, which must be an object, and its numeric id."""
    if not isinstance(raw, dict):
        raise FreshworksResponseError(
            f"Freshservice sent {kind} number {position} of a page as something other than an "
            f"object; try again later."
        )
    item_id = raw.get("id")
    if not _is_int(item_id):
        raise FreshworksResponseError(
            f"Freshservice sent {kind} number {position} of a page without a numeric id "
            f"(got {_short_repr(item_id)}); try again later."
        )
    return raw, item_id


def _is_int(value: object) -> TypeGuard[int]:
    """An int that is not a bool (JSON's true is not an id). JSON's numbers are exactly int, so
    that is asked first: it is asked four times per ticket."""
    return type(value) is int or (isinstance(value, int) and not isinstance(value, bool))


def _bad_field(
    item_id: int, field: str, value: object, *, kind: str = "ticket"
) -> FreshworksResponseError:
    return FreshworksResponseError(
        f"Freshservice sent {kind} {item_id} with an unreadable {field} "
        f"({_short_repr(value)}); try again later."
    )


def _required_int(raw: dict[str, Any], field: str, ticket_id: int) -> int:
    value = raw.get(field)
    if not _is_int(value):
        raise _bad_field(ticket_id, field, value)
    return value


def _optional_int(
    raw: dict[str, Any], field: str, item_id: int, *, kind: str = "ticket"
) -> int | None:
    value = raw.get(field)
    if value is not None and not _is_int(value):
        raise _bad_field(item_id, field, value, kind=kind)
    return value


def _optional_str(raw: dict[str, Any], field: str, agent_id: int) -> str | None:
    value = raw.get(field)
    if value is not None and not isinstance(value, str):
        raise _bad_field(agent_id, field, value, kind="agent")
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
    try:
        parsed = datetime.fromisoformat(value)  # TypeError for anything but text
    except (TypeError, ValueError):
        raise _bad_field(ticket_id, field, value) from None
    if parsed.tzinfo is UTC:  # the API's own "…Z": as is, the usual case by far
        return parsed
    # Offsets occur elsewhere in the API's docs; a bare time is UTC.
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def _short_repr(value: object) -> str:
    """The value's repr, whole or not at all: a cut one could hold part of the key, which no
    redaction would then recognise."""
    text = repr(value)
    return text if len(text) <= 40 else f"a {type(value).__name__} of {len(text)} characters"


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


def _origin_text(origin: tuple[str, str, int]) -> str:
    """scheme://host:port, the port always written so http/https and 443/8443 differ visibly."""
    scheme, host, port = origin
    return f"{scheme}://{'[' + host + ']' if ':' in host else host}:{port}"


def _header_int(response: requests.Response, name: str) -> int | None:
    """A non-negative whole-number header (case-insensitive name); None if absent or unusable."""
    value = (response.headers.get(name) or "").strip()
    return int(value) if value.isascii() and value.isdigit() else None


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
