"""Loading IDs.txt into FreshworksUserMapping and linking agents to local users (SPEC §7)."""

from __future__ import annotations

import logging
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Count, Subquery
from django.utils import timezone

from freshworks.ids import IdProblem, read_ids_file
from tickets.freshservice_config import freshservice_config
from tickets.models import FreshworksUserMapping, TicketClosure

logger = logging.getLogger("tickets")

RULE_USERNAME = "username"
RULE_FULL_NAME = "full name"
RULE_PARTIAL = "partial"
_RULE_LABELS = {
    RULE_USERNAME: "username",
    RULE_FULL_NAME: "full name",
    RULE_PARTIAL: "partial name",
}
NO_MATCH = "no local user matches"


@dataclass(frozen=True)
class MappingOutcome:
    line: int
    name: str
    freshworks_user_id: int
    username: str | None
    rule: str | None
    reason: str


@dataclass(frozen=True)
class MappingReport:
    outcomes: list[MappingOutcome]
    problems: list[IdProblem]
    removed: list[int]
    relinked_closures: int
    path: str = ""

    @property
    def matched(self) -> list[MappingOutcome]:
        return [outcome for outcome in self.outcomes if outcome.username is not None]

    @property
    def unmatched(self) -> list[MappingOutcome]:
        return [outcome for outcome in self.outcomes if outcome.username is None]


