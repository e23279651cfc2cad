"""A stand-in Freshservice: generated tickets behind the documented list call, on a local port.

Demo mode points the site at it (`manage.py runsite` without FRESH_API), and the tests and
benchmarks drive the real client against it over loopback HTTP. Plain Python, no Django.

What it serves, following reference/freshservice-api.md:
- `GET /api/v2/tickets` with basic auth `(api_key, "X")`: `updated_since` (ISO 8601, `Z` or an
  offset, or a bare date; without it, tickets created in the last 30 days), `include=stats`,
  `per_page` (default 30, 1-100), `page` from 1, `order_type` (`desc` by default, by id),
  `workspace_id` (accepted, ignored), and a `link: <...>; rel="next"` header while pages remain.
- A per-minute credit budget: a list call costs 1, plus 2 per `include`; every answer carries the
  `X-Ratelimit-*` headers, and an exhausted budget answers 429 with `Retry-After` in seconds.
- Vendor-style JSON errors: 400 naming the field, 401, 404, 405.

The world is a pure function of the seed, the zone and the team: for every day of the last
`days` and the next 7, each agent resolves 0-15 tickets in working hours (fewer at weekends),
some of which are auto-closed a day later, among tickets that must not count (another group,
open, pending, custom status 6, no responder, reopened). A ticket's id depends only on its day,
so restarts on later days see the same tickets under the same ids. The API answers as of
`clock()`: a ticket is shown in the last state it reached by then, and not at all before it was
created, so closures appear as time passes.

Faults for tests and benchmarks: `fail_next`, `fail_on_page`, `slow_next`, `invalid_json_next`,
`drop_connection_next`, `reset_faults`.
"""

from __future__ import annotations

import base64
import binascii
import bisect
import contextlib
import json
import logging
import math
import random
import socket
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock_time
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit
from zoneinfo import ZoneInfo

logger = logging.getLogger("freshworks.simulator")

DEFAULT_GROUP_ID = 18000294963
OTHER_GROUP_ID = 18000295127  # another team's group: its closures never count
API_PREFIX = "/api/v2/"
TICKETS_PATH = "/api/v2/tickets"
DEFAULT_PER_PAGE = 30
MAX_PER_PAGE = 100
DEFAULT_WINDOW = timedelta(days=30)  # the vendor's window when updated_since is absent
FUTURE_DAYS = 7
MAX_AGENTS = 500
# Ticket ids are `day number * ID_BLOCK + n`: stable whatever day the simulator starts on.
ID_EPOCH = date(2020, 1, 1)
ID_BLOCK = 10_000
WORK_START = clock_time(8, 0)
WORK_SECONDS = 10 * 3600  # 08:00-18:00 local
RATE_WINDOW_SECONDS = 60.0
INCLUDES = ("stats", "requester", "requested_for", "onboarding_context", "offboarding_context")

_FIRST_NAMES = (
    "Oscar", "Maria", "Aiden", "Priya", "Lukas", "Sofia", "Kwame", "Hannah", "Mateo", "Yuki",
    "Fatima", "Jonas", "Elena", "Tariq", "Chloe", "Ravi", "Ingrid", "Diego", "Amara", "Felix",
    "Leila", "Noah", "Zara", "Emil", "Nadia", "Hugo", "Aisha", "Sven", "Lucia", "Omar",
    "Greta", "Kofi", "Mei", "Pablo", "Anya", "Tomas", "Ines", "Arjun", "Freya", "Malik",
)  # fmt: skip
_LAST_NAMES = (
    "Solis", "Keller", "Brennan", "Nakamura", "Okafor", "Lindqvist", "Petrov", "Haddad",
    "Moreau", "Castillo", "Fischer", "Abara", "Tanaka", "Novak", "Rahman", "Wright", "Jensen",
    "Dubois", "Ivanova", "Mensah", "Quinn", "Varga", "Eriksen", "Yilmaz", "Garcia", "Zhou",
    "Ueda",
)  # fmt: skip
_SUBJECTS = (
    ("VPN drops every hour", "Network"),
    ("Outlook keeps asking for my password", "Software"),
    ("Laptop will not wake from sleep", "Hardware"),
    ("Access to the finance share", "Access"),
    ("New starter: accounts and laptop", "Onboarding"),
    ("Printer on floor 3 jams", "Hardware"),
    ("MFA codes not arriving", "Access"),
    ("Teams calls freeze after a minute", "Software"),
    ("Request a second monitor", "Hardware"),
    ("Wi-Fi slow in meeting room B", "Network"),
    ("Reset password for the HR portal", "Access"),
    ("Excel add-in crashes on start", "Software"),
    ("Phone not syncing mail", "Mobile"),
    ("Install Python on my workstation", "Software"),
    ("Shared mailbox permissions", "Access"),
    ("Docking station not charging", "Hardware"),
)
_EMPTY_STATS: dict[str, Any] = {
    "opened_at": None,
    "group_escalated": False,
    "inbound_count": 1,
    "status_updated_at": None,
    "outbound_count": 0,
    "pending_since": None,
    "resolved_at": None,
    "closed_at": None,
    "first_assigned_at": None,
    "assigned_at": None,
    "agent_responded_at": None,
    "requester_responded_at": None,
    "first_responded_at": None,
    "first_resp_time_in_secs": None,
    "resolution_time_in_secs": 0,
}


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _stream(*key: object) -> random.Random:
    """A reproducible random stream named by `key` (a world to replay, not a secret)."""
    return random.Random(":".join(map(str, key)))  # noqa: S311


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="seconds") + "Z"


