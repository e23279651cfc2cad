"""Agent names and links in FreshworksUserMapping (SPEC §7, §14.3): IDs.txt, email, closures.

Two refreshes write the table: Freshservice's agent list (`tickets.services.directory`: names,
emails, active flags) and IDs.txt (here: an optional name per agent, which overrides
Freshservice's). Both link agents to local users by the same rules, in order:
1. an agent with an IDs.txt line: the §7 rules on that name (`match_user`). The IDs.txt refresh
   sets the link from the name every time, as it always has (a link made by hand in the admin
   lasts until then);
2. an agent whose link is still empty: an exact, case-insensitive match of its Freshservice email
   with one local user's email; two or more users with that email are ambiguous and link nobody.
   The email rule only fills an empty link: it never replaces one, made by hand or otherwise.
Each refresh then points the agents' TicketClosure rows at their linked user.
"""

from __future__ import annotations

import logging
import unicodedata
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Count, Subquery
from django.utils import timezone

from freshworks.ids import IdProblem, IdsFile, read_ids_file
from tickets.freshservice_config import freshservice_config
from tickets.models import FreshworksUserMapping, TicketClosure
from tickets.services.data_version import bump_data_version

if TYPE_CHECKING:
    from tickets.services.directory import DirectoryReport

logger = logging.getLogger("tickets")

RULE_USERNAME = "username"
RULE_FULL_NAME = "full name"
RULE_PARTIAL = "partial"
RULE_EMAIL = "email"
_RULE_LABELS = {
    RULE_USERNAME: "username",
    RULE_FULL_NAME: "full name",
    RULE_PARTIAL: "partial name",
    RULE_EMAIL: "email",
}
NO_MATCH = "no local user matches"
NO_EMAIL = "no email in Freshservice"


@dataclass(frozen=True)
class MappingOutcome:
    line: int
    name: str
    freshworks_user_id: int
    username: str | None
    rule: str | None
    reason: str


@dataclass(frozen=True)
class EmailOutcome:
    """An agent without an IDs.txt line whose link was empty: what the email rule found."""

    freshworks_user_id: int
    name: str
    email: str
    active: bool | None
    username: str | None
    reason: str

    @property
    def ambiguous(self) -> bool:
        return self.reason.startswith(AMBIGUOUS_EMAIL)


AMBIGUOUS_EMAIL = "ambiguous email"


@dataclass(frozen=True)
class MappingReport:
    """What a refresh did. `outcomes` are IDs.txt's entries (none when there is no file),
    `email_outcomes` the other agents that had no link; `removed` the agents deleted with their
    IDs.txt line, `cleared` those whose line went but whom Freshservice lists (kept, names from
    Freshservice). `directory` is the agent-list refresh that ran first, if any, and
    `directory_problem` why there was none (not configured, or the reason it failed)."""

    outcomes: list[MappingOutcome]
    problems: list[IdProblem]
    removed: list[int]
    relinked_closures: int
    path: str = ""
    email_outcomes: list[EmailOutcome] = field(default_factory=list)
    cleared: list[int] = field(default_factory=list)
    ids_missing: bool = False
    directory: DirectoryReport | None = None
    directory_problem: str = ""
    directory_failed: bool = False

    @property
    def matched(self) -> list[MappingOutcome]:
        return [outcome for outcome in self.outcomes if outcome.username is not None]

    @property
    def unmatched(self) -> list[MappingOutcome]:
        return [outcome for outcome in self.outcomes if outcome.username is None]

    @property
    def email_linked(self) -> list[EmailOutcome]:
        return [outcome for outcome in self.email_outcomes if outcome.username is not None]

    @property
    def email_unlinked(self) -> list[EmailOutcome]:
        return [outcome for outcome in self.email_outcomes if outcome.username is None]

    @property
    def ambiguous_emails(self) -> list[EmailOutcome]:
        return [outcome for outcome in self.email_outcomes if outcome.ambiguous]


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


