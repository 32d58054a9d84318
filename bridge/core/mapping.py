"""Map a case snapshot into ViSOR nominal sections, each with the issues found on the way."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from lxml import etree

from bridge.core.fields import SectionWriter
from bridge.core.issues import Issue
from bridge.core.scope import CATEGORY_CODES, LEVEL_CODES
from bridge.core.snapshot import CaseSnapshot, as_dict, as_list, as_str

__all__ = ["SECTIONS", "MappedSection", "has_visor_record", "map_case", "pnc_is_valid"]

#: Sections this mapping produces, in ViSOR field order (a subset of the contract's names).
SECTIONS = ("identity", "addresses", "mappa", "managing-officer")
MAPPING_VERSION = "visor-v1.0"

# re.ASCII: `\d` must mean 0-9 as in the XSD, not any Unicode digit.
_PNC = re.compile(r"(\d{4})/(\d{7})([A-Z])", re.ASCII)
_PNC_LETTERS = "ZABCDEFGHJKLMNPQRTUVWXY"
_CRO = re.compile(r"(\d{1,6}/\d{2}[A-Z])|(SF\d{2}/\d{1,6}[A-Z])", re.ASCII)
_NOMS = re.compile(r"[A-Z]\d{4}[A-Z]{2}", re.ASCII)
_STAFF = re.compile(r"[A-Z0-9]{7}")
_POSTCODE = re.compile(r"[A-Z]{1,2}\d[A-Z\d]? \d[A-Z]{2}", re.ASCII)
_GENDERS = {"male": "Male", "m": "Male", "female": "Female", "f": "Female", "other": "Other"}
_GENDERS |= {"not known": "Not known", "unknown": "Not known", "n": "Not known"}
_ADDRESS_STATUS = {"M": "Main", "P": "Previous", "O": "Other"}
_NFA_POSTCODES = {"NF1 1NF", "NFA"}


@dataclass(frozen=True, slots=True)
class MappedSection:
    """One section's content and the issues found while mapping it."""

    name: str
    element: etree._Element
    issues: tuple[Issue, ...]


def pnc_is_valid(pnc: str) -> bool:
    """Format `YYYY/NNNNNNNX` and the check character (two-digit year + serial, mod 23)."""
    match = _PNC.fullmatch(pnc)
    if not match:
        return False
    year, serial, check = match.groups()
    return _PNC_LETTERS[int(year[2:] + serial) % 23] == check


def has_visor_record(snapshot: CaseSnapshot) -> bool:
    """True when nDelius says the person already has a ViSOR record (AVIS or VISO)."""
    return bool(snapshot.active_registrations("AVIS")) or _visor_number(snapshot) is not None


def _visor_number(snapshot: CaseSnapshot) -> str | None:
    for ident in as_list(snapshot.offender.get("additionalIdentifiers")):
        if as_str(as_dict(as_dict(ident).get("type")).get("code")) == "VISO":
            return as_str(as_dict(ident).get("value"))
    return None


def _identity(snapshot: CaseSnapshot) -> SectionWriter:
    w = SectionWriter("identity", "Identity")
    o = snapshot.offender
    w.text(w.root, "Surname", o.get("surname"), path="Surname", required=True, max_len=35)
    w.text(w.root, "Forename", o.get("firstName"), path="Forename", required=True, max_len=35)
    for i, middle in enumerate(as_list(o.get("middleNames"))[:5], start=1):
        w.text(w.root, "MiddleName", middle, path=f"MiddleName[{i}]", max_len=35)
    w.date(w.root, "DateOfBirth", o.get("dateOfBirth"), path="DateOfBirth", required=True)
    gender_raw = as_str(o.get("gender"))
    gender = _GENDERS.get((gender_raw or "").strip().lower())
    if gender is None:
        code = "missing-field" if gender_raw is None else "unknown-code"
        w.issue(
            code, "Gender", "Gender is missing or not a ViSOR value; choose one.", blocking=True
        )
    else:
        w.text(w.root, "Gender", gender, path="Gender")
    ids = as_dict(o.get("otherIds"))
    pnc = as_str(ids.get("pncNumber"))
    if pnc is None:
        w.issue(
            "missing-pnc", "PNC", "No PNC number in nDelius; add it if one exists.", blocking=False
        )
    elif not pnc_is_valid(pnc.strip().upper()):
        w.issue(
            "invalid-format",
            "PNC",
            "PNC number format or check character is wrong; correct it.",
            blocking=True,
        )
    else:
        w.text(w.root, "PNC", pnc.strip().upper(), path="PNC")
    w.text(w.root, "CRO", ids.get("croNumber"), path="CRO", pattern=_CRO, what="CRO number")
    w.text(w.root, "NOMS", ids.get("nomsNumber"), path="NOMS", pattern=_NOMS, what="NOMS number")
    w.text(w.root, "ViSORNumber", _visor_number(snapshot), path="ViSORNumber", max_len=20)
    return w


def _address_order(address: dict[str, Any]) -> tuple[int, str]:
    status = as_str(as_dict(address.get("status")).get("code")) or ""
    rank = {"M": 0, "O": 1, "P": 2}.get(status.upper(), 3)
    return (rank, "".join(chr(0x10FFFF - ord(c)) for c in (as_str(address.get("from")) or "")))


