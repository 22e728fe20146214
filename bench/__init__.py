"""Benchmarks that print figures for design choices; never run as assertions in the test suite."""
