"""The districts a poller process polls, from every source, kept current while it runs.

Three sources (``connectors/district_sources.py`` merges them): ``CLEVER_POLLER_DISTRICTS``,
read once; the districts file, re-read when its size, time or inode changes (checked every
``CLEVER_POLLER_DISTRICTS_REFRESH_S``); and the compacted districts topic that
``clever-stream districts add|remove`` writes, read to its end at start and then followed
(``read_committed``). A file that turns unreadable or invalid at run time is logged once and
its last good districts are kept: a broken edit never stops every district.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from types import MappingProxyType
from typing import Final

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.errors import KafkaError

from connectors.district_sources import decode_registration, district_config, merge_districts
from connectors.district_tokens import KEY_VARIABLE, TokenCipher
from connectors.exceptions import DistrictKeyError
from connectors.settings import DistrictConfig, PollerSettings, districts_from_file
from foundation.connection import KafkaConnection
from foundation.exceptions import ConfigurationError
from schemas.codec import Codec
from schemas.exceptions import DecodeError
from schemas.topics import POLLER_DISTRICTS

logger = logging.getLogger(__name__)

#: The districts topic has one partition (schemas.topics.POLLER_DISTRICTS).
_PARTITION: Final = 0
#: How long one fetch waits for a new record.
_FETCH_WAIT_MS: Final = 1000
#: What identifies a version of the districts file: (inode, size, mtime in ns), or the
#: reason it cannot be read.
_Stamp = tuple[int, int, int] | str


class DistrictRegistry:
    """The districts to poll, from every source, kept current at run time."""

    def __init__(
        self,
        settings: PollerSettings,
        *,
        kafka: KafkaConnection,
        codec: Codec,
        on_change: Callable[[], None] = lambda: None,
    ) -> None:
        self._settings = settings
        self._kafka = kafka
        self._codec = codec
        self._on_change = on_change
        self._topic = POLLER_DISTRICTS.name(settings.topic_prefix)
        key = settings.districts_key
        self._cipher = TokenCipher(key) if key is not None else None
        self._env: Sequence[DistrictConfig] = settings.districts
        self._file: Sequence[DistrictConfig] = ()
        self._file_stamp: _Stamp | None = None
        self._registered: dict[str, DistrictConfig] = {}
        #: Districts on the topic this process has no key for.
        self._locked: set[str] = set()
        self._current: Mapping[str, DistrictConfig] = MappingProxyType({})
        self._shadowed: frozenset[str] = frozenset()
        self._loaded = asyncio.Event()
        self._failure: BaseException | None = None
        path = settings.districts_file
        if path is not None:
            # At start a bad file is the operator's mistake to fix: a ConfigurationError.
            self._file_stamp = _stamp(path)
            self._file = districts_from_file(path)
        self._merge(notify=False)

    def current(self) -> Mapping[str, DistrictConfig]:
        """Every district to poll, by district ID; an entry without district_id (env or file
        only) under "#<n>", n its index in env-then-file order."""
        return self._current

    async def loaded(self) -> None:
        """Return once every source has been read once (the districts topic up to its end);
        raise what stopped ``run`` if it failed first."""
        await self._loaded.wait()
        if self._failure is not None:
            raise self._failure

    async def run(self) -> None:
        """Read every source, then watch them until cancelled; calls on_change after each
        change of current(). Kafka's failures are logged and retried; a topic that holds
        districts when this process has no key is a ``ConfigurationError``."""
        watcher = asyncio.create_task(self._watch_file()) if self._settings.districts_file else None
        try:
            await self._follow_topic()
        except Exception as error:
            self._failure = error
            self._loaded.set()
            raise
        finally:
            if watcher is not None:
                watcher.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await watcher

    def check_file(self) -> bool:
        """Re-read the districts file if it changed since it was last read; whether that
        changed current(). A file that cannot be read, or holds anything but districts, is
        logged once and its last good districts are kept."""
        path = self._settings.districts_file
        if path is None:
            return False
        stamp: _Stamp
        try:
            stamp = _stamp(path)
        except ConfigurationError as error:
            stamp = str(error.args[0])
        if stamp == self._file_stamp:
            return False
        self._file_stamp = stamp
        try:
            districts = districts_from_file(path)
        except ConfigurationError as error:
            logger.error(  # noqa: TRY400 - one line; the message names the file and the reason
                "%s; keeping its last %d districts until it is fixed",
                error.args[0],
                len(self._file),
            )
            return False
        logger.info("the districts file %s lists %d districts", path, len(districts))
        self._file = tuple(districts)
        return self._merge()

    async def _watch_file(self) -> None:
        while True:
            await asyncio.sleep(self._settings.districts_refresh_s)
            self.check_file()

    async def _follow_topic(self) -> None:
        retry_s = self._settings.district_backoff_s
        while True:
            try:
                await self._read_topic()
            except (KafkaError, OSError) as error:
                logger.warning(
                    "the districts topic %s cannot be read (%s); trying again in %.0fs",
                    self._topic,
                    type(error).__name__,
                    retry_s,
                )
            await asyncio.sleep(retry_s)

    async def _read_topic(self) -> None:
        """Read the topic from its start to its end, take its districts, then follow it."""
        consumer = AIOKafkaConsumer(
            **self._kafka.client_options(),
            isolation_level="read_committed",
            enable_auto_commit=False,
        )
        partition = TopicPartition(self._topic, _PARTITION)
        try:
            await consumer.start()
            consumer.assign([partition])
            await consumer.seek_to_beginning(partition)
            end = (await consumer.end_offsets([partition]))[partition]
            registered: dict[str, DistrictConfig] = {}
            locked: set[str] = set()
            while await consumer.position(partition) < end:
                batches = await consumer.getmany(partition, timeout_ms=_FETCH_WAIT_MS)
                for record in batches.get(partition, []):
                    self._take(record, registered, locked)
            if locked and self._cipher is None:
                raise ConfigurationError(
                    f"the districts topic {self._topic} holds {len(locked)} districts, and "
                    f"{KEY_VARIABLE} is unset",
                    hint=f"set {KEY_VARIABLE} to the key the CLI used "
                    "(clever-stream districts add)",
                )
            self._registered, self._locked = registered, locked
            logger.info("the districts topic %s lists %d districts", self._topic, len(registered))
            self._merge()
            self._loaded.set()
            while True:
                batches = await consumer.getmany(partition, timeout_ms=_FETCH_WAIT_MS)
                records = batches.get(partition, [])
                for record in records:
                    self._take(record, self._registered, self._locked)
                if records:
                    self._merge()
        finally:
            await consumer.stop()

    def _take(
        self,
        record: ConsumerRecord[bytes, bytes],
        registered: dict[str, DistrictConfig],
        locked: set[str],
    ) -> None:
        """Apply one record of the topic to ``registered`` (a tombstone removes)."""
        try:
            district_id, registration = decode_registration(record.key, record.value, self._codec)
        except DecodeError as error:
            logger.warning(
                "%s@%d is not a district registration (%s); skipped",
                self._topic,
                record.offset,
                error,
            )
            return
        registered.pop(district_id, None)
        locked.discard(district_id)
        if registration is None:
            return
        if self._cipher is None:
            locked.add(district_id)
            if self._loaded.is_set():
                logger.error(
                    "district %s was added on %s, and %s is unset: it is not polled; set it to "
                    "the key the CLI used",
                    district_id,
                    self._topic,
                    KEY_VARIABLE,
                )
            return
        try:
            registered[district_id] = district_config(registration, self._cipher)
        except DistrictKeyError:
            logger.error(  # noqa: TRY400 - the reason is the whole story; no traceback
                "district %s on %s: its token was encrypted with another key; skipped (set %s "
                "to the key the CLI used, or add the district again)",
                district_id,
                self._topic,
                KEY_VARIABLE,
            )
        except ConfigurationError as error:
            logger.error("%s; skipped", error.args[0])  # noqa: TRY400 - as above

    def _merge(self, *, notify: bool = True) -> bool:
        """Merge the sources into current(); whether it changed (on_change called if so and
        ``notify``)."""
        merged = merge_districts(self._env, self._file, self._registered)
        for district_id in sorted(merged.shadowed - self._shadowed):
            logger.warning(
                "district %s is configured more than once; the environment wins over the file "
                "and the file over the districts topic",
                district_id,
            )
        self._shadowed = merged.shadowed
        if merged.districts == self._current:
            return False
        self._current = MappingProxyType(merged.districts)
        if notify:
            self._on_change()
        return True


def _stamp(path: Path) -> tuple[int, int, int]:
    """What identifies the file's present version; a ``ConfigurationError`` if it has none."""
    try:
        found = os.stat(path)
    except OSError as error:
        raise ConfigurationError(
            f"cannot read the districts file {path}: {error.strerror or type(error).__name__}",
            hint="CLEVER_POLLER_DISTRICTS_FILE must name a readable JSON list of districts",
        ) from None
    return (found.st_ino, found.st_size, found.st_mtime_ns)
