"""A sticky, balanced aiokafka partition assignor that tells every worker who owns what, by URL."""

from __future__ import annotations

import json
import logging
from collections.abc import Collection, Iterable, Mapping, Sequence
from typing import Any

from aiokafka.cluster import ClusterMetadata
from aiokafka.coordinator.assignors.abstract import AbstractPartitionAssignor
from aiokafka.coordinator.protocol import (
    ConsumerProtocolMemberAssignment,
    ConsumerProtocolMemberMetadata,
)

__all__ = ["RoutingAssignor", "balance"]

log = logging.getLogger(__name__)

#: topic -> partition -> the owning worker's URL (None: an owner that did not tell us one).
Routes = dict[str, dict[int, str | None]]


def balance(
    partitions: Sequence[int],
    members: Sequence[str],
    previous: Mapping[str, Collection[int]],
    load: Mapping[str, int] | None = None,
) -> dict[str, list[int]]:
    """Share one topic's ``partitions`` among ``members``, moving as few as balance allows.

    Every member ends with ``n // m`` or ``n // m + 1`` partitions. A member keeps what it owned
    (``previous``) up to that share; only the surplus, and partitions whose owner left, move,
    each to the member holding the fewest. Ties go to the lower ``load`` (partitions already
    given out for other topics), so one member does not collect every topic's odd partition;
    then to the lower member ID. Deterministic: the same input always gives the same plan.
    """
    if not members:
        return {}
    ordered = sorted(members)
    load = load or {}
    base, extra = divmod(len(partitions), len(ordered))
    valid = set(partitions)

    # Two members claiming one partition (a stale join) cannot both keep it: the lower ID does.
    claimed: set[int] = set()
    kept: dict[str, list[int]] = {}
    for member in ordered:
        mine = sorted(p for p in set(previous.get(member, ())) if p in valid and p not in claimed)
        claimed.update(mine)
        kept[member] = mine

    # The `extra` larger shares go first to members that already hold more than `base`: that
    # keeps one more partition in place for each, which is what makes the plan minimal.
    surplus = sorted(
        (member for member in ordered if len(kept[member]) > base),
        key=lambda member: (load.get(member, 0), member),
    )
    larger = set(surplus[:extra])
    spare = extra - len(larger)
    result = {member: kept[member][: base + 1 if member in larger else base] for member in ordered}

    taken = {p for held in result.values() for p in held}
    for partition in sorted(valid - taken):
        cap = base + 1 if spare else base
        member = min(
            (member for member in ordered if len(result[member]) < cap),
            key=lambda member: (len(result[member]), load.get(member, 0), member),
        )
        result[member].append(partition)
        if len(result[member]) > base:
            spare -= 1
    return {member: sorted(held) for member, held in result.items()}


