"""In-memory state of the nDelius simulator: case documents, the change feed, merges.

Each case is held as the bytes it was loaded or PUT with (compact: 100,000 generated cases
take about 650 MB as bytes, several times that as Python objects). A read parses the
document once and keeps its four served parts, already encoded, in a small LRU cache (the
sync reads a case's four endpoints one after another), so a read costs no re-serialising.
"""

from __future__ import annotations

import gc
import json
import math
import re
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from bridge.clock import Clock
from bridge.sim.events import (
    PERSONAL_DETAILS_UPDATED,
    Change,
    classify_change,
    format_instant,
    make_event,
)

__all__ = [
    "DEFAULT_ACCESS_LIMITATIONS",
    "Document",
    "NdeliusState",
    "Parts",
    "RawDocument",
    "contacts_page",
    "encode",
    "load_cases",
    "mappa_categories",
    "page_of",
    "parse_document",
]

CRN_PATTERN = re.compile(r"[A-Z][0-9]{6}")
MERGE_COMPLETED = "probation-case.merge.completed"
DELETED_GDPR = "probation-case.deleted.gdpr"
_MERGED_FIELDS = (
    ("registrations", ("registrationId",)),
    ("contacts", ("contactId", "id")),
)
_MAPPA_CATEGORY = {"M1": 1, "M2": 2, "M3": 3, "M4": 4}
DEFAULT_ACCESS_LIMITATIONS: dict[str, Any] = {
    "excludedFrom": [],
    "restrictedTo": [],
    "exclusionMessage": None,
    "restrictionMessage": None,
}
#: The contacts page every client asks for (page 0 of 100, no category filter): pre-encoded.
DEFAULT_CONTACTS_PAGE = (0, 100)
_PARTS_CACHE_SIZE = 4096


@dataclass(frozen=True)
class RawDocument:
    """A case document that is not JSON at all; served byte for byte."""

    data: bytes


# A parsed JSON value (normally a dict), or the raw bytes of a non-JSON document.
Document = Any


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def parse_document(data: bytes) -> Document:
    """Parse a case document; anything that is not strict JSON stays raw bytes."""
    try:
        return json.loads(data, parse_constant=_reject_constant)
    except (ValueError, RecursionError):
        return RawDocument(data)


def encode(value: Any) -> bytes:
    """JSON exactly as Starlette's JSONResponse renders it."""
    return json.dumps(
        value, ensure_ascii=False, allow_nan=False, indent=None, separators=(",", ":")
    ).encode("utf-8")


def _crn_for(path: Path, data: bytes) -> str:
    if CRN_PATTERN.fullmatch(path.stem):
        return path.stem
    try:
        crn = parse_document(data)["offender"]["otherIds"]["crn"]
    except (TypeError, KeyError, IndexError):
        return path.stem
    return crn if isinstance(crn, str) and crn else path.stem


def load_cases(cases_dir: Path | None) -> dict[str, bytes]:
    """The bytes of every `cases/*.json` under `cases_dir` (or `*.json` in it), keyed by CRN."""
    if cases_dir is None:
        return {}
    folder = cases_dir / "cases" if (cases_dir / "cases").is_dir() else cases_dir
    cases: dict[str, bytes] = {}
    for path in sorted(folder.glob("*.json")):
        data = path.read_bytes()
        cases.setdefault(_crn_for(path, data), data)
    return cases


def _is_active_mappa(registration: object) -> bool:
    if not isinstance(registration, dict):
        return False
    reg_type = registration.get("type")
    return (
        isinstance(reg_type, dict)
        and reg_type.get("code") == "MAPP"
        and registration.get("active") is True
    )


def has_active_mappa(doc: Document) -> bool:
    """True if the document has an active MAPP registration (False if malformed)."""
    if not isinstance(doc, dict) or not isinstance(doc.get("registrations"), list):
        return False
    return any(_is_active_mappa(reg) for reg in doc["registrations"])


