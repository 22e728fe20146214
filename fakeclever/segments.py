"""Ordered ID sequences of a listing (virtual base ranges, then lists of IDs made later).

A list endpoint pages through a few ascending sequences; ``starting_after`` and
``ending_before`` are binary searches in them, so a page costs O(page) at any district size.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterator, Sequence
from typing import overload

from fakeclever.ids import Space, make_id


class IdRange(Sequence[str]):
    """The IDs ``make_id(tag, space, 0 .. count-1)`` as a sequence, never materialised."""

    def __init__(self, tag: str, space: Space, count: int) -> None:
        self._tag, self._space, self._count = tag, space, count

    def __len__(self) -> int:
        return self._count

    @overload
    def __getitem__(self, index: int) -> str: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[str]: ...
    def __getitem__(self, index: int | slice) -> str | Sequence[str]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(self._count))]
        if not 0 <= index < self._count:
            raise IndexError(index)
        return make_id(self._tag, self._space, index)


def page_ids(
    segments: list[Sequence[str]], *, after: str | None = None, before: str | None = None
) -> Iterator[str]:
    """IDs of the segments after ``after`` (ascending) or, with ``before``, the ones just
    before it (descending: the caller takes what it needs and reverses)."""
    if before is not None:
        for segment in reversed(segments):
            for index in range(bisect_left(segment, before) - 1, -1, -1):
                yield segment[index]
        return
    for segment in segments:
        start = 0 if after is None else bisect_right(segment, after)
        for index in range(start, len(segment)):
            yield segment[index]
