"""A downstream service's bootstrap: who may see which student, from the topics alone.

It uses none of clever-stream's code: aiokafka to read, fastavro and the released ``.avsc``
files to decode. The steps, which any consumer of the topics can follow:

1. note where the changes topic ends now (read_committed);
2. read the compacted state topic from its start to its end: one record per live pair, a
   tombstone for a pair that ended; that is the truth as of step 1, or later;
3. read the changes topic from the offsets of step 1 on, applying each change (GRANTED and
   CHANGED set the pair's privilege, REVOKED removes it). A change already in the state is
   applied again harmlessly: each carries the pair's whole privilege after it.

Run it against a deployment (the prefix is its ``CLEVER_STREAM_TOPIC_PREFIX``):

    python examples/downstream_bootstrap.py --bootstrap-servers 127.0.0.1:9092 \\
        --prefix clever-stream --follow-seconds 10

It prints the live pairs, by district, as JSON. On a secured cluster it reads the same
``KAFKA_*`` variables as the pipeline (``KAFKA_SECURITY_PROTOCOL``, ``KAFKA_SASL_MECHANISM``,
``KAFKA_SASL_USERNAME``, ``KAFKA_SASL_PASSWORD`` or ``KAFKA_SASL_PASSWORD_FILE``,
``KAFKA_SSL_CA_LOCATION``, ``KAFKA_SSL_CERTIFICATE_LOCATION``, ``KAFKA_SSL_KEY_LOCATION``).
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import ssl
from pathlib import Path
from typing import Any

import fastavro
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from fastavro.schema import load_schema

HISTORY = Path(__file__).resolve().parents[1] / "schemas" / "history"
STATE = "dev.cleverstream.privileges.PrivilegeState"
CHANGE = "dev.cleverstream.privileges.PrivilegeChange"

#: (district, contact, student) -> (relationship, contact type) as Clever wrote them.
Pairs = dict[tuple[str, str, str], tuple[str | None, str | None]]


def client_options(bootstrap_servers: str) -> dict[str, Any]:
    """aiokafka's options for the cluster, with TLS and SASL from the KAFKA_* variables."""
    options: dict[str, Any] = {"bootstrap_servers": bootstrap_servers}
    protocol = os.environ.get("KAFKA_SECURITY_PROTOCOL", "PLAINTEXT").upper()
    if protocol == "PLAINTEXT":
        return options
    options["security_protocol"] = protocol
    if protocol in ("SSL", "SASL_SSL"):
        context = ssl.create_default_context(cafile=os.environ.get("KAFKA_SSL_CA_LOCATION"))
        if certificate := os.environ.get("KAFKA_SSL_CERTIFICATE_LOCATION"):
            context.load_cert_chain(certificate, os.environ.get("KAFKA_SSL_KEY_LOCATION"))
        options["ssl_context"] = context
    if protocol.startswith("SASL_"):
        password = os.environ.get("KAFKA_SASL_PASSWORD")
        if password is None:
            password_file = Path(os.environ["KAFKA_SASL_PASSWORD_FILE"])
            password = password_file.read_text(encoding="utf-8").strip()
        options["sasl_mechanism"] = os.environ["KAFKA_SASL_MECHANISM"]
        options["sasl_plain_username"] = os.environ["KAFKA_SASL_USERNAME"]
        options["sasl_plain_password"] = password
    return options


def released(name: str) -> Any:
    """The newest released schema of ``name``."""
    versions = sorted((HISTORY / name).glob("*.avsc"), key=lambda path: int(path.stem))
    return load_schema(str(versions[-1]))


def decode(value: bytes, schema: Any) -> dict[str, Any]:
    """An Avro single-object message (``C3 01``, fingerprint, body) of ``schema``."""
    if value[:2] != b"\xc3\x01":
        raise ValueError("not an Avro single-object message")
    record = fastavro.schemaless_reader(io.BytesIO(value[10:]), schema, schema)
    if not isinstance(record, dict):
        raise TypeError("not a record")
    return record