def _addresses(snapshot: CaseSnapshot) -> SectionWriter:
    w = SectionWriter("addresses", "Addresses")
    raw = [
        a
        for a in as_list(as_dict(snapshot.offender.get("contactDetails")).get("addresses"))
        if isinstance(a, dict)
    ]
    for n, a in enumerate(sorted(raw, key=_address_order), start=1):
        p = f"Address[{n}]"
        status = _ADDRESS_STATUS.get((as_str(as_dict(a.get("status")).get("code")) or "").upper())
        if status is None:
            w.issue(
                "unknown-code",
                f"{p}/Status",
                "Address status is not Main, Previous or Other; set it.",
                blocking=True,
            )
            continue
        el = w.child(w.root, "Address")
        w.text(el, "Status", status, path=f"{p}/Status")
        nfa = a.get("noFixedAbode") is True
        w.text(el, "NoFixedAbode", "true" if nfa else "false", path=f"{p}/NoFixedAbode")
        for tag, key in (
            ("BuildingName", "buildingName"),
            ("AddressNumber", "addressNumber"),
            ("StreetName", "streetName"),
            ("District", "district"),
            ("Town", "town"),
            ("County", "county"),
        ):
            w.text(el, tag, a.get(key), path=f"{p}/{tag}", max_len=100)
        postcode = " ".join((as_str(a.get("postcode")) or "").upper().split())
        if postcode and " " not in postcode and len(postcode) >= 5:
            postcode = f"{postcode[:-3]} {postcode[-3:]}"
        if postcode and not (nfa and postcode in _NFA_POSTCODES):
            w.text(
                el, "Postcode", postcode, path=f"{p}/Postcode", pattern=_POSTCODE, what="Postcode"
            )
        elif not postcode and not nfa and status == "Main":
            w.issue(
                "missing-field",
                f"{p}/Postcode",
                "Main address has no postcode; add it.",
                blocking=False,
            )
        w.date(el, "From", a.get("from"), path=f"{p}/From")
        w.date(el, "To", a.get("to"), path=f"{p}/To")
    return w


def _code_description(
    w: SectionWriter, parent: etree._Element, tag: str, value: Any, *, path: str, required: bool
) -> None:
    obj = as_dict(value)
    if as_str(obj.get("code")) is None:
        if required:
            w.issue(
                "missing-field", path, f"{tag} code is missing in nDelius; add it.", blocking=True
            )
        return
    el = w.child(parent, tag)
    # required: a code that is empty once cleaned would leave an XSD-invalid `<Team/>`.
    w.text(el, "Code", obj.get("code"), path=f"{path}/Code", required=True, max_len=20)
    w.text(el, "Description", obj.get("description"), path=f"{path}/Description", max_len=100)


def _mappa(snapshot: CaseSnapshot) -> SectionWriter:
    w = SectionWriter("mappa", "Mappa")
    reg = snapshot.latest_mappa()
    if reg is None:  # out of scope cases are never mapped; kept total for safety
        w.issue("missing-field", "Category", "No active MAPPA registration.", blocking=True)
        return w
    category = CATEGORY_CODES.get(reg.code_of("registerCategory") or "")
    level = LEVEL_CODES.get(reg.code_of("registerLevel") or "")
    if category is None:
        w.issue(
            "unknown-code",
            "Category",
            "MAPPA category is unknown in nDelius; set category 1-4.",
            blocking=True,
        )
    else:
        w.text(w.root, "Category", str(category), path="Category")
    if level is None:
        w.issue(
            "unknown-code",
            "Level",
            "MAPPA level is unknown in nDelius; set level 1-3.",
            blocking=True,
        )
    else:
        w.text(w.root, "Level", str(level), path="Level")
    w.date(w.root, "StartDate", reg.raw.get("startDate"), path="StartDate", required=True)
    w.date(w.root, "ReviewDate", reg.raw.get("nextReviewDate"), path="ReviewDate")
    w.text(w.root, "LeadAgency", "Probation", path="LeadAgency")
    _code_description(
        w, w.root, "Team", reg.raw.get("registeringTeam"), path="Team", required=False
    )
    _code_description(
        w, w.root, "Area", reg.raw.get("registeringProbationArea"), path="Area", required=False
    )
    return w


def _managing_officer(snapshot: CaseSnapshot) -> SectionWriter:
    w = SectionWriter("managing-officer", "ManagingOfficer")
    manager = snapshot.current_manager()
    staff = as_dict(manager.get("staff"))
    w.text(
        w.root,
        "StaffCode",
        staff.get("code"),
        path="StaffCode",
        required=True,
        pattern=_STAFF,
        what="Staff code",
    )
    w.text(w.root, "Surname", staff.get("surname"), path="Surname", max_len=35)
    w.text(w.root, "Forename", staff.get("forenames"), path="Forename", max_len=35)
    _code_description(w, w.root, "Team", manager.get("team"), path="Team", required=True)
    _code_description(w, w.root, "Area", manager.get("probationArea"), path="Area", required=True)
    w.text(
        w.root,
        "Telephone",
        as_dict(manager.get("team")).get("telephone"),
        path="Telephone",
        max_len=100,
    )
    return w


_BUILDERS = {
    "identity": _identity,
    "addresses": _addresses,
    "mappa": _mappa,
    "managing-officer": _managing_officer,
}


def map_case(snapshot: CaseSnapshot) -> list[MappedSection]:
    """Map every section of one case; never raises, whatever the document holds.

    Args:
        snapshot: the case as read from nDelius.

    Returns:
        One `MappedSection` per name in `SECTIONS`, in that order.
    """
    out = []
    for name in SECTIONS:
        writer = _BUILDERS[name](snapshot)
        out.append(MappedSection(name, writer.root, tuple(writer.issues)))
    return out
