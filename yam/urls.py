from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from yam import tv, views

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    re_path(r"^healthz/?$", views.healthz, name="healthz"),
    # Wall screens (SPEC §17): the token is the credential of these two and of nothing else.
    re_path(r"^tv/(?P<token>[^/]+)/?$", tv.tv_page, name="tv"),
    re_path(r"^tv/(?P<token>[^/]+)/closures/?$", tv.TvClosures.as_view(), name="tv-closures"),
    path("api/", include("tickets.api.urls")),
    re_path(r"^api/schema/?$", SpectacularAPIView.as_view(), name="schema"),
    re_path(
        r"^api/docs/?$",
        # The split view serves Swagger UI's start-up script from ?script: no inline script for
        # the Content-Security-Policy to refuse.
        login_required(SpectacularSwaggerSplitView.as_view(url_name="schema")),
        name="api-docs",
    ),
    # Log-in and log-out only: no self-service password reset (accounts come from admins).
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("api-auth/", include("rest_framework.urls")),
    path("admin/", admin.site.urls),
]
