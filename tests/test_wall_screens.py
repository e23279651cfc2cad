"""Wall-screen links (SPEC §17): the model, the `wall_screen` command, the admin, `/tv/<token>`
and its data endpoint, revocation, and the throttled `last_seen_at`."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests.conftest import GROUP_ID
from tickets.models import (
    FreshserviceGroup,
    FreshworksUserMapping,
    SyncRun,
    TicketClosure,
    WallScreenLink,
)
from tickets.services.wall_screens import (
    WallScreenError,
    create_wall_screen,
    revoke_wall_screen,
)

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 26, 15, 0, tzinfo=UTC)  # a Thursday
TODAY = date(2026, 11, 26)
TOKEN = re.compile(r"/tv/([A-Za-z0-9_-]{43})$")


@pytest.fixture(autouse=True)
def at_now(settings) -> Iterator[None]:
    """UTC, at NOW (whatever YAM_TEST_NOW and YAM_TEST_TIME_ZONE say), the clock standing."""
    settings.TIME_ZONE = "UTC"
    settings.FRESH_GROUP_ID = GROUP_ID
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def closures() -> None:
    FreshworksUserMapping.objects.create(freshworks_user_id=1001, freshworks_username="Oscar S.")
    TicketClosure.objects.create(freshworks_user_id=1001, date=TODAY, tickets_closed=4)
    TicketClosure.objects.create(freshworks_user_id=1002, date=TODAY, tickets_closed=2)
    TicketClosure.objects.create(freshworks_user_id=1002, date=date(2026, 11, 23), tickets_closed=5)
    SyncRun.objects.create(
        first_date=TODAY,
        last_date=TODAY,
        trigger="schedule",
        status="success",
        started_at=NOW - timedelta(minutes=7),
        finished_at=NOW - timedelta(minutes=6),
    )


def path_of(output: str) -> str:
    """The path the command printed on its last line."""
    last = output.strip().splitlines()[-1]
    assert TOKEN.fullmatch(last), output
    return last


# --- the model and the service -------------------------------------------------------------------


def test_a_new_link_keeps_only_the_hash_of_its_token():
    new = create_wall_screen(name="Service desk TV")

    token = new.path.removeprefix("/tv/")
    assert new.token == token
    assert len(token) == 43
    link = WallScreenLink.objects.get()
    assert link.token_hash == hashlib.sha256(token.encode()).hexdigest()
    stored = [str(value) for value in WallScreenLink.objects.values().get().values()]
    assert not any(token in value for value in stored)
    assert WallScreenLink.objects.by_token(token) == link


def test_unknown_and_revoked_tokens_find_no_link():
    new = create_wall_screen(name="Lobby")
    assert WallScreenLink.objects.by_token("not-a-token") is None

    revoke_wall_screen(name="lobby")

    assert WallScreenLink.objects.by_token(new.token) is None


def test_a_name_is_taken_whatever_its_case_and_a_revoked_link_keeps_it():
    create_wall_screen(name="Lobby")
    revoke_wall_screen(name="Lobby")

    with pytest.raises(WallScreenError, match="already exists"):
        create_wall_screen(name=" LOBBY ")
    assert WallScreenLink.objects.count() == 1


# --- manage.py wall_screen -----------------------------------------------------------------------


def test_create_prints_the_path_on_its_last_line_and_the_path_opens_the_screen(manage, client):
    status, out, err = manage("wall_screen", "create", "Service desk TV")

    assert (status, err) == (0, "")
    assert "shown only now" in out
    assert client.get(path_of(out)).status_code == 200


def test_create_for_a_configured_team(manage):
    status, out, _ = manage("wall_screen", "create", "Desk", "--team", str(GROUP_ID))

    assert status == 0
    assert f"team {GROUP_ID}" in out
    assert WallScreenLink.objects.get().team == GROUP_ID


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["create", "Desk", "--team", "42"], f"Unknown team 42: use one of {GROUP_ID}"),
        (["create", "Desk", "--team", "desk"], "invalid team id value: 'desk'"),
        (["create", "Desk", "--team", "-3"], "invalid team id value"),
        (["create", "   "], "needs a name"),
        (["create", "x" * 101], "at most 100"),
        (["revoke", "Nowhere"], "No wall-screen link is named “Nowhere”"),
        (["launch", "Desk"], "invalid choice: 'launch'"),
        ([], "the following arguments are required"),
    ],
)
def test_bad_input_exits_2_with_a_reason_and_changes_nothing(manage, argv, says):
    status, _out, err = manage("wall_screen", *argv)

    assert status == 2
    assert says in err
    assert WallScreenLink.objects.count() == 0


def test_a_team_a_sync_has_read_is_named_in_the_refusal(manage):
    FreshserviceGroup.objects.create(group_id=GROUP_ID, name="Service Desk", fetched_at=NOW)

    status, _, err = manage("wall_screen", "create", "Desk", "--team", "7")

    assert status == 2
    assert f"use one of {GROUP_ID} (Service Desk)" in err


def test_a_duplicate_name_exits_2_and_keeps_the_first_link(manage):
    manage("wall_screen", "create", "Lobby")

    status, _, err = manage("wall_screen", "create", "lobby")

    assert status == 2
    assert "A wall-screen link named “lobby” already exists" in err
    assert list(WallScreenLink.objects.values_list("name", flat=True)) == ["Lobby"]


def test_revoke_ends_the_link_for_good(manage, client):
    _, out, _ = manage("wall_screen", "create", "Lobby")

    status, said, _ = manage("wall_screen", "revoke", "Lobby")

    assert status == 0
    assert "Revoked the wall-screen link “Lobby”" in said
    assert client.get(path_of(out)).status_code == 404
    again = manage("wall_screen", "revoke", "Lobby")
    assert again[0] == 0
    assert "already revoked on 2026-11-26 15:00" in again[1]


def test_list_shows_every_link_its_team_state_and_last_sighting(manage, client):
    FreshserviceGroup.objects.create(group_id=GROUP_ID, name="Service Desk", fetched_at=NOW)
    _, out, _ = manage("wall_screen", "create", "Lobby", "--team", str(GROUP_ID))
    manage("wall_screen", "create", "Canteen")
    client.get(path_of(out))
    manage("wall_screen", "revoke", "Canteen")

    status, listed, _ = manage("wall_screen", "list")

    assert status == 0
    assert listed.splitlines() == [
        "Canteen: all groups, revoked 2026-11-26 15:00, last seen never, created 2026-11-26 15:00",
        f"Lobby: team {GROUP_ID} (Service Desk), active, last seen 2026-11-26 15:00, "
        "created 2026-11-26 15:00",
    ]


def test_list_without_links_says_how_to_make_one(manage):
    assert manage("wall_screen", "list")[1].startswith("No wall-screen links yet")


# --- the admin -----------------------------------------------------------------------------------

ADD = reverse("admin:tickets_wallscreenlink_add")
CHANGELIST = reverse("admin:tickets_wallscreenlink_changelist")


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_an_admin_creates_a_link_and_sees_it_once_as_a_full_url(admin_member):
    client = logged_in(admin_member)

    response = client.post(ADD, {"name": "Service desk TV", "team": ""})

    assert response.status_code == 200
    page = response.content.decode()
    match = re.search(r'value="(http://testserver/tv/([A-Za-z0-9_-]{43}))"', page)
    assert match, page
    assert "It is shown only now" in page
    token = match.group(2)
    link = WallScreenLink.objects.get()
    assert (link.name, link.team, link.created_by) == ("Service desk TV", None, admin_member)
    assert link.token_hash == hashlib.sha256(token.encode()).hexdigest()
    # Never again: neither the list nor the link's own page holds it.
    for url in (CHANGELIST, reverse("admin:tickets_wallscreenlink_change", args=[link.pk])):
        shown = client.get(url)
        assert shown.status_code == 200
        assert token not in shown.content.decode()
    assert Client().get(f"/tv/{token}").status_code == 200


def test_the_admin_refuses_a_taken_name_and_an_unknown_team(superuser):
    create_wall_screen(name="Lobby")
    client = logged_in(superuser)

    response = client.post(ADD, {"name": "lobby", "team": "42"})

    assert response.status_code == 200
    assert "already exists" in response.content.decode()
    assert "Unknown team 42" in response.content.decode()
    assert WallScreenLink.objects.count() == 1


def test_the_admin_lists_last_seen_and_revokes_selected_links(superuser):
    lobby = create_wall_screen(name="Lobby")
    create_wall_screen(name="Canteen")
    Client().get(lobby.path)
    client = logged_in(superuser)

    listed = client.get(CHANGELIST).content.decode()
    assert "Lobby" in listed
    assert "Canteen" in listed
    assert "Nov. 26, 2026, 3 p.m." in listed  # Lobby's last sighting
    response = client.post(
        CHANGELIST,
        {
            "action": "revoke_selected",
            "_selected_action": [WallScreenLink.objects.get(name="Lobby").pk],
        },
        follow=True,
    )

    assert "Revoked 1 wall-screen link" in response.content.decode()
    assert WallScreenLink.objects.get(name="Lobby").revoked_at == NOW
    assert WallScreenLink.objects.get(name="Canteen").revoked_at is None
    assert Client().get(lobby.path).status_code == 404
    assert "revoked 2026-11-26 15:00" in client.get(CHANGELIST).content.decode()


def test_a_revoked_link_cannot_be_deleted_or_unrevoked_in_the_admin(superuser):
    create_wall_screen(name="Lobby")
    revoke_wall_screen(name="Lobby")
    link = WallScreenLink.objects.get()
    client = logged_in(superuser)

    assert (
        client.get(reverse("admin:tickets_wallscreenlink_delete", args=[link.pk])).status_code
        == 403
    )
    assert "delete_selected" not in client.get(CHANGELIST).content.decode()
    client.post(reverse("admin:tickets_wallscreenlink_change", args=[link.pk]), {"name": "Lobby 2"})
    link.refresh_from_db()
    assert (link.name, link.revoked_at) == ("Lobby", NOW)


def test_managers_and_developers_do_not_manage_wall_screens(manager, developer):
    for user in (manager, developer):
        assert logged_in(user).get(ADD).status_code == 403


# --- /tv/<token> and /tv/<token>/closures --------------------------------------------------------


def test_the_screen_opens_without_a_log_in_read_only(closures):
    new = create_wall_screen(name="Lobby")

    response = Client().get(new.path)

    assert response.status_code == 200
    page = response.content.decode()
    assert f'data-closures-url="/tv/{new.token}/closures"' in page
    assert 'data-rotate-seconds="20"' in page
    assert "sync-button" not in page
    assert "admin-button" not in page
    assert "⚙" not in page
    assert "csrf" not in page.lower()
    # No inline script or style (the Content-Security-Policy allows neither).
    assert re.findall(r"<script(?![^>]*\bsrc=)", page) == []
    assert "<style" not in page
    assert "style=" not in page
    assert "no-cache" in response["Cache-Control"]


def test_the_rotation_follows_the_setting(settings):
    settings.TV_ROTATE_SECONDS = 7

    page = Client().get(create_wall_screen(name="Lobby").path).content.decode()

    assert 'data-rotate-seconds="7"' in page


@pytest.mark.parametrize("period", ["today", "week", "month", "yesterday"])
def test_the_screens_data_is_the_apis_closures_answer(closures, plain_user, period):
    new = create_wall_screen(name="Lobby")

    screen = Client().get(f"{new.path}/closures?period={period}")
    api = logged_in(plain_user).get(f"/api/tickets/closures/period?period={period}")

    assert screen.status_code == api.status_code == 200
    assert screen.json() == api.json()
    if period == "week":
        assert screen.json()["total"] == 11
        assert screen.json()["stale"] is False


def test_the_data_endpoint_refuses_a_bad_period_like_the_api():
    new = create_wall_screen(name="Lobby")

    response = Client().get(f"{new.path}/closures?period=fortnight")

    assert response.status_code == 400
    assert "Unknown period" in str(response.json())


@pytest.mark.parametrize("revoked", [False, True])
def test_an_unknown_or_revoked_token_answers_404_and_the_page_says_revoked(revoked):
    new = create_wall_screen(name="Lobby")
    if revoked:
        revoke_wall_screen(name="Lobby")
    token = new.token if revoked else "A" * 43
    client = Client()

    page = client.get(f"/tv/{token}")
    data = client.get(f"/tv/{token}/closures?period=fortnight")

    assert page.status_code == 404
    assert "This screen link was revoked" in page.content.decode()
    assert "tv.js" not in page.content.decode()
    assert data.status_code == 404
    assert data["Content-Type"] == "application/json"
    assert "This screen link was revoked" in data.json()["detail"]


def test_a_logged_in_session_does_not_open_a_revoked_screen(plain_user):
    new = create_wall_screen(name="Lobby")
    revoke_wall_screen(name="Lobby")

    assert logged_in(plain_user).get(f"{new.path}/closures").status_code == 404


@pytest.mark.parametrize(
    "how",
    ["bearer", "token", "query"],
)
@pytest.mark.parametrize(
    "path", ["/api/tickets/closures/period?period=today", "/api/tickets/stats"]
)
def test_no_other_endpoint_accepts_the_token(how, path):
    token = create_wall_screen(name="Lobby").token
    headers = {}
    if how == "bearer":
        headers["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    elif how == "token":
        headers["HTTP_AUTHORIZATION"] = f"Token {token}"
    else:
        path = f"{path}{'&' if '?' in path else '?'}token={token}"

    assert Client().get(path, **headers).status_code in (401, 403)


@pytest.mark.parametrize("path", ["/", "/admin/", "/api/docs"])
def test_no_page_accepts_the_token(path):
    token = create_wall_screen(name="Lobby").token

    response = Client().get(f"{path}?token={token}", HTTP_AUTHORIZATION=f"Token {token}")

    assert response.status_code == 302
    assert "login" in response["Location"]


def test_last_seen_is_written_at_most_once_a_minute(closures):
    new = create_wall_screen(name="Lobby")
    client = Client()

    def read(after: timedelta) -> list[str]:
        with (
            time_machine.travel(NOW + after, tick=False),
            CaptureQueriesContext(connection) as queries,
        ):
            assert client.get(f"{new.path}/closures?period=today").status_code == 200
        return [query["sql"] for query in queries if query["sql"].startswith("UPDATE")]

    assert len(read(timedelta(0))) == 1
    assert read(timedelta(seconds=30)) == []  # within the minute: no write at all
    assert read(timedelta(seconds=59)) == []
    assert WallScreenLink.objects.get().last_seen_at == NOW
    assert len(read(timedelta(seconds=61))) == 1
    assert WallScreenLink.objects.get().last_seen_at == NOW + timedelta(seconds=61)


def test_a_revoked_link_is_not_seen_again():
    new = create_wall_screen(name="Lobby")
    revoke_wall_screen(name="Lobby")

    Client().get(new.path)

    assert WallScreenLink.objects.get().last_seen_at is None


def test_the_admin_names_each_links_team_in_one_query(superuser, django_assert_max_num_queries):
    FreshserviceGroup.objects.create(group_id=GROUP_ID, name="Service Desk", fetched_at=NOW)
    for n in range(5):
        create_wall_screen(name=f"Screen {n}", team=GROUP_ID)
    create_wall_screen(name="Everything")
    client = logged_in(superuser)
    client.get(CHANGELIST)  # the session, the permissions: warm

    with django_assert_max_num_queries(6):
        listed = client.get(CHANGELIST).content.decode()

    assert listed.count(f"Service Desk ({GROUP_ID})") == 5
    assert "all groups" in listed
