"""The page writer's building blocks: audit lines written in bulk chain exactly as one by one."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlmodel import Session, col, select

from bridge.audit import Audit, record, record_many, verify_chain
from bridge.store.db import make_engine, session_scope
from bridge.store.models import AuditEvent

T0 = datetime(2026, 11, 23, 9, 30, tzinfo=UTC)


def _events(n: int) -> list[tuple[Audit, datetime]]:
    return [
        (
            Audit(
                "collection",
                "entry.queued",
                "system:sync",
                f"B2034{i:02d}",
                100 + i,
                {"section": "identity", "item": None, "by": i},
            ),
            T0 + timedelta(seconds=i),
        )
        for i in range(n)
    ]


def _chain(db_url: str) -> list[tuple[str, str, str | None, str]]:
    engine = make_engine(db_url)
    try:
        with Session(engine) as s:
            rows = s.exec(select(AuditEvent).order_by(col(AuditEvent.id))).all()
            assert verify_chain(s) is None
            return [(r.action, r.prev_hash, r.crn, r.hash) for r in rows]
    finally:
        engine.dispose()


def test_bulk_audit_lines_chain_exactly_as_one_by_one(
    db_url: str, sqlite_template: Path, tmp_path: Path
) -> None:
    events = _events(7)
    engine = make_engine(db_url)
    try:
        # Mixed with single appends in one transaction, then chained on by the next one.
        with session_scope(engine) as s:
            record(s, events[0][0], at=events[0][1])
            record_many(s, events[1:4])
            record(s, events[4][0], at=events[4][1])
        with session_scope(engine) as s:
            record_many(s, [])
            record_many(s, events[5:])
    finally:
        engine.dispose()

    # The same events recorded one at a time, each in a transaction of its own.
    shutil.copy(sqlite_template, tmp_path / "one-by-one.db")
    one_by_one = f"sqlite:///{tmp_path / 'one-by-one.db'}"
    engine = make_engine(one_by_one)
    try:
        for event, at in events:
            with session_scope(engine) as s:
                record(s, event, at=at)
    finally:
        engine.dispose()

    bulk = _chain(db_url)
    assert [crn for _, _, crn, _ in bulk] == [e.crn for e, _ in events]
    assert bulk == _chain(one_by_one)
