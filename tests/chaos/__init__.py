"""The chaos run: the whole pipeline on a 3-node cluster under seeded faults, checked from
outside.

``python -m tests.chaos`` (``make chaos``) serves a fake Clever's districts to two pollers
and two workers, kills pollers, workers and partition leaders at random moments while Clever
misbehaves, then checks the topics with confluent-kafka and fastavro against the naive
reference model fed the same history. ``tests/e2e/test_chaos.py`` runs a short one.
"""
