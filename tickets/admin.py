"""Django admin (SPEC §11): read-mostly views of the synced data, actions that call services.

Synced rows (tickets, daily counts, bookkeeping, the sync log, the lease) are written by the sync
only, so their admins are read-only. Agent names come from FreshworksUserMapping through a
subquery annotation, never one query per row.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any

from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Exists, Max, Min, QuerySet, Subquery
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from freshworks.ids import IdsFileError
from tickets import selectors
from tickets.exports import closures_csv_response
from tickets.freshservice_config import freshservice_config
from tickets.models import (
    ClosedTicket,
    FreshworksUserMapping,
    SyncLease,
    SyncRun,
    TicketClosure,
    TicketSyncMetadata,
    dates_label,
)
from tickets.services.mapping import link_agent, refresh_user_mappings
from tickets.services.sync import (
    REQUEST_MAX_WAIT_SECONDS,
    SyncError,
    SyncFailed,
    sync_closures,
)

FORCE_SYNC = "tickets.force_sync"
VIEW_SYNC_STATS = "tickets.view_sync_stats"
# Freshservice's names of the statuses that usually count as closed (FRESH_CLOSED_STATUSES).
STATUS_NAMES = {4: "Resolved", 5: "Closed"}
# How many unmatched names or skipped lines one refresh message lists before "and N more".
LISTED = 10


def with_agent(queryset: QuerySet, agent_field: str) -> QuerySet:
    """`queryset` annotated with `agent_name` and `agent_username` from the agent's mapping."""
    mapping = FreshworksUserMapping.objects.of_outer_agent(agent_field)
    return queryset.annotate(
        agent_name=Subquery(mapping.values("freshworks_username")[:1]),
        agent_username=Subquery(mapping.values("user__username")[:1]),
    )


def status_label(status: int) -> str:
    name = STATUS_NAMES.get(status)
    return f"{status} {name}" if name else str(status)


def plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def span_label(first: date, last: date) -> str:
    """The dates a sync asked for, with the number of days of a range."""
    if first == last:
        return dates_label(first, last)
    return f"{dates_label(first, last)} ({plural((last - first).days + 1, 'day')})"


def listed(texts: Iterable[str]) -> str:
    """`a; b; c.`, cut after LISTED items with "and N more"."""
    items = list(texts)
    shown = "; ".join(items[:LISTED])
    return shown + (f"; and {len(items) - LISTED} more" if len(items) > LISTED else "") + "."


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


class SyncedDataAdmin(admin.ModelAdmin):
    """The sync writes these rows and nothing else may: no add, no change, no delete."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class AgentColumnsMixin:
    """`agent` and `local_user` columns read from the `with_agent` annotation."""

    agent_field = "freshworks_user_id"

    @admin.display(description="agent", ordering="agent_name")
    def agent(self, obj: Any) -> str:
        return selectors.agent_label(getattr(obj, self.agent_field), obj.agent_name)

    @admin.display(description="local user", ordering="agent_username")
    def local_user(self, obj: Any) -> str:
        return obj.agent_username or "-"


class ForceSyncPermissionMixin:
    """`permissions=["force_sync"]` on an action: the roles of SPEC §8 and superusers."""

    def has_force_sync_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(FORCE_SYNC)


class ForceSyncMixin(ForceSyncPermissionMixin):
    """The "Force sync selected dates" action: one forced fetch over the selection's dates."""

    sync_date_field: str

    @admin.action(description="Force sync selected dates", permissions=["force_sync"])
    def force_sync_selected_dates(self, request: HttpRequest, queryset: QuerySet) -> None:
        span = queryset.aggregate(first=Min(self.sync_date_field), last=Max(self.sync_date_field))
        first, last = span["first"], span["last"]
        if first is None:  # the rows went away since the page was shown (a recount)
            self.message_user(request, "The selected rows are gone; nothing to sync.")
            return
        label = span_label(first, last)
        try:
            result = sync_closures(
                first=first,
                last=last,
                trigger=SyncRun.Trigger.ADMIN,
                force=True,
                max_wait=REQUEST_MAX_WAIT_SECONDS,
            )
        except SyncFailed as failure:
            self.message_user(
                request,
                f"The sync of {label} failed and changed nothing: {failure}",
                messages.ERROR,
            )
            return
        except SyncError as refusal:
            self.message_user(request, f"{label} was not synced: {refusal}", messages.ERROR)
            return
        self.message_user(
            request,
            f"Force-synced {label}: {plural(result.tickets_processed, 'ticket')} fetched in "
            f"{plural(result.api_calls, 'API call')}; "
            f"{plural(len(result.dates_recounted), 'day')} recounted.",
            messages.SUCCESS,
        )


