"""Java reads what the Python codec writes: Apache Avro's BinaryMessageDecoder, for real."""

from __future__ import annotations

import json
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest

from localkafka.maven import MavenRequest, resolve_jars
from localkafka.settings import LocalKafkaSettings
from localkafka.toolchain import find_java
from schemas.codec import default_codec
from schemas.history import released_versions
from schemas.records import Cause, Privilege, PrivilegeChange
from schemas.values import CauseKind, ChangeKind, ContactType, Relationship

pytestmark = pytest.mark.integration

JAVA_DIR = Path(__file__).resolve().parents[2] / "java"
WHEN = datetime(2026, 11, 23, 12, 0, 0, 125000, tzinfo=UTC)


def avro_for_java() -> Path:
    """Apache Avro's jars, resolved with Maven into the project's cache (once)."""
    settings = LocalKafkaSettings()
    pom = (JAVA_DIR / "pom.xml").read_text(encoding="utf-8")
    request = MavenRequest(
        folder="avro-java-check",
        pom=pom,
        properties={},
        expected_jar="avro-1.*.jar",
        coordinates="org.apache.avro:avro",
        not_found_hint="check the version in tests/java/pom.xml",
    )
    return resolve_jars(
        request,
        cache_dir=settings.resolved_cache_dir,
        maven_settings=settings.maven_settings,
        timeout_s=settings.maven_timeout_s,
    )


def test_java_decodes_privilege_changes_written_in_python(tmp_path: Path) -> None:
    changes = [
        PrivilegeChange(
            change_id=f"change-{n}",
            kind=ChangeKind.GRANTED,
            district_id="5940d2546a9ab5000184a3a7",
            contact_id=f"contact-{n}",
            student_id="student-1",
            after=Privilege(
                relationship=Relationship.AUNT_UNCLE,
                relationship_raw="aunt/uncle",
                contact_type=ContactType.EMERGENCY,
            ),
            cause=Cause(kind=CauseKind.CLEVER_EVENT, clever_event_id=f"event-{n}"),
            occurred_at=WHEN,
            emitted_at=WHEN,
        )
        for n in range(3)
    ]
    messages = tmp_path / "messages.hex"
    messages.write_text("\n".join(default_codec().encode(c).hex() for c in changes) + "\n")
    [release] = released_versions(PrivilegeChange.AVRO_NAME)[-1:]
    schema = tmp_path / "PrivilegeChange.avsc"
    schema.write_text(json.dumps(release.document))

    completed = subprocess.run(
        [
            str(find_java().executable),
            "-cp",
            f"{avro_for_java()}/*",
            str(JAVA_DIR / "DecodeSingleObject.java"),
            str(schema),
            str(messages),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert completed.returncode == 0, completed.stderr
    decoded = [json.loads(line) for line in completed.stdout.splitlines()]
    assert [record["change_id"] for record in decoded] == ["change-0", "change-1", "change-2"]
    assert decoded[0]["kind"] == "GRANTED"
    assert decoded[0]["before"] is None
    assert decoded[0]["after"]["relationship"] == "AUNT_UNCLE"
    assert decoded[0]["after"]["relationship_raw"] == "aunt/uncle"
    assert decoded[0]["cause"]["clever_event_id"] == "event-0"
    assert decoded[0]["occurred_at"] == int(WHEN.timestamp() * 1000)
