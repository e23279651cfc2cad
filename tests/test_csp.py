"""A Content-Security-Policy header on every answer, with no inline script or style (§19.5)."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from tickets.models import SyncRun

pytestmark = pytest.mark.django_db

POLICY = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self' data:",
    "object-src": "'none'",
    "frame-ancestors": "'none'",
}


def paths(resolver: URLResolver | None = None, prefix: str = "") -> list[str]:
    """Every path of the URL patterns that takes no argument, as a browser would ask for it."""
    found = []
    for pattern in (resolver or get_resolver()).url_patterns:
        route = str(pattern.pattern).removeprefix("^").removesuffix("$").replace("/?", "/")
        if re.search(r"[<(\[\\]", route):
            continue  # takes an argument (a model's id, an app label)
        if isinstance(pattern, URLResolver):
            found += paths(pattern, prefix + route)
        elif isinstance(pattern, URLPattern):
            found.append("/" + prefix + route)
    return sorted(set(found))


def assert_policy(response, path: str) -> None:
    header = response.get("Content-Security-Policy")
    assert header, f"{path} ({response.status_code}) has no Content-Security-Policy"
    directives = dict(part.strip().split(" ", 1) for part in header.split(";"))
    for directive, sources in POLICY.items():
        assert directives.get(directive) == sources, (path, directive, header)
    assert "unsafe-inline" not in header
    assert "unsafe-eval" not in header


def test_the_walk_reaches_every_kind_of_page():
    walked = paths()

    for path in ("/", "/accounts/login/", "/admin/", "/api/docs/", "/api/tickets/stats"):
        assert path in walked or path.rstrip("/") + "/" in walked, walked


@pytest.mark.parametrize("path", paths())
def test_every_page_carries_the_policy_for_anonymous_visitors(path):
    assert_policy(Client(raise_request_exception=False).get(path), path)


def failed_run() -> SyncRun:
    """A failed sync, so the admin's lists and statistics have something to show."""
    return SyncRun.objects.create(
        first_date="2026-11-26",
        last_date="2026-11-26",
        trigger="schedule",
        status="failed",
        started_at="2026-11-26T15:00:00Z",
        finished_at="2026-11-26T15:00:01Z",
        error="Freshservice kept failing",
    )


@pytest.mark.parametrize("path", paths())
def test_every_page_carries_the_policy_when_logged_in(superuser, path):
    failed_run()
    client = Client(raise_request_exception=False)
    client.force_login(superuser)

    assert_policy(client.get(path), path)


def test_error_and_locked_out_answers_carry_it_too(superuser):
    assert_policy(Client().get("/no-such-page/"), "404")
    for _ in range(5):
        locked = Client().post("/accounts/login/", {"username": "sue.super", "password": "x"})
    assert locked.status_code == 429
    assert_policy(locked, "locked out")
