"""Faults for tests and benchmarks, in front of the stand-in's API; the demo never uses them.

`Faults(api)` answers like `api` (same `handle`), except for the faults queued on it:
`fail_next`, `fail_on_page`, `slow_next`, `invalid_json_next`, `drop_connection_next`, and
`reset` to clear them. A dropped connection is `handle` returning None: the HTTP server closes
the connection unanswered, the requests-mock adapter raises a ConnectionError.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass

from demo.freshservice.api import ApiRequest, ApiResponse, FreshserviceApi, list_page

# What a body cut short looks like: the start of a list page.
TRUNCATED_JSON = b'{"tickets": [{"id": 1, "subj'


@dataclass(frozen=True)
class _Fault:
    kind: str  # "status", "slow", "invalid_json" or "drop"
    status: int = 0
    retry_after: int | None = None
    seconds: float = 0.0


class Faults:
    """The faults the next requests meet, queued in order; every method is thread-safe."""

    def __init__(self, api: FreshserviceApi) -> None:
        self.api = api
        self._lock = threading.Lock()
        self._queue: deque[_Fault] = deque()
        self._pages: dict[int, int] = {}

    def fail_next(self, status: int, times: int = 1, *, retry_after: int | None = None) -> None:
        """Answer the next `times` requests with `status` (and `Retry-After` when given)."""
        with self._lock:
            self._queue.extend(
                _Fault("status", status=status, retry_after=retry_after) for _ in range(times)
            )

    def fail_on_page(self, page: int, status: int) -> None:
        """Answer every request for list page `page` with `status` until `reset()`."""
        with self._lock:
            self._pages[page] = status

    def slow_next(self, seconds: float) -> None:
        """Hold the next answer back for `seconds` (then answer it normally)."""
        with self._lock:
            self._queue.append(_Fault("slow", seconds=seconds))

    def invalid_json_next(self) -> None:
        """Answer the next request 200 with a body that is not JSON."""
        with self._lock:
            self._queue.append(_Fault("invalid_json"))

    def drop_connection_next(self) -> None:
        """Close the connection of the next request without answering."""
        with self._lock:
            self._queue.append(_Fault("drop"))

    def reset(self) -> None:
        with self._lock:
            self._queue.clear()
            self._pages.clear()

    def handle(self, request: ApiRequest) -> ApiResponse | None:
        """The API's answer with the next fault applied; None: drop the connection."""
        with self._lock:
            fault = self._queue.popleft() if self._queue else None
            page_status = self._pages.get(list_page(request) or 0)
        if fault is not None:
            if fault.kind == "drop":
                return None
            if fault.kind == "invalid_json":
                return ApiResponse(200, TRUNCATED_JSON, self.api.headers(cost=0))
            if fault.kind == "status":
                return self.api.error(fault.status, retry_after=fault.retry_after)
            time.sleep(fault.seconds)  # "slow": then answered as usual
        if page_status is not None:
            return self.api.error(page_status)
        return self.api.handle(request)
