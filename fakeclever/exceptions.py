"""The fake Clever's errors, under one root so callers can catch them together."""

from __future__ import annotations

from foundation.exceptions import CleverStreamError


class FakeCleverError(CleverStreamError):
    """Root of every error the fake Clever raises on purpose."""


class UnknownRecordError(FakeCleverError, KeyError):
    """A call named a record or event the district does not (or no longer) hold."""


class InvalidChangeError(FakeCleverError, ValueError):
    """A mutation that Clever could not produce (e.g. a relationship that already exists)."""
