"""A naive reference model of the privilege rules in docs/topics.md, for differential tests."""
