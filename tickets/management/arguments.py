"""What the commands share about their arguments: the exit status of bad ones, and dates."""

from __future__ import annotations

import argparse
from datetime import date

BAD_ARGUMENTS = 2


def iso_date(raw: str) -> date:
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{raw!r} is not a date in the form YYYY-MM-DD") from None
