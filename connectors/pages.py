"""Clever's response envelopes, parsed leniently into pages of plain objects.

A list is ``{"data": [{"data": obj, "uri": ...}, ...], "links": [{"rel", "uri"}]}``: every
item wrapped once more, ``links`` absent in some v2.1 revisions. A single object is
``{"data": obj}``. Unknown keys are kept, not rejected: Clever adds fields over time. A list
entry that holds no object is kept as sent, for the poller to dead-letter; a body that is not
a list envelope, or whose ``next`` link cannot be followed, is refused as a whole.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from connectors.exceptions import CleverResponseError

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Page:
    """One response of a list: its objects, unwrapped, and where the next page is."""

    #: Each list item's inner ``data`` object, every key kept.
    items: tuple[dict[str, Any], ...]
    #: The ``next`` link's path and query (``/v3.0/users?starting_after=...``), or None.
    next_path: str | None
    #: Whether the response had ``links`` at all; without them, paging goes by the last ID.
    has_links: bool
    #: List entries that held no object, as sent, each with its index among all entries:
    #: left out of ``items``; they still count towards a full page.
    unreadable: tuple[tuple[int, Any], ...] = ()

    @property
    def skipped(self) -> int:
        """How many entries held no object."""
        return len(self.unreadable)

    @property
    def size(self) -> int:
        """How many entries Clever sent, objects or not: compared with ``limit``."""
        return len(self.items) + len(self.unreadable)

    def entries(self) -> list[Any]:
        """Every entry in Clever's order: the objects, and the unreadable entries as sent."""
        found: list[Any] = []
        objects = iter(self.items)
        for index, entry in self.unreadable:
            found += (next(objects) for _ in range(index - len(found)))
            found.append(entry)
        found += objects
        return found


def decode_json(content: bytes) -> Any:
    """The JSON of a body; ``CleverResponseError`` if it is not JSON (or has NaN)."""

    def reject_constant(name: str) -> Any:
        raise ValueError(f"{name} is not JSON")

    try:
        return json.loads(content, parse_constant=reject_constant)
    except (ValueError, RecursionError) as error:
        # The body may be an HTML page or half a JSON document: describe it, never quote it.
        raise CleverResponseError(
            f"body of {len(content)} bytes is not JSON ({type(error).__name__})"
        ) from None


def parse_page(body: Any) -> Page:
    """A ``Page`` from a decoded list envelope.

    Raises ``CleverResponseError`` if ``body`` is not ``{"data": [...]}`` (a single object's
    envelope ``{"data": {...}}`` included: where a list was asked, it is no page of one), or
    if it has a ``next`` link without a URI to follow (ending the listing there would drop
    the rest of it unseen).
    """
    if not isinstance(body, dict) or "data" not in body:
        raise CleverResponseError("body is not Clever's envelope: no top-level data")
    data = body["data"]
    if not isinstance(data, list):
        raise CleverResponseError(
            f"body is not Clever's list envelope: data is {type(data).__name__}, not a list"
        )
    items: list[dict[str, Any]] = []
    unreadable: list[tuple[int, Any]] = []
    for index, entry in enumerate(data):
        obj = _unwrap(entry)
        if obj is None:
            unreadable.append((index, entry))
            # The poller dead-letters it (and says so): a debug line here is enough.
            logger.debug("list entry %d holds no object (%s)", index, _kind(entry))
        else:
            items.append(obj)
    links = body.get("links")
    return Page(
        items=tuple(items),
        next_path=_next_path(links) if isinstance(links, list) else None,
        has_links=isinstance(links, list),
        unreadable=tuple(unreadable),
    )


def parse_single(body: Any) -> dict[str, Any]:
    """The object of ``{"data": {...}}``; ``CleverResponseError`` otherwise."""
    if isinstance(body, dict) and isinstance(body.get("data"), dict):
        inner: dict[str, Any] = body["data"]
        return inner
    raise CleverResponseError("body is not Clever's single-object envelope {data: {...}}")


def _unwrap(entry: Any) -> dict[str, Any] | None:
    if not isinstance(entry, dict):
        return None
    # The documented shape {"data": obj, "uri": ...}. An object sent without the wrapper has
    # its own "id" (an event's own "data" is its payload, not a wrapper).
    if "data" in entry and "id" not in entry:
        inner = entry["data"]
        return inner if isinstance(inner, dict) else None
    return entry


def _kind(entry: Any) -> str:
    if isinstance(entry, dict):
        return f"data is {type(entry.get('data')).__name__}"
    return type(entry).__name__


def _next_path(links: list[Any]) -> str | None:
    for link in links:
        if not isinstance(link, dict) or str(link.get("rel", "")).casefold() != "next":
            continue
        uri = link.get("uri")
        if not isinstance(uri, str) or not uri.strip():
            raise CleverResponseError(
                f"body is not Clever's list envelope: a next link without a URI "
                f"({type(uri).__name__})"
            )
        return _relative(uri.strip())
    return None


def _relative(uri: str) -> str:
    """Path and query of a link, so requests stay on the client's own host.

    Clever's links are host-relative; an absolute one is cut to its path and query, so a
    district's token is never sent anywhere but the configured base URL.
    """
    parts = urlsplit(uri)
    path = parts.path if parts.path.startswith("/") else f"/{parts.path}"
    return f"{path}?{parts.query}" if parts.query else path
