"""One raw Clever record in, the privilege changes, current states and dead letters it causes out.

This is the whole behaviour of the privilege workers with the I/O taken out: an engine's
``RecordHandler`` decodes a record, calls ``process`` with its position and its partition's
``StateStore``, and sends the ``Outputs``. The result depends only on the record, its
position, the store and ``now``, so replaying the raw topic into an empty store rebuilds
the same state.

Idempotency has three layers. A record at or before the district's last applied position is
a replay of the same Kafka record and is skipped whole (``replayed``). An event whose Clever
ID the district applied before is a copy, wherever it appears, and changes nothing
(``repeated``; ``streams.processor.events``). A different event with the same content (Clever
repeats a change under a new event ID) is applied, but an update is diffed as a whole object
against the stored contact, so it finds nothing to change.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from schemas.codec import Codec, default_codec
from schemas.exceptions import DecodeError
from schemas.keys import parse_district_key
from schemas.records import DeadLetter, PrivilegeChange, PrivilegeState, RawCleverRecord
from streams.processor.dead_letters import dead_letter
from streams.processor.position import Position
from streams.processor.run import RecordRun
from streams.processor.store import DistrictProgress, StateStore

# ``Position`` lives in its own module (dead_letters needs it too) and is re-exported here.
__all__ = ["Outputs", "Position", "process", "process_bytes", "rejected"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Outputs:
    """What processing one raw record gives, in the order to send it.

    ``states`` are (pair key, value) for the compacted current-state topic, None being a
    tombstone. ``skipped`` names the record type of a record with nothing to do, for
    counting; ``repeated`` is the ID of an event applied before. ``warnings`` are for the
    log (IDs only, never personal data): odd but harmless records, such as a sync completed
    that is not the one in progress.
    """

    changes: tuple[PrivilegeChange, ...] = ()
    states: tuple[tuple[bytes, PrivilegeState | None], ...] = ()
    dead_letters: tuple[DeadLetter, ...] = ()
    skipped: str | None = None
    repeated: str | None = None
    replayed: bool = False
    warnings: tuple[str, ...] = ()

    @property
    def outcome(self) -> str:
        """What became of the record, for counting: applied, replayed, repeated,
        dead-lettered or skipped:<record type>."""
        if self.replayed:
            return "replayed"
        if self.repeated:
            return "repeated"
        if self.dead_letters:
            return "dead-lettered"
        if self.skipped:
            return f"skipped:{self.skipped}"
        return "applied"


def process(
    record: RawCleverRecord,
    *,
    position: Position,
    store: StateStore,
    now: datetime,
    source_topic: str = "",
    original_value: bytes | None = None,
) -> Outputs:
    """Apply one raw record to ``store`` and say what it changed.

    A record that cannot be read is rolled back to its savepoint, leaving the store as it
    was but for the district's position (so a replay skips it too), and gives one dead
    letter. ``original_value`` is
    the record's bytes as read, kept whole on a dead letter; without it, the dead letter
    carries the record re-encoded.
    """
    district_id = record.district_id
    progress = store.get_district(district_id) or DistrictProgress(district_id=district_id)
    if progress.has_applied(position.partition, position.offset):
        return Outputs(replayed=True)
    progress = progress.at(position.partition, position.offset)
    store.savepoint()
    run = RecordRun(store=store, progress=progress, now=now)
    failure = run.apply(record)
    if failure is not None:
        store.rollback()
        store.put_district(progress)
        letter = dead_letter(
            failure,
            record=record,
            position=position,
            now=now,
            source_topic=source_topic,
            original_value=original_value,
        )
        return Outputs(dead_letters=(letter,))
    if run.skipped is not None:
        run.progress = run.progress.count_skip(run.skipped)
    store.put_district(run.progress)
    return Outputs(
        changes=tuple(run.out.changes),
        states=tuple(run.out.states),
        skipped=run.skipped,
        repeated=run.repeated,
        warnings=tuple(run.warnings),
    )


def process_bytes(
    value: bytes | None,
    *,
    key: bytes | None,
    position: Position,
    store: StateStore,
    now: datetime,
    source_topic: str = "",
    codec: Codec | None = None,
) -> Outputs:
    """``process`` for a raw record as read from Kafka; bytes that are no record are a dead
    letter (and, when the key names a district, move its position like any record)."""
    try:
        # No value (a tombstone) decodes like empty bytes: not a record.
        record = (codec or default_codec()).decode(value or b"", RawCleverRecord)
    except DecodeError as error:
        district_id = _district_of(key)
        if district_id is not None:
            progress = store.get_district(district_id) or DistrictProgress(district_id=district_id)
            if progress.has_applied(position.partition, position.offset):
                return Outputs(replayed=True)
        return _dead_lettered(error, key, value, position, store, now, source_topic)
    return process(
        record,
        position=position,
        store=store,
        now=now,
        source_topic=source_topic,
        original_value=value,
    )


def rejected(
    error: BaseException,
    *,
    key: bytes | None,
    value: bytes | None,
    position: Position,
    store: StateStore,
    now: datetime,
    source_topic: str = "",
) -> Outputs:
    """Undo a processed record (back to the savepoint ``process`` took) and dead-letter it
    whole, for outputs that cannot be sent; like a record that failed part-way, it leaves
    nothing but its district's position, moved past it so a replay skips it too."""
    store.rollback()
    return _dead_lettered(error, key, value, position, store, now, source_topic)


def _dead_lettered(
    error: BaseException,
    key: bytes | None,
    value: bytes | None,
    position: Position,
    store: StateStore,
    now: datetime,
    source_topic: str,
) -> Outputs:
    """The dead letter of the bytes at ``position``, its district's position (if the key
    names one) moved past them."""
    district_id = _district_of(key)
    if district_id is not None:
        progress = store.get_district(district_id) or DistrictProgress(district_id=district_id)
        store.put_district(progress.at(position.partition, position.offset))
    letter = dead_letter(
        error,
        position=position,
        now=now,
        source_topic=source_topic,
        district_id=district_id,
        original_key=key,
        original_value=value,
    )
    return Outputs(dead_letters=(letter,))


def _district_of(key: bytes | None) -> str | None:
    try:
        return parse_district_key(key)
    except DecodeError:
        return None
