"""classify_change: the events an upsert implies, as a pure function."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from bridge.sim.events import classify_change, format_instant

from .kit import case_doc

PERSONAL: tuple[str, dict[str, Any]] = ("probation-case.personal-details.updated", {})


def test_new_case_without_registrations_is_personal_details_only() -> None:
    assert classify_change(None, case_doc("X000001", registrations=[])) == [PERSONAL]


def test_identical_document_still_yields_one_event() -> None:
    assert classify_change(case_doc("X000001"), case_doc("X000001")) == [PERSONAL]


def test_several_changes_at_once_are_all_reported() -> None:
    old = case_doc("X000001")
    new = case_doc("X000001", contacts=[])
    new["offender"]["surname"] = "Changed"
    new["registrations"][0]["active"] = False
    new["offender"]["offenderManagers"] = [{"active": True, "staff": {"code": "N07A002"}}]
    assert [kind for kind, _ in classify_change(old, new)] == [
        "probation-case.personal-details.updated",
        "probation-case.registration.deregistered",
        "person.community.manager.transferred",
        "probation-case.mappa-information.deleted",
    ]


def test_access_limitation_changes_are_personal_details() -> None:
    new = case_doc("X000001", accessLimitations={"excludedFrom": ["N07A002"]})
    assert classify_change(case_doc("X000001"), new) == [PERSONAL]


def test_unclassifiable_part_adds_personal_details_but_keeps_the_rest() -> None:
    new = case_doc("X000001")
    new["offender"]["contactDetails"] = "broken"
    new["registrations"].append({"registrationId": 11, "type": {"code": "AVIS"}})
    changes = classify_change(case_doc("X000001"), new)
    assert changes[0] == PERSONAL
    assert (
        "probation-case.registration.added",
        {"registrationId": 11, "registerTypeCode": "AVIS"},
    ) in changes


def test_contacts_may_be_keyed_by_contact_id() -> None:
    old = case_doc("X000001", contacts=[{"contactId": 5, "visorContact": True}])
    new = case_doc("X000001", contacts=[{"contactId": 5, "visorContact": True, "notes": "x"}])
    assert classify_change(old, new) == [
        ("probation-case.mappa-information.updated", {"contactId": 5})
    ]


def test_manager_leaving_without_successor_is_a_transfer() -> None:
    new = case_doc("X000001")
    new["offender"]["offenderManagers"] = [{"active": False, "staff": {"code": "N07A001"}}]
    assert classify_change(case_doc("X000001"), new) == [
        ("person.community.manager.transferred", {})
    ]


@pytest.mark.parametrize(
    ("old", "new"),
    [
        (None, []),
        ("raw", {}),
        ({"offender": None}, {"offender": {"offenderManagers": [{"active": True, "staff": 1}]}}),
        ({"registrations": [1]}, {"registrations": [{"registrationId": {}}]}),
        ({}, {"contacts": [{"id": 1, "visorContact": True}, {"id": 1, "visorContact": True}]}),
        ({}, {"offender": {"contactDetails": {"addresses": [{"id": None}]}}}),
    ],
)
def test_malformed_documents_never_raise(old: Any, new: Any) -> None:
    changes = classify_change(old, new)
    assert changes
    assert PERSONAL in changes


def test_format_instant_is_utc_with_z() -> None:
    instant = datetime(2026, 1, 5, 10, 0, tzinfo=timezone(timedelta(hours=1)))
    assert format_instant(instant) == "2026-01-05T09:00:00Z"
    assert format_instant(datetime(2026, 1, 5, 9, 0, 0, 5000, tzinfo=UTC)) == (
        "2026-01-05T09:00:00.005000Z"
    )
