"""The ticket API: every action reads one selector or calls one service."""

from __future__ import annotations

import math
from datetime import date
from typing import Any

from django.http import QueryDict, StreamingHttpResponse
from django.urls import reverse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiResponse,
    PolymorphicProxySerializer,
    extend_schema,
)
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import IsAuthenticated
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from freshworks.ids import IdsFileError
from tickets import selectors
from tickets.api import serializers as s
from tickets.api.etag import conditional, kept, stale_flag, tag_for
from tickets.api.permissions import CanForceSync, CanSyncTheDate, CanViewSyncStats
from tickets.exports import closures_csv_response
from tickets.models import SyncRun
from tickets.services.directory import refresh_agents
from tickets.services.sync import (
    SyncFailed,
    SyncInProgress,
    SyncNotConfigured,
    SyncRateLimited,
    SyncRefused,
    SyncTimedOut,
    sync_from_web,
)

SYNC_RESPONSES = {
    200: s.SyncedSerializer,
    400: OpenApiResponse(OpenApiTypes.OBJECT, description="A bad date."),
    403: OpenApiResponse(OpenApiTypes.OBJECT, description="Not allowed to sync this date."),
    429: PolymorphicProxySerializer(
        component_name="SyncRefused",
        serializers=[s.RateLimitedSerializer, s.InProgressSerializer],
        resource_type_field_name=None,
    ),
    502: s.SyncFailedSerializer,
    503: s.SyncFailedSerializer,
    504: s.SyncFailedSerializer,
}


class CSVRenderer(BaseRenderer):
    """Lets clients ask for text/csv; the export writes its own rows, errors come as text."""

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data: Any, accepted_media_type: str | None = None, renderer_context=None):
        return JSONRenderer().render(data) if data is not None else b""


