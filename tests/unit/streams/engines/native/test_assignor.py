"""The routing assignor: balanced, sticky, every route known, through aiokafka's own codecs."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from types import SimpleNamespace

import pytest
from aiokafka.cluster import ClusterMetadata
from aiokafka.consumer.group_coordinator import GroupCoordinator
from aiokafka.coordinator.assignors.abstract import AbstractPartitionAssignor
from aiokafka.coordinator.protocol import ConsumerProtocol
from aiokafka.protocol.group import JoinGroupResponse_v5
from aiokafka.protocol.metadata import MetadataResponse_v0
from hypothesis import given
from hypothesis import strategies as st

from streams.engines.native.assignor import RoutingAssignor, balance

TOPIC = "privileges"
OTHER = "contacts"


def cluster_of(**partition_counts: int) -> ClusterMetadata:
    """A real aiokafka cluster view, fed a broker's metadata answer for these topics."""
    cluster = ClusterMetadata()
    topics = [
        (0, topic, [(0, p, 0, [0], [0]) for p in range(count)])
        for topic, count in partition_counts.items()
    ]
    cluster.update_metadata(MetadataResponse_v0([(0, "localhost", 9092)], topics))
    return cluster


def url_of(member: str) -> str:
    return f"http://{member}.workers:8080"


Workers = dict[str, RoutingAssignor]


def rebalance(
    workers: Workers,
    cluster: ClusterMetadata,
    *,
    topics: Mapping[str, list[str]] | None = None,
    foreign: Mapping[str, bytes | None] | None = None,
) -> dict[str, dict[str, list[int]]]:
    """One generation as aiokafka runs it, every struct through its wire encoding.

    Each worker's join metadata is encoded and decoded, the first (sorted) worker leads and
    assigns, and each worker gets its encoded assignment back. ``foreign`` adds members of
    some other release that send these user-data bytes; returns member -> topic -> partitions.
    """
    topics = topics or {}
    foreign = foreign or {}
    wire = {
        member: worker.metadata(topics.get(member, [TOPIC])).encode()
        for member, worker in workers.items()
    }
    for member, user_data in foreign.items():
        wire[member] = ConsumerProtocol.METADATA(0, [TOPIC], user_data).encode()
    decoded = {member: ConsumerProtocol.METADATA.decode(data) for member, data in wire.items()}
    leader = workers[min(workers)]
    assignments = leader.assign(cluster, decoded)
    plans: dict[str, dict[str, list[int]]] = {}
    for member, assignment in assignments.items():
        received = ConsumerProtocol.ASSIGNMENT.decode(assignment.encode())
        if member in workers:
            workers[member].on_assignment(received)
        plans[member] = {topic: list(parts) for topic, parts in received.assignment}
    return plans


def owners(plans: Mapping[str, Mapping[str, list[int]]], topic: str = TOPIC) -> dict[int, str]:
    return {p: member for member, plan in plans.items() for p in plan.get(topic, [])}


@pytest.fixture
def workers() -> Callable[..., Workers]:
    """A factory of workers by member ID, each with its own URL."""

    def make(*members: str) -> Workers:
        return {member: RoutingAssignor(url_of(member)) for member in members}

    return make


# -- the pure plan ----------------------------------------------------------------------------


@st.composite
def groups(draw: st.DrawFn) -> tuple[list[int], list[str], dict[str, set[int]]]:
    """Members 1..5, partitions 1..12, and any previous ownership, some by members now gone."""
    members = [f"m{i}" for i in range(draw(st.integers(1, 5)))]
    partitions = list(range(draw(st.integers(1, 12))))
    candidates = [*members, "gone1", "gone2"]
    previous: dict[str, set[int]] = {}
    for p in partitions:
        owner = draw(st.none() | st.sampled_from(candidates))
        if owner is not None:
            previous.setdefault(owner, set()).add(p)
    return partitions, members, previous


@given(groups())
def test_every_partition_once_balanced_and_only_the_surplus_moves(
    group: tuple[list[int], list[str], dict[str, set[int]]],
) -> None:
    partitions, members, previous = group
    shares = balance(partitions, members, previous)

    assigned = sorted(p for held in shares.values() for p in held)
    assert assigned == partitions
    assert set(shares) == set(members)
    counts = [len(held) for held in shares.values()]
    assert max(counts) - min(counts) <= 1

    base, extra = divmod(len(partitions), len(members))
    for member in members:
        if len(previous.get(member, ())) <= base:
            assert previous.get(member, set()) <= set(shares[member])
    # The most any balanced plan can keep: a fair share each, plus one for `extra` members
    # that held more than that.
    over = sum(1 for member in members if len(previous.get(member, ())) > base)
    most = sum(min(len(previous.get(m, ())), base) for m in members) + min(extra, over)
    kept = sum(len(previous.get(member, set()) & set(shares[member])) for member in members)
    assert kept == most


