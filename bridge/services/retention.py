"""Retention on two clocks: record content goes soon after the work ends, metadata years later.

- **Content** (an entry's record XML, diff, issues and reason — which may hold the sink's
  text — its versions, baselines of cases no longer in scope, and whatever a registered table
  holds) is purged `content_days` (BRIDGE_RETENTION_CONTENT_DAYS, default 90) after the entry
  became terminal (accepted, rejected or superseded: its `updated_at`).
- **Metadata** (the entry rows themselves: states, dates, actors, workload facts) is purged
  `metadata_years` (BRIDGE_RETENTION_METADATA_YEARS, default 6) after the same moment.

Nothing an open entry or a pending retry needs is touched: a case with a retry item waiting is
skipped whole, open and in-flight entries are never terminal, and a baseline is purged only
for a case out of scope with no open entry. Each purge of a case is one `content.purged` or
`metadata.purged` audit event (counts only). Audit events themselves are never purged here:
after the metadata period the database owner archives them (`visor-bridge audit archive`).

Tables added later that hold content register a `PurgeRule` (`register`), and both the
retention job and erasure (bridge.services.sync.erasure) cover them.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

import structlog
from sqlalchemy import delete, inspect, or_, text, update
from sqlalchemy.engine import Engine
from sqlalchemy.sql.expression import Executable
from sqlmodel import Session, col, select

from bridge.audit import record
from bridge.clock import Clock
from bridge.core.audit_events import RETENTION, content_purged, metadata_purged
from bridge.core.lifecycle import OPEN, TERMINAL, State
from bridge.store.db import session_scope
from bridge.store.models import Baseline, CaseState, Entry, EntryVersion, RetryItem

__all__ = ["PURGE_RULES", "PurgeRule", "RetentionResult", "RetentionService", "register"]

log = structlog.get_logger(__name__)

_TERMINAL = [s.value for s in TERMINAL]
_OPEN = [s.value for s in OPEN] + [State.SUBMITTED.value]
DAYS_PER_YEAR = 365.25


@dataclass(frozen=True)
class PurgeRule:
    """A table (added by a later feature) whose rows hold content of one case.

    Its rows are deleted when `time_column` is older than the clock's period and
    `needed` (an SQL condition on the row, e.g. "status = 'pending'") does not hold; erasure
    deletes every row of the erased CRN. A table not (yet) in the database is skipped.
    """

    table: str
    crn_column: str
    time_column: str
    clock: Literal["content", "metadata"] = "content"
    needed: str | None = None


#: The registered tables (held form bodies, the notification outbox and work facts).
PURGE_RULES: list[PurgeRule] = []


def register(rule: PurgeRule) -> None:
    """Add a table to retention and erasure (idempotent by table name)."""
    PURGE_RULES[:] = [r for r in PURGE_RULES if r.table != rule.table] + [rule]


#: Forms held after a session ended (bridge.services.held_forms): they lapse in 30 minutes and
#: that service deletes them then; this purge and erasure are the backstop.
register(PurgeRule(table="heldform", crn_column="crn", time_column="expires_at"))
#: The notification outbox (issue 16): a CRN at most, kept on the content clock; a row still
#: to be delivered is never purged. Erasure deletes an erased CRN's rows.
register(
    PurgeRule(
        table="notification",
        crn_column="crn",
        time_column="created_at",
        needed="status IN ('queued', 'sending')",
    )
)
#: Work facts (issue 15) hold CRNs: erased with the case, purged on the metadata clock once
#: closed. Every rule is registered here, in the module erasure and retention read it from,
#: so that none depends on which other modules a process happened to import.
register(PurgeRule("workfact", "crn", "started_at", clock="metadata", needed="ended_at IS NULL"))


@dataclass(frozen=True)
class RetentionResult:
    """What one run removed: CRNs whose content or metadata went, and rows per table."""

    content_cases: list[str] = field(default_factory=list)
    metadata_cases: list[str] = field(default_factory=list)
    rows: dict[str, int] = field(default_factory=dict)


class RetentionService:
    """The scheduled purge (bridge.scheduler's retention job; `now` from the injected clock)."""

    def __init__(
        self, *, engine: Engine, clock: Clock, content_days: int, metadata_years: int
    ) -> None:
        self._engine = engine
        self._clock = clock
        self._content = timedelta(days=content_days)
        self._metadata = timedelta(days=round(metadata_years * DAYS_PER_YEAR))

    def run(self) -> RetentionResult:
        now = self._clock.now()
        rows: dict[str, int] = defaultdict(int)
        with session_scope(self._engine) as s:
            content = _purge_content(s, now, now - self._content, rows)
            metadata = _purge_metadata(s, now, now - self._metadata, rows)
            _purge_registered(s, now - self._content, now - self._metadata, rows)
        result = RetentionResult(sorted(content), sorted(metadata), dict(rows))
        log.info(
            "retention.done",
            content_cases=len(result.content_cases),
            metadata_cases=len(result.metadata_cases),
            **{f"rows_{k}": v for k, v in result.rows.items()},
        )
        return result


def _waiting_retry(s: Session) -> set[str]:
    return set(s.exec(select(RetryItem.crn)).all())


def _purge_content(s: Session, now: datetime, cutoff: datetime, rows: dict[str, int]) -> set[str]:
    skip = _waiting_retry(s)
    has_version = select(EntryVersion.entry_id).where(col(EntryVersion.entry_id) == Entry.id)
    candidates = s.exec(
        select(Entry.id, Entry.crn).where(
            col(Entry.status).in_(_TERMINAL),
            col(Entry.updated_at) < cutoff,
            or_(
                col(Entry.xml).is_not(None),
                col(Entry.reason).is_not(None),
                has_version.exists(),
            ),
        )
    ).all()
    by_crn: dict[str, list[int]] = defaultdict(list)
    for entry_id, crn in candidates:
        if crn not in skip and entry_id is not None:
            by_crn[crn].append(entry_id)
    baselines = _stale_baselines(s, cutoff, skip)
    for crn in sorted(set(by_crn) | set(baselines)):
        ids = by_crn.get(crn, [])
        versions = _count(s, delete(EntryVersion).where(col(EntryVersion.entry_id).in_(ids)))
        if ids:
            s.execute(
                update(Entry)
                .where(col(Entry.id).in_(ids))
                .values(xml=None, diff=[], issues=[], reason=None, sent=None)
            )
        gone = (
            _count(s, delete(Baseline).where(col(Baseline.crn) == crn)) if crn in baselines else 0
        )
        rows["entry"] += len(ids)
        rows["entryversion"] += versions
        rows["baseline"] += gone
        event = content_purged(
            RETENTION, crn, entries=len(ids), versions=versions, baselines=gone, tables=[]
        )
        record(s, event, at=now)
    return set(by_crn) | set(baselines)


def _stale_baselines(s: Session, cutoff: datetime, skip: set[str]) -> set[str]:
    """Cases out of scope (or unknown) whose baselines are old and that no open entry needs."""
    in_scope = set(s.exec(select(CaseState.crn).where(col(CaseState.in_scope).is_(True))).all())
    open_crns = set(s.exec(select(Entry.crn).where(col(Entry.status).in_(_OPEN))).all())
    old = set(s.exec(select(Baseline.crn).where(col(Baseline.updated_at) < cutoff)).all())
    return old - in_scope - open_crns - skip


def _purge_metadata(s: Session, now: datetime, cutoff: datetime, rows: dict[str, int]) -> set[str]:
    skip = _waiting_retry(s)
    old = s.exec(
        select(Entry.id, Entry.crn).where(
            col(Entry.status).in_(_TERMINAL), col(Entry.updated_at) < cutoff
        )
    ).all()
    by_crn: dict[str, list[int]] = defaultdict(list)
    for entry_id, crn in old:
        if crn not in skip and entry_id is not None:
            by_crn[crn].append(entry_id)
    for crn, ids in sorted(by_crn.items()):
        s.execute(delete(EntryVersion).where(col(EntryVersion.entry_id).in_(ids)))
        s.execute(update(Baseline).where(col(Baseline.entry_id).in_(ids)).values(entry_id=None))
        rows["entry_metadata"] += _count(s, delete(Entry).where(col(Entry.id).in_(ids)))
        record(s, metadata_purged(RETENTION, crn, entries=len(ids)), at=now)
    return set(by_crn)


def _purge_registered(
    s: Session, content_cutoff: datetime, metadata_cutoff: datetime, rows: dict[str, int]
) -> None:
    present = set(inspect(s.connection()).get_table_names())
    for rule in PURGE_RULES:
        if rule.table not in present:
            continue
        cutoff = content_cutoff if rule.clock == "content" else metadata_cutoff
        keep = f" AND NOT ({rule.needed})" if rule.needed else ""
        # Names and condition come from rules registered in code, never from input.
        statement = f'DELETE FROM "{rule.table}" WHERE "{rule.time_column}" < :cutoff{keep}'  # noqa: S608
        result = s.execute(
            text(statement),
            {"cutoff": cutoff},
        )
        rows[rule.table] += int(getattr(result, "rowcount", 0) or 0)


def _count(s: Session, statement: Executable) -> int:
    result = s.execute(statement)
    return int(getattr(result, "rowcount", 0) or 0)
