"""Wall-screen links (SPEC §17): create, revoke, and note when a screen last read its data.

A link's token is shown once, when it is created; only its SHA-256 is stored, so nobody (not
even an admin with database access) can read a working link back.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime

from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.urls import reverse
from django.utils import timezone

from tickets.freshservice_config import freshservice_config
from tickets.models import FreshserviceGroup, WallScreenLink, token_hash

NAME_MAX_LENGTH = WallScreenLink._meta.get_field("name").max_length or 100


class WallScreenError(ValueError):
    """Bad input for a wall-screen link; the message says what to do instead."""


@dataclass(frozen=True)
class NewWallScreen:
    """A link just created: the only moment its token is known."""

    link: WallScreenLink
    token: str

    @property
    def path(self) -> str:
        """`/tv/<token>`: the page the screen opens."""
        return reverse("tv", args=[self.token])


def known_teams() -> dict[int, str]:
    """The Freshservice groups a link may show, by id: the configured ones (FRESH_GROUP_ID)
    and those a sync has read, named as Freshservice last named them (else `group <id>`)."""
    names = dict(FreshserviceGroup.objects.values_list("group_id", "name"))
    return {group: f"group {group}" for group in freshservice_config().group_ids} | names


def check_team(team: int | None) -> int | None:
    """`team` when it is a known group (or None, for all groups); WallScreenError otherwise."""
    if team is None:
        return None
    teams = known_teams()
    if team not in teams:
        if not teams:
            raise WallScreenError(
                f"Unknown team {team}: no Freshservice group is configured yet (FRESH_GROUP_ID)."
            )
        choices = ", ".join(f"{group} ({name})" for group, name in sorted(teams.items()))
        raise WallScreenError(f"Unknown team {team}: use one of {choices}, or no team for all.")
    return team


def check_name(name: str, *, exclude: WallScreenLink | None = None) -> str:
    """`name` without surrounding blanks, when it is usable and no other link has it."""
    name = name.strip()
    if not name:
        raise WallScreenError("A wall-screen link needs a name (where the screen hangs).")
    if len(name) > NAME_MAX_LENGTH:
        raise WallScreenError(f"The name is {len(name)} characters; at most {NAME_MAX_LENGTH}.")
    taken = WallScreenLink.objects.filter(name__iexact=name)
    if exclude is not None:
        taken = taken.exclude(pk=exclude.pk)
    if taken.exists():
        raise WallScreenError(
            f"A wall-screen link named “{name}” already exists; choose another name "
            "(a revoked link keeps its name)."
        )
    return name


def issue_wall_screen(link: WallScreenLink) -> NewWallScreen:
    """Save the new (unsaved, already checked) `link` with a fresh token; the token is returned
    here and never again."""
    token = secrets.token_urlsafe(32)  # 32 random bytes, URL-safe
    link.token_hash = token_hash(token)
    try:
        with transaction.atomic():
            link.save(force_insert=True)
    except IntegrityError:  # the same name, created a moment ago by someone else
        raise WallScreenError(f"A wall-screen link named “{link.name}” already exists.") from None
    return NewWallScreen(link=link, token=token)


def create_wall_screen(
    *, name: str, team: int | None = None, created_by: User | None = None
) -> NewWallScreen:
    """A new link named `name` showing `team` (None: all groups); WallScreenError for a taken
    or empty name or an unknown team, changing nothing."""
    link = WallScreenLink(name=check_name(name), team=check_team(team), created_by=created_by)
    return issue_wall_screen(link)


def revoke_wall_screens(links: QuerySet[WallScreenLink], *, now: datetime | None = None) -> int:
    """Revoke the links of `links` not revoked yet; how many that was. Revoked stays revoked."""
    return links.filter(revoked_at__isnull=True).update(revoked_at=now or timezone.now())


def revoke_wall_screen(*, name: str) -> tuple[WallScreenLink, bool]:
    """Revoke the link named `name` (any case); the link, and False when it already was."""
    link = WallScreenLink.objects.filter(name__iexact=name.strip()).first()
    if link is None:
        raise WallScreenError(f"No wall-screen link is named “{name}” (see `wall_screen list`).")
    revoked = revoke_wall_screens(WallScreenLink.objects.filter(pk=link.pk)) == 1
    link.refresh_from_db(fields=["revoked_at"])
    return link, revoked


def note_seen(link: WallScreenLink, *, now: datetime) -> bool:
    """Record that a screen read `link` at `now`, at most once per WallScreenLink.SEEN_EVERY.

    Reads within that time of the last record write nothing (the row read for the lookup says
    so); past it, one conditional UPDATE, so two workers racing write once.
    """
    every = WallScreenLink.SEEN_EVERY
    if link.last_seen_at is not None and now - link.last_seen_at < every:
        return False
    written = (
        WallScreenLink.objects.filter(pk=link.pk)
        .filter(Q(last_seen_at__isnull=True) | Q(last_seen_at__lte=now - every))
        .update(last_seen_at=now)
    )
    return written == 1