async def read_to(
    consumer: AIOKafkaConsumer, ends: dict[TopicPartition, int]
) -> list[tuple[bytes, bytes | None]]:
    """(key, value) of every record from the consumer's positions up to ``ends``."""
    found: list[tuple[bytes, bytes | None]] = []
    for tp, end in ends.items():
        while await consumer.position(tp) < end:
            batches = await consumer.getmany(tp, timeout_ms=500)
            found += [(message.key or b"", message.value) for message in batches.get(tp, [])]
    return found


async def partitions_of(bootstrap_servers: str, *topics: str) -> list[list[TopicPartition]]:
    """The partitions of each of ``topics``."""
    admin = AIOKafkaAdminClient(**client_options(bootstrap_servers))
    await admin.start()
    try:
        described = {topic["topic"]: topic for topic in await admin.describe_topics(list(topics))}
    finally:
        await admin.close()
    return [
        [TopicPartition(topic, p["partition"]) for p in described[topic]["partitions"]]
        for topic in topics
    ]


async def bootstrap(bootstrap_servers: str, prefix: str, follow_seconds: float) -> Pairs:
    """The live pairs: the state topic, then the changes since (see the module's doc)."""
    state_topic = f"{prefix}.privileges.state.v1"
    changes_topic = f"{prefix}.privileges.changes.v1"
    changes, state = await partitions_of(bootstrap_servers, changes_topic, state_topic)
    consumer = AIOKafkaConsumer(
        **client_options(bootstrap_servers),
        isolation_level="read_committed",
        enable_auto_commit=False,
        auto_offset_reset="earliest",  # the state topic is read from its start
    )
    await consumer.start()
    try:
        consumer.assign([*changes, *state])
        since = await consumer.end_offsets(changes)  # 1.
        state_schema, change_schema = released(STATE), released(CHANGE)
        pairs: Pairs = {}
        for key, value in await read_to(consumer, await consumer.end_offsets(state)):  # 2.
            district, contact, student = key.decode("utf-8").split("/")
            if value is None:
                pairs.pop((district, contact, student), None)
            else:
                privilege = decode(value, state_schema)["privilege"]
                pairs[(district, contact, student)] = (
                    privilege["relationship_raw"],
                    privilege["contact_type_raw"],
                )
        for tp, offset in since.items():  # 3.
            consumer.seek(tp, offset)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + follow_seconds
        while True:
            for _, value in await read_to(consumer, await consumer.end_offsets(changes)):
                if value is not None:
                    apply(pairs, decode(value, change_schema))
            if loop.time() >= deadline:
                return pairs
            await asyncio.sleep(min(1.0, max(0.0, deadline - loop.time())))
    finally:
        await consumer.stop()


def apply(pairs: Pairs, change: dict[str, Any]) -> None:
    """One privilege change on the pairs."""
    pair = (change["district_id"], change["contact_id"], change["student_id"])
    after = change["after"]
    if change["kind"] == "REVOKED" or after is None:
        pairs.pop(pair, None)
    else:
        pairs[pair] = (after["relationship_raw"], after["contact_type_raw"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bootstrap-servers", required=True)
    parser.add_argument("--prefix", default="clever-stream")
    parser.add_argument("--follow-seconds", type=float, default=0.0)
    arguments = parser.parse_args()
    pairs = asyncio.run(
        bootstrap(arguments.bootstrap_servers, arguments.prefix, arguments.follow_seconds)
    )
    by_district: dict[str, list[list[str | None]]] = {}
    for (district, contact, student), (relationship, contact_type) in sorted(pairs.items()):
        by_district.setdefault(district, []).append([contact, student, relationship, contact_type])
    print(json.dumps(by_district))  # noqa: T201 - the example's output


if __name__ == "__main__":
    main()
