"""The connection check (SPEC §14.5): can the sync read Freshservice, as configured, right now?

`check_connection()` builds the client the way the sync does (`fetch.build_client`, so demo mode
checks the stand-in), lists the agents and reads the team's group, and reports what it found
with each problem as one line that says what to do. It writes nothing: Freshservice only counts
the credits it spends (one per page of agents, one for the group; usually three in all).

The calls go in this order on purpose: the agents list first proves the endpoint and the key,
so a 404 on the group afterwards can only mean FRESH_GROUP_ID is wrong. The client may not wait
(max_wait 0): a check never waits for the next minute, it reports the budget instead.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlsplit

from django.db import connection
from django.utils import timezone

from freshworks.client import (
    ENDPOINT_EXAMPLE,
    Agent,
    FreshserviceClient,
    FreshworksConnectionError,
    FreshworksError,
    FreshworksGroupNotFoundError,
    FreshworksKeyRejectedError,
    FreshworksNotFoundError,
    FreshworksPermissionError,
    FreshworksRateLimitError,
    FreshworksResponseError,
    Group,
)
from tickets import selectors
from tickets.freshservice_config import freshservice_config, without_key
from tickets.models import SyncRun
from tickets.services.sync.errors import SyncFailed, SyncNotConfigured, WorkspacesDiffer
from tickets.services.sync.fetch import build_client
from tickets.wording import plural


@dataclass(frozen=True)
class Finding:
    """One line of the report: `ok` is True (fine), False (a problem) or None (for information,
    or not checked because an earlier step failed)."""

    label: str
    value: str
    ok: bool | None


@dataclass
class ConnectionReport:
    """What the check found; `problems` holds one line per problem, each with its fix.

    None means "not checked" wherever a field is optional: a step after a failed one is skipped.
    """

    endpoint: str
    demo: bool
    group_id: int | None
    configured_workspace_id: int | None
    last_sync: SyncRun | None
    api_key_set: bool = False
    reachable: bool | None = None
    key_accepted: bool | None = None
    permission_denied: bool = False
    endpoint_wrong: bool = False
    group: Group | None = None
    group_missing: bool = False
    # With several teams (SPEC §16.5): the groups after the first, as read, and those missing.
    other_group_ids: tuple[int, ...] = ()
    other_groups: list[Group] = field(default_factory=list)
    other_groups_missing: list[int] = field(default_factory=list)
    agents: list[Agent] | None = None
    budget_total: int | None = None
    budget_remaining: int | None = None
    budget_reserve: float | None = None
    rate_limited: bool = False
    api_calls: int = 0
    credits: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def https(self) -> bool | None:
        """Whether the endpoint is https://; None when none is configured."""
        return _scheme(self.endpoint) == "https" if self.endpoint else None

    @property
    def workspace_conflict(self) -> bool:
        return (
            self.group is not None
            and self.configured_workspace_id is not None
            and self.group.workspace_id is not None
            and self.configured_workspace_id != self.group.workspace_id
        )

    @property
    def workspace_id(self) -> int | None:
        """The workspace the sync lists tickets in: FRESH_WORKSPACE_ID, else the group's."""
        if self.configured_workspace_id is not None:
            return self.configured_workspace_id
        return self.group.workspace_id if self.group is not None else None

    @property
    def agent_count(self) -> int | None:
        return len(self.agents) if self.agents is not None else None

    @property
    def reserve_credits(self) -> float | None:
        """The credits of each minute left to the account's other integrations."""
        if self.budget_total is None or self.budget_reserve is None:
            return None
        return round(self.budget_reserve * self.budget_total, 6)

    @property
    def budget_low(self) -> bool:
        """Rate limited (429), or the last answer left less than the reserve."""
        if self.rate_limited:
            return True
        reserve, remaining = self.reserve_credits, self.budget_remaining
        return reserve is not None and remaining is not None and remaining < reserve

    @property
    def findings(self) -> list[Finding]:
        """The report as lines, in a fixed order; the command and the admin page show these."""
        return [
            self._endpoint_finding(),
            Finding("Reachable", _yes_no(self.reachable), self.reachable),
            self._key_finding(),
            self._group_finding(),
            *([self._other_groups_finding()] if self.other_group_ids else []),
            self._workspace_finding(),
            self._agents_finding(),
            self._budget_finding(),
            self._last_sync_finding(),
            Finding("This check", f"{_calls(self.api_calls)}, {_credits(self.credits)}", None),
        ]

    def _endpoint_finding(self) -> Finding:
        if not self.endpoint:
            return Finding("Endpoint", "not set (FRESH_ENDPOINT)", False)
        if self.https:
            return Finding("Endpoint", f"{self.endpoint} (HTTPS)", not self.endpoint_wrong)
        if _scheme(self.endpoint) == "http" and self.demo:
            return Finding("Endpoint", f"{self.endpoint} (plain HTTP: the demo's stand-in)", True)
        return Finding("Endpoint", f"{self.endpoint} (not HTTPS)", False)

    def _key_finding(self) -> Finding:
        if not self.api_key_set:
            return Finding("API key", "not set (FRESH_API)", False)
        if self.key_accepted is None:
            return Finding("API key", "not checked", None)
        if not self.key_accepted:
            return Finding("API key", "rejected (401)", False)
        if self.permission_denied:
            return Finding("API key", "accepted, but its role lacks a permission (403)", False)
        return Finding("API key", "accepted", True)

    def _group_finding(self) -> Finding:
        if self.group_id is None:
            return Finding("Group", "not set (FRESH_GROUP_ID)", False)
        if self.group is not None:
            return Finding("Group", f"{self.group.name} ({self.group.id})", True)
        if self.group_missing:
            return Finding("Group", f"{self.group_id}: no such agent group", False)
        return Finding("Group", f"{self.group_id}: not checked", None)

    def _other_groups_finding(self) -> Finding:
        if self.group is None:
            return Finding("More teams", "not checked", None)
        found = [f"{group.name} ({group.id})" for group in self.other_groups]
        found += [f"{group_id}: no such agent group" for group_id in self.other_groups_missing]
        return Finding("More teams", ", ".join(found), not self.other_groups_missing)

    def _workspace_finding(self) -> Finding:
        configured = self.configured_workspace_id
        if self.group is None:
            return Finding("Workspace", "not checked", None)
        if self.workspace_conflict:
            return Finding(
                "Workspace",
                f"FRESH_WORKSPACE_ID is {configured}, the group is in {self.group.workspace_id}",
                False,
            )
        if configured is not None:
            return Finding("Workspace", f"{configured} (FRESH_WORKSPACE_ID)", True)
        if self.group.workspace_id is not None:
            value = f"{self.group.workspace_id} (the group's; FRESH_WORKSPACE_ID empty)"
            return Finding("Workspace", value, True)
        return Finding("Workspace", "none (the account has no workspaces)", True)

    def _agents_finding(self) -> Finding:
        if self.agents is None:
            return Finding("Agents", "not checked", None)
        active = sum(agent.active for agent in self.agents)
        value = f"{len(self.agents)} ({active} active, {len(self.agents) - active} deactivated)"
        return Finding("Agents", value, True)

    def _budget_finding(self) -> Finding:
        if self.budget_total is None or self.budget_remaining is None:
            if self.rate_limited:
                return Finding("Budget", "used up (429 Too Many Requests)", False)
            return Finding("Budget", "not reported" if self.api_calls else "not checked", None)
        value = f"{self.budget_remaining} of {_credits(self.budget_total)} left this minute"
        if self.budget_reserve:
            value += f"; {self.reserve_credits:g} kept in reserve ({_percent(self.budget_reserve)})"
        return Finding("Budget", value, not self.budget_low)

    def _last_sync_finding(self) -> Finding:
        run = self.last_sync
        if run is None:
            return Finding("Last sync", "none has succeeded yet", None)
        started = timezone.localtime(run.started_at)
        return Finding(
            "Last sync",
            f"{started:%Y-%m-%d %H:%M %Z}: {_calls(run.api_calls)}, {_credits(run.credits)}",
            None,
        )


