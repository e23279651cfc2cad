"""`manage.py refresh_user_mappings`: reload IDs.txt and say what matched, what did not, and why."""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from freshworks.ids import IdsFileError
from tickets.services.mapping import MappingReport, refresh_user_mappings


class Command(BaseCommand):
    help = (
        "Reload the Freshservice name/ID mapping file (FRESH_IDS_FILE), match each name to a "
        "local user and relink existing closures. Exits 1, changing nothing, when the file is "
        "missing, unreadable or has no valid line."
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
            report = refresh_user_mappings(path=path)
        except IdsFileError as exc:
            raise CommandError(f"{exc}. Nothing was changed.", returncode=1) from None
        self._print_report(report)

    def _print_report(self, report: MappingReport) -> None:
        out = self.stdout
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

        if report.problems:
            out.write(self.style.WARNING(f"Skipped lines ({len(report.problems)}):"))
            for problem in report.problems:
                out.write(f"  line {problem.line}: {problem.text!r}: {problem.reason}")

        if report.removed:
            removed = ", ".join(str(agent) for agent in report.removed)
            out.write(f"Removed {len(report.removed)} mappings no longer in the file: {removed}")

        out.write(f"Relinked {report.relinked_closures} closure rows.")
