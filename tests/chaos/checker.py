"""The chaos run's verdict, from the topics as a downstream consumer reads them.

Nothing here is the pipeline's: the topics are read by confluent-kafka and decoded by fastavro
with the released ``.avsc`` (``tests/outside_reader``), state keys are split by hand as
``docs/topics.md`` describes them, and the expected changes are the naive reference model's,
fed each district's raw records in the raw topic's order: the Clever history the pollers
delivered. The final state is compared with the model and with what the fake Clever holds.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Iterable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field

from fakeclever import FakeDistrict
from tests.model.deliveries import Step, feed, from_change_datum, from_raw_datum, per_pair
from tests.model.reference import GRANTED, Change, Pair, Privilege, ReferenceModel, raw_text
from tests.outside_reader import Message, ReleasedSchemas, read_topic

SCHEMAS = ReleasedSchemas(
    [
        "dev.cleverstream.clever.RawCleverRecord",
        "dev.cleverstream.privileges.PrivilegeChange",
        "dev.cleverstream.privileges.PrivilegeState",
        "dev.cleverstream.ops.DeadLetter",
    ]
)


@dataclass
class Verdict:
    """What the checker found; :meth:`failures` lists each figure that is not 0 or true."""

    raw_records: int = 0
    clever_events: int = 0
    changes: int = 0
    expected_changes: int = 0
    lost: int = 0
    duplicated: int = 0
    unexpected: int = 0
    out_of_order_pairs: int = 0
    wrong_grants: int = 0
    state_equals_model: bool = True
    state_equals_clever: bool = True
    dead_letters: Counter[str] = field(default_factory=Counter)
    examples: list[str] = field(default_factory=list)

    def add(self, other: Verdict) -> None:
        """Add a district's counts (``other``) to these."""
        self.clever_events += other.clever_events
        self.expected_changes += other.expected_changes
        self.lost += other.lost
        self.unexpected += other.unexpected
        self.out_of_order_pairs += other.out_of_order_pairs
        self.wrong_grants += other.wrong_grants
        self.state_equals_model &= other.state_equals_model
        self.state_equals_clever &= other.state_equals_clever
        self.examples += other.examples[: max(0, 5 - len(self.examples))]

    def failures(self) -> list[str]:
        """Each broken promise, in a few words."""
        found = [
            f"{name.replace('_', ' ')}: {value}"
            for name, value in (
                ("changes_lost", self.lost),
                ("changes_duplicated", self.duplicated),
                ("changes_the_model_does_not_make", self.unexpected),
                ("pairs_out_of_order", self.out_of_order_pairs),
                ("grants_to_pairs_clever_never_listed", self.wrong_grants),
                ("dead_letters", sum(self.dead_letters.values())),
            )
            if value
        ]
        if not self.state_equals_model:
            found.append("the state topic is not the model's final state")
        if not self.state_equals_clever:
            found.append("the state topic is not what Clever holds")
        return found


def read_outputs(bootstrap_servers: str, topics: Iterable[str]) -> dict[str, list[Message]]:
    """Every committed record of each topic."""
    return {topic: read_topic(bootstrap_servers, topic, SCHEMAS, timeout_s=120) for topic in topics}


def check(
    districts: list[FakeDistrict],
    *,
    raw: list[Message],
    changes: list[Message],
    state: list[Message],
    dead_letters: list[Message],
    processes: int = 2,
) -> Verdict:
    """Compare the outputs with the model and with Clever, district by district, the
    districts shared among ``processes`` processes (the model is slow on a long history)."""
    verdict = Verdict(raw_records=len(raw), changes=len(changes))
    for message in dead_letters:
        reason = (message.value or {}).get("error_type", "?")
        verdict.dead_letters[f"{(message.value or {}).get('stage', '?')}: {reason}"] += 1
    ids = Counter(m.value["change_id"] for m in changes if m.value is not None)
    verdict.duplicated = sum(n - 1 for n in ids.values() if n > 1)
    raw_of, changes_of = _by_district(raw), _by_district(changes)
    held = _final_state(state)
    work = [
        DistrictOutputs(
            district.id,
            raw_of.get(district.id, []),
            changes_of.get(district.id, []),
            held.get(district.id, {}),
            district.ground_truth(),
        )
        for district in districts
    ]
    with ProcessPoolExecutor(max_workers=processes) as pool:
        for found in pool.map(check_district, work):
            verdict.add(found)
    return verdict


