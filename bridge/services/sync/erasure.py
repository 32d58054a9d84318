"""GDPR erasure of one case: every stored byte of its content goes, and the bridge proves it.

nDelius sends `probation-case.deleted.gdpr` when a person's record must be erased. The
visor-bridge then deletes the case's entries (every version), baselines, case state, retry
item, attention row and the rows of every table registered with retention
(bridge.services.retention.PURGE_RULES) in the sync's transaction, and records an `erasure`
audit event holding only counts. The audit trail of earlier processing is kept as the law
requires (DPA 2018 s.62): it holds CRNs, ids, states, codes and hashes, never content.

Deleting a row does not by itself remove its bytes, so after the transaction
`finish_erasure` makes the deletion physical and checks that it was:

- SQLite runs with `secure_delete=ON` (freed pages are zeroed), and the write-ahead log is
  checkpointed and truncated. A reader holding an old snapshot stops the truncation (the
  old page images stay in `bridge.db-wal`): the checkpoint is retried, and if it still
  cannot complete the erasure is **not** counted — the case is put on the attention list
  (`erasure_incomplete`, audited `erasure.incomplete`) and the retention job retries it.
- PostgreSQL rewrites the tables that held content (`VACUUM FULL`). Its WAL, replicas and
  backups keep old images until they rotate out: see docs/data-protection.md.
- The file-drop sink's folder: the person's record files still there are removed and their
  manifest lines dropped; a file that cannot be removed keeps its line (listed for removal)
  and leaves the erasure incomplete.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path

import structlog
from sqlalchemy import ColumnElement, delete, inspect, text
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from bridge.audit import record
from bridge.core.attention import AttentionReason
from bridge.core.audit_events import (
    case_attention_cleared,
    case_erased,
    erasure_incomplete,
)
from bridge.services.retention import PURGE_RULES
from bridge.sinks.file_drop import erase_person
from bridge.store.db import session_scope
from bridge.store.models import Attention, Baseline, CaseState, Entry, EntryVersion, RetryItem

__all__ = [
    "CONTENT_TABLES",
    "ERASED_TABLES",
    "NO_CASE_DATA",
    "erase_case",
    "finish_erasure",
    "retry_incomplete",
    "scrub",
]

log = structlog.get_logger(__name__)

#: The tables that can hold record content (rewritten by `scrub` on PostgreSQL).
CONTENT_TABLES = ("entryversion", "entry", "baseline", "casestate", "retryitem")
#: Every table erase_case deletes a CRN's rows from.
ERASED_TABLES = (*CONTENT_TABLES, "attention")
#: Tables that hold no case data (staff, sessions, job state, the audit log kept by law).
#: A table in neither list nor registered with retention fails tests/services/test_retention.py:
#: whoever adds one must say how erasure covers it.
NO_CASE_DATA = frozenset(
    {
        "staff",
        "websession",
        "signinthrottle",
        "syncrun",
        "synccursor",
        "joblock",
        "sinkbreaker",
        "auditevent",
        "auditchainmark",
        "privilegerequest",
        "workweek",  # weekly counts per member of staff (issue 15): no CRN, no entry id
        "notifyoptout",
    }
)
#: How often the WAL checkpoint is tried before the erasure is reported incomplete.
CHECKPOINT_ATTEMPTS = 3
CHECKPOINT_WAIT_SECONDS = 0.5


def erase_case(session: Session, crn: str, *, now: datetime, actor: str) -> dict[str, int]:
    """Delete everything stored for `crn` in the caller's transaction; return the counts."""
    entry_ids = list(session.exec(select(Entry.id).where(Entry.crn == crn)).all())
    counts = {
        "versions": _delete(session, EntryVersion, col(EntryVersion.entry_id).in_(entry_ids))
        if entry_ids
        else 0,
        "entries": _delete(session, Entry, col(Entry.crn) == crn),
        "baselines": _delete(session, Baseline, col(Baseline.crn) == crn),
        "case_state": _delete(session, CaseState, col(CaseState.crn) == crn),
        "retry": _delete(session, RetryItem, col(RetryItem.crn) == crn),
    }
    _delete(session, Attention, col(Attention.crn) == crn)  # a reason code: nothing to count
    _delete_registered(session, crn)
    event = case_erased(actor, crn, **counts)
    record(session, event, at=now)
    log.info(event.action, crn=crn, entries=counts["entries"])
    return counts


def _delete(session: Session, table: type, where: ColumnElement[bool]) -> int:
    result = session.execute(delete(table).where(where))
    return int(getattr(result, "rowcount", 0) or 0)


