"""The API key never shows, in any form an upstream could echo it (SPEC §19.4)."""

from __future__ import annotations

import base64
import json
import logging
from datetime import UTC, datetime

import pytest
import time_machine
from rest_framework.test import APIClient

from freshworks.secrets import redact
from tests.conftest import API_KEY, ENDPOINT
from tests.freshservice_data import make_ticket
from tests.upstream import FakeFreshservice
from tickets.models import SyncRun

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 26, 15, 0, tzinfo=UTC)
BASIC = base64.b64encode(f"{API_KEY}:X".encode()).decode()
# Every form the key could take in an echo; none may appear anywhere.
FORMS = [
    API_KEY,
    API_KEY.upper(),
    API_KEY.lower(),
    BASIC,
    BASIC.rstrip("="),
    BASIC.lower(),
    base64.urlsafe_b64encode(f"{API_KEY}:X".encode()).decode(),
    base64.b64encode(API_KEY.encode()).decode().rstrip("="),
    # A cut form gives away most of the key too.
    API_KEY[:20],
    BASIC[:20],
]


def assert_no_key(text: str) -> None:
    for form in FORMS:
        assert form.lower() not in text.lower(), f"{form!r} shows in {text[:500]!r}"


# --- redact ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("form", FORMS[:-2])
def test_redact_hides_every_form_of_the_key(form):
    assert redact(f"got Authorization: Basic {form} here", API_KEY) == (
        "got Authorization: Basic *** here"
    )


def test_redact_leaves_text_alone_without_a_key():
    assert redact("nothing to hide", "") == "nothing to hide"
    assert redact("nothing to hide", "  ") == "nothing to hide"


# --- an upstream that echoes the Authorization header -------------------------------------------


def echo_in_error_body(status: int):
    def answer(request, context):
        context.status_code = status
        header = request.headers["Authorization"]
        return json.dumps(
            {
                "description": f"Validation failed for {header}",
                "errors": [
                    {"field": "key", "message": f"{API_KEY.upper()} / {header.lower()}"},
                ],
            }
        )

    return answer


def echo_in_plain_text(request, context):
    context.status_code = 400
    context.headers["Content-Type"] = "text/plain"
    return f"bad request; you sent {request.headers['Authorization']}"


def echo_in_a_field(request, context):
    # A 200 answer whose ticket carries the header where a number belongs.
    ticket = make_ticket(id=301, responder_id=1001, status=5)
    ticket["status"] = request.headers["Authorization"].split()[1]
    return json.dumps({"tickets": [ticket]})


def echo_a_short_key(request, context):
    ticket = make_ticket(id=301, responder_id=1001, status=5)
    ticket["status"] = API_KEY.swapcase()
    return json.dumps({"tickets": [ticket]})


ECHOES = {
    "401 description": echo_in_error_body(401),
    "403 errors": echo_in_error_body(403),
    "400 plain text": echo_in_plain_text,
    "a ticket field": echo_in_a_field,
    "the key as a field": echo_a_short_key,
}


@pytest.fixture(params=list(ECHOES))
def echoing(request, fresh, requests_mock) -> str:
    FakeFreshservice(requests_mock)
    requests_mock.get(f"{ENDPOINT}tickets", text=ECHOES[request.param])
    return request.param


@pytest.fixture
def log(caplog):
    caplog.set_level(logging.DEBUG)
    return caplog


@time_machine.travel(NOW, tick=False)
def test_the_command_output_and_the_log_hide_the_key(echoing, manage, log):
    status, out, err = manage("sync_daily_closures", "--date", "2026-11-26")

    assert status == 1
    assert "Sync failed: Freshservice" in err
    for text in (out, err, log.text):
        assert_no_key(text)


@time_machine.travel(NOW, tick=False)
def test_the_database_the_admin_and_the_api_hide_the_key(echoing, superuser, log):
    api = APIClient()
    api.force_login(superuser)

    response = api.post("/api/tickets/force-sync", {"date": "2026-11-26"}, format="json")

    assert response.status_code == 502
    assert_no_key(response.content.decode())
    [run] = SyncRun.objects.all()
    assert run.status == SyncRun.Status.FAILED
    assert_no_key(run.error)
    assert_no_key(log.text)
    for page in (
        "/admin/tickets/syncrun/",
        f"/admin/tickets/syncrun/{run.pk}/change/",
        "/admin/tickets/syncrun/statistics/",
        "/admin/tickets/syncrun/connection/",
    ):
        answer = api.get(page)
        assert answer.status_code == 200, page
        assert_no_key(answer.content.decode())


@time_machine.travel(NOW, tick=False)
def test_the_log_formatter_hides_the_key_whatever_logs_it(fresh, capsys):
    from yam.log import KeyHidingFormatter

    record = logging.LogRecord(
        "somelib", logging.ERROR, __file__, 1, "sent %s", (f"Basic {BASIC}",), None
    )

    line = KeyHidingFormatter("%(message)s").format(record)

    assert line == "sent Basic ***"
