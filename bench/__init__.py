"""Benchmarks with targets: `make bench` (or `python -m bench`) exits non-zero if one is missed."""
