"""The privilege worker's own exactly-once consume-transform-produce engine."""
