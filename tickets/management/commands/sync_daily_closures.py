"""manage.py sync_daily_closures — the hourly import, and backfills of a date range."""

from __future__ import annotations

import argparse
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from types import FrameType
from typing import Any, TextIO, cast

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from tickets.dates import DateRangeError, check_range
from tickets.management.arguments import BAD_ARGUMENTS, iso_date
from tickets.models import SyncRun
from tickets.services.sync import (
    SyncFailed,
    SyncProgress,
    SyncRefused,
    SyncRequestError,
    sync_closures,
)
from tickets.wording import backfill_text, describe_sync, progress_text, resumed_text


def seconds(raw: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        value = -1
    # The sync's lease outlasts the longest wait, so a killed backfill blocks others that long.
    if not 0 <= value <= 3_600:
        raise argparse.ArgumentTypeError(f"{raw!r} is not a number of seconds from 0 to 3600")
    return value


# Code a stop must not break into: an interruption inside a psycopg call can leave its
# connection mid-command ("another command is already in progress"), and then the lease cannot be
# freed on the way out.
_DATABASE_MODULES = ("psycopg", "django.db", "sqlite3")
_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def _in_database_call(frame: FrameType | None) -> bool:
    while frame is not None:
        module = frame.f_globals.get("__name__", "")
        if module.startswith(_DATABASE_MODULES):
            return True
        frame = frame.f_back
    return False


class _Stop:
    """Ctrl-C (SIGINT) and `kill` (SIGTERM) stop the sync by raising KeyboardInterrupt, so it
    frees its lease on the way out instead of blocking the next run until the lease expires
    (only SIGKILL leaves it). One that arrives during a database call is kept until the call is
    done and raised at the sync's next page or wait (`check`); if the sync finishes first, it
    has finished."""

    def __init__(self) -> None:
        self.asked = False

    def interrupt(self, signum: int, frame: FrameType | None) -> None:
        if _in_database_call(frame):
            self.asked = True
        else:
            raise KeyboardInterrupt

    def check(self) -> None:
        if self.asked:
            raise KeyboardInterrupt

    @contextmanager
    def on_signals(self) -> Iterator[None]:
        if threading.current_thread() is not threading.main_thread():
            yield  # only the main thread may handle signals
            return
        previous = {number: signal.signal(number, self.interrupt) for number in _STOP_SIGNALS}
        try:
            yield
        finally:
            for number, handler in previous.items():
                signal.signal(number, handler)


class Command(BaseCommand):
    help = (
        "Import ticket closures from Freshservice for today, a date (--date) or a range "
        "(--from/--to). Respects the per-date rate limit unless --force. Exit status: 0 synced "
        "or refused (rate limit, another sync running), 1 failed, 2 bad arguments."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--date", type=iso_date, help="the day to sync (default today)")
        parser.add_argument("--from", dest="first", type=iso_date, help="first day of a range")
        parser.add_argument("--to", dest="last", type=iso_date, help="last day of a range")
        parser.add_argument("--force", action="store_true", help="skip the rate limit")
        parser.add_argument(
            "--max-wait",
            type=seconds,
            help="most seconds to wait in total on Freshservice's Retry-After and its budget "
            "reserve (default FRESH_MAX_WAIT_SECONDS)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        first, last = self._dates(options)
        progress = None
        if first != last:
            progress = tqdm(
                desc=f"Fetching {first}..{last}",
                unit=" pages",
                # The raw stream: OutputWrapper would end every redraw with a newline.
                file=cast(TextIO, self.stderr._out),
                mininterval=0,
                dynamic_ncols=True,
            )

        stop = _Stop()
        announced = set()

        def on_progress(step: SyncProgress) -> None:
            stop.check()
            # Said once each: that the sync became a backfill (SPEC §15), or that it resumes one.
            if step.resumed_from_page is not None and "resumed" not in announced:
                announced.add("resumed")
                self._say(progress, resumed_text(step.resumed_from_page))
            elif step.backfill and not announced:
                announced.add("backfill")
                self._say(progress, backfill_text(step.pages))
            if progress is not None:
                progress.update(step.pages - progress.n)
                progress.set_postfix_str(progress_text(step), refresh=False)

        def on_wait(seconds: float, reason: str) -> None:
            stop.check()
            # Freshservice asked for a pause (Retry-After) or its budget is nearly spent (the
            # reserve kept for the account's other integrations): say why the sync stands still.
            line = f"Waiting {seconds:g} s: {reason}."
            if progress is not None:
                progress.set_postfix_str(f"waiting {seconds:g} s")
                progress.write(line, file=cast(TextIO, self.stderr._out))
            else:
                self.stderr.write(line)

        try:
            with stop.on_signals():
                result = sync_closures(
                    first=first,
                    last=last,
                    trigger=SyncRun.Trigger.FORCE if options["force"] else SyncRun.Trigger.COMMAND,
                    force=options["force"],
                    max_wait=options["max_wait"],
                    on_progress=on_progress,
                    on_wait=on_wait,
                )
        except KeyboardInterrupt:
            # The sync's own clean-up ran on the way out: its lease is free for the next run.
            raise CommandError(
                "Stopped before the sync finished. A backfill keeps the pages it wrote: run the "
                "same command again to resume it."
            ) from None
        except SyncRefused as refusal:
            if isinstance(refusal, SyncRequestError):
                raise CommandError(str(refusal), returncode=BAD_ARGUMENTS) from None
            self.stdout.write(self.style.WARNING(describe_sync(refusal)))
            return
        except SyncFailed as failure:
            raise CommandError(describe_sync(failure)) from None
        finally:
            if progress is not None:
                progress.close()
        self.stdout.write(self.style.SUCCESS(describe_sync(result)))

    def _say(self, progress: tqdm | None, line: str) -> None:
        if progress is not None:
            progress.write(line, file=cast(TextIO, self.stderr._out))
        else:
            self.stderr.write(line)

    def _dates(self, options: dict[str, Any]) -> tuple[date | None, date | None]:
        if options["date"] and (options["first"] or options["last"]):
            raise CommandError(
                "Give either --date or --from/--to, not both.", returncode=BAD_ARGUMENTS
            )
        if bool(options["first"]) != bool(options["last"]):
            raise CommandError("--from and --to go together.", returncode=BAD_ARGUMENTS)
        first = options["first"] or options["date"]
        last = options["last"] or options["date"]
        if first is not None:
            try:
                check_range(first, last)
            except DateRangeError as exc:
                raise CommandError(str(exc), returncode=BAD_ARGUMENTS) from None
        return first, last
