"""Errors of the writers, all under the project's root ``CleverStreamError``."""

from __future__ import annotations

from foundation.exceptions import CleverStreamError


class WriterError(CleverStreamError):
    """Root of the errors of the writers."""


class UnsupportedSchemaError(WriterError):
    """A schema holds a type the compiled writers do not write: the codec writes it."""


class ProbeMismatchError(WriterError):
    """A compiled writer and the codec disagree on a probe record: the codec writes."""
