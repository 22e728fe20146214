"""The processor against the naive reference model, on hypothesis-generated Clever histories.

Each history is played on the fake Clever and read by an in-process poller; the model and the
processor are fed the same deliveries (the processor as the poller's raw records). They must
agree on every pair's sequence of changes (kind, before, after, cause) and on the final
state, every change ID must be unique, and the final state must be what the fake Clever holds
(on v3, whose IDs its ground truth uses): the model can only vouch for the rules as written,
Clever's truth checks the rules themselves. The processor runs over its in-memory store and
over a partition transaction as the engines run it (a small cache that forgets, changelog
records prepared as the engine sends them early, committed at points hypothesis picks), so
the tables' encodings are in the loop too.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from schemas.codec import default_codec
from schemas.keys import parse_pair_key
from schemas.records import PrivilegeState
from streams.processor import MemoryStore, Position, StateStore, process
from streams.state.backing import MemoryBacking
from streams.state.tables import TableFormat
from streams.state.transaction import PartitionTransaction
from tests.model.deliveries import Delivery, differences, feed, from_record, per_pair, raw_record
from tests.model.histories import History, Played, Shape, histories, play, shapes
from tests.model.reference import Change, Pair, Privilege, ReferenceModel, raw_text

DISTRICT = "d0000000000000000000001"
FETCHED = datetime(2026, 1, 5, 9, tzinfo=UTC)
API_VERSIONS = st.sampled_from(["v3.0", "v3.0", "v2.1"])


class MemoryTarget:
    """The processor over its in-memory store."""

    def __init__(self) -> None:
        self.store: StateStore = MemoryStore()

    def after(self, offset: int) -> None:
        """Nothing to commit."""


class EngineTarget:
    """The processor over a partition transaction (keeping few values, so it forgets) over
    one partition's committed tables."""

    def __init__(self, commits: list[bool]) -> None:
        self.transaction = PartitionTransaction(
            MemoryBacking(), table_format=TableFormat(default_codec()), keep=4
        )
        self.store: StateStore = self.transaction
        self._commits = commits

    def after(self, offset: int) -> None:
        """Commit after the records hypothesis picked, as the engine commits a batch; in
        between, prepare the changelog records every few records, as it sends them early."""
        if self._commits[offset % len(self._commits)]:
            self.transaction.prepare()
            self.transaction.commit(offset + 1)
        elif offset % 3 == 0:
            self.transaction.prepare()


@dataclass
class Run:
    """What the processor made of one history: changes, the state topic's fold, dead letters."""

    changes: list[Change] = field(default_factory=list)
    ids: list[str] = field(default_factory=list)
    state: dict[Pair, Privilege] = field(default_factory=dict)
    dead_letters: list[str] = field(default_factory=list)


def run_processor(
    deliveries: list[Delivery], *, api_version: str, target: MemoryTarget | EngineTarget
) -> Run:
    run = Run()
    now = FETCHED
    for offset, delivery in enumerate(deliveries):
        now += timedelta(seconds=1)
        record = raw_record(delivery, district_id=DISTRICT, api_version=api_version, fetched_at=now)
        outputs = process(record, position=Position(0, offset), store=target.store, now=now)
        run.changes += [from_record(change) for change in outputs.changes]
        run.ids += [change.change_id for change in outputs.changes]
        run.dead_letters += [f"{dl.error_type}: {dl.error_message}" for dl in outputs.dead_letters]
        for key, state in outputs.states:
            pair = parse_pair_key(key)[1:]
            if state is None:
                run.state.pop(pair, None)
            else:
                run.state[pair] = _privilege(state)
        target.after(offset)
    return run


def _privilege(state: PrivilegeState) -> Privilege:
    privilege = state.privilege
    return Privilege(
        relationship=str(privilege.relationship),
        relationship_raw=privilege.relationship_raw,
        contact_type=str(privilege.contact_type),
        contact_type_raw=privilege.contact_type_raw,
    )


def run_model(deliveries: list[Delivery]) -> tuple[list[Change], dict[Pair, Privilege]]:
    model = ReferenceModel()
    changes = [change for delivery in deliveries for change in feed(model, delivery)]
    return changes, model.live


def check(played: Played, run: Run, *, api_version: str) -> None:
    """The processor's run agrees with the model on the same deliveries, and with Clever."""
    deliveries = played.deliveries
    expected, live = run_model(deliveries)
    assert run.dead_letters == []
    assert not (wrong := differences(per_pair(expected), per_pair(run.changes))), (
        "\n".join(wrong) + f"\ndeliveries: {deliveries}"
    )
    assert run.state == live
    repeated = [change_id for change_id, n in Counter(run.ids).items() if n > 1]
    assert not repeated, f"change IDs used more than once: {repeated}"
    if api_version.startswith("v3"):
        truth = {
            (contact, student): (raw_text(relationship), raw_text(contact_type))
            for contact, student, relationship, contact_type in played.district.ground_truth()
        }
        held = {
            pair: (privilege.relationship_raw, privilege.contact_type_raw)
            for pair, privilege in run.state.items()
        }
        assert held == truth, f"not what Clever holds; deliveries: {deliveries}"


@settings(max_examples=2000, deadline=None)
@given(shape=shapes, history=histories, api_version=API_VERSIONS)
def test_the_processor_obeys_the_rules_on_any_history(
    shape: Shape, history: History, api_version: str
) -> None:
    played = play(shape, history, api_version=api_version)

    run = run_processor(played.deliveries, api_version=api_version, target=MemoryTarget())

    check(played, run, api_version=api_version)


@settings(max_examples=1000, deadline=None)
@given(
    shape=shapes,
    history=histories,
    api_version=API_VERSIONS,
    commits=st.lists(st.booleans(), min_size=1, max_size=7),
)
def test_the_engines_tables_obey_the_rules_on_any_history(
    shape: Shape, history: History, api_version: str, commits: list[bool]
) -> None:
    played = play(shape, history, api_version=api_version)

    run = run_processor(played.deliveries, api_version=api_version, target=EngineTarget(commits))

    check(played, run, api_version=api_version)
