"""Logging helpers referenced from LOGGING in settings."""

from __future__ import annotations

import logging
import sys
from typing import IO


class CurrentStderrHandler(logging.StreamHandler):
    """A stderr handler that writes to `sys.stderr` as it is when each record is emitted.

    The same as StreamHandler in a server or a command; under a test runner that swaps stderr per
    test, records land in the current test's output instead of a stream closed long ago.
    """

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property
    def stream(self) -> IO[str]:
        return sys.stderr

    @stream.setter
    def stream(self, value: IO[str]) -> None:
        pass  # always the current sys.stderr


class KeyHidingFormatter(logging.Formatter):
    """The plain formatter, with the Freshservice API key hidden in every form in the whole line
    (message and traceback): the last guard for whatever a library logs (SPEC §19.4)."""

    def format(self, record: logging.LogRecord) -> str:
        from tickets.freshservice_config import without_key  # settings are loaded by now

        return without_key(super().format(record))
