"""A typed, read-only view over one nDelius case document, tolerant of any malformed shape.

The source system is not trusted to send the shapes it documents: every accessor here
returns a safe default for a missing or wrongly-typed value instead of raising, and the
mapping turns those gaps into issues a person can act on.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["CaseSnapshot", "Registration", "as_dict", "as_list", "as_str", "content_hash"]

MAPPA_TYPE = "MAPP"


def as_dict(value: Any) -> dict[str, Any]:
    """`value` when it is a JSON object, else an empty one."""
    return value if isinstance(value, dict) else {}


def as_list(value: Any) -> list[Any]:
    """`value` when it is a JSON array, else an empty one."""
    return value if isinstance(value, list) else []


def as_str(value: Any) -> str | None:
    """A non-empty string, a number written as text, or None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        return value if value.strip() else None
    if isinstance(value, int | float):
        return str(value)
    return None


def content_hash(document: Any) -> str:
    """A stable SHA-256 of a JSON-like value (keys sorted), used to spot unchanged reads."""
    encoded = json.dumps(document, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(encoded.encode("utf-8", "surrogatepass")).hexdigest()


#: Where a snapshot keeps an access-limitations body that is not a JSON object (so the access
#: rule can refuse it rather than read it as "no limits").
_RAW_ACCESS = "\x00raw"


def _access_field(access: Any) -> dict[str, Any]:
    if access is None or isinstance(access, dict):
        return as_dict(access)
    return {_RAW_ACCESS: access}


@dataclass(frozen=True, slots=True)
class Registration:
    """The parts of an nDelius registration the bridge reads."""

    raw: dict[str, Any]

    @property
    def type_code(self) -> str | None:
        return as_str(as_dict(self.raw.get("type")).get("code"))

    @property
    def is_active(self) -> bool:
        return self.raw.get("active") is True and self.raw.get("softDeleted") is not True

    @property
    def start_date(self) -> str:
        return as_str(self.raw.get("startDate")) or ""

    @property
    def sort_key(self) -> tuple[str, str]:
        # nDelius means "created last", but the published Registration carries no creation
        # time: the start date decides, then the id (an Oracle sequence, so creation order).
        reg_id = as_str(self.raw.get("registrationId")) or ""
        return (self.start_date, reg_id.zfill(20))

    def code_of(self, key: str) -> str | None:
        return as_str(as_dict(self.raw.get(key)).get("code"))


@dataclass(frozen=True, slots=True)
class CaseSnapshot:
    """One person's case as read from nDelius at one moment.

    Attributes:
        crn: the case reference the read was made for.
        offender: the OffenderDetail object (empty if the body was not an object).
        registrations: every registration, active or not.
        contacts: ViSOR-flagged contacts.
        access: the access-limitation object.
    """

    crn: str
    offender: dict[str, Any] = field(default_factory=dict)
    registrations: tuple[Registration, ...] = ()
    contacts: tuple[dict[str, Any], ...] = ()
    access: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_parts(
        cls,
        crn: str,
        *,
        offender: Any,
        registrations: Any,
        contacts: Any = None,
        access: Any = None,
    ) -> CaseSnapshot:
        """Build from the API's bodies, whatever their shape."""
        regs = as_list(as_dict(registrations).get("registrations"))
        if isinstance(registrations, list):
            regs = registrations
        return cls(
            crn=crn,
            offender=as_dict(offender),
            registrations=tuple(Registration(r) for r in regs if isinstance(r, dict)),
            contacts=tuple(c for c in as_list(contacts) if isinstance(c, dict)),
            access=_access_field(access),
        )

    @classmethod
    def from_document(cls, crn: str, document: Mapping[str, Any]) -> CaseSnapshot:
        """Build from a whole case document (the simulator's file format)."""
        return cls.from_parts(
            crn,
            offender=document.get("offender"),
            registrations=document.get("registrations"),
            contacts=document.get("contacts"),
            access=document.get("accessLimitations"),
        )

    @property
    def is_soft_deleted(self) -> bool:
        return self.offender.get("softDeleted") is True

    def latest_mappa(self) -> Registration | None:
        """The latest active MAPP registration; only that one counts."""
        active = [r for r in self.registrations if r.type_code == MAPPA_TYPE and r.is_active]
        return max(active, key=lambda r: r.sort_key) if active else None

    def active_registrations(self, type_code: str) -> list[Registration]:
        return [r for r in self.registrations if r.type_code == type_code and r.is_active]

    def current_manager(self) -> dict[str, Any]:
        """The current offender manager, or an empty object when it cannot be told.

        The row marked `active` (the last, if several are); when no row says `active: true`,
        the one open allocation: no `toDate`, not marked `active: false`, not soft-deleted.
        Several open allocations and no flag: undetermined (empty).
        """
        managers = [
            m for m in as_list(self.offender.get("offenderManagers")) if isinstance(m, dict)
        ]
        active = [m for m in managers if m.get("active") is True]
        if active:
            return active[-1]
        open_ = [
            m
            for m in managers
            if m.get("active") is not False
            and m.get("softDeleted") is not True
            and as_str(m.get("toDate")) is None
        ]
        return open_[0] if len(open_) == 1 else {}

    @property
    def has_visor_record(self) -> bool:
        """True when nDelius says the person is already on ViSOR (AVIS registration or VISO id)."""
        if self.active_registrations("AVIS"):
            return True
        return any(
            as_str(as_dict(as_dict(ident).get("type")).get("code")) == "VISO"
            and as_str(as_dict(ident).get("value")) is not None
            for ident in as_list(self.offender.get("additionalIdentifiers"))
        )

    @property
    def manager_code(self) -> str | None:
        return as_str(as_dict(self.current_manager().get("staff")).get("code"))

    @property
    def access_body(self) -> Any:
        """The access-limitations body as read (None: not read), for `scope.read_access`."""
        return self.access.get(_RAW_ACCESS, self.access) if self.access else None

    def fingerprint(self) -> str:
        """A hash of everything read, so an unchanged case is skipped cheaply."""
        return content_hash(
            {
                "o": self.offender,
                "r": [r.raw for r in self.registrations],
                "c": list(self.contacts),
                "a": self.access,
            }
        )