def normalise(text: str) -> str:
    """`text` for comparison: accents, punctuation and spaces dropped, case folded."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(
        char for char in decomposed if char.isalnum() and not unicodedata.combining(char)
    )


@dataclass(frozen=True)
class _Candidate:
    """A local user with the normalised forms the rules compare, computed once per refresh."""

    user: User
    username: str
    first_name: str
    last_name: str

    @classmethod
    def of(cls, user: User) -> _Candidate:
        return cls(
            user=user,
            username=normalise(user.username),
            first_name=normalise(user.first_name),
            last_name=normalise(user.last_name),
        )


def match_user(name: str, users: Sequence[User]) -> tuple[User | None, str | None, str]:
    """Match an IDs.txt name to one of `users`: `(user, rule, reason)`.

    Rules in order, comparing normalised text: exact username; first + last name; then, for a
    name of two words or more, the partial rule (`Oscar S.` finds a username starting `oscars`
    once punctuation is dropped, or first name Oscar with a last name starting S). The first rule
    with any candidate decides; two or more candidates are ambiguous and match nobody.
    """
    return _match(name, [_Candidate.of(user) for user in users])


def _match(name: str, candidates: Sequence[_Candidate]) -> tuple[User | None, str | None, str]:
    wanted = normalise(name)
    if not wanted:
        return None, None, "the name has no letters or digits to match"
    words = [word for word in (normalise(part) for part in name.split()) if word]
    rules: list[tuple[str, Callable[[_Candidate], bool]]] = [
        (RULE_USERNAME, lambda c: c.username == wanted),
        (RULE_FULL_NAME, lambda c: c.first_name + c.last_name == wanted),
    ]
    if len(words) >= 2:
        first, last = words[0], words[-1]
        rules.append(
            (
                RULE_PARTIAL,
                lambda c: (
                    c.username.startswith(first + last)
                    or (c.first_name == first and c.last_name.startswith(last))
                ),
            )
        )
    for rule, test in rules:
        found = [candidate.user for candidate in candidates if test(candidate)]
        if len(found) == 1:
            return found[0], rule, f"matched by {_RULE_LABELS[rule]}"
        if found:
            usernames = ", ".join(sorted(user.username for user in found))
            return (
                None,
                None,
                f"ambiguous: {len(found)} users match by {_RULE_LABELS[rule]} ({usernames})",
            )
    return None, None, NO_MATCH


def refresh_user_mappings(*, path: str | Path | None = None) -> MappingReport:
    """Reload the IDs file into FreshworksUserMapping and relink existing closures.

    `path` defaults to FRESH_IDS_FILE as `freshservice_config()` has it (relative to the project
    directory; demo mode's own file while it runs). Every entry is upserted with its matched
    user (or none); mappings whose ID left the file are deleted; the `user` of every
    TicketClosure row is set to its agent's mapped user (none when unmapped).
    Raises `freshworks.ids.IdsFileError`, having changed nothing, when the file is missing,
    unreadable or has no valid line.
    """
    ids_path = _ids_path(path)
    ids = read_ids_file(ids_path)
    users = User.objects.only("id", "username", "first_name", "last_name")
    candidates = [_Candidate.of(user) for user in users]
    outcomes: list[MappingOutcome] = []
    wanted: dict[int, tuple[str, int | None]] = {}
    for entry in ids.entries:
        user, rule, reason = _match(entry.name, candidates)
        outcomes.append(
            MappingOutcome(
                line=entry.line,
                name=entry.name,
                freshworks_user_id=entry.freshworks_user_id,
                username=user.username if user else None,
                rule=rule,
                reason=reason,
            )
        )
        wanted[entry.freshworks_user_id] = (entry.name, user.pk if user else None)

    with transaction.atomic():
        removed = _write_mappings(wanted)
        relinked = _relink_closures({agent: user_id for agent, (_, user_id) in wanted.items()})

    report = MappingReport(
        outcomes=outcomes,
        problems=ids.problems,
        removed=removed,
        relinked_closures=relinked,
        path=str(ids_path),
    )
    logger.info(
        "User mappings refreshed from %s: %d entries, %d matched, %d unmatched, "
        "%d problem lines, %d removed, %d closure rows relinked",
        ids_path,
        len(outcomes),
        len(report.matched),
        len(report.unmatched),
        len(ids.problems),
        len(removed),
        relinked,
    )
    return report


def link_agent(*, freshworks_user_id: int, user: User | None) -> int:
    """Link an agent's mapping and closures to `user` by hand; the closure rows relinked.

    The next refresh from IDs.txt matches names again and may replace this link.
    """
    with transaction.atomic():
        FreshworksUserMapping.objects.filter(freshworks_user_id=freshworks_user_id).update(
            user=user, updated_at=timezone.now()
        )
        return TicketClosure.objects.filter(freshworks_user_id=freshworks_user_id).update(user=user)


def _ids_path(path: str | Path | None) -> Path:
    if path is not None:
        return Path(path)
    # Like LOG_FILE, a relative FRESH_IDS_FILE means the project directory, not wherever cron
    # happens to start the command.
    configured = Path(freshservice_config().ids_file)
    return configured if configured.is_absolute() else Path(settings.BASE_DIR) / configured


def _write_mappings(wanted: dict[int, tuple[str, int | None]]) -> list[int]:
    """Upsert one mapping per agent in `wanted`, delete the rest; the deleted agent IDs."""
    existing = {
        mapping.freshworks_user_id: mapping for mapping in FreshworksUserMapping.objects.all()
    }
    removed = sorted(set(existing) - set(wanted))
    if removed:
        FreshworksUserMapping.objects.filter(freshworks_user_id__in=removed).delete()

    now = timezone.now()
    to_create: list[FreshworksUserMapping] = []
    to_update: list[FreshworksUserMapping] = []
    for agent, (name, user_id) in wanted.items():
        mapping = existing.get(agent)
        if mapping is None:
            to_create.append(
                FreshworksUserMapping(
                    freshworks_user_id=agent, freshworks_username=name, user_id=user_id
                )
            )
        elif mapping.freshworks_username != name or mapping.user_id != user_id:
            mapping.freshworks_username = name
            mapping.user_id = user_id
            # bulk_update skips auto_now, and unchanged rows keep their timestamp.
            mapping.updated_at = now
            to_update.append(mapping)
    if to_create:
        FreshworksUserMapping.objects.bulk_create(to_create)
    if to_update:
        FreshworksUserMapping.objects.bulk_update(
            to_update, ["freshworks_username", "user", "updated_at"], batch_size=200
        )
    return removed


def _relink_closures(linked: dict[int, int | None]) -> int:
    """Point every TicketClosure row at its agent's mapped user; the number of rows changed."""
    current = (
        TicketClosure.objects.values("freshworks_user_id", "user_id")
        .order_by()
        .annotate(rows=Count("id"))
    )
    changed_rows = 0
    stale_agents: set[int] = set()
    for group in current:
        agent = group["freshworks_user_id"]
        if group["user_id"] != linked.get(agent):
            changed_rows += group["rows"]
            stale_agents.add(agent)
    if stale_agents:
        # One UPDATE for every stale agent: the subquery reads the mapping just written, and
        # yields NULL for an agent without one.
        mapped_user = (
            FreshworksUserMapping.objects.of_outer_agent().order_by().values("user_id")[:1]
        )
        TicketClosure.objects.filter(freshworks_user_id__in=sorted(stale_agents)).update(
            user_id=Subquery(mapped_user)
        )
    return changed_rows
