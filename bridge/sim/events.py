"""Which thin nDelius change events a case-document upsert implies (pure functions)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

__all__ = [
    "PERSONAL_DETAILS_UPDATED",
    "Change",
    "classify_change",
    "format_instant",
    "make_event",
]

Change = tuple[str, dict[str, Any]]

PERSONAL_DETAILS_UPDATED = "probation-case.personal-details.updated"
REGISTRATION = "probation-case.registration."
ADDRESS = "probation-case.address."
MAPPA_INFORMATION = "probation-case.mappa-information."
MANAGER_ALLOCATED = "person.community.manager.allocated"
MANAGER_TRANSFERRED = "person.community.manager.transferred"

# Offender fields whose changes have their own event types; every other field
# (names, date of birth, gender, aliases, identifiers, flags...) is personal details.
_OWN_EVENT_FIELDS = frozenset({"contactDetails", "offenderManagers"})
_CONTACT_DETAILS_OWN_FIELDS = frozenset({"addresses"})


class Unclassifiable(Exception):
    """The document does not have the shape a classifier needs."""


def format_instant(instant: datetime) -> str:
    """ISO-8601 UTC with a `Z` suffix, e.g. `2026-01-05T09:00:00Z`."""
    return instant.astimezone(UTC).isoformat().replace("+00:00", "Z")


def make_event(
    *, sequence: int, event_type: str, crn: str, info: dict[str, Any], at: datetime
) -> dict[str, Any]:
    """One event of the `/events` feed, in the contract's shape."""
    return {
        "sequence": sequence,
        "eventType": event_type,
        "occurredAt": format_instant(at),
        "personReference": {"identifiers": [{"type": "CRN", "value": crn}]},
        "additionalInformation": info,
    }


def _dict(value: object) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise Unclassifiable
    return value


def _list(value: object) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise Unclassifiable
    return value


def _by_id(items: list[Any], *keys: str) -> dict[Any, dict[str, Any]]:
    """Index dict items by the first of `keys` present; ids must be unique."""
    indexed: dict[Any, dict[str, Any]] = {}
    for item in items:
        record = _dict(item)
        key = next((record[k] for k in keys if record.get(k) is not None), None)
        if key is None or isinstance(key, dict | list) or key in indexed:
            raise Unclassifiable
        indexed[key] = record
    return indexed


def _offender(doc: dict[str, Any] | None) -> dict[str, Any]:
    return {} if doc is None else _dict(doc.get("offender", {}))


def _registration_info(reg: dict[str, Any], reg_id: object) -> dict[str, Any]:
    reg_type = reg.get("type")
    code = reg_type.get("code") if isinstance(reg_type, dict) else None
    return {"registrationId": reg_id, "registerTypeCode": code}


def _registrations(old: dict[str, Any] | None, new: dict[str, Any]) -> list[Change]:
    before = _by_id(_list(old.get("registrations")) if old else [], "registrationId")
    after = _by_id(_list(new.get("registrations")), "registrationId")
    changes: list[Change] = []
    for reg_id, reg in after.items():
        previous = before.get(reg_id)
        if previous is None:
            kind = "added"
        elif previous == reg:
            continue
        elif previous.get("active") is True and reg.get("active") is False:
            kind = "deregistered"
        else:
            kind = "updated"
        changes.append((REGISTRATION + kind, _registration_info(reg, reg_id)))
    changes.extend(
        (REGISTRATION + "deleted", _registration_info(reg, reg_id))
        for reg_id, reg in before.items()
        if reg_id not in after
    )
    return changes


def _addresses_of(doc: dict[str, Any] | None) -> dict[Any, dict[str, Any]]:
    details = _offender(doc).get("contactDetails") or {}
    return _by_id(_list(_dict(details).get("addresses")), "id", "addressId")


def _addresses(old: dict[str, Any] | None, new: dict[str, Any]) -> list[Change]:
    before, after = _addresses_of(old), _addresses_of(new)
    changes: list[Change] = []
    for address_id, address in after.items():
        if address_id not in before:
            changes.append((ADDRESS + "created", {"addressId": address_id}))
        elif before[address_id] != address:
            changes.append((ADDRESS + "updated", {"addressId": address_id}))
    changes.extend(
        (ADDRESS + "deleted", {"addressId": address_id})
        for address_id in before
        if address_id not in after
    )
    return changes


