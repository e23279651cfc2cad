"""The data version (SPEC §19.6): raised by every write that changes a read answer.

Call `bump_data_version()` inside the transaction of the write, so the new counter and the new
data become visible together. Read answers derive their ETag from it (`tickets.api.etag`).
"""

from __future__ import annotations

from typing import Any

from django.db.models import F

from tickets.models import DataVersion


def bump_data_version() -> None:
    """Raise the counter by one (creating its row if a test flushed it)."""
    if not DataVersion.objects.filter(pk=1).update(version=F("version") + 1):
        DataVersion.objects.get_or_create(pk=1, defaults={"version": 1})


def bump_on_user_change(sender: Any, *, update_fields: Any = None, **kwargs: Any) -> None:
    """Signal receiver: a local user renamed or deleted changes the usernames answers show.

    A log-in only writes `last_login` (update_fields says so) and changes no answer.
    """
    if update_fields is None or "username" in update_fields:
        bump_data_version()
