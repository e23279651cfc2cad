"""The daily digest (SPEC §18): what it says, email and webhook delivery, failures, the dry run,
the schedule and the admin's test send."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import UTC, date, datetime

import pytest
import requests
import time_machine
from django.core import mail
from django.test import Client

from tests.test_settings import load_settings
from tickets.models import FreshworksUserMapping, SyncRun, TicketClosure
from tickets.services.digest import compose_digest, default_day
from tickets.services.schedule import scheduled_digest

pytestmark = pytest.mark.django_db

# Tuesday 1 December 2026, 08:00 in Berlin (07:00 UTC): the digest reports Monday 30 November.
NOW = datetime(2026, 12, 1, 7, 0, tzinfo=UTC)
MONDAY = date(2026, 11, 30)
FREYA, LUKAS, ANA, OSCAR = 2001, 2002, 2003, 2004
NAMES = {FREYA: "Freya Q.", LUKAS: "Lukas C.", ANA: "Ana B.", OSCAR: "Oscar P."}
WEBHOOK = "https://hooks.example.com/services/T000/B000/s3cr3t-t0ken"


@pytest.fixture(autouse=True)
def berlin(settings):
    settings.TIME_ZONE = "Europe/Berlin"
    settings.WORKDAYS = (0, 1, 2, 3, 4)
    settings.DIGEST_TO = ()
    settings.DIGEST_WEBHOOK_URL = ""
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"


@pytest.fixture(autouse=True)
def at_now() -> Iterator[None]:
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture(autouse=True)
def agents() -> None:
    FreshworksUserMapping.objects.bulk_create(
        FreshworksUserMapping(freshworks_user_id=agent, freshworks_username=name)
        for agent, name in NAMES.items()
    )


def closures(day: date, **per_agent: int) -> None:
    ids = {"freya": FREYA, "lukas": LUKAS, "ana": ANA, "oscar": OSCAR}
    for name, closed in per_agent.items():
        TicketClosure.objects.create(freshworks_user_id=ids[name], date=day, tickets_closed=closed)


def synced_at(moment: datetime) -> None:
    SyncRun.objects.create(
        first_date=moment.date(),
        last_date=moment.date(),
        trigger=SyncRun.Trigger.SCHEDULE,
        status=SyncRun.Status.SUCCESS,
        started_at=moment,
        finished_at=moment,
    )


@pytest.fixture
def week() -> None:
    """A week with Friday 27 November, Monday 30 November and the Monday before."""
    closures(date(2026, 11, 23), freya=4, lukas=2)  # the Monday a week before
    closures(date(2026, 11, 27), freya=3, ana=2)  # Friday, the workday before Monday
    closures(MONDAY, freya=5, lukas=5, ana=1)
    synced_at(datetime(2026, 12, 1, 6, 0, tzinfo=UTC))  # after Monday ended in Berlin


# --- what it says -------------------------------------------------------------------------------


def test_by_default_it_reports_the_previous_workday():
    assert default_day() == MONDAY
    assert default_day(today=MONDAY) == date(2026, 11, 27)  # Monday's: Friday


def test_the_digest_names_the_day_every_agent_the_tied_top_closers_and_both_changes(week):
    digest = compose_digest(day=MONDAY)

    assert [(entry.name, entry.tickets_closed) for entry in digest.closures] == [
        ("Freya Q.", 5),
        ("Lukas C.", 5),
        ("Ana B.", 1),
    ]
    assert digest.top_line == "Top closers: Freya Q. and Lukas C. (5 each)"
    # Monday against Friday (the workday before), not against Sunday.
    assert (digest.day.total, digest.day.previous.total) == (11, 5)
    assert digest.day.previous.start == date(2026, 11, 27)
    assert digest.day_change == "▲ 6 (+120 %)"
    # The week so far is Monday alone, against the Monday a week before.
    assert (digest.week.start, digest.week.end) == (MONDAY, MONDAY)
    assert (digest.week.total, digest.week.previous.total) == (11, 6)
    assert digest.complete
    assert digest.subject == "Ticket closures on Monday 30 November 2026: 11"
    assert "Not final" not in digest.text
    assert "Freya Q." in digest.text
    assert "Lukas C." in digest.text


def test_a_day_the_sync_has_not_finished_says_its_figures_are_not_final(week):
    SyncRun.objects.all().delete()
    synced_at(datetime(2026, 11, 30, 15, 0, tzinfo=UTC))  # Monday 16:00 in Berlin

    digest = compose_digest(day=MONDAY)

    assert not digest.complete
    assert "Not final yet: the last sync ran 2026-11-30 16:00 CET" in digest.text


def test_a_day_without_closures_says_so():
    digest = compose_digest(day=MONDAY)

    assert digest.closures == []
    assert "Nobody closed a ticket." in digest.text
    assert digest.day_change == "no change"


# --- delivery -----------------------------------------------------------------------------------


def test_email_goes_to_every_recipient_with_a_plain_text_and_an_html_part(week, settings, manage):
    settings.DIGEST_TO = ("lead@example.com", "admin@example.com")

    status, out, _ = manage("send_digest")

    assert status == 0
    assert out.strip() == "Sent to email to lead@example.com, admin@example.com."
    [message] = mail.outbox
    assert message.to == ["lead@example.com", "admin@example.com"]
    assert message.subject == "Ticket closures on Monday 30 November 2026: 11"
    assert "Freya Q." in message.body
    assert "<" not in message.body
    [(html, mimetype)] = message.alternatives
    assert mimetype == "text/html"
    assert "<td>Freya Q.</td>" in html
    assert "Top closers: Freya Q. and Lukas C. (5 each)" in html


def test_the_webhook_gets_slack_compatible_json(week, settings, manage, requests_mock):
    settings.DIGEST_WEBHOOK_URL = WEBHOOK
    hook = requests_mock.post(WEBHOOK, text="ok")

    status, out, _ = manage("send_digest", "--date", "2026-11-27")

    assert status == 0
    assert out.strip() == "Sent to the chat webhook at hooks.example.com."
    [call] = hook.request_history
    payload = json.loads(call.body)
    assert list(payload) == ["text"]
    assert payload["text"].startswith("*Ticket closures on Friday 27 November 2026: 5*\n")
    assert "Top closer: Freya Q. (3)" in payload["text"]
    assert "s3cr3t" not in out


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        ({"status_code": 404, "text": "no_service"}, "it answered HTTP 404: no_service"),
        ({"exc": requests.ConnectTimeout}, "it did not answer in time"),
        ({"exc": requests.ConnectionError(WEBHOOK)}, "it could not be reached (ConnectionError)"),
    ],
)
def test_a_failing_webhook_exits_1_with_the_reason_and_logs_it(
    week, settings, manage, requests_mock, caplog, answer, reason
):
    settings.DIGEST_WEBHOOK_URL = WEBHOOK
    requests_mock.post(WEBHOOK, **answer)

    status, out, err = manage("send_digest")

    assert status == 1
    expected = f"Not sent to the chat webhook at hooks.example.com: {reason}"
    assert expected in err
    assert any(
        record.levelno == logging.ERROR and expected in record.getMessage()
        for record in caplog.records
    )
    # The webhook URL's token (requests_mock's own DEBUG line names the URL; the app logs INFO up).
    logged = [record.getMessage() for record in caplog.records if record.levelno >= logging.INFO]
    for text in (out, err, *logged):
        assert "s3cr3t" not in text


def test_a_failed_webhook_does_not_stop_the_email(week, settings, manage, requests_mock):
    settings.DIGEST_TO = ("lead@example.com",)
    settings.DIGEST_WEBHOOK_URL = WEBHOOK
    requests_mock.post(WEBHOOK, status_code=500, text="")

    status, _, err = manage("send_digest")

    assert status == 1
    assert len(mail.outbox) == 1
    assert "Not sent to the chat webhook at hooks.example.com: it answered HTTP 500" in err
    assert "Sent to email to lead@example.com." in err


def test_a_refused_email_exits_1_with_the_reason(week, settings, manage):
    settings.DIGEST_TO = ("lead@example.com",)
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", 9  # discard: nothing listens

    status, _, err = manage("send_digest")

    assert status == 1
    assert "Not sent to email to lead@example.com: the mail server 127.0.0.1" in err


def test_nowhere_to_send_exits_1_and_says_what_to_set(manage):
    status, _, err = manage("send_digest")

    assert status == 1
    assert "set DIGEST_TO (with EMAIL_URL)" in err
    assert "DIGEST_WEBHOOK_URL" in err


def test_the_dry_run_prints_the_message_and_sends_nothing(week, settings, manage, requests_mock):
    settings.DIGEST_TO = ("lead@example.com",)
    settings.DIGEST_WEBHOOK_URL = WEBHOOK
    hook = requests_mock.post(WEBHOOK, text="ok")

    status, out, _ = manage("send_digest", "--dry-run")

    assert status == 0
    assert out.startswith(
        "Dry run: not sent. It would go to email to lead@example.com and the chat webhook at "
        "hooks.example.com.\nSubject: Ticket closures on Monday 30 November 2026: 11\n"
    )
    assert "Top closers: Freya Q. and Lukas C. (5 each)" in out
    assert mail.outbox == []
    assert not hook.called


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--date", "2026-12-02"], "2026-12-02 is in the future"),
        (["--date", "30/11/2026"], "is not a date in the form YYYY-MM-DD"),
    ],
)
def test_a_bad_date_exits_2_and_sends_nothing(settings, manage, argv, message):
    settings.DIGEST_TO = ("lead@example.com",)

    status, _, err = manage("send_digest", *argv)

    assert status == 2
    assert message in err
    assert mail.outbox == []


# --- the schedule -------------------------------------------------------------------------------


def test_the_schedule_sends_the_previous_workday(week, settings):
    settings.DIGEST_TO = ("lead@example.com",)

    assert scheduled_digest() is True
    assert mail.outbox[0].subject == "Ticket closures on Monday 30 November 2026: 11"


def test_the_schedule_logs_a_digest_with_nowhere_to_go(caplog):
    assert scheduled_digest() is False
    assert "Scheduled digest: The digest has nowhere to go" in caplog.text


SHOW = (
    "import django; django.setup(); from django.conf import settings as s; "
    "print(s.CRONJOBS[1:], s.DIGEST_TO, s.EMAIL_BACKEND, s.EMAIL_HOST, s.EMAIL_PORT, "
    "s.EMAIL_USE_TLS)"
)


def test_the_settings_schedule_the_digest_and_read_the_mail_server():
    loaded = load_settings(
        SHOW,
        DIGEST_SCHEDULE="0  8 * * 1-5",
        DIGEST_TO="lead@example.com, admin@example.com",
        EMAIL_URL="smtp+tls://yam:pw@mail.example.com:587",
    )

    assert loaded.stdout.strip() == (
        "[('0 8 * * 1-5', 'tickets.cron.send_digest')] "
        "('lead@example.com', 'admin@example.com') "
        "django.core.mail.backends.smtp.EmailBackend mail.example.com 587 True"
    )
    assert load_settings(SHOW).stdout.startswith("[] ()")  # off by default


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("DIGEST_SCHEDULE", "weekdays"),
        ("DIGEST_TO", "lead at example.com"),
        ("DIGEST_WEBHOOK_URL", "hooks.example.com/services/x"),
        ("EMAIL_URL", "mailto:lead@example.com"),
    ],
)
def test_a_malformed_digest_setting_stops_start_up_naming_it(variable, value):
    loaded = load_settings(SHOW, **{variable: value})

    assert loaded.returncode != 0
    assert variable in loaded.stderr.strip().splitlines()[-1]


def test_production_needs_a_mail_server_for_digest_to():
    loaded = load_settings(SHOW, DIGEST_TO="lead@example.com")

    assert loaded.returncode != 0
    assert "EMAIL_URL is not set" in loaded.stderr


# --- the admin ----------------------------------------------------------------------------------


@pytest.fixture
def admin_client(admin_member) -> Client:
    client = Client()
    client.force_login(admin_member)
    return client


def test_the_admin_page_previews_the_digest_and_names_its_channels(week, settings, admin_client):
    settings.DIGEST_TO = ("lead@example.com",)
    settings.DIGEST_SCHEDULE = "0 8 * * 1-5"

    page = admin_client.get("/admin/tickets/syncrun/digest/").content.decode()

    assert "email to lead@example.com" in page
    assert "<code>0 8 * * 1-5</code>" in page
    assert "Ticket closures on Monday 30 November 2026: 11" in page
    assert 'value="Send a test digest now"' in page


def test_the_admin_sends_a_test_digest_to_every_channel(
    week, settings, admin_client, requests_mock
):
    settings.DIGEST_TO = ("lead@example.com",)
    settings.DIGEST_WEBHOOK_URL = WEBHOOK
    requests_mock.post(WEBHOOK, status_code=403, text="invalid_token")

    answer = admin_client.post("/admin/tickets/syncrun/digest/", follow=True)

    assert mail.outbox[0].subject == "[Test] Ticket closures on Monday 30 November 2026: 11"
    shown = [str(message) for message in answer.context["messages"]]
    assert shown == [
        "Test digest: Sent to email to lead@example.com.",
        "Test digest: Not sent to the chat webhook at hooks.example.com: "
        "it answered HTTP 403: invalid_token",
    ]


def test_only_roles_that_may_start_work_can_send_a_test_digest(week, settings, plain_user):
    settings.DIGEST_TO = ("lead@example.com",)
    plain_user.is_staff = True
    plain_user.save()
    client = Client()
    client.force_login(plain_user)

    assert client.post("/admin/tickets/syncrun/digest/").status_code == 403
    assert mail.outbox == []
