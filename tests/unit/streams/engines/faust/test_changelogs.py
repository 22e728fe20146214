"""engines.faust.changelogs: the changelog topics created ahead of Faust are Faust's own."""

from __future__ import annotations

from pathlib import Path

from foundation.connection import KafkaConnection
from streams.engines.changelogs import changelog_topics as engine_changelogs
from streams.engines.faust.changelogs import changelog_topics
from streams.engines.faust.worker import build_worker
from streams.settings import WorkerSettings

KAFKA = KafkaConnection("kafka:9092")


def test_each_table_gets_a_compacted_changelog_partitioned_like_the_raw_topic(
    tmp_path: Path,
) -> None:
    settings = WorkerSettings(app_id="privileges", data_dir=tmp_path)
    worker = build_worker(settings, kafka=KAFKA, raw_partitions=5, replication_factor=1)
    tables = list(worker.app.tables.values())

    topics = changelog_topics(tables, replication_factor=3)

    assert {topic.name for topic in topics} == {
        f"privileges-{table.name}-changelog" for table in tables
    }
    assert {table.name for table in tables} >= {"contacts", "students", "grants", "districts"}
    for topic in topics:
        assert topic.num_partitions == 5
        assert topic.replication_factor == 3
        assert topic.topic_configs["cleanup.policy"] == "compact"


def test_the_changelogs_a_tool_finds_without_faust_are_faust_s_own(tmp_path: Path) -> None:
    settings = WorkerSettings(app_id="privileges", data_dir=tmp_path)
    worker = build_worker(settings, kafka=KAFKA, raw_partitions=2, replication_factor=1)
    faust_names = {table.changelog_topic.get_topic_name() for table in worker.app.tables.values()}

    found = {topic.name: topic for topic in engine_changelogs("privileges")}

    assert faust_names <= set(found)
    assert set(found) - faust_names == {"privileges-tables-changelog"}
    assert found["privileges-grants-changelog"].district_of(b"d1/c1") == "d1"
    assert found["privileges-tables-changelog"].district_of(b"grants:d1/c1") == "d1"
    assert found["privileges-tables-changelog"].district_of(b"districts:d2") == "d2"
