"""manage.py check_freshservice — is Freshservice reachable with this configuration (SPEC §14.5)?"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from tickets.services.connection import check_connection
from tickets.wording import describe_connection, plural


class Command(BaseCommand):
    help = (
        "Check the connection to Freshservice without changing any data: the endpoint, the API "
        "key, the group and its workspace, the agents, the rate budget and the last sync's cost. "
        "Exits 0 when all is well, 1 with each problem and its fix otherwise."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        report = check_connection()
        self.stdout.write("Freshservice connection check")
        for line in describe_connection(report):
            self.stdout.write(f"  {line}")
        if not report.ok:
            raise CommandError(
                f"The connection check found {plural(len(report.problems), 'problem')} (see above)."
            )
