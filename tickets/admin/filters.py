"""List filters of the admin: agents by name, whether they have a name, statuses, linked users."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import Exists, QuerySet
from django.http import HttpRequest

from tickets import selectors
from tickets.models import ClosedTicket, FreshworksUserMapping, status_label


class AgentFilter(admin.SimpleListFilter):
    """Agents by their IDs.txt name (`Agent <id>` when they have none)."""

    title = "agent"
    parameter_name = "agent"
    agent_field = "freshworks_user_id"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        agent_ids = (
            model_admin.model.objects.order_by().values_list(self.agent_field, flat=True).distinct()
        )
        names = dict(
            FreshworksUserMapping.objects.filter(freshworks_user_id__in=agent_ids).values_list(
                "freshworks_user_id", "freshworks_username"
            )
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
    """Whether the agent has a line in IDs.txt."""

    title = "name in IDs.txt"
    parameter_name = "mapped"
    agent_field = "freshworks_user_id"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        return [("yes", "Named"), ("no", "Not named (Agent <id>)")]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        mapped = Exists(FreshworksUserMapping.objects.of_outer_agent(self.agent_field))
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
