"""Claims: exactly once under 16 concurrent claimers, and claims that expire."""

from __future__ import annotations

import os
import threading
from collections import Counter
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlmodel import Session, col, select

from bridge.clock import FixedClock
from bridge.errors import WrongState
from bridge.services.queue_view import QueueService
from bridge.services.review import ReviewService
from bridge.store.db import make_engine, session_scope
from bridge.store.models import AuditEvent, Entry, Staff

NOW = datetime(2026, 11, 23, 9, 30, tzinfo=UTC)
#: Entries the 16 claimers compete for: 160 (ten each, all 16 busy throughout); `make fuzz`
#: runs 2,000 (BRIDGE_TEST_CLAIM_ENTRIES).
ENTRIES = int(os.environ.get("BRIDGE_TEST_CLAIM_ENTRIES", "160"))


def _proxy(code: str) -> Staff:
    return Staff(
        code=code,
        name="Proxy",
        roles=["proxy"],
        vetting_level="NPPV2",
        vetting_expires=date(2027, 11, 23),
        updated_at=NOW,
    )


def _pending(n: int) -> list[Entry]:
    return [
        Entry(
            crn=f"X{i:06d}",
            section="identity",
            kind="nominal-create",
            xml="<Nominal/>",
            content_hash=f"{i:064d}",
            on_behalf_of="N07A001",
            mapping_version="visor-v1.1",
            source_occurred_at=NOW,
            due_date=date(2026, 11, 26) + timedelta(days=i % 7),
            created_at=NOW,
            updated_at=NOW,
        )
        for i in range(n)
    ]


@pytest.mark.postgres
def test_sixteen_concurrent_claimers_claim_each_entry_exactly_once(
    postgres_url: str,
) -> None:
    from tests.conftest import _truncate_postgres

    _truncate_postgres(postgres_url)
    engine = make_engine(postgres_url)
    proxies = [f"N07P{n:03d}" for n in range(100, 116)]
    with session_scope(engine) as s:
        s.add_all([_proxy(code) for code in proxies])
        s.add_all(_pending(ENTRIES))
    claimed: dict[str, list[int]] = {code: [] for code in proxies}
    errors: list[BaseException] = []
    start = threading.Barrier(len(proxies))

    def work(code: str) -> None:
        service = ReviewService(engine=engine, clock=FixedClock(NOW), claim_batch=20)
        try:
            start.wait()
            while (got := service.claim_next(actor=code)) is not None:
                claimed[code].append(got.id)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(code,)) for code in proxies]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    try:
        assert errors == []
        ids = [i for got in claimed.values() for i in got]
        counts = Counter(ids)
        assert [i for i, n in counts.items() if n > 1] == []  # nobody claimed one twice
        assert len(ids) == ENTRIES
        assert sum(1 for got in claimed.values() if got) > 1  # the claimers really competed
        with Session(engine) as s:
            rows = s.exec(select(Entry.status, Entry.claimed_by, Entry.id)).all()
            assert {status for status, _by, _id in rows} == {"claimed"}
            assert {i: by for _s, by, i in rows} == {
                i: code for code, got in claimed.items() for i in got
            }
            audit = s.exec(select(AuditEvent).where(AuditEvent.action == "entry.claimed")).all()
            assert len(audit) == ENTRIES
    finally:
        engine.dispose()


def test_a_claim_expires_and_a_colleague_may_take_it(sqlite_url: str) -> None:
    engine = make_engine(sqlite_url)
    clock = FixedClock(NOW)
    service = ReviewService(engine=engine, clock=clock, claim_ttl=timedelta(minutes=30))
    try:
        with session_scope(engine) as s:
            s.add_all([_proxy("N07P100"), _proxy("N07P101"), *_pending(1)])
        first = service.claim_next(actor="N07P100")
        assert first is not None
        assert service.claim_next(actor="N07P101") is None  # still held

        clock.advance(29 * 60)
        assert service.claim_next(actor="N07P101") is None
        clock.advance(2 * 60)  # 31 minutes after the claim
        with pytest.raises(WrongState, match="expired"):
            service.approve(first.id, actor="N07P100")
        again = service.claim_next(actor="N07P101")
        assert again is not None
        assert again.id == first.id
        with pytest.raises(WrongState):
            service.release(first.id, actor="N07P100")  # no longer theirs
        with Session(engine) as s:
            expired = s.exec(
                select(AuditEvent).where(col(AuditEvent.action) == "entry.claim_expired")
            ).all()
        assert [(e.entry_id, e.detail["was"]) for e in expired] == [(first.id, "N07P100")]
    finally:
        engine.dispose()


def test_waiting_entries_past_their_due_date_are_flagged_overdue(sqlite_url: str) -> None:
    engine = make_engine(sqlite_url)
    clock = FixedClock(NOW)
    queue = QueueService(engine=engine, clock=clock)
    try:
        with session_scope(engine) as s:
            s.add_all(_pending(2))  # due 2026-11-26 and 2026-11-27
        assert [r.overdue for r in queue.listing()] == [False, False]
        clock.advance(4 * 24 * 3600)  # 2026-11-27: the first is past its due date
        assert [r.overdue for r in queue.listing()] == [True, False]
    finally:
        engine.dispose()
