"""API errors: DRF's answers, plus Django's refusals of a request body as 400 JSON (§19.3).

Its own module: `rest_framework.views` reads the parser settings when imported, so the parsers
module must not import it.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's handler, plus Django's refusals of a body (too large, too many fields) as 400 JSON.

    Django raises those while DRF reads `request.data`, inside the view; left alone they would
    become Django's HTML 400 page in the middle of a JSON API.
    """
    if isinstance(exc, RequestDataTooBig):
        detail = (
            f"The request body is too large: at most {settings.DATA_UPLOAD_MAX_MEMORY_SIZE} bytes."
        )
        return Response({"detail": detail}, status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, SuspiciousOperation):
        return Response({"detail": f"Bad request body: {exc}"}, status=status.HTTP_400_BAD_REQUEST)
    return drf_exception_handler(exc, context)
