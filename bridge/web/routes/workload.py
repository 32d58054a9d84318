"""Workload pages (issue 15): My work, Workload, Backlog, and the workload exports.

Each page calls `WorkloadService`, which checks who may see what and audits every view and
export (`workload.viewed`); these handlers only lay the figures out. Charts are server-side
SVG (bridge.web.charts) with a data table behind each.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from bridge.core.vocabulary import long_date
from bridge.core.workload_figures import AGE_BANDS, ReportRow, Total, report_csv
from bridge.errors import NotPermitted
from bridge.web.charts import bar_chart
from bridge.web.deps import Forbidden, PagesDep, SameSite, SignedIn, WiringDep

__all__ = ["router"]

router = APIRouter(dependencies=[SameSite], include_in_schema=False)
Weeks = Annotated[int, Query(ge=1, le=53)]
_NUM = "numeric"


def _week(d: date) -> str:
    return f"{d.day} {d:%b}"


def _hours(minutes: int) -> str:
    return f"{minutes / 60:.1f}"


def _num(value: int | str) -> dict[str, Any]:
    return {"text": value, "format": _NUM}


_WEEK_HEAD = [
    {"text": "Week beginning"},
    {"text": "Cases", "format": _NUM},
    {"text": "Entries", "format": _NUM},
    {"text": "Hours", "format": _NUM},
    {"text": "Entered late", "format": _NUM},
    {"text": "Returned", "format": _NUM},
]
_TOTAL_HEAD = [
    {"text": "Code"},
    {"text": "Cases", "format": _NUM},
    {"text": "Entries", "format": _NUM},
    {"text": "Hours", "format": _NUM},
    {"text": "Entered late", "format": _NUM},
    {"text": "Returned", "format": _NUM},
]


def _figures(r: ReportRow) -> list[dict[str, Any]]:
    return [
        _num(r.tasks),
        _num(r.entries),
        _num(_hours(r.handling_minutes)),
        _num(r.overdue_at_entry),
        _num(r.returned),
    ]


def _total(t: Total) -> list[dict[str, Any]]:
    hours = t.cell("handling_minutes")
    cells = [
        t.cell("tasks"),
        t.cell("entries"),
        _hours(hours) if isinstance(hours, int) else hours,
        t.cell("overdue_at_entry"),
        t.cell("returned"),
    ]
    return [{"text": t.key}, *(_num(c) for c in cells)]


@router.get("/my-work")
def my_work(request: Request, staff: SignedIn, wiring: WiringDep, pages: PagesDep) -> Response:
    work = wiring.workload.my_work(staff.code)
    by_week = {r.week: r for r in work.weeks}
    weeks = sorted({*by_week, *(o.week for o in work.officer_weeks)}) or []
    this = work.this_week
    officer_minutes = {o.week: o.handling_minutes for o in work.officer_weeks}
    hours_chart = bar_chart(
        "Your handling hours per week",
        "Bars of your handling time in hours for each week shown.",
        [_week(w) for w in work.shown],
        [("Hours", [by_week[w].handling_minutes / 60 if w in by_week else 0 for w in work.shown])],
    )
    officer_chart = bar_chart(
        "Colleagues' hours on your cases per week",
        "Bars of the hours colleagues spent on your cases for each week shown.",
        [_week(w) for w in work.shown],
        [("Hours", [officer_minutes.get(w, 0) / 60 for w in work.shown])],
    )
    context = {
        "title": "My work",
        "work": work,
        "this_week": {
            "entries": this.entries if this else 0,
            "hours": f"{_hours(this.handling_minutes)} hours" if this else "0.0 hours",
            "returned": this.returned if this else 0,
        },
        "due_soon": [[{"text": c}, {"text": long_date(d)}] for c, d in work.due_soon],
        "week_head": _WEEK_HEAD,
        "proxy_rows": [[{"text": long_date(r.week)}, *_figures(r)] for r in work.weeks],
        "proxy_chart": hours_chart,
        "officer_chart": officer_chart,
        "officer_rows": [
            [
                {"text": long_date(o.week)},
                _num(o.entries),
                _num(_hours(o.handling_minutes)),
                _num(o.returned),
            ]
            for o in work.officer_weeks
        ],
        "weeks": weeks,
    }
    return pages.render(request, "workload/my_work.html", context, staff=staff)


def _scoped(call: Any) -> Any:
    try:
        return call()
    except NotPermitted as exc:
        raise Forbidden() from exc


@router.get("/workload")
def workload(
    request: Request, staff: SignedIn, wiring: WiringDep, pages: PagesDep, weeks: Weeks = 4
) -> Response:
    view = _scoped(lambda: wiring.workload.workload(staff.code, weeks=weeks))
    per_week: dict[date, float] = dict.fromkeys(view.weeks, 0.0)
    for r in view.rows:
        per_week[r.week] += r.handling_minutes / 60
    hours_chart = bar_chart(
        "Handling hours per week, all proxies shown",
        "Bars of the total handling time in hours for each week shown.",
        [_week(w) for w in view.weeks],
        [("Hours", [per_week[w] for w in view.weeks])],
    )
    context = {
        "title": "Workload",
        "scope": "every team" if view.teams is None else ", ".join(view.teams),
        "weeks": weeks,
        "first": long_date(view.weeks[0]),
        "hours_chart": hours_chart,
        "proxy_head": [{"text": "Proxy"}, *_WEEK_HEAD],
        "proxy_rows": [
            [
                {"text": f"{view.names.get(r.staff, r.staff)} ({r.staff})"},
                {"text": long_date(r.week)},
                *_figures(r),
            ]
            for r in sorted(view.rows, key=lambda r: (view.names.get(r.staff, r.staff), r.week))
        ],
        "total_head": _TOTAL_HEAD,
        "team_rows": [_total(t) for t in view.team_totals],
        "provider_rows": [_total(t) for t in view.provider_totals],
        "officer_rows": [
            [
                {"text": f"{view.names.get(o.key, o.key)} ({o.key})"},
                _num(o.entries),
                _num(_hours(o.handling_minutes)),
                _num(o.returned),
            ]
            for o in sorted(view.officers, key=lambda o: (view.names.get(o.key, o.key), o.key))
        ],
    }
    return pages.render(request, "workload/workload.html", context, staff=staff)


@router.get("/workload.csv")
def workload_csv(staff: SignedIn, wiring: WiringDep, weeks: Weeks = 4) -> Response:
    rows = _scoped(lambda: wiring.workload.recent(staff.code, weeks=weeks, view="csv"))
    return Response(
        report_csv(rows),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="workload.csv"'},
    )


@router.get("/workload.json")
def workload_json(staff: SignedIn, wiring: WiringDep, weeks: Weeks = 4) -> Response:
    rows = _scoped(lambda: wiring.workload.recent(staff.code, weeks=weeks, view="json"))
    body = json.dumps([r.as_json() for r in rows], ensure_ascii=False)
    return Response(body, media_type="application/json")


@router.get("/backlog")
def backlog(
    request: Request, staff: SignedIn, wiring: WiringDep, pages: PagesDep, weeks: Weeks = 12
) -> Response:
    view = _scoped(lambda: wiring.workload.backlog(staff.code, weeks=weeks))
    labels = [_week(w.week) for w in view.weeks]
    age_chart = bar_chart(
        "Open entries at the end of each week, by age",
        "Stacked bars of open entries for each week shown: under 1 week old, 1 to 4 weeks, over 4 weeks.",
        labels,
        [(band, [w.open_by_band[band] for w in view.weeks]) for band in AGE_BANDS],
    )
    rows = [
        [
            {"text": long_date(w.week)},
            *(_num(w.open_by_band[band]) for band in AGE_BANDS),
            _num(w.overdue),
            _num(w.entered),
            _num("None entered" if w.service_level is None else f"{w.service_level}%"),
        ]
        for w in view.weeks
    ]
    head = [
        {"text": "Week beginning"},
        *({"text": band, "format": _NUM} for band in AGE_BANDS),
        {"text": "Overdue", "format": _NUM},
        {"text": "Entered that week", "format": _NUM},
        {"text": "Entered by due date", "format": _NUM},
    ]
    context = {
        "title": "Backlog",
        "weeks": weeks,
        "backlog": view,
        "service_level": "None entered"
        if view.service_level is None
        else f"{view.service_level}% over the weeks shown",
        "forecast": "Not at the current rate: more arrive than are cleared"
        if view.forecast is None
        else long_date(view.forecast),
        "age_chart": age_chart,
        "head": head,
        "rows": rows,
    }
    return pages.render(request, "workload/backlog.html", context, staff=staff)
