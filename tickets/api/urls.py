"""One router for the API; every path answers with and without a trailing slash."""

from django.urls import URLPattern, path
from rest_framework.routers import SimpleRouter

from tickets.api.views import ApiRootView, TicketsViewSet

router = SimpleRouter()
router.trailing_slash = "/?"  # the constructor only knows "/" or nothing
router.register("tickets", TicketsViewSet, basename="tickets")

root = ApiRootView.as_view(
    url_names=tuple(url.name for url in router.urls if isinstance(url, URLPattern) and url.name)
)
urlpatterns = [
    path("", root, name="api-root"),
    *router.urls,
]
