"""api-latency-postgres: `closures/period` against the raw SQL aggregate on PostgreSQL.

Runs only when the shell's DATABASE_URL names a PostgreSQL server (`bench.run` reads it before
it makes the environment hermetic); the role needs CREATEDB. In a child process (Django in
`bench.run` is set on SQLite), on a new database `yam_bench_<pid>` of that server, dropped at
the end: migrated, then 1,000 mapped agents x 1,826 days (5 years, 1.8 M rows, written with
COPY and ANALYZEd), measured as api-latency measures SQLite (first read, repeat read, raw SQL,
turn about, in the same run). The child prints its line as JSON.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from bench.environment import Context, Line, bench_environ, previous_month_end

AGENTS = 1000
DAYS = 1826
NAME = "api-latency-pg"


def postgres_url(environ: dict[str, str] | os._Environ[str]) -> str | None:
    url = environ.get("DATABASE_URL", "")
    return url if url.startswith(("postgres://", "postgresql://", "pgsql://")) else None


def run(ctx: Context) -> Line:
    if ctx.postgres_url is None:
        return Line(
            NAME,
            "not run: DATABASE_URL names no PostgreSQL server "
            "(DATABASE_URL=postgres://user:password@host:port/db make bench)",
            "repeat read <= x2.0 raw SQL each",
            ok=True,
            skipped=True,
        )
    child = subprocess.run(
        [sys.executable, "-m", "bench.api_latency_postgres", ctx.postgres_url]
        + (["--profile"] if ctx.profile else []),
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "DATABASE_URL": ctx.postgres_url},
        cwd=Path(__file__).resolve().parent.parent,
    )
    if ctx.profile or child.returncode:
        sys.stderr.write(child.stderr)
    if child.returncode:
        raise RuntimeError(f"the PostgreSQL benchmark failed (exit {child.returncode})")
    return Line(**json.loads(child.stdout.strip().splitlines()[-1]))


def main(url: str, profile: bool) -> None:
    import psycopg

    name = f"yam_bench_{os.getpid()}"
    parts = urlsplit(url)
    with psycopg.connect(url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        line = _measure(urlunsplit(parts._replace(path=f"/{name}")), profile)
    finally:
        with psycopg.connect(url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    print(json.dumps(line.__dict__))


def _measure(url: str, profile: bool) -> Line:
    import time_machine

    with tempfile.TemporaryDirectory(prefix="yam-bench-pg-") as workdir:
        environ = bench_environ(Path(workdir) / "unused.sqlite3")
        environ["DATABASE_URL"] = url
        os.environ.update(environ)

        import django
        from django.core.management import call_command
        from django.db import connections

        django.setup()
        call_command("migrate", interactive=False, verbosity=0)
        from bench.api_latency import measure_ranges, populate, report

        ctx = Context(workdir=Path(workdir), profile=profile)
        today = previous_month_end(datetime.now(UTC).date())
        try:
            with time_machine.travel(datetime(today.year, today.month, today.day, 12, tzinfo=UTC)):
                rows = populate(today=today, agents=AGENTS, days=DAYS)
                results, _ = measure_ranges(ctx, today, not_modified=False)
        finally:
            connections.close_all()
    return report(
        NAME, f"PostgreSQL, {AGENTS:,} agents x {DAYS:,} days ({rows:,} rows)", results, None
    )


if __name__ == "__main__":
    main(sys.argv[1], "--profile" in sys.argv[2:])
