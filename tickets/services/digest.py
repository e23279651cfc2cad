"""The daily digest (SPEC §18): a workday's closures per agent, its top closer(s), the week so far
and the change against the period before, sent by email (DIGEST_TO: a plain-text and an HTML part)
and/or to a chat incoming webhook (DIGEST_WEBHOOK_URL: Slack-compatible `{"text": ...}` JSON,
which Microsoft Teams and Mattermost take too).

`compose_digest` reads; `deliver_digest` sends to every configured channel and reports each one,
so a failed webhook never hides a delivered email (or the other way round). The webhook's URL is a
secret (it carries its token): messages name only its host.
"""

from __future__ import annotations

import logging
import smtplib
from dataclasses import dataclass
from datetime import date, timedelta
from urllib.parse import urlsplit

import requests
from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.utils import timezone

from tickets import selectors
from tickets.dates import local_day_start, period_dates, previous_workday
from tickets.selectors import ClosureEntry, ClosuresSummary
from tickets.wording import change_label, names_label

logger = logging.getLogger("tickets.digest")

WEBHOOK_TIMEOUT = (5, 15)  # seconds to connect, seconds to answer


@dataclass(frozen=True)
class Digest:
    day: ClosuresSummary  # the day, compared with the workday before it
    week: ClosuresSummary  # Monday to the day, compared with the same days a week before

    @property
    def closures(self) -> list[ClosureEntry]:
        return self.day.closures

    @property
    def complete(self) -> bool:
        """Whether a sync ran after the day ended, so late closures of the day are in."""
        synced = self.day.last_synced_at
        return synced is not None and synced >= local_day_start(self.day.end + timedelta(days=1))

    @property
    def day_change(self) -> str:
        return change_label(self.day.total, self.day.previous.total)

    @property
    def week_change(self) -> str:
        return change_label(self.week.total, self.week.previous.total)

    @property
    def top_line(self) -> str:
        """`Top closer: Freya Q. (9)`, `Top closers: Freya Q. and Lukas C. (9 each)`."""
        top = self.day.top_closers
        if not top:
            return "Nobody closed a ticket."
        if len(top) == 1:
            return f"Top closer: {top[0].name} ({top[0].tickets_closed})"
        names = names_label([entry.name for entry in top])
        return f"Top closers: {names} ({top[0].tickets_closed} each)"

    @property
    def subject(self) -> str:
        return f"Ticket closures on {self.day.end:%A %-d %B %Y}: {self.day.total}"

    def context(self) -> dict[str, object]:
        return {"digest": self, "time_zone": settings.TIME_ZONE}

    @property
    def text(self) -> str:
        return render_to_string("digest/digest.txt", self.context()).strip() + "\n"

    @property
    def html(self) -> str:
        return render_to_string("digest/digest.html", self.context())


def default_day(*, today: date | None = None) -> date:
    """The day a digest reports by default: the workday before today (WORKDAYS)."""
    return previous_workday(today or timezone.localdate())


def compose_digest(*, day: date) -> Digest:
    """The digest of `day` (in TIME_ZONE), read from the stored closures."""
    monday, _ = period_dates("week", today=day)
    return Digest(
        day=selectors.closures_for_period(start=day, end=day, period="last_workday"),
        week=selectors.closures_for_period(start=monday, end=day, period="week"),
    )


# --- delivery -----------------------------------------------------------------------------------


class DigestNotConfigured(Exception):
    """Neither channel is configured: there is nowhere to send a digest."""

    def __init__(self) -> None:
        super().__init__(
            "The digest has nowhere to go: set DIGEST_TO (with EMAIL_URL) for email and/or "
            "DIGEST_WEBHOOK_URL for a chat webhook."
        )


@dataclass(frozen=True)
class Delivery:
    """How sending to one channel went; `problem` is empty when it was delivered."""

    channel: str
    problem: str = ""

    @property
    def ok(self) -> bool:
        return not self.problem

    def __str__(self) -> str:
        return (
            f"Sent to {self.channel}." if self.ok else f"Not sent to {self.channel}: {self.problem}"
        )


def channels() -> list[str]:
    """The configured channels, as `deliver_digest` names them."""
    named = []
    if settings.DIGEST_TO:
        named.append(_email_channel())
    if settings.DIGEST_WEBHOOK_URL:
        named.append(_webhook_channel())
    return named


def deliver_digest(digest: Digest, *, test: bool = False) -> list[Delivery]:
    """Send `digest` to every configured channel; each outcome is logged and returned.

    `test` marks the message as a test (the admin's "Send a test digest").
    """
    if not channels():
        raise DigestNotConfigured
    subject = f"[Test] {digest.subject}" if test else digest.subject
    deliveries = []
    if settings.DIGEST_TO:
        deliveries.append(_send_email(digest, subject=subject))
    if settings.DIGEST_WEBHOOK_URL:
        deliveries.append(_post_webhook(digest, subject=subject))
    for delivery in deliveries:
        level = logging.INFO if delivery.ok else logging.ERROR
        logger.log(level, "Digest of %s: %s", digest.day.end, delivery)
    return deliveries


def _email_channel() -> str:
    return f"email to {', '.join(settings.DIGEST_TO)}"


def _webhook_channel() -> str:
    return f"the chat webhook at {urlsplit(settings.DIGEST_WEBHOOK_URL).hostname}"


def _send_email(digest: Digest, *, subject: str) -> Delivery:
    message = EmailMultiAlternatives(subject=subject, body=digest.text, to=list(settings.DIGEST_TO))
    message.attach_alternative(digest.html, "text/html")
    try:
        message.send()
    except (smtplib.SMTPException, OSError) as exc:
        problem = f"the mail server {settings.EMAIL_HOST} refused or could not be reached ({exc})"
        if settings.EMAIL_HOST_PASSWORD:
            problem = problem.replace(settings.EMAIL_HOST_PASSWORD, "[redacted]")
        return Delivery(_email_channel(), problem)
    return Delivery(_email_channel())


def _post_webhook(digest: Digest, *, subject: str) -> Delivery:
    # No exception text: requests' messages name the whole URL, which holds the webhook's token.
    try:
        response = requests.post(
            settings.DIGEST_WEBHOOK_URL,
            json={"text": f"*{subject}*\n\n{digest.text}"},
            timeout=WEBHOOK_TIMEOUT,
        )
    except requests.Timeout:
        return Delivery(_webhook_channel(), "it did not answer in time")
    except requests.RequestException as exc:
        return Delivery(_webhook_channel(), f"it could not be reached ({type(exc).__name__})")
    if not response.ok:
        answer = " ".join(response.text.split())[:200] or "an empty body"
        return Delivery(_webhook_channel(), f"it answered HTTP {response.status_code}: {answer}")
    return Delivery(_webhook_channel())


def describe_deliveries(deliveries: list[Delivery]) -> str:
    """One line per channel, failures first."""
    return "\n".join(str(delivery) for delivery in sorted(deliveries, key=lambda d: d.ok))