def mappa_categories(doc: Document) -> set[int]:
    """The MAPPA categories (0 = unknown) of the case's MAPP registrations."""
    categories: set[int] = set()
    registrations = doc.get("registrations") if isinstance(doc, dict) else None
    for reg in registrations if isinstance(registrations, list) else []:
        if not isinstance(reg, dict) or not isinstance(reg.get("type"), dict):
            continue
        if reg["type"].get("code") != "MAPP":
            continue
        category = reg.get("registerCategory")
        code = category.get("code") if isinstance(category, dict) else None
        categories.add(_MAPPA_CATEGORY.get(code, 0) if isinstance(code, str) else 0)
    return categories


def page_of(items: list[Any], page: int, size: int) -> dict[str, Any]:
    """A Spring-style page: `{"content","totalPages","totalResults"}` (0-based)."""
    start = page * size
    return {
        "content": items[start : start + size],
        "totalPages": math.ceil(len(items) / size),
        "totalResults": len(items),
    }


def contacts_page(doc: dict[str, Any], wanted: set[int] | None, page: int, size: int) -> Any:
    """The `/case/{crn}/contacts` body for a JSON-object document."""
    items = doc.get("contacts", [])
    if not isinstance(items, list):  # malformed: passed through as it is
        return {"content": items, "totalPages": 1, "totalResults": 0}
    # As external-api-and-delius findMappaContacts: flagged for ViSOR or already exported.
    flagged = [
        c
        for c in items
        if isinstance(c, dict) and (c.get("visorContact") is True or c.get("visorExported") is True)
    ]
    if wanted is not None and not mappa_categories(doc) & wanted:
        flagged = []
    return page_of(flagged, page, size)


@dataclass(frozen=True, slots=True)
class Parts:
    """One case document parsed, with the bodies of its four reads already encoded.

    A document that is not a JSON object is served whole by every read (raw bytes if it is
    not JSON at all); `contacts` is then that whole body too.
    """

    data: bytes  # the stored bytes these parts were made from
    doc: Document
    offender: bytes
    registrations: bytes
    access: bytes
    contacts: bytes  # the default contacts page (DEFAULT_CONTACTS_PAGE, no category filter)

    @classmethod
    def of(cls, data: bytes, doc: Document) -> Parts:
        if isinstance(doc, RawDocument):
            return cls(data, doc, doc.data, doc.data, doc.data, doc.data)
        if not isinstance(doc, dict):
            whole = encode(doc)
            return cls(data, doc, whole, whole, whole, whole)
        return cls(
            data,
            doc,
            encode(doc.get("offender")),
            encode({"registrations": doc.get("registrations", [])}),
            encode(doc.get("accessLimitations", DEFAULT_ACCESS_LIMITATIONS)),
            encode(contacts_page(doc, None, *DEFAULT_CONTACTS_PAGE)),
        )


def _item_id(item: object, keys: tuple[str, ...]) -> object:
    if not isinstance(item, dict):
        return None
    return next((item[k] for k in keys if item.get(k) is not None), None)


def _merged_list(target: object, source: object, keys: tuple[str, ...]) -> object:
    """Target items plus source items whose id the target lacks (if both are lists)."""
    if not isinstance(target, list) or not isinstance(source, list):
        return target
    seen = {repr(_item_id(item, keys)) for item in target}
    moved = [
        item
        for item in source
        if _item_id(item, keys) is None or repr(_item_id(item, keys)) not in seen
    ]
    return target + moved


def _active_flags(cases: dict[str, bytes]) -> dict[str, bool]:
    # Parsed documents hold no reference cycles, and collecting while 100,000 of them are
    # parsed costs more than parsing: pause the cycle collector meanwhile.
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        return {crn: has_active_mappa(parse_document(data)) for crn, data in cases.items()}
    finally:
        if was_enabled:
            gc.enable()


