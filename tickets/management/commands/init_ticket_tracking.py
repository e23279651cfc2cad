"""manage.py init_ticket_tracking — first-time set-up: the connection check, tables, agent names,
two days of data."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from freshworks.ids import IdsFileError
from tickets.models import SyncRun
from tickets.services.connection import check_connection
from tickets.services.directory import refresh_agents
from tickets.services.sync import SyncFailed, SyncRefused, sync_closures
from tickets.wording import describe_connection, describe_sync, plural


class Command(BaseCommand):
    help = (
        "Check the connection to Freshservice (and stop there if anything is wrong), migrate the "
        "database, load the agent names (Freshservice's agent list, then IDs.txt) and sync "
        "yesterday and today in one fetch. Exits 1 if a step failed; the steps that succeeded "
        "stay done."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        failed: list[str] = []

        # First, before anything is written: a wrong key or group would fail every later step.
        self.stdout.write("1/4 Checking the connection to Freshservice…")
        connection = check_connection()
        for line in describe_connection(connection):
            style = self.style.SUCCESS if connection.ok else self.style.ERROR
            self.stdout.write(style(f"    {line}"))
        if not connection.ok:
            found = len(connection.problems)
            raise CommandError(
                f"Set-up stopped: the connection check found {plural(found, 'problem')} (see "
                f"above) and nothing else was done; fix {'it' if found == 1 else 'them'} and run "
                f"init_ticket_tracking again."
            )
        team = connection.group.name if connection.group is not None else "your team"

        self.stdout.write("2/4 Migrating the database…")
        call_command("migrate", interactive=False, verbosity=0)
        self.stdout.write(self.style.SUCCESS("    database ready"))

        self.stdout.write("3/4 Loading agent names from Freshservice and IDs.txt…")
        try:
            report = refresh_agents()
        except IdsFileError as exc:
            failed.append("user mappings")
            self.stdout.write(self.style.ERROR(f"    {exc}"))
        else:
            if report.directory is not None:
                self.stdout.write(
                    self.style.SUCCESS(
                        f"    Freshservice lists {report.directory.listed} agents, "
                        f"{len(report.email_linked)} linked to local users by email"
                    )
                )
            elif report.directory_failed:
                failed.append("agent list")
                self.stdout.write(
                    self.style.ERROR(f"    Freshservice's agent list: {report.directory_problem}")
                )
            if report.ids_missing:
                self.stdout.write(self.style.SUCCESS("    no IDs.txt; names from Freshservice"))
            else:
                self.stdout.write(
                    self.style.SUCCESS(
                        f"    {len(report.outcomes)} agents loaded, {len(report.matched)} "
                        f"matched to local users, {len(report.problems)} lines skipped"
                    )
                )

        # The agent names are not needed to count closures, so the sync runs either way.
        self.stdout.write("4/4 Syncing yesterday and today…")
        today = timezone.localdate()
        try:
            result = sync_closures(
                first=today - timedelta(days=1), last=today, trigger=SyncRun.Trigger.INIT
            )
        except SyncRefused as refusal:
            self.stdout.write(self.style.WARNING(f"    {describe_sync(refusal)}"))
        except SyncFailed as failure:
            failed.append("sync")
            self.stdout.write(self.style.ERROR(f"    {describe_sync(failure)}"))
        else:
            self.stdout.write(self.style.SUCCESS(f"    {describe_sync(result)}"))

        if failed:
            raise CommandError(f"Set-up incomplete: {' and '.join(failed)} failed (see above).")
        self.stdout.write(self.style.SUCCESS(f"Ticket tracking is ready for {team}."))
