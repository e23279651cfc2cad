"""backfill: a sync of 200,000 tickets, in its own process, against bare paging of the same pages.

The stand-in (300 agents) is frozen at the moment when exactly 200,000 tickets have changed since
the start of the backfill's first day. Each run is a child process (`python -m bench.backfill
<mode> ...`) on its own copy of the database, so its memory is its own and it can really be
killed: (a) bare paging (a plain `requests.Session`, as in sync-overhead), (b) the sync,
uninterrupted, (c) the sync again on a fresh copy, killed with SIGKILL once it reports half the
pages written, then (d) the same command run again, which resumes. Peak memory is the child's
peak resident set (VmHWM: Python, Django and everything), not tracemalloc.
"""

from __future__ import annotations

import json
import math
import os
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.environment import (
    API_KEY,
    BASE_DIR,
    Clock,
    Context,
    Line,
    StandIn,
    bench_environ,
    day_start,
    first_updates,
    fresh_database,
    knows_the_agents,
    stand_in,
    ticket_changes,
)

# A smaller T for a quick check of the line's machinery (the line names the T it ran with).
TICKETS = int(os.environ.get("YAM_BENCH_BACKFILL_TICKETS", "200000"))
AGENTS = 300
WORLD_DAYS = 140  # enough history for 200,000 changed tickets with 300 agents
TARGET_MIB = 150
TARGET_RATIO = 1.3
MAX_REFETCHED = 1


