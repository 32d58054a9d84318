"""The keyed audit chain (issue 17): what someone who can write rows but lacks the key cannot hide.

Each finding of the review is reproduced here: an upsert over an existing id, a TRUNCATE, a row
changed with the triggers dropped and the chain recomputed (with a guessed key under the real
key's id, or as unkeyed legacy rows), and a removed tail that only the anchor can show.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session, col, select

from bridge.audit import (
    _PG_AUDIT_LOCK,
    AuditKeyUnknown,
    record,
    record_many,
    use_keyring,
    verify_chain,
)
from bridge.clock import FixedClock
from bridge.core.audit_chain import GENESIS, AuditKey, Keyring, keyed_value, legacy_value
from bridge.core.audit_events import entry_viewed
from bridge.services.audit_log import AuditLogService
from bridge.store.db import make_engine, session_scope
from bridge.store.models import AuditChainMark, AuditEvent

T0 = datetime(2026, 11, 23, 9, 30, tzinfo=UTC)
KEY = "a-test-audit-key-that-is-long-enough-1"
KEYRING = Keyring.of([KEY])


def _engine(url: str, keyring: Keyring = KEYRING) -> Engine:
    engine = make_engine(url)
    use_keyring(engine, keyring)
    return engine


def _write(engine: Engine, n: int = 4, start: int = 0) -> list[int]:
    """Write `n` events, one transaction each; their ids (read after each commit)."""
    ids = []
    for i in range(start, start + n):
        with session_scope(engine) as s:
            event = entry_viewed("N07P004", "B203456", 10 + i, version=1, purpose="review")
            record(s, event, at=T0 + timedelta(minutes=i))
        with Session(engine) as s:
            ids.append(s.exec(select(func.max(AuditEvent.id))).one())
    return ids


def _service(
    engine: Engine, anchors: Path | None = None, keyring: Keyring = KEYRING
) -> AuditLogService:
    return AuditLogService(
        engine=engine,
        owner_engine=lambda: engine,
        keyring=keyring,
        clock=FixedClock(T0 + timedelta(days=1)),
        anchor_file=anchors,
    )


def _lift_triggers(engine: Engine) -> None:
    """What someone with the file (SQLite) or the table's owner (PostgreSQL) can do."""
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("ALTER TABLE auditevent DISABLE TRIGGER USER"))
        else:
            for name in ("update", "delete", "replace"):
                conn.execute(text(f"DROP TRIGGER IF EXISTS auditevent_no_{name}"))


def _rewrite_from(engine: Engine, first: int, *, key: AuditKey | None) -> None:
    """Change event `first`'s actor, then recompute every value from it on: with `key`
    (a guess under the real key's id) or, with None, as unkeyed legacy rows."""
    with Session(engine) as s:
        rows = s.exec(select(AuditEvent).order_by(col(AuditEvent.id))).all()
    prev = GENESIS
    with engine.begin() as conn:
        for row in rows:
            if row.id is not None and row.id >= first:
                actor = "N07P999" if row.id == first else row.actor
                fields = (
                    row.at,
                    row.category,
                    row.action,
                    actor,
                    row.crn,
                    row.entry_id,
                    row.detail,
                )
                value = (
                    legacy_value(prev, *fields) if key is None else keyed_value(key, prev, *fields)
                )
                conn.execute(
                    text(
                        "UPDATE auditevent SET actor = :a, prev_hash = :p, hash = :h, key_id = :k "
                        "WHERE id = :id"
                    ),
                    {"a": actor, "p": prev, "h": value, "k": key.id if key else None, "id": row.id},
                )
                prev = value
            else:
                prev = row.hash


def test_events_carry_the_key_id_and_verify(db_url: str) -> None:
    engine = _engine(db_url)
    try:
        _write(engine)
        with Session(engine) as s:
            rows = s.exec(select(AuditEvent)).all()
            assert {r.key_id for r in rows} == {KEYRING.current.id}
            assert verify_chain(s) is None
        result = _service(engine).verify()
        assert (result.ok, result.events, result.first_bad) == (True, 4, None)
    finally:
        engine.dispose()


