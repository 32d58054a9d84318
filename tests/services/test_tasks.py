"""Case tasks (ARCHITECTURE §3): claims by case, holding, renewal, approve all or nothing,
one ViSOR reference, administrators — after a real sync, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date

import pytest
from sqlmodel import Session, col, select

from bridge.audit import verify_chain
from bridge.clock import FixedClock
from bridge.errors import ApprovalRefused, BadInput, NotPermitted, WrongState
from bridge.scheduler import claims_job
from bridge.services.task_views import ApprovalFailure
from bridge.services.tasks import TaskService
from bridge.services.views import Person
from bridge.store.db import session_scope
from bridge.store.models import AuditEvent, Entry, Staff, WorkFact
from bridge.wiring import Wiring
from tests.builders import ADMIN, EXPIRED_PROXY, PROXY, PROXY_2, MakeWiring, case_doc
from tests.loopback import local
from tests.services.test_review import KEEP

MINUTE = 60


def _synced(make_wiring: MakeWiring, db_url: str, ndelius_url: str) -> Wiring:
    return make_wiring(db_url, ndelius_url, synced=KEEP)


def _events(w: Wiring, action: str) -> list[AuditEvent]:
    with Session(w.engine) as s:
        stmt = select(AuditEvent).where(AuditEvent.action == action)
        return list(s.exec(stmt.order_by(col(AuditEvent.id))))


def _states(w: Wiring, crn: str) -> dict[int, tuple[str, str | None]]:
    with Session(w.engine) as s:
        rows = s.exec(select(Entry).where(Entry.crn == crn)).all()
        return {e.id or 0: (e.status, e.claimed_by) for e in rows}


def _versions(w: Wiring, crn: str, actor: str = PROXY) -> dict[int, int]:
    return {e.id: e.version for e in w.tasks.show(crn, actor=actor).entries}


def test_claims_are_by_case_and_a_held_case_is_nobody_elses(
    make_wiring: MakeWiring, db_url: str, ndelius_url: str
) -> None:
    w = _synced(make_wiring, db_url, ndelius_url)
    listing = w.tasks.listing(actor=PROXY)
    # F600218 excludes N07P004 and N480937 is restricted to others; the rest are listed,
    # earliest due first.
    assert {r.crn for r in listing.rows} == KEEP - {"F600218", "N480937"}
    assert listing.total == len(listing.rows)
    assert [r.due_date for r in listing.rows] == sorted(r.due_date for r in listing.rows)
    assert all(r.name for r in listing.rows)  # a vetted proxy sees the person's name
    assert all(r.name is None for r in w.tasks.listing().rows)  # the operator does not

    first = w.tasks.claim_next(actor=PROXY)
    assert first is not None
    assert first.crn == listing.rows[0].crn
    assert {e.status for e in first.entries} == {"claimed"}
    assert len(first.entries) == listing.rows[0].entries
    assert len(_events(w, "entry.claimed")) == len(first.entries)  # one per entry

    # Nobody else may claim a held case; claim-next passes over it, for both of them.
    with pytest.raises(WrongState, match="held by"):
        w.tasks.claim(first.crn, actor=PROXY_2)
    other = w.tasks.claim_next(actor=PROXY_2)
    assert other is not None
    assert other.crn != first.crn
    again = w.tasks.claim_next(actor=PROXY)
    assert again is not None
    assert again.crn not in {first.crn, other.crn}
    mine = w.tasks.listing(actor=PROXY, held_by=PROXY)
    assert {r.crn for r in mine.rows} == {first.crn, again.crn}
    assert {r.claimed_by for r in mine.rows} == {PROXY}

    # Claiming your own task again is harmless; releasing gives back only the claimed ones.
    assert w.tasks.claim(first.crn, actor=PROXY).crn == first.crn
    released = w.tasks.release(first.crn, actor=PROXY)
    assert {e.status for e in released.entries} == {"pending"}
    with pytest.raises(WrongState, match="no claim"):
        w.tasks.release(first.crn, actor=PROXY)
    with pytest.raises(NotPermitted):
        w.tasks.claim("F600218", actor=PROXY)  # excluded: as if it did not exist
    with pytest.raises(NotPermitted):
        w.tasks.claim_next(actor=EXPIRED_PROXY)
    with Session(w.engine) as s:
        assert verify_chain(s) is None


def test_approve_is_all_or_nothing_and_one_reference_enters_the_case(
    make_wiring: MakeWiring, db_url: str, ndelius_url: str, clock: FixedClock
) -> None:
    w = _synced(make_wiring, db_url, ndelius_url)
    w.tasks.claim("C318820", actor=PROXY)  # its MAPPA entry has a blocking issue
    versions = _versions(w, "C318820")
    blocked = next(e for e in w.tasks.show("C318820", actor=PROXY).entries if e.issues)

    with pytest.raises(ApprovalRefused) as refused:
        w.tasks.approve("C318820", actor=PROXY, versions=versions)
    [failure] = refused.value.failures
    assert failure == ApprovalFailure(
        blocked.id,
        "mappa",
        "blocking-issue",
        fields=[i["path"] for i in blocked.issues if i["blocking"]],
    )
    assert {s for s, _by in _states(w, "C318820").values()} == {"claimed"}  # nothing approved

    # A stale version and an entry of another case are refused too, each named.
    clean = {i: v for i, v in versions.items() if i != blocked.id}
    stale = {**clean, min(clean): 7}
    with pytest.raises(ApprovalRefused) as refused:
        w.tasks.approve("C318820", actor=PROXY, versions={**stale, 999_999: 1})
    assert {(f.entry_id, f.problem) for f in refused.value.failures} == {
        (min(clean), "stale-version"),
        (999_999, "not-in-task"),
    }
    assert refused.value.failures[0].current_version == 1
    with pytest.raises(BadInput):
        w.tasks.approve("C318820", actor=PROXY, versions={})

    done = w.tasks.approve("C318820", actor=PROXY, versions=clean)
    assert {e.status for e in done.entries} == {"approved"}
    # Approved and not entered (manual sink): still held.
    assert w.tasks.listing(held_by=PROXY).rows[0].crn == "C318820"
    with pytest.raises(WrongState):
        w.tasks.mark_entered("C318820", actor=PROXY_2, reference="VIS/1234")

    clock.advance(MINUTE)
    entered = w.tasks.mark_entered("C318820", actor=PROXY, reference="vis/2026/77")
    assert {e.status for e in entered.entries} == {"accepted"}
    assert len(entered.entries) == len(clean)
    refs = {e.detail["reference"] for e in _events(w, "entry.entered")}
    assert refs == {"VIS/2026/77"}
    with pytest.raises(WrongState, match="nothing approved"):
        w.tasks.mark_entered("C318820", actor=PROXY, reference="VIS/1234")

    # "Ask the offender manager": the blocked section goes back with a reason.
    task = w.tasks.reject(blocked.id, actor=PROXY, reason="MAPPA category is not recorded")
    assert task.entries == []
    assert _states(w, "C318820")[blocked.id] == ("rejected", PROXY)


def test_a_claim_is_renewed_while_the_proxy_works_and_lapses_otherwise(
    make_wiring: MakeWiring, db_url: str, ndelius_url: str, clock: FixedClock
) -> None:
    w = _synced(make_wiring, db_url, ndelius_url)
    w.tasks.claim("B203456", actor=PROXY)
    for _ in range(3):  # 75 minutes in all, the proxy looking at it every 25
        clock.advance(25 * MINUTE)
        shown = w.tasks.show("B203456", actor=PROXY, purpose="entering the case")
        assert shown.held_by == PROXY
        assert shown.claim_expires == clock.now() + w.tasks._ttl
    clock.advance(31 * MINUTE)  # then nothing for longer than a claim lasts
    assert w.tasks.expire() == len(shown.entries)
    assert {s for s, _by in _states(w, "B203456").values() if s != "superseded"} == {"pending"}
    assert len(_events(w, "entry.claim_expired")) == len(shown.entries)
    shown = w.tasks.show("B203456", actor=PROXY)
    assert shown.held_by is None
    assert shown.claim_expires is None
    assert shown.claim_lapsed  # "Your claim lapsed", and nobody holds it: "Claim again"
    assert not w.tasks.show("B203456", actor=PROXY_2).claim_lapsed
    assert w.tasks.claim("B203456", actor=PROXY_2).crn == "B203456"
    w.tasks.release("B203456", actor=PROXY_2)
    assert not w.tasks.show("B203456", actor=PROXY_2).claim_lapsed  # released, not lapsed


def test_claim_next_takes_back_a_lapsed_claim_without_an_expiry_run(
    make_wiring: MakeWiring, db_url: str, ndelius_url: str, clock: FixedClock
) -> None:
    """Claim next puts lapsed claims back in the queue itself (one statement tells it that
    some lapsed): first when other cases wait after it, then when it held the whole queue."""
    w = _synced(make_wiring, db_url, ndelius_url)
    first = w.tasks.claim_next_case(actor=PROXY)
    assert first is not None
    clock.advance(31 * MINUTE)
    assert w.tasks.claim_next_case(actor=PROXY_2) == first  # due first, no longer held
    assert {e.crn for e in _events(w, "entry.claim_expired")} == {first}

    held = []
    while (crn := w.tasks.claim_next_case(actor=PROXY_2)) is not None:
        held.append(crn)
    assert held
    assert w.tasks.claim_next_case(actor=PROXY) is None  # every case is held
    clock.advance(31 * MINUTE)
    assert w.tasks.claim_next_case(actor=PROXY) == first  # the queue was empty but for them
    expired = {e.crn for e in _events(w, "entry.claim_expired")}
    assert expired == {first, *held}


def test_claim_next_with_the_persons_row_the_web_read(
    make_wiring: MakeWiring, db_url: str, ndelius_url: str
) -> None:
    """The web passes the staff row it read for the request (issue 19): the same claim, the
    same work facts (the holder's team from that row), and a lapsed one still refused."""
    w = _synced(make_wiring, db_url, ndelius_url)
    with Session(w.engine) as s:
        row = s.get(Staff, PROXY)
        lapsed_row = s.get(Staff, EXPIRED_PROXY)
        assert row is not None
        assert lapsed_row is not None
        person, lapsed = Person.of(row), Person.of(lapsed_row)
    crn = w.tasks.claim_next_case(actor=PROXY, person=person)
    assert crn is not None
    assert {by for st, by in _states(w, crn).values() if st == "claimed"} == {PROXY}
    with Session(w.engine) as s:
        holds = s.exec(select(WorkFact).where(WorkFact.crn == crn, WorkFact.kind == "hold")).all()
    assert holds
    assert {(f.staff, f.team) for f in holds} == {(PROXY, row.team or "")}
    with pytest.raises(NotPermitted):
        w.tasks.claim_next_case(actor=EXPIRED_PROXY, person=lapsed)


def test_claim_next_reads_on_past_cases_it_may_not_take_a_few_at_a_time(
    make_wiring: MakeWiring, db_url: str, ndelius_url: str
) -> None:
    """With one queued entry read at a time, claim-next goes on from where each read ended
    (due date, then id) past a held case and an excluded one, to the first case it may take,
    in queue order."""
    w = _synced(make_wiring, db_url, ndelius_url)
    order = [r.crn for r in w.tasks.listing().rows]  # every open case, in queue order
    mine = [r.crn for r in w.tasks.listing(actor=PROXY).rows]
    one_at_a_time = TaskService(engine=w.engine, clock=w.clock, review=w.review, claim_batch=1)
    held = w.tasks.claim_next(actor=PROXY_2)
    assert held is not None
    expected = [c for c in mine if c != held.crn]
    # Whatever stood before the proxy's next case (held, excluded, restricted) is passed over.
    assert order.index(expected[0]) > 0
    got = [one_at_a_time.claim_next_case(actor=PROXY) for _ in range(len(expected))]
    assert got == expected
    assert one_at_a_time.claim_next_case(actor=PROXY) is None  # nothing left it may take
    assert not {"F600218", "N480937"} & set(got)  # excluded, restricted to others


def test_claims_are_released_when_the_holders_vetting_lapses(
    make_wiring: MakeWiring, db_url: str, ndelius_url: str
) -> None:
    w = _synced(make_wiring, db_url, ndelius_url)
    task = w.tasks.claim("G719053", actor=PROXY)
    w.tasks.claim("B203456", actor=PROXY_2)
    assert w.tasks.expire() == 0
    with session_scope(w.engine) as s:
        staff = s.get(Staff, PROXY)
        assert staff is not None
        staff.vetting_expires = date(2026, 1, 1)
        s.add(staff)
    claims_job(w)  # the scheduler's clean-up
    released = _events(w, "entry.released")
    assert len(released) == len(task.entries)
    assert {e.crn for e in released} == {"G719053"}
    assert {(e.actor, e.detail["was"]) for e in released} == {("system:review", PROXY)}
    assert all(e.detail["reason"] for e in released)
    assert {by for _s, by in _states(w, "B203456").values()} == {PROXY_2}


def test_a_new_entry_for_a_claimed_case_joins_the_claim(
    make_wiring: MakeWiring, db_url: str, ndelius_url: str
) -> None:
    w = _synced(make_wiring, db_url, ndelius_url)
    w.tasks.claim("B203456", actor=PROXY)
    doc = case_doc("B203456")
    doc["offender"]["surname"] = "Different"
    local.put(f"{ndelius_url}/__admin/cases/B203456", json=doc).raise_for_status()
    with w.ndelius() as source:
        result = w.sync_service(source).run()
    assert result is not None
    assert result.entries_created == 1
    states = _states(w, "B203456")
    new_id = max(states)
    assert states[new_id] == ("claimed", PROXY)
    [joined] = _events(w, "entry.claim_joined")
    assert (joined.entry_id, joined.actor, joined.detail) == (
        new_id,
        "system:sync",
        {"holder": PROXY},
    )
    assert w.tasks.listing(held_by=PROXY).rows[0].states.get("pending") is None


def test_administrators_release_and_reassign_a_task(
    make_wiring: MakeWiring, db_url: str, ndelius_url: str
) -> None:
    w = _synced(make_wiring, db_url, ndelius_url)
    task = w.tasks.claim("G719053", actor=PROXY)
    with pytest.raises(NotPermitted):
        w.tasks.release_task("G719053", admin=PROXY_2)
    freed = w.tasks.release_task("G719053", admin=ADMIN)
    assert {e.status for e in freed.entries} == {"pending"}
    released = _events(w, "entry.released")
    assert {(e.actor, e.detail.get("was")) for e in released} == {(ADMIN, PROXY)}
    with pytest.raises(WrongState):
        w.tasks.release_task("G719053", admin=ADMIN)

    moved = w.tasks.reassign("G719053", to=PROXY_2, admin=ADMIN)
    assert {(e.status) for e in moved.entries} == {"claimed"}
    reassigned = _events(w, "entry.reassigned")
    assert len(reassigned) == len(task.entries)
    assert {e.detail["to"] for e in reassigned} == {PROXY_2}
    with pytest.raises(BadInput):
        w.tasks.reassign("F600218", to=PROXY, admin=ADMIN)  # excluded from that case
    with pytest.raises(NotPermitted):
        w.tasks.listing(actor="N07A001")  # an offender manager: no task listing


def test_a_name_search_is_audited_without_its_terms(
    make_wiring: MakeWiring, db_url: str, ndelius_url: str
) -> None:
    w = _synced(make_wiring, db_url, ndelius_url)
    every = w.tasks.listing(actor=PROXY).rows
    person = every[0]
    assert person.name is not None
    surname = person.name.split()[-1]
    found = w.tasks.listing(actor=PROXY, name=surname.lower()[:4])
    assert person.crn in {r.crn for r in found.rows}
    assert w.tasks.listing(actor=PROXY, crn=person.crn.lower()).rows[0].crn == person.crn
    [search] = _events(w, "tasks.searched")
    assert search.category == "consultation"
    assert person.crn in search.detail["crns"]
    assert surname.lower()[:4] not in str(search.detail).lower()
    assert len(search.detail["terms"]) == 64  # an HMAC-SHA-256, hex
    with pytest.raises(NotPermitted):
        w.tasks.listing(actor=ADMIN, name=surname)  # names are for vetted proxies only


def test_per_entry_claims_respect_a_held_case(
    make_wiring: MakeWiring, db_url: str, ndelius_url: str
) -> None:
    w = _synced(make_wiring, db_url, ndelius_url)
    task = w.tasks.claim("B203456", actor=PROXY)
    w.tasks.release("B203456", actor=PROXY)
    first, *_rest = task.entries
    w.review.claim(first.id, actor=PROXY)  # one entry claimed: the case is held
    with pytest.raises(WrongState, match="held by"):
        w.review.claim(task.entries[1].id, actor=PROXY_2)
    taken = []
    while (got := w.review.claim_next(actor=PROXY_2)) is not None:
        taken.append(got.crn)
    assert taken
    assert "B203456" not in taken


@pytest.mark.parametrize("manual", [False, True])
def test_claiming_a_case_someone_else_holds_claims_nothing(
    make_wiring: MakeWiring, db_url: str, ndelius_url: str, manual: bool
) -> None:
    """The statement claim next uses: a case a colleague holds by another entry (claimed, or
    approved with the manual sink) keeps its pending entries; its holder may take them."""
    from bridge.store import tasks as tq

    w = _synced(make_wiring, db_url, ndelius_url)
    first, *rest = w.tasks.claim("B203456", actor=PROXY).entries
    w.tasks.release("B203456", actor=PROXY)
    holding = "approved" if manual else "claimed"
    now = w.clock.now()
    with session_scope(w.engine) as s:
        held = s.get(Entry, first.id)
        assert held is not None
        held.status, held.claimed_by, held.claimed_at = holding, PROXY, now
    with session_scope(w.engine) as s:
        assert tq.claim_unheld(s, "B203456", staff=PROXY_2, now=now, manual=manual) == []
    with Session(w.engine) as s:
        pending = s.exec(
            select(Entry.id).where(Entry.crn == "B203456", Entry.status == "pending")
        ).all()
    assert sorted(pending) == sorted(e.id for e in rest)
    with session_scope(w.engine) as s:
        taken = tq.claim_unheld(s, "B203456", staff=PROXY, now=now, manual=manual)
    assert taken == sorted(e.id for e in rest)
    if not manual:  # an approved entry holds the case only with the manual sink
        with session_scope(w.engine) as s:
            s.get(Entry, first.id).status = "approved"  # type: ignore[union-attr]
        w.tasks.release("B203456", actor=PROXY)  # the rest back to pending
        with session_scope(w.engine) as s:
            taken = tq.claim_unheld(s, "B203456", staff=PROXY_2, now=now, manual=False)
        assert taken == sorted(e.id for e in rest)


@pytest.mark.postgres
def test_concurrent_claimers_take_each_case_whole_and_once(postgres_url: str) -> None:
    """Eight proxies claim-next at once over 60 cases of three entries: every case goes to
    exactly one of them, with all its entries."""
    import threading
    from datetime import UTC, datetime, timedelta

    from bridge.services.review import ReviewService
    from bridge.services.tasks import TaskService
    from bridge.store.db import make_engine
    from tests.conftest import _truncate_postgres

    now = datetime(2026, 11, 23, 9, 30, tzinfo=UTC)
    _truncate_postgres(postgres_url)
    engine = make_engine(postgres_url)
    proxies = [f"N07P{n:03d}" for n in range(100, 108)]
    with session_scope(engine) as s:
        for code in proxies:
            s.add(
                Staff(
                    code=code,
                    name="Proxy",
                    roles=["proxy"],
                    vetting_level="NPPV2",
                    vetting_expires=date(2027, 11, 23),
                    updated_at=now,
                )
            )
        for i in range(180):
            s.add(
                Entry(
                    crn=f"X{i // 3:06d}",
                    section=("identity", "addresses", "mappa")[i % 3],
                    kind="nominal-create",
                    xml="<Nominal/>",
                    content_hash=f"{i:064d}",
                    on_behalf_of="N07A001",
                    mapping_version="visor-v1.1",
                    source_occurred_at=now,
                    due_date=date(2026, 11, 26) + timedelta(days=i % 5),
                    created_at=now,
                    updated_at=now,
                )
            )
    got: dict[str, list[str]] = {p: [] for p in proxies}
    errors: list[BaseException] = []
    start = threading.Barrier(len(proxies))

    def work(code: str) -> None:
        clock = FixedClock(now)
        review = ReviewService(engine=engine, clock=clock)
        tasks = TaskService(engine=engine, clock=clock, review=review, claim_batch=10)
        try:
            start.wait()
            while (task := tasks.claim_next(actor=code)) is not None:
                got[code].append(task.crn)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(p,)) for p in proxies]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    try:
        assert errors == []
        crns = [c for taken in got.values() for c in taken]
        assert sorted(crns) == sorted({f"X{i:06d}" for i in range(60)})
        with Session(engine) as s:
            rows = s.exec(select(Entry.crn, Entry.claimed_by)).all()
        holders: dict[str, set[str | None]] = {}
        for crn, by in rows:
            holders.setdefault(crn, set()).add(by)
        assert all(len(h) == 1 and None not in h for h in holders.values())
        assert {c: next(iter(h)) for c, h in holders.items()} == {
            c: p for p, taken in got.items() for c in taken
        }
    finally:
        engine.dispose()


