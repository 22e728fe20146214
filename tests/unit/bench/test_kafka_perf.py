"""Kafka's perf tools' summaries, parsed."""

from __future__ import annotations

import pytest

from bench.exceptions import BenchError
from bench.kafka_perf import parse_consumer, parse_producer

PRODUCER = """\
SLF4J: Defaulting to no-operation (NOP) logger implementation
100016 records sent, 20003.2 records/sec (16.98 MB/sec), 800.1 ms avg latency, 1200.0 ms max \
latency.
200000 records sent, 30722.0 records/sec (26.08 MB/sec), 130.07 ms avg latency, 241.00 ms max \
latency, 133 ms 50th, 178 ms 95th, 194 ms 99th, 199 ms 99.9th.
"""

CONSUMER = """\
SLF4J: See http://www.slf4j.org/codes.html#StaticLoggerBinder for further details.
start.time, end.time, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg, nMsg.sec, \
rebalance.time.ms, fetch.time.ms, fetch.MB.sec, fetch.nMsg.sec
2026-12-06 06:38:28:946, 2026-12-06 06:38:29:283, 16.9754, 50.3721, 20000, 59347.1810, 223, \
114, 148.9070, 175438.5965
"""


def test_the_producer_summary_is_its_final_line() -> None:
    run = parse_producer(PRODUCER)

    assert run.records == 200_000
    assert run.records_per_s == 30722.0
    assert run.mb_per_s == 26.08
    assert run.p99_ms == 194.0


def test_the_consumer_rate_is_from_its_first_fetch() -> None:
    run = parse_consumer(CONSUMER)

    assert run.records == 20_000
    assert run.records_per_s == pytest.approx(175438.5965)
    assert run.mb_per_s == pytest.approx(148.907)
    assert run.p99_ms is None


@pytest.mark.parametrize(
    ("parse", "output"),
    [
        pytest.param(parse_producer, "Exception in thread main\n", id="producer-no-summary"),
        pytest.param(parse_consumer, "start.time, end.time\n", id="consumer-no-figures"),
        pytest.param(parse_consumer, "start.time, end.time\n1, 2\n", id="consumer-no-rate"),
    ],
)
def test_a_missing_summary_fails_the_run(parse, output) -> None:
    with pytest.raises(BenchError):
        parse(output)