def test_an_upsert_over_an_existing_id_is_refused(db_url: str) -> None:
    engine = _engine(db_url)
    try:
        ids = _write(engine, n=2)
        columns = "id, at, actor, category, action, crn, entry_id, detail, prev_hash, hash, key_id"
        copy = columns.replace("actor", "'N07P999'")
        if engine.dialect.name == "postgresql":
            statement = (
                f"INSERT INTO auditevent ({columns}) SELECT {copy} FROM auditevent WHERE id = :id "
                "ON CONFLICT (id) DO UPDATE SET actor = EXCLUDED.actor"
            )
        else:
            statement = f"INSERT OR REPLACE INTO auditevent ({columns}) SELECT {copy} FROM auditevent WHERE id = :id"
        with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
            conn.execute(text(statement), {"id": ids[0]})
        with Session(engine) as s:
            assert {r.actor for r in s.exec(select(AuditEvent))} == {"N07P004"}
    finally:
        engine.dispose()


@pytest.mark.postgres
def test_truncate_is_refused_on_postgresql(postgres_url: str) -> None:
    engine = _engine(postgres_url)
    try:
        with engine.begin() as conn:  # emptied as the db_url fixture does, triggers aside
            conn.execute(text("SET LOCAL session_replication_role = replica"))
            conn.execute(text("TRUNCATE auditevent, auditchainmark"))
        _write(engine, n=2)
        for table in ("auditevent", "auditchainmark"):
            with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
                conn.execute(text(f"TRUNCATE {table}"))
        with Session(engine) as s:
            assert len(s.exec(select(AuditEvent)).all()) == 2
    finally:
        engine.dispose()


@pytest.mark.postgres
def test_the_chain_lock_is_held_from_the_first_append_until_the_commit(postgres_url: str) -> None:
    """Appends take the chain's lock and read its head in one round trip (issue 19): the lock
    must still be held by then, and until the commit, or two writers could fork the chain."""
    engine, other = _engine(postgres_url), make_engine(postgres_url)

    def free() -> bool:
        with other.connect() as conn:
            return bool(
                conn.execute(
                    text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": _PG_AUDIT_LOCK}
                ).scalar_one()
            )

    try:
        with session_scope(engine) as s:
            record_many(s, [(entry_viewed("N07P004", "B203456", 1, version=1), T0)])
            assert not free()
        assert free()
        _write(engine, n=2)
        with Session(engine) as s:
            assert verify_chain(s) is None
    finally:
        engine.dispose()
        other.dispose()


@pytest.mark.parametrize("forger", ["guessed key", "unkeyed"])
def test_a_row_rewritten_with_the_triggers_dropped_is_found(db_url: str, forger: str) -> None:
    engine = _engine(db_url)
    try:
        ids = _write(engine)
        _lift_triggers(engine)
        guess = AuditKey(KEYRING.current.id, b"a guess at the key, under its public id")
        _rewrite_from(engine, ids[1], key=guess if forger == "guessed key" else None)
        with Session(engine) as s:
            assert s.get(AuditEvent, ids[1]).actor == "N07P999"  # type: ignore[union-attr]
        result = _service(engine).verify()
        assert (result.ok, result.first_bad) == (False, ids[1])
    finally:
        engine.dispose()


