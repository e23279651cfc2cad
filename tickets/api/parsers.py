"""Request bodies: JSON that cannot hurt the server, and body faults answered 400 JSON.

Every body the API reads comes through here (DEFAULT_PARSER_CLASSES and EXCEPTION_HANDLER in
settings), so no view needs its own guard (SPEC §19.3).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from rest_framework import parsers, status
from rest_framework.exceptions import ParseError
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

# No body this API reads is more than two levels deep; 32 leaves room and stays far below
# Python's recursion limit, which json.loads (and anything walking the result) would hit.
MAX_JSON_DEPTH = 32


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser, refusing bodies nested deeper than MAX_JSON_DEPTH."""

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError(_too_deep()) from None
        if _depth(data) > MAX_JSON_DEPTH:
            raise ParseError(_too_deep())
        return data


def _too_deep() -> str:
    return f"JSON parse error - nested more than {MAX_JSON_DEPTH} levels deep."


def _depth(data: Any) -> int:
    """How deeply lists and objects nest in `data` (a scalar is 0), without recursion."""
    deepest = 0
    stack = [(data, 1)]
    while stack:
        value, level = stack.pop()
        if isinstance(value, dict | list):
            deepest = max(deepest, level)
            children = value.values() if isinstance(value, dict) else value
            if level <= MAX_JSON_DEPTH:
                stack.extend((child, level + 1) for child in children)
    return deepest


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
