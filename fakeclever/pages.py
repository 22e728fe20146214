"""Clever's list envelope and paging links, shared by every list endpoint of the server.

A list is ``{"data": [{"data": obj, "uri": ...}], "links": [...]}`` with ``self`` always,
``next`` unless this is the last page, and ``prev`` when the request paged from a cursor
(API_FACTS §1). Link URIs are host-relative paths with the version and the query.
Events page by *groups* (re-sent copies and the event they precede) that a page never splits;
so do listings with injected entries (which ride with the record after them).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from itertools import islice
from typing import Any
from urllib.parse import urlencode

from multidict import MultiMapping

MAX_LIMIT = 10_000
DEFAULT_LIMIT = 100
_CURSORS = ("limit", "starting_after", "ending_before")


class PageError(Exception):
    """A request Clever answers with an error status and ``{"message": ...}``."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True, slots=True)
class PageRequest:
    """The paging parameters of one list request."""

    path: str
    query: MultiMapping[str]
    limit: int
    after: str | None
    before: str | None

    @classmethod
    def parse(cls, path: str, query: MultiMapping[str]) -> PageRequest:
        """Read ``limit`` (1..10,000; above is 413), ``starting_after``, ``ending_before``."""
        raw = query.get("limit")
        try:
            limit = DEFAULT_LIMIT if raw in (None, "") else int(raw)
        except ValueError:
            raise PageError(400, f"limit must be an integer, not {raw!r}") from None
        if limit > MAX_LIMIT:
            raise PageError(413, f"limit must be at most {MAX_LIMIT}")
        if limit < 1:
            raise PageError(400, "limit must be positive")
        return cls(path, query, limit, query.get("starting_after"), query.get("ending_before"))

    def link(self, **cursor: str) -> str:
        """This request's path and query with a new cursor."""
        kept = [(k, v) for k, v in self.query.items() if k not in _CURSORS]
        pairs = [*kept, ("limit", str(self.limit)), *cursor.items()]
        return f"{self.path}?{urlencode(pairs)}"

    def self_uri(self) -> str:
        """The ``self`` link: the request as made."""
        query = urlencode(list(self.query.items()))
        return f"{self.path}?{query}" if query else self.path


Item = tuple[str, dict[str, Any]]  # (ID, object)
#: (cursor ID, list entries served together, as sent); a last group may have no cursor.
Group = tuple[str | None, list[Any]]


def take(items: Iterable[Item], count: int) -> list[Item]:
    """The first ``count`` items."""
    return list(islice(items, count))


#: Items made between two turns of the event loop while a page is built.
TURN_ITEMS = 1000


async def take_in_turns(items: Iterable[Item], count: int) -> list[Item]:
    """The first ``count`` items, made ``TURN_ITEMS`` at a time with the event loop's other
    requests served in between.

    A snapshot page of 10,000 generated records takes the fake most of a second; built in one
    go, every other district's request would wait on it, which Clever's many servers never
    make them do. The ID lists only ever grow, so a listing resumed after a turn carries on
    where it was; a change made meanwhile shows in the objects made after it, as it would in
    Clever's own listing.
    """
    iterator = iter(items)
    taken: list[Item] = []
    while len(taken) < count:
        chunk = list(islice(iterator, min(TURN_ITEMS, count - len(taken))))
        taken.extend(chunk)
        if len(chunk) < TURN_ITEMS or len(taken) >= count:
            break
        await asyncio.sleep(0)
    return taken


def objects(ids: Iterable[str], fetch: Callable[[str], dict[str, Any] | None]) -> Iterator[Item]:
    """(ID, object) for the IDs whose object exists."""
    for item_id in ids:
        obj = fetch(item_id)
        if obj is not None:
            yield item_id, obj


def take_groups(groups: Iterable[Group], limit: int) -> tuple[list[Group], bool]:
    """Whole groups until ``limit`` items are reached (the last one may run past it), and
    whether a non-empty group follows."""
    page: list[Group] = []
    size = 0
    for group in groups:
        if not group[1]:
            continue
        if size >= limit:
            return page, True
        page.append(group)
        size += len(group[1])
    return page, False


def envelope(
    request: PageRequest,
    *,
    forward: Iterator[Item] | None,
    backward: Iterator[Item] | None,
    uri: Callable[[str], str],
    groups: Iterator[Group] | None = None,
) -> dict[str, Any]:
    """A list response: ``backward`` (newest first) serves ``ending_before``, else ``forward``
    or ``groups`` of ready entries (events, listings with injected entries): the cursors of
    the first and last group make the links."""
    if groups is not None:
        taken, more = take_groups(groups, request.limit)
        entries = [entry for _, run in taken for entry in run]
        cursors = [cursor for cursor, _ in taken if cursor is not None]
        cursors = cursors[:1] + cursors[-1:]
    else:
        if backward is not None:
            page = take(backward, request.limit)[::-1]
            more = bool(page)
        elif forward is not None:
            page = take(forward, request.limit + 1)
            more = len(page) > request.limit
            page = page[: request.limit]
        else:
            raise ValueError("a page needs a forward or a backward iterator, or groups")
        entries = [{"data": obj, "uri": uri(item_id)} for item_id, obj in page]
        cursors = [item_id for item_id, _ in page[:1] + page[-1:]]
    links = [{"rel": "self", "uri": request.self_uri()}]
    if entries and more and cursors:
        links.append({"rel": "next", "uri": request.link(starting_after=cursors[-1])})
    if cursors and (request.after is not None or request.before is not None):
        links.append({"rel": "prev", "uri": request.link(ending_before=cursors[0])})
    return {"data": entries, "links": links}
