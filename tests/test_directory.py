"""Freshservice's agent list (SPEC §14.3): names, the display-name rule, email links, IDs.txt as
an optional override, when the list is read, and the agents without a local user."""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, timedelta
from io import StringIO
from pathlib import Path
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse

from tests.conftest import ENDPOINT
from tests.freshservice_data import make_agent, make_agent_page, make_ticket, next_link
from tests.upstream import FakeFreshservice
from tickets import selectors
from tickets.models import (
    DISPLAY_NAME,
    FreshworksUserMapping,
    SyncRun,
    TicketClosure,
    TicketSyncMetadata,
    agent_display_name,
)
from tickets.services.directory import refresh_agents
from tickets.services.schedule import scheduled_sync
from tickets.services.sync import sync_closures

pytestmark = pytest.mark.django_db

AGENTS_URL = f"{ENDPOINT}agents"
NOW = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
TODAY = NOW.date()
FREYA, TEMP, SOLO, LAST, NAMELESS = 21000000001, 21000000002, 21000000003, 21000000004, 5


def query_of(url: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(url).query)


def agent_requests(requests_mock) -> list[dict[str, list[str]]]:
    return [
        query_of(request.url)
        for request in requests_mock.request_history
        if urlsplit(request.url).path.endswith("/agents")
    ]


def page_link(page: int) -> dict[str, str]:
    """A next-page link as the vendor documents it: the page alone, the caller's filters gone."""
    return next_link(f"{AGENTS_URL}?page={page}")


def refresh_command(*args: str) -> str:
    out = StringIO()
    call_command("refresh_user_mappings", *args, stdout=out)
    return out.getvalue()


def closed(ticket_id: int, responder: int, at: str = "2026-11-26T08:00:00Z") -> dict:
    return make_ticket(
        id=ticket_id, responder_id=responder, updated_at=at, resolved_at=at, closed_at=at
    )


@pytest.fixture
def no_ids_file(settings, tmp_path) -> Path:
    path = tmp_path / "IDs.txt"
    settings.FRESH_IDS_FILE = str(path)
    return path


def write_ids(path: Path, *lines: str) -> Path:
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def user(username: str, email: str = "", first: str = "", last: str = "") -> User:
    return User.objects.create(username=username, email=email, first_name=first, last_name=last)


# --- loading the list ---------------------------------------------------------------------------


@time_machine.travel(NOW, tick=False)
def test_250_agents_over_three_pages_with_inactive_ones_are_loaded(
    requests_mock, fresh, no_ids_file
):
    active = [
        make_agent(
            id=21000000000 + n,
            first_name=f"Agent{n}",
            last_name="Quinn",
            email=f"agent{n}@example.com",
        )
        for n in range(200)
    ]
    inactive = [
        make_agent(
            id=21000000200 + n, first_name=f"Gone{n}", last_name="Solis", email=None, active=False
        )
        for n in range(50)
    ]
    requests_mock.get(
        f"{AGENTS_URL}?active=true",
        [
            {"json": make_agent_page(*active[:100]), "headers": page_link(2)},
            {"json": make_agent_page(*active[100:])},
        ],
    )
    requests_mock.get(f"{AGENTS_URL}?active=false", json=make_agent_page(*inactive))
    # Known before: one agent still listed, one Freshservice no longer lists (deleted there).
    FreshworksUserMapping.objects.create(
        freshworks_user_id=21000000000, first_name="Old", directory_seen_at=NOW - timedelta(days=1)
    )
    FreshworksUserMapping.objects.create(
        freshworks_user_id=99, first_name="Left", active=True, directory_seen_at=NOW - timedelta(1)
    )
    TicketSyncMetadata.objects.create(sync_date=TODAY, last_sync_time=NOW, sync_count=1)

    output = refresh_command()

    # Every page asked with the same filters and page=N: the link only said there was more.
    assert agent_requests(requests_mock) == [
        {"active": ["true"], "per_page": ["100"], "page": ["1"]},
        {"active": ["true"], "per_page": ["100"], "page": ["2"]},
        {"active": ["false"], "per_page": ["100"], "page": ["1"]},
    ]
    assert FreshworksUserMapping.objects.count() == 251
    first = FreshworksUserMapping.objects.get(freshworks_user_id=21000000000)
    assert (first.first_name, first.last_name, first.email, first.active) == (
        "Agent0",
        "Quinn",
        "agent0@example.com",
        True,
    )
    assert (first.display_name, first.directory_seen_at) == ("Agent0 Q.", NOW)
    gone = FreshworksUserMapping.objects.get(freshworks_user_id=21000000249)
    assert (gone.display_name, gone.email, gone.active) == ("Gone49 S.", "", False)
    assert FreshworksUserMapping.objects.filter(active=False).count() == 50
    left = FreshworksUserMapping.objects.get(freshworks_user_id=99)
    assert (left.first_name, left.active) == ("Left", True)  # kept as it was, not seen today
    assert left.directory_seen_at == NOW - timedelta(days=1)
    # Nothing but the agents was touched.
    metadata = TicketSyncMetadata.objects.get()
    assert (metadata.sync_count, metadata.last_sync_time) == (1, NOW)
    assert not SyncRun.objects.exists()
    assert (
        "Read Freshservice's agent list: 250 agents (200 active, 50 inactive) in 3 API calls; "
        "249 new, 1 changed, 1 no longer listed (kept)."
    ) in output
    assert f"No IDs.txt ({no_ids_file}); names from Freshservice." in output


