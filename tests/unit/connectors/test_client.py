"""The district client: versioned paths, paging by links or by last ID, the events calls,
the v2.1 and v3 sync paths, and a token that only ever travels in the header."""

from __future__ import annotations

import logging
from typing import Any

import httpx
import pytest

from connectors.client import CleverClient
from connectors.exceptions import (
    CleverApiError,
    CleverAuthError,
    CleverResponseError,
    CleverUnavailableError,
)
from connectors.http import HttpOptions, new_http_client
from connectors.pages import Page
from connectors.retry import RetryPolicy
from tests.unit.connectors.conftest import TOKEN, HarnessFactory, envelope, ok, status


def users(*ids: str) -> list[dict[str, Any]]:
    return [{"id": each, "roles": {"contact": {}}} for each in ids]


async def collect(pages: Any) -> list[Page]:
    return [page async for page in pages]


def ids_of(pages: list[Page]) -> list[list[str]]:
    return [[item["id"] for item in page.items] for page in pages]


async def test_a_path_gets_the_version_and_params_repeat_for_sequences(
    make_client: HarnessFactory,
) -> None:
    run = make_client(ok(envelope([])), api_version="v3.1")

    await run.client.get_page(
        "/events", {"record_type": ["users", "districts"], "limit": 5, "school": "s1"}
    )

    assert run.clever.targets == [
        "/v3.1/events?record_type=users&record_type=districts&limit=5&school=s1"
    ]


async def test_every_request_carries_the_districts_bearer_token(
    make_client: HarnessFactory,
) -> None:
    run = make_client(
        status(503), ok(envelope(users("a"), next_uri="/v3.0/users?p=2")), ok({"data": []})
    )

    await collect(run.client.iterate("/users", limit=10))

    assert len(run.clever.requests) == 3
    assert {r.headers["authorization"] for r in run.clever.requests} == {f"Bearer {TOKEN}"}


async def test_follow_requests_the_link_as_given(make_client: HarnessFactory) -> None:
    run = make_client(ok(envelope(users("c"))))

    page = await run.client.follow("/v3.0/users?limit=2&starting_after=b")

    assert run.clever.targets == ["/v3.0/users?limit=2&starting_after=b"]
    assert page.items[0]["id"] == "c"


@pytest.mark.parametrize("target", ["v3.0/users", "//evil.example/v3.0/users", ""])
async def test_follow_refuses_anything_but_a_path(make_client: HarnessFactory, target: str) -> None:
    run = make_client()

    with pytest.raises(ValueError, match="path"):
        await run.client.follow(target)


async def test_iterate_follows_next_links_until_there_is_none(
    make_client: HarnessFactory,
) -> None:
    run = make_client(
        ok(envelope(users("a", "b"), next_uri="/v3.0/users?limit=2&starting_after=b")),
        ok(envelope(users("c", "d"), next_uri="/v3.0/users?limit=2&starting_after=d")),
        ok(envelope(users("e"))),
    )

    pages = await collect(run.client.iterate("/users", {"role": "contact"}, limit=2))

    assert ids_of(pages) == [["a", "b"], ["c", "d"], ["e"]]
    assert run.clever.targets == [
        "/v3.0/users?role=contact&limit=2",
        "/v3.0/users?limit=2&starting_after=b",
        "/v3.0/users?limit=2&starting_after=d",
    ]


async def test_iterate_stops_at_an_empty_page_without_yielding_it(
    make_client: HarnessFactory,
) -> None:
    run = make_client(
        ok(envelope(users("a", "b"), next_uri="/v3.0/users?starting_after=b")),
        ok(envelope([], next_uri="/v3.0/users?starting_after=zzz")),
    )

    pages = await collect(run.client.iterate("/users", limit=2))

    assert ids_of(pages) == [["a", "b"]]
    assert len(run.clever.requests) == 2


async def test_iterate_over_nothing_yields_nothing(make_client: HarnessFactory) -> None:
    run = make_client(ok({"data": []}))

    assert await collect(run.client.iterate("/users", limit=100)) == []


async def test_a_full_last_page_with_links_but_no_next_ends_the_paging(
    make_client: HarnessFactory,
) -> None:
    run = make_client(ok(envelope(users("a", "b"))))

    pages = await collect(run.client.iterate("/users", limit=2))

    assert ids_of(pages) == [["a", "b"]]
    assert len(run.clever.requests) == 1


