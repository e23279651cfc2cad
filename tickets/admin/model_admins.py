"""The model admins (SPEC §11): read-mostly views of the synced data, actions that call services.

Synced rows (tickets, daily counts, bookkeeping, the sync log, the lease) are written by the sync
only, so their admins are read-only. Agent names (IDs.txt's, else Freshservice's, else
`Agent <id>`) come from FreshworksUserMapping through a subquery annotation
(`selectors.with_agent`), never one query per row.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Max, Min, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, StreamingHttpResponse
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from freshworks.ids import IdsFileError
from tickets import selectors
from tickets.admin import views
from tickets.admin.filters import (
    AgentFilter,
    DirectoryFilter,
    LocalUserFilter,
    MappedFilter,
    MappedResponderFilter,
    NameSourceFilter,
    ResponderFilter,
    StatusFilter,
)
from tickets.exports import closures_csv_response
from tickets.models import (
    DISPLAY_NAME,
    BackfillProgress,
    ClosedTicket,
    FreshserviceGroup,
    FreshworksUserMapping,
    SyncLease,
    SyncRun,
    TicketClosure,
    TicketSyncMetadata,
)
from tickets.roles import FORCE_SYNC, VIEW_SYNC_STATS
from tickets.services.directory import refresh_agents
from tickets.services.mapping import link_agent
from tickets.services.sync import SyncFailed, SyncRefused, sync_from_web
from tickets.wording import describe_sync, listed, plural

# --- mixins -------------------------------------------------------------------------------------


class SyncedDataAdmin(admin.ModelAdmin):
    """The sync writes these rows and nothing else may: no add, no change, no delete."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class AgentColumnsMixin:
    """`agent` and `local_user` columns read from the `selectors.with_agent` annotation."""

    agent_field = "freshworks_user_id"

    @admin.display(description="agent", ordering="agent_name")
    def agent(self, obj: Any) -> str:
        return selectors.agent_label(getattr(obj, self.agent_field), obj.agent_name)

    @admin.display(description="local user", ordering="agent_username")
    def local_user(self, obj: Any) -> str:
        return obj.agent_username or "-"


if TYPE_CHECKING:
    # The mixins below are only ever mixed into ModelAdmins; tell the type checker so.
    _AdminMixinBase = admin.ModelAdmin
else:
    _AdminMixinBase = object


class ForceSyncPermissionMixin(_AdminMixinBase):
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
        try:
            result = sync_from_web(
                first=first, last=last, trigger=SyncRun.Trigger.ADMIN, force=True
            )
        except (SyncRefused, SyncFailed) as outcome:
            self.message_user(request, describe_sync(outcome, dates=(first, last)), messages.ERROR)
            return
        self.message_user(request, describe_sync(result, dates=(first, last)), messages.SUCCESS)


class CustomPageLinksMixin(_AdminMixinBase):
    """Tells the changelist template which links to the custom pages (views.py) to show."""

    def custom_page_links(self, request: HttpRequest) -> dict[str, bool]:
        return {"can_view_sync_stats": request.user.has_perm(VIEW_SYNC_STATS)}

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        extra_context = {**self.custom_page_links(request), **(extra_context or {})}
        return super().changelist_view(request, extra_context)


def _admin_url_name(model_admin: admin.ModelAdmin, page: str) -> str:
    return f"{model_admin.opts.app_label}_{model_admin.opts.model_name}_{page}"


# --- the model admins ---------------------------------------------------------------------------


