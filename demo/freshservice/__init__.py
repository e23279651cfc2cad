"""The stand-in Freshservice of demo mode, the tests and the benchmarks (see demo/__init__.py)."""
