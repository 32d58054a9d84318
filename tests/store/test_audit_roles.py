"""PostgreSQL: the application's role may only append to the audit log; writers keep one chain.

The local `postgres` superuser bypasses grants, so these tests make a non-superuser role of
their own (granted as `visor-bridge db grant` does), connect as it, and drop it afterwards.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session, func, select

from bridge.audit import record, record_many, use_keyring, verify_chain
from bridge.clock import FixedClock
from bridge.core.audit_chain import Keyring
from bridge.core.audit_events import entry_viewed
from bridge.errors import NotPermitted
from bridge.services.audit_log import AuditLogService
from bridge.services.sync.erasure import erase_case, finish_erasure, retry_incomplete
from bridge.store.db import make_engine, session_scope
from bridge.store.models import Attention, AuditEvent
from bridge.store.roles import grant_application

pytestmark = pytest.mark.postgres

T0 = datetime(2026, 11, 23, 9, 30, tzinfo=UTC)
KEYRING = Keyring.of(["a-test-audit-key-that-is-long-enough-1"])


@pytest.fixture
def db_url(postgres_url: str) -> str:
    """This worker's PostgreSQL database, emptied (the audit triggers set aside to do it)."""
    engine = make_engine(postgres_url)
    with engine.begin() as conn:
        conn.execute(text("SET LOCAL session_replication_role = replica"))
        conn.execute(
            text("TRUNCATE auditevent, auditchainmark, joblock, attention RESTART IDENTITY")
        )
    engine.dispose()
    return postgres_url


@pytest.fixture
def app_engine(db_url: str) -> Iterator[Engine]:
    """An engine connected as a fresh application role with only what `db grant` gives."""
    role = f"bridge_app_{secrets.token_hex(4)}"
    owner = make_engine(db_url)
    with owner.begin() as conn:
        conn.execute(text(f"CREATE ROLE {role} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE"))
    grant_application(owner, role)
    engine = make_engine(make_url(db_url).set(username=role).render_as_string(hide_password=False))
    use_keyring(engine, KEYRING)
    try:
        yield engine
    finally:
        engine.dispose()
        with owner.begin() as conn:
            conn.execute(text(f"DROP OWNED BY {role}"))
            conn.execute(text(f"DROP ROLE {role}"))
        owner.dispose()


def _append(engine: Engine, n: int, tag: int = 0) -> None:
    with session_scope(engine) as s:
        for i in range(n):
            event = entry_viewed("N07P004", "B203456", tag * 1000 + i, version=1, purpose="review")
            record(s, event, at=T0 + timedelta(seconds=i))


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE auditevent SET actor = 'N07P999'",
        "DELETE FROM auditevent",
        "TRUNCATE auditevent",
        "ALTER TABLE auditevent DISABLE TRIGGER USER",
        "DROP TRIGGER auditevent_no_change ON auditevent",
        "INSERT INTO auditchainmark (mark, after_event_id, head, events, at) "
        "VALUES ('archived', 99, 'x', 0, now())",
    ],
)
def test_the_application_role_can_append_and_read_only(app_engine: Engine, statement: str) -> None:
    _append(app_engine, 2)
    with (
        pytest.raises(DBAPIError, match=r"permission denied|must be owner"),
        app_engine.begin() as c,
    ):
        c.execute(text(statement))
    with Session(app_engine) as s:
        rows = s.exec(select(AuditEvent)).all()
    assert [r.actor for r in rows] == ["N07P004", "N07P004"]


def test_the_application_role_still_does_its_work(app_engine: Engine) -> None:
    """The grants leave the working tables writable (a claim, say) and the sequences usable."""
    with app_engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO joblock (name, holder) VALUES ('test', 'me') "
                "ON CONFLICT (name) DO UPDATE SET holder = 'me'"
            )
        )
        conn.execute(text("DELETE FROM joblock WHERE name = 'test'"))


def test_concurrent_writers_keep_one_chain(db_url: str) -> None:
    """Several sessions appending at once (single events and batches): one linear chain."""
    engine = make_engine(db_url)
    use_keyring(engine, KEYRING)
    errors: list[BaseException] = []
    start = threading.Barrier(4)

    def writer(tag: int) -> None:
        try:
            start.wait()
            for round_ in range(8):
                if round_ % 2:
                    _append(engine, 2, tag)
                else:
                    with session_scope(engine) as s:
                        batch = [
                            (entry_viewed("N07P004", "B203456", tag, version=1), T0)
                            for _ in range(3)
                        ]
                        record_many(s, batch)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(t,)) for t in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    try:
        assert errors == []
        with Session(engine) as s:
            assert s.exec(select(func.count()).select_from(AuditEvent)).one() == 4 * (4 * 2 + 4 * 3)
            hashes = s.exec(select(AuditEvent.prev_hash)).all()
        assert len(set(hashes)) == len(hashes)  # no two events chain from the same value
        with Session(engine) as s:
            assert verify_chain(s) is None
    finally:
        engine.dispose()


def test_the_application_role_cannot_vacuum_so_an_erasure_waits_for_the_owner(
    app_engine: Engine, db_url: str
) -> None:
    """VACUUM FULL only warns and skips a table its role does not own: the erasure is reported
    incomplete and listed, and the owner's `db scrub` finishes it."""
    now = T0
    with session_scope(app_engine) as s:
        erase_case(s, "B203456", now=now, actor="system:sync")
    assert finish_erasure(app_engine, ["B203456"], now=now, actor="system:sync") == []
    with Session(app_engine) as s:
        [listed] = s.exec(select(Attention)).all()
        assert (listed.crn, listed.reason) == ("B203456", "erasure_incomplete")
        [event] = s.exec(select(AuditEvent).where(AuditEvent.action == "erasure.incomplete"))
        assert event.detail == {"step": "vacuum_full"}
    owner = make_engine(db_url)
    use_keyring(owner, KEYRING)
    try:
        assert retry_incomplete(owner, now=now, actor="system:retention") == ["B203456"]
        with Session(owner) as s:
            assert s.exec(select(Attention)).all() == []
            assert verify_chain(s) is None
    finally:
        owner.dispose()


def test_only_the_owner_can_archive(app_engine: Engine, db_url: str, tmp_path: Path) -> None:
    _append(app_engine, 3)
    service = AuditLogService(
        engine=app_engine,
        owner_engine=lambda: app_engine,  # BRIDGE_DATABASE_OWNER_URL left at the app's role
        keyring=KEYRING,
        clock=FixedClock(T0 + timedelta(days=2)),
    )
    out = tmp_path / "archive.jsonl"
    with pytest.raises(NotPermitted, match="BRIDGE_DATABASE_OWNER_URL"):
        service.archive((T0 + timedelta(days=1)).date(), out=out)
    assert not out.exists()
    assert service.verify().events == 3
    owner = make_engine(db_url)
    use_keyring(owner, KEYRING)
    try:
        as_owner = AuditLogService(
            engine=app_engine,
            owner_engine=lambda: owner,
            keyring=KEYRING,
            clock=FixedClock(T0 + timedelta(days=2)),
        )
        assert as_owner.archive((T0 + timedelta(days=1)).date(), out=out)["archived"] == 3
        assert as_owner.verify().ok  # the application's role verifies the new start
    finally:
        owner.dispose()