class NdeliusState:
    """Case documents (stored bytes) keyed by CRN plus the append-only change feed."""

    def __init__(self, seed: dict[str, bytes], clock: Clock) -> None:
        self.clock = clock
        self.seed = seed
        self.seed_active = _active_flags(seed)
        self.loaded_at = clock.now()
        self.cases: dict[str, bytes] = {}
        self.active: dict[str, bool] = {}  # CRN -> has an active MAPP registration
        self.updated: dict[str, datetime] = {}
        self.events: list[dict[str, Any]] = []
        self._mappa_listing: list[dict[str, str]] | None = None
        self._parts: OrderedDict[str, Parts] = OrderedDict()
        self.reset()

    def reset(self) -> None:
        """Back to the loaded seed: no events, sequence 0."""
        # Shallow copies are enough: stored bytes are replaced, never changed.
        self.cases = dict(self.seed)
        self.active = dict(self.seed_active)
        self.updated = dict.fromkeys(self.cases, self.loaded_at)
        self.events = []
        self._mappa_listing = None
        self._parts.clear()

    @property
    def head(self) -> int:
        return len(self.events)

    def parts(self, crn: str) -> Parts:
        """The case's parsed document and encoded reads (KeyError for an unknown CRN)."""
        data = self.cases[crn]
        parts = self._parts.get(crn)
        if parts is not None and parts.data is data:
            self._parts.move_to_end(crn)
            return parts
        return self._remember(crn, Parts.of(data, parse_document(data)))

    def document(self, crn: str) -> Document:
        return self.parts(crn).doc

    def _remember(self, crn: str, parts: Parts) -> Parts:
        self._parts[crn] = parts
        self._parts.move_to_end(crn)
        if len(self._parts) > _PARTS_CACHE_SIZE:
            self._parts.popitem(last=False)
        return parts

    def _store(self, crn: str, data: bytes, doc: Document) -> None:
        self.cases[crn] = data
        self.active[crn] = has_active_mappa(doc)
        self.updated[crn] = self.clock.now()
        self._mappa_listing = None
        self._parts.pop(crn, None)

    def _forget(self, crn: str) -> None:
        del self.cases[crn]
        del self.active[crn]
        del self.updated[crn]
        self._mappa_listing = None
        self._parts.pop(crn, None)

    def append(self, crn: str, changes: list[Change]) -> list[dict[str, Any]]:
        now = self.clock.now()
        appended = [
            make_event(
                sequence=self.head + offset,
                event_type=event_type,
                crn=crn,
                info=info,
                at=now,
            )
            for offset, (event_type, info) in enumerate(changes, start=1)
        ]
        self.events.extend(appended)
        return appended

    def events_after(self, after: int, limit: int) -> list[dict[str, Any]]:
        start = max(after, 0)
        return self.events[start : start + limit]

    def upsert(self, crn: str, body: bytes) -> list[dict[str, Any]]:
        """Store a whole case document and append the events the change implies."""
        new = parse_document(body)
        old = self.document(crn) if crn in self.cases else None
        if isinstance(new, dict):
            changes = classify_change(old if isinstance(old, dict) else None, new)
        else:
            changes = [(PERSONAL_DETAILS_UPDATED, {})]
        self._store(crn, body, new)
        return self.append(crn, changes)

    def delete(self, crn: str) -> list[dict[str, Any]]:
        self._forget(crn)
        return self.append(crn, [(DELETED_GDPR, {})])

    def merge(self, source: str, target: str) -> list[dict[str, Any]]:
        """The source case disappears; its registrations and contacts move over."""
        source_doc = self.document(source)
        target_doc = self.document(target)
        self._forget(source)
        if isinstance(target_doc, dict) and isinstance(source_doc, dict):
            merged = dict(target_doc)
            for field, keys in _MERGED_FIELDS:
                if field in source_doc:
                    merged[field] = _merged_list(target_doc.get(field, []), source_doc[field], keys)
            self._store(target, encode(merged), merged)
        else:
            self.updated[target] = self.clock.now()
            self._mappa_listing = None
        info = {"sourceCRN": source, "targetCRN": target}
        return self.append(target, [(MERGE_COMPLETED, info)])

    def mappa_cases(self) -> list[dict[str, str]]:
        """Every CRN with an active MAPP registration, sorted, with `lastUpdated`."""
        if self._mappa_listing is None:  # cached: paging 100,000 cases re-reads it often
            self._mappa_listing = [
                {"crn": crn, "lastUpdated": format_instant(self.updated[crn])}
                for crn in sorted(self.cases)
                if self.active[crn]
            ]
        return self._mappa_listing