@admin.register(ClosedTicket)
class ClosedTicketAdmin(AgentColumnsMixin, SyncedDataAdmin):
    agent_field = "responder_id"
    list_display = [
        "ticket_id",
        "agent",
        "responder_id",
        "status_name",
        "closed_at",
        "closure_date",
    ]
    list_filter = ["closure_date", ResponderFilter, MappedResponderFilter, StatusFilter]
    search_fields = ["ticket_id__exact", "responder_id__exact", "agent_name", "agent_username"]
    date_hierarchy = "closure_date"
    ordering = ["-closed_at"]
    readonly_fields = ["agent", "local_user"]

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return with_agent(super().get_queryset(request), "responder_id")

    @admin.display(description="status", ordering="status")
    def status_name(self, obj: ClosedTicket) -> str:
        return status_label(obj.status)


@admin.register(TicketClosure)
class TicketClosureAdmin(AgentColumnsMixin, ForceSyncMixin, SyncedDataAdmin):
    sync_date_field = "date"
    list_display = ["date", "agent", "freshworks_user_id", "user", "tickets_closed"]
    list_filter = ["date", AgentFilter, MappedFilter]
    list_select_related = ["user"]
    search_fields = [
        "freshworks_user_id__exact",
        "agent_name",
        "agent_username",
        "user__username",
    ]
    date_hierarchy = "date"
    ordering = ["-date", "-tickets_closed"]
    readonly_fields = ["agent"]
    actions = ["force_sync_selected_dates", "export_selected_closures_csv"]

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return with_agent(super().get_queryset(request), "freshworks_user_id")

    @admin.action(description="Export selected closures as CSV")
    def export_selected_closures_csv(
        self, request: HttpRequest, queryset: QuerySet
    ) -> HttpResponse | None:
        rows = selectors.closure_rows_of(queryset)
        if not rows:
            self.message_user(request, "The selected closures are gone; nothing to export.")
            return None
        first, last = rows[0].date, rows[-1].date
        return closures_csv_response(rows, filename=f"closures-selected-{first}-{last}.csv")


