"""Real servers for tests: a free loopback port, and gunicorn serving the project."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests

BASE_DIR = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def gunicorn(env: dict[str, str], *, workers: int, log_path: Path) -> Iterator[str]:
    """gunicorn on a free port with exactly `env`; yields its URL once the database answers.

    Its stderr goes to `log_path`, which a failure to start shows.
    """
    port = free_port()
    with log_path.open("wb") as log:
        server = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "yam.wsgi:application",
             "--bind", f"127.0.0.1:{port}", "--workers", str(workers)],
            env=env,
            cwd=BASE_DIR,
            stdout=subprocess.DEVNULL,
            stderr=log,
        )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_it_answers(server, url, log_path)
        yield url
    finally:
        server.terminate()
        try:
            server.wait(15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(5)


def _wait_until_it_answers(server: subprocess.Popen, url: str, log_path: Path) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"gunicorn exited ({server.returncode}):\n{log_path.read_text()}")
        try:
            # 503 "stale" before the first sync is an answer too: the database is reachable.
            if requests.get(f"{url}/healthz", timeout=2).json()["database"]:
                return
        except (requests.ConnectionError, requests.Timeout, ValueError):
            pass
        time.sleep(0.1)
    pytest.fail(f"gunicorn did not answer within 20 s:\n{log_path.read_text()}")
