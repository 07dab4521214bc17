"""Benchmarks: a seeded generator of realistic source texts, and the timings run on it."""
