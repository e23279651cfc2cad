"""Demo mode (SPEC §2, §3 `DEMO_MODE`): the site against a stand-in Freshservice, out of the box.

- `freshservice/`: the stand-in, in layers: `world` (the team and the tickets, generated or put
  by hand, and the answer key), `api` (the documented API as a request -> response function,
  with the rate budget), `server` (that function over loopback HTTP), `faults` (for tests and
  benchmarks only).
- `bootstrap`: what `manage.py runsite` does without a Freshservice account: start the stand-in,
  hand the sync its configuration, load the agents, backfill, sync every hour.
- `management/commands/runsite.py`: the command `make run` runs.

The tests use the same stand-in (tests/upstream.py). Production code (tickets, freshworks, yam)
never imports this app; tests/test_demo_isolation.py fails if it does.
"""
