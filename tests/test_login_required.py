"""Login is required everywhere: every route refuses an anonymous visitor, but a public few."""

from __future__ import annotations

import re

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

pytestmark = pytest.mark.django_db

PUBLIC = {"/healthz", "/accounts/login/", "/api-auth/login/", "/admin/login/"}
# Parameterised admin routes are covered by their list pages; a sample id is enough for the rest.
SAMPLE = {"object_id": "1", "app_label": "tickets", "content_type_id": "1", "user_id": "1"}


def _routes(patterns, prefix="") -> list[str]:
    routes = []
    for pattern in patterns:
        text = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            routes += _routes(pattern.url_patterns, text)
        elif isinstance(pattern, URLPattern):
            routes.append(text)
    return routes


def _path(route: str) -> str | None:
    route = route.replace("^", "").replace("$", "").replace("/?", "").replace("\\.", ".")
    route = re.sub(r"<(?:\w+:)?(\w+)>", lambda m: SAMPLE.get(m.group(1), "x"), route)
    route = re.sub(r"\(\?P<(\w+)>[^)]*\)", lambda m: SAMPLE.get(m.group(1), "x"), route)
    if any(char in route for char in "()[]*+?\\"):
        return None  # a regex this sketch cannot fill in (e.g. a catch-all)
    return "/" + route


def test_every_route_refuses_anonymous_visitors(client):
    paths = sorted({p for p in map(_path, _routes(get_resolver().url_patterns)) if p})
    assert "/api/tickets/closures/period" in paths
    assert len(paths) > 30

    for path in paths:
        if path in PUBLIC:
            continue
        response = client.get(path)
        allowed = response.status_code in (401, 403, 404, 405) or (
            response.status_code == 302
            # log-out pages send a visitor who is not logged in somewhere harmless
            and ("login" in response["Location"] or path.endswith("/logout/"))
        )
        assert allowed, (path, response.status_code)


def test_the_public_routes_are_only_the_log_in_pages_and_the_health_check(client):
    for path in PUBLIC - {"/healthz"}:
        assert client.get(path).status_code == 200
    assert client.get("/healthz").status_code in (200, 503)