@dataclass(frozen=True)
class SimulatedAgent:
    """An agent of the simulated team; `name` is how IDs.txt and the dashboard show them."""

    id: int
    first_name: str
    last_name: str

    @property
    def name(self) -> str:
        return f"{self.first_name} {self.last_name[0]}."

    @property
    def username(self) -> str:
        return f"{self.first_name}.{self.last_name}".lower()


@dataclass
class _Ticket:
    """A ticket's life: `times[i]` is when it reached `states[i]` (its updated_at then)."""

    id: int
    static: dict[str, Any]
    times: list[datetime] = field(default_factory=list)
    states: list[tuple[dict[str, Any], dict[str, Any]]] = field(default_factory=list)

    @property
    def created_at(self) -> datetime:
        return self.times[0]

    def state_at(self, now: datetime) -> int | None:
        """The index of the state shown at `now`; None before the ticket exists."""
        index = bisect.bisect_right(self.times, now)
        return index - 1 if index else None

    def change(self, at: datetime, stats: dict[str, Any] | None = None, **fields: Any) -> None:
        """A new state at `at` (strictly after the last one), carrying the others forward."""
        at = at.replace(microsecond=0)
        if self.times:
            at = max(at, self.times[-1] + timedelta(seconds=1))
            old_fields, old_stats = self.states[-1]
        else:
            old_fields, old_stats = {}, _EMPTY_STATS
        self.times.append(at)
        self.states.append(({**old_fields, **fields}, {**old_stats, **(stats or {})}))

    def render(self, index: int, *, include_stats: bool) -> dict[str, Any]:
        """The vendor's JSON for state `index`, key order as in the API reference."""
        fields, stats = self.states[index]
        updated_at = _iso(self.times[index])
        body = {
            "cc_emails": [],
            "fwd_emails": [],
            "reply_cc_emails": [],
            "fr_escalated": False,
            "spam": False,
            "email_config_id": None,
            "group_id": fields["group_id"],
            "priority": self.static["priority"],
            "requester_id": self.static["requester_id"],
            "requested_for_id": self.static["requester_id"],
            "responder_id": fields["responder_id"],
            "source": self.static["source"],
            "status": fields["status"],
            "subject": self.static["subject"],
            "to_emails": None,
            "department_id": None,
            "id": self.id,
            "type": self.static["type"],
            "due_by": self.static["due_by"],
            "fr_due_by": self.static["fr_due_by"],
            "is_escalated": False,
            "description": f"<div>{self.static['subject']}.</div>",
            "description_text": f"{self.static['subject']}.",
            "category": self.static["category"],
            "sub_category": None,
            "item_category": None,
            "custom_fields": {"custom_text": None, "auto_checkbox": False},
            "workspace_id": 2,
            "created_at": _iso(self.created_at),
            "updated_at": updated_at,
            "deleted": False,
        }
        if include_stats:
            body["stats"] = {
                "created_at": _iso(self.created_at),
                "updated_at": updated_at,
                "ticket_id": self.id,
                **stats,
            }
        return body


