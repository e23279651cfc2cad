"""The Admin, Manager and Developer groups with the sync permissions, and the sync lease row."""

from django.db import migrations

ROLE_GROUPS = ("Admin", "Manager", "Developer")
ROLE_PERMISSIONS = (
    "force_sync",
    "view_sync_stats",
    "view_closedticket",
    "view_ticketclosure",
    "view_freshworksusermapping",
    "view_ticketsyncmetadata",
    "view_syncrun",
)


def create_roles(apps, schema_editor):
    # Permissions are normally created after all migrations ran; create ours now.
    from django.contrib.auth.management import create_permissions

    app_config = apps.get_app_config("tickets")
    app_config.models_module = True
    create_permissions(app_config, apps=apps, verbosity=0)
    app_config.models_module = None

    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    permissions = list(
        Permission.objects.filter(content_type__app_label="tickets", codename__in=ROLE_PERMISSIONS)
    )
    assert len(permissions) == len(ROLE_PERMISSIONS), "tickets permissions are missing"
    for name in ROLE_GROUPS:
        group, _ = Group.objects.get_or_create(name=name)
        group.permissions.add(*permissions)

    apps.get_model("tickets", "SyncLease").objects.get_or_create(name="sync")


def remove_roles(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=ROLE_GROUPS).delete()
    apps.get_model("tickets", "SyncLease").objects.filter(name="sync").delete()


class Migration(migrations.Migration):
    dependencies = [
        ("tickets", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_roles, remove_roles)]
