"""Benchmarks: `make bench` or `python -m bench.run [name ...]` (see bench/README.md).

Not part of `make test`. Every benchmark runs against a throwaway SQLite file in a temporary
folder and a stand-in Freshservice started in this process; nothing touches db.sqlite3 or .env.
"""
