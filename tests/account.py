"""A Freshservice account as the connection check sees it: the agents and the team's group.

`answer_account` makes requests-mock answer `GET agents?active=true|false` and
`GET groups/{GROUP_ID}` with vendor-shaped payloads (tests/data/freshservice/) and rate-limit
headers. Registered after a `FakeFreshservice`, these answers take precedence over its own.
"""

from __future__ import annotations

from typing import Any

from tests.conftest import ENDPOINT, GROUP_ID
from tests.freshservice_data import budget, make_agent, make_agent_page, make_group

AGENTS_URL = f"{ENDPOINT}agents"
GROUP_URL = f"{ENDPOINT}groups/{GROUP_ID}"
BUDGET_TOTAL = 120

# Three active agents and one who left.
ACTIVE_AGENTS = [
    make_agent(id=21000418008, first_name="Freya", last_name="Quinn"),
    make_agent(id=21000418011, first_name="Lukas", last_name="Carter", email="lukas@example.com"),
    make_agent(id=21000418015, first_name="Temp", last_name="Agent", email="temp@example.com"),
]
INACTIVE_AGENTS = [
    make_agent(id=21000418002, first_name="Old", last_name="Hand", email=None, active=False)
]


def answer_account(
    requests_mock: Any,
    *,
    endpoint: str = ENDPOINT,
    group: dict[str, Any] | None = None,
    remaining: tuple[int, int, int] = (119, 118, 117),
) -> None:
    """Answer the agents (active, then deactivated) and the group; `remaining` is the
    X-RateLimit-Remaining of those three answers, out of BUDGET_TOTAL."""
    answers = [
        (f"{endpoint}agents?active=true", make_agent_page(*ACTIVE_AGENTS)),
        (f"{endpoint}agents?active=false", make_agent_page(*INACTIVE_AGENTS)),
        (f"{endpoint}groups/{GROUP_ID}", group if group is not None else make_group()),
    ]
    for (url, body), left in zip(answers, remaining, strict=True):
        requests_mock.get(url, json=body, headers=budget(total=BUDGET_TOTAL, remaining=left))
