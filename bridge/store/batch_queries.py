"""Page-at-a-time reads and writes for the sync: one statement per table per page of cases.

The sync writes hundreds of thousands of cases. Asked one case at a time, each case costs a
dozen round trips (its entries, baselines, rejected sections, case state, then one INSERT
per entry, version and audit line); here a page of cases costs a few IN queries and one
bulk statement per table. Every query is keyed by CRN (`ix_entry_crn_section_status` and
the primary keys), so its cost follows the page, not the size of the tables.

Callers own the transaction.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, delete, insert, select, update
from sqlalchemy.engine import Connection
from sqlmodel import col

from bridge.core.lifecycle import State
from bridge.store.models import Baseline, CaseState, Entry, EntryVersion, RetryItem

__all__ = [
    "IN_CHUNK",
    "BaselineRow",
    "EntryRow",
    "case_states_known",
    "delete_retry_items",
    "insert_baselines",
    "insert_case_states",
    "insert_entries",
    "insert_versions",
    "page_baselines",
    "page_entries",
    "supersede_entries",
    "update_case_states",
]

#: CRNs per IN list: well under SQLite's and PostgreSQL's bound-parameter limits.
IN_CHUNK = 900

_ENTRY, _BASELINE, _STATE = Entry.__table__, Baseline.__table__, CaseState.__table__  # type: ignore[attr-defined]
_INSERT_ENTRIES = insert(Entry).returning(col(Entry.id), sort_by_parameter_order=True)
_INSERT_VERSIONS = insert(EntryVersion)
_INSERT_BASELINES = insert(Baseline)
_INSERT_STATES = insert(CaseState)
_SUPERSEDE = (
    update(_ENTRY)
    .where(_ENTRY.c.id == bindparam("b_id"))
    .values(
        status=State.SUPERSEDED.value,
        reason=bindparam("b_reason", type_=_ENTRY.c.reason.type),
        superseded_by=bindparam("b_by", type_=_ENTRY.c.superseded_by.type),
        updated_at=bindparam("b_at", type_=_ENTRY.c.updated_at.type),
    )
)
#: Every column the sync sets on a case it has read (see `CaseState`).
STATE_FIELDS = (
    "snapshot_hash",
    "in_scope",
    "scope_reason",
    "on_behalf_of",
    "excluded_from",
    "restricted_to",
    "mapping_version",
    "last_read_at",
)
_UPDATE_STATES = (
    update(_STATE)
    .where(_STATE.c.crn == bindparam("b_crn"))
    .values({name: bindparam(f"b_{name}", type_=_STATE.c[name].type) for name in STATE_FIELDS})
)


@dataclass(frozen=True, slots=True)
class EntryRow:
    """What the sync's decisions read of an existing entry."""

    id: int
    crn: str
    section: str
    item_key: str
    kind: str
    status: str
    content_hash: str
    claimed_by: str | None = None


@dataclass(frozen=True, slots=True)
class BaselineRow:
    """A baseline: what ViSOR holds for a CRN + section (+ contact)."""

    crn: str
    section: str
    item_key: str
    content_hash: str
    section_xml: str | None


def _chunks(crns: Sequence[str]) -> Iterator[list[str]]:
    ordered = sorted(set(crns))
    for start in range(0, len(ordered), IN_CHUNK):
        yield ordered[start : start + IN_CHUNK]


def page_entries(conn: Connection, crns: Sequence[str]) -> dict[str, list[EntryRow]]:
    """Every entry of these CRNs (open or not), each CRN's in id order."""
    out: dict[str, list[EntryRow]] = defaultdict(list)
    for chunk in _chunks(crns):
        rows = conn.execute(
            select(
                _ENTRY.c.id,
                _ENTRY.c.crn,
                _ENTRY.c.section,
                _ENTRY.c.item_key,
                _ENTRY.c.kind,
                _ENTRY.c.status,
                _ENTRY.c.content_hash,
                _ENTRY.c.claimed_by,
            )
            .where(_ENTRY.c.crn.in_(chunk))
            .order_by(_ENTRY.c.id)
        )
        for row in rows:
            out[row.crn].append(EntryRow(*row))
    return dict(out)


def page_baselines(conn: Connection, crns: Sequence[str]) -> dict[str, list[BaselineRow]]:
    """Every baseline of these CRNs, by CRN."""
    out: dict[str, list[BaselineRow]] = defaultdict(list)
    for chunk in _chunks(crns):
        rows = conn.execute(
            select(
                _BASELINE.c.crn,
                _BASELINE.c.section,
                _BASELINE.c.item_key,
                _BASELINE.c.content_hash,
                _BASELINE.c.section_xml,
            ).where(_BASELINE.c.crn.in_(chunk))
        )
        for row in rows:
            out[row.crn].append(BaselineRow(*row))
    return dict(out)


def case_states_known(conn: Connection, crns: Sequence[str]) -> set[str]:
    """Which of these CRNs already have a case state."""
    known: set[str] = set()
    for chunk in _chunks(crns):
        known.update(conn.execute(select(_STATE.c.crn).where(_STATE.c.crn.in_(chunk))).scalars())
    return known


def insert_entries(conn: Connection, rows: Sequence[dict[str, Any]]) -> list[int]:
    """Insert entries; their new ids, in the order of `rows`."""
    if not rows:
        return []
    ids = [int(i or 0) for i in conn.execute(_INSERT_ENTRIES, list(rows)).scalars()]
    assert len(ids) == len(rows)
    assert 0 not in ids
    return ids


def insert_versions(conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
    if rows:
        conn.execute(_INSERT_VERSIONS, list(rows))


def supersede_entries(
    conn: Connection, changes: Sequence[tuple[int, str, int | None]], *, now: datetime
) -> None:
    """Mark entries superseded: (entry id, reason, superseding entry id or None) each."""
    if changes:
        conn.execute(
            _SUPERSEDE,
            [{"b_id": i, "b_reason": reason, "b_by": by, "b_at": now} for i, reason, by in changes],
        )


def insert_baselines(conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
    if rows:
        conn.execute(_INSERT_BASELINES, list(rows))


def insert_case_states(conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
    """New case states: `crn` plus every field of `STATE_FIELDS`."""
    if rows:
        conn.execute(_INSERT_STATES, list(rows))


def update_case_states(conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
    """Existing case states: `crn` plus every field of `STATE_FIELDS`, all overwritten."""
    if rows:
        conn.execute(
            _UPDATE_STATES,
            [{f"b_{key}": value for key, value in row.items()} for row in rows],
        )


def delete_retry_items(conn: Connection, crns: Sequence[str]) -> None:
    """These CRNs were read successfully: they leave the retry set."""
    for chunk in _chunks(crns):
        conn.execute(delete(RetryItem).where(col(RetryItem.crn).in_(chunk)))
