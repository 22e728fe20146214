"""The output check: a peer's outputs against the native worker's."""

from __future__ import annotations

from collections import Counter

from bench.peer_outputs import compare, failures


def test_equal_outputs_pass() -> None:
    outputs = (Counter({"c1": 1, "c2": 1}), 3, 1, 0)
    checks = compare({"native": outputs, "quix": outputs})

    assert failures(checks) == []
    assert [check.same_changes for check in checks] == [True, True]


def test_each_difference_is_named() -> None:
    checks = compare(
        {
            "native": (Counter({"c1": 1, "c2": 1}), 3, 1, 0),
            "faust": (Counter({"c1": 2, "c3": 1}), 4, 1, 0),
        }
    )

    [problem] = failures(checks)
    assert problem.startswith("faust: changes, states, change IDs, 1 duplicated changes")
    assert checks[1].duplicates == 1
