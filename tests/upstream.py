"""The demo's stand-in Freshservice (demo.freshservice) as the tests use it, in two ways.

- `FakeFreshservice`: the stand-in's API behind requests-mock at the configured ENDPOINT, over a
  world of tickets the test puts in by hand. It counts the calls, records every `updated_since`
  it was asked for, may fail on a page, and lets a test act just before each answer. The team's
  group (GROUP_ID, "Service Desk") and a second one (OTHER_GROUP_ID, "Facilities": a second team
  where a test configures it, SPEC §16.5) live in the primary workspace unless a test moves one
  (`move_group`) or removes one (`remove_group`, answering 404). Its agent list is empty unless a
  test puts agents (`put_agents`); `agent_calls` counts its requests apart from `calls`.
- `serve_stand_in`: a generated world served over loopback HTTP, with faults, for the tests that
  drive the real client through sockets (timeouts, dropped connections, other processes).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit
from zoneinfo import ZoneInfo

import requests
from requests_mock import ANY

from demo.freshservice.api import ApiRequest, FreshserviceApi, list_page, parse_since
from demo.freshservice.faults import Faults
from demo.freshservice.server import FreshserviceServer
from demo.freshservice.world import World, generate_world
from tests.conftest import API_KEY, ENDPOINT, GROUP_ID

TICKETS_URL = f"{ENDPOINT}tickets"
# The fake never throttles (a test of the rate budget serves the stand-in instead).
UNTHROTTLED = 1_000_000


class FakeFreshservice:
    """Answers every request to ENDPOINT's host with the stand-in's API over hand-put tickets.

    `put` adds tickets shown as they are, whatever the time; pages hold what the client asks
    for (100) unless `per_page` says otherwise. `calls` counts the requests but those for the
    agent list, which `agent_calls` counts (`put_agents` fills it; empty by default): so the
    group's reads (`group_reads`: a sync's first of the day, or a forced one, makes one more call
    than it lists pages) and the ticket pages (`list_calls`). `asked_since` holds the
    `updated_since` of each fetch (its first page), `fail_on_page = N` answers page N with a 500
    until set back to None, and `before_answer()` runs before each answer (a test may hold one
    back there).
    """

    def __init__(self, requests_mock: Any, *, per_page: int | None = None) -> None:
        self.world = World(group_id=GROUP_ID)
        self.api = FreshserviceApi(self.world, api_key=API_KEY, per_minute=UNTHROTTLED)
        self.faults = Faults(self.api)
        self.per_page = per_page
        self.asked_since: list[datetime] = []
        self.agent_queries: list[dict[str, str]] = []
        self.before_answer: Callable[[], None] = lambda: None
        self._failing_page: int | None = None
        origin = urlunsplit(urlsplit(ENDPOINT)._replace(path="/"))
        self.matcher = requests_mock.register_uri(
            ANY,
            re.compile(re.escape(origin)),
            content=self._respond,
        )

    def put(self, *tickets: dict) -> None:
        """Add or replace tickets (as the vendor would return them)."""
        self.world.put(*tickets)

    def move_group(self, workspace_id: int, group_id: int = GROUP_ID) -> None:
        """Put a group in workspace `workspace_id` (tickets keep their own)."""
        self.world.groups[group_id].workspace_id = workspace_id

    def remove_group(self, group_id: int = GROUP_ID) -> None:
        """The account has no group `group_id` any more: `groups/{group_id}` answers 404."""
        del self.world.groups[group_id]

    @property
    def list_calls(self) -> int:
        """The ticket-list requests alone (the group's reads and the agent list left out)."""
        return sum(
            1 for request in self.matcher.request_history if request.path.endswith("/tickets")
        )

    @property
    def ticket_reads(self) -> int:
        """The requests for one ticket (`GET tickets/{id}`: is a closure that did not come back
        deleted or spam?)."""
        return sum(1 for request in self.matcher.request_history if "/tickets/" in request.path)

    @property
    def group_reads(self) -> int:
        """The requests for a group (`GET groups/{id}`)."""
        return sum(1 for request in self.matcher.request_history if "/groups/" in request.path)

    @property
    def tickets(self) -> dict[int, dict]:
        """The tickets put, by key: a test may list one twice under another key."""
        return self.world.put_tickets

    def put_agents(self, *agents: dict) -> None:
        """Add or replace agents of the account (as `GET agents` returns them)."""
        self.world.put_agent(*agents)

    @property
    def calls(self) -> int:
        """Requests other than the agent list's."""
        return self.matcher.call_count - self.agent_calls

    @property
    def agent_calls(self) -> int:
        """Requests for the agent list (`GET agents`)."""
        return len(self.agent_queries)

    @property
    def fail_on_page(self) -> int | None:
        return self._failing_page

    @fail_on_page.setter
    def fail_on_page(self, page: int | None) -> None:
        self._failing_page = page
        self.faults.reset()
        if page is not None:
            self.faults.fail_on_page(page, 500)

    def _respond(self, request: Any, context: Any) -> bytes:
        url = request.url
        api_request = ApiRequest(request.method, url, request.headers.get("Authorization"))
        parts = urlsplit(url)
        if parts.path.rstrip("/").endswith("/agents"):
            self.agent_queries.append({key: v[-1] for key, v in parse_qs(parts.query).items()})
        since = parse_qs(parts.query).get("updated_since")
        if since and list_page(api_request) == 1:
            self.asked_since.append(parse_since(since[-1]))
        self.before_answer()
        if self.per_page is not None:
            api_request = ApiRequest(
                request.method,
                _with_per_page(url, self.per_page),
                request.headers.get("Authorization"),
            )
        answer = self.faults.handle(api_request)
        if answer is None:
            raise requests.ConnectionError("The stand-in dropped the connection.")
        context.status_code = answer.status
        context.headers.update(answer.headers)
        return answer.body


def _with_per_page(url: str, per_page: int) -> str:
    parts = urlsplit(url)
    query = {key: values[-1] for key, values in parse_qs(parts.query).items()}
    return urlunsplit(parts._replace(query=urlencode(query | {"per_page": per_page})))


@dataclass
class StandIn:
    """A generated world, its API, the faults in front of it and the server serving them."""

    world: World
    api: FreshserviceApi
    faults: Faults
    server: FreshserviceServer

    @property
    def endpoint(self) -> str:
        assert self.server.endpoint is not None
        return self.server.endpoint

    @property
    def calls(self) -> int:
        """HTTP requests received, faulted ones included."""
        return self.server.calls

    @property
    def paths(self) -> list[str]:
        """The paths and queries of the last requests, oldest first."""
        return list(self.server.paths)


@contextmanager
def serve_stand_in(
    *,
    api_key: str,
    clock: Callable[[], datetime],
    tz: str = "UTC",
    per_minute: int = 10_000,
    **world_options: Any,
) -> Iterator[StandIn]:
    """A world generated on `clock()`'s day in `tz`, served on a free port until the block ends."""
    today = clock().astimezone(ZoneInfo(tz)).date()
    world = generate_world(today=today, tz=tz, **world_options)
    api = FreshserviceApi(world, api_key=api_key, per_minute=per_minute, clock=clock)
    faults = Faults(api)
    with FreshserviceServer(faults) as server:
        yield StandIn(world, api, faults, server)
