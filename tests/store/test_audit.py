"""The audit log: append-only in the database itself, and a hash chain that verifies."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session, col, select

from bridge.audit import GENESIS, Audit, record, verify_chain
from bridge.store.db import make_engine, session_scope
from bridge.store.models import AuditEvent

T0 = datetime(2026, 11, 23, 9, 30, tzinfo=UTC)


def _write_chain(url: str, n: int = 3) -> list[int]:
    engine = make_engine(url)
    try:
        for i in range(n):
            with session_scope(engine) as s:
                for j in range(2):  # several in one transaction chain in memory
                    record(
                        s,
                        Audit(
                            "consultation", "entry.viewed", "N07P004", "B203456", 10 + i, {"n": j}
                        ),
                        at=T0 + timedelta(minutes=i),
                    )
        with Session(engine) as s:
            return list(s.exec(select(AuditEvent.id).order_by(col(AuditEvent.id))).all())
    finally:
        engine.dispose()


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE auditevent SET actor = 'SOMEONE' WHERE id = :id",
        "UPDATE auditevent SET detail = '{}'",
        "DELETE FROM auditevent WHERE id = :id",
        "DELETE FROM auditevent",
    ],
)
def test_the_database_refuses_to_change_or_delete_audit_rows(db_url: str, statement: str) -> None:
    ids = _write_chain(db_url)
    engine = make_engine(db_url)
    try:
        with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
            conn.execute(text(statement), {"id": ids[0]})
        with Session(engine) as s:
            rows = s.exec(select(AuditEvent).order_by(col(AuditEvent.id))).all()
            assert [r.id for r in rows] == ids
            assert {r.actor for r in rows} == {"N07P004"}
            assert verify_chain(s) is None
    finally:
        engine.dispose()


def test_a_good_chain_verifies_and_links_each_event_to_the_one_before(db_url: str) -> None:
    ids = _write_chain(db_url, n=4)
    engine = make_engine(db_url)
    try:
        with Session(engine) as s:
            assert verify_chain(s) is None
            rows = s.exec(select(AuditEvent).order_by(col(AuditEvent.id))).all()
        assert [r.id for r in rows] == ids
        assert rows[0].prev_hash == GENESIS
        for before, after in itertools.pairwise(rows):
            assert after.prev_hash == before.hash
        assert len({r.hash for r in rows}) == len(rows)
    finally:
        engine.dispose()


def test_an_empty_log_verifies(db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        with Session(engine) as s:
            assert verify_chain(s) is None
    finally:
        engine.dispose()


def test_an_inserted_forged_event_is_detected(db_url: str) -> None:
    """Rows cannot be changed, but one could be appended by hand: the chain shows it."""
    ids = _write_chain(db_url, n=2)
    engine = make_engine(db_url)
    try:
        with session_scope(engine) as s:
            last = s.get(AuditEvent, ids[-1])
            assert last is not None
            forged = AuditEvent(
                at=T0 + timedelta(hours=1),
                actor="N07P004",
                category="alteration",
                action="entry.approved",
                crn="B203456",
                entry_id=10,
                detail={},
                prev_hash=last.hash,
                hash="f" * 64,
            )
            s.add(forged)
            s.flush()
            forged_id = forged.id
        with Session(engine) as s:
            assert verify_chain(s) == forged_id
    finally:
        engine.dispose()
