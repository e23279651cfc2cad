"""The role groups (SPEC §8), kept in place after every migrate and flush."""

from __future__ import annotations

from typing import Any

ROLE_GROUPS = ("Admin", "Manager", "Developer")
# What the roles may do beyond viewing, as `user.has_perm` names them.
FORCE_SYNC = "tickets.force_sync"
VIEW_SYNC_STATS = "tickets.view_sync_stats"
ROLE_PERMISSIONS = (
    "force_sync",
    "view_sync_stats",
    "view_closedticket",
    "view_ticketclosure",
    "view_freshworksusermapping",
    "view_ticketsyncmetadata",
    "view_syncrun",
    "view_freshservicegroup",
)
# Beyond those, per group: Admins create and revoke wall-screen links (SPEC §17).
GROUP_PERMISSIONS = {
    "Admin": ("add_wallscreenlink", "change_wallscreenlink", "view_wallscreenlink"),
}


def ensure_roles(**kwargs: Any) -> None:
    """post_migrate handler: the groups with their permissions, and the sync lease row.

    The 0002 migration creates them too; this keeps them after `flush` (which empties every
    table) and on databases migrated before a permission was added.
    """
    from django.contrib.auth.models import Group, Permission

    from tickets.models import SYNC_LEASE_NAME, SyncLease

    permissions = list(
        Permission.objects.filter(content_type__app_label="tickets", codename__in=ROLE_PERMISSIONS)
    )
    for name in ROLE_GROUPS:
        group, _ = Group.objects.get_or_create(name=name)
        group.permissions.add(*permissions)
        group.permissions.add(
            *Permission.objects.filter(
                content_type__app_label="tickets", codename__in=GROUP_PERMISSIONS.get(name, ())
            )
        )
    SyncLease.objects.get_or_create(name=SYNC_LEASE_NAME)
