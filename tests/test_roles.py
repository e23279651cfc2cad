"""The role groups exist after migrate and survive a flush."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command

from tickets.models import SyncLease
from tickets.roles import GROUP_PERMISSIONS, ROLE_GROUPS, ROLE_PERMISSIONS


@pytest.mark.django_db
def test_each_role_group_holds_the_sync_permissions():
    assert set(ROLE_GROUPS) == {"Admin", "Manager", "Developer"}
    assert {"force_sync", "view_sync_stats"} <= set(ROLE_PERMISSIONS)
    for name in ROLE_GROUPS:
        codenames = set(Group.objects.get(name=name).permissions.values_list("codename", flat=True))
        assert codenames == set(ROLE_PERMISSIONS) | set(GROUP_PERMISSIONS.get(name, ()))


@pytest.mark.django_db
def test_only_admins_manage_wall_screen_links():
    def can(name: str) -> set[str]:
        codenames = Group.objects.get(name=name).permissions.values_list("codename", flat=True)
        return {codename for codename in codenames if codename.endswith("wallscreenlink")}

    assert can("Admin") == {"add_wallscreenlink", "change_wallscreenlink", "view_wallscreenlink"}
    assert can("Manager") == can("Developer") == set()


@pytest.mark.django_db(transaction=True)
def test_the_groups_and_the_lease_come_back_after_a_flush():
    call_command("flush", interactive=False, verbosity=0)

    assert set(Group.objects.values_list("name", flat=True)) == set(ROLE_GROUPS)
    assert SyncLease.objects.filter(name="sync").exists()
