"""`manage.py runsite [--port N]` — what `make run` serves: the real account, or the demo.

With FRESH_API configured (and DEMO_MODE not forced) it is `runserver 127.0.0.1:PORT`. Without
it, the stand-in Freshservice starts in this process (`demo.bootstrap`), the login is printed,
and runserver runs without its autoreloader, which would restart the process and lose the
stand-in.
"""

from __future__ import annotations

import argparse
import os
import socket
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser

from demo.bootstrap import DemoSite, start_demo

DEFAULT_PORT = 8000


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
        if settings.FRESH_API and not settings.DEMO_MODE:
            call_command("runserver", address)
            return

        if not _port_is_free(port):
            raise CommandError(
                f"Port {port} is already in use: stop what is using it, or choose another "
                f"(PORT=9000 make run)."
            )
        demo = start_demo(port=port, stdout=self.stdout)
        try:
            self._announce(demo)
            call_command("runserver", address, use_reloader=False)
        finally:
            demo.stop()

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
            "  To use your Freshservice account instead, set FRESH_API, FRESH_ENDPOINT and",
            "  FRESH_GROUP_ID in .env (see .env.example) and run `make run` again.",
            rule,
        ]
        for line in lines:
            self.stdout.write(line)
