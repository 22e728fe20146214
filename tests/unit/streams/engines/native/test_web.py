"""The engine's views server: answered by the owner of the district, forwarded once, or 503."""

from __future__ import annotations

import itertools
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from urllib.parse import quote

import httpx
import pytest
from aiokafka.partitioner import DefaultPartitioner

from schemas.codec import default_codec
from schemas.keys import district_key
from streams.engines.native.web import FORWARDED_HEADER, ViewsServer
from streams.metrics import WorkerMetrics
from streams.processor.handler import RecordHandler
from streams.state.backing import MemoryBacking
from streams.state.reader import TableReader
from streams.state.tables import TableFormat
from streams.state.transaction import PartitionTransaction
from streams.topics import OutputTopics
from tests.unit.streams.processor.builders import (
    AUNT,
    DISTRICT,
    NOW,
    PARENT,
    event,
    raw_event,
    v3_contact,
    v3_student,
)

PARTITIONS = 4
TOPICS = OutputTopics.of("unit")
CODEC = default_codec()
TIMEOUT_S = 5.0

PARENT_JSON = {
    "relationship": "PARENT",
    "relationship_raw": "Parent",
    "contact_type": "PARENT_GUARDIAN",
    "contact_type_raw": "Parent/Guardian",
}
AUNT_JSON = {
    "relationship": "AUNT_UNCLE",
    "relationship_raw": "Aunt/Uncle",
    "contact_type": "FAMILY",
    "contact_type_raw": "Family",
}


def seeded_partition() -> MemoryBacking:
    """DISTRICT's partition with students s1 to s3 and c1 (parent of s1, aunt of s2, and
    listing s4, which does not exist) committed, and c2 (parent of s1) only pending: an open
    transaction the views must not show."""
    backing = MemoryBacking()
    handler = RecordHandler(topics=TOPICS, codec=CODEC, clock=lambda: NOW)
    store = PartitionTransaction(backing, table_format=TableFormat(CODEC))
    students = [event("users.created", v3_student(student)) for student in ("s1", "s2", "s3")]
    contacts = [
        event("users.created", v3_contact(contact, listed))
        for contact, listed in [
            ("c1", {"s1": PARENT, "s2": AUNT, "s4": AUNT}),
            ("c2", {"s1": PARENT}),
        ]
    ]
    for offset, created in enumerate([*students, *contacts]):
        value = CODEC.encode(raw_event(created))
        handler.handle(
            partition=HOME, offset=offset, key=district_key(DISTRICT), value=value, store=store
        )
        if offset == len(students):
            store.prepare()
            store.commit(1)
    store.prepare()  # c2 prepared, never committed
    return backing


def new_handler() -> RecordHandler:
    return RecordHandler(topics=TOPICS, codec=CODEC)


@dataclass
class FakeEngine:
    """The engine as the views see it: committed stores of the partitions ready here."""

    stores: dict[int, TableReader] = field(default_factory=dict)
    raw_topic: str = TOPICS.raw
    asked: list[int] = field(default_factory=list)
    ready: bool = False
    handler: RecordHandler = field(
        default_factory=lambda: RecordHandler(topics=TOPICS, codec=CODEC)
    )

    def __post_init__(self) -> None:
        self.metrics = WorkerMetrics(self.handler, owned=lambda: len(self.stores))

    def is_ready(self) -> bool:
        return self.ready

    def committed_store(self, partition: int) -> TableReader | None:
        self.asked.append(partition)
        return self.stores.get(partition)


@dataclass
class FakeOwners:
    """The last assignment: raw partition -> the owner's URL."""

    urls: dict[int, str] = field(default_factory=dict)
    asked: list[tuple[str, int]] = field(default_factory=list)

    def owner_url(self, topic: str, partition: int) -> str | None:
        self.asked.append((topic, partition))
        return self.urls.get(partition)


def partition_of(district: str) -> int:
    return ViewsServer(FakeEngine(), FakeOwners(), raw_partitions=PARTITIONS).partition_of(district)


HOME = partition_of(DISTRICT)
TOKEN = "s3cret-token"  # noqa: S105 - a test's own


def district_on(partition: int) -> str:
    """A district whose records land on raw ``partition``."""
    return next(
        name for n in itertools.count() if partition_of(name := f"district-{n}") == partition
    )


ELSEWHERE = (HOME + 1) % PARTITIONS


