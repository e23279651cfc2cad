"""The dashboard page and the health check."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils import timezone

from tickets import selectors
from tickets.api.views import carried_closures
from tickets.dates import previous_workday


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    """The page renders a container; static JS draws it from the API (URLs in data- attributes),
    starting from the closures answer the page carries for its first request. The configured
    teams fill the team selector (shown with more than one, SPEC §16.5)."""
    today = timezone.localdate()
    return render(
        request,
        "dashboard.html",
        {
            # "Previous workday" only where it is not yesterday (on a Monday: Friday).
            "show_last_workday": previous_workday(today) != today - timedelta(days=1),
            "time_zone": settings.TIME_ZONE,
            "teams": selectors.teams(),
            "closures": carried_closures(request.GET),
        },
    )


def healthz(request: HttpRequest) -> JsonResponse:
    """For monitoring, without log-in: 200 when the database answers and the data is fresh."""
    now = timezone.now()
    try:
        last_sync = selectors.watermark()
    except DatabaseError:
        return JsonResponse(
            {"status": "error", "database": False, "last_sync_at": None, "stale": True},
            status=503,
        )
    stale = selectors.is_stale(last_sync, now=now)
    return JsonResponse(
        {
            "status": "stale" if stale else "ok",
            "database": True,
            "last_sync_at": last_sync.isoformat() if last_sync else None,
            "last_sync_age_seconds": int((now - last_sync).total_seconds()) if last_sync else None,
            "stale": stale,
        },
        status=503 if stale else 200,
    )