@time_machine.travel(NOW, tick=False)
def test_a_second_read_of_the_same_list_changes_only_when_it_was_seen(
    requests_mock, fresh, no_ids_file
):
    requests_mock.get(AGENTS_URL, json=make_agent_page(make_agent(id=FREYA)))
    refresh_agents()
    stamp = FreshworksUserMapping.objects.get().updated_at

    with time_machine.travel(NOW + timedelta(hours=1), tick=False):
        report = refresh_agents()

    mapping = FreshworksUserMapping.objects.get()
    assert (report.directory.created, report.directory.changed) == ([], [])
    assert mapping.updated_at == stamp
    assert mapping.directory_seen_at == NOW + timedelta(hours=1)


# --- the display name ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ids_name", "first", "last", "shown"),
    [
        ("Oscar S.", "Temp", "Agent", "Oscar S."),  # IDs.txt overrides Freshservice
        ("", "Temp", "Agent", "Temp A."),
        ("", "Temp", "", "Temp"),
        ("", "", "Agent", "Agent"),
        ("", "Élodie", "Ørsted", "Élodie Ø."),
        ("", "", "", "Agent 42"),
    ],
)
def test_the_display_name_is_the_ids_name_else_first_and_initial_else_agent_id(
    ids_name, first, last, shown
):
    assert agent_display_name(42, ids_name=ids_name, first_name=first, last_name=last) == shown
    mapping = FreshworksUserMapping.objects.create(
        freshworks_user_id=42, freshworks_username=ids_name, first_name=first, last_name=last
    )
    assert mapping.display_name == shown
    # The SQL twin the lists and the admin use agrees.
    annotated = FreshworksUserMapping.objects.annotate(shown=DISPLAY_NAME).get()
    assert selectors.agent_label(42, annotated.shown) == shown


@time_machine.travel(NOW, tick=False)
def test_the_dashboard_api_csv_and_admin_all_show_the_display_name(manager, settings):
    settings.TIME_ZONE = "UTC"
    FreshworksUserMapping.objects.create(
        freshworks_user_id=FREYA,
        freshworks_username="Freya from IDs",
        first_name="Freya",
        last_name="Quinn",
    )
    FreshworksUserMapping.objects.create(freshworks_user_id=TEMP, first_name="Temp", last_name="A")
    for agent_id, closed_count in [(FREYA, 3), (TEMP, 2), (NAMELESS, 1)]:
        TicketClosure.objects.create(
            freshworks_user_id=agent_id, date=TODAY, tickets_closed=closed_count
        )
    client = Client()
    client.force_login(manager)

    # The dashboard draws its chart and table from this answer.
    answer = client.get("/api/tickets/closures/today").json()
    csv_lines = b"".join(
        client.get("/api/tickets/closures/export.csv?period=today").streaming_content
    ).decode()
    admin_list = client.get(reverse("admin:tickets_ticketclosure_changelist")).content.decode()

    assert [entry["name"] for entry in answer["closures"]] == [
        "Freya from IDs",
        "Temp A.",
        "Agent 5",
    ]
    assert f"{FREYA},Freya from IDs," in csv_lines
    assert f"{TEMP},Temp A.," in csv_lines
    assert f"{NAMELESS},Agent 5," in csv_lines
    for name in ("Freya from IDs", "Temp A.", "Agent 5"):
        assert name in admin_list


