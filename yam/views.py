"""The dashboard page (a plain server-rendered table until the full dashboard lands)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from tickets import selectors


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    today = timezone.localdate()
    closures = selectors.closures_for_period(start=today, end=today)
    return render(request, "dashboard.html", {"closures": closures, "today": today})
