"""Cheap repeat reads (SPEC §19.6): closures and stats answers carry an ETag derived from the
data version and the query; a matching If-None-Match gets 304 after one query."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from django.contrib.auth.models import User
from django.contrib.auth.signals import user_logged_in
from rest_framework.test import APIClient

from tests.freshservice_data import make_agent, make_agent_page, make_ticket
from tests.upstream import FakeFreshservice
from tickets.models import DataVersion, FreshworksUserMapping, SyncRun, TicketClosure
from tickets.services.data_version import bump_data_version
from tickets.services.directory import refresh_agents
from tickets.services.mapping import link_agent, refresh_user_mappings
from tickets.services.sync import sync_closures

pytestmark = pytest.mark.django_db

# Thursday 26 November 2026, 12:00 UTC; the app's TIME_ZONE is UTC in these tests.
NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
TODAY = date(2026, 11, 26)
OSCAR = 1001
READS = [
    "/api/tickets/closures/today",
    "/api/tickets/closures/period?period=month",
    "/api/tickets/closures/period?start=2026-11-01&end=2026-11-26",
    "/api/tickets/stats",
]


@pytest.fixture(autouse=True)
def at_now(settings) -> Iterator[None]:
    settings.TIME_ZONE = "UTC"
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def api(plain_user) -> APIClient:
    client = APIClient()
    client.force_authenticate(plain_user)  # no session queries: the counts below are the view's
    return client


@pytest.fixture
def history(agent) -> None:
    FreshworksUserMapping.objects.create(
        freshworks_user_id=OSCAR, freshworks_username="Oscar S.", user=agent
    )
    for back in range(3):
        TicketClosure.objects.create(
            freshworks_user_id=OSCAR, date=TODAY - timedelta(days=back), tickets_closed=4
        )
    SyncRun.objects.create(
        first_date=TODAY,
        last_date=TODAY,
        trigger=SyncRun.Trigger.SCHEDULE,
        status=SyncRun.Status.SUCCESS,
        started_at=NOW - timedelta(minutes=5),
        finished_at=NOW - timedelta(minutes=5),
    )


def tag(client: APIClient, path: str) -> str:
    response = client.get(path)
    assert response.status_code == 200, response.content
    return response["ETag"]


def version() -> int:
    return DataVersion.objects.get().version


# --- 200 and 304 ---------------------------------------------------------------------------------


@pytest.mark.parametrize("path", READS)
def test_a_repeat_read_with_the_tag_is_304_after_one_query(
    api, history, path, django_assert_num_queries
):
    first = api.get(path)
    assert first.status_code == 200
    assert first["Cache-Control"] == "private, no-cache"
    assert first["ETag"].startswith('"')

    with django_assert_num_queries(1):
        again = api.get(path, HTTP_IF_NONE_MATCH=first["ETag"])

    assert again.status_code == 304
    assert again.content == b""
    assert again["ETag"] == first["ETag"]
    assert again["Cache-Control"] == "private, no-cache"


# --- a signed-in browser's 304, answered before DRF (ConditionalReadMiddleware) -------------------


@pytest.fixture
def drf_dispatches(monkeypatch) -> list[str]:
    """The paths DRF's view dispatched (a 304 answered before DRF adds none)."""
    from tickets.api.views import TicketsViewSet

    dispatched: list[str] = []
    dispatch = TicketsViewSet.dispatch

    def counting(self, request, *args, **kwargs):
        dispatched.append(request.path)
        return dispatch(self, request, *args, **kwargs)

    monkeypatch.setattr(TicketsViewSet, "dispatch", counting)
    return dispatched


@pytest.fixture
def browser_session(client, plain_user):
    client.force_login(plain_user)
    return client


@pytest.mark.parametrize("path", READS)
def test_a_signed_in_browsers_repeat_read_is_304_before_drf_with_the_same_tag(
    browser_session, api, history, path, drf_dispatches, django_assert_num_queries
):
    accept = {"HTTP_ACCEPT": "application/json"}
    first = browser_session.get(path, **accept)
    assert first.status_code == 200
    assert api.get(path, **accept)["ETag"] == first["ETag"]  # the same tag by either road

    # The session and its user (any signed-in page reads them), then the tag's one query.
    with django_assert_num_queries(3):
        again = browser_session.get(path, HTTP_IF_NONE_MATCH=first["ETag"], **accept)

    assert (again.status_code, again.content) == (304, b"")
    assert again["ETag"] == first["ETag"]
    assert again["Cache-Control"] == "private, no-cache"
    assert drf_dispatches == [path.partition("?")[0]] * 2  # the two 200s, not the 304


def test_a_tag_that_no_longer_holds_goes_on_to_drf_for_the_new_answer(
    browser_session, history, drf_dispatches
):
    path = "/api/tickets/closures/today"
    first = browser_session.get(path)
    TicketClosure.objects.filter(freshworks_user_id=OSCAR, date=TODAY).update(tickets_closed=9)
    bump_data_version()

    again = browser_session.get(path, HTTP_IF_NONE_MATCH=first["ETag"])

    assert again.status_code == 200
    assert again.json()["total"] == 9
    assert again["ETag"] != first["ETag"]
    assert len(drf_dispatches) == 2


