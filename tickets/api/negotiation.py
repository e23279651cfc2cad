"""Content negotiation that answers an unknown `?format=` with 406, not DRF's bare 404."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.http import Http404
from rest_framework.exceptions import NotAcceptable
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import BaseRenderer
from rest_framework.request import Request


class ContentNegotiation(DefaultContentNegotiation):
    def select_renderer(
        self, request: Request, renderers: Iterable[BaseRenderer], format_suffix: Any = None
    ) -> tuple[BaseRenderer, str]:
        renderers = list(renderers)  # read twice below
        try:
            return super().select_renderer(request, renderers, format_suffix)
        except Http404:
            known = ", ".join(renderer.format for renderer in renderers)
            raise NotAcceptable(
                f"Unknown format {request.query_params.get(self.settings.URL_FORMAT_OVERRIDE)!r}: "
                f"use one of {known}."
            ) from None
