"""The audit log as an operator sees it: verify, anchor, export one person's events, archive.

- `verify` walks the keyed chain (bridge.audit.walk_chain) and checks every anchor written
  outside the database: an anchored event that is gone, or whose value changed, breaks it
  even when the rows were rewritten consistently.
- `anchor` appends the chain's head (count, last id, value, key id) to the anchor file
  (BRIDGE_AUDIT_ANCHOR_FILE) and logs it: the scheduler does this on every run.
- `export` gives an administrator every event about one CRN (subject access); it reads the
  rows as they are, so it works on a broken chain too, and is itself audited.
- `archive` (the database owner's connection) verifies, writes the events before a date to
  a file, removes them and records where the chain now starts (an `archived` mark).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

import structlog
from sqlalchemy import func, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session, col, select

from bridge.audit import record, record_refusal, walk_chain
from bridge.clock import Clock
from bridge.core.audit_chain import Keyring
from bridge.core.audit_events import CLI, audit_archived, audit_exported
from bridge.core.lifecycle import is_admin
from bridge.errors import BadInput, ConfigError, NotPermitted, WrongState
from bridge.services.views import AuditExportRow, AuditVerification, ChainAnchor
from bridge.store.db import session_scope
from bridge.store.models import AuditChainMark, AuditEvent, Staff

__all__ = ["AuditLogService"]

log = structlog.get_logger(__name__)

#: The purpose recorded for an export when none is given (a code, never free text).
EXPORT_PURPOSE = "subject-access"
_REFUSED = "Not permitted: only an administrator exports audit events."


@dataclass(frozen=True)
class _Anchor:
    last_id: int
    head: str


class AuditLogService:
    """Verification, anchoring, subject-access export and archiving of the audit log."""

    def __init__(
        self,
        *,
        engine: Engine,
        owner_engine: Callable[[], Engine],
        keyring: Keyring,
        clock: Clock,
        anchor_file: Path | None = None,
    ) -> None:
        self._engine = engine
        self._owner_engine = owner_engine
        self._keyring = keyring
        self._clock = clock
        self._anchor_file = anchor_file

    # -- verify and anchor ------------------------------------------------------------------

    def verify(self) -> AuditVerification:
        """Walk the chain and check the anchors; AuditKeyUnknown when the key is missing or
        wrong (an event names a key this bridge does not hold)."""
        anchors = self._anchors()
        with Session(self._engine) as s:
            start = _archived_after(s)
            wanted = frozenset(a.last_id for a in anchors if a.last_id > start)
            report = walk_chain(s, self._keyring, keep_heads=wanted)
        first_bad = report.first_bad
        checked = 0
        if first_bad is None:
            for anchor in anchors:
                if anchor.last_id <= start:
                    continue  # archived since: the archive's mark stands for it
                checked += 1
                if report.heads.get(anchor.last_id) != anchor.head:
                    first_bad = anchor.last_id  # gone, or rewritten consistently
                    break
        return AuditVerification(
            ok=first_bad is None, events=report.events, first_bad=first_bad, anchors=checked
        )

    def anchor(self) -> ChainAnchor:
        """Note the chain's head outside the database: the anchor file (when set) and the log."""
        with Session(self._engine) as s:
            count = int(s.exec(select(func.count()).select_from(AuditEvent)).one())
            last = s.exec(select(AuditEvent).order_by(col(AuditEvent.id).desc()).limit(1)).first()
        anchor = ChainAnchor(
            at=self._clock.now(),
            events=count,
            last_id=last.id if last is not None else None,
            head=last.hash if last is not None else None,
            key_id=self._keyring.current.id,
        )
        if anchor.last_id is not None and self._anchor_file is not None:
            line = json.dumps(
                {
                    "at": anchor.at.isoformat(),
                    "events": anchor.events,
                    "last_id": anchor.last_id,
                    "head": anchor.head,
                    "key_id": anchor.key_id,
                },
                separators=(",", ":"),
            )
            _append_private(self._anchor_file, line + "\n")
        log.info(
            "audit.anchor",
            events=anchor.events,
            last_id=anchor.last_id,
            head=anchor.head,
            key_id=anchor.key_id,
        )
        return anchor

    def _anchors(self) -> list[_Anchor]:
        if self._anchor_file is None or not self._anchor_file.exists():
            return []
        out = []
        for number, line in enumerate(self._anchor_file.read_text("utf-8").splitlines(), 1):
            if not line.strip():
                continue
            try:
                value = json.loads(line)
                out.append(_Anchor(int(value["last_id"]), str(value["head"])))
            except (ValueError, KeyError, TypeError) as exc:
                raise ConfigError(
                    f"BRIDGE_AUDIT_ANCHOR_FILE line {number} is not an anchor; "
                    "the file must only be appended to by the bridge."
                ) from exc
        return out

    # -- export -----------------------------------------------------------------------------

    def export(self, crn: str, *, actor: str, purpose: str | None = None) -> list[AuditExportRow]:
        """Every event about `crn`, oldest first, for an active administrator (audited)."""
        now = self._clock.now()
        with session_scope(self._engine) as s:
            staff = s.get(Staff, actor)
            if is_admin(staff):
                rows = s.exec(
                    select(AuditEvent).where(AuditEvent.crn == crn).order_by(col(AuditEvent.id))
                ).all()
                out = [_export_row(r) for r in rows]
                record(
                    s,
                    audit_exported(actor, crn, events=len(out), purpose=purpose or EXPORT_PURPOSE),
                    at=now,
                )
                return out
        record_refusal(self._engine, actor, "audit.export", at=now)
        raise NotPermitted(_REFUSED)

    # -- archive ----------------------------------------------------------------------------

    def archive(self, before: date, *, out: Path) -> dict[str, Any]:
        """As the owner: verify, write the events before `before` to `out`, remove them and
        mark the chain's new start. Refused (WrongState) when the chain does not verify."""
        if out.exists():
            raise BadInput(f"{out} exists; archive files are never overwritten.")
        cutoff = datetime.combine(before, time.min, tzinfo=self._clock.now().tzinfo)
        engine = self._owner_engine()
        with Session(engine) as s:
            if (bad := walk_chain(s, self._keyring).first_bad) is not None:
                raise WrongState(f"The audit chain is broken at event {bad}; nothing archived.")
            rows = s.exec(
                select(AuditEvent)
                .where(col(AuditEvent.at) < cutoff, col(AuditEvent.id) > _archived_after(s))
                .order_by(col(AuditEvent.id))
            ).all()
        # Only a prefix of the chain can go: up to the last event before the cut-off.
        if not rows:
            return {"archived": 0, "file": None, "chain_starts_after": None}
        last = rows[-1]
        assert last.id is not None
        with Session(engine) as s:
            rows = s.exec(
                select(AuditEvent)
                .where(col(AuditEvent.id) > _archived_after(s), col(AuditEvent.id) <= last.id)
                .order_by(col(AuditEvent.id))
            ).all()
        body = "".join(
            json.dumps(
                {
                    **_export_row(r).__dict__,
                    "prev_hash": r.prev_hash,
                    "hash": r.hash,
                    "key_id": r.key_id,
                },
                default=str,
                ensure_ascii=False,
            )
            + "\n"
            for r in rows
        )
        _append_private(out, body)
        digest = hashlib.sha256(body.encode()).hexdigest()
        now = self._clock.now()
        try:
            with session_scope(engine) as s:
                _remove_through(s, last.id)
                s.add(
                    AuditChainMark(
                        mark="archived",
                        after_event_id=last.id,
                        head=last.hash,
                        events=len(rows),
                        at=now,
                    )
                )
                s.flush()
                record(
                    s,
                    audit_archived(
                        CLI,
                        events=len(rows),
                        before=before.isoformat(),
                        after_event_id=last.id,
                        sha256=digest,
                    ),
                    at=now,
                )
        except DBAPIError as exc:
            out.unlink(missing_ok=True)  # nothing was removed: no archive either
            raise NotPermitted(
                "Archiving needs the database owner: set BRIDGE_DATABASE_OWNER_URL "
                f"(the role may not remove audit events: {type(exc.orig).__name__})."
            ) from exc
        with Session(engine) as s:
            if (bad := walk_chain(s, self._keyring).first_bad) is not None:
                raise WrongState(f"The audit chain is broken at event {bad} after archiving.")
        return {"archived": len(rows), "file": str(out), "chain_starts_after": last.id}


