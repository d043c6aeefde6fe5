"""Benchmarks for `make bench`. Each runs in its own process so peak memory is its own."""
