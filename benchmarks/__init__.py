"""Benchmarks of the Polytomic provider: triggerer fleet, poke cost, DAG-parse cost and payload bounds.

Run them all with ``scripts/bench`` (``scripts/bench --quick`` for a smoke run); ``docs/performance.md``
explains each figure. These are measurements, not tests: nothing here asserts a timing.

Every measured variant runs in a fresh process, and the Polytomic API emulator serves from a process of
its own, so the client's CPU time and memory are the provider's (or the baseline's) alone.
"""