# --- linking by email ---------------------------------------------------------------------------


@time_machine.travel(NOW, tick=False)
def test_agents_link_by_email_case_insensitively_and_an_ambiguous_email_links_nobody(
    requests_mock, fresh, no_ids_file
):
    freya = user("fq", email="Freya.Quinn@Example.com")
    user("temp1", email="temp@example.com")
    user("temp2", email="TEMP@example.com")
    requests_mock.get(
        AGENTS_URL,
        json=make_agent_page(
            make_agent(id=FREYA, email="freya.quinn@example.com"),
            make_agent(id=TEMP, first_name="Temp", last_name="A", email="temp@example.com"),
            make_agent(id=SOLO, first_name="Solo", last_name=None, email=None),
            make_agent(id=LAST, first_name="Ann", last_name="Other", email="ann@example.com"),
        ),
    )
    TicketClosure.objects.create(freshworks_user_id=FREYA, date=TODAY, tickets_closed=2)

    output = refresh_command()

    links = dict(FreshworksUserMapping.objects.values_list("freshworks_user_id", "user__username"))
    assert links == {FREYA: "fq", TEMP: None, SOLO: None, LAST: None}
    assert TicketClosure.objects.get().user == freya
    assert "Linked by email (1):" in output
    assert f"Freya Q. ({FREYA}) -> fq, matched by email (freya.quinn@example.com)" in output
    assert "Ambiguous emails (1):" in output
    assert (
        f"Temp A. ({TEMP}): ambiguous email: 2 local users have temp@example.com (temp1, temp2)"
        in output
    )
    assert f"Solo ({SOLO}): no email in Freshservice" in output
    assert f"Ann O. ({LAST}): no local user has the email ann@example.com" in output
    assert "Relinked 1 closure rows." in output


@time_machine.travel(NOW, tick=False)
def test_the_ids_name_rule_comes_first_then_email_and_email_never_replaces_a_link(
    requests_mock, fresh, no_ids_file
):
    oscar = user("oscar.solis", email="oscar@example.com", first="Oscar", last="Solis")
    by_hand = user("chosen.by.hand")
    user("freya.q", email="freya@example.com")
    write_ids(no_ids_file, "Oscar S. - 1001", "Nobody Known - 1002")
    requests_mock.get(
        AGENTS_URL,
        json=make_agent_page(
            # The IDs.txt name matches oscar.solis, whatever the email says.
            make_agent(id=1001, first_name="Os", last_name="Car", email="freya@example.com"),
            # The IDs.txt name matches nobody: the email decides.
            make_agent(id=1002, first_name="Fre", last_name="Ya", email="freya@example.com"),
            # No IDs.txt line, linked by hand: the email rule leaves it.
            make_agent(id=1003, first_name="Han", last_name="D", email="oscar@example.com"),
        ),
    )
    FreshworksUserMapping.objects.create(freshworks_user_id=1003, user=by_hand)

    report = refresh_agents()

    links = dict(FreshworksUserMapping.objects.values_list("freshworks_user_id", "user__username"))
    assert links == {1001: "oscar.solis", 1002: "freya.q", 1003: "chosen.by.hand"}
    assert [(o.name, o.username, o.rule) for o in report.matched] == [
        ("Oscar S.", "oscar.solis", "partial"),
        ("Nobody Known", "freya.q", "email"),
    ]
    assert report.matched[1].reason == (
        "matched by email (freya@example.com); by name: no local user matches"
    )
    assert oscar.freshworks_mappings.get().display_name == "Oscar S."