def run(ctx: Context) -> Line:
    now = datetime.now(UTC).replace(microsecond=0)
    today = now.date()
    clock = Clock(now)
    with stand_in(clock, agents=AGENTS, days=WORLD_DAYS) as upstream:
        first, clock.now = _window(upstream, today=today, now=now)
        since = day_start(first).strftime("%Y-%m-%dT%H:%M:%SZ")
        pages = math.ceil(TICKETS / 100)

        bare = _child(ctx, upstream, "bare", since=since)
        whole_db = _database(ctx, upstream, "backfill-whole")
        whole = _child(ctx, upstream, "sync", first=first, database=whole_db)

        killed_db = _database(ctx, upstream, "backfill-killed")
        calls = upstream.calls
        killed = _child(ctx, upstream, "sync", first=first, database=killed_db, kill_at=pages // 2)
        asked_by_killed = upstream.calls - calls - 1  # less the group's read
        written = _pages_written(killed_db)
        calls = upstream.calls
        resumed = _child(ctx, upstream, "sync", first=first, database=killed_db)
        asked_by_rerun = upstream.calls - calls - 1

    assert (bare["tickets"], whole["tickets"]) == (TICKETS, TICKETS), (bare, whole)
    same = _stored(whole_db) == _stored(killed_db)
    refetched = written - resumed["resumed_from_page"] + 1
    ratio = whole["seconds"] / bare["seconds"]
    peak = max(whole["peak_mib"], killed["peak_mib"], resumed["peak_mib"])
    ok = (
        peak <= TARGET_MIB
        and ratio <= TARGET_RATIO
        and refetched <= MAX_REFETCHED
        and same
        and resumed["pages"] == whole["pages"]
    )
    figures = (
        f"T={TICKETS:,} tickets ({first}..{today}), {whole['pages']:,} pages: sync "
        f"{whole['seconds']:.1f} s vs bare paging {bare['seconds']:.1f} s = x{ratio:.2f}; peak "
        f"RSS of the sync's process {peak:.0f} MiB ({whole['start_mib']:.0f} MiB before it "
        f"began; bare paging {bare['peak_mib']:.0f} MiB); SIGKILL at page {asked_by_killed:,} "
        f"({written:,} written), rerun resumed from page {resumed['resumed_from_page']:,}: "
        f"{refetched} written page fetched again, {asked_by_rerun:,} pages asked; stored "
        f"counts {'equal' if same else 'DIFFER from'} the uninterrupted run's"
    )
    target = (
        f"peak <= {TARGET_MIB} MiB, ratio <= {TARGET_RATIO}, <= {MAX_REFETCHED} page fetched "
        f"again, same counts"
    )
    return Line("backfill", figures, target, ok)


def _window(upstream: StandIn, *, today: date, now: datetime) -> tuple[date, datetime]:
    """The latest first day with TICKETS changes since it, and the moment they are all in.

    Days further back only add changes, so the fewest days back that hold enough is found by
    bisection (each try reads every ticket of the world).
    """
    changes = ticket_changes(upstream)

    def enough(back: int) -> datetime | None:
        firsts = first_updates(changes, day_start(today - timedelta(days=back)))
        if len(firsts) >= TICKETS and firsts[TICKETS - 1] <= now:
            return firsts[TICKETS - 1]
        return None

    low, high = 1, WORLD_DAYS - 1
    if enough(high) is None:
        raise RuntimeError(f"the stand-in's {WORLD_DAYS} days hold fewer than {TICKETS} tickets")
    while low < high:
        middle = (low + high) // 2
        if enough(middle) is None:
            low = middle + 1
        else:
            high = middle
    moment = enough(high)
    assert moment is not None
    return today - timedelta(days=high), moment


def _database(ctx: Context, upstream: StandIn, name: str) -> Path:
    """A fresh copy of the migrated database that knows the agents, closed for the child."""
    from django.db import connections

    path = fresh_database(ctx, name)
    knows_the_agents(upstream)
    connections.close_all()
    return path


def _child(
    ctx: Context,
    upstream: StandIn,
    mode: str,
    *,
    first: date | None = None,
    since: str = "",
    database: Path | None = None,
    kill_at: int | None = None,
) -> dict[str, Any]:
    """Run this module in `mode` in a child process; its last line of output is its report.

    With `kill_at`, the child is killed (SIGKILL) once it reports that many pages written.
    """
    database = database or ctx.workdir / "template.sqlite3"
    argv = [sys.executable, "-m", "bench.backfill", mode, str(database), upstream.endpoint]
    argv += [str(upstream.world.group_id), first.isoformat() if first else since]
    child = subprocess.Popen(
        argv,
        cwd=BASE_DIR,
        env=bench_environ(database),
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None
    report: dict[str, Any] = {}
    peak_kib = 0
    for line in child.stdout:
        if line.startswith("page "):
            page = int(line.split()[1])
            if kill_at is not None and page >= kill_at:
                # VmHWM is the peak so far: read once, just before the kill (reading it every
                # page would wake this process, which serves the stand-in, 2,000 times).
                peak_kib = _resident_peak_kib(child.pid)
                child.send_signal(signal.SIGKILL)
                break
        elif line.startswith("{"):
            report = json.loads(line)
    child.wait()
    if kill_at is None:
        assert child.returncode == 0, f"the {mode} child failed ({child.returncode})"
        assert report, f"the {mode} child reported nothing"
    else:
        report = {"peak_mib": peak_kib / 1024}
    return report


def _resident_peak_kib(pid: int) -> int:
    try:
        for row in Path(f"/proc/{pid}/status").read_text().splitlines():
            if row.startswith("VmHWM:"):
                return int(row.split()[1])
    except OSError:
        pass
    return 0


def _pages_written(database: Path) -> int:
    with sqlite3.connect(database) as db:
        row = db.execute("SELECT pages_done FROM tickets_backfillprogress").fetchone()
    return row[0] if row else 0


def _stored(database: Path) -> tuple[list[tuple], list[tuple]]:
    with sqlite3.connect(database) as db:
        tickets = db.execute(
            "SELECT ticket_id, responder_id, status, closed_at, closure_date "
            "FROM tickets_closedticket ORDER BY ticket_id"
        ).fetchall()
        closures = db.execute(
            "SELECT freshworks_user_id, date, tickets_closed FROM tickets_ticketclosure "
            "ORDER BY freshworks_user_id, date"
        ).fetchall()
    return tickets, closures


# --- in the child process ---------------------------------------------------------------------


def _peak_mib() -> float:
    """This process's peak resident set. VmHWM, not ru_maxrss: the latter keeps the peak of the
    parent it was forked from (the stand-in's world) across exec."""
    return _resident_peak_kib(os.getpid()) / 1024


def child_main(argv: list[str]) -> None:
    mode, _database, endpoint, group_id, start = argv  # the database: in DATABASE_URL
    import logging

    import django

    django.setup()
    for name in ("tickets", "freshworks"):
        logging.getLogger(name).setLevel(logging.WARNING)
    if mode == "bare":
        from bench.sync_overhead import _bare_paging

        began = time.perf_counter()
        pages, tickets = _bare_paging(endpoint, API_KEY, start)
        seconds = time.perf_counter() - began
        bare = {"seconds": seconds, "pages": pages, "tickets": tickets, "peak_mib": _peak_mib()}
        print(json.dumps(bare), flush=True)
        return

    from dataclasses import replace

    from tickets.freshservice_config import FreshserviceConfig, override_freshservice_config
    from tickets.models import SyncRun
    from tickets.services.sync import SyncProgress, sync_closures

    config = replace(
        FreshserviceConfig.from_settings(),
        api_key=API_KEY,
        endpoint=endpoint,
        group_ids=(int(group_id),),
        workspace_id=None,
        demo=True,
    )

    def on_progress(step: SyncProgress) -> None:
        print(f"page {step.pages}", flush=True)

    start_mib = _peak_mib()
    with override_freshservice_config(config):
        began = time.perf_counter()
        result = sync_closures(
            first=date.fromisoformat(start),
            last=datetime.now(UTC).date(),
            trigger=SyncRun.Trigger.COMMAND,
            force=True,
            on_progress=on_progress,
        )
        seconds = time.perf_counter() - began
    report = {
        "seconds": seconds,
        "pages": result.pages,
        "tickets": result.tickets_processed,
        "resumed_from_page": result.resumed_from_page,
        "start_mib": start_mib,
        "peak_mib": _peak_mib(),
    }
    print(json.dumps(report), flush=True)


if __name__ == "__main__":
    child_main(sys.argv[1:])
