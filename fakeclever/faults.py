"""Faults on demand: what Clever (or the network in front of it) does to a client on a bad day.

Each fault applies to the next ``times`` requests that match its scope (a district and/or a
path prefix); the first matching fault wins, so several can be queued in order.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import Any, Literal

logger = logging.getLogger(__name__)

FaultKind = Literal[
    "rate_limit", "server_error", "slow", "truncate", "html", "not_json", "envelope", "links"
]
KINDS: tuple[FaultKind, ...] = (
    "rate_limit", "server_error", "slow", "truncate", "html", "not_json", "envelope", "links"
)  # fmt: skip
#: The body of an ``envelope`` fault unless given: a list response without its ``data``.
NO_DATA: Any = {"links": [{"rel": "self", "uri": "/"}]}
#: The ``links`` of a ``links`` fault unless given: a ``next`` link without a URI.
NEXT_WITHOUT_URI: Any = [{"rel": "next"}]
_UNSET: Any = object()


@dataclass
class Fault:
    """One queued fault and how many more requests it will hit."""

    kind: FaultKind
    times: int
    district_id: str | None = None
    path_prefix: str | None = None
    status: int = 503
    retry_after: float = 1.0
    delay: float = 0.0
    #: ``envelope``: the JSON served instead of the response.
    body: Any = None
    #: ``links``: what replaces the response's ``links``.
    links: Any = None

    def matches(self, district_id: str | None, path: str) -> bool:
        """Whether a request of this district and path is in the fault's scope."""
        if self.district_id is not None and self.district_id != district_id:
            return False
        return self.path_prefix is None or path.startswith(self.path_prefix)


class Faults:
    """The queue of faults a :class:`FakeClever` applies (safe to add from any thread)."""

    def __init__(self) -> None:
        self._faults: list[Fault] = []
        self._lock = threading.Lock()

    def add(
        self,
        kind: FaultKind,
        times: int = 1,
        district_id: str | None = None,
        path_prefix: str | None = None,
        status: int = 503,
        retry_after: float = 1.0,
        delay: float = 0.0,
        body: Any = _UNSET,
        links: Any = _UNSET,
    ) -> Fault:
        """Make the next ``times`` matching requests fail this way (``body``: the JSON of an
        ``envelope`` fault; ``links``: the links of a ``links`` fault)."""
        if kind not in KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; one of {', '.join(KINDS)}")
        if kind == "server_error" and status not in (500, 501, 502, 503, 504):
            raise ValueError(f"a server error is a 5xx status, not {status}")
        if times < 1 or retry_after < 0 or delay < 0:
            raise ValueError("times must be positive, retry_after and delay not negative")
        if (body is not _UNSET and kind != "envelope") or (links is not _UNSET and kind != "links"):
            raise ValueError("body is for an envelope fault, links for a links fault")
        fault = Fault(
            kind, times, district_id, path_prefix, status, retry_after, delay,
            body=NO_DATA if body is _UNSET else body,
            links=NEXT_WITHOUT_URI if links is _UNSET else links,
        )  # fmt: skip
        with self._lock:
            self._faults.append(fault)
        return fault

    def clear(self) -> None:
        """Forget every queued fault."""
        with self._lock:
            self._faults.clear()

    def pending(self) -> list[Fault]:
        """The faults still queued."""
        with self._lock:
            return list(self._faults)

    def take(self, district_id: str | None, path: str) -> Fault | None:
        """The fault for this request, if any (counting it down)."""
        with self._lock:
            for fault in self._faults:
                if fault.matches(district_id, path):
                    fault.times -= 1
                    if fault.times <= 0:
                        self._faults.remove(fault)
                    logger.info("fault %s on %s (district %s)", fault.kind, path, district_id)
                    return fault
        return None


def retry_after_header(seconds: float) -> str:
    """``Retry-After`` in whole seconds when whole, else as given (our client reads both)."""
    return str(int(seconds)) if float(seconds).is_integer() else f"{seconds:g}"
