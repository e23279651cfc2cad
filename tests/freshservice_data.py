"""Freshservice payloads for tests, shaped like the vendor's and kept in tests/data/freshservice/.

`ticket.json` is one ticket of `GET /api/v2/tickets?include=stats`; `make_ticket` copies it with
the fields a test cares about overridden. `tickets-page-{1,2,3}.json` are three pages of one
listing; the `link` header that chains them is the test's to set (`next_link`).
`tickets-workspace-5.json` is one page of a group that lives in workspace 5. `agent.json` is
one agent of `GET /api/v2/agents` (`make_agent`), `group.json` the answer of
`GET /api/v2/groups/{id}` (`make_group`); `budget` gives the rate-limit headers of an answer.
"""

from __future__ import annotations

import copy
import json
from functools import cache
from pathlib import Path
from typing import Any

DATA_DIR = Path(__file__).parent / "data" / "freshservice"

# The values of ticket.json, so a test can name them without opening the file.
TICKET_UPDATED_AT = "2026-11-26T09:41:27Z"
TICKET_RESOLVED_AT = "2026-11-26T09:30:05Z"
TICKET_CLOSED_AT = "2026-11-26T09:41:27Z"


@cache
def _load(name: str) -> Any:
    return json.loads((DATA_DIR / name).read_text(encoding="utf-8"))


def load_page(name: str) -> dict[str, Any]:
    """A fresh copy of tests/data/freshservice/<name>.json (the `.json` may be omitted)."""
    filename = name if name.endswith(".json") else f"{name}.json"
    return copy.deepcopy(_load(filename))


def make_ticket(
    *,
    id: int,
    responder_id: int | None = 1001,
    group_id: int | None = 18000294963,
    status: int = 5,
    updated_at: str = TICKET_UPDATED_AT,
    resolved_at: str | None = TICKET_RESOLVED_AT,
    closed_at: str | None = TICKET_CLOSED_AT,
    with_stats: bool = True,
) -> dict[str, Any]:
    """A vendor-shaped ticket: ticket.json with these fields; no `stats` key unless with_stats."""
    ticket = copy.deepcopy(_load("ticket.json"))
    ticket.update(id=id, responder_id=responder_id, group_id=group_id, status=status)
    ticket["updated_at"] = updated_at
    if not with_stats:
        del ticket["stats"]
        return ticket
    ticket["stats"].update(
        ticket_id=id,
        updated_at=updated_at,
        status_updated_at=updated_at,
        resolved_at=resolved_at,
        closed_at=closed_at,
    )
    if resolved_at is None:
        # What Freshservice sends for a ticket that was never resolved.
        ticket["stats"]["resolution_time_in_secs"] = 0
    return ticket


def make_page(*tickets: dict[str, Any]) -> dict[str, Any]:
    """The body of one `GET /api/v2/tickets` page holding these tickets."""
    return {"tickets": list(tickets)}


def next_link(url: str) -> dict[str, str]:
    """Response headers pointing at the next page, as Freshservice sends them."""
    return {"Link": f'<{url}>;rel="next"'}


def make_agent(
    *,
    id: int,
    first_name: str | None = "Freya",
    last_name: str | None = "Quinn",
    email: str | None = "freya.quinn@example.com",
    active: bool = True,
) -> dict[str, Any]:
    """A vendor-shaped agent: agent.json with these fields."""
    agent = copy.deepcopy(_load("agent.json"))
    agent.update(id=id, first_name=first_name, last_name=last_name, email=email, active=active)
    return agent


def make_agent_page(*agents: dict[str, Any]) -> dict[str, Any]:
    """The body of one `GET /api/v2/agents` page holding these agents."""
    return {"agents": list(agents)}


def make_group(
    *, id: int = 18000294963, name: str = "Service Desk", workspace_id: int | None = 2
) -> dict[str, Any]:
    """The body of `GET /api/v2/groups/{id}`: group.json with these fields."""
    body = copy.deepcopy(_load("group.json"))
    body["group"].update(id=id, name=name, workspace_id=workspace_id)
    return body


def budget(*, total: int, remaining: int, used: int = 1) -> dict[str, str]:
    """The rate-limit headers Freshservice sends with every answer (spelled as its docs do)."""
    return {
        "X-Ratelimit-Total": str(total),
        "X-Ratelimit-Remaining": str(remaining),
        "X-Ratelimit-Used-CurrentRequest": str(used),
    }


def make_ticket_view(
    *, id: int, deleted: bool = False, spam: bool = False, group_id: int | None = 18000294963
) -> dict[str, Any]:
    """The body of `GET /api/v2/tickets/{id}`: the vendor's documented sample with these fields."""
    body = copy.deepcopy(_load("ticket-view.json"))
    body["ticket"].update(id=id, deleted=deleted, spam=spam, group_id=group_id, status=5)
    return body
