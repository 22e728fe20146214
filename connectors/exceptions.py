"""The errors of the Clever side, all under the project's root ``CleverStreamError``."""

from __future__ import annotations

from foundation.exceptions import CleverStreamError


class CleverApiError(CleverStreamError):
    """Clever answered in a way the client cannot go on from."""


class CleverAuthError(CleverApiError):
    """Clever refused the district's token (401 or 403): retrying will not help."""


class CursorExpiredError(CleverApiError):
    """Clever no longer knows the event the cursor points at (the 30-day window has passed).

    Only a full resync from the Data API brings the district back.
    """


class CleverResponseError(CleverApiError):
    """A response the client cannot parse: not JSON, or not Clever's envelope."""


class CleverUnavailableError(CleverApiError):
    """Clever kept failing (429, 5xx, timeouts, broken bodies) until the retries ran out."""


class MalformedRecordError(CleverApiError):
    """A Clever item the poller cannot file: no ID, no type, or not an object."""


class RecordTooLargeError(MalformedRecordError):
    """A Clever item whose record would be larger than a Kafka record may be."""


class PollerFencedError(CleverStreamError):
    """Another poller took over this district's transactional ID: this one must stop."""


class DistrictKeyError(CleverStreamError):
    """A district's token on the districts topic cannot be decrypted with the key at hand."""
