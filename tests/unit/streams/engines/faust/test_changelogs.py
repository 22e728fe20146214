"""engines.faust.changelogs: the changelog topics created ahead of Faust are Faust's own."""

from __future__ import annotations

from pathlib import Path

from streams.engines.faust.changelogs import changelog_topics
from streams.engines.faust.worker import build_worker
from streams.settings import WorkerSettings


def test_each_table_gets_a_compacted_changelog_partitioned_like_the_raw_topic(
    tmp_path: Path,
) -> None:
    settings = WorkerSettings(
        KAFKA_BOOTSTRAP_SERVERS="kafka:9092", app_id="privileges", data_dir=tmp_path
    )
    worker = build_worker(settings, raw_partitions=5, replication_factor=1)
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
