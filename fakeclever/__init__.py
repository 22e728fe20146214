"""A fake Clever district: a real HTTP server with Clever's paths, envelopes, events and faults.

Tests, the demo and the benchmarks run against it instead of api.clever.com.
"""