class EmailIndex:
    """Local users by email, compared case-insensitively; users without an email are left out."""

    def __init__(self, users: Iterable[User]) -> None:
        self._users: dict[str, list[User]] = defaultdict(list)
        for user in users:
            if email := user.email.strip():
                self._users[email.casefold()].append(user)

    def match(self, email: str) -> tuple[User | None, str]:
        """The one user with `email`, or None and why."""
        if not email:
            return None, NO_EMAIL
        found = self._users.get(email.strip().casefold(), [])
        if len(found) == 1:
            return found[0], f"matched by email ({email})"
        if found:
            usernames = ", ".join(sorted(user.username for user in found))
            return None, f"{AMBIGUOUS_EMAIL}: {len(found)} local users have {email} ({usernames})"
        return None, f"no local user has the email {email}"


def local_users() -> list[User]:
    """Every local user, with only what the rules compare."""
    return list(User.objects.only("id", "username", "first_name", "last_name", "email"))


def refresh_user_mappings(*, path: str | Path | None = None) -> MappingReport:
    """Reload the IDs file into FreshworksUserMapping and relink existing closures.

    IDs.txt only: `tickets.services.directory.refresh_agents` reads Freshservice's agent list
    first, and lets the file be missing once it has. `path` defaults to FRESH_IDS_FILE as
    `freshservice_config()` has it (relative to the project directory; demo mode's own file while
    it runs). See `apply_ids_file` for what is written. Raises `freshworks.ids.IdsFileError`,
    having changed nothing, when the file is missing, unreadable or has no valid line.
    """
    ids_path = ids_file_path(path)
    ids = read_ids_file(ids_path)
    with transaction.atomic():
        return apply_ids_file(ids, path=ids_path)


def apply_ids_file(ids: IdsFile | None, *, path: Path) -> MappingReport:
    """Write IDs.txt's names and links, and relink closures; call it inside a transaction.

    `ids` None means there is no file: no agent has an IDs.txt name. Every entry is upserted with
    the user its name matches (else, for an agent Freshservice lists, the user its email
    matches; else none). An agent whose line left the file loses its name and its link; its
    row goes too unless Freshservice lists it. Other agents keep their links, and an empty one
    is filled by email. Then the `user` of every TicketClosure row is set to its agent's linked
    user (none when unlinked).
    """
    users = local_users()
    candidates = [_Candidate.of(user) for user in users]
    emails = EmailIndex(users)
    existing = {
        mapping.freshworks_user_id: mapping for mapping in FreshworksUserMapping.objects.all()
    }
    outcomes: list[MappingOutcome] = []
    wanted: dict[int, tuple[str, int | None]] = {}
    for entry in ids.entries if ids else []:
        user, rule, reason = _match(entry.name, candidates)
        listed = existing.get(entry.freshworks_user_id)
        if user is None and listed is not None and _listed(listed):
            by_email, email_reason = emails.match(listed.email)
            if by_email is not None:
                user, rule, reason = by_email, RULE_EMAIL, f"{email_reason}; by name: {reason}"
            else:
                reason = f"{reason}; {email_reason}"
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

    removed: list[int] = []
    cleared: list[int] = []
    email_outcomes: list[EmailOutcome] = []
    for agent, mapping in existing.items():
        if agent in wanted:
            continue
        user_id = mapping.user_id
        if mapping.freshworks_username:
            # Its IDs.txt line is gone. Before the agent list, the row went with it; one that
            # Freshservice lists stays, named by Freshservice.
            if not _listed(mapping):
                removed.append(agent)
                continue
            cleared.append(agent)
            user_id = None
        if user_id is None and _listed(mapping):
            user, outcome = _email_outcome(mapping, emails)
            email_outcomes.append(outcome)
            user_id = user.pk if user else None
        wanted[agent] = ("", user_id)

    _write_mappings(existing, wanted, removed)
    relinked = _relink_closures({agent: user_id for agent, (_, user_id) in wanted.items()})

    report = MappingReport(
        outcomes=outcomes,
        problems=ids.problems if ids else [],
        removed=sorted(removed),
        relinked_closures=relinked,
        path=str(path),
        email_outcomes=email_outcomes,
        cleared=sorted(cleared),
        ids_missing=ids is None,
    )
    logger.info(
        "User mappings refreshed from %s: %d entries, %d matched, %d unmatched, "
        "%d problem lines, %d removed, %d linked by email, %d closure rows relinked",
        "Freshservice's names (no IDs file)" if ids is None else path,
        len(outcomes),
        len(report.matched),
        len(report.unmatched),
        len(report.problems),
        len(removed),
        len(report.email_linked),
        relinked,
    )
    return report


