"""Run the benchmarks: `python -m bench.run [name ...] [--profile]` (all of them by default).

Prints a header naming the machine, then one line per benchmark with its figures, its target
and, last, `ok` or `FALLS SHORT`. The exit status is 0 even when a target is missed (this is a
report); it is 1 only when a benchmark crashed (its traceback goes to stderr).
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import tempfile
import traceback
from pathlib import Path

from bench.api_latency_postgres import postgres_url
from bench.environment import Context, machine, setup_django

# name -> "module:function"; each function takes a Context and returns a Line.
BENCHMARKS = {
    "sync-calls": "bench.sync_calls:run_calls",
    "sync-calls-hourly": "bench.sync_calls:run_hourly",
    "sync-overhead": "bench.sync_overhead:run",
    "api-latency": "bench.api_latency:run",
    "api-latency-pg": "bench.api_latency_postgres:run",
    "page": "bench.page:run",
    "trend": "bench.page:run_trend",
    "backfill": "bench.backfill:run",
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.run",
        description="Run the benchmarks in bench/ (see bench/README.md).",
    )
    parser.add_argument(
        "names",
        nargs="*",
        metavar="name",
        help=f"benchmarks to run, default all: {', '.join(BENCHMARKS)}",
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="also print a cProfile of the measured work to stderr (sync-overhead, api-latency)",
    )
    args = parser.parse_args(argv)
    unknown = [name for name in args.names if name not in BENCHMARKS]
    if unknown:
        parser.error(f"unknown benchmark {', '.join(unknown)}; choose from {', '.join(BENCHMARKS)}")

    crashed = False
    postgres = postgres_url(os.environ)  # before setup_django replaces DATABASE_URL
    with tempfile.TemporaryDirectory(prefix="yam-bench-") as workdir:
        setup_django(Path(workdir))
        print(machine(), flush=True)
        ctx = Context(workdir=Path(workdir), profile=args.profile, postgres_url=postgres)
        for name in args.names or BENCHMARKS:
            module, function = BENCHMARKS[name].split(":")
            try:
                line = getattr(importlib.import_module(module), function)(ctx)
            except Exception:
                traceback.print_exc()
                print(f"{name:<17}  CRASHED (traceback on stderr)", flush=True)
                crashed = True
            else:
                print(line, flush=True)
    return 1 if crashed else 0


if __name__ == "__main__":
    sys.exit(main())