@admin.register(ClosedTicket)
class ClosedTicketAdmin(AgentColumnsMixin, SyncedDataAdmin):
    agent_field = "responder_id"
    list_display = [
        "ticket_id",
        "agent",
        "responder_id",
        "group_id",
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
        return selectors.with_agent(super().get_queryset(request), "responder_id")

    @admin.display(description="status", ordering="status")
    def status_name(self, obj: ClosedTicket) -> str:
        return obj.status_label


@admin.register(TicketClosure)
class TicketClosureAdmin(AgentColumnsMixin, ForceSyncMixin, SyncedDataAdmin):
    sync_date_field = "date"
    list_display = ["date", "agent", "freshworks_user_id", "group_id", "user", "tickets_closed"]
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
        return selectors.with_agent(super().get_queryset(request), "freshworks_user_id")

    @admin.action(description="Export selected closures as CSV")
    def export_selected_closures_csv(
        self, request: HttpRequest, queryset: QuerySet
    ) -> StreamingHttpResponse | None:
        rows = selectors.closure_rows_of(queryset)
        if not rows:
            self.message_user(request, "The selected closures are gone; nothing to export.")
            return None
        first, last = rows[0].date, rows[-1].date
        return closures_csv_response(rows, filename=f"closures-selected-{first}-{last}.csv")


@admin.register(FreshworksUserMapping)
class FreshworksUserMappingAdmin(CustomPageLinksMixin, ForceSyncPermissionMixin, admin.ModelAdmin):
    list_display = [
        "name",
        "name_from",
        "freshworks_user_id",
        "email",
        "in_freshservice",
        "user",
        "directory_seen_at",
        "updated_at",
    ]
    list_filter = [LocalUserFilter, NameSourceFilter, DirectoryFilter]
    list_select_related = ["user"]
    search_fields = [
        "freshworks_username",
        "first_name",
        "last_name",
        "email",
        "freshworks_user_id__exact",
        "user__username",
        "user__first_name",
        "user__last_name",
    ]
    ordering = [DISPLAY_NAME.asc(), "freshworks_user_id"]
    autocomplete_fields = ["user"]
    fieldsets = [
        (
            None,
            {
                "fields": ["name", "name_from", "freshworks_user_id", "user"],
                "description": (
                    "Names come from Freshservice's agent list; a line in IDs.txt overrides "
                    "one. Refreshing matches every IDs.txt name again and replaces the local "
                    "user chosen here for an agent with a line there; for the others, a user "
                    "chosen here stays (matching by email only fills empty links)."
                ),
            },
        ),
        (
            "From Freshservice's agent list",
            {"fields": ["first_name", "last_name", "email", "active", "directory_seen_at"]},
        ),
        ("From IDs.txt", {"fields": ["freshworks_username"]}),
        ("Timestamps", {"fields": ["created_at", "updated_at"]}),
    ]
    readonly_fields = [
        "name",
        "name_from",
        "freshworks_username",
        "freshworks_user_id",
        "first_name",
        "last_name",
        "email",
        "active",
        "directory_seen_at",
        "created_at",
        "updated_at",
    ]
    actions = ["refresh_user_mappings_from_ids"]

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).annotate(display=DISPLAY_NAME)

    @admin.display(description="name", ordering="display")
    def name(self, mapping: FreshworksUserMapping) -> str:
        return mapping.display_name

    @admin.display(description="name from", ordering="freshworks_username")
    def name_from(self, mapping: FreshworksUserMapping) -> str:
        return str(mapping.name_source.label)

    @admin.display(description="in Freshservice", ordering="active")
    def in_freshservice(self, mapping: FreshworksUserMapping) -> str:
        if mapping.directory_seen_at is None:
            return "never listed"
        return "active" if mapping.active else "inactive"

    def has_add_permission(self, request: HttpRequest) -> bool:
        # Agents come from Freshservice and IDs.txt; a row added here would never be refreshed.
        return False

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        # The agent's daily counts follow the user chosen here, as they do after a refresh.
        relinked = link_agent(freshworks_user_id=obj.freshworks_user_id, user=obj.user)
        if relinked:
            self.message_user(request, f"{plural(relinked, 'closure row')} relinked.")

    def get_urls(self) -> list[URLPattern]:
        return [
            path(
                "refresh/",
                self.admin_site.admin_view(require_POST(self.refresh_view)),
                name=_admin_url_name(self, "refresh"),
            ),
            path(
                "unmapped-agents/",
                self.admin_site.admin_view(self.unmapped_agents_view),
                name=_admin_url_name(self, "unmapped"),
            ),
            *super().get_urls(),
        ]

    def custom_page_links(self, request: HttpRequest) -> dict[str, bool]:
        return {
            "can_refresh_mappings": self.has_force_sync_permission(request),
            **super().custom_page_links(request),
        }

    def unmapped_agents_view(self, request: HttpRequest) -> TemplateResponse:
        return views.unmapped_agents(request, self)

    @admin.action(description="Refresh agent names and links", permissions=["force_sync"])
    def refresh_user_mappings_from_ids(self, request: HttpRequest, queryset: QuerySet) -> None:
        # Every agent is refreshed whatever was selected; the changelist's button needs no
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
        """Freshservice's agent list, then IDs.txt (`directory.refresh_agents`), in messages."""
        try:
            report = refresh_agents()
        except IdsFileError as error:
            self.message_user(request, f"Nothing changed: {error}.", messages.ERROR)
            return
        if report.directory is not None:
            self.message_user(
                request,
                f"Read Freshservice's agent list: {plural(report.directory.listed, 'agent')} "
                f"({report.directory.active} active, {report.directory.inactive} inactive); "
                f"{len(report.email_linked)} linked to local users by email.",
                messages.SUCCESS,
            )
        elif report.directory_failed:
            self.message_user(
                request,
                f"Freshservice's agent list: {report.directory_problem}; names and emails are "
                "as last read.",
                messages.ERROR,
            )
        source = (
            f"Freshservice's names (no IDs file at {report.path})"
            if report.ids_missing
            else report.path
        )
        self.message_user(
            request,
            f"Refreshed user mappings from {source}: {len(report.matched)} matched, "
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
        if report.ambiguous_emails:
            self.message_user(
                request,
                "Not linked, the email is ambiguous: "
                + listed(
                    f"{outcome.name} ({outcome.freshworks_user_id}): {outcome.reason}"
                    for outcome in report.ambiguous_emails
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


@admin.register(TicketSyncMetadata)
class TicketSyncMetadataAdmin(ForceSyncMixin, SyncedDataAdmin):
    sync_date_field = "sync_date"
    list_display = ["sync_date", "last_sync_time", "sync_count", "tickets_processed", "updated_at"]
    list_filter = ["sync_date", "last_sync_time"]
    date_hierarchy = "sync_date"
    ordering = ["-sync_date"]
    actions = ["force_sync_selected_dates"]


@admin.register(SyncRun)
class SyncRunAdmin(CustomPageLinksMixin, SyncedDataAdmin):
    list_display = [
        "started_at",
        "dates",
        "trigger",
        "status",
        "tickets_processed",
        "api_calls",
        "credits",
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
        return [
            path(
                "statistics/",
                self.admin_site.admin_view(self.statistics_view),
                name=_admin_url_name(self, "statistics"),
            ),
            path(
                "connection/",
                self.admin_site.admin_view(self.connection_view),
                name=_admin_url_name(self, "connection"),
            ),
            path(
                "digest/",
                self.admin_site.admin_view(self.digest_view),
                name=_admin_url_name(self, "digest"),
            ),
            *super().get_urls(),
        ]

    def statistics_view(self, request: HttpRequest) -> TemplateResponse:
        return views.sync_statistics(request, self)

    def connection_view(self, request: HttpRequest) -> TemplateResponse:
        return views.freshservice_connection(request, self)

    def digest_view(self, request: HttpRequest) -> HttpResponse:
        return views.daily_digest(request, self)


@admin.register(FreshserviceGroup)
class FreshserviceGroupAdmin(SyncedDataAdmin):
    """The team's group as the sync last read it (once a day): its name and workspace."""

    list_display = ["name", "group_id", "workspace_id", "fetched_at"]
    search_fields = ["name", "group_id__exact"]
    ordering = ["name"]


@admin.register(SyncLease)
class SyncLeaseAdmin(SyncedDataAdmin):
    list_display = ["name", "holder", "expires_at"]
    ordering = ["name"]


@admin.register(BackfillProgress)
class BackfillProgressAdmin(SyncedDataAdmin):
    """A backfill under way or stopped (SPEC §15): a rerun of its dates resumes it."""

    list_display = [
        "dates",
        "pages_done",
        "tickets_done",
        "updated_since",
        "started_at",
        "updated_at",
    ]
    exclude = ["counted"]

    @admin.display(description="dates", ordering="first_date")
    def dates(self, progress: BackfillProgress) -> str:
        return progress.dates
