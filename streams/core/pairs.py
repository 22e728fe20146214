"""An immutable, hashable student-to-privilege mapping that keeps Clever's order."""

from __future__ import annotations

from collections.abc import ItemsView, Iterable, Iterator, KeysView, Mapping, ValuesView
from typing import Any

from schemas.records import Privilege


class FrozenPairs(Mapping[str, Privilege]):
    """A contact's privileges by student ID, frozen so a frozen record can hold it.

    Iteration follows Clever's order (the first listing of each student); equality, as for
    any mapping, ignores order, and compares equal to a plain ``dict`` of the same pairs.
    """

    __slots__ = ("_by_student", "_hash")

    def __init__(
        self, pairs: Mapping[str, Privilege] | Iterable[tuple[str, Privilege]] = ()
    ) -> None:
        self._by_student: dict[str, Privilege] = dict(pairs)
        self._hash: int | None = None

    def __getitem__(self, student_id: str) -> Privilege:
        return self._by_student[student_id]

    def __iter__(self) -> Iterator[str]:
        return iter(self._by_student)

    def __len__(self) -> int:
        return len(self._by_student)

    # The lookups and views of the dict itself: the Mapping mixins go through __getitem__
    # and __iter__ in Python, and the diff and the snapshot read every pair.
    def __contains__(self, student_id: object) -> bool:
        return student_id in self._by_student

    def get(self, student_id: str, default: Any = None) -> Any:
        return self._by_student.get(student_id, default)

    def keys(self) -> KeysView[str]:
        return self._by_student.keys()

    def items(self) -> ItemsView[str, Privilege]:
        return self._by_student.items()

    def values(self) -> ValuesView[Privilege]:
        return self._by_student.values()

    def __hash__(self) -> int:
        if self._hash is None:
            self._hash = hash(frozenset(self._by_student.items()))
        return self._hash

    def __repr__(self) -> str:
        return f"FrozenPairs({self._by_student!r})"
