"""The stand-in Freshservice over HTTP: serves an API's answers on 127.0.0.1, a free port.

`FreshserviceServer(api)` runs a threading HTTP server in a daemon thread; each request becomes
an `ApiRequest` for `api.handle` (a `FreshserviceApi`, or `Faults` in front of one), and its
`ApiResponse` is written back; None closes the connection unanswered. Demo mode serves the
site's data this way, and the tests and benchmarks drive the real client against it.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Protocol

from demo.freshservice.api import API_PREFIX, ApiRequest, ApiResponse

logger = logging.getLogger("demo.freshservice")


class Answers(Protocol):
    def handle(self, request: ApiRequest) -> ApiResponse | None: ...


class FreshserviceServer:
    """Serves `api` on 127.0.0.1 (a free port) from a daemon thread.

    `calls` counts the HTTP requests received (faulted ones included); `paths` keeps the last
    ones (path and query). Use as a context manager, or `start()` and `stop()`.
    """

    def __init__(self, api: Answers) -> None:
        self.api = api
        self.calls = 0
        self.paths: deque[str] = deque(maxlen=1000)
        self.endpoint: str | None = None
        self.port: int | None = None
        self._lock = threading.Lock()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> str:
        """Listen on a free loopback port; returns the API base, `http://127.0.0.1:PORT/api/v2/`."""
        if self._server is not None:
            raise RuntimeError("the stand-in Freshservice is already running")
        server = _Server(("127.0.0.1", 0), _Handler)
        server.owner = self
        self._server = server
        self.port = server.server_address[1]
        self.endpoint = f"http://127.0.0.1:{self.port}{API_PREFIX}"
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"freshservice-stand-in-{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self.endpoint

    def stop(self) -> None:
        """Stop listening and end kept-alive connections; idempotent."""
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        server.server_close()
        server.close_open_connections()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> FreshserviceServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def _handle(self, handler: _Handler) -> None:
        with self._lock:
            self.calls += 1
            self.paths.append(handler.path)
        _drain_body(handler)
        request = ApiRequest(
            method=handler.command,
            url=f"http://127.0.0.1:{self.port}{handler.path}",
            authorization=handler.headers.get("Authorization"),
        )
        response = self.api.handle(request)
        if response is None:
            handler.close_connection = True
            return
        try:
            handler.send_response(response.status)
            handler.send_header("Content-Length", str(len(response.body)))
            for name, value in response.headers.items():
                handler.send_header(name, value)
            handler.end_headers()
            handler.wfile.write(response.body)
        except (BrokenPipeError, ConnectionResetError):
            # The client gave up (a timeout); it has retried or failed on its own.
            handler.close_connection = True


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    owner: FreshserviceServer

    def __init__(self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler]) -> None:
        super().__init__(address, handler)
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._open_lock:
            self._open.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._open_lock:
            self._open.discard(request)
        super().shutdown_request(request)

    def close_open_connections(self) -> None:
        """End kept-alive connections too, so a stopped server answers nobody."""
        with self._open_lock:
            for request in list(self._open):
                with contextlib.suppress(OSError):
                    request.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that hung up mid-answer is no news; anything else is a stand-in bug.
        logger.debug("Stand-in connection from %s failed", client_address, exc_info=True)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as requests' pooled session expects
    disable_nagle_algorithm = True  # headers and body go in two writes; don't stall the second
    server: _Server

    def do_GET(self) -> None:
        self.server.owner._handle(self)

    do_POST = do_PUT = do_PATCH = do_DELETE = do_GET

    def log_message(self, format: str, *args: Any) -> None:
        pass  # quiet: the tests and the demo's console need no access log


def _drain_body(handler: BaseHTTPRequestHandler) -> None:
    length = handler.headers.get("Content-Length")
    if length and length.isdigit():
        handler.rfile.read(int(length))
