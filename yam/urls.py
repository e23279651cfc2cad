from django.contrib import admin
from django.urls import path

from yam import views

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("admin/", admin.site.urls),
]
