"""The site's URLs plus the baseline a 304 is compared with (api-latency): an empty view that
only checks the visitor is signed in, as every API request does."""

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.urls import path

from yam.urls import urlpatterns as site


@login_required
def empty(request: HttpRequest) -> HttpResponse:
    return HttpResponse(status=204)


urlpatterns = [*site, path("bench/empty", empty)]
