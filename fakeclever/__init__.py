"""A fake Clever district: a real HTTP server with Clever's paths, envelopes, events and faults.

Tests, the demo and the benchmarks run against it instead of api.clever.com.
"""

from __future__ import annotations

from fakeclever.district import FakeDistrict
from fakeclever.events import Event
from fakeclever.exceptions import FakeCleverError, InvalidChangeError, UnknownRecordError
from fakeclever.fake import FakeClever
from fakeclever.faults import Fault, FaultKind, Faults
from fakeclever.store import Pair

__all__ = [
    "Event",
    "FakeClever",
    "FakeCleverError",
    "FakeDistrict",
    "Fault",
    "FaultKind",
    "Faults",
    "InvalidChangeError",
    "Pair",
    "UnknownRecordError",
]
