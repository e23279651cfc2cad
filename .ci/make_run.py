"""CI helper: `make run` started as the README says, until it serves; and stopped again."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path


def start_make_run(
    *, cwd: Path, env: dict[str, str], within: float = 300
) -> tuple[subprocess.Popen, str]:
    """`make run` in its own process group; returns it and what it printed once it serves."""
    server = subprocess.Popen(
        ["make", "run"],  # noqa: S607 - the README's own command, found on PATH
        cwd=cwd, env=env | {"PYTHONUNBUFFERED": "1"},
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
    )  # fmt: skip
    output = []
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        line = server.stdout.readline()
        output.append(line)
        if "Quit the server" in line or not line:
            break
    return server, "".join(output)


def stop_make_run(server: subprocess.Popen) -> None:
    """SIGTERM to its whole group (make, the shell, the site), as Ctrl-C would reach them."""
    os.killpg(server.pid, signal.SIGTERM)
    server.wait(30)
