"""The Grafana dashboard (deploy/grafana/clever-stream.json) asks only for metrics the
poller and the worker expose, under the names they expose them by."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry

from connectors.metrics import PollerMetrics
from schemas.codec import default_codec
from streams.metrics import WorkerMetrics
from streams.processor.handler import RecordHandler
from streams.topics import OutputTopics

DASHBOARD = Path(__file__).resolve().parents[2] / "deploy" / "grafana" / "clever-stream.json"
#: A metric name in PromQL: ours all start with clever_.
METRIC = re.compile(r"\bclever_[a-z_]+\b")


def exposed_families() -> dict[str, str]:
    """The metric families the two processes' registries expose, by name: their types."""
    poller = PollerMetrics(CollectorRegistry())
    handler = RecordHandler(topics=OutputTopics.of("p"), codec=default_codec())
    worker = WorkerMetrics(handler, owned=lambda: 1, lag=lambda: {0: 0})
    return {
        family.name: family.type
        for registry in (poller.registry, worker.registry)
        for family in registry.collect()
    }


#: The sample names PromQL reads of each type, after the family's name.
SUFFIXES = {"counter": ("_total",), "histogram": ("_bucket", "_count", "_sum"), "gauge": ("",)}


def expressions(dashboard: dict[str, Any]) -> list[str]:
    found = [target["expr"] for panel in dashboard["panels"] for target in panel.get("targets", [])]
    found += [
        variable["definition"]
        for variable in dashboard["templating"]["list"]
        if "definition" in variable
    ]
    return found


def test_every_metric_the_dashboard_asks_for_is_exposed() -> None:
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    readable = {
        f"{family}{suffix}"
        for family, kind in exposed_families().items()
        for suffix in SUFFIXES[kind]
    }

    asked = {name for expression in expressions(dashboard) for name in METRIC.findall(expression)}
    unknown = asked - readable

    assert len(asked) >= 15
    assert not unknown, f"the dashboard asks for metrics nobody exposes: {sorted(unknown)}"


def test_panels_do_not_overlap_and_have_unique_ids() -> None:
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    cells: set[tuple[int, int]] = set()
    ids = [panel["id"] for panel in dashboard["panels"]]
    for panel in dashboard["panels"]:
        grid = panel["gridPos"]
        assert grid["x"] + grid["w"] <= 24, panel["title"]
        covered = {
            (x, y)
            for x in range(grid["x"], grid["x"] + grid["w"])
            for y in range(grid["y"], grid["y"] + grid["h"])
        }
        assert not covered & cells, f"{panel['title']} overlaps another panel"
        cells |= covered

    assert len(ids) == len(set(ids))
