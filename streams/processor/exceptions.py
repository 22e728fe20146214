"""The errors of the privilege processor, all under the project's root ``CleverStreamError``."""

from __future__ import annotations

from foundation.exceptions import CleverStreamError


class ProcessorError(CleverStreamError):
    """Root of the errors the privilege processor raises for a record it cannot apply."""


class StaleEventError(ProcessorError):
    """An event older than the district's memory of applied event IDs.

    Whether it was applied cannot be told any more, and applying it again could undo what
    later events did, so it is dead-lettered for an operator instead (a resync brings the
    district back to Clever's truth if it mattered).
    """


class OutputTooLargeError(ProcessorError):
    """A record whose outputs include one larger than a Kafka record may be.

    Sending it would fail the partition's transaction every time the record is read again,
    stopping every district of the partition behind it, so the record is dead-lettered whole
    instead (its source stays on the raw topic).
    """
