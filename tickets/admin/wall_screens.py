"""Wall-screen links in the admin (SPEC §17): create one (its link is shown once, on the page
after saving), list them with when each was last seen, revoke. A token cannot be seen again:
only its hash is stored. Revoked stays revoked; a screen that needs one again gets a new link.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import OuterRef, QuerySet, Subquery
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils import timezone

from tickets.admin.views import _page
from tickets.models import FreshserviceGroup, WallScreenLink
from tickets.services.wall_screens import (
    NewWallScreen,
    WallScreenError,
    check_name,
    check_team,
    issue_wall_screen,
    revoke_wall_screens,
)
from tickets.wording import plural

# Where save_model leaves the new link for response_add, on the request (admins are shared).
_NEW = "_new_wall_screen"


class WallScreenLinkForm(forms.ModelForm):
    class Meta:
        model = WallScreenLink
        fields = ["name", "team"]

    def clean_name(self) -> str:
        try:
            return check_name(self.cleaned_data["name"], exclude=self.instance)
        except WallScreenError as error:
            raise forms.ValidationError(str(error)) from None

    def clean_team(self) -> int | None:
        try:
            return check_team(self.cleaned_data.get("team"))
        except WallScreenError as error:
            raise forms.ValidationError(str(error)) from None


class RevokedFilter(admin.SimpleListFilter):
    title = "state"
    parameter_name = "state"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("active", "Active"), ("revoked", "Revoked")]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() == "active":
            return queryset.filter(revoked_at__isnull=True)
        if self.value() == "revoked":
            return queryset.filter(revoked_at__isnull=False)
        return queryset


@admin.register(WallScreenLink)
class WallScreenLinkAdmin(admin.ModelAdmin):
    form = WallScreenLinkForm
    list_display = ["name", "team_name", "state", "last_seen_at", "created_by", "created_at"]
    list_filter = [RevokedFilter]
    list_select_related = ["created_by"]
    search_fields = ["name"]
    ordering = ["revoked_at", "name"]  # active links first
    readonly_fields = ["state", "created_by", "created_at", "last_seen_at", "revoked_at"]
    actions = ["revoke_selected"]

    def get_fields(
        self, request: HttpRequest, obj: WallScreenLink | None = None
    ) -> tuple[str, ...]:
        if obj is None:  # adding: the token is made on saving, the rest is recorded
            return ("name", "team")
        return ("name", "team", *self.readonly_fields)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        if obj is not None and obj.revoked:
            return ["name", "team", *self.readonly_fields]
        return list(self.readonly_fields)

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)  # a link is revoked, not deleted (its record stays)
        return actions

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        # The team's name as the sync last read it, in the same query (not one per row).
        group = FreshserviceGroup.objects.filter(group_id=OuterRef("team"))
        return super().get_queryset(request).annotate(team_label=Subquery(group.values("name")[:1]))

    @admin.display(description="team", ordering="team")
    def team_name(self, link: Any) -> str:
        if link.team is None:
            return "all groups"
        return f"{link.team_label or 'group'} ({link.team})"

    @admin.display(description="state", ordering="revoked_at")
    def state(self, link: WallScreenLink) -> str:
        if link.revoked_at is None:
            return "active"
        return f"revoked {timezone.localtime(link.revoked_at):%Y-%m-%d %H:%M}"

    @admin.action(description="Revoke selected wall-screen links", permissions=["change"])
    def revoke_selected(self, request: HttpRequest, queryset: QuerySet) -> None:
        revoked = revoke_wall_screens(queryset)
        self.message_user(
            request,
            f"Revoked {plural(revoked, 'wall-screen link')}; their screens say so at their next "
            "reload (within 5 minutes). "
            "A revoked link stays revoked: create a new one for a screen that needs it.",
            messages.SUCCESS,
        )

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        obj.created_by = request.user
        setattr(request, _NEW, issue_wall_screen(obj))

    def response_add(
        self, request: HttpRequest, obj: Any, post_url_continue: str | None = None
    ) -> HttpResponse:
        new: NewWallScreen | None = getattr(request, _NEW, None)
        if new is None:
            return super().response_add(request, obj, post_url_continue)
        # The one time the link exists in full: shown on this page, never stored, never again.
        context = {
            **_page(request, self),
            "title": f"Wall-screen link “{obj.name}” created",
            "link": obj,
            "url": request.build_absolute_uri(new.path),
        }
        return TemplateResponse(request, "admin/tickets/wallscreenlink/created.html", context)
