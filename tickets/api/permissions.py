"""Permissions of the API (SPEC §8): Django permissions held via groups or superuser, and the
plain-user rule of the sync button."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.views import APIView

from tickets.api.serializers import SyncRequestSerializer
from tickets.roles import FORCE_SYNC, VIEW_SYNC_STATS


class _HasPermission(BasePermission):
    permission: str

    def has_permission(self, request: Request, view: APIView) -> bool:
        return bool(request.user and request.user.has_perm(self.permission))


class CanForceSync(_HasPermission):
    permission = FORCE_SYNC
    message = "Forcing a sync needs the tickets.force_sync permission (Admin, Manager, Developer)."


class CanViewSyncStats(_HasPermission):
    permission = VIEW_SYNC_STATS
    message = "Sync statistics need the tickets.view_sync_stats permission."


class CanSyncTheDate(CanForceSync):
    """Anyone may sync today or yesterday; other dates need tickets.force_sync.

    A date that is not valid passes here: the view answers 400 for it, as it would have to
    before knowing which date was asked for.
    """

    def has_permission(self, request: Request, view: APIView) -> bool:
        payload = SyncRequestSerializer(data=request.data)
        if not payload.is_valid():
            return True
        day = payload.validated_date()
        today = timezone.localdate()
        if day in (today, today - timedelta(days=1)) or super().has_permission(request, view):
            return True
        self.message = (
            f"You may sync today or yesterday; syncing {day} needs the {self.permission} "
            "permission."
        )
        return False
