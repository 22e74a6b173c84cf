"""Benchmarks: `make bench` runs them and prints what they measured. Nothing here asserts a speed."""