def link_by_email() -> tuple[list[EmailOutcome], int]:
    """Fill the empty link of every agent Freshservice lists by the email rule, and relink
    closures; call it inside a transaction. The email outcomes and the closure rows relinked."""
    bump_data_version()
    mappings = list(FreshworksUserMapping.objects.all())
    unlinked = [m for m in mappings if m.user_id is None and _listed(m)]
    outcomes: list[EmailOutcome] = []
    linked: list[FreshworksUserMapping] = []
    if unlinked:
        emails = EmailIndex(local_users())
        now = timezone.now()
        for mapping in unlinked:
            user, outcome = _email_outcome(mapping, emails)
            outcomes.append(outcome)
            if user is not None:
                mapping.user = user
                mapping.updated_at = now
                linked.append(mapping)
    if linked:
        FreshworksUserMapping.objects.bulk_update(linked, ["user", "updated_at"], batch_size=200)
    relinked = _relink_closures({m.freshworks_user_id: m.user_id for m in mappings})
    return outcomes, relinked


def link_agent(*, freshworks_user_id: int, user: User | None) -> int:
    """Link an agent's mapping and closures to `user` by hand; the closure rows relinked.

    The next IDs.txt refresh matches an agent's IDs.txt name again and may replace this link;
    the email rule never does (it only fills empty links).
    """
    with transaction.atomic():
        bump_data_version()
        FreshworksUserMapping.objects.filter(freshworks_user_id=freshworks_user_id).update(
            user=user, updated_at=timezone.now()
        )
        return TicketClosure.objects.filter(freshworks_user_id=freshworks_user_id).update(user=user)


def ids_file_path(path: str | Path | None = None) -> Path:
    """`path`, else FRESH_IDS_FILE as `freshservice_config()` has it."""
    if path is not None:
        return Path(path)
    # Like LOG_FILE, a relative FRESH_IDS_FILE means the project directory, not wherever cron
    # happens to start the command.
    configured = Path(freshservice_config().ids_file)
    return configured if configured.is_absolute() else Path(settings.BASE_DIR) / configured


def _listed(mapping: FreshworksUserMapping) -> bool:
    """Whether Freshservice's agent list has ever listed the agent (its email is known)."""
    return mapping.directory_seen_at is not None


def _email_outcome(
    mapping: FreshworksUserMapping, emails: EmailIndex
) -> tuple[User | None, EmailOutcome]:
    user, reason = emails.match(mapping.email)
    return user, EmailOutcome(
        freshworks_user_id=mapping.freshworks_user_id,
        name=mapping.display_name,
        email=mapping.email,
        active=mapping.active,
        username=user.username if user else None,
        reason=reason,
    )


def _write_mappings(
    existing: dict[int, FreshworksUserMapping],
    wanted: dict[int, tuple[str, int | None]],
    removed: list[int],
) -> None:
    """Delete the `removed` agents' rows; create or update one per agent in `wanted`."""
    bump_data_version()
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


def _relink_closures(linked: dict[int, int | None]) -> int:
    """Point every TicketClosure row at its agent's mapped user; the number of rows changed.
    (Its callers write the mappings first and raise the data version there.)"""
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
