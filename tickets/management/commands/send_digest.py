"""manage.py send_digest — the daily digest (SPEC §18) by email and/or to a chat webhook."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from tickets.dates import DateRangeError, check_range
from tickets.management.arguments import BAD_ARGUMENTS, iso_date
from tickets.services.digest import (
    DigestNotConfigured,
    channels,
    compose_digest,
    default_day,
    deliver_digest,
    describe_deliveries,
)

FAILED = 1


class Command(BaseCommand):
    help = (
        "Send the daily digest: a day's closures per agent, the top closer(s), the week so far "
        "and the change against the period before, to DIGEST_TO by email and/or to "
        "DIGEST_WEBHOOK_URL. Exit status: 0 sent, 1 not sent (the reason is printed and "
        "logged), 2 bad arguments."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--date", type=iso_date, help="the day to report (default: the previous workday)"
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="print the message instead of sending it"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        day = options["date"] or default_day()
        try:
            check_range(day, day)
        except DateRangeError as exc:
            raise CommandError(str(exc), returncode=BAD_ARGUMENTS) from None
        digest = compose_digest(day=day)
        if options["dry_run"]:
            going_to = " and ".join(channels()) or "nowhere (no channel is configured)"
            self.stdout.write(f"Dry run: not sent. It would go to {going_to}.\n")
            self.stdout.write(f"Subject: {digest.subject}\n\n{digest.text}")
            return
        try:
            deliveries = deliver_digest(digest)
        except DigestNotConfigured as exc:
            raise CommandError(str(exc), returncode=FAILED) from None
        report = describe_deliveries(deliveries)
        if not all(delivery.ok for delivery in deliveries):
            raise CommandError(report, returncode=FAILED)
        self.stdout.write(report)
