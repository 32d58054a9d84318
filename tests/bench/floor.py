"""The lxml floor for the mapping benchmark: the same records, built by hand-written lxml code.

This is what a developer would write without a declarative spec: direct dictionary access for the
clean documents the generator produces, the same code tables, the same envelope, serialisation and
XSD validation. `bench_mapping.py` checks that it produces byte-for-byte the same canonical XML as
the engine before timing either.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from lxml import etree

from bridge.core.record import NS, canonical_hash
from bridge.core.snapshot import content_hash

_ORDER = {"M": 0, "m": 0, "S": 1, "s": 1, "O": 2, "o": 2, "P": 3, "p": 3}


class Floor:
    """Hand-written mapping of a generated case document to a whole-nominal record."""

    def __init__(self, tables: Mapping[str, Mapping[str, str]], version: str) -> None:
        self.t = tables
        self.version = version
        self.q = {}  # tag -> qualified tag

    def _tag(self, name: str) -> str:
        tag = self.q.get(name)
        if tag is None:
            tag = self.q[name] = f"{{{NS}}}{name}"
        return tag

    def _sub(self, parent: etree._Element, name: str, text: str | None) -> None:
        if text:
            etree.SubElement(parent, self._tag(name)).text = text

    def _el(self, parent: etree._Element, name: str) -> etree._Element:
        return etree.SubElement(parent, self._tag(name))

    def _root(self, name: str, **attrs: str) -> etree._Element:
        root = etree.Element(self._tag(name), nsmap={None: NS})
        for key, value in attrs.items():
            root.set(key, value)
        return root

    def _code_description(
        self, parent: etree._Element, name: str, obj: dict[str, Any] | None
    ) -> None:
        if obj:
            el = self._el(parent, name)
            self._sub(el, "Code", obj.get("code"))
            self._sub(el, "Description", obj.get("description"))

    def identity(self, o: dict[str, Any]) -> etree._Element:
        el = self._root("Identity")
        self._sub(el, "Surname", o["surname"])
        self._sub(el, "Forename", o["firstName"])
        for middle in o.get("middleNames", [])[:5]:
            self._sub(el, "MiddleName", middle)
        self._sub(el, "DateOfBirth", o["dateOfBirth"][:10])
        self._sub(el, "Gender", self.t["genders"][o["gender"].casefold()])
        ids = o["otherIds"]
        self._sub(el, "PNC", ids.get("pncNumber"))
        self._sub(el, "CRO", ids.get("croNumber"))
        self._sub(el, "NOMS", ids.get("nomsNumber"))
        for ident in o.get("additionalIdentifiers", []):
            if ident["type"]["code"] == "VISO":
                self._sub(el, "ViSORNumber", ident["value"])
                break
        return el

    def aliases(self, o: dict[str, Any]) -> etree._Element:
        el = self._root("Aliases")
        for alias in sorted(o.get("offenderAliases", []), key=lambda a: str(a["id"])):
            a = self._el(el, "Alias")
            self._sub(a, "Surname", alias["surname"])
            self._sub(a, "Forename", alias["firstName"])
            for middle in alias.get("middleNames", [])[:5]:
                self._sub(a, "MiddleName", middle)
            self._sub(a, "DateOfBirth", (alias.get("dateOfBirth") or "")[:10])
            if alias.get("gender"):
                self._sub(a, "Gender", self.t["genders"][alias["gender"].casefold()])
        return el

    def addresses(self, o: dict[str, Any]) -> etree._Element:
        el = self._root("Addresses")
        rows = list(o["contactDetails"]["addresses"])
        rows.sort(key=lambda a: a.get("from") or "", reverse=True)
        rows.sort(key=lambda a: _ORDER[a["status"]["code"]])
        for row in rows:
            a = self._el(el, "Address")
            self._sub(a, "Status", self.t["address-status"][row["status"]["code"].casefold()])
            self._sub(a, "NoFixedAbode", "true" if row.get("noFixedAbode") else "false")
            for tag, key in (
                ("BuildingName", "buildingName"),
                ("AddressNumber", "addressNumber"),
                ("StreetName", "streetName"),
                ("District", "district"),
                ("Town", "town"),
                ("County", "county"),
                ("Postcode", "postcode"),
            ):
                self._sub(a, tag, row.get(key))
            self._sub(a, "From", (row.get("from") or "")[:10])
            self._sub(a, "To", (row.get("to") or "")[:10])
        return el

    def mappa(self, regs: list[dict[str, Any]]) -> etree._Element:
        el = self._root("Mappa")
        active = [r for r in regs if r["type"]["code"] == "MAPP" and r.get("active")]
        reg = max(
            active,
            key=lambda r: (
                r["startDate"],
                str(r["registrationId"]).zfill(20),
            ),
        )
        self._sub(el, "Category", self.t["mappa-categories"][reg["registerCategory"]["code"]])
        self._sub(el, "Level", self.t["mappa-levels"][reg["registerLevel"]["code"]])
        self._sub(el, "StartDate", reg["startDate"][:10])
        self._sub(el, "ReviewDate", (reg.get("nextReviewDate") or "")[:10])
        self._sub(el, "LeadAgency", "Probation")
        self._code_description(el, "Team", reg.get("registeringTeam"))
        self._code_description(el, "Area", reg.get("registeringProbationArea"))
        return el

    def risk(self, regs: list[dict[str, Any]]) -> etree._Element:
        el = self._root("Risk", category="assessment")
        active = [r for r in regs if r.get("active") and not r.get("softDeleted")]
        rosh = [r for r in active if r["type"]["code"] in self.t["rosh-levels"]]
        if rosh:
            rosh.sort(key=lambda r: str(r.get("registrationId") or ""), reverse=True)
            rosh.sort(key=lambda r: r["startDate"], reverse=True)
            top = rosh[0]
            overall = self._el(el, "OverallRoSH")
            self._sub(overall, "Level", self.t["rosh-levels"][top["type"]["code"]])
            self._sub(overall, "AssessedOn", top["startDate"][:10])
            self._sub(overall, "ReviewDue", (top.get("nextReviewDate") or "")[:10])
            self._sub(overall, "Basis", "OASys RoSH assessment, as registered in nDelius")
        groups = [r for r in active if r["type"]["code"] in self.t["risk-groups"]]
        groups.sort(key=lambda r: r["startDate"], reverse=True)
        groups.sort(key=lambda r: r["type"]["code"])
        for reg in groups:
            g = self._el(el, "GroupRisk")
            self._sub(g, "Group", self.t["risk-groups"][reg["type"]["code"]])
            level = (reg.get("registerLevel") or {}).get("code")
            self._sub(g, "Level", self.t["risk-levels"].get(level or ""))
            self._sub(g, "AssessedOn", reg["startDate"][:10])
            self._sub(g, "Basis", "OASys risk to the group, as registered in nDelius")
        return el

    def registrations(self, regs: list[dict[str, Any]]) -> etree._Element:
        el = self._root("Registrations")
        table = self.t["registrations-of-interest"]
        rows = [
            r
            for r in regs
            if r["type"]["code"] in table and r.get("active") and not r.get("softDeleted")
        ]
        rows.sort(key=lambda r: (r["type"]["code"], r["startDate"], str(r["registrationId"])))
        for reg in rows:
            r = self._el(el, "Registration")
            self._sub(r, "Code", reg["type"]["code"])
            self._sub(r, "Description", table[reg["type"]["code"]])
            self._sub(r, "StartDate", reg["startDate"][:10])
            self._sub(r, "ReviewDate", (reg.get("nextReviewDate") or "")[:10])
            self._sub(r, "Notes", reg.get("notes"))
        return el

    def managing_officer(self, o: dict[str, Any]) -> etree._Element:
        el = self._root("ManagingOfficer")
        manager = [m for m in o["offenderManagers"] if m.get("active")][-1]
        staff = manager["staff"]
        self._sub(el, "StaffCode", staff["code"])
        self._sub(el, "Surname", staff.get("surname"))
        self._sub(el, "Forename", staff.get("forenames"))
        self._code_description(el, "Team", manager["team"])
        self._code_description(el, "Area", manager["probationArea"])
        self._sub(el, "Telephone", manager["team"].get("telephone"))
        self._sub(el, "Email", manager["team"].get("emailAddress"))
        return el

    def activity(self, contact: dict[str, Any]) -> etree._Element:
        el = self._root("Activity")
        self._sub(el, "ContactId", str(contact["id"]))
        self._sub(el, "Date", contact["contactDate"][:10])
        self._code_description(el, "Type", contact["type"])
        self._sub(el, "Summary", contact.get("description"))
        self._code_description(el, "Outcome", contact.get("outcome"))
        officer = contact.get("officer")
        if officer:
            off = self._el(el, "Officer")
            self._sub(off, "StaffCode", officer["code"])
            name = officer.get("name") or {}
            self._sub(
                off, "Name", " ".join(p for p in (name.get("forename"), name.get("surname")) if p)
            )
        self._sub(el, "Notes", contact.get("notes"))
        return el

    def record(self, crn: str, doc: dict[str, Any], prepared_at: datetime) -> etree._Element:
        o, regs = doc["offender"], doc["registrations"]
        flagged = [
            c
            for c in doc["contacts"]
            if (c.get("visorContact") or c.get("visorExported")) and not c.get("softDeleted")
        ]
        flagged.sort(key=lambda c: (c["contactDate"], str(c["id"])))
        sections = [
            self.identity(o),
            self.aliases(o),
            self.addresses(o),
            self.mappa(regs),
            self.risk(regs),
            self.registrations(regs),
            self.managing_officer(o),
            *(self.activity(c) for c in flagged),
        ]
        digest = hashlib.sha256("".join(canonical_hash(e) for e in sections).encode()).hexdigest()
        main = next(a for a in o["contactDetails"]["addresses"] if a["status"]["code"] == "M")
        area = main["postcode"].split(" ")[0].rstrip("0123456789")
        has_visor = any(r["type"]["code"] == "AVIS" and r.get("active") for r in regs) or any(
            i["type"]["code"] == "VISO" for i in o.get("additionalIdentifiers", [])
        )
        source_version = content_hash(
            {"o": o, "r": regs, "c": doc["contacts"], "a": doc["accessLimitations"]}
        )
        rec = self._root("Record")
        env = self._el(rec, "Envelope")
        self._sub(env, "RecordId", f"{crn}.Nominal.{digest[:16]}")
        self._sub(env, "Kind", "nominal-update" if has_visor else "nominal-create")
        self._sub(env, "CRN", crn)
        self._sub(env, "SourceVersion", source_version)
        self._sub(env, "MappingVersion", self.version)
        self._sub(
            env,
            "OnBehalfOf",
            [m for m in o["offenderManagers"] if m.get("active")][-1]["staff"]["code"],
        )
        self._sub(env, "PreparedAt", prepared_at.isoformat())
        self._sub(env, "OwningForce", self.t["postcode-areas"][area])
        nominal = self._el(rec, "Nominal")
        nominal.extend(sections)
        return rec
