"""Clever's envelopes: unwrapped items, optional links, and bodies that are not envelopes."""

from __future__ import annotations

from typing import Any

import pytest

from connectors.exceptions import CleverResponseError
from connectors.pages import Page, decode_json, parse_page, parse_single


def test_a_list_is_unwrapped_and_keeps_unknown_keys() -> None:
    body = {
        "data": [
            {
                "data": {"id": "a1", "name": {"last": "X"}, "new_field": [1]},
                "uri": "/v3.0/users/a1",
            },
            {"data": {"id": "a2"}},
        ],
        "links": [
            {"rel": "self", "uri": "/v3.0/users?limit=2"},
            {"rel": "next", "uri": "/v3.0/users?limit=2&starting_after=a2"},
        ],
    }

    page = parse_page(body)

    assert page == Page(
        items=({"id": "a1", "name": {"last": "X"}, "new_field": [1]}, {"id": "a2"}),
        next_path="/v3.0/users?limit=2&starting_after=a2",
        has_links=True,
    )
    assert page.size == 2


def test_the_last_page_has_links_but_no_next() -> None:
    page = parse_page({"data": [{"data": {"id": "a"}}], "links": [{"rel": "prev", "uri": "/x"}]})

    assert page.next_path is None
    assert page.has_links


def test_missing_links_are_tolerated() -> None:
    page = parse_page({"data": [{"data": {"id": "a"}}]})

    assert page == Page(items=({"id": "a"},), next_path=None, has_links=False)


@pytest.mark.parametrize(
    ("uri", "path"),
    [
        ("https://api.clever.com/v3.0/events?starting_after=e1", "/v3.0/events?starting_after=e1"),
        ("//elsewhere.example/v3.0/users", "/v3.0/users"),
        ("v2.1/contacts?limit=5", "/v2.1/contacts?limit=5"),
    ],
    ids=["absolute", "other-host", "no-leading-slash"],
)
def test_a_next_link_is_cut_to_a_path_on_our_host(uri: str, path: str) -> None:
    page = parse_page({"data": [], "links": [{"rel": "NEXT", "uri": uri}]})

    assert page.next_path == path


def test_odd_links_are_ignored() -> None:
    links: list[Any] = ["next", {"rel": 5, "uri": "/x"}, {"uri": "/x"}, None]

    assert parse_page({"data": [], "links": links}).next_path is None
    assert not parse_page({"data": [], "links": {"next": "/x"}}).has_links


@pytest.mark.parametrize(
    "link",
    [{"rel": "next"}, {"rel": "next", "uri": 5}, {"rel": "Next", "uri": " "}],
    ids=["no-uri", "uri-number", "uri-blank"],
)
def test_a_next_link_without_a_uri_is_refused(link: dict[str, Any]) -> None:
    # Read as the last page, it would end a snapshot's listing with the rest unseen.
    with pytest.raises(CleverResponseError, match="next link"):
        parse_page({"data": [{"data": {"id": "a"}}], "links": [link]})


def test_an_unwrapped_object_is_taken_as_it_is() -> None:
    event = {"id": "e1", "type": "users.created", "data": {"object": {"id": "u1"}}}

    assert parse_page({"data": [event]}).items == (event,)


def test_entries_without_an_object_are_kept_as_sent_in_their_place() -> None:
    data: list[Any] = ["text", None, {"data": "x"}, {"data": {"id": "ok"}}, 4, {"id": "z"}]
    page = parse_page({"data": data})

    assert page.items == ({"id": "ok"}, {"id": "z"})
    assert page.skipped == 4
    assert page.size == 6
    assert page.entries() == ["text", None, {"data": "x"}, {"id": "ok"}, 4, {"id": "z"}]


def test_a_single_object_envelope_is_no_list() -> None:
    # Where a list was asked, taking it as a page of one would file a stray object.
    with pytest.raises(CleverResponseError, match="data is dict, not a list"):
        parse_page({"data": {"id": "d1"}})
    assert parse_single({"data": {"id": "d1"}}) == {"id": "d1"}


@pytest.mark.parametrize(
    "body",
    [[], None, "html", {"message": "x"}, {"data": "x"}, {"data": 3}],
    ids=["list", "null", "string", "error-body", "data-string", "data-number"],
)
def test_a_body_that_is_not_an_envelope_is_refused(body: Any) -> None:
    with pytest.raises(CleverResponseError, match="envelope"):
        parse_page(body)
    with pytest.raises(CleverResponseError, match="envelope"):
        parse_single(body)


@pytest.mark.parametrize(
    "content",
    [b'{"data": [{"data": {"id"', b"<html><body>Sign in</body></html>", b"", b'{"a": NaN}'],
    ids=["truncated", "html", "empty", "nan"],
)
def test_a_body_that_is_not_json_is_refused_without_quoting_it(content: bytes) -> None:
    with pytest.raises(CleverResponseError, match="not JSON") as caught:
        decode_json(content)

    assert "Sign in" not in str(caught.value)