@time_machine.travel(NOW, tick=False)
def test_a_line_leaving_ids_txt_keeps_the_agent_named_by_freshservice(
    requests_mock, fresh, no_ids_file
):
    user("oscar.solis", first="Oscar", last="Solis")
    user("os", email="oscar@example.com")
    write_ids(no_ids_file, "Oscar S. - 1001", "Gone Agent - 1002")
    requests_mock.get(
        AGENTS_URL,
        json=make_agent_page(
            make_agent(id=1001, first_name="Oscar", last_name="Solis", email="oscar@example.com")
        ),
    )
    refresh_agents()
    assert FreshworksUserMapping.objects.get(freshworks_user_id=1001).user.username == (
        "oscar.solis"
    )

    write_ids(no_ids_file, "# nobody any more")
    no_ids_file.unlink()
    report = refresh_agents()

    mapping = FreshworksUserMapping.objects.get()
    # 1002 was only in IDs.txt: gone with its line; 1001 stays, named and linked by Freshservice.
    assert (report.removed, report.cleared, report.ids_missing) == ([1002], [1001], True)
    assert (mapping.freshworks_username, mapping.display_name) == ("", "Oscar S.")
    assert mapping.user.username == "os"


# --- IDs.txt optional ---------------------------------------------------------------------------


@time_machine.travel(NOW, tick=False)
def test_a_missing_ids_file_is_no_error_once_the_agent_list_has_loaded(
    requests_mock, fresh, no_ids_file, manager
):
    requests_mock.get(AGENTS_URL, json=make_agent_page(make_agent(id=FREYA)))

    output = refresh_command()
    # Later, with Freshservice down, the agents already loaded still make a missing file fine.
    requests_mock.get(AGENTS_URL, status_code=500)
    client = Client()
    client.force_login(manager)
    answer = client.post("/api/tickets/refresh-mappings")

    assert f"No IDs.txt ({no_ids_file}); names from Freshservice." in output
    assert FreshworksUserMapping.objects.get().display_name == "Freya Q."
    assert answer.status_code == 200
    assert answer.json()["ids_missing"] is True
    assert answer.json()["directory_failed"] is True
    assert "HTTP 500" in answer.json()["directory_problem"]


def test_a_missing_ids_file_before_the_agent_list_ever_loaded_is_still_an_error(
    requests_mock, fresh, no_ids_file
):
    requests_mock.get(AGENTS_URL, status_code=401)

    with pytest.raises(CommandError) as failure:
        refresh_command()

    message = str(failure.value)
    assert "does not exist" in message
    assert "could not read Freshservice's agent list" in message
    assert message.endswith("Nothing was changed.")
    assert not FreshworksUserMapping.objects.exists()


def test_without_freshservice_configured_the_command_reads_ids_txt_as_before(no_ids_file):
    write_ids(no_ids_file, "Oscar S. - 1001")

    output = refresh_command()

    assert "Freshservice's agent list: not read (Freshservice is not configured: set" in output
    assert f"Loaded 1 entries from {no_ids_file}." in output
    assert FreshworksUserMapping.objects.get().display_name == "Oscar S."


def test_the_command_exits_1_after_loading_ids_txt_when_the_agent_list_fails(
    requests_mock, fresh, no_ids_file
):
    write_ids(no_ids_file, "Oscar S. - 1001")
    requests_mock.get(AGENTS_URL, status_code=403)

    with pytest.raises(CommandError) as failure:
        refresh_command()

    assert failure.value.returncode == 1
    assert "The IDs file was loaded" in str(failure.value)
    assert FreshworksUserMapping.objects.get().freshworks_username == "Oscar S."


# --- when the list is read ----------------------------------------------------------------------