def test_a_removed_tail_is_found_by_the_anchor(db_url: str, tmp_path: Path) -> None:
    engine = _engine(db_url)
    anchors = tmp_path / "anchors.jsonl"
    try:
        ids = _write(engine)
        anchor = _service(engine, anchors).anchor()
        assert (anchor.events, anchor.last_id, anchor.key_id) == (4, ids[-1], KEYRING.current.id)
        assert anchors.stat().st_mode & 0o777 == 0o600
        _write(engine, n=1, start=10)  # later events are fine
        assert _service(engine, anchors).verify().ok
        _lift_triggers(engine)
        with engine.begin() as conn:
            conn.execute(text("DELETE FROM auditevent WHERE id >= :id"), {"id": ids[-1]})
        assert _service(engine).verify().ok  # the chain alone cannot tell (documented)
        result = _service(engine, anchors).verify()
        assert (result.ok, result.first_bad, result.anchors) == (False, ids[-1], 1)
    finally:
        engine.dispose()


def test_a_missing_or_wrong_key_is_its_own_answer(db_url: str) -> None:
    engine = _engine(db_url)
    try:
        _write(engine, n=2)
        other = Keyring.of(["another-audit-key-that-is-long-enough-2"])
        with pytest.raises(AuditKeyUnknown, match="BRIDGE_AUDIT_KEY"):
            _service(engine, keyring=other).verify()
        # rotation: the new key signs, the old one still verifies
        rotated = Keyring(other.current, (KEYRING.current,))
        use_keyring(engine, rotated)
        _write(engine, n=2, start=5)
        result = _service(engine, keyring=rotated).verify()
        assert (result.ok, result.events) == (True, 4)
        with Session(engine) as s:
            assert [r.key_id for r in s.exec(select(AuditEvent).order_by(col(AuditEvent.id)))] == [
                KEYRING.current.id
            ] * 2 + [other.current.id] * 2
    finally:
        engine.dispose()


def test_events_from_before_the_keyed_chain_verify_and_stay_bound(db_url: str) -> None:
    """Migration 0003 marks the last unkeyed event; the first keyed one covers its value."""
    engine = _engine(db_url)
    try:
        prev, legacy = GENESIS, []
        with engine.begin() as conn:
            for i in range(2):
                fields = (T0, "consultation", "entry.viewed", "N07P004", "B203456", i, {})
                value = legacy_value(prev, *fields)
                legacy.append(
                    conn.execute(
                        text(
                            "INSERT INTO auditevent (at, actor, category, action, crn, entry_id, "
                            "detail, prev_hash, hash) VALUES (:at, 'N07P004', 'consultation', "
                            "'entry.viewed', 'B203456', :e, '{}', :p, :h) RETURNING id"
                        ),
                        {"at": T0, "e": i, "p": prev, "h": value},
                    ).scalar_one()
                )
                prev = value
        with session_scope(engine) as s:
            s.add(AuditChainMark(mark="keyed", after_event_id=legacy[-1], head=prev, at=T0))
        keyed = _write(engine, n=2, start=3)
        assert _service(engine).verify().ok
        _lift_triggers(engine)
        _rewrite_from(engine, legacy[0], key=None)  # the legacy prefix rewritten consistently
        result = _service(engine).verify()
        assert (result.ok, result.first_bad) == (False, keyed[0])  # the first keyed event
    finally:
        engine.dispose()


def test_archive_removes_a_verified_prefix_and_the_chain_goes_on(
    db_url: str, tmp_path: Path
) -> None:
    engine = _engine(db_url)
    try:
        ids = _write(engine, n=4)
        service = _service(engine)
        out = tmp_path / "archive.jsonl"
        result = service.archive((T0 + timedelta(minutes=2)).date() + timedelta(days=0), out=out)
        assert result["archived"] == 0  # nothing before the day of T0
        result = service.archive(T0.date() + timedelta(days=1), out=out)
        assert result == {"archived": 4, "file": str(out), "chain_starts_after": ids[-1]}
        assert len(out.read_text().splitlines()) == 4
        assert out.stat().st_mode & 0o777 == 0o600
        _write(engine, n=1, start=20)
        verified = service.verify()
        assert verified.ok
        assert verified.events == 2  # the archive's own event and the new one
        with Session(engine) as s:
            assert s.get(AuditEvent, ids[0]) is None
    finally:
        engine.dispose()
