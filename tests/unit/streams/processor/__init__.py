"""Unit tests of the privilege processor."""