def test_the_early_304_needs_an_active_user_signed_in(client, plain_user, history, drf_dispatches):
    path = "/api/tickets/closures/today"
    client.force_login(plain_user)
    held = client.get(path)["ETag"]

    plain_user.is_active = False
    plain_user.save()
    inactive = client.get(path, HTTP_IF_NONE_MATCH=held)
    client.logout()
    anonymous = client.get(path, HTTP_IF_NONE_MATCH=held)

    assert (inactive.status_code, anonymous.status_code) == (401, 401)
    assert "ETag" not in anonymous


def test_a_token_clients_repeat_read_is_checked_by_drf(plain_user, history, drf_dispatches):
    from rest_framework.authtoken.models import Token

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=plain_user).key}")
    path = "/api/tickets/stats"
    held = client.get(path)["ETag"]

    assert client.get(path, HTTP_IF_NONE_MATCH=held).status_code == 304
    client.credentials(HTTP_AUTHORIZATION="Token not-a-key")
    assert client.get(path, HTTP_IF_NONE_MATCH=held).status_code == 401
    assert len(drf_dispatches) == 3


def test_only_actions_that_ask_for_nothing_but_a_signed_in_session_are_answered_early():
    from rest_framework import viewsets
    from rest_framework.authentication import TokenAuthentication
    from rest_framework.response import Response

    from tickets.api.etag import _conditional_read, conditional
    from tickets.api.permissions import CanViewSyncStats
    from tickets.api.views import TicketsViewSet

    class Stricter(viewsets.ViewSet):
        permission_classes = [CanViewSyncStats]

        @conditional()
        def read(self, request):
            return Response({})

    class TokensOnly(Stricter):
        permission_classes = TicketsViewSet.permission_classes
        authentication_classes = [TokenAuthentication]

    assert _conditional_read(TicketsViewSet.as_view({"get": "stats"})) is not None
    assert _conditional_read(TicketsViewSet.as_view({"get": "sync_status"})) is None
    assert _conditional_read(Stricter.as_view({"get": "read"})) is None
    assert _conditional_read(TokensOnly.as_view({"get": "read"})) is None


def test_a_list_of_tags_or_a_weak_one_matches_and_a_foreign_one_does_not(api, history):
    path = READS[1]
    current = tag(api, path)

    assert api.get(path, HTTP_IF_NONE_MATCH=f'"old", W/{current}').status_code == 304
    foreign = api.get(path, HTTP_IF_NONE_MATCH='"something-else"')
    assert foreign.status_code == 200
    assert foreign["ETag"] == current


def test_every_user_gets_the_same_answer_and_tag(api, history, manager):
    other = APIClient()
    other.force_authenticate(manager)
    mine = api.get(READS[1])

    theirs = other.get(READS[1], HTTP_IF_NONE_MATCH=mine["ETag"])

    assert theirs.status_code == 304
    assert other.get(READS[1]).json() == mine.json()


def test_a_different_query_gives_a_different_tag_and_the_order_of_parameters_does_not(api, history):
    tags = {
        tag(api, "/api/tickets/closures/period?period=month"),
        tag(api, "/api/tickets/closures/period?period=week"),
        tag(api, "/api/tickets/closures/period?start=2026-11-01&end=2026-11-26"),
        tag(api, "/api/tickets/closures/period?start=2026-11-01&end=2026-11-25"),
        tag(api, "/api/tickets/closures/today"),
        tag(api, "/api/tickets/stats"),
    }

    assert len(tags) == 6
    assert tag(api, "/api/tickets/closures/period?end=2026-11-26&start=2026-11-01") == tag(
        api, "/api/tickets/closures/period?start=2026-11-01&end=2026-11-26"
    )
    assert tag(api, "/api/tickets/closures/today/") == tag(api, "/api/tickets/closures/today")


def test_bad_input_is_400_without_a_tag(api, history):
    response = api.get("/api/tickets/closures/period?period=fortnight")

    assert response.status_code == 400
    assert "ETag" not in response


# --- what moves the tag without a write ---------------------------------------------------------


def test_today_is_a_new_answer_after_midnight_without_any_write(api, history):
    before = tag(api, "/api/tickets/closures/today")

    with time_machine.travel(datetime(2026, 11, 27, 0, 0, 1, tzinfo=UTC), tick=False):
        after = api.get("/api/tickets/closures/today", HTTP_IF_NONE_MATCH=before)

    assert after.status_code == 200
    assert after.json()["start"] == "2026-11-27"
    assert after["ETag"] != before


