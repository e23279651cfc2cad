"""CI: every `manage.py` command of the README, as written, on a fresh clone (SPEC §19.1).

In a fresh clone of this checkout's last commit:
1. before `make run` ever ran, a command says in one line that SECRET_KEY is missing (no
   traceback) and how to get one;
2. `make run` starts the demo (and writes the development .env); beside it every command of the
   README runs as written and exits 0, the token example included (its curl answers), and the
   demo's agents keep their names;
3. with the demo stopped, every command runs again: exit 0 or 1 (those that need Freshservice
   say it is not configured; `wall_screen create` refuses the name the first pass took, exit 2),
   never a traceback, and nothing changes: the same agent names, no sync run added.

The `crontab` lines are left out: they edit the user's real crontab (tests/test_crontab covers
them). The clone shares this checkout's .venv (a fresh one costs minutes of installing).
Run from the project folder after the venv exists: .venv/bin/python .ci/readme_commands.py
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests
from make_run import start_make_run, stop_make_run  # .ci/make_run.py

ROOT = Path(__file__).resolve().parent.parent
COMMAND = ".venv/bin/python manage.py "
# Prints the agents, their names, and how many sync runs are stored.
STATE = (
    "from tickets.models import FreshworksUserMapping as M, SyncRun; "
    "print(sorted((m.freshworks_user_id, m.display_name) for m in M.objects.all())); "
    "print(SyncRun.objects.count())"
)


def readme_commands() -> list[str]:
    """Every `.venv/bin/python manage.py …` line of the README's sh blocks, but crontab's."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    lines = []
    for block in re.findall(r"```sh\n(.*?)```", text, re.DOTALL):
        for line in block.splitlines():
            if line.startswith(COMMAND) and not line.startswith(COMMAND + "crontab"):
                lines.append(line)
    return lines


class Clone:
    def __init__(self, where: Path) -> None:
        self.path = where / "yam"
        git = ["git", "clone", "-q", str(ROOT), str(self.path)]
        subprocess.run(git, check=True)  # noqa: S603 - git found on PATH
        (self.path / ".venv").symlink_to(ROOT / ".venv")
        # The shared venv is installed: make must not see the clone's newer requirement files.
        installed = (ROOT / ".venv" / ".installed").stat().st_mtime
        for name in ("requirements.txt", "requirements-dev.txt"):
            os.utime(self.path / name, (installed - 60, installed - 60))
        self.env = {
            "PATH": os.environ["PATH"],
            "HOME": str(Path.home()),
            "LANG": os.environ.get("LANG", "C.UTF-8"),
        }
        self.failures: list[str] = []

    def run(self, line: str) -> subprocess.CompletedProcess:
        return subprocess.run(  # noqa: S603 - the README's own lines
            shlex.split(line, comments=True),
            cwd=self.path,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=600,
        )

    def check(self, line: str, *, allowed: set[int], expect: str = "") -> str:
        done = self.run(line)
        output = done.stdout + done.stderr
        problems = []
        if done.returncode not in allowed:
            problems.append(f"exit {done.returncode}, expected {sorted(allowed)}")
        if "Traceback" in output:
            problems.append("a traceback")
        if expect and expect not in output:
            problems.append(f"no {expect!r}")
        verdict = "ok  " if not problems else "FAIL"
        sys.stdout.write(f"  {verdict} {line}  -> exit {done.returncode}\n")
        if problems:
            self.failures.append(f"{line}: {', '.join(problems)}\n{output}")
        return output

    def state(self) -> str:
        return self.run(f'{COMMAND}shell -c "{STATE}"').stdout


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_demo(clone: Clone, port: int) -> subprocess.Popen:
    server, printed = start_make_run(cwd=clone.path, env=clone.env | {"PORT": str(port)})
    if "Password:" not in printed:
        stop_make_run(server)
        raise SystemExit(f"make run did not start the demo:\n{printed}")
    return server


def check_curl(clone: Clone, token: str, port: int) -> None:
    """The README's curl line with the token and the port filled in: a closures answer."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    curl = next(line for line in text.splitlines() if line.startswith("curl "))
    curl = curl.replace("<key>", token).replace("127.0.0.1:8000", f"127.0.0.1:{port}")
    if shutil.which("curl"):
        clone.check(f"{curl} --fail --silent", allowed={0}, expect='"closures"')
        return
    words = shlex.split(curl)  # no curl here: the same request
    name, value = words[words.index("-H") + 1].split(": ", 1)
    if '"closures"' not in requests.get(words[-1], headers={name: value}, timeout=30).text:
        clone.failures.append(f"{curl}: no closures in the answer")


def main() -> int:
    commands = readme_commands()
    where = Path(tempfile.mkdtemp(prefix="readme-commands-"))
    server = None
    try:
        clone = Clone(where)
        sys.stdout.write("before make run ever ran (no .env):\n")
        clone.check(commands[0], allowed={1}, expect="ImproperlyConfigured: SECRET_KEY is not set.")

        port = free_port()
        server = start_demo(clone, port)
        sys.stdout.write(f"beside the running demo (make run on port {port}):\n")
        for line in commands:
            output = clone.check(line, allowed={0})
            if "drf_create_token" in line:
                token = re.search(r"Generated token (\w+)", output)
                check_curl(clone, token.group(1) if token else "none", port)
        before = clone.state()
        if "Agent " in before.splitlines()[0] or before.startswith("[]"):
            clone.failures.append(f"the demo's agents lost their names:\n{before}")
        stop_make_run(server)
        server = None
        state_file = clone.path / "var" / "demo.json"
        deadline = time.monotonic() + 30  # the site stops its hourly sync and stand-in first
        while state_file.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        if state_file.exists():
            clone.failures.append("var/demo.json outlived the demo")

        sys.stdout.write("with the demo stopped:\n")
        for line in commands:
            if "wall_screen create" in line:  # the name was taken by the first pass: refused
                clone.check(line, allowed={2}, expect="already exists")
            else:
                clone.check(line, allowed={0, 1})
        if clone.state() != before:
            clone.failures.append(f"the commands changed the demo's data:\n{before}")
    finally:
        if server is not None:
            stop_make_run(server)
        shutil.rmtree(where, ignore_errors=True)

    for failure in clone.failures:
        sys.stdout.write(f"\n{failure}\n")
    verdict = "FAILED" if clone.failures else "ok"
    sys.stdout.write(f"README commands on a fresh clone: {len(commands)} commands, {verdict}\n")
    return 1 if clone.failures else 0


if __name__ == "__main__":
    sys.exit(main())
