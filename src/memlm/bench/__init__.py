"""Benchmarks: figures printed by `memlm bench ...`, never asserted by tests."""
