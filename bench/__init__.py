"""Benchmarks that print ratios (`make bench`). Not tests: nothing here asserts."""
