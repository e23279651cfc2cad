"""Every endpoint that reads a body answers a bad one with 400 JSON and changes nothing (§19.3)."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from tickets.models import SyncRun

pytestmark = pytest.mark.django_db

BODY_ENDPOINTS = ["/api/tickets/sync", "/api/tickets/force-sync"]
JSON = "application/json"

BAD_BODIES = {
    # RecursionError inside json.loads once, a 500 for any logged-in user.
    "nested 100,000 lists deep": ("[" * 100_000 + "]" * 100_000, JSON),
    "nested 5,000 objects deep": ('{"a":' * 5_000 + "1" + "}" * 5_000, JSON),
    "nested 33 levels deep": ('{"date":' + "[" * 32 + "]" * 32 + "}", JSON),
    "larger than DATA_UPLOAD_MAX_MEMORY_SIZE": ('{"date": "' + "x" * 3_000_000 + '"}', JSON),
    "a list": ('["2026-11-26"]', JSON),
    "a number": ("20261126", JSON),
    "a string": ('"2026-11-26"', JSON),
    "null": ("null", JSON),
    "not JSON": ("{date: 2026-11-26}", JSON),
    "not UTF-8": (b'{"date": "\xff"}', JSON),
    "NaN": ('{"date": NaN}', JSON),
    "a date that is a list": ('{"date": ["2026-11-26"]}', JSON),
    "a date that is an object": ('{"date": {"y": 2026}}', JSON),
    "too many form fields": (
        "&".join(f"f{i}=1" for i in range(2_000)),
        "application/x-www-form-urlencoded",
    ),
    "multipart without a boundary": ("--x", "multipart/form-data"),
}


@pytest.fixture
def api(superuser) -> APIClient:
    client = APIClient(raise_request_exception=False)
    client.force_login(superuser)
    return client


@pytest.mark.parametrize("path", BODY_ENDPOINTS)
@pytest.mark.parametrize("kind", list(BAD_BODIES))
def test_a_bad_body_is_answered_400_json_and_changes_nothing(api, path, kind):
    body, content_type = BAD_BODIES[kind]

    response = api.post(path, data=body, content_type=content_type)

    assert response.status_code == 400, response.content[:300]
    assert response["Content-Type"] == "application/json"
    assert response.json()
    assert not SyncRun.objects.exists()


@pytest.mark.parametrize("path", BODY_ENDPOINTS)
def test_a_body_nested_too_deep_says_so(api, path):
    response = api.post(path, data="[" * 10_000 + "]" * 10_000, content_type=JSON)

    assert response.json() == {"detail": "JSON parse error - nested more than 32 levels deep."}


@pytest.mark.parametrize("path", BODY_ENDPOINTS)
def test_a_body_too_large_names_the_limit(api, settings, path):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1_000

    response = api.post(path, data={"date": "x" * 2_000}, format="json")

    assert response.status_code == 400
    assert response.json() == {"detail": "The request body is too large: at most 1000 bytes."}


@pytest.mark.parametrize("path", BODY_ENDPOINTS)
def test_a_body_of_another_media_type_is_answered_415_json(api, path):
    # 415 (not 400): the schema documents it for every POST, and it names the problem exactly.
    response = api.post(path, data="date=2026-11-26", content_type="text/plain")

    assert response.status_code == 415
    assert response.json() == {"detail": 'Unsupported media type "text/plain" in request.'}
    assert not SyncRun.objects.exists()


def test_the_mapping_refresh_ignores_whatever_body_it_is_sent(api, settings, tmp_path):
    ids = tmp_path / "IDs.txt"
    ids.write_text("")
    settings.FRESH_IDS_FILE = str(ids)

    response = api.post(
        "/api/tickets/refresh-mappings", data="[" * 100_000 + "]" * 100_000, content_type=JSON
    )

    assert response.status_code in (200, 422)
    assert response["Content-Type"] == "application/json"
