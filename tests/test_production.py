"""Production serving: gunicorn alone serves the pages and their static files (whitenoise)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from tests.servers import gunicorn

pytestmark = pytest.mark.real_clock  # gunicorn runs on the real clock

BASE_DIR = Path(__file__).resolve().parent.parent


@pytest.fixture
def site(tmp_path):
    env = {
        "PATH": os.environ["PATH"],
        "ENV_FILE": "",
        "DEBUG": "0",
        "HTTPS": "0",  # plain HTTP on loopback; production default is HTTPS only
        "SECRET_KEY": "production-like-test-key",
        "ALLOWED_HOSTS": "127.0.0.1",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
    }
    manage = [sys.executable, str(BASE_DIR / "manage.py")]
    for command in (["migrate", "--noinput"], ["collectstatic", "--noinput"]):
        subprocess.run([*manage, *command, "-v", "0"], env=env, check=True, timeout=120)
    with gunicorn(env, workers=2, log_path=tmp_path / "gunicorn.stderr") as url:
        yield url


def test_gunicorn_serves_the_login_page_and_its_static_files(site):
    login = requests.get(f"{site}/accounts/login/", timeout=5)
    assert login.status_code == 200

    for path in (
        "/static/tickets/site.css",
        "/static/tickets/dashboard.js",
        "/static/tickets/vendor/chart.js/chart.umd.min.js",
        "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js",
    ):
        asset = requests.get(f"{site}{path}", timeout=5)
        assert asset.status_code == 200, path
        assert asset.headers["Cache-Control"].startswith("max-age="), path
    assert (
        "Chart.js v4"
        in requests.get(f"{site}/static/tickets/vendor/chart.js/chart.umd.min.js", timeout=5).text
    )


def test_the_dashboard_needs_a_login_behind_gunicorn(site):
    page = requests.get(f"{site}/", allow_redirects=False, timeout=5)

    assert page.status_code == 302
    assert page.headers["Location"] == "/accounts/login/?next=/"
