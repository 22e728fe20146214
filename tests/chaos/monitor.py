"""Times each recovery of a chaos run: from a kill until the outputs have caught up.

"Caught up" after a kill at T means: the pollers have read every district's feed up to
the newest event Clever held at T (the fake sees them ask for what follows it), and then the
workers' group has committed every raw record the raw topic held at that moment. The same
catch-up is timed at moments when nothing was broken (probes): the difference is the
recovery's cost. The raw topic is followed by a consumer of its own (confluent-kafka,
``read_committed``), and the group's offsets are read without joining it.
"""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass, field

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, TopicPartition

from tests.chaos.clever import ObservedClever

_TICK_S = 0.1
#: librdkafka's syslog level for its own log lines: critical ones only.
_CRITICAL = 2


@dataclass
class Recovery:
    """One timed catch-up: after a kill (``what``) or a probe."""

    what: str
    started: float
    newest: dict[str, int]
    read_at: float | None = None
    target: dict[int, int] | None = None
    done_at: float | None = None
    probe: bool = False

    @property
    def seconds(self) -> float | None:
        """Kill (or probe) to caught up; None while it is not."""
        return None if self.done_at is None else self.done_at - self.started


@dataclass
class Monitor:
    """Follows the raw topic and the workers' committed offsets in a thread of its own."""

    bootstrap_servers: str
    raw_topic: str
    group: str
    clever: ObservedClever
    recoveries: list[Recovery] = field(default_factory=list)
    _ends: dict[int, int] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)
    error: BaseException | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="chaos-monitor", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(30)

    def begin(self, what: str, *, probe: bool = False) -> Recovery:
        """Start timing a catch-up from now."""
        recovery = Recovery(what, time.monotonic(), self.clever.snapshot_of_newest(), probe=probe)
        with self._lock:
            self.recoveries.append(recovery)
        return recovery

    def pending(self) -> list[Recovery]:
        with self._lock:
            return [r for r in self.recoveries if r.done_at is None]

    def _run(self) -> None:
        try:
            self._follow()
        except BaseException as error:  # reported by the run, which checks ``error``
            self.error = error

    def _follow(self) -> None:
        # Quiet: librdkafka would print each refused connection to a killed broker.
        tail = Consumer(
            {
                "log_level": _CRITICAL,
                "bootstrap.servers": self.bootstrap_servers,
                "group.id": f"chaos-monitor-{uuid.uuid4().hex}",
                "isolation.level": "read_committed",
                "enable.auto.commit": False,
                "auto.offset.reset": "earliest",
            }
        )
        offsets = Consumer(
            {
                "log_level": _CRITICAL,
                "bootstrap.servers": self.bootstrap_servers,
                "group.id": self.group,
                "enable.auto.commit": False,
            }
        )
        try:
            metadata = tail.list_topics(self.raw_topic, timeout=30).topics[self.raw_topic]
            tail.assign(
                [TopicPartition(self.raw_topic, p, OFFSET_BEGINNING) for p in metadata.partitions]
            )
            last_check = 0.0
            while not self._stop.is_set():
                for message in tail.consume(1000, _TICK_S):
                    error = message.error()
                    if error is not None and error.code() != KafkaError._PARTITION_EOF:  # noqa: SLF001 - confluent-kafka's public name
                        continue  # a broker is down: librdkafka retries by itself
                    if error is None:
                        partition, offset = message.partition() or 0, message.offset() or 0
                        self._ends[partition] = max(self._ends.get(partition, 0), offset + 1)
                now = time.monotonic()
                if now - last_check >= _TICK_S and self.pending():
                    last_check = now
                    self._advance(offsets, now)
        finally:
            tail.close()
            offsets.close()

    def _advance(self, offsets: Consumer, now: float) -> None:
        pending = self.pending()
        for recovery in pending:
            if recovery.read_at is None and self.clever.read_past(recovery.newest):
                recovery.read_at, recovery.target = now, dict(self._ends)
        waiting = [r for r in pending if r.target is not None]
        if not waiting:
            return
        partitions = sorted({p for r in waiting for p in (r.target or {})})
        try:
            found = offsets.committed(
                [TopicPartition(self.raw_topic, p) for p in partitions], timeout=5
            )
        except Exception:
            return
        committed = {tp.partition: tp.offset for tp in found}
        for recovery in waiting:
            target = recovery.target or {}
            if all(committed.get(p, -1) >= end for p, end in target.items()):
                recovery.done_at = time.monotonic()