async def test_without_links_paging_goes_on_after_the_last_id_while_pages_are_full(
    make_client: HarnessFactory,
) -> None:
    run = make_client(
        ok(envelope(users("a", "b"), links=False)),
        ok(envelope(users("c", "d"), links=False)),
        ok(envelope(users("e"), links=False)),
        api_version="v2.1",
    )

    pages = await collect(run.client.iterate("/contacts", {"starting_after": "0"}, limit=2))

    assert ids_of(pages) == [["a", "b"], ["c", "d"], ["e"]]
    assert run.clever.targets == [
        "/v2.1/contacts?starting_after=0&limit=2",
        "/v2.1/contacts?starting_after=b&limit=2",
        "/v2.1/contacts?starting_after=d&limit=2",
    ]


async def test_without_links_a_full_page_then_an_empty_one_ends_the_paging(
    make_client: HarnessFactory,
) -> None:
    run = make_client(ok(envelope(users("a", "b"), links=False)), ok({"data": []}))

    pages = await collect(run.client.iterate("/users", limit=2))

    assert ids_of(pages) == [["a", "b"]]
    assert len(run.clever.requests) == 2


async def test_without_links_an_item_without_id_cannot_be_paged_after(
    make_client: HarnessFactory,
) -> None:
    run = make_client(ok({"data": [{"data": {"id": "a"}}, {"data": {"name": "?"}}]}))

    with pytest.raises(CleverResponseError, match="no ID"):
        await collect(run.client.iterate("/users", limit=2))


async def test_without_links_a_page_ending_on_an_entry_that_is_no_object_cannot_be_paged_after(
    make_client: HarnessFactory,
) -> None:
    # Paging on after "a" would serve the last entry again.
    run = make_client(ok({"data": [{"data": {"id": "a"}}, 5]}))

    with pytest.raises(CleverResponseError, match="no ID"):
        await collect(run.client.iterate("/users", limit=2))


@pytest.mark.parametrize(
    "broken",
    [
        {"data": [{"data": {"id": "a"}}], "links": [{"rel": "next"}]},
        {"data": {"id": "a"}},
        {"links": []},
    ],
    ids=["next-link-without-uri", "single-object", "no-data"],
)
async def test_a_list_body_that_is_not_a_list_envelope_is_retried_not_read(
    make_client: HarnessFactory, broken: dict[str, Any]
) -> None:
    run = make_client(
        ok(broken),
        ok(envelope(users("a", "b"), next_uri="/v3.0/users?limit=2&starting_after=b")),
        ok(envelope(users("c"))),
    )

    pages = await collect(run.client.iterate("/users", limit=2))

    assert ids_of(pages) == [["a", "b"], ["c"]]
    assert len(run.sleeps) == 1


async def test_a_newest_event_that_is_no_object_is_no_bookmark(
    make_client: HarnessFactory,
) -> None:
    # Taking it for "no event yet" would poll from Clever's oldest event after the snapshot.
    run = make_client(
        ok({"data": ["?"]}),
        ok({"data": [{"data": {"type": "users.created"}}]}),
        ok({"data": [{"data": {"id": "\ud800", "type": "users.created"}}]}),  # no URL holds it
    )

    for _ in range(3):
        with pytest.raises(CleverResponseError, match="no ID"):
            await run.client.newest_event_id()


async def test_a_server_that_ignores_starting_after_is_caught(
    make_client: HarnessFactory,
) -> None:
    run = make_client(*[ok(envelope(users("a", "b"), links=False))] * 3)

    with pytest.raises(CleverResponseError, match="ignored starting_after"):
        await collect(run.client.iterate("/users", limit=2))


async def test_a_next_link_to_the_same_page_is_caught(make_client: HarnessFactory) -> None:
    run = make_client(*[ok(envelope(users("a"), next_uri="/v3.0/users?p=1"))] * 3)

    with pytest.raises(CleverResponseError, match="same page"):
        await collect(run.client.iterate("/users", limit=1))
    assert len(run.clever.requests) == 2


@pytest.mark.parametrize("limit", [0, -1, 10_001, True])
async def test_limit_is_checked_before_any_request(make_client: HarnessFactory, limit: int) -> None:
    run = make_client()

    with pytest.raises(ValueError, match=r"1\.\.10000"):
        run.client.iterate("/users", limit=limit)
    with pytest.raises(ValueError, match=r"1\.\.10000"):
        run.client.snapshot_pages("contact", starting_after=None, limit=limit)
    with pytest.raises(ValueError, match=r"1\.\.10000"):
        await run.client.events_after(None, limit=limit)
    assert run.clever.requests == []


async def test_the_tokens_district(make_client: HarnessFactory) -> None:
    district = {"id": "d1", "name": "Springfield", "state": "running"}
    run = make_client(ok(envelope([district])))

    assert await run.client.district() == district
    assert run.clever.targets == ["/v3.0/districts"]


@pytest.mark.parametrize("districts", [[], [{"id": "d1"}, {"id": "d2"}]], ids=["none", "two"])
async def test_a_token_must_see_exactly_one_district(
    make_client: HarnessFactory, districts: list[dict[str, str]]
) -> None:
    run = make_client(ok(envelope(districts)))

    with pytest.raises(CleverApiError, match=f"{len(districts)} districts"):
        await run.client.district()