def _archived_after(s: Session) -> int:
    """The id the chain now starts after (0 before any archive)."""
    mark = s.exec(
        select(AuditChainMark.after_event_id)
        .where(AuditChainMark.mark == "archived")
        .order_by(col(AuditChainMark.id).desc())
        .limit(1)
    ).first()
    return int(mark or 0)


def _remove_through(s: Session, last_id: int) -> None:
    """Delete events up to `last_id`, lifting the append-only trigger for this transaction
    (the owner's privilege: ALTER TABLE on PostgreSQL, the schema on SQLite)."""
    if s.get_bind().dialect.name == "postgresql":
        s.execute(text("ALTER TABLE auditevent DISABLE TRIGGER auditevent_no_change"))
        s.execute(text("DELETE FROM auditevent WHERE id <= :id"), {"id": last_id})
        s.execute(text("ALTER TABLE auditevent ENABLE TRIGGER auditevent_no_change"))
        return
    s.execute(text("DROP TRIGGER auditevent_no_delete"))
    s.execute(text("DELETE FROM auditevent WHERE id <= :id"), {"id": last_id})
    s.execute(
        text(
            "CREATE TRIGGER auditevent_no_delete BEFORE DELETE ON auditevent "
            "BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END"
        )
    )


def _export_row(row: AuditEvent) -> AuditExportRow:
    assert row.id is not None
    return AuditExportRow(
        id=row.id,
        at=row.at,
        actor=row.actor,
        action=row.action,
        category=row.category,
        crn=row.crn,
        entry_id=row.entry_id,
        purpose=row.detail.get("purpose") if row.category == "consultation" else None,
        detail=dict(row.detail),
    )


def _append_private(path: Path, body: str) -> None:
    """Append to `path`, creating it owner-only (0600)."""
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    with os.fdopen(fd, "a", encoding="utf-8") as f:
        f.write(body)
        f.flush()
        os.fsync(f.fileno())
