"""Serializers shape data: query and body parameters in, selector results out."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from tickets import dates, selectors

# `date` is also a field name below; the type under a name a class body cannot shadow.
Date = date
DATE_FORMAT_HELP = "a date in the form YYYY-MM-DD"
_DATE_ERRORS: dict[str, Any] = {"invalid": f"Expected {DATE_FORMAT_HELP}, e.g. 2026-11-26."}


def DateParam(**kwargs: Any) -> serializers.DateField:
    return serializers.DateField(input_formats=["iso-8601"], error_messages=_DATE_ERRORS, **kwargs)


# --- input --------------------------------------------------------------------------------------


class PeriodQuerySerializer(serializers.Serializer):
    period = serializers.ChoiceField(
        choices=dates.PERIODS,
        required=False,
        help_text="today, yesterday, last_workday (the last of WORKDAYS before today), week "
        "(Monday to today) or month (the 1st to today), in TIME_ZONE. Default today. Not "
        "together with start/end.",
        error_messages={
            "invalid_choice": f'Unknown period "{{input}}": use one of {", ".join(dates.PERIODS)}, '
            "or start and end (YYYY-MM-DD)."
        },
    )
    start = DateParam(required=False, help_text="First day of a custom range (inclusive).")
    end = DateParam(required=False, help_text="Last day of a custom range (inclusive).")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        start, end, period = attrs.get("start"), attrs.get("end"), attrs.get("period")
        if start is None and end is None:
            period = period or "today"
            start, end = dates.period_dates(period, today=timezone.localdate())
            return {"period": period, "start": start, "end": end}
        if period is not None:
            raise serializers.ValidationError("Give either period or start and end, not both.")
        if start is None or end is None:
            raise serializers.ValidationError("start and end go together (YYYY-MM-DD).")
        try:
            dates.check_range(start, end, allow_future=True)
        except dates.DateRangeError as exc:
            raise serializers.ValidationError(str(exc)) from None
        return {"period": "custom", "start": start, "end": end}


class TeamField(serializers.IntegerField):
    """`team`: one of the configured agent groups (FRESH_GROUP_ID, SPEC §16.5); absent means
    every configured team. Anything else is a 400 naming the teams there are."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        kwargs.setdefault(
            "help_text",
            "A team: the id of one of the configured agent groups (FRESH_GROUP_ID). "
            "Default: every configured team.",
        )
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> int | None:  # type: ignore[override]
        if data == "":  # `?team=`: every team, as without it
            return None
        configured = selectors.teams()
        try:
            team = super().to_internal_value(data)
        except serializers.ValidationError:
            team = None
        if team is None or team not in {each.id for each in configured}:
            raise serializers.ValidationError(_unknown_team(data, configured))
        return team


def _unknown_team(data: Any, configured: list[selectors.Team]) -> str:
    if not configured:
        return f'Unknown team "{data}": no team is configured (FRESH_GROUP_ID).'
    listed = ", ".join(f"{each.id} ({each.label})" for each in configured)
    return f'Unknown team "{data}": use one of {listed}.'


class TeamQuerySerializer(serializers.Serializer):
    """The `team` query parameter of every closures-like endpoint: validate it with this
    serializer beside the endpoint's own (`validated_data.get("team")` is an id or None)."""

    team = TeamField()


def AgentParam(**kwargs: Any) -> serializers.IntegerField:
    message = "agent must be a Freshservice agent id: a whole number from 1."
    errors: dict[str, Any] = dict.fromkeys(
        ("invalid", "min_value", "max_value", "max_string_length"), message
    )
    errors["required"] = "agent is required: the agent's Freshservice id (freshworks_user_id)."
    return serializers.IntegerField(
        min_value=1,
        max_value=2**63 - 1,  # the database's BIGINT
        error_messages=errors,
        **kwargs,
    )


