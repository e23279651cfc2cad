"""The admin's own pages (SPEC §11, §14.5, §18): the sync statistics, the agents without a local
user, the Freshservice connection check and the daily digest (its preview and a test send).

Each is served by a model admin's `get_urls` (so it sits under that model in the breadcrumbs)
and needs tickets.view_sync_stats, like the API's admin-stats.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.utils import timezone

from tickets import selectors
from tickets.freshservice_config import freshservice_config
from tickets.roles import FORCE_SYNC, VIEW_SYNC_STATS
from tickets.services.connection import check_connection
from tickets.services.digest import (
    DigestNotConfigured,
    channels,
    compose_digest,
    default_day,
    deliver_digest,
)


def sync_statistics(request: HttpRequest, model_admin: admin.ModelAdmin) -> TemplateResponse:
    """The statistics of `admin-stats`: sync health, database contents, the last 10 syncs."""
    if not request.user.has_perm(VIEW_SYNC_STATS):
        raise PermissionDenied
    context = {
        **_page(request, model_admin),
        "title": "Sync statistics",
        "stats": selectors.admin_stats(now=timezone.now()),
        "schedule": settings.SYNC_SCHEDULE,
        "min_interval": settings.SYNC_MIN_INTERVAL_MINUTES,
        "can_force_sync": request.user.has_perm(FORCE_SYNC),
    }
    return TemplateResponse(request, "admin/tickets/sync_statistics.html", context)


def unmapped_agents(request: HttpRequest, model_admin: admin.ModelAdmin) -> TemplateResponse:
    """Agents with closures but no local user, and why, most closures first."""
    if not request.user.has_perm(VIEW_SYNC_STATS):
        raise PermissionDenied
    context = {
        **_page(request, model_admin),
        "title": "Agents with closures but no local user",
        "agents": selectors.unmapped_agents(),
        "ids_file": freshservice_config().ids_file,
        "can_refresh_mappings": request.user.has_perm(FORCE_SYNC),
    }
    return TemplateResponse(request, "admin/tickets/unmapped_agents.html", context)


def freshservice_connection(
    request: HttpRequest, model_admin: admin.ModelAdmin
) -> TemplateResponse:
    """The connection check of `manage.py check_freshservice`, run when the page is opened."""
    if not request.user.has_perm(VIEW_SYNC_STATS):
        raise PermissionDenied
    context = {
        **_page(request, model_admin),
        "title": "Freshservice connection",
        "report": check_connection(),
    }
    return TemplateResponse(request, "admin/tickets/freshservice_connection.html", context)


def daily_digest(request: HttpRequest, model_admin: admin.ModelAdmin) -> HttpResponse:
    """The digest the schedule would send now, and (POST) a test send of it to every channel."""
    if not request.user.has_perm(VIEW_SYNC_STATS):
        raise PermissionDenied
    digest = compose_digest(day=default_day())
    if request.method == "POST":
        if not request.user.has_perm(FORCE_SYNC):
            raise PermissionDenied
        try:
            deliveries = deliver_digest(digest, test=True)
        except DigestNotConfigured as exc:
            messages.error(request, str(exc))
        else:
            for delivery in deliveries:
                level = messages.SUCCESS if delivery.ok else messages.ERROR
                messages.add_message(request, level, f"Test digest: {delivery}")
        return HttpResponseRedirect(request.path)
    context = {
        **_page(request, model_admin),
        "title": "Daily digest",
        "digest": digest,
        "channels": channels(),
        "schedule": settings.DIGEST_SCHEDULE,
        "can_send": request.user.has_perm(FORCE_SYNC),
    }
    return TemplateResponse(request, "admin/tickets/daily_digest.html", context)


def _page(request: HttpRequest, model_admin: admin.ModelAdmin) -> dict[str, Any]:
    """What every admin page's template needs, under `model_admin`'s model."""
    request.current_app = model_admin.admin_site.name
    return {**model_admin.admin_site.each_context(request), "opts": model_admin.opts}