@dataclass(frozen=True)
class DistrictOutputs:
    """One district's share of the topics, and what Clever holds for it."""

    district_id: str
    raw: list[Message]
    changes: list[Message]
    state: dict[Pair, Privilege]
    truth: frozenset[tuple[str, str, object, object]]


def check_district(outputs: DistrictOutputs) -> Verdict:
    """One district's verdict (its counts only; ``check`` adds them up)."""
    verdict = Verdict()
    model = ReferenceModel()
    expected: list[Change] = []
    ever_granted: set[Pair] = set()
    for message in outputs.raw:
        assert message.value is not None
        delivery = from_raw_datum(message.value)
        verdict.clever_events += message.value["kind"] == "EVENT"
        if delivery is not None:
            made = feed(model, delivery)
            expected += made
            ever_granted |= {(c.contact_id, c.student_id) for c in made if c.kind == GRANTED}
    actual = [from_change_datum(m.value) for m in outputs.changes if m.value]
    verdict.expected_changes += len(expected)
    verdict.wrong_grants += sum(
        1 for c in actual if c.kind == GRANTED and (c.contact_id, c.student_id) not in ever_granted
    )
    _compare_pairs(verdict, outputs.district_id, per_pair(expected), per_pair(actual))
    if outputs.state != model.live:
        verdict.state_equals_model = False
        verdict.examples.append(f"district {outputs.district_id}: state != model")
    truth = {
        (contact, student): (raw_text(relationship), raw_text(contact_type))
        for contact, student, relationship, contact_type in outputs.truth
    }
    kept = {
        pair: (privilege.relationship_raw, privilege.contact_type_raw)
        for pair, privilege in outputs.state.items()
    }
    if kept != truth:
        verdict.state_equals_clever = False
        verdict.examples.append(
            f"district {outputs.district_id}: state != Clever: "
            f"{len(kept.keys() - truth.keys())} pairs too many, "
            f"{len(truth.keys() - kept.keys())} missing"
        )
    return verdict


def _compare_pairs(
    verdict: Verdict,
    district_id: str,
    expected: dict[Pair, list[Step]],
    actual: dict[Pair, list[Step]],
) -> None:
    for pair in expected.keys() | actual.keys():
        want, got = expected.get(pair, []), actual.get(pair, [])
        if want == got:
            continue
        missing = Counter(map(repr, want)) - Counter(map(repr, got))
        extra = Counter(map(repr, got)) - Counter(map(repr, want))
        verdict.lost += sum(missing.values())
        verdict.unexpected += sum(extra.values())
        if not missing and not extra:
            verdict.out_of_order_pairs += 1
        if len(verdict.examples) < 5:
            verdict.examples.append(
                f"district {district_id} pair {pair}:\n  model:    {want}\n  pipeline: {got}"
            )


def _by_district(messages: list[Message]) -> dict[str, list[Message]]:
    found: dict[str, list[Message]] = defaultdict(list)
    for message in messages:
        if message.value is not None:
            found[message.value["district_id"]].append(message)
    return found


def _final_state(state: list[Message]) -> dict[str, dict[Pair, Privilege]]:
    """Each district's pairs as a new consumer bootstraps them from the state topic (keys
    ``<district>/<contact>/<student>``, a tombstone ends a pair)."""
    latest: dict[bytes, Message] = {}
    for message in state:
        if message.key is not None:
            latest[message.key] = message
    found: dict[str, dict[Pair, Privilege]] = defaultdict(dict)
    for key, message in latest.items():
        district, contact, student = key.decode("utf-8").split("/")
        value = message.value
        if value is not None:
            privilege = value["privilege"]
            found[district][(contact, student)] = Privilege(
                relationship=privilege["relationship"],
                relationship_raw=privilege["relationship_raw"],
                contact_type=privilege["contact_type"],
                contact_type_raw=privilege["contact_type_raw"],
            )
    return found


def describe(verdict: Verdict) -> dict[str, object]:
    """The verdict's figures, for the report."""
    return {
        "clever events delivered": verdict.clever_events,
        "raw records": verdict.raw_records,
        "changes (model)": verdict.expected_changes,
        "changes (pipeline)": verdict.changes,
        "changes lost": verdict.lost,
        "changes duplicated (change_id)": verdict.duplicated,
        "changes the model does not make": verdict.unexpected,
        "pairs out of order": verdict.out_of_order_pairs,
        "grants to pairs Clever never listed": verdict.wrong_grants,
        "final state equals the model": verdict.state_equals_model,
        "final state equals Clever": verdict.state_equals_clever,
        "dead letters": json.dumps(dict(verdict.dead_letters)) or "{}",
    }