def check_connection() -> ConnectionReport:
    """Check Freshservice as the sync would reach it; changes no data (SPEC §14.5).

    Never raises for anything Freshservice or the configuration does: every failure becomes a
    line of `problems`. The API key never appears in the report.
    """
    config = freshservice_config()
    report = ConnectionReport(
        endpoint=config.endpoint.strip(),
        demo=config.demo,
        group_id=config.group_id,
        other_group_ids=config.group_ids[1:],
        configured_workspace_id=config.workspace_id,
        last_sync=_last_sync(),
        api_key_set=bool(config.api_key.strip()),
    )
    client = _client(report)
    if client is not None:
        with client:
            _call(client, report)
    _check_workspace(report)
    _check_budget(report)
    report.endpoint = without_key(report.endpoint)
    report.problems = [without_key(problem) for problem in report.problems]
    return report


def _client(report: ConnectionReport) -> FreshserviceClient | None:
    """The sync's client, or None with the problems that prevent one."""
    plain_http = _scheme(report.endpoint) == "http" and not report.demo
    try:
        client = build_client(max_wait=0)
    except SyncNotConfigured as exc:
        report.problems.append(str(exc))
        client = None
    except SyncFailed as exc:
        # A setting the client refuses (build_client turns its FreshworksConfigError into this).
        if not plain_http:
            report.problems.append(str(exc))
        client = None
    if plain_http:
        # Checked here too: whatever the client would allow, the key must not travel in clear.
        report.problems.append(
            "FRESH_ENDPOINT uses plain http://, but Freshservice requires HTTPS and the API key "
            f"must not travel unencrypted: set it to your account's https:// address, e.g. "
            f"{ENDPOINT_EXAMPLE}"
        )
        if client is not None:
            client.close()
        return None
    return client


