"""A Freshservice stand-in on requests-mock: a world of tickets behind the documented list call.

It honours `updated_since` (every ticket updated at or after it), pages 100 at a time with
`link: <...>; rel="next"` headers, and records every `updated_since` it was asked for.
"""

from __future__ import annotations

from datetime import datetime
from urllib.parse import parse_qs, urlencode, urlsplit

from tests.conftest import ENDPOINT

TICKETS_URL = f"{ENDPOINT}tickets"


class FakeFreshservice:
    def __init__(self, requests_mock, *, per_page: int = 100) -> None:
        self.tickets: dict[int, dict] = {}
        self.per_page = per_page
        self.asked_since: list[datetime] = []
        self.fail_on_page: int | None = None
        self.before_answer = lambda: None  # a test may hold an answer back here
        self.matcher = requests_mock.get(TICKETS_URL, json=self._respond)

    def put(self, *tickets: dict) -> None:
        """Add or replace tickets (as the vendor would return them)."""
        for ticket in tickets:
            self.tickets[ticket["id"]] = ticket

    @property
    def calls(self) -> int:
        return self.matcher.call_count

    def _respond(self, request, context) -> dict:
        query = parse_qs(urlsplit(request.url).query)
        page = int(query.get("page", ["1"])[0])
        since = datetime.fromisoformat(query["updated_since"][0])
        if page == 1:
            self.asked_since.append(since)
        self.before_answer()
        if page == self.fail_on_page:
            context.status_code = 500
            return {"description": "Internal error"}
        matching = sorted(
            (t for t in self.tickets.values() if datetime.fromisoformat(t["updated_at"]) >= since),
            key=lambda t: t["id"],
        )
        chunk = matching[(page - 1) * self.per_page : page * self.per_page]
        if page * self.per_page < len(matching):
            next_query = {key: values[0] for key, values in query.items()} | {"page": page + 1}
            context.headers["link"] = f'<{TICKETS_URL}?{urlencode(next_query)}>; rel="next"'
        return {"tickets": chunk}
