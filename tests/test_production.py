"""Production serving: gunicorn alone serves the pages and their static files (whitenoise)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

BASE_DIR = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def gunicorn(tmp_path):
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
    port = _free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "yam.wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "2",
        ],
        env=env,
        cwd=BASE_DIR,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            requests.get(f"{url}/healthz", timeout=1)
            break
        except requests.ConnectionError:
            time.sleep(0.1)
    yield url
    server.terminate()
    server.wait(10)


def test_gunicorn_serves_the_login_page_and_its_static_files(gunicorn):
    login = requests.get(f"{gunicorn}/accounts/login/", timeout=5)
    assert login.status_code == 200

    for path in (
        "/static/tickets/site.css",
        "/static/tickets/dashboard.js",
        "/static/tickets/vendor/chart.js/chart.umd.min.js",
        "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js",
    ):
        asset = requests.get(f"{gunicorn}{path}", timeout=5)
        assert asset.status_code == 200, path
        assert asset.headers["Cache-Control"].startswith("max-age="), path
    assert (
        "Chart.js v4"
        in requests.get(
            f"{gunicorn}/static/tickets/vendor/chart.js/chart.umd.min.js", timeout=5
        ).text
    )


def test_the_dashboard_needs_a_login_behind_gunicorn(gunicorn):
    page = requests.get(f"{gunicorn}/", allow_redirects=False, timeout=5)

    assert page.status_code == 302
    assert page.headers["Location"] == "/accounts/login/?next=/"
