"""Workload you can see (issue 15): what proxy work costs, who carries it, what is late.

Public methods (every one audited as a consultation, `workload.viewed`):

- `my_work(actor) -> MyWork` a person's own figures: a proxy's tasks held, entries done today
  and this week, handling time, tasks due soon; an officer needing a proxy, the colleagues'
  hours their adjustment took (their own figure only).
- `workload(actor, weeks=12) -> Workload` for managers (their `manages` teams) and
  administrators (every team): per proxy per week with names; per team; per provider (the
  first three characters of a team code) without names, a total over fewer than 3 people
  showing "fewer than 3"; per officer needing a proxy, only for the officer's team.
- `backlog(actor, weeks=12) -> Backlog` managers and administrators: open entries by age band
  and due state at the end of each week, the share entered by the due date, a forecast.
- `report(actor, first, last, view) -> list[ReportRow]` `report workload` and the exports:
  one row per proxy per ISO week (ARCHITECTURE §6).

Never record content, never CRNs on a manager's view: the figures come from the weekly
rollup (`workweek`), kept in the same transaction as each audited claim, decision and entry.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from bridge.audit import record, record_refusal
from bridge.clock import Clock
from bridge.core.audit_events import workload_viewed
from bridge.core.lifecycle import LONDON, Role, has_current_vetting, is_admin, local_date
from bridge.core.workload import week_of
from bridge.core.workload_figures import (
    BacklogWeek,
    ReportRow,
    Total,
    WeekRow,
    backlog_weeks,
    forecast_clear,
    minutes,
    provider_of,
    report_rows,
    weeks_between,
)
from bridge.errors import NotPermitted
from bridge.store import tasks as tq
from bridge.store import workload as wq
from bridge.store.db import session_scope
from bridge.store.models import Staff

__all__ = ["Backlog", "MyWork", "OfficerWeek", "Workload", "WorkloadService"]

#: Tasks due within this many days count as "due soon" on My work.
DUE_SOON_DAYS = 2


@dataclass(frozen=True)
class OfficerWeek:
    """The work done on one officer's cases in one week (their adjustment's cost)."""

    staff: str
    name: str
    week: date
    entries: int
    handling_minutes: int
    returned: int


@dataclass(frozen=True)
class MyWork:
    """A person's own figures."""

    staff: str
    is_proxy: bool
    held: list[tuple[str, date]] = field(default_factory=list)  # (crn, due) of held tasks
    due_soon: list[tuple[str, date]] = field(default_factory=list)
    done_today: int = 0
    this_week: ReportRow | None = None
    weeks: list[ReportRow] = field(default_factory=list)  # the last weeks, oldest first
    officer_weeks: list[OfficerWeek] = field(default_factory=list)
    shown: list[date] = field(default_factory=list)  # the weeks shown (Mondays)


@dataclass(frozen=True)
class Workload:
    """What a manager (or administrator) sees for their teams."""

    teams: list[str] | None  # None: every team (an administrator)
    weeks: list[date]
    rows: list[ReportRow]
    names: dict[str, str]
    team_totals: list[Total]
    provider_totals: list[Total]
    officers: list[Total]  # per officer needing a proxy (key: staff code), over the weeks
    week_totals: list[Total]  # every visible team's proxies, per week (key: ISO date)
    team: str | None = None  # the one team shown by name, when one was chosen
    choose_team: bool = False  # an administrator who has not chosen a team yet


@dataclass(frozen=True)
class Backlog:
    """The backlog over the last weeks, and when it would clear at the current rate."""

    weeks: list[BacklogWeek]
    open_now: int
    overdue_now: int
    forecast: date | None
    service_level: int | None  # over the weeks shown


