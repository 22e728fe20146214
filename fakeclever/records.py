"""Clever's record shapes: v3 users (student and contact roles) and their v2.1 projections.

Base records are derived from ``(seed, index)`` on demand; they and every record the
mutations build are treated as immutable (changes build new dicts), so an event can hold the
object as it was without copying it.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

from fakeclever.ids import V2_SLOTS, Space, clever_time, make_id
from fakeclever.population import Population
from fakeclever.sis import (
    FIRST_NAMES,
    LAST_NAMES,
    MISSING,
    below,
    contact_email,
    contact_name,
    full_name,
    pick,
    pick_phone,
    pick_phone_type,
    pick_sis_id,
)

User = dict[str, Any]
#: When the generated district was first synced into Clever (base records' ``created``).
BASE_EPOCH = datetime(2022, 8, 1, 12, 0, tzinfo=UTC)
SCHOOLS = 4
_GRADES = ("Kindergarten", "1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "12")
_RACES = ("Caucasian", "Asian", "Black or African American", "Two or More Races", "Unknown", "")
_CITIES = (("Akron", "OH", "44308"), ("Dayton", "OH", "45402"), ("Toledo", "OH", "43604"))


def _rng(seed: int, kind: int, index: int) -> random.Random:
    return random.Random((seed * 1_000_003 + index) * 8 + kind)  # noqa: S311 - test data


def school_id(tag: str, index: int) -> str:
    """The ID of the district's school ``index``."""
    return make_id(tag, Space.SCHOOL, index)


def base_contact(population: Population, district_id: str, index: int) -> User:
    """Base contact ``index`` as a v3 user, as Clever first held it."""
    rng = _rng(population.seed, 1, index)
    name = contact_name(rng)
    created = BASE_EPOCH + timedelta(seconds=index * 0.037)
    contact: dict[str, Any] = {
        "legacy_id": make_id(population.tag, Space.V2_CONTACT, index * V2_SLOTS),
        "phone": pick_phone(rng),
        "phone_type": pick_phone_type(rng),
    }
    sis_id = pick_sis_id(rng, index)
    if sis_id != MISSING:
        contact["sis_id"] = sis_id
    contact["student_relationships"] = list(population.relationships(index))
    return {
        "created": clever_time(created),
        "district": district_id,
        "email": contact_email(rng, name, index),
        "id": population.contact_id(index),
        "last_modified": clever_time(created + timedelta(days=below(rng, 600))),
        "name": name,
        "roles": {"contact": contact},
    }


def base_student(population: Population, district_id: str, index: int) -> User:
    """Base student ``index`` as a v3 user (a realistic subset of the student role)."""
    rng = _rng(population.seed, 2, index)
    tag = population.tag
    first, last = pick(rng, FIRST_NAMES), pick(rng, LAST_NAMES)
    grade_at = below(rng, len(_GRADES))
    school = school_id(tag, below(rng, SCHOOLS))
    created = clever_time(BASE_EPOCH + timedelta(seconds=index * 0.029))
    modified = clever_time(BASE_EPOCH + timedelta(days=(0 + below(rng, 601))))
    city, state, zip_code = pick(rng, _CITIES)
    number = f"{index + 200_000:08d}"
    student_id = population.student_id(index)
    student: dict[str, Any] = {
        "created": created,
        "credentials": {"district_username": f"{first[0]}{last}{index}".lower()},
        "dob": f"{(1 + below(rng, 12))}/{(1 + below(rng, 28))}/{2019 - grade_at}",
        "ell_status": pick(rng, ("Y", "N", "N", "N", "")),
        "enrollments": [
            {
                "end_date": "2026-06-12T00:00:00.000Z",
                "school": school,
                "start_date": "2025-08-20T00:00:00.000Z",
            }
        ],
        "ext": {},
        "gender": pick(rng, ("M", "F", "X", "")),
        "grade": _GRADES[grade_at],
        "graduation_year": str(2038 - grade_at),
        "hispanic_ethnicity": pick(rng, ("Y", "N", "")),
        "last_modified": modified,
        "legacy_id": student_id,
        "location": {
            "address": f"{(1 + below(rng, 9999))} Main St",
            "city": city,
            "lat": None,
            "lon": None,
            "state": state,
            "zip": zip_code,
        },
        "race": pick(rng, _RACES),
        "school": school,
        "schools": [school],
        "sis_id": number,
        "state_id": f"{index + 9_000_000:09d}",
        "student_number": number,
    }
    return {
        "created": created,
        "district": district_id,
        "email": f"{first}.{last}{index}@students.example.org".lower().replace("'", ""),
        "id": student_id,
        "last_modified": modified,
        "name": {"first": first, "last": last, "middle": pick(rng, ("", "A", "J", None))},
        "roles": {"student": student},
    }


def new_student(
    population: Population, district_id: str, student_id: str, index: int, now: str
) -> User:
    """A student the SIS adds later: generated like base student ``index`` (an index past the
    base, so its numbers are its own) under ``student_id``, created ``now``."""
    user = base_student(population, district_id, index)
    role = {**user["roles"]["student"], "created": now, "last_modified": now,
            "legacy_id": student_id}  # fmt: skip
    return {**user, "id": student_id, "created": now, "last_modified": now,
            "roles": {"student": role}}  # fmt: skip


def restored_student(former: User, now: str) -> User:
    """A deleted student back under its old ID: its last record, modified ``now``."""
    role = {**former["roles"]["student"], "last_modified": now}
    return {**former, "last_modified": now, "roles": {**former["roles"], "student": role}}


def is_contact(user: User) -> bool:
    """Whether a v3 user holds the contact role."""
    return (user.get("roles") or {}).get("contact") is not None


def relationships_of(user: User) -> list[dict[str, Any]]:
    """A contact's ``student_relationships`` (empty for anyone else)."""
    contact = (user.get("roles") or {}).get("contact") or {}
    return list(contact.get("student_relationships") or [])


def has_sis_id(user: User) -> bool:
    """Whether Clever keeps this contact's ID stable across changes (seeds/000)."""
    return bool(((user.get("roles") or {}).get("contact") or {}).get("sis_id"))


def v2_contact(user: User, entry: dict[str, Any], v2_id: str) -> dict[str, Any]:
    """The v2.1 Contact record of one (contact, student) pair of a v3 contact user."""
    contact = user["roles"]["contact"]
    return {
        "district": user["district"],
        "email": user.get("email"),
        "id": v2_id,
        "name": full_name(user.get("name") or {}),
        "phone": contact.get("phone"),
        "phone_type": contact.get("phone_type"),
        "relationship": entry.get("relationship"),
        "sis_id": contact.get("sis_id"),
        "students": [entry["student"]],
        "type": entry.get("type"),
    }


def v2_student(user: User) -> dict[str, Any]:
    """The v2.1 Student record of a v3 student user (no ``legacy_id`` in v2.1)."""
    role = {key: value for key, value in user["roles"]["student"].items() if key != "legacy_id"}
    return {**role, "district": user["district"], "email": user.get("email"),
            "id": user["id"], "name": user.get("name")}  # fmt: skip