@time_machine.travel(NOW, tick=False)
def test_a_sync_that_meets_unknown_agents_reads_the_list_once_before_writing(
    requests_mock, fresh, no_ids_file
):
    upstream = FakeFreshservice(requests_mock)
    upstream.put_agents(
        make_agent(id=FREYA, email="freya@example.com"),
        make_agent(id=TEMP, first_name="Temp", last_name="A", email=None, active=False),
    )
    upstream.put(closed(1, FREYA), closed(2, TEMP), closed(3, TEMP))
    freya = user("freya", email="freya@example.com")

    result = sync_closures(trigger=SyncRun.Trigger.COMMAND)

    # Two unknown agents, one read of the list: its two listings, one page each.
    assert upstream.agent_calls == 2
    assert upstream.agent_queries == [
        {"active": "true", "per_page": "100", "page": "1"},
        {"active": "false", "per_page": "100", "page": "1"},
    ]
    # The sync's calls: the team's group (read once a day), one page of tickets, the list's two.
    assert (upstream.group_reads, upstream.list_calls) == (1, 1)
    assert result.api_calls == upstream.calls + upstream.agent_calls == 1 + 1 + 2
    assert SyncRun.objects.get().api_calls == 1 + 1 + 2
    assert TicketClosure.objects.get(freshworks_user_id=FREYA).user == freya
    names = {
        entry.freshworks_user_id: entry.name
        for entry in selectors.top_performers(day=TODAY, limit=5)
    }
    assert names == {FREYA: "Freya Q.", TEMP: "Temp A."}

    # Every agent known now: the next sync does not read the list again.
    upstream.put(closed(4, FREYA, "2026-11-26T08:30:00Z"))
    sync_closures(trigger=SyncRun.Trigger.COMMAND, force=True)
    assert upstream.agent_calls == 2


@time_machine.travel(NOW, tick=False)
def test_a_sync_does_not_read_the_list_for_agents_of_tickets_that_do_not_count(
    requests_mock, fresh
):
    upstream = FakeFreshservice(requests_mock)
    upstream.put(
        make_ticket(id=1, responder_id=FREYA, status=2),  # open
        make_ticket(id=2, responder_id=TEMP, group_id=1),  # another group
    )

    sync_closures(trigger=SyncRun.Trigger.COMMAND)

    assert upstream.agent_calls == 0


@time_machine.travel(NOW, tick=False)
def test_a_failing_agent_list_does_not_fail_the_sync(requests_mock, fresh, caplog):
    upstream = FakeFreshservice(requests_mock)
    upstream.put(closed(1, FREYA))
    requests_mock.get(AGENTS_URL, status_code=403)

    result = sync_closures(trigger=SyncRun.Trigger.COMMAND)

    assert result.run.status == SyncRun.Status.SUCCESS
    assert TicketClosure.objects.get().tickets_closed == 1
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "Could not read Freshservice's agent list for the agents a sync met" in (
        warnings[0].getMessage()
    )
    assert "the closure counts are not affected" in warnings[0].getMessage()


@pytest.mark.parametrize("zone", ["UTC", "America/New_York"])
def test_the_first_scheduled_sync_of_a_day_reads_the_list_and_the_second_does_not(
    requests_mock, fresh, zone
):
    fresh.TIME_ZONE = zone
    upstream = FakeFreshservice(requests_mock)
    upstream.put_agents(make_agent(id=FREYA))
    upstream.put(closed(1, FREYA))
    local = ZoneInfo(zone)
    # 18:00 and 20:00 the same local day (in New York, 20:00 is already tomorrow in UTC), then
    # 08:00 the next local day.
    moments = [
        datetime(2026, 11, 26, 18, 0, tzinfo=local),
        datetime(2026, 11, 26, 20, 0, tzinfo=local),
        datetime(2026, 11, 27, 8, 0, tzinfo=local),
    ]
    agent_calls, group_reads = [], []

    for moment in moments:
        with time_machine.travel(moment, tick=False):
            assert scheduled_sync()
        agent_calls.append(upstream.agent_calls)
        group_reads.append(upstream.group_reads)

    # Each read of the list: the active and the inactive listing, one page each.
    assert agent_calls == [2, 2, 4]
    # The team's group is read once a local day too, by the sync itself.
    assert group_reads == [1, 1, 2]
    assert SyncRun.objects.filter(status=SyncRun.Status.SUCCESS).count() == 3


