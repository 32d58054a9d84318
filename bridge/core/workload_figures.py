"""Workload figures (issue 15): weekly rows, team and provider totals, the backlog. Pure.

The store keeps a weekly rollup per person and team (`workweek`) and one `entry` fact per
queued entry; these functions turn what the service read into what the pages, the CSV and
`report workload` show. Privacy: provider totals carry no names, and a total that covers
fewer than 3 people shows `FEWER_THAN_3` instead of a number.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

__all__ = [
    "AGE_BANDS",
    "FEWER_THAN_3",
    "MIN_PEOPLE",
    "REPORT_COLUMNS",
    "BacklogWeek",
    "Closed",
    "Opened",
    "ReportRow",
    "Total",
    "WeekRow",
    "age_band",
    "backlog_weeks",
    "forecast_clear",
    "minutes",
    "provider_of",
    "report_csv",
    "report_rows",
    "totals",
    "weeks_between",
]

#: The columns of `report workload` and the CSV export (ARCHITECTURE §6), in order.
REPORT_COLUMNS = (
    "staff",
    "week",
    "tasks",
    "entries",
    "handling_minutes",
    "overdue_at_entry",
    "returned",
)
MIN_PEOPLE = 3
FEWER_THAN_3 = "fewer than 3"
AGE_BANDS = ("Under 1 week", "1 to 4 weeks", "Over 4 weeks")


@dataclass(frozen=True, slots=True)
class WeekRow:
    """One `workweek` row: a person's (or the work on an officer's cases') week in one team."""

    week: date
    role: str
    staff: str
    team: str
    tasks: int
    entries: int
    seconds: int
    overdue: int
    returned: int


@dataclass(frozen=True, slots=True)
class ReportRow:
    """One row of `report workload`: one proxy, one ISO week (all integers but the keys)."""

    staff: str
    week: date
    tasks: int
    entries: int
    handling_minutes: int
    overdue_at_entry: int
    returned: int

    def as_json(self) -> dict[str, object]:
        return {
            "staff": self.staff,
            "week": self.week.isoformat(),
            "tasks": self.tasks,
            "entries": self.entries,
            "handling_minutes": self.handling_minutes,
            "overdue_at_entry": self.overdue_at_entry,
            "returned": self.returned,
        }


def minutes(seconds: int) -> int:
    """Seconds to the nearest minute (half a minute rounds up)."""
    return (seconds + 30) // 60


def report_rows(rows: Iterable[WeekRow]) -> list[ReportRow]:
    """Proxy rows summed over teams, one per proxy per week, by week then staff code."""
    summed: dict[tuple[str, date], list[int]] = defaultdict(lambda: [0, 0, 0, 0, 0])
    for r in rows:
        if r.role != "proxy":
            continue
        s = summed[(r.staff, r.week)]
        for i, v in enumerate((r.tasks, r.entries, r.seconds, r.overdue, r.returned)):
            s[i] += v
    return [
        ReportRow(staff, week, t, e, minutes(sec), o, ret)
        for (staff, week), (t, e, sec, o, ret) in sorted(
            summed.items(), key=lambda i: (i[0][1], i[0][0])
        )
    ]


def provider_of(team: str) -> str:
    """A team's provider: the first three characters of its code (N07CHT → N07)."""
    return team[:3]


@dataclass(frozen=True, slots=True)
class Total:
    """Figures summed over a group (a team, a provider); `people` is how many it covers.
    With `hide_small`, a total over fewer than MIN_PEOPLE shows only `FEWER_THAN_3`."""

    key: str
    people: int
    tasks: int
    entries: int
    handling_minutes: int
    overdue_at_entry: int
    returned: int
    hidden: bool = False

    def cell(self, name: str) -> int | str:
        return FEWER_THAN_3 if self.hidden else int(getattr(self, name))


def totals(
    rows: Iterable[WeekRow], key: str, *, role: str = "proxy", hide_small: bool = False
) -> list[Total]:
    """Rows of `role` summed by `key` ("team" or "provider"), sorted by key."""
    groups: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0, 0])
    people: dict[str, set[str]] = defaultdict(set)
    for r in rows:
        if r.role != role:
            continue
        k = provider_of(r.team) if key == "provider" else r.team
        g = groups[k]
        for i, v in enumerate((r.tasks, r.entries, r.seconds, r.overdue, r.returned)):
            g[i] += v
        people[k].add(r.staff)
    return [
        Total(
            k,
            len(people[k]),
            t,
            e,
            minutes(sec),
            o,
            ret,
            hide_small and len(people[k]) < MIN_PEOPLE,
        )
        for k, (t, e, sec, o, ret) in sorted(groups.items())
    ]


