"""`manage.py runsite [--port N]` — what `make run` serves: the real account, or the demo.

With FRESH_API configured (and DEMO_MODE not forced) it is `runserver 127.0.0.1:PORT`. Without
it, the stand-in Freshservice starts in this process (`demo.bootstrap`), the login is printed,
and runserver runs without its autoreloader, which would restart the process and lose the
stand-in. While it serves, `var/demo.json` names the stand-in, so that `manage.py` commands run
beside it sync the demo (`tickets.freshservice_config.publish_demo_config`).

On a machine with no `.env` yet it first writes one for development (DEBUG=1 and a SECRET_KEY
of its own), so that the README's `manage.py` commands run as written (SPEC §19.1).
"""

from __future__ import annotations

import argparse
import os
import secrets
import signal
import socket
import sys
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser

from demo.bootstrap import DemoSite, start_demo
from tickets.freshservice_config import publish_demo_config

DEFAULT_PORT = 8000

DEVELOPMENT_ENV = """\
# Written by `make run` for this development machine, so that manage.py commands run as the
# README shows: DEBUG on (plain HTTP, local hosts only) and a secret key of this machine's own.
# Not for production: there, start from .env.example (DEBUG=0, your own SECRET_KEY).
DEBUG=1
SECRET_KEY={secret_key}
"""


def write_development_env(path: Path) -> bool:
    """Write `path` (the project's .env) for development unless it exists; True if written."""
    try:
        with path.open("x", encoding="utf-8") as file:
            file.write(DEVELOPMENT_ENV.format(secret_key=secrets.token_urlsafe(50)))
    except FileExistsError:
        return False
    return True


def port_number(raw: str) -> int:
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if not 1 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"{raw!r} is not a port number (1-65535)")
    return value


def _port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        # As runserver binds: a port left in TIME_WAIT by the last run is free to it.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


class Command(BaseCommand):
    help = (
        "Serve the site on 127.0.0.1:PORT. With FRESH_API set, against that Freshservice "
        "account; without it (or with DEMO_MODE=1), against the built-in stand-in with demo "
        "data, printing a login."
    )
    requires_system_checks: list[str] = []  # runserver runs them

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--port",
            type=port_number,
            default=None,
            help=f"the port to serve on (default: $PORT, else {DEFAULT_PORT})",
        )

    def handle(self, *args: Any, port: int | None, **options: Any) -> None:
        port = port or self._port_from_environment()
        address = f"127.0.0.1:{port}"
        # ENV_FILE names another file (or none, as the tests do): leave that choice alone.
        env_file = Path(settings.BASE_DIR) / ".env"
        if "ENV_FILE" not in os.environ and write_development_env(env_file):
            self.stdout.write(
                f"Wrote {env_file} for development (DEBUG=1 and a SECRET_KEY of its own) so "
                "that manage.py commands run beside the site."
            )
        if settings.FRESH_API and not settings.DEMO_MODE:
            call_command("runserver", address)
            return

        if not _port_is_free(port):
            raise CommandError(
                f"Port {port} is already in use: stop what is using it, or choose another "
                f"(PORT=9000 make run)."
            )
        # A stop by SIGTERM (a service manager, a CI script) cleans up as Ctrl-C does: the
        # stand-in stops and var/demo.json goes.
        previous = signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        demo = start_demo(port=port, stdout=self.stdout)
        try:
            with publish_demo_config(demo.config):
                self._announce(demo)
                call_command("runserver", address, use_reloader=False)
        finally:
            demo.stop()
            signal.signal(signal.SIGTERM, previous)

    def _port_from_environment(self) -> int:
        raw = os.environ.get("PORT", "").strip()
        if not raw:
            return DEFAULT_PORT
        try:
            return port_number(raw)
        except argparse.ArgumentTypeError as exc:
            raise CommandError(f"PORT={raw!r} is not valid: {exc}") from None

    def _announce(self, demo: DemoSite) -> None:
        rule = "=" * 72
        lines = [
            rule,
            self.style.SUCCESS("Demo mode — the data is generated, no Freshservice account used."),
            f"  Site:      {demo.url}",
            f"  Log in:    {demo.username}",
            f"  Password:  {demo.password}   (new on every start)",
            f"  Admin:     {demo.admin_url}",
            "",
            "  manage.py commands run beside it (the README's) sync this demo too.",
            "  To use your Freshservice account instead, set FRESH_API, FRESH_ENDPOINT and",
            "  FRESH_GROUP_ID in .env (see .env.example) and run `make run` again.",
            rule,
        ]
        for line in lines:
            self.stdout.write(line)