def test_the_stale_flag_moving_with_the_clock_gives_a_new_tag(api, history):
    before = api.get("/api/tickets/closures/today")
    assert before.json()["stale"] is False

    # Two scheduled syncs missed since 11:55 (the default schedule runs hourly, 08-18).
    with time_machine.travel(NOW + timedelta(hours=3), tick=False):
        after = api.get("/api/tickets/closures/today", HTTP_IF_NONE_MATCH=before["ETag"])

    assert after.status_code == 200
    assert after.json()["stale"] is True


# --- every write raises the data version --------------------------------------------------------


@pytest.fixture
def upstream(requests_mock, fresh) -> FakeFreshservice:
    return FakeFreshservice(requests_mock)


def test_a_sync_raises_the_version_and_the_new_counts_are_answered(api, upstream, agent):
    FreshworksUserMapping.objects.create(freshworks_user_id=OSCAR, freshworks_username="Oscar S.")
    at = "2026-11-26T09:00:00Z"
    upstream.put(make_ticket(id=1, responder_id=OSCAR, resolved_at=at, closed_at=at, updated_at=at))
    before = api.get("/api/tickets/closures/today")
    assert before.json()["total"] == 0
    start = version()

    sync_closures(first=TODAY, trigger=SyncRun.Trigger.COMMAND)

    assert version() > start
    after = api.get("/api/tickets/closures/today", HTTP_IF_NONE_MATCH=before["ETag"])
    assert after.status_code == 200
    assert after.json()["total"] == 1
    assert after["ETag"] != before["ETag"]


def test_a_sync_that_changes_no_count_still_moves_the_tag_as_its_time_is_shown(api, upstream):
    sync_closures(first=TODAY, trigger=SyncRun.Trigger.COMMAND)
    before = api.get("/api/tickets/closures/today")

    with time_machine.travel(NOW + timedelta(hours=1), tick=False):
        sync_closures(first=TODAY, trigger=SyncRun.Trigger.COMMAND)
        after = api.get("/api/tickets/closures/today", HTTP_IF_NONE_MATCH=before["ETag"])

    assert after.status_code == 200
    assert after.json()["last_synced_at"] != before.json()["last_synced_at"]


def test_the_ids_file_refresh_raises_the_version(api, history, settings, tmp_path):
    ids = tmp_path / "IDs.txt"
    ids.write_text(f"Oscar Renamed - {OSCAR}\n", encoding="utf-8")
    before = api.get(READS[1])
    start = version()

    refresh_user_mappings(path=ids)

    assert version() > start
    after = api.get(READS[1], HTTP_IF_NONE_MATCH=before["ETag"])
    assert after.status_code == 200
    assert after.json()["closures"][0]["name"] == "Oscar Renamed"


def test_the_agent_list_refresh_raises_the_version(requests_mock, fresh, tmp_path):
    fresh.FRESH_IDS_FILE = str(tmp_path / "none.txt")
    requests_mock.get(f"{fresh.FRESH_ENDPOINT}agents", json=make_agent_page(make_agent(id=OSCAR)))
    start = version()

    refresh_agents()

    assert version() > start
    assert FreshworksUserMapping.objects.get().first_name == "Freya"


def test_linking_an_agent_by_hand_raises_the_version(history, manager):
    start = version()

    link_agent(freshworks_user_id=OSCAR, user=manager)

    assert version() > start


def test_renaming_or_deleting_a_local_user_raises_the_version_and_a_log_in_does_not(
    api, history, agent, rf
):
    start = version()
    log_in = rf.post("/accounts/login/")
    user_logged_in.send(sender=User, request=log_in, user=agent)  # writes last_login only
    assert version() == start

    agent.username = "oscar.s"
    agent.save()
    renamed = version()
    assert renamed > start
    assert api.get(READS[1]).json()["closures"][0]["username"] == "oscar.s"

    agent.delete()
    assert version() > renamed
    assert api.get(READS[1]).json()["closures"][0]["username"] is None


def test_a_plain_django_view_gets_the_same_tags(history, rf):
    from django.http import JsonResponse

    from tickets.api.etag import conditional_view, stale_flag

    calls = []

    @conditional_view(volatile=stale_flag)
    def wall(request):
        calls.append(request)
        return JsonResponse({"total": 12})

    first = wall(rf.get("/tv/abc/closures"))
    again = wall(rf.get("/tv/abc/closures", HTTP_IF_NONE_MATCH=first["ETag"]))
    other = wall(rf.get("/tv/xyz/closures", HTTP_IF_NONE_MATCH=first["ETag"]))

    assert (first.status_code, again.status_code, other.status_code) == (200, 304, 200)
    assert again["ETag"] == first["ETag"] != other["ETag"]
    assert first["Cache-Control"] == "private, no-cache"
    assert len(calls) == 2


def test_the_data_state_is_the_version_and_the_watermark(history):
    from tickets.selectors import data_state, watermark

    assert data_state() == (version(), watermark())
    assert watermark() == NOW - timedelta(minutes=5)
    DataVersion.objects.all().delete()  # as a flushed test database has it
    assert data_state() == (0, NOW - timedelta(minutes=5))
