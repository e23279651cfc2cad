"""The jobs django-crontab runs: the sync on SYNC_SCHEDULE, the repair on REPAIR_SCHEDULE and the
digest on DIGEST_SCHEDULE when they are set (`manage.py crontab add` installs them).

django-crontab logs and swallows whatever a job raises and always exits 0, so the job makes its
outcome visible itself: see `tickets.services.schedule.scheduled_sync`, which demo mode's hourly
sync runs too. This module is only the entry point named in settings.CRONJOBS.
"""

from __future__ import annotations

from tickets.services.schedule import repair_sync, scheduled_digest, scheduled_sync

send_digest = scheduled_digest

__all__ = ["repair_sync", "scheduled_sync", "send_digest"]