def test_the_plan_is_deterministic_whatever_the_input_order() -> None:
    previous = {"b": {3, 1}, "a": {0}}
    assert balance([0, 1, 2, 3, 4], ["b", "c", "a"], previous) == balance(
        [4, 3, 2, 1, 0], ["a", "c", "b"], {"a": [0], "b": [1, 3]}
    )


def test_a_partition_claimed_twice_stays_with_one_claimer() -> None:
    assert balance([0, 1], ["a", "b"], {"a": {0}, "b": {0}}) == {"a": [0], "b": [1]}


def test_odd_partitions_of_several_topics_spread_over_members(workers) -> None:
    group = workers("a", "b", "c")
    topics = {member: [TOPIC, OTHER, "third"] for member in group}

    plans = rebalance(group, cluster_of(**{TOPIC: 1, OTHER: 1, "third": 1}), topics=topics)

    assert sorted(sum(len(held) for held in plan.values()) for plan in plans.values()) == [1, 1, 1]


# -- stickiness across generations -----------------------------------------------------------


def test_a_joining_member_takes_only_the_surplus(workers) -> None:
    group = workers("a", "b", "c")
    cluster = cluster_of(**{TOPIC: 12})
    before = owners(rebalance(group, cluster))

    group |= workers("d")
    after = owners(rebalance(group, cluster))

    moved = {p for p in before if before[p] != after[p]}
    assert len(moved) == 3
    assert {after[p] for p in moved} == {"d"}
    assert sorted(before[p] for p in moved) == ["a", "b", "c"]


def test_a_leaving_members_partitions_alone_move_to_the_fewest(workers) -> None:
    group = workers("a", "b", "c", "d")
    cluster = cluster_of(**{TOPIC: 12})
    before = owners(rebalance(group, cluster))

    del group["b"]
    after = owners(rebalance(group, cluster))

    moved = {p for p in before if before[p] != after[p]}
    assert moved == {p for p, member in before.items() if member == "b"}
    assert sorted(after[p] for p in moved) == ["a", "c", "d"]


def test_an_unchanged_group_keeps_every_partition(workers) -> None:
    group = workers("a", "b", "c")
    cluster = cluster_of(**{TOPIC: 7, OTHER: 5})
    topics = {member: [TOPIC, OTHER] for member in group}
    first = rebalance(group, cluster, topics=topics)

    assert rebalance(group, cluster, topics=topics) == first
    assert group["a"].owned(TOPIC) == frozenset(first["a"][TOPIC])


# -- routes ----------------------------------------------------------------------------------


def test_every_worker_knows_the_owner_url_of_every_partition(workers) -> None:
    group = workers("a", "b", "c")
    topics = {"a": [TOPIC, OTHER], "b": [TOPIC], "c": [TOPIC, OTHER]}

    plans = rebalance(group, cluster_of(**{TOPIC: 8, OTHER: 3}), topics=topics)

    assert OTHER not in plans["b"]
    for topic, count in ((TOPIC, 8), (OTHER, 3)):
        owner_of = owners(plans, topic)
        assert sorted(owner_of) == list(range(count))
        for worker in group.values():
            for p, member in owner_of.items():
                assert worker.owner_url(topic, p) == url_of(member)
    for member, worker in group.items():
        for topic in (TOPIC, OTHER):
            assert worker.owned(topic) == frozenset(plans[member].get(topic, []))


def test_unknown_topics_and_partitions_have_no_route(workers) -> None:
    group = workers("a", "b")
    topics = {"a": [TOPIC, "not-yet-created"], "b": [TOPIC]}

    plans = rebalance(group, cluster_of(**{TOPIC: 2}), topics=topics)

    assert all("not-yet-created" not in plan for plan in plans.values())
    assert group["a"].owner_url("not-yet-created", 0) is None
    assert group["a"].owner_url(TOPIC, 2) is None
    assert group["a"].owned("not-yet-created") == frozenset()


def test_before_any_assignment_a_worker_knows_nothing() -> None:
    worker = RoutingAssignor(url_of("a"))

    assert worker.owner_url(TOPIC, 0) is None
    assert worker.owned(TOPIC) == frozenset()
    meta = ConsumerProtocol.METADATA.decode(worker.metadata({TOPIC}).encode())
    assert meta.user_data is not None
    assert json.loads(meta.user_data) == {"url": url_of("a"), "owned": {}}
    assert meta.subscription == [TOPIC]


# -- members and leaders of another release ------------------------------------------------------

FOREIGN_USER_DATA = [
    pytest.param(None, id="null"),
    pytest.param(b"", id="empty"),
    pytest.param(b"\xff\xfe\x00", id="not-utf8"),
    pytest.param(b"not json", id="not-json"),
    pytest.param(b"[1, 2]", id="json-list"),
    pytest.param(b'{"url": 5, "owned": {}}', id="url-not-text"),
    pytest.param(b'{"url": "http://x", "owned": {"privileges": [true]}}', id="owned-bool"),
    pytest.param(b'{"url": "http://x", "owned": {"privileges": [-1]}}', id="owned-negative"),
    pytest.param(b"[" * 100_000 + b"]" * 100_000, id="absurdly-deep"),
]


