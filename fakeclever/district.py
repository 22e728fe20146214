"""One fake Clever district: its records, its two event feeds, and the changes tests make.

This is the surface tests, the demo and the benchmarks code against. Every mutation is a
batch of its own unless made inside ``with district.batch():``, and returns the v3 events it
appended (inside a batch they get their IDs when the batch ends). It also makes the histories
SIS data and Clever really produce: re-sent events, contacts listing students that are gone;
and, for tests of a client's robustness, serves malformed items injected among the real ones.
"""

from __future__ import annotations

import gc
import logging
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from itertools import islice
from typing import Any

from fakeclever.changes import random_changes
from fakeclever.events import Event, EventFeed, Pending, feed_order, in_batch_order
from fakeclever.exceptions import InvalidChangeError, UnknownRecordError
from fakeclever.ids import Space, clever_time
from fakeclever.injected import InjectedUsers, list_entry, own_id
from fakeclever.mutations import Change, Mutations
from fakeclever.population import Population
from fakeclever.records import User, relationships_of
from fakeclever.segments import page_ids
from fakeclever.store import Pair, Store

logger = logging.getLogger(__name__)
_KEEP: Any = object()


class FakeDistrict:
    """A district of the fake Clever (create it with ``FakeClever.add_district``)."""

    def __init__(
        self, *, district_id: str, token: str, name: str, population: Population,
        clock: Callable[[], datetime], studentcontacts_naming: bool = False,
    ) -> None:  # fmt: skip
        self.id = district_id
        self.token = token
        self.name = name
        self.studentcontacts_naming = studentcontacts_naming
        self.store = Store(population, district_id)
        self.feeds = {
            "v3.0": EventFeed(population.tag, Space.EVENT_V3, clock),
            "v2.1": EventFeed(population.tag, Space.EVENT_V2, clock),
        }
        self._clock = clock
        kind = "studentcontacts" if studentcontacts_naming else "contacts"
        self.mutations = Mutations(self.store, now=lambda: clever_time(clock()), contacts_type=kind)
        self._batch: Change | None = None
        self._batch_deleted: set[str] = set()  # students deleted in the open batch
        #: Entries injected into the user listings (``inject_user``).
        self.injected_users = InjectedUsers()

    def __repr__(self) -> str:  # never the token
        return f"FakeDistrict(id={self.id!r})"

    # --- reading --------------------------------------------------------------------------
    def contact_ids(self, limit: int | None = None) -> Iterator[str]:
        """Current contact IDs, ascending."""
        return self._ids("contact", limit)

    def student_ids(self, limit: int | None = None) -> Iterator[str]:
        """Current student IDs, ascending."""
        return self._ids("student", limit)

    def contact(self, contact_id: str) -> User | None:
        """A current contact as a v3 user, or None."""
        user = self.store.user(contact_id)
        return user if user is not None and "contact" in user["roles"] else None

    def student(self, student_id: str) -> User | None:
        """A current student as a v3 user, or None."""
        user = self.store.user(student_id)
        return user if user is not None and "student" in user["roles"] else None

    def events(self, api_version: str = "v3.0") -> list[Event]:
        """The retained feed of ``v3.0`` (also served as v3.1) or ``v2.1``, oldest first: the
        original events only (see :meth:`served_events` for re-sent copies)."""
        return self.feed(api_version).retained()

    def served_events(self, after: str | None = None, api_version: str = "v3.0") -> list[Event]:
        """The events ``GET /events`` serves after the event ID ``after`` (None: from the
        oldest retained), re-sent copies in place; unknown or expired is UnknownRecordError."""
        served = self.feed(api_version).served_after(after)
        if served is None:
            raise UnknownRecordError(f"no retained {api_version} event {after} in {self.id}")
        return served

    def served_entries(self, after: str | None = None, api_version: str = "v3.0") -> list[Any]:
        """The list entries ``GET /events`` serves after the cursor ``after`` (None: from the
        oldest retained), as sent: events wrapped, re-sent copies and injected entries in
        place; unknown or expired is UnknownRecordError."""
        found = self.feed(api_version).entries_after(after)
        if found is None:
            raise UnknownRecordError(f"no retained {api_version} cursor {after} in {self.id}")
        uri = lambda i: f"/{api_version}/events/{i}"  # noqa: E731
        return [served.entry(uri) for served in found]

    def feed(self, api_version: str) -> EventFeed:
        """The event feed an API version reads."""
        return self.feeds["v2.1" if api_version.startswith("v2") else "v3.0"]

    def ground_truth(self) -> frozenset[Pair]:
        """(contact_id, student_id, relationship_raw, type_raw) of every live privilege: the
        contact exists and lists the student, and the student exists now."""
        return self.store.ground_truth()

    def counts(self) -> dict[str, int]:
        """How many students, contacts and retained events (v3, v2.1) the district has."""
        return {**self.store.counts, "events": len(self.events()),
                "events_v2": len(self.events("v2.1"))}  # fmt: skip

    # --- changes --------------------------------------------------------------------------
    def add_relationship(
        self, contact_id: str, student_id: str, relationship: str | None = "Parent",
        type: str | None = "Parent/Guardian", *, allow_missing_student: bool = False,
    ) -> list[Event]:  # fmt: skip
        """The contact now also relates to the student (with ``allow_missing_student``, one
        that is deleted or does not exist yet, as SIS data may say)."""
        contact = self.mutations.contact(contact_id)
        if not allow_missing_student:
            self.mutations.student(student_id)
        entries = relationships_of(contact)
        if any(e["student"] == student_id for e in entries):
            raise InvalidChangeError(f"contact {contact_id} already relates to {student_id}")
        entry = {"relationship": relationship, "student": student_id, "type": type}
        return self._apply(self.mutations.set_relationships(contact, [*entries, entry]))

    def remove_relationship(self, contact_id: str, student_id: str) -> list[Event]:
        """The contact no longer relates to the student (deleted if it was the last one)."""
        contact = self.mutations.contact(contact_id)
        entries = relationships_of(contact)
        kept = [e for e in entries if e["student"] != student_id]
        if len(kept) == len(entries):
            raise InvalidChangeError(f"contact {contact_id} does not relate to {student_id}")
        return self._apply(self.mutations.set_relationships(contact, kept))

    def change_relationship(
        self, contact_id: str, student_id: str, relationship: str | None = _KEEP,
        type: str | None = _KEEP,
    ) -> list[Event]:  # fmt: skip
        """The relationship and/or type of one (contact, student) pair changed."""
        contact = self.mutations.contact(contact_id)
        entries = []
        for entry in relationships_of(contact):
            if entry["student"] == student_id:
                entry = dict(entry)
                if relationship is not _KEEP:
                    entry["relationship"] = relationship
                if type is not _KEEP:
                    entry["type"] = type
            entries.append(entry)
        if entries == relationships_of(contact):
            raise InvalidChangeError(f"nothing changes for ({contact_id}, {student_id})")
        return self._apply(self.mutations.set_relationships(contact, entries))

    def update_contact(
        self, contact_id: str, *, phone: str | None = _KEEP, email: str | None = _KEEP,
        name: str | dict[str, Any] | None = _KEEP, phone_type: str | None = _KEEP,
    ) -> list[Event]:  # fmt: skip
        """Contact info changed: ``users.updated`` with an sis_id, else deleted + created."""
        given = {"phone": phone, "email": email, "name": name, "phone_type": phone_type}
        fields = {key: value for key, value in given.items() if value is not _KEEP}
        return self._apply(self.mutations.update_info(self.mutations.contact(contact_id), **fields))

    def create_contact(
        self, student_ids: list[str], relationship: str | None = "Parent",
        type: str | None = "Parent/Guardian",
        sis_id: str | None = None, *, allow_missing_students: bool = False,
    ) -> tuple[str, list[Event]]:  # fmt: skip
        """A new contact related to ``student_ids``; returns its ID and the events."""
        new_id, change = self.mutations.new_contact(
            student_ids, relationship, type, sis_id, allow_missing=allow_missing_students
        )
        return new_id, self._apply(change)

    def delete_contact(self, contact_id: str) -> list[Event]:
        """The contact is removed from the SIS."""
        return self._apply(self.mutations.delete_contact(contact_id))

    def delete_student(self, student_id: str, *, keep_listed: bool = False) -> list[Event]:
        """The student is removed; its contacts are updated (or deleted) first, unless
        ``keep_listed``: then they keep listing it and only the student's deletion comes."""
        return self._apply(self.mutations.delete_student(student_id, keep_listed=keep_listed))

    def new_student_id(self) -> str:
        """A fresh student ID, sorting after every student so far; nobody holds it yet."""
        return self.store.new_student_id()

    def create_student(self, student_id: str | None = None) -> tuple[str, list[Event]]:
        """A student created now: a fresh ID, an ID from :meth:`new_student_id`, or a deleted
        student back under its old ID (its old record). Returns its ID and the events.
        Clever orders a batch's creations before its deletions, so bringing back a student
        deleted in the open batch ends that batch here and opens the next one."""
        if self._batch is not None and student_id in self._batch_deleted:
            self._flush(self._batch)
            self._batch, self._batch_deleted = Change(), set()
        new_id, change = self.mutations.create_student(student_id)
        return new_id, self._apply(change)

    def redeliver(
        self, count: int = 1, *, api_version: str = "v3.0", event_ids: Sequence[str] | None = None
    ) -> list[Event]:
        """Clever re-sends earlier events unchanged (same IDs) just before the next new event
        of the feed: the last ``count`` retained ones, or ``event_ids`` in that order.

        Inside a batch these are events flushed before it, re-sent ahead of its first event.
        Returns the copies; :meth:`served_events` shows them in place, :meth:`events` never.
        """
        feed = self.feed(api_version)
        found = feed.last(count) if event_ids is None else [feed.get(i) for i in event_ids]
        originals = [event for event in found if event is not None]
        if len(originals) != len(found):
            raise UnknownRecordError(f"not all of {event_ids} are retained in {self.id}")
        copies = feed.redeliver(originals)
        logger.debug("district %s: events to re-send: %s", self.id, [e["id"] for e in copies])
        return copies

    def inject_event(self, item: Any, *, wrapped: bool = True, api_version: str = "v3.0") -> Any:
        """Clever serves ``item``, whatever it is, as it is, after the feed's events so far and
        before the next one (inside a batch: before the batch's first event); until then at
        the feed's end. ``wrapped``: as the list entry's ``data`` (Clever's shape), else as
        the entry itself. Returns the list entry served.

        An item with a string ``id`` of its own is a cursor (``starting_after`` pages on
        from it, and a page may end on it), unless that ID already names something; one
        without rides in the page of the next entry that has one, or ends the feed's last
        page. :meth:`events`, ``ending_before`` and ``GET /events/{id}`` never show it.
        """
        found = own_id(list_entry(item, wrapped=wrapped, uri=""))
        uri = f"/{api_version}/events/{found}" if found else f"/{api_version}/events"
        entry = list_entry(item, wrapped=wrapped, uri=uri)
        self.feed(api_version).inject(entry, found)
        return entry

    def inject_user(
        self, item: Any, *, role: str, before: str | None = None, wrapped: bool = True
    ) -> Any:
        """The Data API lists ``item``, as it is, in ``role``'s listings (``/users?role=``
        ``student`` or ``contact``, and ``/users``) just before the first listed ID at or after
        ``before`` (None: at the listing's end), in the same page as that record. Returns the
        list entry served. v2.1 listings and ``ending_before`` pages never show it."""
        found = own_id(list_entry(item, wrapped=wrapped, uri=""))
        uri = f"/v3.0/users/{found}" if found else "/v3.0/users"
        entry = list_entry(item, wrapped=wrapped, uri=uri)
        self.injected_users.add(entry, role=role, before=before)
        return entry

    def repeat_events(self, count: int, api_version: str = "v3.0") -> list[Event]:
        """Clever sends the last ``count`` events again: new IDs, same type and data."""
        feed = self.feed(api_version)
        copies = [{"id": "", "type": e["type"], "created": "", "data": e["data"]}
                  for e in feed.retained()[-count:]] if count > 0 else []  # fmt: skip
        feed.append(copies)
        logger.info("district %s: %d events repeated", self.id, len(copies))
        return copies

    def repeat_latest(self) -> list[Event]:
        """Repeat the newest event; inside a batch, the batch's newest (still pending) one."""
        if self._batch is None:
            return self.repeat_events(1)
        repeated = Change()
        for source, target in ((self._batch.v3, repeated.v3), (self._batch.v2, repeated.v2)):
            if source:
                last = source[-1]
                copy = {"id": "", "type": last.event["type"], "created": "",
                        "data": last.event["data"]}  # fmt: skip
                target.append(Pending(last.action, last.record, copy))
        return self._apply(repeated)

    def random_changes(self, count: int, seed: int = 0, *, quirks: bool = False) -> list[Event]:
        """``count`` new v3 events of a realistic mixture of changes, as one batch; with
        ``quirks``, also Clever's and SIS data's oddities, re-sent copies of earlier events
        on top of ``count`` (see ``changes``)."""
        with _gc_paused(), self.batch():
            emitted = random_changes(self, count, seed=seed, quirks=quirks)
        return feed_order(emitted)

    def expire_events(self) -> None:
        """30 days pass: every event so far leaves the window (cursors at them give 404)."""
        for feed in self.feeds.values():
            feed.expire_all()

    def rollover(self, events: int | None = None) -> list[Event]:
        """A school-year rollover: more events than records (by default one more)."""
        wanted = events if events is not None else sum(self.store.counts.values()) + 1
        emitted: list[Event] = []
        with _gc_paused(), self.batch():
            while len(emitted) < wanted:
                before = len(emitted)
                for user_id in self._ids(None, wanted - len(emitted)):
                    emitted += self._apply(self.mutations.touch(user_id))
                if len(emitted) == before:
                    break  # an empty district has nothing to roll over
        return feed_order(emitted)

    @contextmanager
    def batch(self) -> Iterator[None]:
        """Changes made inside are one Clever batch: their events come in Clever's order."""
        if self._batch is not None:
            yield
            return
        self._batch = Change()
        try:
            yield
        finally:
            change, self._batch = self._batch, None
            self._batch_deleted = set()
            self._flush(change)

    def _apply(self, change: Change) -> list[Event]:
        if self._batch is not None:
            self._batch += change
            for p in change.v3:
                if p.action == "deleted" and p.record == "student":
                    self._batch_deleted.add(p.event["data"]["object"]["id"])
            return [p.event for p in change.v3]
        self._flush(change)
        return [p.event for p in in_batch_order(change.v3)]

    def _flush(self, change: Change) -> None:
        for api_version, events in (("v3.0", change.v3), ("v2.1", change.v2)):
            ordered: list[Pending] = in_batch_order(events)
            self.feeds[api_version].append(p.event for p in ordered)
        if change.v3:
            logger.info("district %s: %d events appended", self.id, len(change.v3))

    def _ids(self, role: str | None, limit: int | None) -> Iterator[str]:
        ids = (i for i in page_ids(self.store.id_segments(role)) if self.store.exists(i))
        return islice(ids, limit)


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Bulk changes allocate only acyclic dicts: pausing the cycle collector makes a backlog
    of 100,000 events about twice as fast (it would rescan the growing feed again and again)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