def free_port() -> int:
    """A port nothing listens on now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class Running:
    server: ViewsServer
    engine: FakeEngine
    owners: FakeOwners
    url: str


StartServer = Callable[..., Awaitable[Running]]


@pytest.fixture
async def start_server() -> AsyncIterator[StartServer]:
    """Starts views servers on free loopback ports; stops them all after the test."""
    started: list[ViewsServer] = []

    async def start(
        stores: dict[int, TableReader] | None = None,
        owners: dict[int, str] | None = None,
        token: str | None = None,
    ) -> Running:
        engine, fake_owners = FakeEngine(stores or {}), FakeOwners(owners or {})
        server = ViewsServer(engine, fake_owners, raw_partitions=PARTITIONS, token=token)
        port = free_port()
        await server.start("127.0.0.1", port)
        started.append(server)
        return Running(server, engine, fake_owners, f"http://127.0.0.1:{port}")

    yield start
    for server in reversed(started):
        await server.stop()


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=TIMEOUT_S) as client:
        yield client


@pytest.fixture
def home_store() -> TableReader:
    return TableReader(seeded_partition(), table_format=TableFormat(CODEC))


def students_path(contact: str, district: str = DISTRICT) -> str:
    return f"/districts/{district}/contacts/{contact}/students"


def contacts_path(student: str, district: str = DISTRICT) -> str:
    return f"/districts/{district}/students/{student}/contacts"


async def test_an_owned_partition_answers_from_its_committed_tables(
    start_server: StartServer, http: httpx.AsyncClient, home_store: TableReader
) -> None:
    owner = await start_server({HOME: home_store})

    students = await http.get(owner.url + students_path("c1"))
    contacts = await http.get(owner.url + contacts_path("s1"))
    pending_only = await http.get(owner.url + students_path("c2"))
    # c1 lists s4, which does not exist: neither view says c1 may see it.
    missing = await http.get(owner.url + contacts_path("s4"))

    assert students.status_code == 200
    assert students.headers["content-type"].startswith("application/json")
    assert students.json() == {
        "district_id": DISTRICT,
        "contact_id": "c1",
        "students": [{"student_id": "s1", **PARENT_JSON}, {"student_id": "s2", **AUNT_JSON}],
    }
    assert contacts.status_code == 200
    assert contacts.json() == {
        "district_id": DISTRICT,
        "student_id": "s1",
        "contacts": [{"contact_id": "c1", **PARENT_JSON}],
    }
    assert pending_only.json() == {"district_id": DISTRICT, "contact_id": "c2", "students": []}
    assert missing.json() == {"district_id": DISTRICT, "student_id": "s4", "contacts": []}
    assert owner.owners.asked == []


async def test_an_unknown_contact_of_an_owned_partition_is_an_empty_answer(
    start_server: StartServer, http: httpx.AsyncClient, home_store: TableReader
) -> None:
    owner = await start_server({HOME: home_store})

    answer = await http.get(owner.url + contacts_path("nobody"))

    assert answer.status_code == 200
    assert answer.json() == {"district_id": DISTRICT, "student_id": "nobody", "contacts": []}


async def test_a_partition_owned_elsewhere_is_forwarded_to_its_owner(
    start_server: StartServer, http: httpx.AsyncClient, home_store: TableReader
) -> None:
    owner = await start_server({HOME: home_store})
    other = await start_server({ELSEWHERE: home_store}, owners={HOME: owner.url + "/"})

    forwarded = await http.get(other.url + students_path("c1") + "?detail=1")
    direct = await http.get(owner.url + students_path("c1"))

    assert forwarded.status_code == 200
    assert forwarded.headers["content-type"].startswith("application/json")
    assert forwarded.json() == direct.json()
    assert forwarded.json()["students"][0]["student_id"] == "s1"
    assert other.owners.asked == [(TOPICS.raw, HOME)]


async def test_the_owners_503_comes_back_with_retry_after(
    start_server: StartServer, http: httpx.AsyncClient
) -> None:
    # The assignment says `restoring` owns the partition, which it does not serve yet.
    restoring = await start_server({})
    asked = await start_server({}, owners={HOME: restoring.url})

    answer = await http.get(asked.url + students_path("c1"))

    assert answer.status_code == 503
    assert answer.headers["Retry-After"] == "1"
    assert "no ready owner" in answer.json()["error"], "the owner's answer, passed on"
    assert restoring.engine.asked == [HOME]


async def test_a_forwarded_request_for_a_partition_not_owned_is_503_not_forwarded(
    start_server: StartServer, http: httpx.AsyncClient, home_store: TableReader
) -> None:
    owner = await start_server({HOME: home_store})
    stale = await start_server({}, owners={HOME: owner.url})

    answer = await http.get(stale.url + students_path("c1"), headers={FORWARDED_HEADER: "1"})

    assert answer.status_code == 503
    assert answer.headers["Retry-After"] == "1"
    assert str(HOME) in answer.json()["error"]
    assert owner.engine.asked == [], "a forwarded request is never forwarded again"


async def test_a_worker_that_thinks_it_owns_what_it_does_not_serve_forwards_once(
    start_server: StartServer, http: httpx.AsyncClient
) -> None:
    confused = await start_server({})
    confused.owners.urls[HOME] = confused.url

    answer = await http.get(confused.url + students_path("c1"))

    assert answer.status_code == 503
    assert answer.headers["Retry-After"] == "1"
    assert confused.engine.asked == [HOME, HOME], "asked once, then forwarded to itself once"


async def test_no_known_owner_is_503(
    start_server: StartServer, http: httpx.AsyncClient, home_store: TableReader
) -> None:
    nobody = await start_server({ELSEWHERE: home_store})

    answer = await http.get(nobody.url + contacts_path("s1"))

    assert answer.status_code == 503
    assert answer.headers["Retry-After"] == "1"
    assert nobody.owners.asked == [(TOPICS.raw, HOME)]


async def test_an_owner_that_does_not_answer_is_503(
    start_server: StartServer, http: httpx.AsyncClient
) -> None:
    gone = f"http://127.0.0.1:{free_port()}"
    asked = await start_server({}, owners={HOME: gone})

    answer = await http.get(asked.url + students_path("c1"))

    assert answer.status_code == 503
    assert answer.headers["Retry-After"] == "1"


async def test_the_router_lists_owners_and_the_partitions_ready_here(
    start_server: StartServer, http: httpx.AsyncClient, home_store: TableReader
) -> None:
    urls = {HOME: "http://a:8080", ELSEWHERE: "http://b:8080"}
    worker = await start_server({HOME: home_store}, owners=urls)

    answer = await http.get(worker.url + "/router")

    assert answer.status_code == 200
    assert answer.json() == {
        "partitions": {str(p): urls.get(p) for p in range(PARTITIONS)},
        "ready_here": [HOME],
    }


def test_a_district_is_on_the_partition_the_producers_partitioner_picks() -> None:
    partitioner = DefaultPartitioner()
    all_partitions = list(range(PARTITIONS))
    for partition in range(PARTITIONS):
        district = district_on(partition)
        assert partitioner(district_key(district), all_partitions, all_partitions) == partition


@pytest.mark.parametrize(
    "character",
    [
        pytest.param(" ", id="space"),
        pytest.param("?", id="question-mark"),
        pytest.param("#", id="hash"),
    ],
)
async def test_a_forwarded_answer_equals_the_owners_for_any_escaped_id(
    start_server: StartServer, http: httpx.AsyncClient, home_store: TableReader, character: str
) -> None:
    district = next(
        name for n in itertools.count() if partition_of(name := f"district{character}{n}") == HOME
    )
    path = students_path("c1", district=quote(district, safe=""))
    owner = await start_server({HOME: home_store})
    other = await start_server({}, owners={HOME: owner.url})

    direct = await http.get(owner.url + path)
    forwarded = await http.get(other.url + path)

    assert direct.status_code == 200
    assert direct.json()["district_id"] == district
    # The owner must be asked for the same path: the raw (escaped) one, not the decoded one.
    assert forwarded.status_code == 200, forwarded.text
    assert forwarded.json() == direct.json()


async def test_ready_answers_503_until_the_engine_is_ready_and_health_always_200(
    start_server: StartServer, http: httpx.AsyncClient
) -> None:
    running = await start_server()

    before = await http.get(f"{running.url}/ready")
    running.engine.ready = True
    after = await http.get(f"{running.url}/ready")
    health = await http.get(f"{running.url}/health")

    assert (before.status_code, before.json()) == (503, {"ready": False})
    assert (after.status_code, after.json()) == (200, {"ready": True})
    assert health.status_code == 200


async def test_metrics_read_the_handler_counts_when_scraped(
    start_server: StartServer, http: httpx.AsyncClient, home_store: TableReader
) -> None:
    running = await start_server({0: home_store})
    running.engine.handler.counts["applied"] += 3
    running.engine.handler.change_kinds["GRANTED"] += 2
    running.engine.handler.dead_letter_reasons["DecodeError"] += 1

    page = (await http.get(f"{running.url}/metrics")).text

    assert 'clever_worker_records_total{outcome="applied"} 3.0' in page
    assert 'clever_worker_privilege_changes_total{kind="GRANTED"} 2.0' in page
    assert 'clever_worker_dead_letters_total{reason="DecodeError"} 1.0' in page
    assert "clever_worker_partitions_owned 1.0" in page
    assert "clever_worker_commit_duration_seconds_bucket" in page


async def test_with_a_token_the_views_refuse_a_request_without_it_or_with_another(
    start_server: StartServer, http: httpx.AsyncClient, home_store: TableReader
) -> None:
    running = await start_server({HOME: home_store}, token=TOKEN)
    url = running.url + students_path("c1")

    missing = await http.get(url)
    wrong = await http.get(url, headers={"Authorization": "Bearer another"})
    right = await http.get(url, headers={"Authorization": f"Bearer {TOKEN}"})
    ready = await http.get(f"{running.url}/ready")

    assert (missing.status_code, wrong.status_code, right.status_code) == (401, 401, 200)
    assert missing.headers["WWW-Authenticate"] == "Bearer"
    assert TOKEN not in missing.text + wrong.text
    assert ready.status_code == 503  # the probes need no token
