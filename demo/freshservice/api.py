"""The stand-in Freshservice's API: one request in, one response out. No sockets, no threads.

`FreshserviceApi.handle` answers an `ApiRequest` over a `World` the way the documented API does
(reference/freshservice-api.md); `server.py` serves it over loopback HTTP and the tests plug it
into requests-mock (tests/upstream.py). What it answers:
- `GET /api/v2/tickets` with basic auth `(api_key, "X")`: `updated_since` (ISO 8601, `Z` or an
  offset, or a bare date; without it, tickets created in the last 30 days), `include=stats`,
  `per_page` (default 30, 1-100), `page` from 1, `order_type` (`desc` by default, by id),
  `workspace_id` (without it only the primary workspace's tickets; 0 all workspaces); deleted
  and spam tickets are left out. While pages remain, a `link: <…/api/v2/tickets?page=N>;
  rel="next"` header that, like the vendor's only documented example, carries the page alone
  (SPEC §14.1: a client must send its own parameters again).
- `GET /api/v2/groups/{id}`: `{"group": {...}}` with the group's name and `workspace_id`; 404 for
  a group the account does not have.
- `GET /api/v2/agents`: `active=true|false`, `per_page` (default 30, 1-100), `page`; sorted by
  first name; a `link` carrying only the next `page` while pages remain.
- A per-minute credit budget: a list call costs 1, plus 2 per `include`; every answer carries the
  `X-Ratelimit-*` headers, and an exhausted budget answers 429 with `Retry-After` in seconds.
- Vendor-style JSON errors: 400 naming the field, 401, 404, 405.
- `GET /a/tickets/{id}`: a small HTML page standing in for the agent portal's ticket page, where
  the dashboard's ticket links lead (no log-in, no credit; 404 for a ticket it does not have).
The world is shown as of `clock()`.
"""

from __future__ import annotations

import base64
import binascii
import html
import json
import logging
import math
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from demo.freshservice.world import World

logger = logging.getLogger("demo.freshservice")

API_PREFIX = "/api/v2/"
TICKETS_PATH = "/api/v2/tickets"
GROUPS_PATH = "/api/v2/groups/"
AGENTS_PATH = "/api/v2/agents"
PORTAL_TICKET_PATH = "/a/tickets/"
DEFAULT_PER_PAGE = 30
MAX_PER_PAGE = 100
DEFAULT_PER_MINUTE = 140  # credits a minute, as on a small plan
RATE_WINDOW_SECONDS = 60.0
INCLUDES = ("stats", "requester", "requested_for", "onboarding_context", "offboarding_context")


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class ApiRequest:
    """What the API reads of a request: the verb, the absolute URL, the Authorization header."""

    method: str
    url: str
    authorization: str | None = None


@dataclass(frozen=True)
class ApiResponse:
    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)

    def json(self) -> Any:
        return json.loads(self.body)


class RateBudget:
    """Credits spent over a rolling minute (real time, whatever the world's clock says)."""

    def __init__(self, per_minute: int, monotonic: Callable[[], float] = time.monotonic) -> None:
        self.per_minute = per_minute
        self._monotonic = monotonic
        self._spent: deque[tuple[float, int]] = deque()

    def _used(self, now: float) -> int:
        while self._spent and self._spent[0][0] <= now - RATE_WINDOW_SECONDS:
            self._spent.popleft()
        return sum(cost for _, cost in self._spent)

    def remaining(self) -> int:
        return max(0, self.per_minute - self._used(self._monotonic()))

    def charge(self, cost: int) -> int | None:
        """Spend `cost`; None when spent, else the whole seconds until it could be."""
        now = self._monotonic()
        used = self._used(now)
        if used + cost <= self.per_minute:
            self._spent.append((now, cost))
            return None
        freed = 0
        for at, spent in self._spent:
            freed += spent
            if used - freed + cost <= self.per_minute:
                return max(1, math.ceil(at + RATE_WINDOW_SECONDS - now))
        return math.ceil(RATE_WINDOW_SECONDS)