@pytest.mark.parametrize("user_data", FOREIGN_USER_DATA)
def test_a_foreign_member_gets_partitions_but_no_route_and_no_stickiness(
    workers, user_data: bytes | None
) -> None:
    group = workers("a", "b")
    cluster = cluster_of(**{TOPIC: 6})

    plans = rebalance(group, cluster, foreign={"z-old": user_data})

    assert sorted(len(plan[TOPIC]) for plan in plans.values()) == [2, 2, 2]
    for p in plans["z-old"][TOPIC]:
        assert group["a"].owner_url(TOPIC, p) is None
    for p in plans["b"][TOPIC]:
        assert group["a"].owner_url(TOPIC, p) == url_of("b")


def test_a_foreign_members_claims_are_not_kept(workers) -> None:
    group = workers("a")
    claim = json.dumps({"url": 7, "owned": {TOPIC: [0, 1]}}).encode()

    plans = rebalance(group, cluster_of(**{TOPIC: 2}), foreign={"b": claim})

    assert plans == {"a": {TOPIC: [0]}, "b": {TOPIC: [1]}}


@pytest.mark.parametrize(
    "user_data",
    [
        pytest.param(b"", id="empty"),
        pytest.param(b'{"routes": {"privileges": {"zero": "http://x"}}}', id="bad-partition"),
        pytest.param(b'{"routes": {"privileges": {"0": 1}}}', id="url-not-text"),
        pytest.param(b'{"routes": ["privileges"]}', id="routes-list"),
    ],
)
def test_an_assignment_without_our_routes_still_gives_the_partitions(user_data: bytes) -> None:
    worker = RoutingAssignor(url_of("a"))
    assignment = ConsumerProtocol.ASSIGNMENT(0, [(TOPIC, [0, 2])], user_data)

    worker.on_assignment(ConsumerProtocol.ASSIGNMENT.decode(assignment.encode()))

    assert worker.owned(TOPIC) == frozenset({0, 2})
    assert worker.owner_url(TOPIC, 0) is None
    meta = ConsumerProtocol.METADATA.decode(worker.metadata([TOPIC]).encode())
    assert meta.user_data is not None
    assert json.loads(meta.user_data)["owned"] == {TOPIC: [0, 2]}


# -- what aiokafka's coordinator does with it --------------------------------------------------


async def test_aiokafkas_coordinator_drives_instances(
    workers: Callable[..., Workers],
) -> None:
    """The leader's half of a real ``GroupCoordinator``, with the broker I/O stubbed out.

    aiokafka looks an assignor up by ``name`` and calls ``metadata``/``assign``/
    ``on_assignment`` on the very objects in ``partition_assignment_strategy``: instances,
    each with its own URL and state, work as well as classes.
    """
    group = workers("a", "b")
    assert all(isinstance(worker, AbstractPartitionAssignor) for worker in group.values())
    cluster = cluster_of(**{TOPIC: 4})

    async def no_wait() -> None:
        return None

    coordinator = GroupCoordinator.__new__(GroupCoordinator)
    coordinator._assignors = (group["a"],)  # noqa: SLF001 - aiokafka's coordinator, its broker I/O stubbed
    # Stand-ins with just what _perform_assignment reads of them.
    coordinator._subscription = SimpleNamespace(subscribed_pattern=None)  # type: ignore[assignment]  # noqa: SLF001 - aiokafka's coordinator, its broker I/O stubbed
    coordinator._client = SimpleNamespace(  # type: ignore[assignment]  # noqa: SLF001 - aiokafka's coordinator, its broker I/O stubbed
        set_topics=lambda topics: None, _maybe_wait_metadata=no_wait
    )
    coordinator._cluster = cluster  # noqa: SLF001 - aiokafka's coordinator, its broker I/O stubbed
    coordinator.group_id = "routing-test"
    members = [
        (member, None, worker.metadata([TOPIC]).encode()) for member, worker in group.items()
    ]
    response = JoinGroupResponse_v5(0, 0, 1, RoutingAssignor.name, "a", "a", members)

    assignments = await coordinator._perform_assignment(response)  # noqa: SLF001 - the leader's half of aiokafka's join

    assert coordinator._lookup_assignor(RoutingAssignor.name) is group["a"]  # noqa: SLF001 - aiokafka's own lookup of the assignor
    for member, worker in group.items():
        worker.on_assignment(ConsumerProtocol.ASSIGNMENT.decode(assignments[member].encode()))
    assert group["a"].owned(TOPIC) | group["b"].owned(TOPIC) == frozenset(range(4))
    assert group["a"].owned(TOPIC).isdisjoint(group["b"].owned(TOPIC))
    for p in range(4):
        owner = "a" if p in group["a"].owned(TOPIC) else "b"
        assert group["b"].owner_url(TOPIC, p) == url_of(owner)
