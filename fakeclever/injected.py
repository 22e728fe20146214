"""Entries a test injects into what the fake serves: malformed items Clever's API could send.

An injected entry is served as it is (wrapped as a list item, or as the raw list entry), at
a chosen point: in an event feed after the events so far (``EventFeed.inject``), or in the
Data API's user listings just before a chosen ID (:class:`InjectedUsers`). Nothing else in
the fake sees it: ground truth, counts and ``GET /<path>/{id}`` know only real records.
"""

from __future__ import annotations

from bisect import insort
from collections.abc import Callable, Iterable, Iterator
from itertools import count
from typing import Any

#: The roles whose listings take injected entries (``/users?role=...``, and ``/users``).
ROLES = ("student", "contact")
_END = (1, "")  # sorts after every ID: the end of a listing


def list_entry(item: Any, *, wrapped: bool, uri: str) -> Any:
    """The list entry that serves ``item``: ``{"data": item, "uri": uri}``, or ``item``."""
    return {"data": item, "uri": uri} if wrapped else item


def own_id(entry: Any) -> str | None:
    """The ID a lenient client reads from a list entry: its object's non-empty string ``id``
    (an entry with ``data`` and no ``id`` of its own is a wrapper)."""
    obj = entry
    if isinstance(entry, dict) and "data" in entry and "id" not in entry:
        obj = entry["data"]
    found = obj.get("id") if isinstance(obj, dict) else None
    return found if isinstance(found, str) and found else None


class InjectedUsers:
    """Entries injected into a district's user listings, each just before an ID of a role."""

    def __init__(self) -> None:
        # role -> ((0, before) or _END, order of injection, entry), ascending
        self._by_role: dict[str, list[tuple[tuple[int, str], int, Any]]] = {r: [] for r in ROLES}
        self._order = count()

    def add(self, entry: Any, *, role: str, before: str | None) -> None:
        """Serve ``entry`` in ``role``'s listings just before the first listed ID at or after
        ``before`` (None: at the listing's end), after the entries injected there earlier."""
        if role not in self._by_role:
            raise ValueError(f"entries go into the listings of {', '.join(ROLES)}, not {role!r}")
        key = _END if before is None else (0, before)
        insort(self._by_role[role], (key, next(self._order), entry))

    def any(self, role: str | None) -> bool:
        """Whether the listing of ``role`` (None: every user) has injected entries."""
        roles = ROLES if role is None else (role,)
        return any(self._by_role.get(r) for r in roles)

    def groups(
        self,
        listed: Iterable[tuple[str, dict[str, Any]]],
        *,
        role: str | None,
        after: str | None,
        uri: Callable[[str], str],
    ) -> Iterator[tuple[str | None, list[Any]]]:
        """The listing after ``after`` as runs a page never splits: each listed record with
        the entries injected just before it (its ID is the run's cursor), then the entries
        injected after the last one (cursor None)."""
        roles = ROLES if role is None else (role,)
        found = sorted(e for r in roles for e in self._by_role.get(r, []))
        pending = iter(e for e in found if after is None or e[0] > (0, after))
        waiting = next(pending, None)
        for record_id, obj in listed:
            run: list[Any] = []
            while waiting is not None and waiting[0] <= (0, record_id):
                run.append(waiting[2])
                waiting = next(pending, None)
            run.append({"data": obj, "uri": uri(record_id)})
            yield record_id, run
        tail = [] if waiting is None else [waiting[2], *(e[2] for e in pending)]
        if tail:
            yield None, tail
