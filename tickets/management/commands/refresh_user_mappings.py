"""`manage.py refresh_user_mappings`: reload agent names and links (Freshservice's agent list,
then IDs.txt) and say what matched, what did not, and why."""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from freshworks.ids import IdsFileError
from tickets.services.directory import refresh_agents
from tickets.services.mapping import MappingReport
from tickets.wording import plural


class Command(BaseCommand):
    help = (
        "Read Freshservice's agent list (names, emails, active flags), then the name/ID file "
        "(FRESH_IDS_FILE, optional once the agent list has loaded), link each agent to a local "
        "user (by its IDs.txt name, else by email) and relink existing closures. Exits 1, "
        "changing nothing, when the file is unusable (or missing before the agent list ever "
        "loaded); exits 1 after loading the file when the agent list could not be read."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--file",
            dest="path",
            metavar="PATH",
            default=None,
            help="the mapping file to load (default: the FRESH_IDS_FILE setting)",
        )

    def handle(self, *args: Any, path: str | None, **options: Any) -> None:
        try:
            report = refresh_agents(path=path)
        except IdsFileError as exc:
            raise CommandError(f"{exc}. Nothing was changed.", returncode=1) from None
        self._print_report(report)
        if report.directory_failed:
            raise CommandError(
                f"Freshservice's agent list: {report.directory_problem}. The IDs file was "
                "loaded (see above); names and emails from Freshservice are as last read.",
                returncode=1,
            )

    def _print_report(self, report: MappingReport) -> None:
        out = self.stdout
        directory = report.directory
        if directory is not None:
            out.write(
                f"Read Freshservice's agent list: {plural(directory.listed, 'agent')} "
                f"({directory.active} active, {directory.inactive} inactive) in "
                f"{plural(directory.api_calls, 'API call')}; {len(directory.created)} new, "
                f"{len(directory.changed)} changed, {len(directory.not_listed)} no longer "
                "listed (kept)."
            )
        elif report.directory_failed:
            out.write(self.style.ERROR(f"Freshservice's agent list: {report.directory_problem}."))
        else:
            out.write(f"Freshservice's agent list: {report.directory_problem}.")

        if report.ids_missing:
            out.write(f"No IDs.txt ({report.path}); names from Freshservice.")
        else:
            out.write(f"Loaded {len(report.outcomes)} entries from {report.path}.")

            out.write(self.style.SUCCESS(f"Matched ({len(report.matched)}):"))
            for outcome in report.matched:
                out.write(
                    f"  {outcome.name} ({outcome.freshworks_user_id}) -> {outcome.username}, "
                    f"{outcome.reason}"
                )

            if report.unmatched:
                out.write(self.style.WARNING(f"Not matched ({len(report.unmatched)}):"))
                for outcome in report.unmatched:
                    out.write(f"  {outcome.name} ({outcome.freshworks_user_id}): {outcome.reason}")

        if report.email_linked:
            out.write(self.style.SUCCESS(f"Linked by email ({len(report.email_linked)}):"))
            for email in report.email_linked:
                out.write(
                    f"  {email.name} ({email.freshworks_user_id}) -> {email.username}, "
                    f"{email.reason}"
                )
        if report.ambiguous_emails:
            out.write(self.style.WARNING(f"Ambiguous emails ({len(report.ambiguous_emails)}):"))
            for email in report.ambiguous_emails:
                out.write(f"  {email.name} ({email.freshworks_user_id}): {email.reason}")
        unlinked = [email for email in report.email_unlinked if not email.ambiguous]
        if unlinked:
            out.write(f"No local user ({len(unlinked)}):")
            for email in unlinked:
                inactive = ", inactive in Freshservice" if email.active is False else ""
                out.write(f"  {email.name} ({email.freshworks_user_id}{inactive}): {email.reason}")

        if report.problems:
            out.write(self.style.WARNING(f"Skipped lines ({len(report.problems)}):"))
            for problem in report.problems:
                out.write(f"  line {problem.line}: {problem.text!r}: {problem.reason}")

        if report.removed:
            removed = ", ".join(str(agent) for agent in report.removed)
            out.write(f"Removed {len(report.removed)} mappings no longer in the file: {removed}")
        if report.cleared:
            cleared = ", ".join(str(agent) for agent in report.cleared)
            out.write(
                f"{len(report.cleared)} agents no longer in the file keep the name Freshservice "
                f"gives them: {cleared}"
            )

        out.write(f"Relinked {report.relinked_closures} closure rows.")
