"""Work facts and the weekly rollup (issue 15): written as the audit events they come from are.

`observe` takes audited events (in the order they are recorded) and applies what each means
(`bridge.core.workload.ops_for`) to `workfact` and `workweek` on the same connection, so an
audited claim, decision or entry and its facts commit together. The back-fill (migration 0006)
replays the audit trail through the same `observe`, so both give the same figures.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Select, bindparam, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from bridge.core.audit_catalogue import AuditAction
from bridge.core.workload import (
    AWAIT,
    ENTERED,
    ENTRY,
    HOLD,
    INTERVALS,
    RETURNED,
    WORK_ACTIONS,
    End,
    Mark,
    Start,
    local_day,
    ops_for,
    week_of,
)
from bridge.store.models import Entry, Staff, WorkFact, WorkWeek

__all__ = ["Observed", "entries_and_open", "observe", "observe_rows"]

_F = WorkFact.__table__  # type: ignore[attr-defined]
_W = WorkWeek.__table__  # type: ignore[attr-defined]
_E = Entry.__table__  # type: ignore[attr-defined]
_S = Staff.__table__  # type: ignore[attr-defined]
_CHUNK = 500
_ENTERING = frozenset({AuditAction.ENTRY_ENTERED, AuditAction.ENTRY_ACCEPTED})
_COUNTS = ("tasks", "entries", "seconds", "overdue", "returned", "holds")


_OFFICER = _S.alias("officer")


def entries_and_open(entries: Any) -> Select[Any]:
    """What the facts of `entries` (a table or CTE with `id`, `due_date` and `on_behalf_of`)
    need: each one's due date, officer and the officer's team, with its open intervals. Only
    `ended_at IS NULL` on the intervals, so that the partial index ix_workfact_open is the one
    that fits (a `kind` term let SQLite pick ix_workfact_backlog and scan every open interval:
    100 times slower with a year of facts)."""
    return select(
        entries.c.id.label("e_id"),
        entries.c.due_date.label("e_due"),
        entries.c.on_behalf_of.label("e_officer"),
        _OFFICER.c.team.label("e_officer_team"),
        *_F.c,
    ).select_from(
        entries.outerjoin(_OFFICER, _OFFICER.c.code == entries.c.on_behalf_of).outerjoin(
            _F, (_F.c.entry_id == entries.c.id) & _F.c.ended_at.is_(None)
        )
    )


#: `entries_and_open` for a batch's entries, the ids as an expanding parameter.
_ENTRIES_AND_OPEN = entries_and_open(_E).where(_E.c.id.in_(bindparam("ids", expanding=True)))

#: The other statements each call runs, built once (a claim's facts are written on every
#: claim): the lists as expanding parameters.
_TEAMS_OF = select(_S.c.code, _S.c.team).where(_S.c.code.in_(bindparam("codes", expanding=True)))
_FACTS_OF_CASES = select(_F.c.kind, _F.c.staff, _F.c.week, _F.c.crn).where(
    _F.c.crn.in_(bindparam("crns", expanding=True))
)
_ENTERED_BEFORE = (
    select(_F.c.id)
    .where(
        _F.c.staff == bindparam("staff"),
        _F.c.kind == ENTERED,
        _F.c.week == bindparam("week"),
        _F.c.crn == bindparam("crn"),
    )
    .limit(1)
)
_INSERT_FACTS = insert(_F)
_END_FACTS = (
    update(_F)
    .where(_F.c.id == bindparam("_id"))
    .values(
        ended_at=bindparam("_ended_at"),
        week=bindparam("_week"),
        ended=bindparam("_ended"),
        seconds=bindparam("_seconds"),
        overdue=bindparam("_overdue"),
    )
)


def _week_upsert(make: Any) -> Any:
    """Add a row's counts to its week's (one row per week, role, staff and team); executed
    with the rows as parameters."""
    statement = make(_W)
    excluded = statement.excluded
    return statement.on_conflict_do_update(
        index_elements=["week", "role", "staff", "team"],
        set_={k: getattr(_W.c, k) + getattr(excluded, k) for k in _COUNTS},
    )


_UPSERT_WEEKS = {
    "postgresql": _week_upsert(postgresql.insert),
    "sqlite": _week_upsert(sqlite.insert),
}


@dataclass(frozen=True, slots=True)
class Observed:
    """One audited event as `observe` reads it."""

    action: str
    actor: str
    crn: str | None
    entry_id: int | None
    detail: dict[str, Any]
    at: datetime


def _chunks(values: list[Any]) -> Iterable[list[Any]]:
    for i in range(0, len(values), _CHUNK):
        yield values[i : i + _CHUNK]


def _aware(at: datetime) -> datetime:
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


class _Batch:
    """The facts of one call: open intervals looked up once, new rows inserted at the end."""

    def __init__(
        self,
        conn: Connection,
        events: list[Observed],
        teams: Mapping[str, str] | None = None,
        read: Iterable[Any] | None = None,
    ) -> None:
        self.conn = conn
        self.entries: dict[int, tuple[date | None, str | None]] = {}
        self.open: dict[tuple[str, int], dict[str, Any]] = {}
        self.teams: dict[str, str] = dict(teams or {})
        for row in read or ():
            self._take(row)
        ids = sorted({e.entry_id for e in events if e.entry_id is not None} - self.entries.keys())
        for chunk in _chunks(ids):
            for row in conn.execute(_ENTRIES_AND_OPEN, {"ids": chunk}):
                self._take(row)
        codes = {e.actor for e in events}
        codes |= {str(e.detail[k]) for e in events for k in ("holder", "to") if e.detail.get(k)}
        missing = sorted(codes - self.teams.keys())
        for chunk in _chunks(missing):
            for row in conn.execute(_TEAMS_OF, {"codes": chunk}):
                self.teams[row.code] = row.team or ""
        self.new: list[dict[str, Any]] = []
        self.updates: list[dict[str, Any]] = []
        self.rollup: dict[tuple[date, str, str, str], dict[str, int]] = defaultdict(
            lambda: dict.fromkeys(_COUNTS, 0)
        )
        # (staff, week, crn) of entries already entered, for the cases these events enter:
        # a case counts once per proxy per week.
        self.tasks_seen: set[tuple[str, date, str]] = set()
        entering = sorted({e.crn for e in events if e.crn and e.action in _ENTERING})
        for chunk in _chunks(entering):
            # By CRN alone (ix_workfact_crn; a case has few facts), the kind checked here.
            rows = conn.execute(_FACTS_OF_CASES, {"crns": chunk})
            self.tasks_seen.update((r.staff, r.week, r.crn) for r in rows if r.kind == ENTERED)

    def _take(self, row: Any) -> None:
        """One row of `entries_and_open`: an entry's facts, and an open interval if any."""
        values = row._mapping
        officer = values["e_officer"]
        self.entries[values["e_id"]] = (values["e_due"], officer)
        if officer:
            self.teams[officer] = values["e_officer_team"] or ""
        if values["id"] is not None and values["kind"] in INTERVALS:
            fact = {c.name: values[c.name] for c in _F.c}
            self.open[(fact["kind"], fact["entry_id"])] = {**fact, "_db": True}

    def row(self, kind: str, event: Observed, staff: str | None, at: datetime) -> dict[str, Any]:
        due, officer = self.entries.get(event.entry_id or 0, (None, None))
        return {
            "kind": kind,
            "crn": event.crn or "",
            "entry_id": event.entry_id,
            "staff": staff,
            "team": self.teams.get(staff or "", ""),
            "officer": officer,
            "officer_team": self.teams.get(officer or "", ""),
            "started_at": at,
            "start_week": week_of(at),
            "ended_at": None,
            "week": None,
            "ended": None,
            "seconds": 0,
            "due_date": due,
            "overdue": False,
        }

    def start(self, op: Start, event: Observed, at: datetime) -> None:
        assert event.entry_id is not None
        row = self.row(op.kind, event, op.staff, at)
        self.new.append(row)
        self.open[(op.kind, event.entry_id)] = row

    def end(self, op: End, event: Observed, at: datetime) -> str | None:
        """Close the open interval; the staff code that held it (None if none was open)."""
        assert event.entry_id is not None
        row = self.open.pop((op.kind, event.entry_id), None)
        if row is None:
            return None
        seconds = max(0, int((at - _aware(row["started_at"])).total_seconds()))
        if op.kind == AWAIT and (op.by is None or op.by != row["staff"]):
            seconds = 0
        week = week_of(at)
        row.update(ended_at=at, week=week, ended=op.ended, seconds=seconds)
        if op.kind == ENTRY and op.ended == "entered" and row["due_date"] is not None:
            row["overdue"] = local_day(at) > row["due_date"]
        if row.get("_db"):
            self.updates.append(
                {
                    "_id": row["id"],
                    "_ended_at": at,
                    "_week": week,
                    "_ended": op.ended,
                    "_seconds": seconds,
                    "_overdue": row["overdue"],
                }
            )
        if op.kind in (HOLD, AWAIT) and row["staff"]:
            self.add(week, "proxy", row["staff"], row["team"], seconds=seconds, holds=1)
            if row["officer"]:
                self.add(week, "officer", row["officer"], row["officer_team"], seconds=seconds)
        return str(row["staff"]) if row["staff"] else None

    def mark(self, op: Mark, event: Observed, at: datetime, approver: str | None) -> None:
        staff = op.staff or approver
        if staff is None or event.entry_id is None:
            return
        row = self.row(op.kind, event, staff, at)
        week = week_of(at)
        row.update(ended_at=at, week=week, ended=op.kind)
        due = row["due_date"]
        row["overdue"] = op.kind == ENTERED and due is not None and local_day(at) > due
        self.new.append(row)
        if op.kind == RETURNED:
            self.add(week, "proxy", staff, row["team"], returned=1)
            if row["officer"]:
                self.add(week, "officer", row["officer"], row["officer_team"], returned=1)
            return
        overdue = int(row["overdue"])
        tasks = int(self.first_task(staff, week, row["crn"]))
        self.add(week, "proxy", staff, row["team"], entries=1, overdue=overdue, tasks=tasks)
        if row["officer"]:
            self.add(
                week, "officer", row["officer"], row["officer_team"], entries=1, overdue=overdue
            )

    def first_task(self, staff: str, week: date, crn: str) -> bool:
        """Whether this is the first entry of case `crn` that `staff` entered in `week`."""
        key = (staff, week, crn)
        if key in self.tasks_seen:
            return False
        self.tasks_seen.add(key)
        found = self.conn.execute(
            _ENTERED_BEFORE, {"staff": staff, "week": week, "crn": crn}
        ).first()
        return found is None

    def add(self, week: date, role: str, staff: str, team: str, **counts: int) -> None:
        totals = self.rollup[(week, role, staff, team or "")]
        for key, value in counts.items():
            totals[key] += value

    def write(self) -> None:
        rows = [{k: v for k, v in r.items() if k != "_db"} for r in self.new]
        for chunk in _chunks(rows):
            self.conn.execute(_INSERT_FACTS, chunk)
        if self.updates:
            self.conn.execute(_END_FACTS, self.updates)
        if self.rollup:
            values = [
                {"week": w, "role": r, "staff": s, "team": t, **counts}
                for (w, r, s, t), counts in sorted(self.rollup.items())
            ]
            # One row at a time, in key order (executemany): two transactions adding to the
            # same weeks take their rows' locks in the same order.
            self.conn.execute(_UPSERT_WEEKS[self.conn.dialect.name], values)


