"""CLEVER_WORKER_STORE: the table stores a worker supports, and a clear error for the rest."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from foundation.connection import KafkaConnection
from streams.engines.faust.app import create_app
from streams.settings import WorkerSettings


def test_the_memory_store_is_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CLEVER_WORKER_STORE", raising=False)

    assert WorkerSettings().store == "memory://"


@pytest.mark.parametrize(
    ("value", "store"),
    [
        pytest.param("memory://", "memory://", id="memory"),
        pytest.param("rocksdb://", "rocksdb://", id="rocksdb"),
        pytest.param(" RocksDB:// ", "rocksdb://", id="case-and-spaces"),
    ],
)
def test_a_supported_store_is_read_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, value: str, store: str
) -> None:
    monkeypatch.setenv("CLEVER_WORKER_STORE", value)

    assert WorkerSettings().store == store


@pytest.mark.parametrize(
    ("value", "hint"),
    [
        pytest.param("rocksdict://", "rocksdb:// is Faust's RocksDB store", id="rocksdict"),
        pytest.param("rocksdb:///var/tables", "without a path", id="path"),
        pytest.param("aerospike://", "use memory:// or rocksdb://", id="aerospike"),
        pytest.param("redis://localhost", "use memory:// or rocksdb://", id="other"),
    ],
)
def test_an_unsupported_store_is_refused_with_the_supported_ones(value: str, hint: str) -> None:
    with pytest.raises(ValidationError, match="unsupported table store") as caught:
        WorkerSettings(store=value)

    assert hint in str(caught.value)


def test_the_app_keeps_its_tables_in_rocksdb_when_asked(tmp_path: Path) -> None:
    settings = WorkerSettings(store="rocksdb://", data_dir=tmp_path)

    app = create_app(settings, kafka=KafkaConnection("kafka:9092"), replication_factor=1)
    table = app.Table("contacts", key_type=bytes, value_type=bytes, partitions=3)

    assert str(app.conf.store) == "rocksdb:"
    assert type(table.data).__module__ == "faust.stores.rocksdb"
    assert table.data.use_rocksdict  # type: ignore[attr-defined]  # StoreT does not declare it
    assert app.conf.tabledir.is_relative_to(tmp_path)
