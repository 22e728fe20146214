"""The privilege side: raw Clever records to privilege changes, current state and dead letters.

``core`` (the pure rules), ``processor`` (the state machine over a store), ``state`` (the
tables and a partition's transaction), ``writers`` (fast Avro writers) and ``engines`` (the
native loop and the Faust agents, each running the same processor); see docs/architecture.md.
"""
