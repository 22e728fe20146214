"""The HTTP side of the fake: Clever's v3.0/v3.1 and v2.1 paths on ``aiohttp.web``.

One middleware does what every request shares (faults, bearer auth, rate-limit headers, the
request log, which poller asked, JSON errors); the handlers only read the district. The
fake's own controls live under ``/_fake/`` (no Clever path starts so), outside the middleware's
auth: ``GET /_fake/stats`` (the request statistics) and ``POST /_fake/changes`` (random changes
in one district: ``{"district_id": "...", "count": n}``). Each response body is one
``json.dumps``. Handlers never log tokens or personal fields, only IDs and paths.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from aiohttp import web

from fakeclever.district import FakeDistrict
from fakeclever.events import Event, entry_groups
from fakeclever.faults import Fault, Faults, retry_after_header
from fakeclever.pages import PageError, PageRequest, envelope, objects, take_in_turns
from fakeclever.records import relationships_of, v2_student
from fakeclever.segments import page_ids


class ServedClever(Protocol):
    """What the server asks of the fake as a whole (``FakeClever``, which builds the app:
    typed here so that this module needs no import of ``fakeclever.fake``)."""

    @property
    def faults(self) -> Faults: ...

    def district_for_token(self, token: str) -> FakeDistrict | None: ...

    def over_rate_limit(self, district: FakeDistrict) -> bool: ...

    def rate_limit_headers(self, district: FakeDistrict) -> dict[str, str]: ...

    def record_request(self, method: str, path_qs: str, status: int) -> None: ...

    def record_poller(self, district: FakeDistrict, user_agent: str, at: float) -> None: ...

    def stats(self) -> dict[str, Any]: ...

    def make_changes(self, district_id: str, count: int) -> list[str]: ...


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
_DISTRICT = web.RequestKey("district", FakeDistrict)
_HTML = "<!DOCTYPE html><html><head><title>Clever</title></head><body>Oops</body></html>"
_NOT_JSON = b"upstream connect error or disconnect/reset before headers"
V3_VERSIONS = ("v3.0", "v3.1")
_ROLES = ("contact", "district_admin", "staff", "student", "teacher")
#: The fake's own paths: not Clever's, so never authenticated, counted or faulted.
CONTROL_PREFIX = "/_fake/"


def build_app(fake: ServedClever) -> web.Application:
    """The aiohttp application serving every district of ``fake``."""
    app = web.Application(middlewares=[_middleware(fake)])
    routes = []
    for version in V3_VERSIONS:
        routes += [
            web.get(f"/{version}/users", _users),
            web.get(f"/{version}/users/{{id}}", _user),
            web.get(f"/{version}/users/{{id}}/mycontacts", _mycontacts),
            web.get(f"/{version}/users/{{id}}/mystudents", _mystudents),
            web.get(f"/{version}/users/{{id}}/district", _user_district),
        ]
    for version in (*V3_VERSIONS, "v2.1"):
        routes += [
            web.get(f"/{version}/events", _events),
            web.get(f"/{version}/events/{{id}}", _event),
            web.get(f"/{version}/districts", _districts),
            web.get(f"/{version}/districts/{{id}}", _district),
        ]
    routes += [
        web.get("/v2.1/contacts", _v2_contacts),
        web.get("/v2.1/contacts/{id}", _v2_contact),
        web.get("/v2.1/contacts/{id}/students", _v2_contact_students),
        web.get("/v2.1/students", _v2_students),
        web.get("/v2.1/students/{id}", _v2_student),
        web.get("/v2.1/students/{id}/contacts", _v2_student_contacts),
    ]
    routes += [
        web.get(f"{CONTROL_PREFIX}stats", _stats_of(fake)),
        web.post(f"{CONTROL_PREFIX}changes", _changes_of(fake)),
    ]
    app.add_routes(routes)
    return app


def _stats_of(fake: ServedClever) -> Handler:
    async def stats(request: web.Request) -> web.StreamResponse:
        return _json(fake.stats())

    return stats


def _changes_of(fake: ServedClever) -> Handler:
    async def changes(request: web.Request) -> web.StreamResponse:
        try:
            body = await request.json()
            made = fake.make_changes(str(body["district_id"]), int(body.get("count", 1)))
        except (ValueError, KeyError, TypeError):
            return _error(400, 'send {"district_id": "<a district ID>", "count": <n>}')
        return _json({"events": made})

    return changes


def _json(body: Any, status: int = 200) -> web.Response:
    return web.Response(
        body=json.dumps(body, separators=(",", ":")).encode(),
        status=status,
        content_type="application/json",
    )


def _error(status: int, message: str) -> web.Response:
    return _json({"message": message}, status)


def _middleware(fake: ServedClever) -> Any:
    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path.startswith(CONTROL_PREFIX):
            return await handler(request)
        arrived = time.monotonic()  # before any handler (or fault) delays the request
        auth = request.headers.get("Authorization", "")
        scheme, _, token = auth.partition(" ")
        district = fake.district_for_token(token) if scheme.lower() == "bearer" else None
        if district is not None:
            fake.record_poller(district, request.headers.get("User-Agent", ""), arrived)
        fault = fake.faults.take(district.id if district else None, request.path)
        if fault is None and district is not None and fake.over_rate_limit(district):
            fault = Fault("rate_limit", 1, retry_after=float(60 - int(time.time()) % 60))
        response = await _respond(request, handler, district, fault)
        if district is not None:
            response.headers.update(fake.rate_limit_headers(district))
        fake.record_request(request.method, request.path_qs, response.status)
        return response

    return middleware


async def _respond(
    request: web.Request, handler: Handler, district: FakeDistrict | None, fault: Fault | None
) -> web.StreamResponse:
    if fault is not None and fault.kind == "rate_limit":
        return web.Response(
            status=429, headers={"Retry-After": retry_after_header(fault.retry_after)}
        )
    if fault is not None and fault.kind == "server_error":
        return _error(fault.status, "Internal Server Error")
    if fault is not None and fault.kind == "html":
        return web.Response(text=_HTML, content_type="text/html")
    if fault is not None and fault.kind == "not_json":
        return web.Response(body=_NOT_JSON, content_type="application/json")
    if fault is not None and fault.kind == "envelope":
        return _json(fault.body)
    if fault is not None and fault.kind == "slow":
        await asyncio.sleep(fault.delay)
    if district is None:
        return _error(401, "Unauthorized: a valid district-app bearer token is required")
    request[_DISTRICT] = district
    try:
        response = await handler(request)
    except PageError as error:
        return _error(error.status, error.message)
    except web.HTTPException as error:
        return _error(error.status, error.reason)
    if fault is not None and fault.kind == "truncate" and isinstance(response, web.Response):
        body = response.body if isinstance(response.body, bytes) else b"{}"
        return web.Response(body=body[: max(1, len(body) // 2)], content_type="application/json")
    if fault is not None and fault.kind == "links" and isinstance(response, web.Response):
        found = json.loads(response.body if isinstance(response.body, bytes) else b"{}")
        if isinstance(found, dict) and isinstance(found.get("data"), list):
            return _json({**found, "links": fault.links}, response.status)
    return response


def _district_of(request: web.Request) -> FakeDistrict:
    district: FakeDistrict = request[_DISTRICT]
    return district


def _version(request: web.Request) -> str:
    return request.path.split("/", 2)[1]


def _not_found(what: str) -> web.Response:
    return _error(404, f"{what} not found")


async def _list(
    request: web.Request, ids: list[Any], fetch: Callable[[str], dict[str, Any] | None],
    uri: Callable[[str], str],
) -> web.Response:  # fmt: skip
    page = PageRequest.parse(request.path, request.query)
    if page.before is not None:
        backward = objects(page_ids(ids, before=page.before), fetch)
        made = await take_in_turns(backward, page.limit)
        return _json(envelope(page, forward=None, backward=iter(made), uri=uri))
    forward = objects(page_ids(ids, after=page.after), fetch)
    made = await take_in_turns(forward, page.limit + 1)  # one more: is there a next page?
    return _json(envelope(page, forward=iter(made), backward=None, uri=uri))


# --- v3 users -----------------------------------------------------------------------------
async def _users(request: web.Request) -> web.Response:
    district = _district_of(request)
    role = request.query.get("role") or None
    if role is not None and role not in _ROLES:
        raise PageError(400, f"unknown role {role!r}")
    version = _version(request)
    segments = district.store.id_segments(role)
    uri = lambda i: f"/{version}/users/{i}"  # noqa: E731
    injected = district.injected_users
    page = PageRequest.parse(request.path, request.query)
    if page.before is None and injected.any(role):
        listed = objects(page_ids(segments, after=page.after), district.store.user)
        groups = injected.groups(listed, role=role, after=page.after, uri=uri)
        return _json(envelope(page, forward=None, backward=None, groups=groups, uri=uri))
    return await _list(request, segments, district.store.user, uri)


async def _user(request: web.Request) -> web.Response:
    user = _district_of(request).store.user(request.match_info["id"])
    return _json({"data": user}) if user is not None else _not_found("user")


async def _mycontacts(request: web.Request) -> web.Response:
    store = _district_of(request).store
    user = store.user(request.match_info["id"])
    if user is None:
        return _not_found("user")
    ids = store.contacts_of(user["id"]) if "student" in user["roles"] else []
    version = _version(request)
    return await _list(request, [ids], store.user, lambda i: f"/{version}/users/{i}")


async def _mystudents(request: web.Request) -> web.Response:
    store = _district_of(request).store
    user = store.user(request.match_info["id"])
    if user is None:
        return _not_found("user")
    ids = sorted({e["student"] for e in relationships_of(user) if store.exists(e["student"])})
    version = _version(request)
    return await _list(request, [ids], store.user, lambda i: f"/{version}/users/{i}")


async def _user_district(request: web.Request) -> web.Response:
    district = _district_of(request)
    if district.store.user(request.match_info["id"]) is None:
        return _not_found("user")
    return _json({"data": district_object(district)})


# --- districts ----------------------------------------------------------------------------
def district_object(district: FakeDistrict) -> dict[str, Any]:
    """The District record of a fake district."""
    return {"id": district.id, "name": district.name, "state": "success", "sis_type": "sftp",
            "error": "", "last_sync": "2025-09-01T06:00:00.000Z", "launch_date": "2022-08-01",
            "login_methods": ["clever"], "mdr_number": None, "nces_id": None,
            "portal_url": f"https://clever.com/in/{district.id[:8]}"}  # fmt: skip


async def _districts(request: web.Request) -> web.Response:
    district = _district_of(request)
    item = {
        "data": district_object(district),
        "uri": f"/{_version(request)}/districts/{district.id}",
    }
    return _json({"data": [item], "links": [{"rel": "self", "uri": request.path_qs}]})


async def _district(request: web.Request) -> web.Response:
    district = _district_of(request)
    if request.match_info["id"] != district.id:
        return _not_found("district")
    return _json({"data": district_object(district)})


# --- events -------------------------------------------------------------------------------
async def _events(request: web.Request) -> web.Response:
    district = _district_of(request)
    version = _version(request)
    feed = district.feed(version)
    page = PageRequest.parse(request.path, request.query)
    wanted = set(request.query.getall("record_type", []))
    school = request.query.get("school")

    def keep(event: Event) -> bool:
        if wanted and event["type"].split(".", 1)[0] not in wanted:
            return False
        return not school or _at_school(event["data"]["object"], school)

    uri = lambda i: f"/{version}/events/{i}"  # noqa: E731
    if page.before is not None:  # backward: the original events only
        found = None if page.before == "last" else feed.locate(page.before)
        if page.before != "last" and found is None:
            return _not_found(f"event {page.before}")
        end = len(feed) if found is None else found[0]
        backward = ((e["id"], e) for e in feed.backward(end) if keep(e))
        return _json(envelope(page, forward=None, backward=backward, uri=uri))
    served = feed.entries_after(page.after)
    if served is None:
        return _not_found(f"event {page.after} (unknown or older than 30 days)")
    runs = entry_groups(served, keep)
    groups = ((cursor, [entry.entry(uri) for entry in run]) for cursor, run in runs)
    return _json(envelope(page, forward=None, backward=None, groups=groups, uri=uri))


def _at_school(obj: dict[str, Any], school: str) -> bool:
    role = (obj.get("roles") or {}).get("student") or obj
    return role.get("school") == school or school in (role.get("schools") or [])


async def _event(request: web.Request) -> web.Response:
    event = _district_of(request).feed(_version(request)).get(request.match_info["id"])
    return _json({"data": event}) if event is not None else _not_found("event")


# --- v2.1 ---------------------------------------------------------------------------------
def _v2_student_of(district: FakeDistrict) -> Callable[[str], dict[str, Any] | None]:
    def fetch(student_id: str) -> dict[str, Any] | None:
        user = district.student(student_id)
        return v2_student(user) if user is not None else None

    return fetch


async def _v2_contacts(request: web.Request) -> web.Response:
    store = _district_of(request).store
    uri = lambda i: f"/v2.1/contacts/{i}"  # noqa: E731
    return await _list(request, store.v2_segments(), store.v2_contact, uri)


async def _v2_contact(request: web.Request) -> web.Response:
    record = _district_of(request).store.v2_contact(request.match_info["id"])
    return _json({"data": record}) if record is not None else _not_found("contact")


async def _v2_contact_students(request: web.Request) -> web.Response:
    district = _district_of(request)
    record = district.store.v2_contact(request.match_info["id"])
    if record is None:
        return _not_found("contact")
    fetch = _v2_student_of(district)
    uri = lambda i: f"/v2.1/students/{i}"  # noqa: E731
    return await _list(request, [sorted(record["students"])], fetch, uri)


async def _v2_students(request: web.Request) -> web.Response:
    district = _district_of(request)
    segments = district.store.id_segments("student")
    return await _list(request, segments, _v2_student_of(district), lambda i: f"/v2.1/students/{i}")


async def _v2_student(request: web.Request) -> web.Response:
    record = _v2_student_of(_district_of(request))(request.match_info["id"])
    return _json({"data": record}) if record is not None else _not_found("student")


async def _v2_student_contacts(request: web.Request) -> web.Response:
    store = _district_of(request).store
    student_id = request.match_info["id"]
    if _district_of(request).student(student_id) is None:
        return _not_found("student")
    pairs = [(store.v2_id_for(c, student_id), c) for c in store.contacts_of(student_id)]
    ids = sorted(v2_id for v2_id, _ in pairs if v2_id is not None)
    return await _list(request, [ids], store.v2_contact, lambda i: f"/v2.1/contacts/{i}")
