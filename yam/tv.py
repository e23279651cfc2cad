"""Wall screens (SPEC §17): `/tv/<token>` and its data, without a log-in.

The token in the path is the only credential these two views take, and they take no other:
no session, no API token. No other page or endpoint looks the token up.
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from drf_spectacular.utils import extend_schema
from rest_framework.exceptions import NotFound
from rest_framework.permissions import AllowAny
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from tickets.api.etag import conditional, stale_flag
from tickets.api.serializers import PeriodQuerySerializer
from tickets.api.views import closures_answer
from tickets.models import WallScreenLink
from tickets.services.wall_screens import note_seen

# The screen reloads its numbers this often (SPEC §17: every 5 minutes).
REFRESH_SECONDS = 300
# The periods a screen rotates through, in order.
PERIODS = (("today", "Today"), ("week", "This Week"), ("month", "This Month"))
REVOKED = "This screen link was revoked"


def _seen(token: str) -> WallScreenLink | None:
    """The link of `token` if it is live, noted as seen; None for an unknown or revoked one."""
    link = WallScreenLink.objects.by_token(token)
    if link is not None:
        note_seen(link, now=timezone.now())
    return link


@never_cache
def tv_page(request: HttpRequest, token: str) -> HttpResponse:
    """The board, read-only and full screen; 404 with the revoked notice for a dead link."""
    link = _seen(token)
    if link is None:
        return render(request, "tv.html", {"revoked": REVOKED}, status=404)
    context = {
        "link": link,
        "closures_url": reverse("tv-closures", args=[token]),
        "rotate_seconds": settings.TV_ROTATE_SECONDS,
        "refresh_seconds": REFRESH_SECONDS,
        "periods": PERIODS,
        "revoked": REVOKED,
    }
    return render(request, "tv.html", context)


@extend_schema(exclude=True)  # the screens' own endpoint, not part of the API
class TvClosures(APIView):
    """The closures answer of `GET /api/tickets/closures/period`, for a live link's screen; like
    it, tagged for cheap repeat reads (SPEC §19.6)."""

    authentication_classes: list[type] = []  # the path's token is the credential
    permission_classes = [AllowAny]
    renderer_classes = [JSONRenderer]

    def get(self, request: Request, token: str) -> Response:
        link = _seen(token)
        if link is None:  # before the query is read: a dead link learns nothing
            raise NotFound(f"{REVOKED} (or never existed).")
        team = link.team  # an admin may change it: part of the tag, as the query is
        tagged = conditional(volatile=lambda watermark: (stale_flag(watermark), team))
        return tagged(TvClosures.answer)(self, request, team=team)

    def answer(self, request: Request, *, team: int | None) -> Response:
        query = PeriodQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        period = query.validated_data
        # A link made for one team shows that team's closures (None: every configured team).
        return Response(
            closures_answer(
                period=period["period"], start=period["start"], end=period["end"], team=team
            )
        )