class TicketsViewSet(viewsets.ViewSet):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        summary="Closures for today",
        parameters=[s.TeamQuerySerializer],
        responses={200: s.ClosuresSerializer, 400: OpenApiTypes.OBJECT},
    )
    @action(detail=False, methods=["get"], url_path="closures/today")
    @conditional(volatile=stale_flag)
    def closures_today(self, request: Request) -> Response:
        today = timezone.localdate()
        return self._closures("today", today, today, team=_team(request.query_params))

    @extend_schema(
        summary="Closures for a period or a date range",
        parameters=[s.PeriodQuerySerializer, s.TeamQuerySerializer],
        responses={200: s.ClosuresSerializer, 400: OpenApiTypes.OBJECT},
    )
    @action(detail=False, methods=["get"], url_path="closures/period")
    @conditional(volatile=stale_flag)
    def closures_period(self, request: Request) -> Response:
        team = _team(request.query_params)
        query = _valid(s.PeriodQuerySerializer, request.query_params)
        return self._closures(query["period"], query["start"], query["end"], team=team)

    def _closures(self, period: str, start, end, *, team: int | None) -> Response:
        return Response(closures_answer(period=period, start=start, end=end, team=team))

    @extend_schema(
        summary="Closures per day: the team's total and each agent's, every day of the range",
        parameters=[s.DailyQuerySerializer, s.TeamQuerySerializer],
        responses={200: s.DailyClosuresSerializer, 400: OpenApiTypes.OBJECT},
    )
    @action(detail=False, methods=["get"], url_path="closures/daily")
    @conditional()
    def closures_daily(self, request: Request) -> Response:
        team = _team(request.query_params)
        query = _valid(s.DailyQuerySerializer, request.query_params)
        daily = selectors.daily_closures(
            start=query["start"], end=query["end"], agent=query["agent"], team=team
        )
        return Response(s.DailyClosuresSerializer(daily).data)

    @extend_schema(
        summary="The tickets behind an agent's count, newest first, with links to Freshservice",
        parameters=[s.TicketsQuerySerializer, s.TeamQuerySerializer],
        responses={200: s.TicketsBehindSerializer, 400: OpenApiTypes.OBJECT},
    )
    @action(detail=False, methods=["get"], url_path="closures/tickets")
    @conditional()
    def closures_tickets(self, request: Request) -> Response:
        team = _team(request.query_params)
        query = _valid(s.TicketsQuerySerializer, request.query_params)
        behind = selectors.tickets_behind(
            agent=query["agent"], start=query["start"], end=query["end"], team=team
        )
        return Response(s.TicketsBehindSerializer(behind).data)

    @extend_schema(
        summary="Closures as CSV: one row per agent per day",
        parameters=[s.PeriodQuerySerializer, s.TeamQuerySerializer],
        responses={
            (200, "text/csv"): OpenApiResponse(OpenApiTypes.STR, description="CSV"),
            400: OpenApiTypes.OBJECT,
        },
    )
    @action(
        detail=False,
        methods=["get"],
        url_path="closures/export.csv",
        renderer_classes=[JSONRenderer, CSVRenderer],
    )
    def closures_export(self, request: Request) -> StreamingHttpResponse:
        team = _team(request.query_params)
        query = _valid(s.PeriodQuerySerializer, request.query_params)
        in_team = f"-team-{team}" if team is not None else ""
        return closures_csv_response(
            selectors.closure_rows(start=query["start"], end=query["end"], team=team),
            filename=f"closures-{query['start']}-{query['end']}{in_team}.csv",
        )

    @extend_schema(
        summary="Sync a date (rate limited)",
        request=s.SyncRequestSerializer,
        responses=SYNC_RESPONSES,
    )
    @action(detail=False, methods=["post"], permission_classes=[IsAuthenticated, CanSyncTheDate])
    def sync(self, request: Request) -> Response:
        return _sync(request, force=False)

    @extend_schema(
        summary="Sync a date past the rate limit",
        request=s.SyncRequestSerializer,
        responses=SYNC_RESPONSES,
    )
    @action(
        detail=False,
        methods=["post"],
        url_path="force-sync",
        permission_classes=[IsAuthenticated, CanForceSync],
    )
    def force_sync(self, request: Request) -> Response:
        return _sync(request, force=True)

    @extend_schema(
        summary="Whether a date may be synced now",
        parameters=[s.DateQuerySerializer],
        responses={200: s.SyncStatusSerializer, 400: OpenApiTypes.OBJECT},
    )
    @action(detail=False, methods=["get"], url_path="sync-status")
    def sync_status(self, request: Request) -> Response:
        day = _valid(s.DateQuerySerializer, request.query_params).get("date")
        status_ = selectors.sync_status(day=day or timezone.localdate(), now=timezone.now())
        return Response(s.SyncStatusSerializer(status_).data)

    @extend_schema(
        summary="The agents who closed the most tickets on a date",
        parameters=[s.TopPerformersQuerySerializer, s.TeamQuerySerializer],
        responses={200: s.TopPerformersSerializer, 400: OpenApiTypes.OBJECT},
    )
    @action(detail=False, methods=["get"], url_path="top-performers")
    def top_performers(self, request: Request) -> Response:
        team = _team(request.query_params)
        query = _valid(s.TopPerformersQuerySerializer, request.query_params)
        day = query.get("date") or timezone.localdate()
        performers = selectors.top_performers(day=day, limit=query["limit"], team=team)
        return Response(s.TopPerformersSerializer({"date": day, "performers": performers}).data)

    @extend_schema(
        summary="Totals over all stored closures (of one team with `team=`)",
        parameters=[s.TeamQuerySerializer],
        responses={200: s.StatsSerializer, 400: OpenApiTypes.OBJECT},
    )
    @action(detail=False, methods=["get"])
    @conditional()
    def stats(self, request: Request) -> Response:
        stats = selectors.closure_stats(team=_team(request.query_params))
        return Response(s.StatsSerializer(stats).data)

    @extend_schema(
        summary="Sync health, database contents, the last 10 syncs",
        responses=s.AdminStatsSerializer,
    )
    @action(
        detail=False,
        methods=["get"],
        url_path="admin-stats",
        permission_classes=[IsAuthenticated, CanViewSyncStats],
    )
    def admin_stats(self, request: Request) -> Response:
        return Response(s.AdminStatsSerializer(selectors.admin_stats(now=timezone.now())).data)

    @extend_schema(
        summary=(
            "Reload agent names and links: Freshservice's agent list, then IDs.txt; relink closures"
        ),
        request=None,
        responses={
            200: s.MappingReportSerializer,
            422: OpenApiResponse(
                OpenApiTypes.OBJECT,
                description="IDs.txt is unusable, or missing before the agent list ever loaded.",
            ),
        },
    )
    @action(
        detail=False,
        methods=["post"],
        url_path="refresh-mappings",
        permission_classes=[IsAuthenticated, CanForceSync],
    )
    def refresh_mappings(self, request: Request) -> Response:
        try:
            report = refresh_agents()
        except IdsFileError as error:
            return Response({"detail": str(error)}, status=status.HTTP_422_UNPROCESSABLE_ENTITY)
        return Response(s.MappingReportSerializer(report).data)


@extend_schema(exclude=True)  # an index of the schema's own paths, not part of the contract
class ApiRootView(APIView):
    """`/api/`: where the endpoints and their documentation are, instead of a 404."""

    url_names: tuple[str, ...] = ()  # given by tickets.api.urls: the router's

    def get(self, request: Request) -> Response:
        def link(name: str) -> str:
            return request.build_absolute_uri(reverse(name))

        endpoints = {
            reverse(name).removeprefix(reverse("api-root")): link(name) for name in self.url_names
        }
        return Response(
            {
                "endpoints": dict(sorted(endpoints.items())),
                "docs": link("api-docs"),
                "schema": link("schema"),
            }
        )


