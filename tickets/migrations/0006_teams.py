"""Teams (SPEC §16.5): every stored closure names the agent group (team) it counts for.

Rows stored before this migration were synced for one group, and get that group:
1. the one group FRESH_GROUP_ID names when the migration runs;
2. else (FRESH_GROUP_ID names none, as in demo mode, or already several) the group the last
   sync read from Freshservice (FreshserviceGroup, the latest read; among the configured ones
   when some are configured);
3. else, when there are rows to label, the migration stops with a message saying to set
   FRESH_GROUP_ID to the group they were synced for (it changes nothing: it runs in one
   transaction). A database without closures migrates whatever the settings say.

Backwards, an agent's rows of one day in several groups are summed into one.
"""

from django.core.exceptions import ImproperlyConfigured
from django.db import migrations, models
from django.db.models import Count, Min, Sum

import tickets.models


def _group_of_existing_rows(apps) -> int | None:
    from django.conf import settings

    from tickets.freshservice_config import group_ids

    configured = group_ids(settings.FRESH_GROUP_ID)
    if len(configured) == 1:
        return configured[0]
    read = apps.get_model("tickets", "FreshserviceGroup").objects.order_by("-fetched_at")
    if configured:
        read = read.filter(group_id__in=configured)
    return read.values_list("group_id", flat=True).first()


def label_existing_rows(apps, schema_editor) -> None:
    ClosedTicket = apps.get_model("tickets", "ClosedTicket")
    TicketClosure = apps.get_model("tickets", "TicketClosure")
    if not (ClosedTicket.objects.exists() or TicketClosure.objects.exists()):
        return
    group_id = _group_of_existing_rows(apps)
    if group_id is None:
        raise ImproperlyConfigured(
            "Migration tickets.0006_teams: the stored closures were synced for one agent group, "
            "and neither FRESH_GROUP_ID nor a past sync says which. Set FRESH_GROUP_ID to that "
            "group's id and run migrate again (nothing was changed)."
        )
    ClosedTicket.objects.update(group_id=group_id)
    TicketClosure.objects.update(group_id=group_id)


def merge_groups(apps, schema_editor) -> None:
    """Backwards: one row per agent and day again, the groups' counts summed."""
    TicketClosure = apps.get_model("tickets", "TicketClosure")
    shared = (
        TicketClosure.objects.values("freshworks_user_id", "date")
        .annotate(rows=Count("id"), closed=Sum("tickets_closed"), keep=Min("id"))
        .filter(rows__gt=1)
    )
    for row in shared:
        TicketClosure.objects.filter(pk=row["keep"]).update(tickets_closed=row["closed"])
        TicketClosure.objects.filter(
            freshworks_user_id=row["freshworks_user_id"], date=row["date"]
        ).exclude(pk=row["keep"]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("tickets", "0005_repair_trigger"),
    ]

    operations = [
        migrations.AddField(
            model_name="closedticket",
            name="group_id",
            field=models.BigIntegerField(null=True),
        ),
        migrations.AddField(
            model_name="ticketclosure",
            name="group_id",
            field=models.BigIntegerField(null=True),
        ),
        migrations.RemoveConstraint(
            model_name="ticketclosure",
            name="ticketclosure_unique_agent_date",
        ),
        migrations.RunPython(label_existing_rows, merge_groups),
        migrations.AlterField(
            model_name="closedticket",
            name="group_id",
            field=models.BigIntegerField(
                default=tickets.models.default_group_id,
                help_text="The configured agent group (team) the ticket is in: one ticket, one group",
            ),
        ),
        migrations.AlterField(
            model_name="ticketclosure",
            name="group_id",
            field=models.BigIntegerField(
                default=tickets.models.default_group_id,
                help_text="The agent group (team) of the tickets counted",
            ),
        ),
        migrations.AddConstraint(
            model_name="ticketclosure",
            constraint=models.UniqueConstraint(
                fields=("freshworks_user_id", "date", "group_id"),
                name="ticketclosure_unique_agent_date_group",
            ),
        ),
    ]
