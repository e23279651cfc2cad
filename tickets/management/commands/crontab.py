"""manage.py crontab — django-crontab's command, made honest.

The library's `crontab add` shells out to the crontab program without checking that it exists
or that anything was installed, and exits 0 either way. This wrapper refuses when the program is
missing and, after `add`, reads the crontab back to prove the job is there.
"""

from __future__ import annotations

import shutil
import subprocess
from typing import Any

from django.conf import settings
from django.core.management.base import CommandError
from django_crontab.management.commands.crontab import Command as CrontabCommand


class Command(CrontabCommand):
    def handle(self, *args: Any, **options: Any) -> None:
        executable = getattr(settings, "CRONTAB_EXECUTABLE", "/usr/bin/crontab")
        if options["subcommand"] != "run" and not shutil.which(executable):
            raise CommandError(
                f"The crontab program ({executable}) is not installed, so no job can be "
                "installed. Install cron (apt-get install cron), start it, and run this again."
            )
        super().handle(*args, **options)
        if options["subcommand"] == "add":
            installed = subprocess.run(  # noqa: S603 - a fixed program, no shell
                [executable, "-l"], capture_output=True, text=True, check=False
            ).stdout
            if settings.CRONTAB_COMMENT not in installed:
                raise CommandError("crontab add ran but the job is not in the crontab.")
            self.stdout.write(
                self.style.SUCCESS(f"Scheduled sync installed: {settings.SYNC_SCHEDULE}")
            )
            if settings.REPAIR_SCHEDULE:
                self.stdout.write(
                    self.style.SUCCESS(
                        f"Repair sync installed: {settings.REPAIR_SCHEDULE} "
                        f"(the last {settings.REPAIR_DAYS} days)"
                    )
                )