# --- the agents without a local user ------------------------------------------------------------


@time_machine.travel(NOW, tick=False)
def test_the_unmapped_page_says_why_each_agent_has_no_local_user(manager):
    user("a1", email="shared@example.com")
    user("a2", email="Shared@example.com")
    user("solo", email="solo@example.com")
    seen = NOW
    rows = [
        # (id, IDs.txt name, first, last, email, active, last seen)
        (1, "", "Nora", "Match", "nora@example.com", True, seen),
        (2, "", "Amy", "Big", "shared@example.com", True, seen),
        (3, "", "Ian", "Active", "ian@example.com", False, seen),
        (4, "", "Len", "Gone", "len@example.com", True, seen - timedelta(days=3)),
        (5, "Ida Named", "", "", "", True, seen),
        (6, "", "Sol", "O", "solo@example.com", True, seen),
    ]
    for agent_id, ids_name, first, last, email, active, at in rows:
        FreshworksUserMapping.objects.create(
            freshworks_user_id=agent_id,
            freshworks_username=ids_name,
            first_name=first,
            last_name=last,
            email=email,
            active=active,
            directory_seen_at=at,
        )
    for agent_id in [1, 2, 3, 4, 5, 6, 7]:
        TicketClosure.objects.create(
            freshworks_user_id=agent_id, date=date(2026, 11, 26), tickets_closed=10 - agent_id
        )
    client = Client()
    client.force_login(manager)

    response = client.get(reverse("admin:tickets_freshworksusermapping_unmapped"))

    reasons = {agent["label"]: agent["reason"] for agent in response.context["agents"]}
    assert reasons == {
        "Nora M.": "no IDs.txt line; no local user has the email nora@example.com",
        "Amy B.": "no IDs.txt line; ambiguous email: 2 local users have shared@example.com",
        "Ian A.": (
            "inactive in Freshservice; no IDs.txt line; no local user has the email ian@example.com"
        ),
        "Len G.": (
            "no longer in Freshservice's agent list (last listed 2026-11-23); no IDs.txt line; "
            "no local user has the email len@example.com"
        ),
        "Ida Named": (
            "the IDs.txt name “Ida Named” matches no local user; no email in Freshservice"
        ),
        "Sol O.": (
            "no IDs.txt line; a local user has the email solo@example.com, unlinked by hand or "
            "since the last refresh (refresh the agent names to link it)"
        ),
        "Agent 7": "not in Freshservice's agent list; no IDs.txt line",
    }
    page = response.content.decode()
    assert "ambiguous email: 2 local users have shared@example.com" in page
    assert "Agents with closures but no local user" in page


def test_the_mapping_admin_shows_where_each_name_comes_from_and_the_list_read_only(
    superuser,
):
    FreshworksUserMapping.objects.create(
        freshworks_user_id=FREYA,
        first_name="Freya",
        last_name="Quinn",
        email="freya@example.com",
        active=True,
        directory_seen_at=NOW,
    )
    FreshworksUserMapping.objects.create(freshworks_user_id=1001, freshworks_username="Oscar S.")
    FreshworksUserMapping.objects.create(freshworks_user_id=NAMELESS, active=False)
    client = Client()
    client.force_login(superuser)
    changelist = reverse("admin:tickets_freshworksusermapping_changelist")

    listing = client.get(changelist).content.decode()
    by_source = {
        source: client.get(changelist, {"name_from": source}).context["cl"].result_count
        for source in ("ids", "freshservice", "fallback")
    }
    mapping = FreshworksUserMapping.objects.get(freshworks_user_id=FREYA)
    detail = client.get(
        reverse("admin:tickets_freshworksusermapping_change", args=[mapping.pk])
    ).content.decode()

    for shown in ("Freya Q.", "Oscar S.", "Agent 5", "IDs.txt", "Freshservice", "never listed"):
        assert shown in listing
    assert by_source == {"ids": 1, "freshservice": 1, "fallback": 1}
    assert "freya@example.com" in detail
    assert 'name="email"' not in detail
    assert 'name="first_name"' not in detail
    assert 'name="user"' in detail