def test_the_listing_reads_its_indexes_without_sorting(
    make_wiring: MakeWiring, sqlite_url: str, ndelius_url: str
) -> None:
    """SQLite's plans for the statements a page of tasks sends, once statistics are current:
    the page walks the partial index of open work in due order, the count groups by the CRN
    index, and neither sorts (a harmless-looking rewrite could make each read the table)."""
    from typing import Any

    from sqlalchemy import event

    w = make_wiring(sqlite_url, ndelius_url, synced=True, full=True)
    sent: list[tuple[str, Any]] = []

    def capture(_conn: Any, _cursor: Any, statement: str, params: Any, *_rest: Any) -> None:
        if "FROM entry" in statement:
            sent.append((statement, params))

    event.listen(w.engine, "before_cursor_execute", capture)
    try:
        assert w.tasks.listing(actor=PROXY_2, limit=5).total > 5
    finally:
        event.remove(w.engine, "before_cursor_execute", capture)
    with w.engine.connect() as conn:
        plans = {
            statement: " / ".join(
                str(r[-1]) for r in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", params)
            )
            for statement, params in sent
        }
    walk = [p for s, p in plans.items() if "ORDER BY entry.due_date, entry.id" in s]
    assert walk == ["SCAN entry USING COVERING INDEX ix_entry_waiting"], plans
    counts = [p for s, p in plans.items() if "count(" in s]
    assert counts, plans
    assert all("ix_entry_crn_section_status" in p and "TEMP B-TREE" not in p for p in counts)