def observe(
    conn: Connection,
    events: Sequence[Observed],
    teams: Mapping[str, str] | None = None,
    read: Iterable[Any] | None = None,
) -> None:
    """Apply the work that `events` (in recorded order) mean, on `conn`; `teams`: the teams of
    staff the caller has read in this transaction (code → team), not looked up again; `read`:
    rows of `entries_and_open` the caller has read in this transaction (every row of each
    entry it names), whose entries are not looked up again."""
    work = [e for e in events if e.action in WORK_ACTIONS and e.entry_id is not None]
    if not work:
        return
    batch = _Batch(conn, work, teams, read)
    for event in work:
        at = _aware(event.at)
        approver: str | None = None
        for op in ops_for(event.action, event.actor, event.detail):
            if isinstance(op, Start):
                batch.start(op, event, at)
            elif isinstance(op, End):
                held_by = batch.end(op, event, at)
                if op.kind == AWAIT:
                    approver = held_by
            else:
                batch.mark(op, event, at, approver)
    batch.write()


def observe_rows(conn: Connection, rows: Iterable[Any]) -> None:
    """`observe` for audit rows as read from `auditevent` (the back-fill)."""
    observe(
        conn,
        [Observed(r.action, r.actor, r.crn, r.entry_id, dict(r.detail or {}), r.at) for r in rows],
    )