def _call(client: FreshserviceClient, report: ConnectionReport) -> None:
    """The agents, then the group; the first failure ends the calls."""
    report.budget_reserve = client.budget_reserve
    try:
        report.agents = client.list_agents()
        report.reachable = report.key_accepted = True
        if report.group_id is not None:
            report.group = client.get_group(report.group_id)
        for group_id in report.other_group_ids:
            try:
                report.other_groups.append(client.get_group(group_id))
            except FreshworksGroupNotFoundError as exc:
                report.other_groups_missing.append(group_id)
                report.problems.append(str(exc))
    except FreshworksGroupNotFoundError as exc:
        report.group_missing = True
        report.problems.append(str(exc))
    except FreshworksKeyRejectedError as exc:
        report.reachable, report.key_accepted = True, False
        report.problems.append(str(exc))
    except FreshworksPermissionError as exc:
        report.reachable = report.key_accepted = report.permission_denied = True
        report.problems.append(str(exc))
    except FreshworksRateLimitError:
        # A 429, or the last answer below the reserve: the budget line says it (below).
        report.reachable = True
        report.rate_limited = True
    except FreshworksConnectionError as exc:
        if report.reachable is None:
            report.reachable = False
        report.problems.append(str(exc))
    except (FreshworksNotFoundError, FreshworksResponseError) as exc:
        # 404, a redirect, an answer that is not JSON or not shaped like the API's: the
        # endpoint answers, but it is not a Freshservice API (the message says so).
        report.reachable = True
        report.endpoint_wrong = True
        report.problems.append(str(exc))
    except FreshworksError as exc:  # 5xx on every attempt
        report.reachable = True
        report.problems.append(str(exc))
    finally:
        report.budget_total = client.rate_limit_total
        report.budget_remaining = client.rate_limit_remaining
        report.api_calls = client.api_calls
        report.credits = client.credits


def _check_workspace(report: ConnectionReport) -> None:
    groups = [report.group, *report.other_groups] if report.group is not None else []
    if report.configured_workspace_id is None and len({g.workspace_id for g in groups}) > 1:
        report.problems.append(str(WorkspacesDiffer(groups)))
    if report.workspace_conflict:
        group = report.group
        assert group is not None
        report.problems.append(
            f"FRESH_WORKSPACE_ID is {report.configured_workspace_id}, but agent group {group.id} "
            f"({group.name}) is in workspace {group.workspace_id}: set FRESH_WORKSPACE_ID to "
            f"{group.workspace_id}, or leave it empty to use the group's workspace."
        )


def _check_budget(report: ConnectionReport) -> None:
    if not report.budget_low:
        return
    if report.budget_total is None or report.budget_remaining is None:
        report.problems.append(
            "Freshservice's per-minute API budget is used up (it answered 429): the account's "
            "other integrations share it; check again in a minute, and if it stays used up, "
            "find the integration that spends it."
        )
        return
    reserve = report.budget_reserve or 0
    report.problems.append(
        f"Freshservice's per-minute API budget is nearly spent: {report.budget_remaining} of "
        f"{_credits(report.budget_total)} left, below the {report.reserve_credits:g} kept for "
        f"the account's other integrations (FRESH_BUDGET_RESERVE {_percent(reserve)}), so "
        f"syncs wait for the next minute: check again in a minute; if it stays low, find the "
        f"integration that spends the budget, or lower FRESH_BUDGET_RESERVE."
    )


def _last_sync() -> SyncRun | None:
    # init_ticket_tracking checks the connection before it migrates a new database.
    if SyncRun._meta.db_table not in connection.introspection.table_names():
        return None
    return selectors.last_successful_sync()


def _scheme(url: str) -> str:
    try:
        return urlsplit(url.strip()).scheme.lower()
    except ValueError:
        return ""


def _yes_no(value: bool | None) -> str:
    return "not checked" if value is None else "yes" if value else "no"


def _calls(count: int) -> str:
    return plural(count, "API call")


def _credits(count: int) -> str:
    return plural(count, "credit")


def _percent(fraction: float) -> str:
    return f"{fraction * 100:g} %"