def _active_manager(doc: dict[str, Any] | None) -> str | None:
    """The current manager's staff code: the row marked active, else the one open allocation."""
    records = [_dict(m) for m in _list(_offender(doc).get("offenderManagers"))]
    current = [r for r in records if r.get("active") is True][:1] or [
        r for r in records if r.get("active") is not False and not r.get("toDate")
    ]
    if len(current) != 1:
        return None
    code = _dict(current[0].get("staff")).get("code")
    if code is not None and not isinstance(code, str):
        raise Unclassifiable
    return code


def _manager(old: dict[str, Any] | None, new: dict[str, Any]) -> list[Change]:
    before, after = _active_manager(old), _active_manager(new)
    if before == after:
        return []
    kind = MANAGER_ALLOCATED if before is None else MANAGER_TRANSFERRED
    return [(kind, {})]


def _personal(old: dict[str, Any] | None, new: dict[str, Any]) -> list[Change]:
    def rest(doc: dict[str, Any] | None) -> tuple[dict[str, Any], dict[str, Any]]:
        offender = _offender(doc)
        details = _dict(offender.get("contactDetails") or {})
        return (
            {k: v for k, v in offender.items() if k not in _OWN_EVENT_FIELDS},
            {k: v for k, v in details.items() if k not in _CONTACT_DETAILS_OWN_FIELDS},
        )

    limits_changed = (old or {}).get("accessLimitations") != new.get("accessLimitations")
    if old is None or limits_changed or rest(old) != rest(new):
        return [(PERSONAL_DETAILS_UPDATED, {})]
    return []


def _visor_contacts(doc: dict[str, Any] | None) -> dict[Any, dict[str, Any]]:
    contacts = _by_id(_list(doc.get("contacts")) if doc else [], "contactId", "id")
    return {cid: c for cid, c in contacts.items() if c.get("visorContact") is True}


def _mappa_information(old: dict[str, Any] | None, new: dict[str, Any]) -> list[Change]:
    before, after = _visor_contacts(old), _visor_contacts(new)
    changes: list[Change] = []
    for contact_id, contact in after.items():
        if contact_id not in before:
            changes.append((MAPPA_INFORMATION + "created", {"contactId": contact_id}))
        elif before[contact_id] != contact:
            changes.append((MAPPA_INFORMATION + "updated", {"contactId": contact_id}))
    changes.extend(
        (MAPPA_INFORMATION + "deleted", {"contactId": contact_id})
        for contact_id in before
        if contact_id not in after
    )
    return changes


_Classifier = Callable[[dict[str, Any] | None, dict[str, Any]], list[Change]]
_UPDATE_CLASSIFIERS: tuple[_Classifier, ...] = (
    _personal,
    _registrations,
    _addresses,
    _manager,
    _mappa_information,
)


def _run(classifiers: tuple[_Classifier, ...], old: Any, new: Any) -> list[Change]:
    changes: list[Change] = []
    unclassified = False
    for classify in classifiers:
        try:
            changes.extend(classify(old, new))
        except (Unclassifiable, TypeError, AttributeError, KeyError, ValueError):
            unclassified = True
    has_personal = any(kind == PERSONAL_DETAILS_UPDATED for kind, _ in changes)
    if (unclassified or not changes) and not has_personal:
        changes.insert(0, (PERSONAL_DETAILS_UPDATED, {}))
    return changes


def classify_change(old: dict[str, Any] | None, new: dict[str, Any]) -> list[Change]:
    """The (eventType, additionalInformation) pairs implied by `old` becoming `new`.

    `old` is None for a new CRN: personal details updated plus one registration.added
    per registration. A part of either document that cannot be interpreted (any type
    error) yields personal-details.updated instead, and so does a change nothing else
    describes: the result is never empty and this function never raises.
    """
    if not isinstance(new, dict) or (old is not None and not isinstance(old, dict)):
        return [(PERSONAL_DETAILS_UPDATED, {})]
    if old is None:
        return _run((_personal, _registrations), None, new)
    return _run(_UPDATE_CLASSIFIERS, old, new)