async def test_the_newest_event_is_the_bookmark(make_client: HarnessFactory) -> None:
    run = make_client(ok(envelope([{"id": "e9", "type": "users.created"}])), ok({"data": []}))

    assert await run.client.newest_event_id() == "e9"
    assert await run.client.newest_event_id() is None
    assert run.clever.targets == ["/v3.0/events?ending_before=last&limit=1"] * 2


async def test_events_after_a_cursor_or_from_the_start(make_client: HarnessFactory) -> None:
    event = {"id": "e2", "type": "users.updated", "data": {"object": {"id": "u1"}}}
    run = make_client(ok(envelope([event])), ok({"data": []}), api_version="v2.1")

    page = await run.client.events_after("e1", limit=500)
    empty = await run.client.events_after(None, limit=10)

    assert page.items == (event,)
    assert empty.items == ()
    assert run.clever.targets == [
        "/v2.1/events?limit=500&starting_after=e1",
        "/v2.1/events?limit=10",
    ]


@pytest.mark.parametrize(
    ("api_version", "role", "target"),
    [
        ("v3.0", "contact", "/v3.0/users?role=contact&limit=50"),
        ("v3.1", "student", "/v3.1/users?role=student&limit=50"),
        ("v2.1", "contact", "/v2.1/contacts?limit=50"),
        ("v2.1", "student", "/v2.1/students?limit=50"),
    ],
    ids=["v3.0-contacts", "v3.1-students", "v2.1-contacts", "v2.1-students"],
)
async def test_snapshot_pages_read_the_versions_path_for_a_role(
    make_client: HarnessFactory, api_version: str, role: str, target: str
) -> None:
    run = make_client(ok({"data": []}), api_version=api_version)

    await collect(run.client.snapshot_pages(role, starting_after=None, limit=50))

    assert run.clever.targets == [target]


async def test_snapshot_pages_resume_after_a_record(make_client: HarnessFactory) -> None:
    run = make_client(ok({"data": []}))

    await collect(run.client.snapshot_pages("contact", starting_after="u7", limit=9))

    assert run.clever.targets == ["/v3.0/users?role=contact&starting_after=u7&limit=9"]


@pytest.mark.parametrize(
    ("api_version", "role"), [("v2.1", "teacher"), ("v3.0", "guardian")], ids=["v2.1", "v3.0"]
)
async def test_snapshot_pages_refuse_a_role_without_a_path(
    make_client: HarnessFactory, api_version: str, role: str
) -> None:
    run = make_client(api_version=api_version)

    with pytest.raises(ValueError, match="role"):
        run.client.snapshot_pages(role, starting_after=None, limit=10)


@pytest.mark.parametrize("token", ["", "has space", "line\nbreak", "naïve"])
async def test_an_unusable_token_is_refused_without_being_quoted(token: str) -> None:
    async with new_http_client(HttpOptions()) as http:
        with pytest.raises(ValueError, match="token") as caught:
            CleverClient(http, token=token)

    if token:
        assert token not in str(caught.value)


@pytest.mark.parametrize("api_version", ["3.0", "v3", "v3.0/../x", ""])
async def test_an_odd_api_version_is_refused(api_version: str) -> None:
    async with new_http_client(HttpOptions()) as http:
        with pytest.raises(ValueError, match="api_version"):
            CleverClient(http, token=TOKEN, api_version=api_version)


async def test_the_token_never_reaches_a_log_or_an_error(
    make_client: HarnessFactory, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    errors: list[BaseException] = []
    scripts: list[tuple[Any, ...]] = [
        (status(429), ok(envelope(users("a")))),
        (httpx.ConnectError("refused"), ok(envelope(users("a")))),
        (status(401, {"message": f"token {TOKEN} is revoked"}),),
        (status(413, {"message": f"limit too large for {TOKEN}"}),),
        (status(503), status(503)),
        (httpx.Response(200, content=b"<html>login</html>"),) * 2,
    ]
    for script in scripts:
        run = make_client(*script, retry=RetryPolicy(max_attempts=2))
        try:
            await collect(run.client.iterate("/users", {"role": "contact"}, limit=5))
        except (CleverApiError, CleverAuthError, CleverUnavailableError) as error:
            errors.append(error)
        assert TOKEN not in repr(run.client)

    assert len(errors) == 4
    assert "<token>" in str(errors[1])
    texts = [record.getMessage() for record in caplog.records]
    texts += [str(error) for error in errors] + [str(error.__cause__) for error in errors]
    assert any("HTTP 429" in text for text in texts)
    assert all(TOKEN not in text for text in texts)
