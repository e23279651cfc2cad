"""The JSON API (SPEC §9): thin DRF views over the selectors and services."""
