"""Queries over case tasks (every open entry of one CRN, ARCHITECTURE §3). Callers own the
transaction.

The listing walks the partial index of open work (`ix_entry_waiting`: due date, id, CRN, … of
only the open states) in due order and stops at the page's last case, so a page of tasks
costs about a page of index rows; the total is one GROUP BY over the index by CRN
(`ix_entry_crn_section_status`, no sort), and only the page's entries are then read, by CRN. Who holds a case is read from the claimed (and, with the
manual sink, approved) entries through `ix_entry_status_queue`, a small share of the queue.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Text, bindparam, cast, func, literal_column, select, text, update
from sqlalchemy.orm import aliased
from sqlalchemy.sql.elements import ColumnElement, TextClause
from sqlmodel import Session, col

from bridge.core.audit_events import AuditAction
from bridge.core.lifecycle import OPEN, OPEN_SQL, State
from bridge.store.entries import Access, after_in_queue
from bridge.store.models import AuditEvent, CaseState, Entry, Staff
from bridge.store.workfacts import entries_and_open

__all__ = [
    "Candidate",
    "claim_candidates",
    "claim_pending",
    "claim_unheld",
    "claimants",
    "claim_lapsed",
    "claims",
    "held_crns",
    "holder_of",
    "holders",
    "open_entries",
    "page_details",
    "release_claimed",
    "renew",
    "staff_of",
    "count_tasks",
    "first_tasks",
    "tasks_of",
]

Where = list[ColumnElement[bool] | TextClause]
#: CRNs per IN list: well under SQLite's and PostgreSQL's bound-parameter limits.
_CHUNK = 900


def _holding(manual: bool) -> list[str]:
    """The states in which an entry holds its case for its `claimed_by`."""
    return [State.CLAIMED.value, State.APPROVED.value] if manual else [State.CLAIMED.value]


def _holding_literal(manual: bool) -> list[Any]:
    """`_holding` as SQL literals, for the statements built once: an IN list of constants,
    which needs no expanding parameter to be worked out on every execution."""
    return [literal_column(f"'{state}'") for state in _holding(manual)]


def holders(s: Session, crns: Sequence[str], *, manual: bool) -> dict[str, str]:
    """Who holds each of these cases (a claimed entry's claimant first, else an approver)."""
    rows: list[Any] = []
    for i in range(0, len(crns), _CHUNK):
        rows += s.execute(
            select(col(Entry.crn), col(Entry.status), col(Entry.claimed_by)).where(
                col(Entry.status).in_(_holding(manual)),
                col(Entry.crn).in_(list(crns[i : i + _CHUNK])),
                col(Entry.claimed_by).is_not(None),
            )
        ).all()
    out: dict[str, str] = {}
    for crn, _status, by in sorted(rows, key=lambda r: r[1] != State.CLAIMED):
        out.setdefault(crn, by)
    return out


@dataclass(frozen=True, slots=True)
class Candidate:
    """A pending entry in queue order, as claiming the next case reads it."""

    id: int
    crn: str
    due: Any
    held: bool  # someone holds the case (claimed, or with the manual sink approved, entries)
    known: bool  # the bridge keeps state for the case (its access lists)
    on_behalf_of: str | None
    lists: tuple[str | None, str | None]  # the access lists as stored (JSON text), decoded late

    @property
    def access(self) -> Access | None:
        """The case's access lists; None: the bridge keeps no state for it. Decoded here, for
        the few candidates looked at (most claims take the first), not for every row read."""
        if not self.known:
            return None
        excluded, restricted = (json.loads(raw) if raw else [] for raw in self.lists)
        return Access(self.on_behalf_of, list(excluded or []), list(restricted or []))


def _candidates_statement(manual: bool, after: bool) -> Any:
    """The statement `claim_candidates` runs, built once: from the head of the queue, or
    (`after`) from the place given by the parameters `after_due` and `after_id`."""
    holder = aliased(Entry)
    # A correlated subquery that stops at the first row: looked up per candidate through
    # ix_entry_crn_section_status (an EXISTS let PostgreSQL hash every claimed entry first).
    held = (
        select(col(holder.id))
        .where(
            col(holder.crn) == col(Entry.crn),
            col(holder.status).in_(_holding_literal(manual)),
            col(holder.claimed_by).is_not(None),
        )
        .limit(1)
        .scalar_subquery()
    )
    # Whether any claim has lapsed (once per statement, not per row): the caller then expires
    # them and reads again, so that a lapsed claim's case is not passed over as held.
    lapsed_claim = aliased(Entry)
    lapsed = (
        select(col(lapsed_claim.id))
        .where(
            col(lapsed_claim.status) == State.CLAIMED,
            col(lapsed_claim.claimed_at) < bindparam("lapsed_before"),
        )
        .limit(1)
        .scalar_subquery()
    )
    statement = (
        select(
            col(Entry.id),
            col(Entry.crn),
            col(Entry.due_date),
            held.label("held"),
            lapsed.label("lapsed"),
            col(CaseState.crn).label("known"),
            col(CaseState.on_behalf_of),
            # As text: JSON decoded only for the candidates looked at (Candidate.access).
            cast(col(CaseState.excluded_from), Text).label("excluded_from"),
            cast(col(CaseState.restricted_to), Text).label("restricted_to"),
        )
        .select_from(Entry)
        .outerjoin(CaseState, col(CaseState.crn) == col(Entry.crn))
        .where(col(Entry.status) == State.PENDING.value)
    )
    if after:
        statement = statement.where(after_in_queue((bindparam("after_due"), bindparam("after_id"))))
    return statement.order_by(col(Entry.due_date), col(Entry.id)).limit(bindparam("limit"))


_CANDIDATES = {
    (manual, after): _candidates_statement(manual, after)
    for manual in (False, True)
    for after in (False, True)
}


def claim_candidates(
    s: Session,
    *,
    limit: int,
    after: tuple[object, int] | None,
    manual: bool,
    lapsed_before: datetime,
) -> tuple[list[Candidate], bool]:
    """The next `limit` pending entries in queue order (due date, then id) after `after`, each
    with whether its case is held and the case's access lists, and whether any claim was taken
    before `lapsed_before` (False also when no entry is pending): one statement (the queue's
    index in order, the case state by its key, a holder by `ix_entry_crn_section_status`, a
    lapsed claim by `ix_entry_claim_expiry`)."""
    params: dict[str, Any] = {"lapsed_before": lapsed_before, "limit": limit}
    if after is not None:
        params["after_due"], params["after_id"] = after
    # On the session's connection: plain columns, no ORM objects to load or flush first.
    rows = s.connection().execute(_CANDIDATES[(manual, after is not None)], params).all()
    batch = [
        Candidate(
            int(r.id),
            str(r.crn),
            r.due_date,
            r.held is not None,
            r.known is not None,
            r.on_behalf_of,
            (r.excluded_from, r.restricted_to),
        )
        for r in rows
    ]
    return batch, bool(rows) and rows[0].lapsed is not None


_E = Entry.__table__  # type: ignore[attr-defined]
#: claimants' statement for each sink (manual or not), built once: claiming runs it each time.
_CLAIMANTS = {
    manual: select(_E.c.claimed_by)
    .where(
        _E.c.crn == bindparam("crn"),
        _E.c.status.in_(_holding(manual)),
        _E.c.claimed_by.is_not(None),
    )
    .distinct()
    for manual in (False, True)
}


def claimants(s: Session, crn: str, *, manual: bool) -> set[str]:
    """Everyone holding the case (one, unless two claimed it at the same moment)."""
    rows = s.connection().execute(_CLAIMANTS[manual], {"crn": crn}).scalars()
    return {str(r) for r in rows}


def held_crns(s: Session, staff: str, *, manual: bool) -> list[str]:
    """The cases `staff` holds."""
    rows = s.execute(
        select(col(Entry.crn))
        .where(col(Entry.status).in_(_holding(manual)), col(Entry.claimed_by) == staff)
        .distinct()
    ).scalars()
    return sorted(rows)


def open_entries(s: Session, crn: str, *, lock: bool = False, fresh: bool = False) -> list[Entry]:
    """Every open entry of the case, oldest first; `lock`: rows locked until the transaction
    ends on PostgreSQL (SQLite's writer already has the database to itself); `fresh`: the
    session's copies are overwritten with the rows as read (after bulk UPDATEs)."""
    stmt = (
        select(Entry)
        .where(col(Entry.crn) == crn, col(Entry.status).in_([x.value for x in OPEN]))
        .order_by(col(Entry.id))
    )
    if lock:
        stmt = stmt.with_for_update()
    if fresh:
        stmt = stmt.execution_options(populate_existing=True)
    return list(s.execute(stmt).scalars())


_CLAIM_PENDING = (
    update(_E)
    .where(_E.c.crn == bindparam("b_crn"), _E.c.status == State.PENDING.value)
    .values(
        status=State.CLAIMED.value,
        claimed_by=bindparam("b_staff"),
        claimed_at=bindparam("b_now"),
        updated_at=bindparam("b_now"),
    )
    .returning(_E.c.id)
)


def _claim_unheld(manual: bool) -> Any:
    """`_CLAIM_PENDING`, unless someone else holds the case (by a claimed or, with the manual
    sink, an approved entry), checked in the same statement."""
    holder = _E.alias("holder")
    held = (
        select(holder.c.id)
        .where(
            holder.c.crn == bindparam("b_crn"),
            holder.c.status.in_(_holding_literal(manual)),
            holder.c.claimed_by.is_not(None),
            holder.c.claimed_by != bindparam("b_staff"),
        )
        .exists()
    )
    return _CLAIM_PENDING.where(~held)


_CLAIM_UNHELD = {manual: _claim_unheld(manual) for manual in (False, True)}


def _claim_unheld_reading_facts(manual: bool) -> Any:
    """PostgreSQL: `_CLAIM_UNHELD` as a data-modifying CTE, and what the claimed entries' work
    facts need (`entries_and_open`) read from it in the same statement."""
    taken = _CLAIM_UNHELD[manual].returning(_E.c.due_date, _E.c.on_behalf_of).cte("taken")
    return entries_and_open(taken)


_CLAIM_UNHELD_READING_FACTS = {
    manual: _claim_unheld_reading_facts(manual) for manual in (False, True)
}


def claim_unheld(
    s: Session,
    crn: str,
    *,
    staff: str,
    now: datetime,
    manual: bool,
    facts: list[Any] | None = None,
) -> list[int]:
    """`claim_pending` in one statement with the check that nobody else holds the case: their
    ids, none when a colleague holds it or took its entries first.

    A colleague who claims the case at the same moment claims the same pending entries, so one
    of the two statements waits for the other's row locks and then finds nothing pending (a
    claim takes every pending entry of its case); one who held it by another entry before this
    statement began is seen by the check. With SQLite writers take turns.

    `facts`, on PostgreSQL: receives the claimed entries' rows of
    `bridge.store.workfacts.entries_and_open`, read by the same statement (one round trip
    fewer for the claim's work facts; `bridge.audit.note_entry_facts`)."""
    if facts is None or s.get_bind().dialect.name != "postgresql":
        return _claim(s, _CLAIM_UNHELD[manual], crn, staff, now)
    params = _claim_params(crn, staff, now)
    rows = s.connection().execute(_CLAIM_UNHELD_READING_FACTS[manual], params).all()
    facts.extend(rows)
    return sorted({int(r.e_id) for r in rows})


def claim_pending(s: Session, crn: str, *, staff: str, now: datetime) -> list[int]:
    """Claim every pending entry of the case for `staff` in one statement; their ids. On the
    session's connection, built once: the session's copies of the entries are not updated
    (read them again with `open_entries(fresh=True)`)."""
    return _claim(s, _CLAIM_PENDING, crn, staff, now)


def _claim(s: Session, statement: Any, crn: str, staff: str, now: datetime) -> list[int]:
    """Run one of the claim statements on the session's connection: the ids claimed."""
    params = _claim_params(crn, staff, now)
    return sorted(int(i) for i in s.connection().execute(statement, params).scalars())


def _claim_params(crn: str, staff: str, now: datetime) -> dict[str, Any]:
    """The claim statements' parameters."""
    return {"b_crn": crn, "b_staff": staff, "b_now": now}


def renew(s: Session, crn: str, *, staff: str, now: datetime, since: datetime) -> int:
    """Extend every claim `staff` has on the case (they are working on it) that was taken or
    renewed at `since` or later: a lapsed claim is not revived (claim the case again)."""
    stmt = (
        update(Entry)
        .where(
            col(Entry.crn) == crn,
            col(Entry.status) == State.CLAIMED,
            col(Entry.claimed_by) == staff,
            col(Entry.claimed_at) >= since,
        )
        .values(claimed_at=now)
        .returning(col(Entry.id))
    )
    return len(list(s.execute(stmt).scalars()))


def release_claimed(
    s: Session, crn: str, *, now: datetime, staff: str | None = None
) -> list[tuple[int, str]]:
    """Every claimed entry of the case (of `staff`, when given) back to pending: (id, holder)."""
    where = [col(Entry.crn) == crn, col(Entry.status) == State.CLAIMED]
    if staff is not None:
        where.append(col(Entry.claimed_by) == staff)
    was = dict(s.execute(select(col(Entry.id), col(Entry.claimed_by)).where(*where)).all())
    if not was:
        return []
    s.execute(
        update(Entry)
        .where(col(Entry.id).in_(list(was)))
        .values(status=State.PENDING.value, claimed_by=None, claimed_at=None, updated_at=now)
    )
    return sorted((int(i), str(by or "")) for i, by in was.items())


def first_tasks(
    s: Session, *, skip: Collection[str], limit: int | None, offset: int = 0
) -> list[tuple[str, date]]:
    """Tasks in queue order — each case at its earliest open entry (due date, then id) —
    leaving out the CRNs in `skip`: (CRN, earliest due date), from `offset`, at most `limit`.

    Reads the partial index of open work in due order and stops at the page's last case, so
    the first pages cost a few rows however long the queue (a task's place is its first
    entry's place in the entry queue). Streamed: PostgreSQL uses a server-side cursor.
    """
    stmt = (
        select(col(Entry.crn), col(Entry.due_date))
        .where(text(OPEN_SQL))
        .order_by(col(Entry.due_date), col(Entry.id))
    )
    seen: dict[str, date] = {}
    wanted = None if limit is None else offset + limit
    result = s.connection().execution_options(stream_results=True, yield_per=500).execute(stmt)
    try:
        for crn, due in result:
            if crn in seen or crn in skip:
                continue
            seen[crn] = due
            if wanted is not None and len(seen) >= wanted:
                break
    finally:
        result.close()
    return list(seen.items())[offset:]


def tasks_of(s: Session, crns: Sequence[str]) -> list[tuple[str, date]]:
    """The tasks of these few cases (those with open work), in queue order."""
    if not crns:
        return []
    rows = s.execute(
        select(col(Entry.crn), func.min(col(Entry.due_date)), func.min(col(Entry.id)))
        .where(text(OPEN_SQL), col(Entry.crn).in_(list(crns)))
        .group_by(col(Entry.crn))
    ).all()
    return [(str(c), due) for c, due, _ in sorted(rows, key=lambda r: (r[1], r[2]))]


def count_tasks(s: Session, crns: Sequence[str] | None = None) -> int:
    """How many cases have open work (of `crns`, when given). One GROUP BY over the index
    by CRN (`ix_entry_crn_section_status`), which needs no sort."""
    where: Where = [text(OPEN_SQL)]
    if crns is not None:
        if not crns:
            return 0
        where.append(col(Entry.crn).in_(list(crns)))
    grouped = select(col(Entry.crn)).where(*where).group_by(col(Entry.crn)).subquery()
    return int(s.execute(select(func.count()).select_from(grouped)).scalar_one())


def page_details(s: Session, crns: Sequence[str] | None) -> dict[str, list[Any]]:
    """The open entries of these cases (None: of every case) as plain rows (crn, id, section,
    status, claimed_by, issues, due_date), by CRN; never the record."""
    columns = (
        col(Entry.crn),
        col(Entry.id),
        col(Entry.section),
        col(Entry.status),
        col(Entry.claimed_by),
        col(Entry.issues),
        col(Entry.due_date),
    )
    if crns is None:
        out: dict[str, list[Any]] = {}
        for row in s.execute(select(*columns).where(text(OPEN_SQL))):
            out.setdefault(row.crn, []).append(row)
        return out
    out = {c: [] for c in crns}
    for i in range(0, len(crns), _CHUNK):
        chunk = list(crns[i : i + _CHUNK])
        for row in s.execute(select(*columns).where(text(OPEN_SQL), col(Entry.crn).in_(chunk))):
            out[row.crn].append(row)
    return out


def holder_of(rows: Sequence[Any], *, manual: bool) -> str | None:
    """Who holds a case, from its open entries' rows (as `page_details` gives them)."""
    held = _holding(manual)
    claims = [r.claimed_by for r in rows if r.status in held and r.claimed_by]
    first = [r.claimed_by for r in rows if r.status == State.CLAIMED and r.claimed_by]
    found: str | None = (first or claims or [None])[0]
    return found


def claims(s: Session) -> list[tuple[int, str, str]]:
    """Every claimed entry: (id, CRN, holder), by `ix_entry_status_queue`."""
    rows = s.execute(
        select(col(Entry.id), col(Entry.crn), col(Entry.claimed_by)).where(
            col(Entry.status) == State.CLAIMED
        )
    ).all()
    return [(int(i), str(c), str(by or "")) for i, c, by in rows]


def staff_of(s: Session, codes: set[str]) -> list[Staff]:
    """The registry rows of these staff codes."""
    if not codes:
        return []
    return list(s.execute(select(Staff).where(col(Staff.code).in_(sorted(codes)))).scalars())


_CLAIM_EVENTS = (
    AuditAction.ENTRY_CLAIMED,
    AuditAction.ENTRY_CLAIM_JOINED,
    AuditAction.ENTRY_REASSIGNED,
    AuditAction.ENTRY_RELEASED,
    AuditAction.ENTRY_CLAIM_EXPIRED,
)


def claim_lapsed(s: Session, crn: str, *, staff: str) -> bool:
    """Did `staff`'s last claim on the case end by lapsing (rather than by a release, an
    approval or never having been)? Read from the case's audit events (`ix_audit_crn`)."""
    rows = s.execute(
        select(col(AuditEvent.action), col(AuditEvent.actor), col(AuditEvent.detail))
        .where(col(AuditEvent.crn) == crn, col(AuditEvent.action).in_(_CLAIM_EVENTS))
        .order_by(col(AuditEvent.id).desc())
        .limit(200)
    ).all()
    for action, actor, detail in rows:
        detail = detail or {}
        if action == AuditAction.ENTRY_CLAIMED and actor == staff:
            return False
        if detail.get("holder") == staff or detail.get("to") == staff:
            return False
        if detail.get("was") == staff:
            return bool(action == AuditAction.ENTRY_CLAIM_EXPIRED)
    return False
