"""The Faust worker with its tables in RocksDB (CLEVER_WORKER_STORE=rocksdb://).

The native engine's RocksDB store has its own test (``test_engine_rocksdb``).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from rocksdict import AccessType, Options, Rdict

from fakeclever import FakeClever, FakeDistrict
from streams.engines.faust.service import FaustEngine
from streams.engines.faust.table_files import MARKER
from tests.integration.connectors.poller_harness import (
    caught_up,
    district_entry,
    poller_settings,
    running_poller,
)
from tests.integration.streams.worker_harness import (
    converge,
    running_worker,
    worker_settings,
)

pytestmark = pytest.mark.integration

# Faust keeps table files in <datadir>/v<app version>/<tabledir>, one RocksDB per table and
# partition: <table>-<partition>.db.
TABLES = Path("v1") / "tables"
# Faust's own key in each partition's database: the changelog offset the files hold up to.
OFFSET_KEY = b"__faust\0offset__"


def stored(data_dir: Path, table: str) -> dict[bytes, bytes]:
    """Every record of ``table`` in a stopped worker's RocksDB files, all partitions."""
    paths = sorted((data_dir / TABLES).glob(f"{table}-*.db"))
    assert paths, f"no RocksDB files of table {table} in {data_dir / TABLES}"
    records: dict[bytes, bytes] = {}
    for path in paths:
        db = Rdict(
            str(path),
            Options(raw_mode=True),
            access_type=AccessType.read_only(error_if_log_file_exist=False),
        )
        try:
            for key, value in db.items():
                # raw_mode: keys and values are the bytes Faust wrote.
                assert isinstance(key, bytes)
                assert isinstance(value, bytes)
                records[key] = value
        finally:
            db.close()
    return records


def identities(data_dir: Path) -> dict[str, str]:
    """Each table database's RocksDB IDENTITY: a new one whenever the database is recreated."""
    return {db.name: (db / "IDENTITY").read_text() for db in (data_dir / TABLES).glob("*.db")}


def assert_state_on_disk(data_dir: Path, district: FakeDistrict) -> None:
    """The district's progress and its related contacts are in the worker's RocksDB files."""
    districts = stored(data_dir, "districts")
    assert district.id.encode() in districts
    prefix = f"{district.id}/".encode()
    contacts = {key[len(prefix) :].decode() for key in stored(data_dir, "contacts")}
    related = {contact for contact, *_ in district.ground_truth()}
    assert related <= contacts, f"{len(related - contacts)} related contacts not on disk"


async def test_the_pipeline_converges_with_tables_in_rocksdb_and_after_a_restart(
    bootstrap_servers: str, unique_name: Callable[[str], str], tmp_path: Path
) -> None:
    fake = FakeClever()
    district = fake.add_district(seed=111, contacts=60)
    prefix = unique_name("p")
    data_dir = tmp_path / "worker"
    async with fake.serve() as base_url:
        poller = poller_settings(bootstrap_servers, base_url, prefix, [district_entry(district)])
        settings = worker_settings(
            bootstrap_servers, prefix, unique_name("app"), data_dir, store="rocksdb://",
            engine="faust",
        )  # fmt: skip
        async with running_poller(poller):
            # As deployed: exactly_once, whose aborted writes the files must never keep.
            async with running_worker(settings) as worker:
                assert isinstance(worker, FaustEngine)
                tables = worker.worker.tables
                assert type(tables.contacts.data).__module__ == "faust.stores.rocksdb"
                await caught_up(poller, district)
                district.random_changes(30, seed=1)
                await caught_up(poller, district)
                await converge(bootstrap_servers, prefix, district.ground_truth, timeout_s=60)
            assert_state_on_disk(data_dir, district)
            # The stop was clean: it left a marker. Faust 0.15.3 can leave a partition's
            # committed offset behind records whose outputs it committed (see
            # docs/decisions/0017); the marker then lists that partition, whose files the
            # next start rebuilds. Every other partition's files are kept as they are.
            marker = json.loads((data_dir / TABLES / MARKER).read_text())
            kept = {
                name: identity
                for name, identity in identities(data_dir).items()
                if int(name.removesuffix(".db").rsplit("-", 1)[1]) not in marker["discard"]
            }

            # Clever changes while the worker is down; the same worker (same app ID and data
            # folder) starts on the state its files kept and carries on from there.
            district.random_changes(20, seed=2)
            await caught_up(poller, district)
            async with running_worker(settings):
                assert not (data_dir / TABLES / MARKER).exists(), "taken at start"
                await converge(bootstrap_servers, prefix, district.ground_truth, timeout_s=60)
                district.random_changes(10, seed=3)
                await caught_up(poller, district)
                await converge(bootstrap_servers, prefix, district.ground_truth, timeout_s=60)
            assert_state_on_disk(data_dir, district)
            assert identities(data_dir).items() >= kept.items(), "a database was recreated"
            # Under exactly_once, Faust 0.15.3 stores how far the files follow the changelog
            # only when it recovers (its on-commit bookkeeping never matches a source
            # partition to its changelog partitions): the first run recovered nothing and left
            # no offset; the restart read the changelog and stored how far.
            assert OFFSET_KEY in stored(data_dir, "districts"), "a restart would read it all"