@admin.register(FreshworksUserMapping)
class FreshworksUserMappingAdmin(ForceSyncPermissionMixin, admin.ModelAdmin):
    list_display = ["freshworks_username", "freshworks_user_id", "user", "updated_at"]
    list_filter = [LocalUserFilter]
    list_select_related = ["user"]
    search_fields = [
        "freshworks_username",
        "freshworks_user_id__exact",
        "user__username",
        "user__first_name",
        "user__last_name",
    ]
    ordering = ["freshworks_username"]
    autocomplete_fields = ["user"]
    fieldsets = [
        (
            None,
            {
                "fields": ["freshworks_username", "freshworks_user_id", "user"],
                "description": (
                    "Names and IDs come from IDs.txt. Refreshing the mappings matches every "
                    "name again and replaces the local user chosen here."
                ),
            },
        ),
        ("Timestamps", {"fields": ["created_at", "updated_at"]}),
    ]
    readonly_fields = ["freshworks_username", "freshworks_user_id", "created_at", "updated_at"]
    actions = ["refresh_user_mappings_from_ids"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        # Agents come from IDs.txt; a row added here would vanish on the next refresh.
        return False

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        # The agent's daily counts follow the user chosen here, as they do after a refresh.
        relinked = link_agent(freshworks_user_id=obj.freshworks_user_id, user=obj.user)
        if relinked:
            self.message_user(request, f"{plural(relinked, 'closure row')} relinked.")

    def get_urls(self) -> list[URLPattern]:
        info = self.opts.app_label, self.opts.model_name
        return [
            path(
                "refresh/",
                self.admin_site.admin_view(require_POST(self.refresh_view)),
                name="{}_{}_refresh".format(*info),
            ),
            path(
                "unmapped-agents/",
                self.admin_site.admin_view(self.unmapped_agents_view),
                name="{}_{}_unmapped".format(*info),
            ),
            *super().get_urls(),
        ]

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        extra_context = {
            "can_refresh_mappings": self.has_force_sync_permission(request),
            "can_view_sync_stats": request.user.has_perm(VIEW_SYNC_STATS),
            **(extra_context or {}),
        }
        return super().changelist_view(request, extra_context)

    @admin.action(description="Refresh user mappings from IDs.txt", permissions=["force_sync"])
    def refresh_user_mappings_from_ids(self, request: HttpRequest, queryset: QuerySet) -> None:
        # The whole file is reloaded whatever was selected; the changelist's button needs no
        # selection at all.
        self.refresh_and_report(request)

    def refresh_view(self, request: HttpRequest) -> HttpResponse:
        if not self.has_force_sync_permission(request):
            raise PermissionDenied
        self.refresh_and_report(request)
        back = request.POST.get("next", "")
        if not url_has_allowed_host_and_scheme(
            back, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        ):
            back = reverse("admin:tickets_freshworksusermapping_changelist")
        return HttpResponseRedirect(back)

    def refresh_and_report(self, request: HttpRequest) -> None:
        try:
            report = refresh_user_mappings()
        except IdsFileError as error:
            self.message_user(request, f"Nothing changed: {error}.", messages.ERROR)
            return
        self.message_user(
            request,
            f"Refreshed user mappings from {report.path}: {len(report.matched)} matched, "
            f"{len(report.unmatched)} unmatched, {plural(len(report.problems), 'problem line')}, "
            f"{len(report.removed)} removed; "
            f"{plural(report.relinked_closures, 'closure row')} relinked.",
            messages.SUCCESS,
        )
        if report.unmatched:
            self.message_user(
                request,
                "No local user for: "
                + listed(
                    f"{outcome.name} ({outcome.freshworks_user_id}): {outcome.reason}"
                    for outcome in report.unmatched
                ),
                messages.WARNING,
            )
        if report.problems:
            self.message_user(
                request,
                "Skipped lines: "
                + listed(f"line {problem.line}: {problem.reason}" for problem in report.problems),
                messages.WARNING,
            )

    def unmapped_agents_view(self, request: HttpRequest) -> TemplateResponse:
        if not request.user.has_perm(VIEW_SYNC_STATS):
            raise PermissionDenied
        context = {
            **self.admin_site.each_context(request),
            "title": "Agents with closures but no IDs.txt line",
            "opts": self.opts,
            "agents": selectors.unmapped_agents(),
            "ids_file": freshservice_config().ids_file,
            "can_refresh_mappings": self.has_force_sync_permission(request),
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, "admin/tickets/unmapped_agents.html", context)


@admin.register(TicketSyncMetadata)
class TicketSyncMetadataAdmin(ForceSyncMixin, SyncedDataAdmin):
    sync_date_field = "sync_date"
    list_display = ["sync_date", "last_sync_time", "sync_count", "tickets_processed", "updated_at"]
    list_filter = ["sync_date", "last_sync_time"]
    date_hierarchy = "sync_date"
    ordering = ["-sync_date"]
    actions = ["force_sync_selected_dates"]


@admin.register(SyncRun)
class SyncRunAdmin(SyncedDataAdmin):
    list_display = [
        "started_at",
        "dates",
        "trigger",
        "status",
        "tickets_processed",
        "api_calls",
        "duration",
        "short_error",
    ]
    list_filter = ["status", "trigger", "started_at", "first_date"]
    search_fields = ["error"]
    date_hierarchy = "started_at"
    ordering = ["-started_at"]

    @admin.display(description="dates", ordering="first_date")
    def dates(self, run: SyncRun) -> str:
        return run.dates

    @admin.display(description="duration")
    def duration(self, run: SyncRun) -> str:
        return f"{(run.finished_at - run.started_at).total_seconds():.1f} s"

    @admin.display(description="error")
    def short_error(self, run: SyncRun) -> str:
        return run.error if len(run.error) <= 80 else run.error[:79] + "…"

    def get_urls(self) -> list[URLPattern]:
        info = self.opts.app_label, self.opts.model_name
        return [
            path(
                "statistics/",
                self.admin_site.admin_view(self.statistics_view),
                name="{}_{}_statistics".format(*info),
            ),
            *super().get_urls(),
        ]

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        extra_context = {
            "can_view_sync_stats": request.user.has_perm(VIEW_SYNC_STATS),
            **(extra_context or {}),
        }
        return super().changelist_view(request, extra_context)

    def statistics_view(self, request: HttpRequest) -> TemplateResponse:
        if not request.user.has_perm(VIEW_SYNC_STATS):
            raise PermissionDenied
        context = {
            **self.admin_site.each_context(request),
            "title": "Sync statistics",
            "opts": self.opts,
            "stats": selectors.admin_stats(now=timezone.now()),
            "schedule": settings.SYNC_SCHEDULE,
            "min_interval": settings.SYNC_MIN_INTERVAL_MINUTES,
            "can_force_sync": request.user.has_perm(FORCE_SYNC),
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, "admin/tickets/sync_statistics.html", context)


@admin.register(SyncLease)
class SyncLeaseAdmin(SyncedDataAdmin):
    list_display = ["name", "holder", "expires_at"]
    ordering = ["name"]
