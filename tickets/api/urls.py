"""One router for the API; every path answers with and without a trailing slash."""

from rest_framework.routers import SimpleRouter

from tickets.api.views import TicketsViewSet

router = SimpleRouter()
router.trailing_slash = "/?"  # the constructor only knows "/" or nothing
router.register("tickets", TicketsViewSet, basename="tickets")

urlpatterns = router.urls