class WorkloadService:
    """The workload figures; `actor` is always a staff code."""

    def __init__(self, *, engine: Engine, clock: Clock, manual_sink: bool = True) -> None:
        self._engine = engine
        self._clock = clock
        self._manual = manual_sink

    # -- who sees what ------------------------------------------------------------------

    def _scope(self, actor: str, action: str) -> tuple[Staff, list[str] | None]:
        """The actor and the teams they may see (None: every team); NotPermitted (audited)
        for anyone who is neither a manager with teams nor an administrator."""
        with Session(self._engine) as s:
            staff = s.get(Staff, actor)
        if staff is not None and staff.active and is_admin(staff):
            return staff, None
        if staff is not None and staff.active and Role.MANAGER in staff.roles and staff.manages:
            return staff, sorted(staff.manages)
        record_refusal(self._engine, actor, action, at=self._clock.now())
        raise NotPermitted()

    def _audit(
        self, actor: str, view: str, teams: list[str] | None, staff: int, weeks: int
    ) -> None:
        with session_scope(self._engine) as s:
            event = workload_viewed(
                actor, view=view, teams=teams or ["*"], staff=staff, weeks=weeks
            )
            record(s, event, at=self._clock.now())

    def _weeks(self, weeks: int) -> list[date]:
        this = week_of(self._clock.now())
        return weeks_between(this - timedelta(weeks=weeks - 1), this)

    # -- the views ----------------------------------------------------------------------

    def my_work(self, actor: str, *, weeks: int = 12) -> MyWork:
        """`actor`'s own figures (anyone signed in; a person sees only their own)."""
        now = self._clock.now()
        today = local_date(now)
        shown = self._weeks(weeks)
        this = shown[-1]
        with Session(self._engine) as s:
            staff = s.get(Staff, actor)
            if staff is None or not staff.active:
                raise NotPermitted()
            proxy = has_current_vetting(staff, today) or Role.PROXY in staff.roles
            rows = wq.week_rows(s, first=shown[0], last=this, staff=actor)
            held = tq.tasks_of(s, tq.held_crns(s, actor, manual=self._manual)) if proxy else []
            midnight = datetime.combine(today, time(0), tzinfo=LONDON)
            done = wq.entered_since(s, actor, midnight, this) if proxy else 0
        mine = report_rows(rows)
        officer = _officer_weeks(rows, {actor: staff.name})
        soon = [(c, d) for c, d in held if d <= today + timedelta(days=DUE_SOON_DAYS)]
        self._audit(actor, "my-work", [staff.team] if staff.team else [], 1, len(shown))
        return MyWork(
            staff=actor,
            is_proxy=proxy,
            held=held,
            due_soon=soon,
            done_today=done,
            this_week=next((r for r in mine if r.week == this), None),
            weeks=mine,
            officer_weeks=officer,
            shown=shown,
        )

    def workload(
        self, actor: str, *, weeks: int = 12, team: str | None = None, view: str = "workload"
    ) -> Workload:
        """Per proxy per week and per officer for the actor's teams (or the one `team` chosen;
        an administrator chooses one), team and provider totals (managers, administrators)."""
        _, teams = self._scope(actor, "workload")
        chosen = team.strip().upper() if team else None
        if chosen is not None and teams is not None and chosen not in teams:
            record_refusal(self._engine, actor, "workload-team", at=self._clock.now())
            raise NotPermitted()
        named = [chosen] if chosen else teams  # None: an administrator with no team chosen
        shown = self._weeks(weeks)
        first, last = shown[0], shown[-1]
        providers = None if teams is None else sorted({provider_of(t) for t in teams})
        rows: list[ReportRow] = []
        officers: list[Total] = []
        names: dict[str, str] = {}
        with Session(self._engine) as s:
            if named is not None:
                rows = wq.proxy_weeks(s, first=first, last=last, teams=named)
                officers = wq.group_totals(
                    s, first=first, last=last, by="staff", role="officer", teams=named
                )
                codes = sorted({r.staff for r in rows} | {o.key for o in officers})
                names = dict(
                    s.exec(select(Staff.code, Staff.name).where(col(Staff.code).in_(codes))).all()
                )
            week_totals = wq.group_totals(s, first=first, last=last, by="week", teams=teams)
            team_totals = wq.group_totals(s, first=first, last=last, by="team", teams=teams)
            provider_totals = wq.group_totals(
                s, first=first, last=last, by="provider", providers=providers, hide_small=True
            )
        result = Workload(
            teams=teams,
            weeks=shown,
            rows=rows,
            names=names,
            team_totals=team_totals,
            provider_totals=provider_totals,
            officers=officers,
            week_totals=week_totals,
            team=chosen,
            choose_team=named is None,
        )
        audited = named if named is not None else teams
        self._audit(actor, view, audited, len({r.staff for r in rows}), len(shown))
        return result

    def report(self, actor: str, *, first: date, last: date, view: str = "cli") -> list[ReportRow]:
        """One row per proxy per ISO week from the week of `first` to that of `last`."""
        _, teams = self._scope(actor, "workload-report")
        weeks = weeks_between(first, last) if first <= last else []
        result: list[ReportRow] = []
        if weeks:
            with Session(self._engine) as s:
                result = wq.proxy_weeks(s, first=weeks[0], last=weeks[-1], teams=teams)
        self._audit(actor, view, teams, len({r.staff for r in result}), len(weeks))
        return result

    def recent(self, actor: str, *, weeks: int, view: str) -> list[ReportRow]:
        """`report` for the last `weeks` weeks, this one included (the page's exports)."""
        shown = self._weeks(weeks)
        return self.report(actor, first=shown[0], last=shown[-1], view=view)

    def backlog(self, actor: str, *, weeks: int = 12) -> Backlog:
        """Open entries by age band and due state at the end of each of the last weeks."""
        _, teams = self._scope(actor, "backlog")
        shown = self._weeks(weeks)
        today = local_date(self._clock.now())
        with Session(self._engine) as s:
            opened = wq.open_entries(s)
            closed = wq.closed_since(s, shown[0])
        figures = backlog_weeks(shown, opened, closed, today)
        open_now = sum(o.count for o in opened)
        overdue_now = sum(o.count for o in opened if o.due_date is not None and today > o.due_date)
        recent = figures[-5:-1]  # the last four complete weeks
        entered = sum(w.entered for w in figures)
        on_time = sum(w.entered_on_time for w in figures)
        self._audit(actor, "backlog", teams, 0, len(shown))
        return Backlog(
            weeks=figures,
            open_now=open_now,
            overdue_now=overdue_now,
            forecast=forecast_clear(open_now, recent, today),
            service_level=round(100 * on_time / entered) if entered else None,
        )


def _officer_weeks(rows: list[WeekRow], names: dict[str, str]) -> list[OfficerWeek]:
    summed: dict[tuple[str, date], list[int]] = {}
    for r in rows:
        if r.role == "officer":
            s = summed.setdefault((r.staff, r.week), [0, 0, 0])
            s[0] += r.entries
            s[1] += r.seconds
            s[2] += r.returned
    return [
        OfficerWeek(code, names.get(code, code), week, e, minutes(sec), ret)
        for (code, week), (e, sec, ret) in sorted(summed.items())
    ]