class RoutingAssignor(AbstractPartitionAssignor):
    """One worker's assignor: sticky, balanced, and every member learns each partition's URL.

    An *instance*, not the class, goes in ``partition_assignment_strategy``: aiokafka only reads
    ``name`` and calls ``metadata``, ``assign`` and ``on_assignment`` on the objects given, and
    this worker's URL and last assignment are per-instance state. Members share their URL and
    current partitions in the join metadata; the leader hands every member the full routing
    table in the assignment's user data, so any worker can forward a request to the owner.
    """

    name = "clever-stream-routing"
    version = 0

    def __init__(self, url: str) -> None:
        self._url = url
        # Replaced whole, never mutated: readers (a web handler) see one assignment or the next.
        self._owned: dict[str, frozenset[int]] = {}
        self._routes: Routes = {}

    @property
    def url(self) -> str:
        """This worker's web URL, the one the others are told to forward to."""
        return self._url

    def metadata(self, topics: Iterable[str]) -> ConsumerProtocolMemberMetadata:  # type: ignore[override]  # aiokafka declares classmethods; it calls ours on the instance
        """Join metadata: our subscription, URL and current partitions, so the leader keeps them."""
        owned = {topic: sorted(parts) for topic, parts in self._owned.items() if parts}
        user_data = _dumps({"url": self._url, "owned": owned})
        return ConsumerProtocolMemberMetadata(self.version, sorted(set(topics)), user_data)

    def assign(  # type: ignore[override]  # aiokafka declares classmethods; it calls ours on the instance
        self,
        cluster: ClusterMetadata,
        member_metadata: Mapping[str, ConsumerProtocolMemberMetadata],
    ) -> dict[str, ConsumerProtocolMemberAssignment]:
        """The leader's plan: each partition to one subscriber, and the routes to everyone."""
        urls: dict[str, str | None] = {}
        owned: dict[str, dict[str, frozenset[int]]] = {}
        for member, meta in member_metadata.items():
            parsed = _parse_member(meta.user_data)
            if parsed is None:
                log.warning("Group member %s sent no clever-stream metadata: no route to it",
                            member)  # fmt: skip
                urls[member], owned[member] = None, {}
            else:
                # An empty URL: a worker without web views (a replay), which nobody routes to.
                urls[member], owned[member] = parsed[0] or None, parsed[1]

        topics = sorted({topic for meta in member_metadata.values() for topic in meta.subscription})
        plan: dict[str, dict[str, list[int]]] = {member: {} for member in member_metadata}
        load = dict.fromkeys(member_metadata, 0)
        routes: dict[str, dict[str, str | None]] = {}
        for topic in topics:
            partitions = cluster.partitions_for_topic(topic)
            if not partitions:
                log.warning("No partition metadata for topic %s: not assigned", topic)
                continue
            subscribers = [m for m, meta in member_metadata.items() if topic in meta.subscription]
            previous = {member: owned[member].get(topic, frozenset()) for member in subscribers}
            shares = balance(sorted(partitions), subscribers, previous, load)
            owner_of: dict[int, str] = {}
            for member, held in shares.items():
                if held:
                    plan[member][topic] = held
                    load[member] += len(held)
                    owner_of.update(dict.fromkeys(held, member))
            routes[topic] = {str(p): urls[owner_of[p]] for p in sorted(owner_of)}

        user_data = _dumps({"routes": routes})
        return {
            member: ConsumerProtocolMemberAssignment(
                self.version, sorted(plan[member].items()), user_data
            )
            for member in sorted(member_metadata)
        }

    def on_assignment(self, assignment: ConsumerProtocolMemberAssignment) -> None:  # type: ignore[override]  # aiokafka declares classmethods; it calls ours on the instance
        """Remember our partitions (for the next join) and the group's routing table."""
        owned: dict[str, set[int]] = {}
        for topic, partitions in assignment.assignment:
            owned.setdefault(topic, set()).update(partitions)
        self._owned = {topic: frozenset(parts) for topic, parts in owned.items()}
        routes = _parse_routes(assignment.user_data)
        if routes is None:
            log.warning("Assignment carried no clever-stream routes: no partition has a URL")
            routes = {}
        self._routes = routes

    def owner_url(self, topic: str, partition: int) -> str | None:
        """The URL of the worker owning ``topic``/``partition``, if the last assignment knew it."""
        return self._routes.get(topic, {}).get(partition)

    def owned(self, topic: str) -> frozenset[int]:
        """This worker's partitions of ``topic`` in its last assignment."""
        return self._owned.get(topic, frozenset())


def _dumps(value: object) -> bytes:
    return json.dumps(value, separators=(",", ":"), sort_keys=True).encode()


def _loads(data: bytes | None) -> Any:
    """The JSON in ``data``, or None for anything that is not (an older worker's, or none)."""
    if not data:
        return None
    try:
        return json.loads(data)
    except (ValueError, RecursionError):  # bad JSON or UTF-8; absurdly deep nesting
        return None


def _is_partition(value: object) -> bool:
    return type(value) is int and value >= 0  # bool is an int, and never a partition


def _parse_member(user_data: bytes | None) -> tuple[str, dict[str, frozenset[int]]] | None:
    """A member's URL (empty without web views) and owned partitions; None unless the
    whole is ours."""
    data = _loads(user_data)
    if not isinstance(data, dict):
        return None
    url, owned = data.get("url"), data.get("owned")
    if not isinstance(url, str) or not isinstance(owned, dict):
        return None
    parsed: dict[str, frozenset[int]] = {}
    for topic, partitions in owned.items():
        if not isinstance(partitions, list) or not all(_is_partition(p) for p in partitions):
            return None
        parsed[topic] = frozenset(partitions)
    return url, parsed


def _parse_routes(user_data: bytes | None) -> Routes | None:
    """The routing table in an assignment, or None unless the whole of it is ours."""
    data = _loads(user_data)
    routes = data.get("routes") if isinstance(data, dict) else None
    if not isinstance(routes, dict):
        return None
    parsed: Routes = {}
    for topic, table in routes.items():
        if not isinstance(table, dict):
            return None
        parsed[topic] = {}
        for key, url in table.items():
            if not (key.isascii() and key.isdecimal()) or not (url is None or isinstance(url, str)):
                return None
            parsed[topic][int(key)] = url
    return parsed