def closures_answer(*, period: str, start: date, end: date, team: int | None) -> dict[str, Any]:
    """A closures answer (SPEC §9) as the API and the wall screens' data endpoint give it."""
    summary = selectors.closures_for_period(start=start, end=end, period=period, team=team)
    answer = {
        "period": period,
        **vars(summary),
        "top_closer": summary.top_closer,
        "top_closers": summary.top_closers,
        "stale": selectors.is_stale(summary.last_synced_at, now=timezone.now()),
        "backfill": selectors.backfill_in_progress(start=start, end=end),
    }
    return s.ClosuresSerializer(answer).data


def carried_closures(page_query: QueryDict) -> dict[str, Any] | None:
    """The closures request the dashboard at `?<page_query>` makes first, with its answer, for
    the page to carry: one round trip fewer before its chart is drawn. The query is built as
    dashboard.js builds it (the view in the URL, today by default, every other parameter kept);
    the answer is the API's for it, kept under the API's tag. {"query", "answer"}, or None when
    the API would refuse the query (the page then asks it, and shows why)."""
    query = QueryDict(mutable=True)
    for name, values in page_query.lists():
        if name not in ("period", "start", "end"):
            query.setlist(name, values)
    if "start" in page_query or "end" in page_query:
        if "period" in page_query:
            query["period"] = page_query.getlist("period")[0]
        query["start"] = (page_query.getlist("start") or [""])[0]
        query["end"] = (page_query.getlist("end") or [""])[0]
    else:
        query["period"] = (page_query.getlist("period") or [""])[0] or "today"
    try:
        team = _team(query)
        view = _valid(s.PeriodQuerySerializer, query)
    except ValidationError:
        return None
    tag = tag_for(reverse("tickets-closures-period"), query, "application/json", stale_flag)
    answer = kept(tag, lambda: closures_answer(**view, team=team))
    return {"query": query.urlencode(), "answer": answer}


def _valid(serializer_class: type[s.serializers.Serializer], data: Any) -> dict[str, Any]:
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def _team(query: QueryDict) -> int | None:
    """The query's `team=` (a configured group id), None for every team; 400 otherwise.
    Every closures-like endpoint calls this (its schema lists s.TeamQuerySerializer), and so
    does the answer the page carries."""
    return _valid(s.TeamQuerySerializer, query).get("team")


def _sync(request: Request, *, force: bool) -> Response:
    """Run one sync for the request's `date` and answer as SPEC §9 says.

    Who may sync which date was decided by the action's permission classes.
    """
    payload = s.SyncRequestSerializer(data=request.data)
    payload.is_valid(raise_exception=True)
    day = payload.validated_date()
    try:
        result = sync_from_web(
            first=day,
            trigger=SyncRun.Trigger.FORCE if force else SyncRun.Trigger.BUTTON,
            force=force,
        )
    except SyncRefused as refusal:
        return _refused(refusal, day=day)
    except SyncFailed as failure:
        # Not configured is the server's state (503); past WEB_SYNC_SECONDS, 504; anything
        # else is Freshservice's (502).
        code: int
        if isinstance(failure, SyncNotConfigured):
            code = status.HTTP_503_SERVICE_UNAVAILABLE
        elif isinstance(failure, SyncTimedOut):
            code = status.HTTP_504_GATEWAY_TIMEOUT
        else:
            code = status.HTTP_502_BAD_GATEWAY
        answer = {"synced": False, "detail": str(failure)}
        return Response(s.SyncFailedSerializer(answer).data, status=code)
    answer = {
        "synced": True,
        "date": day,
        "tickets_processed": result.tickets_processed,
        "api_calls": result.api_calls,
        "next_sync_at": result.next_sync_at,
    }
    return Response(s.SyncedSerializer(answer).data)


def _refused(refusal: SyncRefused, *, day: date) -> Response:
    """429 for a rate limit (with Retry-After) or another sync running; 400 for bad dates."""
    if isinstance(refusal, SyncRateLimited):
        wait = max(1, math.ceil((refusal.next_sync_at - timezone.now()).total_seconds()))
        answer = {
            "synced": False,
            "rate_limited": True,
            "date": day,
            "minutes_until_next_sync": refusal.minutes_until_next_sync,
            "next_sync_at": refusal.next_sync_at,
            "detail": str(refusal),
        }
        return Response(
            s.RateLimitedSerializer(answer).data,
            status=status.HTTP_429_TOO_MANY_REQUESTS,
            headers={"Retry-After": str(wait)},
        )
    if isinstance(refusal, SyncInProgress):
        answer = {"synced": False, "in_progress": True, "detail": str(refusal)}
        return Response(
            s.InProgressSerializer(answer).data, status=status.HTTP_429_TOO_MANY_REQUESTS
        )
    raise ValidationError({"date": [str(refusal)]})
