"""Benchmarks of the Réseau COOP platform: figures beside the raw limits of its parts.

`python -m bench` (or `make bench`) starts everything it needs on loopback, runs bounded
loads and prints one table; `--quick` is a smoke run in seconds. See docs/performance.md.
"""
