"""Cheap repeat reads (SPEC §19.6): an ETag on read answers, 304 for a matching If-None-Match.

Put `@conditional()` on a viewset action, below `@action` (so it wraps the method itself and
runs after authentication and the permission checks):

    @action(detail=False, methods=["get"], url_path="closures/daily")
    @conditional(volatile=stale_flag)
    def closures_daily(self, request): ...

A plain Django view answering JSON (a wall screen's data) takes `@conditional_view(...)` the
same way, below the decorators that check access.

`ConditionalReadMiddleware` answers the commonest repeat read, a signed-in browser's (the page,
every few minutes on a wall screen), before DRF: once Django has resolved the URL to such an
action and the session's user is signed in, a matching If-None-Match is answered 304 there, so
a 304 costs what any signed-in page costs plus the tag's one query. Everything else (no tag, a
token, nobody signed in, a tag that no longer holds) goes on to DRF as before, which
authenticates it and checks the same tag.

The tag is a digest of what the answer depends on: the data version (raised in the transaction
of every write that changes an answer: `tickets.services.data_version`) and the last successful
sync's start (`watermark`), read together in one query; the path and the query (parameters
sorted); the Accept header (with `?format=`, in the query, it decides the format); today's
date in TIME_ZONE (relative periods such as `today` move at midnight without any write); and
whatever `volatile(watermark)` adds (the closures answers' `stale` flag moves with the clock).
Answers are the same for every signed-in user (the read endpoints check only that one is signed
in), so the user is not part of it. A request whose If-None-Match holds the tag gets 304 after
that one query. Answers carry `Cache-Control: private, no-cache`, so a browser keeps them and
asks again with If-None-Match by itself.

The computed answer (its data, before rendering) is also kept in this process, keyed by the
tag, for the next request that has no copy of it (another user, another screen): the tag
changes with every write, so a kept answer is never out of date; the oldest are dropped.
"""

from __future__ import annotations

import functools
import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseNotModified, QueryDict
from django.utils import timezone
from rest_framework import status
from rest_framework.authentication import SessionAuthentication
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from tickets import selectors
from tickets.freshservice_config import freshservice_config

CACHE_CONTROL = "private, no-cache"
KEPT_ANSWERS = 64

_Answer = TypeVar("_Answer", bound=HttpResponse)

_kept: OrderedDict[str, Any] = OrderedDict()
_kept_lock = threading.Lock()


Volatile = Callable[[datetime | None], object]


def stale_flag(watermark: datetime | None) -> bool:
    """The closures answers' `stale` flag now: it changes with the clock alone.

    `is_stale` reads the schedule's ticks, which fall on whole minutes, so the flag only moves
    at a minute's start: it is worked out once a minute (walking the cron schedule took 40% of
    a 304's own work), keyed by everything it reads.
    """
    minute = timezone.now().replace(second=0, microsecond=0)
    return _stale(watermark, minute, settings.SYNC_SCHEDULE, settings.TIME_ZONE)


@functools.lru_cache(maxsize=64)
def _stale(watermark: datetime | None, minute: datetime, schedule: str, zone: str) -> bool:
    return selectors.is_stale(watermark, now=minute)


def answer_tag(request: HttpRequest | Request, volatile: Volatile | None = None) -> str:
    """The ETag of the answer to `request` as the data stands now (one query)."""
    return tag_for(request.path, request.GET, request.headers.get("Accept", ""), volatile)


def tag_for(path: str, query: QueryDict, accept: str, volatile: Volatile | None = None) -> str:
    """The ETag of the answer to a GET of `path` with `query` and `accept` (one query): also
    what a page that carries such an answer keeps it under (`kept`)."""
    version, watermark = selectors.data_state()
    parts = [
        str(version),
        path.rstrip("/"),
        repr(sorted(query.lists())),
        # The same before DRF has chosen a renderer (the middleware) as after (the decorator).
        accept,
        timezone.localdate().isoformat(),
        # What answers are computed with besides the data: settings, fixed while a process runs
        # (tests change them), so they cost nothing here.
        settings.TIME_ZONE,
        repr(settings.WORKDAYS),
        repr(freshservice_config().group_ids),
        repr(volatile(watermark) if volatile is not None else None),
    ]
    digest = hashlib.blake2b("\n".join(parts).encode(), digest_size=12).hexdigest()
    return f'"{digest}"'


def kept(tag: str, compute: Callable[[], Any]) -> Any:
    """The answer kept under `tag` in this process, else `compute()`, kept from then on."""
    data = _recall(tag)
    if data is None:
        data = compute()
        _remember(tag, data)
    return data


