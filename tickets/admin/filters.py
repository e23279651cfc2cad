"""List filters of the admin: agents by name, whether they have a name and where it comes from,
statuses, linked users."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import Exists, Q, QuerySet
from django.http import HttpRequest

from tickets import selectors
from tickets.models import (
    DISPLAY_NAME,
    ClosedTicket,
    FreshworksUserMapping,
    NameSource,
    status_label,
)


class AgentFilter(admin.SimpleListFilter):
    """Agents by their display name (`Agent <id>` when they have none)."""

    title = "agent"
    parameter_name = "agent"
    agent_field = "freshworks_user_id"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        agent_ids = (
            model_admin.model.objects.order_by().values_list(self.agent_field, flat=True).distinct()
        )
        names = dict(
            FreshworksUserMapping.objects.filter(freshworks_user_id__in=agent_ids)
            .annotate(display=DISPLAY_NAME)
            .values_list("freshworks_user_id", "display")
        )
        labels = {
            agent_id: selectors.agent_label(agent_id, names.get(agent_id)) for agent_id in agent_ids
        }
        return [
            (str(agent_id), label)
            for agent_id, label in sorted(labels.items(), key=lambda item: item[1].casefold())
        ]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        value = self.value()
        if value and value.isdigit():
            return queryset.filter(**{self.agent_field: int(value)})
        return queryset


class ResponderFilter(AgentFilter):
    agent_field = "responder_id"


class MappedFilter(admin.SimpleListFilter):
    """Whether the agent has a name: from IDs.txt or from Freshservice's agent list."""

    title = "name"
    parameter_name = "mapped"
    agent_field = "freshworks_user_id"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        return [("yes", "Named"), ("no", "Not named (Agent <id>)")]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        mapped = Exists(
            FreshworksUserMapping.objects.of_outer_agent(self.agent_field).filter(
                ~Q(freshworks_username="", first_name="", last_name="")
            )
        )
        if self.value() == "yes":
            return queryset.filter(mapped)
        if self.value() == "no":
            return queryset.filter(~mapped)
        return queryset


class MappedResponderFilter(MappedFilter):
    agent_field = "responder_id"


class StatusFilter(admin.SimpleListFilter):
    title = "status"
    parameter_name = "status"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        statuses = ClosedTicket.objects.order_by("status").values_list("status", flat=True)
        return [(str(status), status_label(status)) for status in statuses.distinct()]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        value = self.value()
        if value and value.isdigit():
            return queryset.filter(status=int(value))
        return queryset


class LocalUserFilter(admin.SimpleListFilter):
    title = "local user"
    parameter_name = "linked"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        return [("yes", "Linked"), ("no", "Not linked")]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() in ("yes", "no"):
            return queryset.filter(user__isnull=self.value() == "no")
        return queryset


class NameSourceFilter(admin.SimpleListFilter):
    """Where an agent's name comes from: IDs.txt, Freshservice's agent list, or nowhere."""

    title = "name from"
    parameter_name = "name_from"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        return [(str(source.value), str(source.label)) for source in NameSource]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        ids_name = ~Q(freshworks_username="")
        freshservice_name = ~Q(first_name="", last_name="")
        if self.value() == NameSource.IDS_FILE:
            return queryset.filter(ids_name)
        if self.value() == NameSource.FRESHSERVICE:
            return queryset.exclude(ids_name).filter(freshservice_name)
        if self.value() == NameSource.FALLBACK:
            return queryset.exclude(ids_name).exclude(freshservice_name)
        return queryset


class DirectoryFilter(admin.SimpleListFilter):
    """What Freshservice's agent list says of the agent: active, inactive, or not listed."""

    title = "in Freshservice"
    parameter_name = "directory"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        return [("active", "Active"), ("inactive", "Inactive"), ("unlisted", "Never listed")]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() == "active":
            return queryset.filter(active=True)
        if self.value() == "inactive":
            return queryset.filter(active=False)
        if self.value() == "unlisted":
            return queryset.filter(directory_seen_at__isnull=True)
        return queryset
