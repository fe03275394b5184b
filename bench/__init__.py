"""Benchmarks of the provider: per operation, at scale under the real engine, footprint, profile.

Run with ``scripts/bench`` (``python -m bench``). Nothing here is a test: plain ``pytest`` only
collects ``tests/``; ``tests/bench/`` runs the suite once in smoke mode.
"""