class DailyQuerySerializer(PeriodQuerySerializer):
    agent = AgentParam(
        required=False,
        help_text="Only this agent in `agents` (the team's total stays whole).",
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        return super().validate(attrs) | {"agent": attrs.get("agent")}


class TicketsQuerySerializer(DailyQuerySerializer):
    agent = AgentParam(help_text="The agent's Freshservice id (`freshworks_user_id`).")


class DateQuerySerializer(serializers.Serializer):
    date = DateParam(required=False, help_text="YYYY-MM-DD; default today (TIME_ZONE).")

    def validated_date(self) -> Date:
        return self.validated_data.get("date") or timezone.localdate()


class TopPerformersQuerySerializer(DateQuerySerializer):
    limit = serializers.IntegerField(
        required=False,
        default=5,
        min_value=1,
        max_value=100,
        help_text="How many agents, 1 to 100 (default 5).",
        error_messages={
            "invalid": "limit must be a whole number from 1 to 100.",
            "min_value": "limit must be a whole number from 1 to 100.",
            "max_value": "limit must be a whole number from 1 to 100.",
            "max_string_length": "limit must be a whole number from 1 to 100.",
        },
    )


class SyncRequestSerializer(DateQuerySerializer):
    # Freshservice's v2 API is younger than this; older dates are typos.
    EARLIEST = date(2000, 1, 1)

    def validate_date(self, value: date) -> date:
        if value < self.EARLIEST:
            raise serializers.ValidationError(f"Dates before {self.EARLIEST} cannot be synced.")
        try:
            dates.check_range(value, value)
        except dates.DateRangeError as exc:
            raise serializers.ValidationError(str(exc)) from None
        return value


# --- output -------------------------------------------------------------------------------------


class ClosureEntrySerializer(serializers.Serializer):
    freshworks_user_id = serializers.IntegerField(help_text="The agent's Freshservice ID.")
    name = serializers.CharField(
        help_text="The agent's display name: IDs.txt's, Freshservice's, or `Agent <id>`."
    )
    username = serializers.CharField(
        allow_null=True, help_text="The linked local user's username, if any."
    )
    tickets_closed = serializers.IntegerField()


class ComparedClosureEntrySerializer(ClosureEntrySerializer):
    previous_tickets_closed = serializers.IntegerField(
        help_text="The agent's closures in the previous period (`previous`)."
    )


@extend_schema_field(ComparedClosureEntrySerializer(many=True))
class ClosureEntriesField(serializers.Field):
    """ComparedClosureEntrySerializer(many=True) as plain dicts: for 300 agents the nested
    serializers were a fifth of the request's time (bench/api_latency.py)."""

    def to_representation(self, entries: list[selectors.ClosureEntry]) -> list[dict[str, Any]]:
        return [
            {
                "freshworks_user_id": entry.freshworks_user_id,
                "name": entry.name,
                "username": entry.username,
                "tickets_closed": entry.tickets_closed,
                "previous_tickets_closed": entry.previous_tickets_closed,
            }
            for entry in entries
        ]


class PeriodTotalSerializer(serializers.Serializer):
    start = serializers.DateField()
    end = serializers.DateField()
    total = serializers.IntegerField()


class TeamSerializer(serializers.Serializer):
    id = serializers.IntegerField(help_text="A FRESH_GROUP_ID group, the Freshservice agent group.")
    name = serializers.CharField(
        source="label",
        help_text="The group's name in Freshservice; `Group <id>` until a sync has read it.",
    )


class BackfillSerializer(serializers.Serializer):
    in_progress = serializers.BooleanField(help_text="Always true: a finished backfill is null.")
    start = serializers.DateField(help_text="The backfill's first date.")
    end = serializers.DateField(help_text="The backfill's last date.")
    pages_done = serializers.IntegerField(help_text="Pages of 100 tickets written so far.")
    tickets = serializers.IntegerField(help_text="Tickets received so far.")
    started_at = serializers.DateTimeField(help_text="When the backfill first started.")
    updated_at = serializers.DateTimeField(
        help_text="When its last page was written; a stopped backfill stops moving until rerun."
    )


class ClosuresSerializer(serializers.Serializer):
    period = serializers.CharField(help_text='The period asked for, "custom" for start/end.')
    start = serializers.DateField()
    end = serializers.DateField()
    total = serializers.IntegerField()
    closures = ClosureEntriesField(
        read_only=True, help_text="Agents with closures; most closures first, then by name."
    )
    previous = PeriodTotalSerializer(
        help_text="The period compared with: the previous calendar week or month up to the same "
        "weekday or day for week and month, the workday before for last_workday, else the "
        "period of equal length just before. Its total counts every agent, listed or not."
    )
    top_closer = ComparedClosureEntrySerializer(allow_null=True, help_text="The first entry.")
    top_closers = ClosureEntriesField(
        read_only=True, help_text="Every entry with the top count (ties); empty without closures."
    )
    last_synced_at = serializers.DateTimeField(
        allow_null=True, help_text="Start of the last successful sync."
    )
    stale = serializers.BooleanField(
        help_text="True when two scheduled syncs in a row passed without a successful sync."
    )
    team = TeamSerializer(
        allow_null=True,
        help_text="The team the answer covers (the one asked for with `team=`, or the only one "
        "configured); null when it spans several teams or until a sync has read the group.",
    )
    teams = TeamSerializer(many=True, help_text="Every configured team (FRESH_GROUP_ID).")
    backfill = BackfillSerializer(
        allow_null=True,
        help_text="A backfill under way over some of these dates (their counts are still "
        "filling in), else null.",
    )


class AgentDaysSerializer(serializers.Serializer):
    freshworks_user_id = serializers.IntegerField()
    name = serializers.CharField()
    counts = serializers.ListField(
        child=serializers.IntegerField(), help_text="Closures per day, in the order of `days`."
    )


@extend_schema_field(AgentDaysSerializer(many=True))
class AgentDaysField(serializers.Field):
    """AgentDaysSerializer(many=True) as plain dicts: 300 agents by 366 days are 110,000 counts."""

    def to_representation(self, agents: list[selectors.AgentDays]) -> list[dict[str, Any]]:
        return [
            {
                "freshworks_user_id": agent.freshworks_user_id,
                "name": agent.name,
                "counts": agent.counts,
            }
            for agent in agents
        ]


class DailyClosuresSerializer(serializers.Serializer):
    start = serializers.DateField()
    end = serializers.DateField()
    days = serializers.ListField(
        child=serializers.DateField(), help_text="Every day of the range, zeros included."
    )
    total = serializers.ListField(
        child=serializers.IntegerField(), help_text="The team's closures per day."
    )
    agents = AgentDaysField(
        read_only=True,
        help_text="Agents with closures in the range (or the one asked for), most closures "
        "first, then by name.",
    )


class AgentSerializer(serializers.Serializer):
    freshworks_user_id = serializers.IntegerField()
    name = serializers.CharField()


class TicketBehindSerializer(serializers.Serializer):
    ticket_id = serializers.IntegerField()
    closed_at = serializers.DateTimeField(help_text="When it was resolved (else closed).")
    closure_date = serializers.DateField(help_text="The day it counts for, in TIME_ZONE.")
    status = serializers.IntegerField(help_text="Freshservice's status number.")
    status_label = serializers.CharField(help_text="`4 Resolved`, `5 Closed`, else the number.")
    url = serializers.URLField(
        allow_null=True,
        help_text="The ticket's page in Freshservice; null when FRESH_ENDPOINT is not set.",
    )


@extend_schema_field(TicketBehindSerializer(many=True))
class TicketsBehindField(serializers.Field):
    """TicketBehindSerializer(many=True) as plain dicts: up to 5,000 rows."""

    def to_representation(self, tickets: list[selectors.TicketBehind]) -> list[dict[str, Any]]:
        when = serializers.DateTimeField()  # ISO 8601 in TIME_ZONE, as every other time
        return [
            {
                "ticket_id": ticket.ticket_id,
                "closed_at": when.to_representation(ticket.closed_at),
                "closure_date": ticket.closure_date.isoformat(),
                "status": ticket.status,
                "status_label": ticket.status_label,
                "url": ticket.url,
            }
            for ticket in tickets
        ]


class TicketsBehindSerializer(serializers.Serializer):
    agent = AgentSerializer()
    start = serializers.DateField()
    end = serializers.DateField()
    tickets = TicketsBehindField(read_only=True, help_text="Newest first.")
    count = serializers.IntegerField(help_text="How many tickets the range holds.")
    truncated = serializers.BooleanField(
        help_text=f"True when only the newest {selectors.TICKETS_BEHIND_LIMIT} are listed."
    )


class SyncStatusSerializer(serializers.Serializer):
    date = serializers.DateField()
    last_sync_time = serializers.DateTimeField(allow_null=True)
    can_sync = serializers.BooleanField()
    next_sync_at = serializers.DateTimeField(
        allow_null=True, help_text="When a sync of the date is allowed again; null when it is now."
    )
    minutes_until_next_sync = serializers.IntegerField(help_text="0 when a sync is allowed.")
    sync_count = serializers.IntegerField()


class TopPerformersSerializer(serializers.Serializer):
    date = serializers.DateField()
    performers = ClosureEntrySerializer(many=True)


class BestDaySerializer(serializers.Serializer):
    date = serializers.DateField()
    tickets_closed = serializers.IntegerField()


class StatsSerializer(serializers.Serializer):
    total_tickets_closed = serializers.IntegerField()
    days_with_data = serializers.IntegerField()
    agents_tracked = serializers.IntegerField()
    first_date = serializers.DateField(allow_null=True)
    last_date = serializers.DateField(allow_null=True)
    average_per_day = serializers.FloatField(help_text="total ÷ days with data")
    average_per_workday = serializers.FloatField(
        help_text="total ÷ the WORKDAYS from first_date to last_date (0 without any)"
    )
    best_day = BestDaySerializer(allow_null=True)


class SyncRunSerializer(serializers.Serializer):
    started_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField()
    sync_date = serializers.DateField(help_text="The first date asked for.")
    first_date = serializers.DateField()
    last_date = serializers.DateField()
    trigger = serializers.CharField()
    status = serializers.CharField()
    tickets_processed = serializers.IntegerField()
    api_calls = serializers.IntegerField()
    credits = serializers.IntegerField(
        help_text="Freshservice rate-limit credits spent (1 per call, 3 per page with stats)."
    )
    error = serializers.CharField(allow_blank=True)


class SyncHealthSerializer(serializers.Serializer):
    last_sync_time = serializers.DateTimeField(allow_null=True)
    next_sync_at = serializers.DateTimeField(
        allow_null=True, help_text="When today may be synced again; null when it may be now."
    )
    next_scheduled_sync = serializers.DateTimeField()
    syncs_today = serializers.IntegerField()
    tickets_processed_today = serializers.IntegerField()
    stale = serializers.BooleanField()


class DatabaseStatsSerializer(serializers.Serializer):
    total_records = serializers.IntegerField()
    mapped_users = serializers.IntegerField(help_text="Agents linked to a local user.")
    unmapped_agents = serializers.IntegerField(
        help_text="Agents with closures unknown to IDs.txt and Freshservice's agent list."
    )
    unlinked_agents = serializers.IntegerField(
        help_text="Agents with closures but no local user: the admin's Unmapped agents page."
    )
    days_with_data = serializers.IntegerField()
    total_sync_operations = serializers.IntegerField()


class AdminStatsSerializer(serializers.Serializer):
    sync_status = SyncHealthSerializer(source="*")
    database = DatabaseStatsSerializer(source="*")
    recent_activity = SyncRunSerializer(many=True)


class SyncedSerializer(serializers.Serializer):
    synced = serializers.BooleanField()
    date = serializers.DateField()
    tickets_processed = serializers.IntegerField()
    api_calls = serializers.IntegerField()
    next_sync_at = serializers.DateTimeField()


class RateLimitedSerializer(serializers.Serializer):
    synced = serializers.BooleanField()
    rate_limited = serializers.BooleanField()
    date = serializers.DateField()
    minutes_until_next_sync = serializers.IntegerField()
    next_sync_at = serializers.DateTimeField()
    detail = serializers.CharField()


class InProgressSerializer(serializers.Serializer):
    synced = serializers.BooleanField()
    in_progress = serializers.BooleanField()
    detail = serializers.CharField()


class SyncFailedSerializer(serializers.Serializer):
    synced = serializers.BooleanField()
    detail = serializers.CharField()


class MappingOutcomeSerializer(serializers.Serializer):
    line = serializers.IntegerField()
    name = serializers.CharField()
    freshworks_user_id = serializers.IntegerField()
    username = serializers.CharField(allow_null=True)
    rule = serializers.CharField(allow_null=True)
    reason = serializers.CharField()


class MappingProblemSerializer(serializers.Serializer):
    line = serializers.IntegerField()
    text = serializers.CharField(allow_blank=True)
    reason = serializers.CharField()


class EmailOutcomeSerializer(serializers.Serializer):
    freshworks_user_id = serializers.IntegerField()
    name = serializers.CharField()
    email = serializers.CharField(allow_blank=True)
    active = serializers.BooleanField(allow_null=True)
    username = serializers.CharField(allow_null=True)
    reason = serializers.CharField()


class DirectoryReportSerializer(serializers.Serializer):
    listed = serializers.IntegerField(help_text="Agents Freshservice's agent list holds")
    active = serializers.IntegerField()
    inactive = serializers.IntegerField()
    created = serializers.ListField(child=serializers.IntegerField())
    changed = serializers.ListField(child=serializers.IntegerField())
    not_listed = serializers.ListField(
        child=serializers.IntegerField(), help_text="Agents kept although no longer listed"
    )
    api_calls = serializers.IntegerField()


class MappingReportSerializer(serializers.Serializer):
    matched = MappingOutcomeSerializer(
        many=True, help_text="IDs.txt lines whose name matched a local user"
    )
    unmatched = MappingOutcomeSerializer(
        many=True, help_text="IDs.txt lines whose name matched no local user"
    )
    problems = MappingProblemSerializer(many=True)
    removed = serializers.ListField(child=serializers.IntegerField())
    relinked_closures = serializers.IntegerField()
    email_linked = EmailOutcomeSerializer(
        many=True, help_text="Agents without an IDs.txt line linked by their email"
    )
    email_unlinked = EmailOutcomeSerializer(
        many=True, help_text="Agents without an IDs.txt line and no link: why (ambiguous email…)"
    )
    cleared = serializers.ListField(
        child=serializers.IntegerField(),
        help_text="Agents whose IDs.txt line went; named by Freshservice now",
    )
    ids_missing = serializers.BooleanField(help_text="No IDs.txt: names from Freshservice")
    directory = DirectoryReportSerializer(
        allow_null=True, help_text="Freshservice's agent list, read first; null when not read"
    )
    directory_problem = serializers.CharField(
        allow_blank=True, help_text="Why the agent list was not read (not configured, failed)"
    )
    directory_failed = serializers.BooleanField(
        help_text="The agent list could not be read although Freshservice is configured"
    )
