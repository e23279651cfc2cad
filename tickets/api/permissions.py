"""Permissions of the admin endpoints (SPEC §8): Django permissions held via groups or superuser."""

from __future__ import annotations

from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.views import APIView


class _HasPermission(BasePermission):
    permission: str

    def has_permission(self, request: Request, view: APIView) -> bool:
        return bool(request.user and request.user.has_perm(self.permission))


class CanForceSync(_HasPermission):
    permission = "tickets.force_sync"
    message = "Forcing a sync needs the tickets.force_sync permission (Admin, Manager, Developer)."


class CanViewSyncStats(_HasPermission):
    permission = "tickets.view_sync_stats"
    message = "Sync statistics need the tickets.view_sync_stats permission."