def weeks_between(first: date, last: date) -> list[date]:
    """The Mondays from the week of `first` to the week of `last`."""
    start = first - timedelta(days=first.weekday())
    end = last - timedelta(days=last.weekday())
    return [start + timedelta(weeks=i) for i in range((end - start).days // 7 + 1)]


# -- the backlog ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Opened:
    """Entries still open, queued in the week of `start_week` and due on `due_date`."""

    start_week: date
    due_date: date | None
    count: int


@dataclass(frozen=True, slots=True)
class Closed:
    """Entries queued in `start_week`, due `due_date`, closed in `week` (`ended` how)."""

    start_week: date
    due_date: date | None
    week: date
    ended: str
    overdue: bool
    count: int


@dataclass(frozen=True, slots=True)
class BacklogWeek:
    """The backlog at the end of one week (Sunday, Europe/London)."""

    week: date
    open_by_band: dict[str, int] = field(default_factory=dict)
    overdue: int = 0
    not_overdue: int = 0
    arrived: int = 0
    closed: int = 0
    entered: int = 0
    entered_on_time: int = 0

    @property
    def open(self) -> int:
        return self.overdue + self.not_overdue

    @property
    def service_level(self) -> int | None:
        """Per cent of the week's entries entered by their due date (None: none entered)."""
        if not self.entered:
            return None
        return round(100 * self.entered_on_time / self.entered)


def age_band(queued_week: date, week: date) -> str:
    """How old an entry queued in `queued_week` is at the end of `week`."""
    age = (week - queued_week).days // 7
    return AGE_BANDS[0] if age < 1 else AGE_BANDS[1] if age <= 4 else AGE_BANDS[2]


def backlog_weeks(
    weeks: Sequence[date],
    opened: Iterable[Opened],
    closed: Iterable[Closed],
    today: date | None = None,
) -> list[BacklogWeek]:
    """The backlog at the end of each week in `weeks` (Mondays, ascending; the week of `today`
    as of today): what was open then
    (queued by then, and still open or closed in a later week), by age band and due state;
    what arrived, closed and was entered (on time or not) during the week. `closed` must hold
    every entry closed in or after the first of `weeks`."""
    closed_list = list(closed)
    still: list[tuple[date, date | None, date | None, int]] = [
        (o.start_week, o.due_date, None, o.count) for o in opened
    ]
    still += [(c.start_week, c.due_date, c.week, c.count) for c in closed_list]
    result = []
    for week in weeks:
        sunday = week + timedelta(days=6)
        if today is not None and today < sunday:
            sunday = today
        bands = dict.fromkeys(AGE_BANDS, 0)
        overdue = not_overdue = arrived = 0
        for start, due, ended, n in still:
            if start == week:
                arrived += n
            if start > week or (ended is not None and ended <= week):
                continue
            bands[age_band(start, week)] += n
            if due is not None and sunday > due:
                overdue += n
            else:
                not_overdue += n
        done = [c for c in closed_list if c.week == week]
        entered = [c for c in done if c.ended == "entered"]
        result.append(
            BacklogWeek(
                week,
                bands,
                overdue,
                not_overdue,
                arrived,
                sum(c.count for c in done),
                sum(c.count for c in entered),
                sum(c.count for c in entered if not c.overdue),
            )
        )
    return result


def forecast_clear(open_now: int, recent: Sequence[BacklogWeek], today: date) -> date | None:
    """When the open entries would be cleared at the recent rate (closed minus arrived per
    week, over `recent`); None when the backlog is not shrinking. Today when nothing is open."""
    if open_now == 0:
        return today
    if not recent:
        return None
    net = sum(w.closed - w.arrived for w in recent) / len(recent)
    if net <= 0:
        return None
    return today + timedelta(days=round(7 * open_now / net))


def report_csv(rows: Iterable[ReportRow]) -> str:
    """`report workload --csv` and the page's CSV export: a header, then one line per row."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(REPORT_COLUMNS)
    for r in rows:
        data = r.as_json()
        writer.writerow([data[c] for c in REPORT_COLUMNS])
    return out.getvalue()