class _Reply(Exception):
    """Raised inside request handling to answer at once with a vendor-style error."""

    def __init__(self, status: int, body: dict[str, Any]) -> None:
        super().__init__(status)
        self.status = status
        self.body = body


class FreshserviceApi:
    """The documented API over `world`, for one API key; `handle` is safe from many threads."""

    def __init__(
        self,
        world: World,
        *,
        api_key: str,
        per_minute: int = DEFAULT_PER_MINUTE,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        if not api_key:
            raise ValueError("api_key must not be empty")
        if per_minute < 1:
            raise ValueError("per_minute must be at least 1")
        self.world = world
        self.api_key = api_key
        self.per_minute = per_minute
        self.clock = clock
        self._budget = RateBudget(per_minute)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        """The moment the world is shown as of (the clock; naive means UTC)."""
        now = self.clock()
        return now.replace(tzinfo=UTC) if now.tzinfo is None else now

    def handle(self, request: ApiRequest) -> ApiResponse:
        """The answer to `request`; a bug inside answers a vendor-style 500 and is logged."""
        url = urlsplit(request.url)
        if request.method == "GET" and url.path.startswith(PORTAL_TICKET_PATH):
            return self._portal_ticket(url.path[len(PORTAL_TICKET_PATH) :].rstrip("/"))
        query = parse_qs(url.query, keep_blank_values=True)
        listing = request.method == "GET" and url.path.rstrip("/") == TICKETS_PATH
        cost = 1 + 2 * len(_includes(query)) if listing else 1
        with self._lock:
            wait = self._budget.charge(cost)
        if wait is not None:
            return self.error(429, retry_after=wait)
        try:
            body, headers = self._answer(request, url.path, query, listing)
        except _Reply as reply:
            return self._json(reply.status, reply.body, cost=cost)
        except Exception:
            logger.exception("The stand-in Freshservice failed on %s", request.url)
            return self._json(500, error_body(500), cost=cost)
        return self._json(200, body, cost=cost, headers=headers)

    def error(self, status: int, *, retry_after: int | None = None) -> ApiResponse:
        """A vendor-style error answer costing no credit (`Retry-After` when given)."""
        headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}
        return self._json(status, error_body(status), cost=0, headers=headers)

    def headers(self, *, cost: int) -> dict[str, str]:
        """The headers of every answer: JSON, and what is left of the minute's credits."""
        with self._lock:
            remaining = self._budget.remaining()
        return {
            "Content-Type": "application/json; charset=utf-8",
            "X-Ratelimit-Total": str(self.per_minute),
            "X-Ratelimit-Remaining": str(remaining),
            "X-Ratelimit-Used-CurrentRequest": str(cost),
            "X-Freshservice-Api-Version": "latest=v2; requested=v2",
        }

    def _json(
        self,
        status: int,
        body: dict[str, Any],
        *,
        cost: int,
        headers: dict[str, str] | None = None,
    ) -> ApiResponse:
        payload = json.dumps(body, separators=(",", ":")).encode()
        return ApiResponse(status, payload, self.headers(cost=cost) | (headers or {}))

    def _answer(
        self, request: ApiRequest, path: str, query: dict[str, list[str]], listing: bool
    ) -> tuple[dict[str, Any], dict[str, str]]:
        if not path.startswith(API_PREFIX):
            raise _Reply(404, error_body(404))
        if not self._authorised(request.authorization or ""):
            raise _Reply(401, error_body(401))
        if path.startswith(GROUPS_PATH):
            return self._group(request, path), {}
        if path.rstrip("/") == AGENTS_PATH:
            return self._agents(request, query)
        if path.startswith(TICKETS_PATH + "/"):
            return self._ticket(request, path), {}
        if path.rstrip("/") != TICKETS_PATH:
            raise _Reply(404, error_body(404))
        if not listing:
            raise _Reply(405, error_body(405))
        # Reference: https://api.freshservice.com/#view_all_ticket
        includes = _includes(query)
        unknown = [name for name in includes if name not in INCLUDES]
        if unknown:
            raise _validation_error("include", f"It should be one of these values: {INCLUDES}")
        page, per_page = _paging(query)
        order = _last(query, "order_type") or "desc"
        if order not in {"asc", "desc"}:
            raise _validation_error("order_type", "It should be one of these values: asc,desc")
        workspace = _int_param(query, "workspace_id", 0) if "workspace_id" in query else None
        if workspace is not None and workspace < 0:
            raise _validation_error("workspace_id", "It should be a/an Positive Integer")
        raw_since = _last(query, "updated_since")
        try:
            since = None if raw_since is None else parse_since(raw_since)
        except ValueError:
            raise _validation_error(
                "updated_since",
                "It should be a date or time in ISO 8601, e.g. 2015-01-19T02:00:00Z",
            ) from None

        tickets, total = self.world.list_tickets(
            now=self.now(),
            updated_since=since,
            descending=order == "desc",
            offset=(page - 1) * per_page,
            limit=per_page,
            include_stats="stats" in includes,
            workspace_id=workspace,
        )
        headers = {}
        if page * per_page < total:
            # The vendor's documented link names the next page and nothing of the query.
            origin = urlsplit(request.url)._replace(path="", query="", fragment="").geturl()
            headers["link"] = f'<{origin}{path}?{urlencode({"page": page + 1})}>; rel="next"'
        return {"tickets": tickets}, headers

    def _ticket(self, request: ApiRequest, path: str) -> dict[str, Any]:
        # Reference: https://api.freshservice.com/#view_a_ticket — deleted and spam tickets are
        # shown here with their flags, though the list leaves them out.
        if request.method != "GET":
            raise _Reply(405, error_body(405))
        raw = path[len(TICKETS_PATH) + 1 :].rstrip("/")
        ticket = (
            self.world.view_ticket(int(raw), now=self.now())
            if raw.isascii() and raw.isdigit()
            else None
        )
        if ticket is None:
            raise _Reply(404, error_body(404))
        return {"ticket": ticket}

    def _portal_ticket(self, raw: str) -> ApiResponse:
        """The agent portal's ticket page, in the demo: what the stand-in knows of the ticket."""
        ticket = (
            self.world.view_ticket(int(raw), now=self.now())
            if raw.isascii() and raw.isdigit()
            else None
        )
        title = f"Ticket #{raw}" if ticket else "No such ticket"
        rows = "".join(
            f"<dt>{html.escape(name)}</dt><dd>{html.escape(str(ticket.get(key)))}</dd>"
            for name, key in [
                ("Subject", "subject"),
                ("Status", "status"),
                ("Agent (responder id)", "responder_id"),
                ("Group", "group_id"),
                ("Updated at", "updated_at"),
            ]
            if ticket
        )
        page = (
            f"<!doctype html><html lang=en><meta charset=utf-8><title>{html.escape(title)}</title>"
            f"<h1>{html.escape(title)}</h1><p>The demo's stand-in for Freshservice's ticket page "
            f"(in production this link opens the ticket in Freshservice).</p><dl>{rows}</dl></html>"
        )
        return ApiResponse(
            200 if ticket else 404, page.encode(), {"Content-Type": "text/html; charset=utf-8"}
        )

    def _group(self, request: ApiRequest, path: str) -> dict[str, Any]:
        # Reference: https://api.freshservice.com/#view_a_group
        if request.method != "GET":
            raise _Reply(405, error_body(405))
        raw = path[len(GROUPS_PATH) :].rstrip("/")
        group = self.world.group(int(raw)) if raw.isascii() and raw.isdigit() else None
        if group is None:
            raise _Reply(404, error_body(404))
        return {"group": group.render()}

    def _agents(
        self, request: ApiRequest, query: dict[str, list[str]]
    ) -> tuple[dict[str, Any], dict[str, str]]:
        """`GET agents`: `active=true|false` (else every agent), `per_page` (default 30, 1-100),
        `page` from 1; the `link` to the next page carries only `page`, as the vendor's only
        documented example does."""
        # Reference: https://api.freshservice.com/#list_all_agents
        if request.method != "GET":
            raise _Reply(405, error_body(405))
        raw_active = _last(query, "active")
        if raw_active not in (None, "true", "false"):
            raise _validation_error("active", "It should be one of these values: true,false")
        page, per_page = _paging(query)
        agents, total = self.world.list_agents(
            active=None if raw_active is None else raw_active == "true",
            offset=(page - 1) * per_page,
            limit=per_page,
        )
        headers = {}
        if page * per_page < total:
            origin = urlsplit(request.url)._replace(path="", query="", fragment="").geturl()
            headers["link"] = f'<{origin}{AGENTS_PATH}?page={page + 1}>; rel="next"'
        return {"agents": agents}, headers

    def _authorised(self, header: str) -> bool:
        scheme, _, encoded = header.partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            user, _, password = base64.b64decode(encoded, validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return False
        return user == self.api_key and password == "X"


def error_body(status: int) -> dict[str, Any]:
    """The vendor's error JSON for `status`."""
    if status == 401:
        return {
            "code": "invalid_credentials",
            "message": "You have to be logged in to perform this action.",
        }
    if status == 429:
        return {"code": "rate_limit_exceeded", "message": "You have exceeded the limit of requests"}
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = "Error"
    return {"code": phrase.lower().replace(" ", "_"), "message": phrase}


def parse_since(raw: str) -> datetime:
    """`updated_since` as the vendor reads it: ISO 8601, a bare date or time being UTC.

    Raises ValueError for anything else.
    """
    # An unencoded "+" in an offset arrives as a space.
    moment = datetime.fromisoformat(raw.strip().replace(" ", "+"))
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def list_page(request: ApiRequest) -> int | None:
    """The page a list call asks for (1 when it names none); None for any other request."""
    url = urlsplit(request.url)
    if request.method != "GET" or url.path.rstrip("/") != TICKETS_PATH:
        return None
    raw = _last(parse_qs(url.query, keep_blank_values=True), "page") or "1"
    return int(raw) if raw.isascii() and raw.isdigit() else None


def _validation_error(field_name: str, message: str) -> _Reply:
    return _Reply(
        400,
        {
            "description": "Validation failed",
            "errors": [{"field": field_name, "message": message, "code": "invalid_value"}],
        },
    )


def _last(query: dict[str, list[str]], name: str) -> str | None:
    values = query.get(name)
    return values[-1] if values else None


def _includes(query: dict[str, list[str]]) -> list[str]:
    raw = _last(query, "include") or ""
    return [part.strip() for part in raw.split(",") if part.strip()]


def _paging(query: dict[str, list[str]]) -> tuple[int, int]:
    """`page` (from 1) and `per_page` (default 30, 1-100) of a list call, as the vendor checks
    them."""
    per_page = _int_param(query, "per_page", DEFAULT_PER_PAGE)
    if not 1 <= per_page <= MAX_PER_PAGE:
        raise _validation_error(
            "per_page", f"It should be a/an Positive Integer up to {MAX_PER_PAGE}"
        )
    page = _int_param(query, "page", 1)
    if page < 1:
        raise _validation_error("page", "It should be a/an Positive Integer")
    return page, per_page


def _int_param(query: dict[str, list[str]], name: str, default: int) -> int:
    raw = _last(query, name)
    if raw is None:
        return default
    if not (raw.isascii() and raw.lstrip("-").isdigit()):
        raise _validation_error(name, "It should be a/an Positive Integer")
    return int(raw)
