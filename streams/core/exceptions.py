"""The errors of the pure privilege core, all under the project's root ``CleverStreamError``."""

from __future__ import annotations

from foundation.exceptions import CleverStreamError


class PrivilegeCoreError(CleverStreamError):
    """Root of the errors the pure privilege core raises."""


class MalformedRecordError(PrivilegeCoreError):
    """A Clever record the core cannot file: not an object, or no usable ``id``.

    Everything else odd in a record (messy values, bad relationship entries) is tolerated and
    counted instead; this is the one case where there is nothing to key a result on, so the
    caller dead-letters the record.
    """
