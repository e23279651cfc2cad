"""CSV downloads of closures, shared by the API and the admin."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator

from django.http import StreamingHttpResponse

from tickets.selectors import ClosureRow

HEADER = ["date", "freshworks_user_id", "name", "username", "tickets_closed"]


def closures_csv_response(rows: Iterable[ClosureRow], *, filename: str) -> StreamingHttpResponse:
    """One line per agent per day, streamed as a download called `filename`."""
    response = StreamingHttpResponse(_lines(rows), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _lines(rows: Iterable[ClosureRow]) -> Iterator[str]:
    writer = csv.writer(_Line())
    yield writer.writerow(HEADER)
    for row in rows:
        yield writer.writerow(
            [
                row.date.isoformat(),
                row.freshworks_user_id,
                _cell(row.name),
                _cell(row.username or ""),
                row.tickets_closed,
            ]
        )


class _Line:
    """csv.writer's file: hands each written line back instead of storing it."""

    def write(self, line: str) -> str:
        return line


def _cell(text: str) -> str:
    # A name starting like a formula would run as one when the file is opened in a spreadsheet.
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text
