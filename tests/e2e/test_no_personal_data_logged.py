"""No contact's personal data and no token reaches a log line or a metric.

A fake district's contacts carry names, phones and emails, and this test seeds marked ones.
The poller and a worker run as processes with `--debug` (every library's debug lines
included) through Clever's faults (429, 5xx, a truncated body) and through dead letters
whose records hold the marked values. Then every line both processes wrote, and both
`/metrics` pages, are searched for the markers and for the district's token.
"""

from __future__ import annotations

import asyncio
import json
import signal
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from aiokafka import AIOKafkaProducer

from fakeclever import FakeClever
from foundation.clock import utc_now
from schemas.codec import default_codec
from schemas.keys import district_key
from schemas.records import RawCleverRecord
from schemas.topics import RAW_EVENTS
from schemas.values import RawRecordKind, RecordSource
from tests.e2e.processes import module_process, poller_env
from tests.e2e.test_poller_endpoints import free_port, samples, value
from tests.e2e.test_worker_process import worker_env
from tests.integration.connectors.poller_harness import caught_up, poller_settings
from tests.waiting import eventually

pytestmark = pytest.mark.e2e

NAME = {"first": "Zelphinia", "last": "Quuxmarker"}
PHONE = "+1 555 0199 7731"
EMAIL = "pii.marker.77@example.org"
MARKERS = ("Zelphinia", "Quuxmarker", "555 0199 7731", "5550199", EMAIL, "pii.marker")


def unreadable_records(district_id: str) -> list[RawCleverRecord]:
    """Raw records holding the marked values: one the worker tolerates, then one it must
    dead-letter."""
    contact = {"id": "c-marked", "name": NAME, "phone": PHONE, "email": EMAIL}
    odd_and_broken = [
        # JSON, but a contact's relationships that are an email, not a list: tolerated.
        json.dumps(
            {
                "id": "e-1",
                "type": "users.updated",
                "data": {
                    "object": {**contact, "roles": {"contact": {"student_relationships": EMAIL}}}
                },
            }
        ),
        # Cut off: not JSON, so dead-lettered, after the one above (one partition, in order).
        json.dumps({"id": "e-2", "type": "users.updated", "data": {"object": contact}})[:-9],
    ]
    return [
        RawCleverRecord(
            district_id=district_id,
            api_version="v3.0",
            kind=RawRecordKind.EVENT,
            source=RecordSource.EVENTS,
            event_id=f"e-{n}",
            event_type="users.updated",
            fetched_at=utc_now(),
            clever_json=text,
        )
        for n, text in enumerate(odd_and_broken, start=1)
    ]


async def send(bootstrap_servers: str, topic: str, records: list[RawCleverRecord]) -> None:
    codec = default_codec()
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap_servers)
    await producer.start()
    try:
        for record in records:
            await producer.send_and_wait(
                topic, key=district_key(record.district_id), value=codec.encode(record)
            )
    finally:
        await producer.stop()


@pytest.mark.parametrize("engine", ["native", "faust"])
async def test_no_personal_data_or_token_in_any_log_line_or_metric(
    engine: str, bootstrap_servers: str, unique_name: Callable[[str], str], tmp_path: Path
) -> None:
    fake = FakeClever()
    district = fake.add_district(seed=97, contacts=12)
    # Without an SIS ID an update is a delete and a create: the contact's ID is the new one.
    events = district.update_contact(
        next(district.contact_ids()), phone=PHONE, email=EMAIL, name=NAME
    )
    [marked] = [e["data"]["object"]["id"] for e in events if e["type"] == "users.created"]
    prefix, app_id = unique_name("pii"), unique_name("app")
    poller_port, worker_port = free_port(), free_port()
    working = worker_env(bootstrap_servers, prefix, app_id, tmp_path / "worker", engine=engine)
    working.update(CLEVER_WORKER_WEB_ENABLED="true", CLEVER_WORKER_WEB_PORT=str(worker_port))
    poller_log, worker_log = tmp_path / "poller.log", tmp_path / "worker.log"
    for kind in ("rate_limit", "server_error", "truncate"):
        fake.faults.add(kind, times=2, district_id=district.id, retry_after=0.1)
    async with fake.serve() as base_url, httpx.AsyncClient(timeout=10) as http:
        settings = poller_settings(bootstrap_servers, base_url, prefix, [])
        polling = poller_env(bootstrap_servers, base_url, prefix, [district])
        polling["CLEVER_POLLER_HTTP_PORT"] = str(poller_port)
        polling["CLEVER_POLLER_RETRY_INITIAL_BACKOFF_S"] = "0.05"
        async with (
            module_process("clever_stream", "--debug", "poll", env=polling, log=poller_log) as p,
            module_process("clever_stream", "--debug", "worker", env=working, log=worker_log) as w,
        ):
            await caught_up(settings, district)
            district.update_contact(marked, phone="+1 555 0199 7732", email="x." + EMAIL)
            await caught_up(settings, district)
            await send(bootstrap_servers, RAW_EVENTS.name(prefix), unreadable_records(district.id))
            worker_metrics = f"http://127.0.0.1:{worker_port}/metrics"

            async def dead_lettered() -> str | None:
                try:
                    page = (await http.get(worker_metrics)).text
                except httpx.TransportError:
                    return None
                found = samples(page)
                letters = sum(
                    count
                    for (name, _), count in found.items()
                    if name == "clever_worker_dead_letters_total"
                )
                return page if letters >= 1 else None

            worker_page = await eventually(dead_lettered, timeout_s=90, what="a dead letter")
            poller_page = (await http.get(f"http://127.0.0.1:{poller_port}/metrics")).text
            for process in (p, w):
                process.send_signal(signal.SIGTERM)
                assert await asyncio.wait_for(process.wait(), 30) == 0

    logged = poller_log.read_text() + worker_log.read_text()
    # The faults happened, and the debug lines were written: the search below means something.
    assert value(samples(poller_page), "clever_responses_total", status="429") >= 1
    assert " DEBUG " in logged
    assert "dead" in worker_log.read_text().lower()
    for text, where in ((logged, "a log line"), (poller_page + worker_page, "a metric")):
        for marker in (*MARKERS, district.token):
            assert marker not in text, f"{marker!r} is in {where}"
