"""CI: `make run` on a fresh checkout serves the demo, prints the login, and the chart fills.

Run from the project folder after the venv exists: .venv/bin/python .ci/demo_smoke.py
"""

from __future__ import annotations

import os
import re
import shutil
import sys
import tempfile
from pathlib import Path

from make_run import start_make_run, stop_make_run  # .ci/make_run.py
from playwright.sync_api import expect, sync_playwright

PORT = os.environ.get("SMOKE_PORT", "8799")
DEMO_AGENTS = 12
DEMO_DESK = 18000294963  # the demo's first team (demo/bootstrap.py DEMO_GROUP_IDS); two in all
CHART_AGENTS = 15  # the chart's top N; the table holds everyone
PERIODS = {"today": "Today", "yesterday": "Yesterday", "week": "This Week", "month": "This Month"}
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]  # fmt: skip


def _range_text(answer: dict) -> str:
    """The dashboard's range label (dashboard.js: render)."""
    start, end = answer["start"], answer["end"]
    return start if start == end else f"{start} \u2013 {end}"


def main() -> int:
    env = {key: value for key, value in os.environ.items() if not key.startswith("FRESH_")}
    database = Path(tempfile.mkdtemp()) / "demo-smoke.sqlite3"
    env |= {"PORT": PORT, "DATABASE_URL": f"sqlite:///{database}"}
    server, text = start_make_run(cwd=Path.cwd(), env=env, within=180)
    try:
        assert "Demo" in text, text
        password = re.search(r"Password:\s+(\S+)", text).group(1)
        assert re.search(r"Log in:\s+demo", text), text
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path="/usr/bin/chromium", headless=True, args=CHROMIUM_ARGS
            )
            page = browser.new_page(base_url=f"http://127.0.0.1:{PORT}")
            page.goto("/")
            page.fill("#id_username", "demo")
            page.fill("#id_password", password)
            page.click("button[type=submit]")
            expect(page.locator("#ticket-closures")).to_have_attribute("data-ready", "1")
            expect(page.locator(".demo-banner")).to_be_visible()
            # The backfill covers the last 30 days, so every agent of the demo's service desk
            # has closures in it; the second team (Facilities) adds its own.
            stats = page.request.get(f"/api/tickets/stats?team={DEMO_DESK}").json()
            assert stats["agents_tracked"] == DEMO_AGENTS, stats
            assert stats["total_tickets_closed"] > 0, stats
            every_team = page.request.get("/api/tickets/stats").json()
            assert every_team["total_tickets_closed"] > stats["total_tickets_closed"], every_team
            # Two teams: the page offers the team selector.
            expect(page.locator("#team-select option")).to_have_text(
                ["All teams", "Service Desk", "Facilities"]
            )
            # How many agents a period holds depends on the day and hour this runs at (on the
            # 1st, "This Month" is one day); the page must show exactly what the API answers.
            for period, label in PERIODS.items():
                page.get_by_role("button", name=label, exact=True).click()
                answer = page.request.get(f"/api/tickets/closures/period?period={period}").json()
                agents = len(answer["closures"])
                expect(page.locator("#range")).to_have_text(_range_text(answer))
                expect(page.locator("#total")).to_have_text(str(answer["total"]))
                expect(page.locator("#closures-table tbody tr")).to_have_count(agents)
                bars = page.evaluate("() => yamChart.data.datasets[0].data.length")
                assert bars == min(agents, CHART_AGENTS), (period, bars, agents)
            browser.close()
        sys.stdout.write(f"demo smoke: make run served a populated dashboard on port {PORT}\n")
        return 0
    finally:
        stop_make_run(server)
        shutil.rmtree(database.parent, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
