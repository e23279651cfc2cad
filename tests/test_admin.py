"""The Django admin (SPEC §11): read-only synced data, actions that sync, refresh and export,
the sync statistics and unmapped agents pages, through the real admin and the test client."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from django.contrib.auth.models import Permission, User
from django.test import Client
from django.urls import reverse

from tests.conftest import ENDPOINT
from tests.freshservice_data import make_ticket
from tests.upstream import FakeFreshservice
from tickets.models import (
    ClosedTicket,
    FreshworksUserMapping,
    SyncLease,
    SyncRun,
    TicketClosure,
    TicketSyncMetadata,
)

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 26, 15, 0, tzinfo=UTC)
TODAY = date(2026, 11, 26)
YESTERDAY = TODAY - timedelta(days=1)
OSCAR, AJ, NOBODY = 1001, 1002, 1999

SYNCED_MODELS = ["closedticket", "ticketclosure", "ticketsyncmetadata", "syncrun", "synclease"]
ALL_MODELS = [*SYNCED_MODELS, "freshworksusermapping"]


@pytest.fixture(autouse=True)
def in_utc(settings) -> None:
    """The times in these tests are UTC wall-clock times (whatever YAM_TEST_TIME_ZONE says)."""
    settings.TIME_ZONE = "UTC"


@pytest.fixture(autouse=True)
def at_now() -> Iterator[None]:
    """Each test and its fixtures run at NOW unless the test travels on: a session begun in a
    fixture stays valid in the test whatever day the suite runs."""
    with time_machine.travel(NOW, tick=False):
        yield


def url(model: str, view: str = "changelist", *args: object) -> str:
    return reverse(f"admin:tickets_{model}_{view}", args=args)


STATISTICS = "admin:tickets_syncrun_statistics"
UNMAPPED = "admin:tickets_freshworksusermapping_unmapped"
REFRESH = "admin:tickets_freshworksusermapping_refresh"


def login(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def actions_offered(response) -> list[str]:
    form = response.context["action_form"]  # None when no action is left
    return [name for name, _ in form.fields["action"].choices if name] if form else []


def shown_messages(response) -> list[tuple[str, str]]:
    return [(message.level_tag, message.message) for message in response.context["messages"]]


@pytest.fixture
def super_client(superuser) -> Client:
    return login(superuser)


@pytest.fixture
def manager_client(manager) -> Client:
    return login(manager)


@pytest.fixture
def viewer(db) -> User:
    """Staff who may look at the five models, but not force syncs or see sync statistics."""
    user = User.objects.create_user("vic.viewer", password="pw", is_staff=True)
    user.user_permissions.add(
        *Permission.objects.filter(
            content_type__app_label="tickets", codename__startswith="view_"
        ).exclude(codename="view_sync_stats")
    )
    return user


@pytest.fixture
def viewer_client(viewer) -> Client:
    return login(viewer)


@pytest.fixture
def world(agent) -> None:
    """Oscar (named, linked to a local user), AJ (named, no user) and 1999 (not in IDs.txt)."""
    FreshworksUserMapping.objects.create(
        freshworks_user_id=OSCAR, freshworks_username="Oscar S.", user=agent
    )
    FreshworksUserMapping.objects.create(freshworks_user_id=AJ, freshworks_username="AJ Thompson")
    for agent_id, day, closed in [
        (OSCAR, TODAY, 3),
        (AJ, TODAY, 5),
        (NOBODY, TODAY, 1),
        (OSCAR, YESTERDAY, 2),
        (NOBODY, YESTERDAY - timedelta(days=3), 4),
    ]:
        TicketClosure.objects.create(
            freshworks_user_id=agent_id,
            date=day,
            tickets_closed=closed,
            user=agent if agent_id == OSCAR else None,
        )
    for ticket_id, responder in [(501, OSCAR), (502, AJ), (503, NOBODY)]:
        ClosedTicket.objects.create(
            ticket_id=ticket_id,
            responder_id=responder,
            status=5,
            closed_at=NOW - timedelta(hours=1),
            closure_date=TODAY,
            fetched_at=NOW,
        )
    TicketSyncMetadata.objects.create(
        sync_date=YESTERDAY, last_sync_time=NOW - timedelta(days=1), sync_count=4
    )
    TicketSyncMetadata.objects.create(
        sync_date=TODAY, last_sync_time=NOW - timedelta(minutes=30), sync_count=2
    )
    SyncRun.objects.create(
        first_date=TODAY,
        last_date=TODAY,
        trigger=SyncRun.Trigger.SCHEDULE,
        status=SyncRun.Status.SUCCESS,
        started_at=NOW - timedelta(minutes=30),
        finished_at=NOW - timedelta(minutes=29),
        tickets_processed=7,
        api_calls=1,
    )
    SyncRun.objects.create(
        first_date=TODAY,
        last_date=TODAY,
        trigger=SyncRun.Trigger.BUTTON,
        status=SyncRun.Status.FAILED,
        started_at=NOW - timedelta(minutes=10),
        finished_at=NOW - timedelta(minutes=10),
        error="Freshservice refused the API key (HTTP 401)",
    )


def first_pk(model: str) -> int:
    models = {
        "closedticket": ClosedTicket,
        "ticketclosure": TicketClosure,
        "ticketsyncmetadata": TicketSyncMetadata,
        "syncrun": SyncRun,
        "synclease": SyncLease,
        "freshworksusermapping": FreshworksUserMapping,
    }
    return models[model].objects.order_by("pk").first().pk


# --- pages load, read-only --------------------------------------------------------------------


@pytest.mark.parametrize("model", ALL_MODELS)
@time_machine.travel(NOW, tick=False)
def test_every_changelist_and_detail_page_loads_with_data(
    super_client, manager_client, world, model
):
    # The lease is not one of the five models the roles may view; superusers see it.
    clients = [super_client] if model == "synclease" else [super_client, manager_client]
    for client in clients:
        listing = client.get(url(model))
        assert listing.status_code == 200
        assert listing.context["cl"].result_count >= 1
        assert client.get(url(model, "change", first_pk(model))).status_code == 200


@pytest.mark.parametrize("model", SYNCED_MODELS)
def test_synced_data_cannot_be_added_changed_or_deleted_even_by_a_superuser(
    super_client, world, model
):
    pk = first_pk(model)

    changelist = super_client.get(url(model)).content.decode()

    assert url(model, "add") not in changelist
    assert super_client.get(url(model, "add")).status_code == 403
    assert super_client.post(url(model, "change", pk), {}).status_code == 403
    assert super_client.post(url(model, "delete", pk), {"post": "yes"}).status_code == 403


def test_a_synced_detail_page_shows_its_fields_read_only(super_client, world):
    closure = TicketClosure.objects.get(freshworks_user_id=NOBODY, date=TODAY)

    page = super_client.get(url("ticketclosure", "change", closure.pk)).content.decode()

    assert "Agent 1999" in page
    assert 'name="tickets_closed"' not in page
    assert 'name="_save"' not in page


def test_mappings_cannot_be_added_but_their_user_can_be_linked_and_relinks_closures(
    super_client, world, agent
):
    aj = FreshworksUserMapping.objects.get(freshworks_user_id=AJ)

    assert super_client.get(url("freshworksusermapping", "add")).status_code == 403
    response = super_client.post(
        url("freshworksusermapping", "change", aj.pk),
        {"user": agent.pk, "freshworks_username": "Renamed", "freshworks_user_id": 7},
        follow=True,
    )

    assert response.status_code == 200
    aj.refresh_from_db()
    assert (aj.user, aj.freshworks_username, aj.freshworks_user_id) == (agent, "AJ Thompson", AJ)
    assert TicketClosure.objects.get(freshworks_user_id=AJ).user == agent
    assert ("info", "1 closure row relinked.") in shown_messages(response)


# --- lists: names, search, filters ----------------------------------------------------------


@time_machine.travel(NOW, tick=False)
def test_closures_show_the_ids_name_and_agent_id_for_the_unmapped(super_client, world):
    page = super_client.get(url("ticketclosure")).content.decode()

    assert "Oscar S." in page
    assert "AJ Thompson" in page
    assert "Agent 1999" in page
    assert "oscar.solis" in page


def test_names_from_ids_txt_are_escaped(super_client, world):
    FreshworksUserMapping.objects.filter(freshworks_user_id=AJ).update(
        freshworks_username="<script>alert(1)</script>"
    )

    for page in (url("ticketclosure"), url("closedticket"), url("freshworksusermapping")):
        html = super_client.get(page).content.decode()
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
        assert "<script>alert(1)" not in html


@pytest.mark.parametrize(
    ("model", "term", "found"),
    [
        ("ticketclosure", "1999", 2),
        ("ticketclosure", "oscar s", 2),
        ("ticketclosure", "thompson", 1),
        ("ticketclosure", "oscar.solis", 2),
        ("ticketclosure", "no such agent", 0),
        ("closedticket", "502", 1),
        ("closedticket", "AJ", 1),
        ("closedticket", "oscar.solis", 1),
        ("closedticket", "1999", 1),
        ("freshworksusermapping", "oscar.solis", 1),
        ("freshworksusermapping", "1002", 1),
        ("freshworksusermapping", "thompson", 1),
        ("syncrun", "API key", 1),
    ],
)
def test_search_finds_rows_by_ticket_agent_id_name_and_username(
    super_client, world, model, term, found
):
    response = super_client.get(url(model), {"q": term})

    assert response.status_code == 200
    assert response.context["cl"].result_count == found


@pytest.mark.parametrize(
    ("model", "query", "found"),
    [
        ("ticketclosure", {"agent": str(NOBODY)}, 2),
        ("ticketclosure", {"agent": "not-a-number"}, 5),
        ("ticketclosure", {"mapped": "no"}, 2),
        ("ticketclosure", {"mapped": "yes"}, 3),
        ("ticketclosure", {"date__gte": "2026-11-26", "date__lt": "2026-11-27"}, 3),
        ("ticketclosure", {"date__year": "2026", "date__month": "11", "date__day": "25"}, 1),
        ("closedticket", {"agent": str(AJ)}, 1),
        ("closedticket", {"mapped": "no"}, 1),
        ("freshworksusermapping", {"linked": "no"}, 1),
        ("freshworksusermapping", {"linked": "yes"}, 1),
        ("closedticket", {"status": "5"}, 3),
        ("closedticket", {"status": "4"}, 0),
        ("syncrun", {"status__exact": "failed"}, 1),
        ("syncrun", {"trigger__exact": "schedule"}, 1),
        ("ticketsyncmetadata", {"sync_date__year": "2026", "sync_date__month": "11"}, 2),
    ],
)
@time_machine.travel(NOW, tick=False)
def test_filters_and_the_date_hierarchy_narrow_the_list(super_client, world, model, query, found):
    response = super_client.get(url(model), query)

    assert response.status_code == 200
    assert response.context["cl"].result_count == found


def test_the_agent_filter_lists_agents_by_name(super_client, world):
    response = super_client.get(url("ticketclosure"))

    (agent_filter,) = [f for f in response.context["cl"].filter_specs if f.title == "agent"]
    assert agent_filter.lookup_choices == [
        ("1999", "Agent 1999"),
        ("1002", "AJ Thompson"),
        ("1001", "Oscar S."),
    ]


# Session, user, the agent filter (2), two counts, the page, the date hierarchy (2), and for
# the tickets the status filter: the same with 5 rows or 100.
@pytest.mark.parametrize(("model", "queries"), [("ticketclosure", 9), ("closedticket", 10)])
def test_a_full_page_of_100_rows_takes_no_more_queries_than_a_few_rows(
    super_client, world, django_assert_max_num_queries, model, queries
):
    with django_assert_max_num_queries(queries):
        super_client.get(url(model))
    for n in range(100):
        agent_id = 5000 + n
        FreshworksUserMapping.objects.create(
            freshworks_user_id=agent_id, freshworks_username=f"A{n}"
        )
        TicketClosure.objects.create(freshworks_user_id=agent_id, date=TODAY, tickets_closed=1)
        ClosedTicket.objects.create(
            ticket_id=9000 + n,
            responder_id=agent_id,
            status=4,
            closed_at=NOW,
            closure_date=TODAY,
            fetched_at=NOW,
        )

    with django_assert_max_num_queries(queries):
        response = super_client.get(url(model))

    assert response.status_code == 200
    assert len(response.context["cl"].result_list) == 100


# --- force sync ----------------------------------------------------------------------------------


@pytest.fixture
def upstream(requests_mock, fresh) -> FakeFreshservice:
    fake = FakeFreshservice(requests_mock)
    fake.put(
        make_ticket(
            id=1,
            responder_id=OSCAR,
            updated_at="2026-11-25T14:00:00Z",
            resolved_at="2026-11-25T14:00:00Z",
            closed_at="2026-11-25T14:00:00Z",
        ),
        make_ticket(
            id=2,
            responder_id=AJ,
            updated_at="2026-11-26T14:00:00Z",
            resolved_at="2026-11-26T14:00:00Z",
            closed_at="2026-11-26T14:00:00Z",
        ),
    )
    return fake


def force_sync(client: Client, model: str, rows) -> object:
    return client.post(
        url(model),
        {"action": "force_sync_selected_dates", "_selected_action": [row.pk for row in rows]},
        follow=True,
    )


@time_machine.travel(NOW, tick=False)
def test_force_sync_of_selected_dates_is_one_fetch_past_the_rate_limit(
    manager_client, world, upstream
):
    # Today synced 30 minutes ago: a sync without force would be refused.
    response = force_sync(manager_client, "ticketsyncmetadata", TicketSyncMetadata.objects.all())

    assert response.status_code == 200
    assert (upstream.list_calls, upstream.ticket_reads) == (1, 3)
    run = SyncRun.objects.latest("started_at")
    assert (run.trigger, run.status) == ("admin", "success")
    assert (run.first_date, run.last_date) == (YESTERDAY, TODAY)
    assert shown_messages(response) == [
        (
            "success",
            # The team's group (a forced sync reads it again), one page, then one read of each
            # of the 3 stored closures that did not come back (404: Freshservice has them not).
            "Force-synced 2026-11-25..2026-11-26 (2 days): 2 tickets fetched in 5 API calls; "
            "2 days recounted.",
        )
    ]
    # Ticket 2 is new; 502, stored but no longer listed by Freshservice (deleted or spam), is
    # removed by the forced sync of its day (SPEC §14.4).
    assert TicketClosure.objects.get(freshworks_user_id=AJ, date=TODAY).tickets_closed == 1
    assert not ClosedTicket.objects.filter(ticket_id=502).exists()


@time_machine.travel(NOW, tick=False)
def test_force_sync_from_the_closures_syncs_the_dates_of_the_selected_rows(
    manager_client, world, upstream
):
    rows = TicketClosure.objects.filter(date=YESTERDAY)

    response = force_sync(manager_client, "ticketclosure", rows)

    assert upstream.list_calls == 1
    run = SyncRun.objects.latest("started_at")
    assert (run.trigger, run.first_date, run.last_date) == ("admin", YESTERDAY, YESTERDAY)
    assert shown_messages(response)[0][1].startswith("Force-synced 2026-11-25: ")


@time_machine.travel(NOW, tick=False)
def test_a_failing_force_sync_reports_the_reason_and_records_a_failed_run(
    manager_client, world, requests_mock, fresh
):
    requests_mock.get(f"{ENDPOINT}tickets", status_code=401)
    closures_before = list(TicketClosure.objects.values_list("pk", "tickets_closed"))

    response = force_sync(manager_client, "ticketsyncmetadata", TicketSyncMetadata.objects.all())

    assert response.status_code == 200
    ((level, text),) = shown_messages(response)
    assert level == "error"
    assert text.startswith("The sync of 2026-11-25..2026-11-26 (2 days) failed and changed nothing")
    assert "API key" in text
    run = SyncRun.objects.latest("started_at")
    assert (run.trigger, run.status) == ("admin", "failed")
    assert list(TicketClosure.objects.values_list("pk", "tickets_closed")) == closures_before


@time_machine.travel(NOW, tick=False)
def test_a_force_sync_while_another_runs_is_refused_with_a_message(manager_client, world, upstream):
    SyncLease.objects.filter(name="sync").update(
        holder="other", expires_at=NOW + timedelta(minutes=5)
    )

    response = force_sync(manager_client, "ticketsyncmetadata", TicketSyncMetadata.objects.all())

    assert shown_messages(response) == [
        (
            "error",
            "2026-11-25..2026-11-26 (2 days) was not synced: Another sync is running; its "
            "numbers will appear when it finishes.",
        )
    ]
    assert upstream.calls == 0


@time_machine.travel(NOW, tick=False)
def test_an_unconfigured_force_sync_names_what_is_missing(manager_client, world):
    response = force_sync(manager_client, "ticketsyncmetadata", TicketSyncMetadata.objects.all())

    ((level, text),) = shown_messages(response)
    assert level == "error"
    assert "FRESH_API" in text
    assert SyncRun.objects.count() == 2  # refusals are not logged


@pytest.mark.parametrize("model", ["ticketsyncmetadata", "ticketclosure"])
@time_machine.travel(NOW, tick=False)
def test_staff_without_force_sync_do_not_get_the_action_and_cannot_post_it(
    viewer_client, manager_client, world, upstream, model
):
    assert "force_sync_selected_dates" in actions_offered(manager_client.get(url(model)))
    assert "force_sync_selected_dates" not in actions_offered(viewer_client.get(url(model)))

    rows = TicketSyncMetadata if model == "ticketsyncmetadata" else TicketClosure
    response = force_sync(viewer_client, model, rows.objects.all())

    assert response.status_code == 200

    assert upstream.calls == 0


# --- refresh user mappings ----------------------------------------------------------------------


@pytest.fixture
def ids_file(settings, tmp_path):
    ids = tmp_path / "IDs.txt"
    ids.write_text("Oscar S. - 1001\nNobody Known - 1999\nbroken line\n", encoding="utf-8")
    settings.FRESH_IDS_FILE = str(ids)
    return ids


def refreshed(response, ids_file) -> None:
    assert shown_messages(response) == [
        (
            "success",
            f"Refreshed user mappings from {ids_file}: 1 matched, 1 unmatched, 1 problem line, "
            "1 removed; 2 closure rows relinked.",
        ),
        ("warning", "No local user for: Nobody Known (1999): no local user matches."),
        ("warning", "Skipped lines: line 3: expected 'Name - ID', e.g. 'Oscar S. - 12345'."),
    ]
    assert set(FreshworksUserMapping.objects.values_list("freshworks_user_id", flat=True)) == {
        OSCAR,
        NOBODY,
    }


def test_the_refresh_action_reloads_ids_txt_and_reports_counts(
    manager_client, world, ids_file, agent
):
    # The closure rows of 1999 were unlinked and stay so; AJ's lose nothing but their mapping.
    TicketClosure.objects.filter(freshworks_user_id=OSCAR).update(user=None)

    response = manager_client.post(
        url("freshworksusermapping"),
        {
            "action": "refresh_user_mappings_from_ids",
            "_selected_action": [first_pk("freshworksusermapping")],
        },
        follow=True,
    )

    refreshed(response, ids_file)
    assert set(TicketClosure.objects.filter(user=agent).values_list("date", flat=True)) == {
        TODAY,
        YESTERDAY,
    }


def test_the_refresh_button_works_on_an_empty_table_and_returns_to_the_list(
    manager_client, world, ids_file
):
    TicketClosure.objects.filter(freshworks_user_id=OSCAR).update(user=None)
    FreshworksUserMapping.objects.exclude(freshworks_user_id=AJ).delete()

    page = manager_client.get(url("freshworksusermapping")).content.decode()
    assert reverse(REFRESH) in page
    response = manager_client.post(reverse(REFRESH), follow=True)

    assert response.redirect_chain == [(url("freshworksusermapping"), 302)]
    refreshed(response, ids_file)


def test_the_refresh_button_returns_to_a_local_next_page_only(manager_client, world, ids_file):
    back = manager_client.post(reverse(REFRESH), {"next": reverse(UNMAPPED)})
    away = manager_client.post(reverse(REFRESH), {"next": "https://evil.example/"})

    assert back.url == reverse(UNMAPPED)
    assert away.url == url("freshworksusermapping")


def test_refreshing_from_a_missing_file_changes_nothing_and_says_why(
    manager_client, world, settings, tmp_path
):
    settings.FRESH_IDS_FILE = str(tmp_path / "missing.txt")
    before = list(FreshworksUserMapping.objects.values_list("freshworks_user_id", "user_id"))

    response = manager_client.post(reverse(REFRESH), follow=True)

    ((level, text),) = shown_messages(response)
    assert level == "error"
    assert text.startswith("Nothing changed: IDs file ")
    assert "missing.txt does not exist" in text
    assert (
        list(FreshworksUserMapping.objects.values_list("freshworks_user_id", "user_id")) == before
    )


def test_the_refresh_button_is_post_only_and_needs_force_sync(
    manager_client, viewer_client, world, ids_file
):
    assert manager_client.get(reverse(REFRESH)).status_code == 405
    assert viewer_client.post(reverse(REFRESH)).status_code == 403
    offered = manager_client.get(url("freshworksusermapping"))
    assert reverse(REFRESH) in offered.content.decode()
    assert "refresh_user_mappings_from_ids" in actions_offered(offered)
    listing = viewer_client.get(url("freshworksusermapping"))
    assert listing.status_code == 200
    assert reverse(REFRESH) not in listing.content.decode()
    assert "refresh_user_mappings_from_ids" not in actions_offered(listing)
    assert FreshworksUserMapping.objects.count() == 2


def test_the_refresh_button_is_csrf_protected(manager, world, ids_file):
    client = Client(enforce_csrf_checks=True)
    client.force_login(manager)

    assert client.post(reverse(REFRESH)).status_code == 403
    assert FreshworksUserMapping.objects.count() == 2


# --- CSV export --------------------------------------------------------------------------------


def test_selected_closures_export_as_csv_with_names(viewer_client, world, agent):
    selected = TicketClosure.objects.exclude(date=YESTERDAY - timedelta(days=3))

    response = viewer_client.post(
        url("ticketclosure"),
        {
            "action": "export_selected_closures_csv",
            "_selected_action": [row.pk for row in selected],
        },
    )

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert (
        'filename="closures-selected-2026-11-25-2026-11-26.csv"' in response["Content-Disposition"]
    )
    text = b"".join(response.streaming_content).decode()
    assert list(csv.reader(io.StringIO(text))) == [
        ["date", "freshworks_user_id", "name", "username", "tickets_closed"],
        ["2026-11-25", "1001", "Oscar S.", "oscar.solis", "2"],
        ["2026-11-26", "1002", "AJ Thompson", "", "5"],
        ["2026-11-26", "1001", "Oscar S.", "oscar.solis", "3"],
        ["2026-11-26", "1999", "Agent 1999", "", "1"],
    ]


# --- statistics, unmapped agents, the index ---------------------------------------------------


@time_machine.travel(NOW, tick=False)
def test_the_statistics_page_shows_sync_status_database_and_recent_errors(manager_client, world):
    response = manager_client.get(reverse(STATISTICS))

    assert response.status_code == 200
    stats = response.context["stats"]
    assert (stats.syncs_today, stats.tickets_processed_today, stats.stale) == (1, 7, False)
    page = response.content.decode()
    assert "Sync statistics" in page
    assert "2026-11-26 14:30:00 UTC" in page  # the last successful sync
    assert "2026-11-26 15:30 UTC" in page  # the next allowed (60 min after 14:30)
    assert "2026-11-26 16:00 UTC" in page  # the next scheduled (0 8-18 * * *)
    assert "Freshservice refused the API key (HTTP 401)" in page
    assert "STALE" not in page
    assert reverse(UNMAPPED) in page


@time_machine.travel(NOW + timedelta(days=1), tick=False)
def test_the_statistics_page_warns_when_the_data_is_stale(manager_client, world):
    page = manager_client.get(reverse(STATISTICS)).content.decode()

    assert "STALE:" in page
    assert "the last successful sync began 2026-11-26 14:30 UTC" in page


def test_the_statistics_page_of_an_empty_database_says_so(manager_client):
    page = manager_client.get(reverse(STATISTICS)).content.decode()

    assert "no sync has succeeded yet" in page
    assert "No sync has run yet." in page


def test_the_extra_pages_need_the_sync_stats_permission(viewer_client, plain_user, world):
    for name in (STATISTICS, UNMAPPED):
        assert viewer_client.get(reverse(name)).status_code == 403
        # Not staff: the admin sends them to its login page.
        assert login(plain_user).get(reverse(name)).status_code == 302
        assert Client().get(reverse(name)).status_code == 302


def test_the_index_links_the_extra_pages_only_for_permitted_users(
    manager_client, super_client, viewer_client
):
    for client in (manager_client, super_client):
        page = client.get(reverse("admin:index")).content.decode()
        assert reverse(STATISTICS) in page
        assert reverse(UNMAPPED) in page
        assert "Ticket closures" in page  # the app list is still there

    page = viewer_client.get(reverse("admin:index")).content.decode()
    assert reverse(STATISTICS) not in page
    assert "Ticket closures" in page


def test_the_sync_run_list_links_the_statistics(manager_client, viewer_client, world):
    assert reverse(STATISTICS) in manager_client.get(url("syncrun")).content.decode()
    assert reverse(STATISTICS) not in viewer_client.get(url("syncrun")).content.decode()


def test_unmapped_agents_lists_agents_with_closures_and_no_local_user(manager_client, world):
    response = manager_client.get(reverse(UNMAPPED))

    assert response.status_code == 200
    assert response.context["agents"] == [
        # Most closures first, then by agent id.
        {
            "freshworks_user_id": AJ,
            "label": "AJ Thompson",
            "name_from": "IDs.txt",
            "total": 5,
            "days": 1,
            "first": TODAY,
            "last": TODAY,
            "reason": (
                "Freshservice's agent list has not been read yet; the IDs.txt name "
                "“AJ Thompson” matches no local user"
            ),
        },
        {
            "freshworks_user_id": NOBODY,
            "label": "Agent 1999",
            "name_from": "Agent <id> (no name known)",
            "total": 5,
            "days": 2,
            "first": YESTERDAY - timedelta(days=3),
            "last": TODAY,
            "reason": "Freshservice's agent list has not been read yet; no IDs.txt line",
        },
    ]
    page = response.content.decode()
    assert "Name - 1999" in page
    assert f"{url('ticketclosure')}?agent=1999" in page
    assert reverse(REFRESH) in page


def test_unmapped_agents_says_when_everyone_is_linked(manager_client, world, agent):
    FreshworksUserMapping.objects.filter(freshworks_user_id=AJ).update(user=agent)
    FreshworksUserMapping.objects.create(freshworks_user_id=NOBODY, user=agent)

    page = manager_client.get(reverse(UNMAPPED)).content.decode()

    assert "Every agent with closures is linked to a local user." in page


def test_actions_on_rows_that_are_gone_say_so_instead_of_failing(client, superuser):
    client.force_login(superuser)
    for action in ("force_sync_selected_dates", "export_selected_closures_csv"):
        response = client.post(
            "/admin/tickets/ticketclosure/",
            {"action": action, "_selected_action": ["999999"]},
            follow=True,
        )

        assert response.status_code == 200
        assert "gone" in response.content.decode()
