"""The console's logging: a flood of one Kafka client error becomes one line a minute."""

from __future__ import annotations

import logging

from foundation.console import RepeatedLines


def record(name: str, msg: str, created: float, level: int = logging.ERROR) -> logging.LogRecord:
    made = logging.LogRecord(name, level, __file__, 1, msg, ("node 1",), None)
    made.created = created
    return made


def test_one_kind_passes_once_a_window_with_the_count_held_back() -> None:
    lines = RepeatedLines(window_s=60)
    flood = [record("aiokafka", "Unable connect to %s", float(second)) for second in range(130)]

    passed = [line for line in flood if lines.filter(line)]

    assert [line.created for line in passed] == [0.0, 60.0, 120.0]
    assert passed[0].getMessage() == "Unable connect to node 1"
    assert passed[1].getMessage() == (
        "Unable connect to node 1 [and 59 more like it in the last 60 s]"
    )


def test_other_kinds_levels_and_loggers_pass_untouched() -> None:
    lines = RepeatedLines(window_s=60)

    assert lines.filter(record("aiokafka", "one %s", 0.0))
    assert lines.filter(record("aiokafka", "another %s", 1.0))
    assert lines.filter(record("aiokafka.consumer", "one %s", 2.0))
    assert lines.filter(record("aiokafka", "one %s", 3.0, level=logging.INFO))
    assert lines.filter(record("streams.engine", "one %s", 4.0))
    assert lines.filter(record("streams.engine", "one %s", 5.0))
    assert not lines.filter(record("aiokafka", "one %s", 6.0))