def _delete_registered(session: Session, crn: str) -> None:
    """Rows of `crn` in the tables later features registered (skipped if not created yet)."""
    if not PURGE_RULES:
        return
    present = set(inspect(session.connection()).get_table_names())
    for rule in PURGE_RULES:
        if rule.table in present:
            # The table and column come from rules registered in code, never from input.
            statement = f'DELETE FROM "{rule.table}" WHERE "{rule.crn_column}" = :crn'  # noqa: S608
            session.execute(text(statement), {"crn": crn})


def scrub(
    engine: Engine,
    *,
    attempts: int = CHECKPOINT_ATTEMPTS,
    wait: Callable[[float], None] | None = None,
) -> bool:
    """Make deletions physical (after the erasing transaction committed); False when it could
    not be: the SQLite WAL not truncated after `attempts` tries (a reader holds it), or a
    PostgreSQL table not rewritten (VACUUM FULL only warns and skips a table the role does
    not own: the application's own role, docs/data-protection.md "PostgreSQL roles")."""
    if engine.dialect.name == "postgresql":
        return _vacuum_full(engine)
    for attempt in range(attempts):
        if attempt and wait is not None:
            wait(CHECKPOINT_WAIT_SECONDS * attempt)
        raw = engine.raw_connection()  # outside any transaction: a checkpoint cannot run in one
        try:
            cursor = raw.cursor()
            cursor.execute("PRAGMA busy_timeout=0")  # a held reader answers at once, not in 30 s
            busy, _frames, _done = cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()
        finally:
            raw.close()
        if not busy:
            return True
    return False


def _vacuum_full(engine: Engine) -> bool:
    """VACUUM FULL the content tables; True only if each was rewritten into a new file."""
    files = text("SELECT relname, relfilenode FROM pg_class WHERE relname = ANY(:names)")
    names = {"names": list(CONTENT_TABLES)}
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        before = {str(name): int(node) for name, node in conn.execute(files, names).all()}
        for table in CONTENT_TABLES:
            conn.execute(text(f'VACUUM FULL "{table}"'))
        after = {str(name): int(node) for name, node in conn.execute(files, names).all()}
    return all(after.get(name) != node for name, node in before.items())


def finish_erasure(
    engine: Engine,
    crns: Sequence[str],
    *,
    now: datetime,
    actor: str,
    wait: Callable[[float], None] | None = None,
    drop_dir: Path | None = None,
) -> list[str]:
    """Make the erasure of `crns` physical and prove it; return the CRNs now fully erased.

    The others are listed for administrators (attention `erasure_incomplete`, audited) and
    must not be reported as erased."""
    if not crns:
        return []
    failed: dict[str, str] = {}
    if drop_dir is not None:
        for crn in crns:
            try:
                left = erase_person(drop_dir, crn)
            except OSError:
                left = ["manifest"]
            if left:
                failed[crn] = "drop_files"
    if not scrub(engine, wait=wait):
        step = "vacuum_full" if engine.dialect.name == "postgresql" else "wal_checkpoint"
        for crn in crns:
            failed.setdefault(crn, step)
    if failed:
        with session_scope(engine) as s:
            for crn, step in sorted(failed.items()):
                s.merge(Attention(crn=crn, reason=AttentionReason.ERASURE_INCOMPLETE, since=now))
                event = erasure_incomplete(actor, crn, step=step)
                record(s, event, at=now)
                log.error(event.action, crn=crn, step=step)
    return [crn for crn in crns if crn not in failed]


def retry_incomplete(
    engine: Engine,
    *,
    now: datetime,
    actor: str,
    wait: Callable[[float], None] | None = None,
    drop_dir: Path | None = None,
) -> list[str]:
    """Try again the erasures left incomplete; the ones now done leave the attention list.

    `engine`: on PostgreSQL with separate roles, the owner's (`visor-bridge db scrub`), since
    only the owner may rewrite the tables."""
    with Session(engine) as s:
        crns = list(
            s.exec(
                select(Attention.crn).where(
                    Attention.reason == AttentionReason.ERASURE_INCOMPLETE.value
                )
            ).all()
        )
    if not crns:
        return []
    with session_scope(engine) as s:  # the row itself says the case was erased: it goes too
        for crn in crns:
            _delete(s, Attention, col(Attention.crn) == crn)
    done = finish_erasure(engine, crns, now=now, actor=actor, wait=wait, drop_dir=drop_dir)
    if done:
        with session_scope(engine) as s:
            for crn in done:
                event = case_attention_cleared(
                    actor, crn, reason=AttentionReason.ERASURE_INCOMPLETE.value
                )
                record(s, event, at=now)
    return done
