"""The topic catalogue: one naming convention, legal names, one definition per topic."""

from __future__ import annotations

import re

import pytest

from schemas.topics import ALL_TOPICS, FOREVER, CleanupPolicy, TopicSpec, validate_prefix

# Kafka's own rule for topic names.
LEGAL_TOPIC = re.compile(r"^[A-Za-z0-9._-]{1,249}$")


@pytest.mark.parametrize("spec", ALL_TOPICS, ids=lambda spec: spec.dataset)
def test_names_follow_the_convention(spec: TopicSpec) -> None:
    name = spec.name("district-a")

    assert name == f"district-a.{spec.dataset}.v{spec.version}"
    assert LEGAL_TOPIC.fullmatch(name)
    assert "_" not in name  # "." and "_" collide in Kafka's metric names


def test_every_topic_is_defined_once() -> None:
    names = [spec.name() for spec in ALL_TOPICS]

    assert len(names) == len(set(names))
    assert all(name.startswith("clever-stream.") for name in names)


def test_state_and_cursors_are_compacted_and_kept() -> None:
    by_dataset = {spec.dataset: spec for spec in ALL_TOPICS}

    for dataset in ("poller.cursors", "privileges.state"):
        assert by_dataset[dataset].cleanup_policy is CleanupPolicy.COMPACT
        assert by_dataset[dataset].config()["cleanup.policy"] == "compact"
    # The raw stream is what a replay rebuilds state from: it is never deleted by age.
    assert by_dataset["clever.raw"].retention_ms == FOREVER


@pytest.mark.parametrize(
    "prefix", ["", "has space", "under_score", "-leading", "x" * 201, "ünïcode"]
)
def test_illegal_prefixes_are_refused(prefix: str) -> None:
    with pytest.raises(ValueError, match="topic prefix"):
        validate_prefix(prefix)
