"""Template context shared by every page."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest


def demo_mode(request: HttpRequest) -> dict[str, bool]:
    """`demo_mode`: the site runs against the stand-in Freshservice (pages show a banner)."""
    return {"demo_mode": bool(settings.DEMO_MODE)}