@dataclass(frozen=True)
class _Fault:
    kind: str  # "status", "slow", "invalid_json" or "drop"
    status: int = 0
    retry_after: int | None = None
    seconds: float = 0.0


class _Budget:
    """Credits spent over a rolling minute (real time, whatever the simulated clock says)."""

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


def _validation_error(field_name: str, message: str) -> _Reply:
    return _Reply(
        400,
        {
            "description": "Validation failed",
            "errors": [{"field": field_name, "message": message, "code": "invalid_value"}],
        },
    )


def _error_body(status: int) -> dict[str, Any]:
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


class FreshserviceSimulator:
    """Serves a generated Freshservice account on 127.0.0.1 (a free port) from a daemon thread.

    `calls` counts the HTTP requests received (faulted ones included); `paths` keeps the last
    ones (path and query). Use as a context manager, or `start()` and `stop()`.
    """

    def __init__(
        self,
        *,
        api_key: str,
        group_id: int = DEFAULT_GROUP_ID,
        agents: int = 12,
        days: int = 30,
        seed: int = 7,
        tz: str = "UTC",
        per_minute: int = 140,
        clock: Callable[[], datetime] = _utc_now,
    ) -> None:
        if not api_key:
            raise ValueError("api_key must not be empty")
        if not 1 <= agents <= MAX_AGENTS:
            raise ValueError(f"agents must be 1-{MAX_AGENTS}")
        if days < 0 or per_minute < 1:
            raise ValueError("days must be 0 or more and per_minute at least 1")
        self.api_key = api_key
        self.group_id = group_id
        self.days = days
        self.seed = seed
        self.tz = ZoneInfo(tz)
        self.per_minute = per_minute
        self.clock = clock
        self.calls = 0
        self.paths: deque[str] = deque(maxlen=1000)
        self.endpoint: str | None = None
        self.port: int | None = None
        self.agent_profiles = self._make_agents(agents)
        # Each agent's usual number of closures on a working day.
        self._paces = [
            _stream(self.seed, "pace", agent.id).uniform(3, 11) for agent in self.agent_profiles
        ]
        self._lock = threading.Lock()
        self._budget = _Budget(per_minute)
        self._faults: deque[_Fault] = deque()
        self._page_faults: dict[int, int] = {}
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

        today = self._now().astimezone(self.tz).date()
        self.first_day = today - timedelta(days=days)
        self.last_day = today + timedelta(days=FUTURE_DAYS)
        self._tickets: list[_Ticket] = []
        day = self.first_day
        while day <= self.last_day:
            self._tickets.extend(self._day_tickets(day))
            day += timedelta(days=1)
        self._tickets.sort(key=lambda ticket: ticket.id)
        # Every (state time, ticket) and (creation time, ticket), sorted: a window of updated_at
        # or created_at is then two bisections, however large the world.
        self._changes = sorted(
            (moment, position)
            for position, ticket in enumerate(self._tickets)
            for moment in ticket.times
        )
        self._change_times = [moment for moment, _ in self._changes]
        self._creations = sorted(
            (ticket.created_at, position) for position, ticket in enumerate(self._tickets)
        )
        self._creation_times = [moment for moment, _ in self._creations]

    # --- lifecycle ------------------------------------------------------------------------------

    def start(self) -> str:
        """Listen on a free loopback port; returns the API base, `http://127.0.0.1:PORT/api/v2/`."""
        if self._server is not None:
            raise RuntimeError("the simulator is already running")
        server = _Server(("127.0.0.1", 0), _Handler)
        server.simulator = self
        self._server = server
        self.port = server.server_address[1]
        self.endpoint = f"http://127.0.0.1:{self.port}{API_PREFIX}"
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"freshservice-simulator-{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self.endpoint

    def stop(self) -> None:
        """Stop listening; idempotent."""
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        server.server_close()
        server.close_open_connections()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> FreshserviceSimulator:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    # --- the team and the truth -----------------------------------------------------------------

    @property
    def agents(self) -> list[tuple[int, str]]:
        """(Freshservice id, display name such as "Oscar S.") of every agent of the team."""
        return [(agent.id, agent.name) for agent in self.agent_profiles]

    def ids_txt(self) -> str:
        """An IDs.txt for the team: one `Name - ID` line per agent."""
        lines = ["# The demo team of the stand-in Freshservice (freshworks/simulator.py)."]
        lines += [f"{name} - {agent_id}" for agent_id, name in self.agents]
        return "\n".join(lines) + "\n"

    def visible_tickets(
        self, *, now: datetime | None = None, include_stats: bool = True
    ) -> list[dict[str, Any]]:
        """Every ticket as the API would show it at `now` (default the clock), by id."""
        now = now or self._now()
        shown = []
        for ticket in self._tickets:
            index = ticket.state_at(now)
            if index is not None:
                shown.append(ticket.render(index, include_stats=include_stats))
        return shown

    def expected_closures(
        self, *, now: datetime | None = None, statuses: tuple[int, ...] = (4, 5)
    ) -> dict[date, dict[int, int]]:
        """Closures per local day per agent at `now`, counted as SPEC §5 counts them."""
        counts: dict[date, dict[int, int]] = {}
        for ticket in self.visible_tickets(now=now):
            stats = ticket["stats"]
            if (
                ticket["group_id"] != self.group_id
                or ticket["status"] not in statuses
                or ticket["responder_id"] is None
            ):
                continue
            closed = stats["resolved_at"] or stats["closed_at"] or ticket["updated_at"]
            day = datetime.fromisoformat(closed).astimezone(self.tz).date()
            per_agent = counts.setdefault(day, {})
            per_agent[ticket["responder_id"]] = per_agent.get(ticket["responder_id"], 0) + 1
        return counts

    # --- faults ---------------------------------------------------------------------------------

    def fail_next(self, status: int, times: int = 1, *, retry_after: int | None = None) -> None:
        """Answer the next `times` requests with `status` (and `Retry-After` when given)."""
        with self._lock:
            self._faults.extend(
                _Fault("status", status=status, retry_after=retry_after) for _ in range(times)
            )

    def fail_on_page(self, page: int, status: int) -> None:
        """Answer every request for list page `page` with `status` until `reset_faults()`."""
        with self._lock:
            self._page_faults[page] = status

    def slow_next(self, seconds: float) -> None:
        """Hold the next answer back for `seconds` (then answer it normally)."""
        with self._lock:
            self._faults.append(_Fault("slow", seconds=seconds))

    def invalid_json_next(self) -> None:
        """Answer the next request 200 with a body that is not JSON."""
        with self._lock:
            self._faults.append(_Fault("invalid_json"))

    def drop_connection_next(self) -> None:
        """Close the connection of the next request without answering."""
        with self._lock:
            self._faults.append(_Fault("drop"))

    def reset_faults(self) -> None:
        with self._lock:
            self._faults.clear()
            self._page_faults.clear()

    # --- requests -------------------------------------------------------------------------------

    def _now(self) -> datetime:
        now = self.clock()
        return now.replace(tzinfo=UTC) if now.tzinfo is None else now

    def _handle(self, handler: _Handler) -> None:
        with self._lock:
            self.calls += 1
            self.paths.append(handler.path)
            fault = self._faults.popleft() if self._faults else None
        _drain_body(handler)
        if fault is not None and fault.kind == "drop":
            handler.close_connection = True
            return
        if fault is not None and fault.kind == "slow":
            time.sleep(fault.seconds)
        if fault is not None and fault.kind == "invalid_json":
            self._send(handler, 200, b'{"tickets": [{"id": 1, "subj', cost=0)
            return
        if fault is not None and fault.kind == "status":
            self._send_json(
                handler, fault.status, _error_body(fault.status), cost=0, retry=fault.retry_after
            )
            return

        url = urlsplit(handler.path)
        query = parse_qs(url.query, keep_blank_values=True)
        listing = handler.command == "GET" and url.path.rstrip("/") == TICKETS_PATH
        cost = 1 + 2 * len(_includes(query)) if listing else 1
        with self._lock:
            wait = self._budget.charge(cost)
        if wait is not None:
            self._send_json(handler, 429, _error_body(429), cost=0, retry=wait)
            return
        try:
            status, body, headers = self._answer(handler, url.path, query, listing)
        except _Reply as reply:
            self._send_json(handler, reply.status, reply.body, cost=cost)
            return
        except Exception:
            logger.exception("The simulator failed on %s", handler.path)
            self._send_json(handler, 500, _error_body(500), cost=cost)
            return
        self._send_json(handler, status, body, cost=cost, headers=headers)

    def _answer(
        self, handler: _Handler, path: str, query: dict[str, list[str]], listing: bool
    ) -> tuple[int, dict[str, Any], dict[str, str]]:
        if not path.startswith(API_PREFIX):
            raise _Reply(404, _error_body(404))
        if not self._authorised(handler.headers.get("Authorization", "")):
            raise _Reply(401, _error_body(401))
        if path.rstrip("/") != TICKETS_PATH:
            raise _Reply(404, _error_body(404))
        if not listing:
            raise _Reply(405, _error_body(405))
        # Reference: https://api.freshservice.com/#view_all_ticket
        includes = _includes(query)
        unknown = [name for name in includes if name not in INCLUDES]
        if unknown:
            raise _validation_error("include", f"It should be one of these values: {INCLUDES}")
        per_page = _int_param(query, "per_page", DEFAULT_PER_PAGE)
        if not 1 <= per_page <= MAX_PER_PAGE:
            raise _validation_error(
                "per_page", f"It should be a/an Positive Integer up to {MAX_PER_PAGE}"
            )
        page = _int_param(query, "page", 1)
        if page < 1:
            raise _validation_error("page", "It should be a/an Positive Integer")
        order = _last(query, "order_type") or "desc"
        if order not in {"asc", "desc"}:
            raise _validation_error("order_type", "It should be one of these values: asc,desc")
        with self._lock:
            page_fault = self._page_faults.get(page)
        if page_fault is not None:
            raise _Reply(page_fault, _error_body(page_fault))

        now = self._now()
        positions = self._matching(now, _last(query, "updated_since"))
        positions.sort(reverse=order == "desc")
        chunk = positions[(page - 1) * per_page : page * per_page]
        include_stats = "stats" in includes
        tickets = []
        for position in chunk:
            ticket = self._tickets[position]
            index = ticket.state_at(now)
            if index is not None:
                tickets.append(ticket.render(index, include_stats=include_stats))
        headers = {}
        if page * per_page < len(positions):
            following = {key: values[-1] for key, values in query.items()} | {"page": page + 1}
            headers["link"] = f'<{self._origin()}{path}?{urlencode(following)}>; rel="next"'
        return 200, {"tickets": tickets}, headers

    def _matching(self, now: datetime, updated_since: str | None) -> list[int]:
        """Positions of the tickets shown at `now` that the query selects."""
        if updated_since is None:
            # Without updated_since the vendor lists tickets created in the last 30 days.
            low = bisect.bisect_left(self._creation_times, now - DEFAULT_WINDOW)
            high = bisect.bisect_right(self._creation_times, now)
            return [position for _, position in self._creations[low:high]]
        since = _parse_since(updated_since)
        # A ticket's updated_at at `now` is its last change up to `now`; it is at or after
        # `since` exactly when some change lies in [since, now].
        low = bisect.bisect_left(self._change_times, since)
        high = bisect.bisect_right(self._change_times, now)
        return list({position for _, position in self._changes[low:high]})

    def _authorised(self, header: str) -> bool:
        scheme, _, encoded = header.partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            user, _, password = base64.b64decode(encoded, validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return False
        return user == self.api_key and password == "X"

    def _origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _send_json(
        self,
        handler: _Handler,
        status: int,
        body: dict[str, Any],
        *,
        cost: int,
        retry: int | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        extra = dict(headers or {})
        if retry is not None:
            extra["Retry-After"] = str(retry)
        payload = json.dumps(body, separators=(",", ":")).encode()
        self._send(handler, status, payload, cost=cost, headers=extra)

    def _send(
        self,
        handler: _Handler,
        status: int,
        payload: bytes,
        *,
        cost: int,
        headers: dict[str, str] | None = None,
    ) -> None:
        with self._lock:
            remaining = self._budget.remaining()
        try:
            handler.send_response(status)
            handler.send_header("Content-Type", "application/json; charset=utf-8")
            handler.send_header("Content-Length", str(len(payload)))
            handler.send_header("X-Ratelimit-Total", str(self.per_minute))
            handler.send_header("X-Ratelimit-Remaining", str(remaining))
            handler.send_header("X-Ratelimit-Used-CurrentRequest", str(cost))
            handler.send_header("X-Freshservice-Api-Version", "latest=v2; requested=v2")
            for name, value in (headers or {}).items():
                handler.send_header(name, value)
            handler.end_headers()
            handler.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            # The client gave up (a timeout); it has retried or failed on its own.
            handler.close_connection = True

    # --- the world ------------------------------------------------------------------------------

    def _make_agents(self, count: int) -> list[SimulatedAgent]:
        rng = _stream(self.seed, "agents")
        pairs = [(first, last) for first in _FIRST_NAMES for last in _LAST_NAMES]
        rng.shuffle(pairs)
        chosen: list[tuple[str, str]] = []
        names: set[str] = set()
        for first, last in pairs:
            # Display names ("Oscar S.") must tell agents apart.
            if f"{first} {last[0]}." not in names:
                names.add(f"{first} {last[0]}.")
                chosen.append((first, last))
            if len(chosen) == count:
                break
        ids = sorted(rng.sample(range(18_000_100_000, 18_000_199_999), count))
        return [SimulatedAgent(agent_id, *pair) for agent_id, pair in zip(ids, chosen, strict=True)]

    def _day_tickets(self, day: date) -> list[_Ticket]:
        """The tickets whose story centres on `day`, from a random stream of that day alone."""
        rng = _stream(self.seed, self.group_id, day.isoformat())
        weekend = day.weekday() >= 5
        tickets: list[_Ticket] = []
        for agent, pace in zip(self.agent_profiles, self._paces, strict=True):
            if weekend:
                closed = rng.choice((0, 0, 0, 1, 1, 2, 3))
            elif rng.random() < 0.05:
                closed = 0  # a day off
            else:
                closed = min(15, max(0, round(rng.gauss(pace, 2.5))))
            for _ in range(closed):
                tickets.append(self._resolved(rng, day, self.group_id, agent.id))

        team = len(self.agent_profiles)
        scale = 1 if weekend else max(1, team // 4)
        for _ in range(rng.randint(0, 3) * scale):
            # Another group's work, sometimes by one of ours: never counts here.
            responder = (
                rng.choice(self.agent_profiles).id
                if rng.random() < 0.3
                else 18_000_900_000 + rng.randint(1, 40)
            )
            tickets.append(self._resolved(rng, day, OTHER_GROUP_ID, responder))
        for _ in range(rng.randint(0, 2) * scale):
            tickets.append(self._still_open(rng, day))
        if rng.random() < 0.4:
            tickets.append(self._still_open(rng, day, custom_status=6))
        if rng.random() < 0.3:
            tickets.append(self._resolved(rng, day, self.group_id, None))
        if rng.random() < 0.4:
            ticket = self._resolved(rng, day, self.group_id, rng.choice(self.agent_profiles).id)
            # Reopened: out of the closed statuses, the stale resolved_at kept.
            reopened = ticket.times[1] + timedelta(minutes=rng.randint(60, 1200))
            ticket.change(reopened, {"status_updated_at": _iso(reopened)}, status=2)
            tickets.append(ticket)

        if len(tickets) >= ID_BLOCK:
            raise ValueError(f"too many tickets on {day} for its id block")
        tickets.sort(key=lambda ticket: (ticket.created_at, ticket.static["subject"]))
        base = (day - ID_EPOCH).days * ID_BLOCK
        for number, ticket in enumerate(tickets, 1):
            ticket.id = base + number
        return tickets

    def _work_time(self, rng: random.Random, day: date) -> datetime:
        local = datetime.combine(day, WORK_START, tzinfo=self.tz)
        return (local + timedelta(seconds=rng.randrange(WORK_SECONDS))).astimezone(UTC)

    def _new_ticket(self, rng: random.Random, created: datetime, **fields: Any) -> _Ticket:
        subject, category = rng.choice(_SUBJECTS)
        ticket = _Ticket(
            id=0,
            static={
                "subject": subject,
                "category": category,
                "priority": rng.choices((1, 2, 3, 4), weights=(4, 8, 3, 1))[0],
                "source": rng.choice((1, 2, 2, 3, 4, 10, 15)),
                "type": "Incident" if rng.random() < 0.7 else "Service Request",
                "requester_id": 18_000_500_000 + rng.randint(1, 400),
                "due_by": _iso(created + timedelta(days=3)),
                "fr_due_by": _iso(created + timedelta(hours=8)),
            },
        )
        ticket.change(created, **fields)
        return ticket

    def _resolved(
        self, rng: random.Random, day: date, group_id: int, responder: int | None
    ) -> _Ticket:
        """Created up to 3 days earlier, resolved on `day`, half auto-closed a day later."""
        resolved = self._work_time(rng, day)
        age = timedelta(minutes=min(4320, max(5, round(rng.expovariate(1 / 360)))))
        created = resolved - age
        ticket = self._new_ticket(rng, created, group_id=group_id, responder_id=responder, status=2)
        responded = created + age / 3
        ticket.change(
            resolved,
            {
                "status_updated_at": _iso(resolved),
                "resolved_at": _iso(resolved),
                "outbound_count": rng.randint(1, 4),
                "agent_responded_at": _iso(responded),
                "first_responded_at": _iso(responded),
                "first_resp_time_in_secs": int((responded - created).total_seconds()),
                "resolution_time_in_secs": int(age.total_seconds()),
            },
            status=4,
        )
        if rng.random() < 0.5:
            closed = resolved + timedelta(days=1, minutes=rng.randint(0, 120))
            ticket.change(
                closed, {"status_updated_at": _iso(closed), "closed_at": _iso(closed)}, status=5
            )
        return ticket

    def _still_open(self, rng: random.Random, day: date, *, custom_status: int = 0) -> _Ticket:
        """Open, then perhaps pending (or a custom status); never closed."""
        created = self._work_time(rng, day)
        responder = rng.choice(self.agent_profiles).id if rng.random() < 0.8 else None
        ticket = self._new_ticket(
            rng, created, group_id=self.group_id, responder_id=responder, status=2
        )
        later = created + timedelta(minutes=rng.randint(30, 240))
        if custom_status:
            ticket.change(later, {"status_updated_at": _iso(later)}, status=custom_status)
        elif rng.random() < 0.5:
            ticket.change(
                later, {"status_updated_at": _iso(later), "pending_since": _iso(later)}, status=3
            )
        return ticket


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    simulator: FreshserviceSimulator

    def __init__(self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler]) -> None:
        super().__init__(address, handler)
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._open_lock:
            self._open.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._open_lock:
            self._open.discard(request)
        super().shutdown_request(request)

    def close_open_connections(self) -> None:
        """End kept-alive connections too, so a stopped simulator answers nobody."""
        with self._open_lock:
            for request in list(self._open):
                with contextlib.suppress(OSError):
                    request.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that hung up mid-answer is no news; anything else is a simulator bug.
        logger.debug("Simulator connection from %s failed", client_address, exc_info=True)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as requests' pooled session expects
    disable_nagle_algorithm = True  # headers and body go in two writes; don't stall the second
    server: _Server

    def do_GET(self) -> None:
        self.server.simulator._handle(self)

    do_POST = do_PUT = do_PATCH = do_DELETE = do_GET

    def log_message(self, format: str, *args: Any) -> None:
        pass  # quiet: the tests and the demo's console need no access log


def _drain_body(handler: BaseHTTPRequestHandler) -> None:
    length = handler.headers.get("Content-Length")
    if length and length.isdigit():
        handler.rfile.read(int(length))


def _last(query: dict[str, list[str]], name: str) -> str | None:
    values = query.get(name)
    return values[-1] if values else None


def _includes(query: dict[str, list[str]]) -> list[str]:
    raw = _last(query, "include") or ""
    return [part.strip() for part in raw.split(",") if part.strip()]


def _int_param(query: dict[str, list[str]], name: str, default: int) -> int:
    raw = _last(query, name)
    if raw is None:
        return default
    if not (raw.isascii() and raw.lstrip("-").isdigit()):
        raise _validation_error(name, "It should be a/an Positive Integer")
    return int(raw)


def _parse_since(raw: str) -> datetime:
    # An unencoded "+" in an offset arrives as a space.
    text = raw.strip().replace(" ", "+")
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise _validation_error(
            "updated_since", "It should be a date or time in ISO 8601, e.g. 2015-01-19T02:00:00Z"
        ) from None
    # A bare time or date is UTC, as the vendor documents.
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment
