"""Released versions of each message schema, and the check that a change stays compatible.

``schemas/history/<full name>/<n>.avsc`` holds version ``n`` of a message schema as it was
released: self-contained (every named type it uses inline). Released versions are never
edited. ``python -m schemas release`` adds the current schemas as new versions where they
changed, after checking that each is compatible both ways with the one before:

- backward: a consumer on the new schema reads every message written with the old one;
- forward: a consumer still on the old schema reads messages written with the new one.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import avro.schema
from avro.compatibility import ReaderWriterCompatibilityChecker, SchemaCompatibilityType

from schemas.exceptions import SchemaError
from schemas.loader import SchemaSet
from schemas.records import MESSAGE_TYPES
from schemas.wire import fingerprint

HISTORY_FOLDER = "history"


@dataclass(frozen=True)
class ReleasedSchema:
    """One released version of a message schema."""

    full_name: str
    version: int
    document: Mapping[str, Any]

    @property
    def schema(self) -> avro.schema.Schema:
        """The version parsed with ``avro``."""
        return avro.schema.parse(json.dumps(self.document))


def history_root() -> Path:
    """The folder of released versions inside the installed ``schemas`` package."""
    return Path(str(resources.files("schemas").joinpath(HISTORY_FOLDER)))


def released_versions(full_name: str, root: Path | None = None) -> list[ReleasedSchema]:
    """Every released version of ``full_name``, oldest first."""
    folder = (root or history_root()) / full_name
    if not folder.is_dir():
        return []
    versions = sorted(folder.glob("*.avsc"), key=lambda path: int(path.stem))
    return [
        ReleasedSchema(full_name, int(path.stem), json.loads(path.read_text(encoding="utf-8")))
        for path in versions
    ]


def released_schemas(root: Path | None = None) -> Iterator[Mapping[str, Any]]:
    """Every released version of every message schema: what old messages were written with."""
    for full_name in MESSAGE_TYPES:
        for released in released_versions(full_name, root):
            yield released.document


def compatibility_problems(current: avro.schema.Schema, released: avro.schema.Schema) -> list[str]:
    """Why ``current`` cannot replace ``released`` (empty if it can), in both directions."""
    checker = ReaderWriterCompatibilityChecker()  # type: ignore[no-untyped-call]  # avro's own
    problems = []
    for direction, reader, writer in (
        ("backward (new reader, old data)", current, released),
        ("forward (old reader, new data)", released, current),
    ):
        result = checker.get_compatibility(reader, writer)
        if result.compatibility is not SchemaCompatibilityType.compatible:
            details = ", ".join(
                f"{kind.value} at {location}"
                for kind, location in zip(result.incompatibilities, result.locations, strict=False)
            )
            problems.append(f"{direction}: {details or result.messages}")
    return problems


def pending_releases(schemas: SchemaSet, root: Path | None = None) -> dict[str, int]:
    """Message schemas that differ from their latest release, with the version they would get."""
    pending = {}
    for full_name in MESSAGE_TYPES:
        versions = released_versions(full_name, root)
        if not versions or fingerprint(versions[-1].document) != fingerprint(
            schemas.expanded_json(full_name)
        ):
            pending[full_name] = (versions[-1].version + 1) if versions else 1
    return pending


def release(schemas: SchemaSet, root: Path | None = None) -> dict[str, int]:
    """Write each changed, compatible message schema as its next version; return what was written.

    Raises SchemaError, writing nothing, if any change is incompatible with its latest release.
    """
    pending = pending_releases(schemas, root)
    for full_name in pending:
        versions = released_versions(full_name, root)
        if versions:
            problems = compatibility_problems(schemas[full_name], versions[-1].schema)
            if problems:
                raise SchemaError(
                    f"{full_name} is incompatible with its release {versions[-1].version}: "
                    + "; ".join(problems),
                    hint="add fields with defaults, never remove or retype one; an incompatible "
                    "change needs a new topic version (.v2)",
                )
    for full_name, version in pending.items():
        folder = (root or history_root()) / full_name
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{version}.avsc").write_text(
            json.dumps(schemas.expanded_json(full_name), indent=2) + "\n", encoding="utf-8"
        )
    return pending
