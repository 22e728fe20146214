"""Clever's list envelope and paging links, shared by every list endpoint of the server.

A list is ``{"data": [{"data": obj, "uri": ...}], "links": [...]}`` with ``self`` always,
``next`` unless this is the last page, and ``prev`` when the request paged from a cursor
(API_FACTS §1). Link URIs are host-relative paths with the version and the query.
"""

from __future__ import annotations

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


def take(items: Iterable[Item], count: int) -> list[Item]:
    """The first ``count`` items."""
    return list(islice(items, count))


def objects(ids: Iterable[str], fetch: Callable[[str], dict[str, Any] | None]) -> Iterator[Item]:
    """(ID, object) for the IDs whose object exists."""
    for item_id in ids:
        obj = fetch(item_id)
        if obj is not None:
            yield item_id, obj


def envelope(
    request: PageRequest,
    *,
    forward: Iterator[Item] | None,
    backward: Iterator[Item] | None,
    uri: Callable[[str], str],
) -> dict[str, Any]:
    """A list response: ``backward`` (newest first) serves ``ending_before``, else ``forward``."""
    if backward is not None:
        page = take(backward, request.limit)[::-1]
        more = bool(page)
    else:
        if forward is None:
            raise ValueError("a page needs a forward or a backward iterator")
        page = take(forward, request.limit + 1)
        more = len(page) > request.limit
        page = page[: request.limit]
    links = [{"rel": "self", "uri": request.self_uri()}]
    if page and more:
        links.append({"rel": "next", "uri": request.link(starting_after=page[-1][0])})
    if page and (request.after is not None or request.before is not None):
        links.append({"rel": "prev", "uri": request.link(ending_before=page[0][0])})
    return {"data": [{"data": obj, "uri": uri(item_id)} for item_id, obj in page], "links": links}
