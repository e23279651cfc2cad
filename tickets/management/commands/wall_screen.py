"""`manage.py wall_screen create NAME [--team ID] | revoke NAME | list`: wall-screen links
(SPEC §17) for scripted set-ups. Bad input (a taken or unknown name, an unknown team) exits 2."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from tickets.models import WallScreenLink
from tickets.services.wall_screens import (
    WallScreenError,
    create_wall_screen,
    known_teams,
    revoke_wall_screen,
)

BAD_INPUT = 2


def _team_id(raw: str) -> int:
    value = int(raw)
    if value < 1:
        raise ValueError
    return value


_team_id.__name__ = "team id"  # argparse names the type in its message: "invalid team id value"


def _when(moment: Any) -> str:
    return f"{timezone.localtime(moment):%Y-%m-%d %H:%M}" if moment else "never"


class Command(BaseCommand):
    help = (
        "Wall-screen links: `create NAME [--team ID]` prints the link (shown only then), "
        "`revoke NAME` ends it for good, `list` shows them all. Exits 2 for bad input."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        commands = parser.add_subparsers(
            dest="command", required=True, metavar="create|revoke|list"
        )
        create = commands.add_parser("create", help="create a link and print it (only now)")
        create.add_argument("name", help="where the screen hangs, e.g. 'Service desk TV'")
        create.add_argument(
            "--team",
            type=_team_id,
            default=None,
            metavar="ID",
            help="a Freshservice group id from FRESH_GROUP_ID (default: all groups)",
        )
        revoke = commands.add_parser("revoke", help="revoke a link; its screen says so")
        revoke.add_argument("name")
        commands.add_parser("list", help="every link: team, state, last seen, created")

    def handle(self, *args: Any, command: str, **options: Any) -> None:
        try:
            if command == "create":
                self._create(options["name"], options["team"])
            elif command == "revoke":
                self._revoke(options["name"])
            else:
                self._list()
        except WallScreenError as error:
            raise CommandError(f"{error} Nothing was changed.", returncode=BAD_INPUT) from None

    def _create(self, name: str, team: int | None) -> None:
        new = create_wall_screen(name=name, team=team)
        shows = f"team {team}" if team is not None else "all groups"
        self.stdout.write(
            self.style.SUCCESS(f"Created the wall-screen link “{new.link.name}” ({shows}).")
        )
        self.stdout.write(
            "Open it on the screen, on this site's address. It is shown only now (only a hash "
            "is stored); lost, revoke it and create another."
        )
        self.stdout.write(new.path)

    def _revoke(self, name: str) -> None:
        link, revoked = revoke_wall_screen(name=name)
        if revoked:
            self.stdout.write(
                self.style.SUCCESS(
                    f"Revoked the wall-screen link “{link.name}”; its screen says so within "
                    "5 minutes."
                )
            )
        else:
            self.stdout.write(
                f"The wall-screen link “{link.name}” was already revoked on "
                f"{_when(link.revoked_at)}."
            )

    def _list(self) -> None:
        links = list(WallScreenLink.objects.select_related("created_by").order_by("name"))
        if not links:
            self.stdout.write("No wall-screen links yet: `manage.py wall_screen create NAME`.")
            return
        teams = known_teams()
        for link in links:
            team = (
                "all groups"
                if link.team is None
                else f"team {link.team} ({teams.get(link.team, 'unknown group')})"
            )
            state = f"revoked {_when(link.revoked_at)}" if link.revoked else "active"
            by = f" by {link.created_by.get_username()}" if link.created_by else ""
            self.stdout.write(
                f"{link.name}: {team}, {state}, last seen {_when(link.last_seen_at)}, "
                f"created {_when(link.created_at)}{by}"
            )
