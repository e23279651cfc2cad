"""The IDs.txt parser: `Name - ID` lines that name each Freshservice agent (SPEC §7).

Plain Python, no Django: the tickets service matches the entries to local users.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

SEPARATOR = " - "
# FreshworksUserMapping.freshworks_username is a CharField(max_length=200).
MAX_NAME_LENGTH = 200
# FreshworksUserMapping.freshworks_user_id is a BigIntegerField.
MAX_ID = 2**63 - 1
FORMAT_HINT = "expected 'Name - ID', e.g. 'Oscar S. - 12345'"

# ASCII digits only: int() would also accept '+5', '1_000' and non-Latin digits.
_DIGITS = re.compile(r"[0-9]+")


@dataclass(frozen=True)
class IdEntry:
    line: int
    name: str
    freshworks_user_id: int


@dataclass(frozen=True)
class IdProblem:
    line: int
    text: str
    reason: str


@dataclass(frozen=True)
class IdsFile:
    entries: list[IdEntry]
    problems: list[IdProblem]


class IdsFileError(Exception):
    """The IDs file cannot be used at all; the message is one line a person can act on."""


class IdsFileMissing(IdsFileError):
    """The IDs file does not exist (no error once Freshservice's agent list has loaded)."""


def parse_ids(text: str) -> IdsFile:
    """Parse the text of an IDs file.

    Blank lines and `#` comments are skipped. A malformed line or a repeated ID becomes an
    `IdProblem` with its 1-based line number and is skipped (the first line with an ID wins);
    every other line still loads.
    """
    text = text.removeprefix("\ufeff")
    # Split on line feeds only (after folding CRLF and CR), so line numbers match editors';
    # str.splitlines() would also split on form feeds and Unicode separators.
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    entries: list[IdEntry] = []
    problems: list[IdProblem] = []
    first_seen: dict[int, IdEntry] = {}
    for number, raw in enumerate(lines, start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        entry_or_reason = _parse_line(number, line)
        if isinstance(entry_or_reason, str):
            problems.append(IdProblem(line=number, text=line, reason=entry_or_reason))
            continue
        entry = entry_or_reason
        earlier = first_seen.get(entry.freshworks_user_id)
        if earlier is not None:
            reason = (
                f"duplicate ID {entry.freshworks_user_id}, already given on line {earlier.line} "
                f"({earlier.name}); the first line wins"
            )
            problems.append(IdProblem(line=number, text=line, reason=reason))
            continue
        first_seen[entry.freshworks_user_id] = entry
        entries.append(entry)
    return IdsFile(entries=entries, problems=problems)


def _parse_line(number: int, line: str) -> IdEntry | str:
    """One stripped, non-comment line: the entry, or the reason it is malformed."""
    name, separator, raw_id = line.rpartition(SEPARATOR)
    if not separator:
        return FORMAT_HINT
    name = " ".join(name.split())
    raw_id = raw_id.strip()
    if not name:
        return f"the name before ' - ' is empty; {FORMAT_HINT}"
    if len(name) > MAX_NAME_LENGTH:
        return f"the name is longer than {MAX_NAME_LENGTH} characters"
    if not raw_id:
        return f"the ID after ' - ' is missing; {FORMAT_HINT}"
    if not _DIGITS.fullmatch(raw_id):
        return f"the ID {raw_id!r} is not a positive whole number"
    value = int(raw_id)
    if value < 1:
        return f"the ID {raw_id!r} is not a positive whole number"
    if value > MAX_ID:
        return f"the ID {raw_id!r} is too large for a Freshservice ID"
    return IdEntry(line=number, name=name, freshworks_user_id=value)


def read_ids_file(path: str | os.PathLike[str]) -> IdsFile:
    """Read and parse the IDs file at `path`.

    Raises `IdsFileError` when the file is missing (`IdsFileMissing`), unreadable, not UTF-8,
    or has no valid line, so the caller can refuse to change anything.
    """
    file = Path(path)
    try:
        data = file.read_bytes()
    except FileNotFoundError:
        raise IdsFileMissing(
            f"IDs file {file} does not exist; create it with lines like 'Oscar S. - 12345' "
            "or point FRESH_IDS_FILE at it"
        ) from None
    except IsADirectoryError:
        raise IdsFileError(f"IDs file {file} is a directory, not a file") from None
    except OSError as exc:
        raise IdsFileError(f"cannot read IDs file {file}: {exc.strerror or exc}") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise IdsFileError(
            f"IDs file {file} is not UTF-8 text (bad byte at offset {exc.start}); save it as UTF-8"
        ) from None
    parsed = parse_ids(text)
    if not parsed.entries:
        if parsed.problems:
            first = parsed.problems[0]
            detail = (
                f"{len(parsed.problems)} malformed line(s), the first on line {first.line}: "
                f"{first.reason}"
            )
        else:
            detail = "it is empty or holds only comments"
        raise IdsFileError(f"IDs file {file} has no valid 'Name - ID' line; {detail}")
    return parsed
