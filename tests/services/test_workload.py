"""Workload (issue 15): handling time across claim, expiry, re-claim by another proxy,
release, approval and entry; a claim over midnight and over a clock change; the back-fill
gives the live figures; who sees what — after a real sync, on SQLite and PostgreSQL."""

from __future__ import annotations

import importlib.util
from datetime import UTC, date, datetime, timedelta
from types import ModuleType
from typing import Any

import pytest
from sqlalchemy import delete, select
from sqlmodel import Session, col
from sqlmodel import select as orm_select

from bridge.clock import FixedClock
from bridge.core.workload_figures import ReportRow
from bridge.errors import NotPermitted
from bridge.store.db import session_scope
from bridge.store.models import AuditEvent, Entry, WorkFact, WorkWeek
from bridge.wiring import Wiring
from tests.builders import ADMIN, PROXY, PROXY_2, MakeWiring

MINUTE = 60
CASE = "C318820"  # six entries; its MAPPA entry has a blocking issue (returned below)
MANAGER = "N07M001"  # manages N07CHT: PROXY's team, not PROXY_2's (N07HCT)
OFFICER = "N07A002"  # needs a proxy (team N07HCT); C318820 is on their behalf


def _migration() -> ModuleType:
    from bridge.store import migrations

    path = next(iter(migrations.__path__)) + "/versions/0006_work_facts.py"
    spec = importlib.util.spec_from_file_location("m0006", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _work(w: Wiring, clock: FixedClock) -> int:
    """The acceptance sequence on CASE; returns how many entries the case has."""
    t0 = clock.current
    n = len(w.tasks.claim(CASE, actor=PROXY).entries)
    clock.current = t0 + timedelta(minutes=40)
    assert w.tasks.expire() == n  # lapsed after 30 minutes; the clean-up ran at 40
    clock.current = t0 + timedelta(minutes=45)
    w.tasks.claim(CASE, actor=PROXY_2)  # re-claimed by another proxy
    clock.current = t0 + timedelta(minutes=55)
    w.tasks.release(CASE, actor=PROXY_2)
    clock.current = t0 + timedelta(minutes=60)
    w.tasks.claim(CASE, actor=PROXY)
    shown = w.tasks.show(CASE, actor=PROXY).entries
    blocked = next(e.id for e in shown if e.issues)
    clean = {e.id: e.version for e in shown if e.id != blocked}
    clock.current = t0 + timedelta(minutes=75)
    w.tasks.approve(CASE, actor=PROXY, versions=clean)
    clock.current = t0 + timedelta(minutes=80)
    w.tasks.reject(blocked, actor=PROXY, reason="Check the MAPPA level")
    clock.current = t0 + timedelta(minutes=95)
    w.tasks.mark_entered(CASE, actor=PROXY, reference="VIS/1")
    return n


def test_handling_time_across_claim_expiry_reclaim_release_approval_and_entry(
    make_wiring: MakeWiring, db_url: str, ndelius_url: str, clock: FixedClock
) -> None:
    w = make_wiring(db_url, ndelius_url, synced={CASE})
    week = date(2026, 11, 23)
    n = _work(w, clock)
    assert n == 6
    rows = w.workload.report(ADMIN, first=week, last=week)
    # Per entry, summed: 40 (claim to expiry) + 15 (claim to approval, 5 entries) + 20 (claim
    # to return, 1) + 20 (approval to entry by the same proxy, 5); the colleague 10 each.
    proxy_minutes = 40 * n + 15 * (n - 1) + 20 + 20 * (n - 1)
    assert rows == [
        ReportRow(PROXY, week, 1, n - 1, proxy_minutes, 0, 1),
        ReportRow(PROXY_2, week, 0, 0, 10 * n, 0, 0),
    ]
    # The officer sees the colleagues' hours their adjustment took, on their own page.
    mine = w.workload.my_work(OFFICER)
    [officer] = [o for o in mine.officer_weeks if o.week == week]
    assert (officer.entries, officer.handling_minutes, officer.returned) == (
        n - 1,
        proxy_minutes + 10 * n,
        1,
    )
    me = w.workload.my_work(PROXY)
    assert me.done_today == n - 1
    assert me.this_week == rows[0]
    assert me.held == []  # entered: nothing held any more


def test_a_claim_over_midnight_and_over_the_clock_change_counts_its_real_length(
    make_wiring: MakeWiring, db_url: str, ndelius_url: str, clock: FixedClock
) -> None:
    w = make_wiring(db_url, ndelius_url, synced={CASE})
    n = len(w.tasks.show(CASE, actor=PROXY).entries)
    # 28 March 2027: clocks go forward at 01:00 GMT. 00:50 GMT to 02:10 BST is 20 minutes.
    clock.current = datetime(2027, 3, 28, 0, 50, tzinfo=UTC)
    w.tasks.claim(CASE, actor=PROXY)
    clock.current = datetime(2027, 3, 28, 1, 10, tzinfo=UTC)
    w.tasks.release(CASE, actor=PROXY)
    # Sunday 23:50 BST to Monday 00:10 BST: 20 minutes, in the week the claim ended.
    clock.current = datetime(2027, 3, 28, 22, 50, tzinfo=UTC)
    w.tasks.claim(CASE, actor=PROXY)
    clock.current = datetime(2027, 3, 28, 23, 10, tzinfo=UTC)
    w.tasks.release(CASE, actor=PROXY)
    rows = w.workload.report(ADMIN, first=date(2027, 3, 22), last=date(2027, 3, 29))
    assert [(r.week, r.handling_minutes) for r in rows] == [
        (date(2027, 3, 22), 20 * n),
        (date(2027, 3, 29), 20 * n),
    ]


def _figures(w: Wiring) -> tuple[list[Any], list[Any]]:
    with Session(w.engine) as s:
        weeks = [tuple(r) for r in s.connection().execute(select(WorkWeek.__table__))]  # type: ignore[attr-defined]
        facts = [
            tuple(r)[1:]
            for r in s.connection().execute(select(WorkFact.__table__))  # type: ignore[attr-defined]
        ]
    return sorted(weeks), sorted(facts, key=repr)


def _back_filled(w: Wiring) -> tuple[list[Any], list[Any]]:
    """The figures again from the audit log alone: the work facts and weeks dropped, then the
    back-fill (migration 0006) run."""
    with session_scope(w.engine) as s:
        s.execute(delete(WorkFact))
        s.execute(delete(WorkWeek))
    with w.engine.begin() as conn:
        _migration().backfill(conn)
    return _figures(w)


def test_the_back_fill_gives_the_figures_live_recording_gave(
    make_wiring: MakeWiring, db_url: str, ndelius_url: str, clock: FixedClock
) -> None:
    w = make_wiring(db_url, ndelius_url, synced={CASE})
    _work(w, clock)
    live = _figures(w)
    assert live[0]
    assert live[1]
    assert _back_filled(w) == live


def test_a_manager_sees_their_teams_and_providers_without_names(
    make_wiring: MakeWiring, db_url: str, ndelius_url: str, clock: FixedClock
) -> None:
    w = make_wiring(db_url, ndelius_url, synced={CASE})
    _work(w, clock)
    seen = w.workload.workload(MANAGER)
    assert {r.staff for r in seen.rows} == {PROXY}  # PROXY_2 is in N07HCT
    assert set(seen.names) >= {PROXY}
    assert [t.key for t in seen.team_totals] == ["N07CHT"]
    # The provider N07 covers both proxies: fewer than 3 people, so no figure is shown.
    [provider] = seen.provider_totals
    assert (provider.key, provider.people, provider.cell("entries")) == ("N07", 2, "fewer than 3")
    assert seen.officers == []  # the officer is in N07HCT: only that team's managers see it
    # An administrator sees every team's totals, and chooses a team to see names.
    everyone = w.workload.workload(ADMIN)
    assert everyone.choose_team
    assert everyone.rows == []
    assert [t.key for t in everyone.team_totals] == ["N07CHT", "N07HCT"]
    other = w.workload.workload(ADMIN, team="n07hct")
    assert {r.staff for r in other.rows} == {PROXY_2}
    assert {o.key for o in other.officers} == {OFFICER}
    with pytest.raises(NotPermitted):
        w.workload.workload(MANAGER, team="N07HCT")  # not one of theirs
    with Session(w.engine) as s:
        viewed = s.exec(orm_select(AuditEvent).where(AuditEvent.action == "workload.viewed")).all()
    assert [(e.actor, e.category, e.crn) for e in viewed][-3:] == [
        (MANAGER, "consultation", None),
        (ADMIN, "consultation", None),
        (ADMIN, "consultation", None),
    ]
    assert viewed[-1].detail["teams"] == ["N07HCT"]


@pytest.mark.parametrize("who", [PROXY, OFFICER])
def test_proxies_and_officers_may_not_see_the_workload_or_the_report(
    make_wiring: MakeWiring, db_url: str, ndelius_url: str, who: str
) -> None:
    w = make_wiring(db_url, ndelius_url, synced={CASE})
    for call in (
        lambda: w.workload.workload(who),
        lambda: w.workload.backlog(who),
        lambda: w.workload.report(who, first=date(2026, 11, 23), last=date(2026, 11, 23)),
    ):
        with pytest.raises(NotPermitted):
            call()
    # A person's own page shows only their own figures.
    assert w.workload.my_work(who).staff == who


def test_the_backlog_counts_open_entries_by_age_and_due_state(
    make_wiring: MakeWiring, db_url: str, ndelius_url: str, clock: FixedClock
) -> None:
    w = make_wiring(db_url, ndelius_url, synced=True)
    with Session(w.engine) as s:
        open_now = len(
            s.exec(orm_select(Entry).where(col(Entry.status).in_(["pending", "claimed"]))).all()
        )
    _work(w, clock)
    clock.advance(14 * 24 * 3600)  # two weeks on: everything still open is overdue
    backlog = w.workload.backlog(MANAGER)
    assert backlog.open_now == open_now - 6  # five entered, one returned
    assert backlog.overdue_now == backlog.open_now
    this_week, last_week = backlog.weeks[-1], backlog.weeks[-3]
    assert this_week.open == backlog.open_now
    assert last_week.entered == 5
    assert last_week.entered_on_time == 5
    assert last_week.service_level == 100
    assert backlog.forecast is None  # more arrived than closed: not clearing at this rate


def test_claim_next_closes_an_interval_left_open_and_starts_its_own(
    make_wiring: MakeWiring, db_url: str, ndelius_url: str, clock: FixedClock
) -> None:
    """Claim next reads what its work facts need with the claim (PostgreSQL: in the claim's
    statement): each entry's due date, officer and the officer's team, and any interval left
    open on it, which the claim closes as any claim does."""
    w = make_wiring(db_url, ndelius_url, synced={CASE})
    t0 = clock.current
    with Session(w.engine) as s:
        entries = s.exec(orm_select(Entry).where(Entry.crn == CASE)).all()
        due = {e.id: e.due_date for e in entries}
    left_open = min(due)
    with session_scope(w.engine) as s:  # e.g. a hold whose end was never recorded
        s.add(
            WorkFact(
                kind="hold",
                crn=CASE,
                entry_id=left_open,
                staff=PROXY_2,
                team="N07HCT",
                started_at=t0 - timedelta(minutes=10),
                start_week=date(2026, 11, 23),
            )
        )
    assert w.tasks.claim_next_case(actor=PROXY) == CASE
    with Session(w.engine) as s:
        holds = s.exec(
            orm_select(WorkFact).where(WorkFact.kind == "hold").order_by(col(WorkFact.id))
        ).all()
    closed, *started = holds
    assert (closed.entry_id, closed.ended, closed.seconds) == (left_open, "claimed", 600)
    assert {f.entry_id for f in started} == set(due)
    assert {(f.staff, f.team, f.officer, f.officer_team) for f in started} == {
        (PROXY, "N07CHT", OFFICER, "N07HCT")
    }
    assert {f.entry_id: f.due_date for f in started} == due
    assert all(f.ended_at is None for f in started)


def test_claim_next_gives_the_figures_the_back_fill_gives(
    make_wiring: MakeWiring, db_url: str, ndelius_url: str, clock: FixedClock
) -> None:
    w = make_wiring(db_url, ndelius_url, synced={CASE})
    t0 = clock.current
    assert w.tasks.claim_next_case(actor=PROXY) == CASE
    clock.current = t0 + timedelta(minutes=20)
    w.tasks.release(CASE, actor=PROXY)
    clock.current = t0 + timedelta(minutes=25)
    assert w.tasks.claim_next_case(actor=PROXY_2) == CASE
    clock.current = t0 + timedelta(minutes=40)
    w.tasks.release(CASE, actor=PROXY_2)
    live = _figures(w)
    assert len([f for f in live[1] if f[0] == "hold"]) == 2 * 6
    assert _back_filled(w) == live
