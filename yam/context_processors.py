"""Template context shared by every page."""

from __future__ import annotations

from django.http import HttpRequest

from tickets.freshservice_config import freshservice_config


def demo_mode(request: HttpRequest) -> dict[str, bool]:
    """`demo_mode`: the site runs against the stand-in Freshservice (pages show a banner)."""
    return {"demo_mode": freshservice_config().demo}
