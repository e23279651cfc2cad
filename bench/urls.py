"""The site's URLs plus the baselines a 304 is compared with (api-latency): an empty view that
only checks the visitor is signed in, as every API request does (the target's), and the same
as an empty DRF view (shown beside it: what DRF's own request handling costs)."""

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.urls import path
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from yam.urls import urlpatterns as site


@login_required
def empty(request: HttpRequest) -> HttpResponse:
    return HttpResponse(status=204)


class EmptyApiView(APIView):
    permission_classes = [IsAuthenticated]

    def get(self, request: Request) -> Response:
        return Response(status=204)


urlpatterns = [
    *site,
    path("bench/empty", empty),
    path("bench/empty-api", EmptyApiView.as_view()),
]
