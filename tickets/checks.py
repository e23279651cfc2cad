"""System checks that make django-crontab's silent failures visible."""

from __future__ import annotations

import shutil
from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Warning, register


@register(deploy=True)
def crontab_program_available(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """django-crontab shells out to `crontab` and reports success even when it is missing.

    A deploy check (`manage.py check --deploy`): a server that schedules the sync another way
    can silence it with SILENCED_SYSTEM_CHECKS = ["tickets.W001"].
    """
    if shutil.which(getattr(settings, "CRONTAB_EXECUTABLE", "/usr/bin/crontab")):
        return []
    return [
        Warning(
            "The crontab program is not installed, so the scheduled sync cannot be installed: "
            "`manage.py crontab add` would install nothing.",
            hint="Install cron (apt-get install cron), start it, then run `manage.py crontab add`.",
            id="tickets.W001",
        )
    ]
