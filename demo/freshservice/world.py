"""The stand-in Freshservice's account: its agents and the life of every ticket. No HTTP.

A world is either generated (`generate_world`) or built by hand (`World` plus `put`), or both.

A generated world is a pure function of the seed, the zone, the team and the day it is made on:
for every day of the last `days` and the next 7, each agent resolves 0-15 tickets in working
hours (fewer at weekends), some of which are auto-closed a day later, among tickets that must
not count (another group, open, pending, custom status 6, no responder, reopened). A ticket's id
depends only on its day, so worlds made on later days hold the same tickets under the same ids.
A generated ticket has a history: shown as of a moment `now`, it is in the last state it reached
by then, and not there at all before it was created, so closures appear as time passes.

Tickets put by hand (vendor-shaped dicts, as the tests write them) are shown as they were put,
whatever the moment.

As in Freshservice (SPEC §14): agent groups live in a workspace (`groups`; the team's is in the
primary one unless moved), a list call without `workspace_id` shows only the primary workspace's
tickets, and deleted or spam tickets are never listed.

The account's agents (`GET agents`, `list_agents`): the team (`agents`, active, `First L.` names
and `first.last@example.com` emails) and, in a generated world, the other group's 40 agents, a
quarter of them deactivated; agents put by hand (`put_agent`) are listed as they were put.

`expected_closures` is the answer key: what the sync must count, by SPEC §5's rule.
"""

from __future__ import annotations

import bisect
import random
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock_time
from typing import Any
from zoneinfo import ZoneInfo

DEFAULT_GROUP_ID = 18000294963
DEFAULT_GROUP_NAME = "Service Desk"
OTHER_GROUP_ID = 18000295127  # another team's group: counts only where configured (the demo)
OTHER_GROUP_NAME = "Facilities"
# The account's primary workspace: the only one a list call without workspace_id shows, and the
# one a ticket without a `workspace_id` belongs to. 0 asks for all workspaces.
PRIMARY_WORKSPACE_ID = 2
ALL_WORKSPACES = 0
# The other team's agents (responders of its tickets): ids OTHER_AGENT_BASE + 1..OTHER_AGENTS.
OTHER_AGENT_BASE = 18_000_900_000
OTHER_AGENTS = 40
AGENT_EMAIL_DOMAIN = "example.com"
DEFAULT_WINDOW = timedelta(days=30)  # the vendor's window when updated_since is absent
FUTURE_DAYS = 7
MAX_AGENTS = 500
# Ticket ids are `day number * ID_BLOCK + n`: stable whatever day the world is made on.
ID_EPOCH = date(2020, 1, 1)
ID_BLOCK = 10_000
WORK_START = clock_time(8, 0)
WORK_SECONDS = 10 * 3600  # 08:00-18:00 local

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


def _stream(*key: object) -> random.Random:
    """A reproducible random stream named by `key` (a world to replay, not a secret)."""
    return random.Random(":".join(map(str, key)))  # noqa: S311


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="seconds") + "Z"