def conditional(
    *, volatile: Volatile | None = None, keep: bool = True
) -> Callable[[Callable[..., Response]], Callable[..., Response]]:
    """Decorate a DRF read action (a method): ETag and Cache-Control on its 200s, 304 for a
    matching If-None-Match; with `keep`, the answer's data kept in this process under its tag."""

    def decorate(view: Callable[..., Response]) -> Callable[..., Response]:
        @functools.wraps(view)
        def wrapper(self: Any, request: Request, *args: Any, **kwargs: Any) -> Response:
            tag = answer_tag(request, volatile)
            if tag in _if_none_match(request):
                return _tagged(Response(status=status.HTTP_304_NOT_MODIFIED), tag)
            data = _recall(tag) if keep else None
            if data is not None:
                return _tagged(Response(data), tag)
            response = view(self, request, *args, **kwargs)
            if response.status_code != status.HTTP_200_OK:
                return response
            if keep:
                _remember(tag, response.data)
            return _tagged(response, tag)

        wrapper.conditional_read = ConditionalRead(volatile)  # type: ignore[attr-defined]
        return wrapper

    return decorate


def conditional_view(
    *, volatile: Volatile | None = None
) -> Callable[[Callable[..., HttpResponse]], Callable[..., HttpResponse]]:
    """The same for a plain Django view function answering JSON (a wall screen's data): ETag
    and Cache-Control on its 200s, 304 for a matching If-None-Match. Put it below the decorators
    that check access, so it runs after them."""

    def decorate(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @functools.wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            tag = answer_tag(request, volatile)
            if tag in _if_none_match(request):
                return _tagged(HttpResponseNotModified(), tag)
            response = view(request, *args, **kwargs)
            if response.status_code != status.HTTP_200_OK:
                return response
            return _tagged(response, tag)

        return wrapper

    return decorate


@dataclass(frozen=True)
class ConditionalRead:
    """What `ConditionalReadMiddleware` needs to know of a `@conditional` action."""

    volatile: Volatile | None


class ConditionalReadMiddleware:
    """A signed-in browser's repeat read answered 304 before DRF (see the module's docstring).

    Only where DRF would come to the same answer: a GET with If-None-Match and no Authorization
    header (a token is DRF's to check), resolved to a `@conditional` viewset action whose view
    takes session log-ins and asks for nothing but a signed-in user, and an active user signed
    in by the session. Put it after AuthenticationMiddleware.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(
        self, request: HttpRequest, view: Callable[..., Any], args: Any, kwargs: Any
    ) -> HttpResponse | None:
        if request.method != "GET" or "Authorization" in request.headers:
            return None
        match = _if_none_match(request)
        read = _conditional_read(view) if match else None
        if read is None or not (request.user.is_authenticated and request.user.is_active):
            return None
        tag = answer_tag(request, read.volatile)
        return _tagged(HttpResponseNotModified(), tag) if tag in match else None


def _conditional_read(view: Callable[..., Any]) -> ConditionalRead | None:
    """The `@conditional` GET action `view` (a viewset's view function) runs, when the session
    and a signed-in user are all its view asks for; else None."""
    viewset = getattr(view, "cls", None)
    action = (getattr(view, "actions", None) or {}).get("get")
    if viewset is None or action is None:
        return None
    read = getattr(getattr(viewset, action, None), "conditional_read", None)
    if not isinstance(read, ConditionalRead):
        return None
    if list(viewset.permission_classes) != [IsAuthenticated]:
        return None
    if SessionAuthentication not in viewset.authentication_classes:
        return None
    return read


def forget_kept_answers() -> None:
    """Drop every kept answer (tests)."""
    with _kept_lock:
        _kept.clear()


def _tagged(response: _Answer, tag: str) -> _Answer:
    response["ETag"] = tag
    response["Cache-Control"] = CACHE_CONTROL
    return response


def _if_none_match(request: HttpRequest | Request) -> set[str]:
    header = request.headers.get("If-None-Match", "")
    return {part.strip().removeprefix("W/") for part in header.split(",") if part.strip()}


def _recall(tag: str) -> Any:
    with _kept_lock:
        data = _kept.get(tag)
        if data is not None:
            _kept.move_to_end(tag)
        return data


def _remember(tag: str, data: Any) -> None:
    with _kept_lock:
        _kept[tag] = data
        _kept.move_to_end(tag)
        while len(_kept) > KEPT_ANSWERS:
            _kept.popitem(last=False)
