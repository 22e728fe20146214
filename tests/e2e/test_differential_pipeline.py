"""The whole pipeline against the naive reference model, on hypothesis-generated histories.

A few dozen generated histories, a fake district each, all served by one fake Clever: the
poller (``python -m connectors run``) and a worker (``python -m streams worker``) run as
processes, under each engine, while the histories happen. Then an outside reader
(confluent-kafka and fastavro with the released schemas, nothing of the pipeline) reads the
raw topic, feeds each district's records to the model, and compares: every pair's changes
(kind, before, after, cause), the final state, unique change IDs, no dead letters, and the
state equal to what the fake Clever holds.
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter, defaultdict
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from connectors.settings import PollerSettings
from fakeclever import FakeClever, FakeDistrict
from schemas.keys import parse_pair_key
from tests.e2e.processes import module_process, poller_env
from tests.e2e.test_worker_process import worker_env
from tests.integration.connectors.poller_harness import caught_up, poller_settings
from tests.model.deliveries import (
    differences,
    feed,
    from_change_datum,
    from_raw_datum,
    per_pair,
    privilege_of_datum,
)
from tests.model.histories import History, Shape, apply, histories_of, new_district, shapes
from tests.model.reference import Change, Pair, Privilege, ReferenceModel, raw_text
from tests.outside_reader import Message, ReleasedSchemas, committed_offsets, read_topic
from tests.waiting import eventually

pytestmark = pytest.mark.e2e

#: How many histories (districts) one run of the pipeline serves.
HISTORIES = 24
#: How long a ``poll`` of a history waits for the poller to ask past the newest event.
POLL_TIMEOUT_S = 60.0

SCHEMAS = ReleasedSchemas(
    [
        "dev.cleverstream.clever.RawCleverRecord",
        "dev.cleverstream.privileges.PrivilegeChange",
        "dev.cleverstream.privileges.PrivilegeState",
        "dev.cleverstream.ops.DeadLetter",
    ]
)
Story = tuple[Shape, History]


#: Hypothesis tries the simplest example first (every district alike, every pick 0), and one
#: example is all a pipeline run takes: the filter makes it a random one.
stories = st.lists(
    st.tuples(shapes, histories_of(least=8, most=16)), min_size=HISTORIES, max_size=HISTORIES
).filter(lambda drawn: len({shape for shape, _ in drawn}) > HISTORIES // 2)


def set_up(fake: FakeClever, stories: list[Story]) -> list[FakeDistrict]:
    """A district per story, with what happened before the poller first syncs it, and at
    least one event, so that its sync has a bookmark to poll after."""
    districts = []
    for shape, history in stories:
        district = new_district(shape, fake)
        for op in history.before:
            apply(district, op)
        if not district.events():
            district.create_student()
        districts.append(district)
    return districts


async def happen(fake: FakeClever, district: FakeDistrict, history: History) -> None:
    """The rest of the history, while the poller polls; at each ``poll`` the poller is
    waited for until it has read what came before (it asks for the events after the
    newest one).

    Clever's window ends (``expire``) together with a new event, before the poller can ask:
    its resync then bookmarks an event. (With no event at all left, polling would go on
    from no cursor, and a later ``expire`` would drop events unseen: Clever's 30 days, which
    the poller notices by its clock, pass here in an instant.)
    """
    for op in history.after:
        if op.name == "poll":
            await polled_past_newest(fake, district)
            continue
        apply(district, op)  # a change mid-sync (``during_sync``) is the in-process test's
        if op.name == "expire":
            district.create_student()


async def polled_past_newest(fake: FakeClever, district: FakeDistrict) -> None:
    """Wait until the poller has asked the fake for the events after the district's newest
    (a district always has one here: see ``set_up`` and ``happen``)."""
    asked = f"starting_after={district.events()[-1]['id']}"

    async def probe() -> bool:
        return any(asked in path for _, path, _ in fake.requests)

    await eventually(probe, timeout_s=POLL_TIMEOUT_S, what=f"district {district.id} polled")


async def run_pipeline(
    engine: str,
    stories: list[Story],
    *,
    bootstrap_servers: str,
    names: Callable[[str], str],
    folder: Path,
) -> tuple[list[FakeDistrict], dict[str, list[Message]]]:
    """Serve the stories to the poller and a worker (processes); return the districts and
    the raw, changes, state and dead-letter topics once the worker has read everything."""
    prefix, app_id = names("p"), names("app")
    fake = FakeClever()
    districts = set_up(fake, stories)
    env = worker_env(bootstrap_servers, prefix, app_id, folder / "worker", engine=engine)
    async with fake.serve() as base_url:
        settings = poller_settings(bootstrap_servers, base_url, prefix, [])
        polling = poller_env(
            bootstrap_servers, base_url, prefix, districts,
            events_page_size="7", snapshot_page_size="5",
        )  # fmt: skip
        async with (
            module_process("connectors", "run", env=polling, log=folder / "poller.log"),
            module_process("streams", "worker", env=env, log=folder / "worker.log"),
        ):
            await all_caught_up(settings, districts)
            await asyncio.gather(
                *(happen(fake, d, h) for d, (_, h) in zip(districts, stories, strict=True))
            )
            await all_caught_up(settings, districts)
            topics = await asyncio.to_thread(read_all, bootstrap_servers, prefix)
            await worker_done(bootstrap_servers, app_id, f"{prefix}.clever.raw.v1", topics["raw"])
            topics = await asyncio.to_thread(read_all, bootstrap_servers, prefix)
    return districts, topics


async def all_caught_up(settings: PollerSettings, districts: list[FakeDistrict]) -> None:
    for district in districts:
        await caught_up(settings, district, timeout_s=120)


def read_all(bootstrap_servers: str, prefix: str) -> dict[str, list[Message]]:
    names = {
        "raw": "clever.raw.v1",
        "changes": "privileges.changes.v1",
        "state": "privileges.state.v1",
        "dead_letters": "dead-letters.v1",
    }
    return {
        short: read_topic(bootstrap_servers, f"{prefix}.{name}", SCHEMAS)
        for short, name in names.items()
    }


async def worker_done(
    bootstrap_servers: str, group: str, raw_topic: str, raw: list[Message]
) -> None:
    """Wait until the worker's group has committed every raw record it was given."""
    needed: dict[int, int] = {}
    for message in raw:
        needed[message.partition] = max(needed.get(message.partition, 0), message.offset + 1)

    async def done() -> bool:
        found = await asyncio.to_thread(
            committed_offsets, bootstrap_servers, group, raw_topic, needed
        )
        return all(found.get(partition, -1) >= end for partition, end in needed.items())

    await eventually(done, timeout_s=180, what="the worker to commit every raw record")


