"""Errors of the contract: a schema that does not load, and bytes that do not decode."""

from __future__ import annotations

from foundation.exceptions import CleverStreamError


class SchemaError(CleverStreamError):
    """The ``.avsc`` files are inconsistent: a bug in this project, caught by its tests."""


class CodecError(CleverStreamError):
    """A record could not be encoded or decoded."""


class EncodeError(CodecError):
    """A record does not fit its schema."""


class DecodeError(CodecError):
    """Bytes are not a record of ours: bad framing, an unknown schema, or a corrupt body."""


class UnknownSchemaError(DecodeError):
    """The bytes name a schema fingerprint this version of the project has never known."""
