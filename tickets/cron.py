"""The scheduled job django-crontab runs on SYNC_SCHEDULE (placeholder until the sync lands)."""
