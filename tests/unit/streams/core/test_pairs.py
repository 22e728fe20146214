"""FrozenPairs: its own lookups and views answer as the Mapping mixins they replace."""

from __future__ import annotations

from collections.abc import ItemsView, KeysView, Mapping, ValuesView

from hypothesis import given
from hypothesis import strategies as st

from schemas.records import Privilege
from streams.core.pairs import FrozenPairs
from tests.unit.streams.core.strategies import pair_states, student_ids


@given(pairs=pair_states, student_id=student_ids | st.text(max_size=4))
def test_the_dicts_lookups_are_the_mappings(pairs: dict[str, Privilege], student_id: str) -> None:
    frozen = FrozenPairs(pairs)

    assert (student_id in frozen) is Mapping.__contains__(frozen, student_id)
    assert frozen.get(student_id) == Mapping.get(frozen, student_id)
    assert frozen.get(student_id, "absent") == Mapping.get(frozen, student_id, "absent")
    assert list(frozen.keys()) == list(KeysView(frozen))
    assert list(frozen.items()) == list(ItemsView(frozen))
    assert list(frozen.values()) == list(ValuesView(frozen))
    assert frozen.keys() | {student_id} == KeysView(frozen) | {student_id}
    assert frozen == pairs
    assert frozen == FrozenPairs(reversed(pairs.items()))