def _time(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


@dataclass(frozen=True)
class Agent:
    """An agent of the account; `name` is how the dashboard shows them (`First L.`)."""

    id: int
    first_name: str
    last_name: str
    active: bool = True

    @property
    def name(self) -> str:
        return f"{self.first_name} {self.last_name[0]}."

    @property
    def username(self) -> str:
        return f"{self.first_name}.{self.last_name}".lower()

    @property
    def email(self) -> str:
        return f"{self.username}@{AGENT_EMAIL_DOMAIN}"

    def render(self, group_id: int) -> dict[str, Any]:
        """The vendor's JSON for this agent in `GET agents` (tests/data/freshservice/agent.json)."""
        return {
            "id": self.id,
            "first_name": self.first_name,
            "last_name": self.last_name,
            "occasional": False,
            "active": self.active,
            "job_title": "Service Desk Analyst",
            "email": self.email,
            "work_phone_number": None,
            "mobile_phone_number": None,
            "department_ids": [],
            "reporting_manager_id": None,
            "time_zone": "Edinburgh",
            "language": "en",
            "location_id": None,
            "member_of": [group_id],
            "observer_of": [],
            "roles": [{"role_id": 21000150295, "assignment_scope": "member_groups", "groups": []}],
            "last_login_at": None,
            "custom_fields": {},
            "has_logged_in": self.active,
            "created_at": "2024-03-04T09:12:55Z",
            "updated_at": "2026-01-05T07:46:41Z",
        }


@dataclass
class AgentGroup:
    """An agent group of the account and the workspace it lives in."""

    id: int
    name: str
    workspace_id: int = PRIMARY_WORKSPACE_ID

    def render(self) -> dict[str, Any]:
        """The vendor's `group` object of `GET groups/{id}`, key order as in its reference."""
        return {
            "id": self.id,
            "name": self.name,
            "description": f"{self.name} of the stand-in account.",
            "escalate_to": None,
            "unassigned_for": "30m",
            "business_hours_id": None,
            "created_at": "2024-03-04T09:10:02Z",
            "updated_at": "2026-06-17T14:22:40Z",
            "auto_ticket_assign": False,
            "restricted": False,
            "approval_required": False,
            "workspace_id": self.workspace_id,
            "members": [],
            "observers": [],
            "leaders": [],
            "members_pending_approval": [],
            "leaders_pending_approval": [],
            "observers_pending_approval": [],
        }


def _hidden(ticket: dict[str, Any]) -> bool:
    """Deleted and spam tickets: the list call leaves them out (filter=deleted/spam shows them)."""
    return bool(ticket.get("deleted") or ticket.get("spam"))


@dataclass
class TicketHistory:
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

    def is_hidden(self, index: int) -> bool:
        """Deleted or marked spam in state `index`."""
        return _hidden(self.states[index][0])

    def render(
        self, index: int, *, include_stats: bool, workspace_id: int = PRIMARY_WORKSPACE_ID
    ) -> dict[str, Any]:
        """The vendor's JSON for state `index`, key order as in the API reference."""
        fields, stats = self.states[index]
        updated_at = _iso(self.times[index])
        body = {
            "cc_emails": [],
            "fwd_emails": [],
            "reply_cc_emails": [],
            "fr_escalated": False,
            "spam": fields.get("spam", False),
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
            "workspace_id": workspace_id,
            "created_at": _iso(self.created_at),
            "updated_at": updated_at,
            "deleted": fields.get("deleted", False),
        }
        if include_stats:
            body["stats"] = {
                "created_at": _iso(self.created_at),
                "updated_at": updated_at,
                "ticket_id": self.id,
                **stats,
            }
        return body


class World:
    """One Freshservice account: its team (`agents`), their group and its tickets, as of any moment.

    `histories` are generated tickets (see `generate_world`); `put()` adds tickets by hand.
    `first_day`..`last_day` are the days a generated world covers (None when built by hand).
    `groups` are the account's agent groups by id: the team's (`group_id`, named `group_name`, in
    workspace `workspace_id`) and another team's; a test may move or remove one.
    """

    def __init__(
        self,
        *,
        group_id: int = DEFAULT_GROUP_ID,
        group_name: str = DEFAULT_GROUP_NAME,
        workspace_id: int = PRIMARY_WORKSPACE_ID,
        tz: str = "UTC",
        agents: Iterable[Agent] = (),
        other_agents: Iterable[Agent] = (),
        histories: Iterable[TicketHistory] = (),
        first_day: date | None = None,
        last_day: date | None = None,
    ) -> None:
        self.group_id = group_id
        self.groups: dict[int, AgentGroup] = {
            OTHER_GROUP_ID: AgentGroup(OTHER_GROUP_ID, OTHER_GROUP_NAME),
            group_id: AgentGroup(group_id, group_name, workspace_id),
        }
        self.tz = ZoneInfo(tz)
        self.agents = list(agents)
        # The account's other agents (another team's, some of them deactivated): listed by
        # `GET agents`, never responders in the group.
        self.other_agents = list(other_agents)
        # Agents put by hand (vendor-shaped dicts), by id.
        self.put_agents: dict[int, dict[str, Any]] = {}
        self.first_day = first_day
        self.last_day = last_day
        # Tickets put by hand, by key (their id, unless a test means to list one twice).
        self.put_tickets: dict[int, dict[str, Any]] = {}
        self._histories = sorted(histories, key=lambda ticket: ticket.id)
        # Every (state time, ticket) and (creation time, ticket), sorted: a window of updated_at
        # or created_at is then two bisections, however large the world.
        self._changes = sorted(
            (moment, position)
            for position, ticket in enumerate(self._histories)
            for moment in ticket.times
        )
        self._change_times = [moment for moment, _ in self._changes]
        self._creations = sorted(
            (ticket.created_at, position) for position, ticket in enumerate(self._histories)
        )
        self._creation_times = [moment for moment, _ in self._creations]
        # The last listing of the generated world: (its query, the positions it selects).
        self._last_listing: tuple[tuple[Any, ...], list[int]] | None = None
        # Whether any generated ticket is ever deleted or spam (else listing skips the check).
        self._hides = any(
            ticket.is_hidden(index)
            for ticket in self._histories
            for index in range(len(ticket.states))
        )

    # --- groups and workspaces ------------------------------------------------------------------

    def group(self, group_id: int) -> AgentGroup | None:
        """The agent group `group_id`, None when the account has none."""
        return self.groups.get(group_id)

    def workspace_of(self, group_id: int | None) -> int:
        """The workspace of a ticket in `group_id`: its group's, else the primary one."""
        group = self.groups.get(group_id) if group_id is not None else None
        return group.workspace_id if group else PRIMARY_WORKSPACE_ID

    # --- tickets by hand ------------------------------------------------------------------------

    def put(self, *tickets: dict[str, Any]) -> None:
        """Add or replace tickets as the vendor returns them (with `stats`, or without it).

        A ticket's own `workspace_id` (primary when absent) says which listings show it, and
        one with `deleted` or `spam` true is never listed.
        """
        for ticket in tickets:
            self.put_tickets[ticket["id"]] = ticket

    def put_agent(self, *agents: dict[str, Any]) -> None:
        """Add or replace agents as `GET agents` returns them."""
        for agent in agents:
            self.put_agents[agent["id"]] = agent

    # --- what the API lists ---------------------------------------------------------------------

    def list_agents(
        self, *, active: bool | None, offset: int, limit: int
    ) -> tuple[list[dict[str, Any]], int]:
        """One page of `GET agents` (with `active=true|false`, or every agent when None), sorted
        by first name as the vendor documents; and how many match in all."""
        listed = {
            agent.id: agent.render(self.group_id) for agent in [*self.agents, *self.other_agents]
        }
        listed |= self.put_agents
        matching = [
            agent
            for agent in listed.values()
            if active is None or bool(agent.get("active", True)) == active
        ]
        matching.sort(key=lambda agent: ((agent.get("first_name") or "").casefold(), agent["id"]))
        return matching[offset : offset + limit], len(matching)

    def list_tickets(
        self,
        *,
        now: datetime,
        updated_since: datetime | None,
        descending: bool,
        offset: int,
        limit: int,
        include_stats: bool,
        workspace_id: int | None = None,
    ) -> tuple[list[dict[str, Any]], int]:
        """One page of the list call at `now`, ordered by id; and how many match in all.

        With `updated_since`, every ticket last updated at or after it; without it, as the
        vendor does, the tickets created in the 30 days before `now`. Only the tickets of
        `workspace_id` (None: the primary workspace, 0: all), never deleted or spam ones.
        """
        wanted = PRIMARY_WORKSPACE_ID if workspace_id is None else workspace_id
        if not self.put_tickets:
            # The generated world alone (demo, benchmarks): the same query page after page
            # selects the same tickets, so the selection is kept for the next page.
            key = (now, updated_since, wanted, descending, self._workspaces())
            if self._last_listing is None or self._last_listing[0] != key:
                positions = self._listed(self._matching(now, updated_since), now, wanted)
                positions.sort(reverse=descending)
                self._last_listing = (key, positions)
            positions = self._last_listing[1]
            chunk = positions[offset : offset + limit]
            return [self._render(p, now, include_stats) for p in chunk], len(positions)
        positions = self._listed(self._matching(now, updated_since), now, wanted)
        put = [
            ticket
            for ticket in self._put_matching(now, updated_since)
            if not _hidden(ticket)
            and wanted in (ALL_WORKSPACES, ticket.get("workspace_id", PRIMARY_WORKSPACE_ID))
        ]
        overridden = {ticket["id"] for ticket in self.put_tickets.values()}
        if overridden:
            positions = [p for p in positions if self._histories[p].id not in overridden]
        total = len(positions) + len(put)
        if not put:
            # The generated world alone (demo, benchmarks): render only the page asked for.
            positions.sort(reverse=descending)
            chunk = positions[offset : offset + limit]
            return [self._render(p, now, include_stats) for p in chunk], total
        entries: list[tuple[int, int, int | dict[str, Any]]] = [
            (self._histories[p].id, 0, p) for p in positions
        ]
        entries += [(ticket["id"], 1, ticket) for ticket in put]
        entries.sort(key=lambda entry: entry[0], reverse=descending)
        page = []
        for _, _, entry in entries[offset : offset + limit]:
            if isinstance(entry, int):
                page.append(self._render(entry, now, include_stats))
            else:
                page.append(_as_listed(entry, include_stats=include_stats))
        return page, total

    def view_ticket(self, ticket_id: int, *, now: datetime) -> dict[str, Any] | None:
        """`GET tickets/{id}` at `now`: the ticket as it is then, deleted and spam ones too (with
        their flags), without `stats`; None when it does not exist (yet)."""
        put = self.put_tickets.get(ticket_id)
        if put is not None:
            return _as_listed(put, include_stats=False)
        position = bisect.bisect_left(self._histories, ticket_id, key=lambda ticket: ticket.id)
        if position == len(self._histories) or self._histories[position].id != ticket_id:
            return None
        if self._histories[position].state_at(now) is None:
            return None
        return self._render(position, now, include_stats=False)

    def visible_tickets(self, *, now: datetime, include_stats: bool = True) -> list[dict[str, Any]]:
        """Every ticket of every workspace as the API would show it at `now`, by id; deleted and
        spam tickets left out."""
        put = {ticket["id"]: ticket for ticket in self.put_tickets.values()}
        shown = []
        for position, ticket in enumerate(self._histories):
            index = ticket.state_at(now)
            if index is not None and ticket.id not in put and not ticket.is_hidden(index):
                shown.append(self._render(position, now, include_stats))
        shown += [
            _as_listed(ticket, include_stats=include_stats)
            for ticket in put.values()
            if not _hidden(ticket)
        ]
        return sorted(shown, key=lambda ticket: ticket["id"])

    def _render(self, position: int, now: datetime, include_stats: bool) -> dict[str, Any]:
        ticket = self._histories[position]
        index = ticket.state_at(now)
        assert index is not None  # matched at `now`, so it exists by then
        workspace = self.workspace_of(ticket.states[index][0]["group_id"])
        return ticket.render(index, include_stats=include_stats, workspace_id=workspace)

    def _workspaces(self) -> tuple[tuple[int, int], ...]:
        """Which workspace each group is in now (a test may move one between two listings)."""
        return tuple((group.id, group.workspace_id) for group in self.groups.values())

    def _listed(self, positions: list[int], now: datetime, wanted: int) -> list[int]:
        """`positions` less the tickets a listing of workspace `wanted` leaves out at `now`."""
        every_group_in_it = all(group.workspace_id == wanted for group in self.groups.values())
        if not self._hides and (
            wanted == ALL_WORKSPACES or (wanted == PRIMARY_WORKSPACE_ID and every_group_in_it)
        ):
            return positions  # nothing to leave out (the demo's and the benchmarks' worlds)
        kept = []
        for position in positions:
            ticket = self._histories[position]
            index = ticket.state_at(now)
            if index is None or ticket.is_hidden(index):
                continue
            if wanted in (ALL_WORKSPACES, self.workspace_of(ticket.states[index][0]["group_id"])):
                kept.append(position)
        return kept

    def _matching(self, now: datetime, updated_since: datetime | None) -> list[int]:
        """Positions of the generated tickets shown at `now` that the query selects."""
        if updated_since is None:
            low = bisect.bisect_left(self._creation_times, now - DEFAULT_WINDOW)
            high = bisect.bisect_right(self._creation_times, now)
            return [position for _, position in self._creations[low:high]]
        # A ticket's updated_at at `now` is its last change up to `now`; it is at or after
        # `since` exactly when some change lies in [since, now].
        low = bisect.bisect_left(self._change_times, updated_since)
        high = bisect.bisect_right(self._change_times, now)
        return list({position for _, position in self._changes[low:high]})

    def _put_matching(self, now: datetime, updated_since: datetime | None) -> list[dict[str, Any]]:
        if updated_since is not None:
            return [
                ticket
                for ticket in self.put_tickets.values()
                if _time(ticket["updated_at"]) >= updated_since
            ]
        return [
            ticket
            for ticket in self.put_tickets.values()
            if "created_at" not in ticket or _time(ticket["created_at"]) >= now - DEFAULT_WINDOW
        ]

    # --- the team and the truth -----------------------------------------------------------------

    def ids_txt(self) -> str:
        """An IDs.txt for the team: one `Name - ID` line per agent (the names Freshservice's
        agent list gives them too)."""
        lines = ["# The demo team of the stand-in Freshservice (demo/freshservice/world.py)."]
        lines += [f"{agent.name} - {agent.id}" for agent in self.agents]
        return "\n".join(lines) + "\n"

    def expected_closures(
        self,
        *,
        now: datetime,
        statuses: tuple[int, ...] = (4, 5),
        groups: tuple[int, ...] | None = None,
    ) -> dict[date, dict[int, int]]:
        """The answer key: closures per local day per agent at `now`, counted as SPEC §5 does,
        over the `groups` that count (default the team's group alone)."""
        counting_groups = groups or (self.group_id,)
        counts: dict[date, dict[int, int]] = {}
        for ticket in self.visible_tickets(now=now):
            stats = ticket["stats"]
            if (
                ticket["group_id"] not in counting_groups
                or ticket["status"] not in statuses
                or ticket["responder_id"] is None
            ):
                continue
            closed = stats["resolved_at"] or stats["closed_at"] or ticket["updated_at"]
            day = _time(closed).astimezone(self.tz).date()
            per_agent = counts.setdefault(day, {})
            per_agent[ticket["responder_id"]] = per_agent.get(ticket["responder_id"], 0) + 1
        return counts


def _as_listed(ticket: dict[str, Any], *, include_stats: bool) -> dict[str, Any]:
    """A ticket put by hand as the list call shows it: `stats` only when asked for."""
    if include_stats or "stats" not in ticket:
        return ticket
    return {key: value for key, value in ticket.items() if key != "stats"}


# --- generation ---------------------------------------------------------------------------------


def generate_world(
    *,
    today: date,
    agents: int = 12,
    days: int = 30,
    seed: int = 7,
    tz: str = "UTC",
    group_id: int = DEFAULT_GROUP_ID,
    group_name: str = DEFAULT_GROUP_NAME,
    workspace_id: int = PRIMARY_WORKSPACE_ID,
) -> World:
    """A team of `agents` and their tickets from `days` before `today` to a week after it.

    The team's group is `group_name`, in workspace `workspace_id` (the primary one by default).
    """
    if not 1 <= agents <= MAX_AGENTS:
        raise ValueError(f"agents must be 1-{MAX_AGENTS}")
    if days < 0:
        raise ValueError("days must be 0 or more")
    generator = _Generator(seed=seed, tz=ZoneInfo(tz), group_id=group_id, agents=agents)
    first_day = today - timedelta(days=days)
    last_day = today + timedelta(days=FUTURE_DAYS)
    histories: list[TicketHistory] = []
    day = first_day
    while day <= last_day:
        histories.extend(generator.day_tickets(day))
        day += timedelta(days=1)
    return World(
        group_id=group_id,
        group_name=group_name,
        workspace_id=workspace_id,
        tz=tz,
        agents=generator.agents,
        other_agents=generator.other_agents(),
        histories=histories,
        first_day=first_day,
        last_day=last_day,
    )


class _Generator:
    def __init__(self, *, seed: int, tz: ZoneInfo, group_id: int, agents: int) -> None:
        self.seed = seed
        self.tz = tz
        self.group_id = group_id
        self.agents = self._make_agents(agents)
        # Each agent's usual number of closures on a working day.
        self.paces = [_stream(seed, "pace", agent.id).uniform(3, 11) for agent in self.agents]

    def _make_agents(self, count: int) -> list[Agent]:
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
        return [Agent(agent_id, *pair) for agent_id, pair in zip(ids, chosen, strict=True)]

    def other_agents(self) -> list[Agent]:
        """The other team's agents, a quarter of them deactivated (they left)."""
        rng = _stream(self.seed, "other-agents")
        taken = {(agent.first_name, agent.last_name) for agent in self.agents}
        pairs = [
            (first, last)
            for first in _FIRST_NAMES
            for last in _LAST_NAMES
            if (first, last) not in taken
        ]
        # Distinct from the team's and each other's, so every email names one agent.
        chosen = rng.sample(pairs, OTHER_AGENTS)
        return [
            Agent(OTHER_AGENT_BASE + number, first, last, active=rng.random() >= 0.25)
            for number, (first, last) in enumerate(chosen, 1)
        ]

    def day_tickets(self, day: date) -> list[TicketHistory]:
        """The tickets whose story centres on `day`, from a random stream of that day alone."""
        rng = _stream(self.seed, self.group_id, day.isoformat())
        weekend = day.weekday() >= 5
        tickets: list[TicketHistory] = []
        for agent, pace in zip(self.agents, self.paces, strict=True):
            if weekend:
                closed = rng.choice((0, 0, 0, 1, 1, 2, 3))
            elif rng.random() < 0.05:
                closed = 0  # a day off
            else:
                closed = min(15, max(0, round(rng.gauss(pace, 2.5))))
            for _ in range(closed):
                tickets.append(self._resolved(rng, day, self.group_id, agent.id))

        team = len(self.agents)
        scale = 1 if weekend else max(1, team // 4)
        for _ in range(rng.randint(0, 3) * scale):
            # Another group's work, sometimes by one of ours: counts for that group's team only
            # where it is configured too (the demo counts both, SPEC §16.5).
            responder = (
                rng.choice(self.agents).id
                if rng.random() < 0.3
                else OTHER_AGENT_BASE + rng.randint(1, OTHER_AGENTS)
            )
            tickets.append(self._resolved(rng, day, OTHER_GROUP_ID, responder))
        for _ in range(rng.randint(0, 2) * scale):
            tickets.append(self._still_open(rng, day))
        if rng.random() < 0.4:
            tickets.append(self._still_open(rng, day, custom_status=6))
        if rng.random() < 0.3:
            tickets.append(self._resolved(rng, day, self.group_id, None))
        if rng.random() < 0.4:
            ticket = self._resolved(rng, day, self.group_id, rng.choice(self.agents).id)
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

    def _new_ticket(self, rng: random.Random, created: datetime, **fields: Any) -> TicketHistory:
        subject, category = rng.choice(_SUBJECTS)
        ticket = TicketHistory(
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
    ) -> TicketHistory:
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

    def _still_open(
        self, rng: random.Random, day: date, *, custom_status: int = 0
    ) -> TicketHistory:
        """Open, then perhaps pending (or a custom status); never closed."""
        created = self._work_time(rng, day)
        responder = rng.choice(self.agents).id if rng.random() < 0.8 else None
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
