"""CI: `make run` on a fresh checkout serves the demo, prints the login, and the chart fills.

Run from the project folder after the venv exists: .venv/bin/python .ci/demo_smoke.py
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from playwright.sync_api import expect, sync_playwright

PORT = os.environ.get("SMOKE_PORT", "8799")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]  # fmt: skip


def main() -> int:
    env = {key: value for key, value in os.environ.items() if not key.startswith("FRESH_")}
    database = Path(tempfile.mkdtemp()) / "demo-smoke.sqlite3"
    env |= {"PORT": PORT, "DATABASE_URL": f"sqlite:///{database}"}
    server = subprocess.Popen(
        ["make", "run"],  # noqa: S607 - the README's own command, found on PATH
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        start_new_session=True,
    )  # fmt: skip
    output = []
    try:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            line = server.stdout.readline()
            output.append(line)
            if "Quit the server" in line or not line:
                break
        text = "".join(output)
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
            page.get_by_role("button", name="This Month", exact=True).click()
            expect(page.locator("#closures-table tbody tr")).to_have_count(12)
            bars = page.evaluate("() => yamChart.data.datasets[0].data.length")
            assert bars == 12, bars
            expect(page.locator(".demo-banner")).to_be_visible()
            browser.close()
        sys.stdout.write(f"demo smoke: make run served a populated dashboard on port {PORT}\n")
        return 0
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(20)
        shutil.rmtree(database.parent, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
