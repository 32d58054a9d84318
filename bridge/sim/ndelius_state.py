"""In-memory state of the nDelius simulator: case documents, the change feed, merges."""

from __future__ import annotations

import gc
import json
import math
import re
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
    "Document",
    "NdeliusState",
    "RawDocument",
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


def _crn_for(path: Path, doc: Document) -> str:
    if CRN_PATTERN.fullmatch(path.stem):
        return path.stem
    try:
        crn = doc["offender"]["otherIds"]["crn"]
    except (TypeError, KeyError, IndexError):
        return path.stem
    return crn if isinstance(crn, str) and crn else path.stem


def load_cases(cases_dir: Path | None) -> dict[str, Document]:
    """Every `cases/*.json` under `cases_dir` (or `*.json` in it), keyed by CRN."""
    if cases_dir is None:
        return {}
    folder = cases_dir / "cases" if (cases_dir / "cases").is_dir() else cases_dir
    cases: dict[str, Document] = {}
    # JSON values hold no reference cycles, and collecting while 100,000 documents pile
    # up costs more than parsing them: pause the cycle collector while loading.
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        for path in sorted(folder.glob("*.json")):
            doc = parse_document(path.read_bytes())
            cases.setdefault(_crn_for(path, doc), doc)
    finally:
        if was_enabled:
            gc.enable()
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


class NdeliusState:
    """Case documents keyed by CRN plus the append-only change feed."""

    def __init__(self, seed: dict[str, Document], clock: Clock) -> None:
        self.clock = clock
        self.seed = seed
        self.loaded_at = clock.now()
        self.cases: dict[str, Document] = {}
        self.updated: dict[str, datetime] = {}
        self.events: list[dict[str, Any]] = []
        self._mappa_listing: list[dict[str, str]] | None = None
        self.reset()

    def reset(self) -> None:
        """Back to the loaded seed: no events, sequence 0."""
        # A shallow copy is enough: documents are replaced, never changed in place.
        self.cases = dict(self.seed)
        self.updated = dict.fromkeys(self.cases, self.loaded_at)
        self.events = []
        self._mappa_listing = None

    @property
    def head(self) -> int:
        return len(self.events)

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
        old = self.cases.get(crn)
        if isinstance(new, dict):
            changes = classify_change(old if isinstance(old, dict) else None, new)
        else:
            changes = [(PERSONAL_DETAILS_UPDATED, {})]
        self.cases[crn] = new
        self.updated[crn] = self.clock.now()
        self._mappa_listing = None
        return self.append(crn, changes)

    def delete(self, crn: str) -> list[dict[str, Any]]:
        del self.cases[crn]
        del self.updated[crn]
        self._mappa_listing = None
        return self.append(crn, [(DELETED_GDPR, {})])

    def merge(self, source: str, target: str) -> list[dict[str, Any]]:
        """The source case disappears; its registrations and contacts move over."""
        source_doc = self.cases.pop(source)
        del self.updated[source]
        target_doc = self.cases[target]
        if isinstance(target_doc, dict) and isinstance(source_doc, dict):
            merged = dict(target_doc)
            for field, keys in _MERGED_FIELDS:
                if field in source_doc:
                    merged[field] = _merged_list(target_doc.get(field, []), source_doc[field], keys)
            self.cases[target] = merged
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
                if has_active_mappa(self.cases[crn])
            ]
        return self._mappa_listing