def by_district(messages: list[Message], field: str) -> dict[str, list[Message]]:
    found: dict[str, list[Message]] = defaultdict(list)
    for message in messages:
        if message.value is not None:
            found[message.value[field]].append(message)
    return found


def final_state(state: list[Message]) -> dict[str, dict[Pair, Privilege]]:
    """Each district's pairs as a new consumer bootstraps them from the state topic."""
    latest: dict[bytes, Message] = {}
    for message in state:
        assert message.key is not None
        latest[message.key] = message
    found: dict[str, dict[Pair, Privilege]] = defaultdict(dict)
    for key, message in latest.items():
        district, contact, student = parse_pair_key(key)
        if message.value is not None:
            privilege = privilege_of_datum(message.value["privilege"])
            assert privilege is not None
            found[district][(contact, student)] = privilege
    return found


def _describe(message: Message) -> str:
    """A raw record in a few words: kind, IDs, and a contact's listing."""
    datum = message.value or {}
    if datum.get("clever_json") is None:
        return f"{datum.get('kind')} {datum.get('sync_id')} bookmark {datum.get('event_id')}"
    obj = json.loads(datum["clever_json"])
    if datum["kind"] == "EVENT":
        head, obj = f"{obj.get('id')} {obj.get('type')}", obj.get("data", {}).get("object", {})
    else:
        head = "snapshot"
    contact = (obj.get("roles") or {}).get("contact") or {}
    listing = [entry.get("student") for entry in contact.get("student_relationships") or []]
    return f"{head} {obj.get('id')} {sorted(obj.get('roles') or {})} {listing}"


def check(
    districts: list[FakeDistrict],
    topics: dict[str, list[Message]],
    *,
    raw: dict[str, list[Message]] | None = None,
) -> None:
    """Each district's outputs agree with the model fed the district's raw records: in the
    order of ``raw`` where given, else of the raw topic (one partition per district)."""
    assert topics["dead_letters"] == []
    ids = Counter(m.value["change_id"] for m in topics["changes"] if m.value is not None)
    assert not [change_id for change_id, n in ids.items() if n > 1], "change IDs repeat"
    raw = by_district(topics["raw"], "district_id") if raw is None else raw
    changes = by_district(topics["changes"], "district_id")
    states = final_state(topics["state"])
    for district in districts:
        model = ReferenceModel()
        expected: list[Change] = []
        for message in raw[district.id]:
            assert message.value is not None
            delivery = from_raw_datum(message.value)
            if delivery is not None:
                expected += feed(model, delivery)
        actual = [from_change_datum(m.value) for m in changes[district.id] if m.value]
        wrong = differences(per_pair(expected), per_pair(actual))
        assert not wrong, f"district {district.id}:\n" + "\n".join(wrong)
        assert states[district.id] == model.live, district.id
        # Clever's values as the state keeps them: JSON other than text as its JSON text.
        truth = {
            (contact, student): (raw_text(relationship), raw_text(contact_type))
            for contact, student, relationship, contact_type in district.ground_truth()
        }
        held = {
            pair: (privilege.relationship_raw, privilege.contact_type_raw)
            for pair, privilege in states[district.id].items()
        }
        assert held == truth, (
            f"district {district.id}: the state is not what Clever holds: "
            f"{sorted(set(held.items()) - set(truth.items()))} held, "
            f"{sorted(set(truth.items()) - set(held.items()))} missing; the raw stream: "
            + "; ".join(_describe(message) for message in raw[district.id])
        )


@pytest.mark.parametrize("engine", ["native", "faust"])
@settings(
    max_examples=1,
    phases=[Phase.generate],
    deadline=None,
    database=None,
    # One big example, drawn past the simplest one (see ``stories``), served once by the
    # fixtures (the broker, fresh names): none of these checks' worries apply.
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.large_base_example,
        HealthCheck.filter_too_much,
        HealthCheck.function_scoped_fixture,
    ],
)
@given(stories=stories)
def test_the_pipeline_obeys_the_rules_on_generated_histories(
    engine: str,
    stories: list[Story],
    bootstrap_servers: str,
    unique_name: Callable[[str], str],
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    folder = tmp_path_factory.mktemp(f"differential-{engine}")
    districts, topics = asyncio.run(
        run_pipeline(
            engine, stories, bootstrap_servers=bootstrap_servers, names=unique_name, folder=folder
        )
    )

    check(districts, topics)
