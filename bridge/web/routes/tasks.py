"""Task pages: a proxy works by person — one case, one task, one ViSOR entry.

/tasks lists the case tasks (search by CRN or name, "My tasks"); /tasks/{crn} is the GOV.UK
task list of one case with "Approve all" and "Entered in ViSOR"; /tasks/{crn}/sections/{id}
is one section as check answers, with "Change" links to its question pages (routes/fields.py)
and "Ask the offender manager". Every rule is `TaskService`'s and `ReviewService`'s; a refused
action shows the same page again with a GOV.UK error summary and what was typed.
Post/Redirect/Get as on the entry pages, with a fixed `done` code for the next page's banner.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response

from bridge.core.lifecycle import local_date
from bridge.errors import ApprovalRefused, BadInput, WrongState
from bridge.services.review import ReviewService
from bridge.services.tasks import normal_crn
from bridge.services.views import Person
from bridge.web import notices, task_view
from bridge.web.deps import (
    PagesDep,
    SameSite,
    VettedProxy,
    WiringDep,
    csrf_protect,
    vetted_proxy,
)
from bridge.web.present import long_date, section_title
from bridge.web.templating import Pages
from bridge.wiring import Wiring

__all__ = ["DONE", "banner", "router", "see", "shown"]

router = APIRouter(dependencies=[Depends(csrf_protect)], include_in_schema=False)

Crn = Annotated[str, Path(min_length=1, max_length=16)]
EntryId = Annotated[int, Path(ge=1)]
PER_PAGE = 25
#: What just happened, by the `done` code an action redirects with (never request text).
DONE: dict[str, tuple[str, bool]] = {
    "task-claimed": ("You have claimed this case", True),
    "task-approved": ("Every section is approved: enter the case in ViSOR", True),
    "task-entered": ("Recorded as entered in ViSOR", True),
    "task-next": ("Recorded as entered in ViSOR. This is your next case", True),
    "task-released": ("Case released", True),
    "task-returned": ("Section returned to the offender manager", True),
    "task-nothing": ("There is no case waiting that you can take", False),
    "field-saved": ("Answer saved", True),
    "field-unchanged": ("Nothing was changed", False),
}


def banner(request: Request) -> dict[str, Any] | None:
    return notices.banner(request, DONE)


def shown(request: Request, response: Response) -> Response:
    return notices.shown(request, response, DONE)


see = notices.see


def _page(
    request: Request,
    pages: Pages,
    staff: Person,
    template: str,
    context: dict[str, Any],
    *,
    errors: list[Any] | None = None,
    values: dict[str, Any] | None = None,
    status_code: int = 200,
) -> Response:
    """A task page with the last action's banner (then cleared), and a refused form's errors
    and typed values when it is shown again."""
    context = {"banner": banner(request), "errors": errors or [], "values": values or {}, **context}
    response = pages.render(request, template, context, staff=staff, status_code=status_code)
    return shown(request, response)


# -- the listing --------------------------------------------------------------------------


@router.get("/tasks", dependencies=[SameSite])
def tasks(
    request: Request,
    staff: VettedProxy,
    pages: PagesDep,
    wiring: WiringDep,
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
    q: Annotated[str, Query(max_length=100)] = "",
    mine: Annotated[bool, Query()] = False,
) -> Response:
    terms = q.strip()
    crn = normal_crn(terms) if terms else None
    listed = wiring.tasks.listing(
        actor=staff.code,
        held_by=staff.code if mine else None,
        crn=crn,
        name=terms if terms and crn is None else None,
        limit=PER_PAGE,
        offset=(page - 1) * PER_PAGE,
        count=False,
    )
    today = local_date(wiring.clock.now())
    rows = [
        {
            "crn": r.crn,
            "name": r.name,
            "sections": [section_title(s) for s in r.sections],
            "due_text": long_date(r.due_date),
            "overdue": r.overdue,
            "blocking": r.blocking_issues,
            "holder": r.claimed_by,
        }
        for r in listed.rows
    ]
    query = (f"&q={terms}" if terms else "") + ("&mine=true" if mine else "")
    more = listed.total > page * PER_PAGE
    return _page(
        request,
        pages,
        staff,
        "tasks/tasks.html",
        {
            "title": "My tasks" if mine else "Tasks",
            "rows": rows,
            "q": terms,
            "mine": mine,
            "today_text": long_date(today),
            "previous": f"/tasks?page={page - 1}{query}" if page > 1 else None,
            "next": f"/tasks?page={page + 1}{query}" if more else None,
        },
    )


@router.post("/tasks/claim-next")
async def claim_next(request: Request, wiring: WiringDep) -> Response:
    # The busiest action, and a person waits on it: who is asking (VettedProxy's check) and the
    # claim in one hand-off to a worker thread instead of two, and the claim trusts the staff
    # row this request has just read instead of reading it again.
    def claim() -> str | None:
        staff = vetted_proxy(request)
        return wiring.tasks.claim_next_case(actor=staff.code, person=staff)

    crn = await run_in_threadpool(claim)
    if crn is None:
        return see(request, "/tasks", "task-nothing")
    return see(request, f"/tasks/{crn}", "task-claimed")


# -- one task -----------------------------------------------------------------------------


def render_task(
    request: Request,
    staff: Person,
    wiring: Wiring,
    pages: Pages,
    crn: str,
    *,
    errors: list[dict[str, str]] | None = None,
    values: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    """The task page (an audited view of each open entry; renews the caller's claims)."""
    result = wiring.tasks.show(crn, actor=staff.code, default_purpose="web:task.view")
    model = task_view.task_page(
        result,
        wiring.bundle.spec,
        actor=staff.code,
        manual_sink=wiring.settings.sink == "manual",
        today=local_date(wiring.clock.now()),
    )
    return _page(
        request,
        pages,
        staff,
        "tasks/task.html",
        {"title": f"Case {model.crn}", "task": model},
        errors=errors,
        values=values,
        status_code=status_code,
    )


@router.get("/tasks/{crn}", dependencies=[SameSite])
def task(
    request: Request, crn: Crn, staff: VettedProxy, pages: PagesDep, wiring: WiringDep
) -> Response:
    return render_task(request, staff, wiring, pages, crn)


@router.post("/tasks/{crn}/claim")
def claim(request: Request, crn: Crn, staff: VettedProxy, wiring: WiringDep) -> Response:
    done = wiring.tasks.claim(crn, actor=staff.code)
    return see(request, f"/tasks/{done.crn}", "task-claimed")


@router.post("/tasks/{crn}/release")
def release(request: Request, crn: Crn, staff: VettedProxy, wiring: WiringDep) -> Response:
    wiring.tasks.release(crn, actor=staff.code)
    return see(request, "/tasks", "task-released")


@router.post("/tasks/{crn}/approve")
async def approve(
    request: Request, crn: Crn, staff: VettedProxy, pages: PagesDep, wiring: WiringDep
) -> Response:
    """ "Approve all" at the versions shown; with a ViSOR reference (the manual sink), the
    case is also recorded as entered, in the same step: one form for a clean case."""
    form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
    return await run_in_threadpool(_approve, request, crn, staff, pages, wiring, form)


def _approve(
    request: Request,
    crn: str,
    staff: Person,
    pages: Pages,
    wiring: Wiring,
    form: dict[str, str],
) -> Response:
    versions: dict[int, int] = {}
    for key, value in form.items():
        if key.startswith("v-"):
            try:
                versions[int(key[2:])] = int(value)
            except ValueError:
                raise BadInput("Some of what was sent is not in the right form.") from None
    values = {k: form.get(k, "") for k in ("visor_reference", "day", "month", "year")}
    entering = not form.get("only")
    if entering:
        refused = _entry_problem(values)
        if refused is not None:
            return render_task(
                request, staff, wiring, pages, crn, errors=[refused], values=values, status_code=400
            )
    try:
        if not versions:
            raise WrongState("You hold no section of this case to approve.")
        result = wiring.tasks.approve(crn, actor=staff.code, versions=versions)
    except ApprovalRefused as refused_all:
        links = task_view.refusal_links(
            normal_crn(crn) or crn, refused_all.failures, wiring.bundle.spec
        )
        return render_task(
            request, staff, wiring, pages, crn, errors=links, values=values, status_code=409
        )
    except WrongState as wrong:
        errors = [{"text": str(wrong), "href": "#sections"}]
        return render_task(
            request, staff, wiring, pages, crn, errors=errors, values=values, status_code=409
        )
    if not entering:
        return see(request, f"/tasks/{result.crn}#entered", "task-approved")
    return _enter(request, staff, pages, wiring, result.crn, values, form.get("next", ""))


def _entered_on(day: str, month: str, year: str) -> date | None:
    if not (day or month or year):
        return None
    try:
        return date(int(year), int(month), int(day))
    except ValueError:
        raise BadInput("Enter a real date") from None


def _entry_problem(values: dict[str, str]) -> dict[str, str] | None:
    """The error summary item for a ViSOR reference or date that cannot be recorded."""
    try:
        ReviewService.visor_reference(values["visor_reference"])
    except BadInput:
        text = "Enter the ViSOR reference: 4 to 32 letters, digits, slashes or hyphens"
        return {"text": text, "href": "#visor_reference"}
    try:
        _entered_on(values["day"].strip(), values["month"].strip(), values["year"].strip())
    except BadInput:
        return {"text": "The date entered in ViSOR must be a real date", "href": "#entered-day"}
    return None


def _enter(
    request: Request,
    staff: Person,
    pages: Pages,
    wiring: Wiring,
    crn: str,
    values: dict[str, str],
    next_: str,
) -> Response:
    """Record every approved entry of the case as entered in ViSOR under one reference."""
    refused = _entry_problem(values)
    if refused is not None:
        return render_task(
            request, staff, wiring, pages, crn, errors=[refused], values=values, status_code=400
        )
    on = _entered_on(values["day"].strip(), values["month"].strip(), values["year"].strip())
    wiring.tasks.mark_entered(crn, actor=staff.code, reference=values["visor_reference"], on=on)
    if next_:
        following = wiring.tasks.claim_next_case(actor=staff.code)
        if following is not None:
            return see(request, f"/tasks/{following}", "task-next")
        return see(request, "/tasks", "task-nothing")
    return see(request, "/tasks", "task-entered")  # the case's work is done


@router.post("/tasks/{crn}/entered")
def entered(
    request: Request,
    crn: Crn,
    staff: VettedProxy,
    pages: PagesDep,
    wiring: WiringDep,
    visor_reference: Annotated[str, Form(max_length=64)] = "",
    day: Annotated[str, Form(max_length=4)] = "",
    month: Annotated[str, Form(max_length=4)] = "",
    year: Annotated[str, Form(max_length=6)] = "",
    next: Annotated[str, Form(max_length=8)] = "",
) -> Response:
    """ "Entered in ViSOR" for a case whose sections were approved earlier."""
    values = {"visor_reference": visor_reference, "day": day, "month": month, "year": year}
    return _enter(request, staff, pages, wiring, normal_crn(crn) or crn, values, next)


# -- one section ---------------------------------------------------------------------------


def render_section(
    request: Request,
    staff: Person,
    wiring: Wiring,
    pages: Pages,
    crn: str,
    entry_id: int,
    *,
    errors: list[dict[str, str]] | None = None,
    values: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    """One section as check answers (an audited view of the entry)."""
    result = wiring.review.show(entry_id, actor=staff.code, default_purpose="web:task.section")
    if result.crn != normal_crn(crn):
        return RedirectResponse(f"/tasks/{result.crn}/sections/{entry_id}", status_code=303)
    model = task_view.section_page(
        result, wiring.bundle.spec, actor=staff.code, tables=wiring.bundle.spec.tables
    )
    return _page(
        request,
        pages,
        staff,
        "tasks/task_section.html",
        {"title": f"{model.title}, case {model.crn}", "section": model},
        errors=errors,
        values=values,
        status_code=status_code,
    )


@router.get("/tasks/{crn}/sections/{entry_id}", dependencies=[SameSite])
def section(
    request: Request,
    crn: Crn,
    entry_id: EntryId,
    staff: VettedProxy,
    pages: PagesDep,
    wiring: WiringDep,
) -> Response:
    return render_section(request, staff, wiring, pages, crn, entry_id)


@router.post("/tasks/{crn}/sections/{entry_id}/return")
def return_section(
    request: Request,
    crn: Crn,
    entry_id: EntryId,
    staff: VettedProxy,
    pages: PagesDep,
    wiring: WiringDep,
    reason: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    """ "Ask the offender manager": the section goes back to the officer with a reason."""
    try:
        result = wiring.tasks.reject(entry_id, actor=staff.code, reason=reason)
    except BadInput:
        errors = [{"text": "Enter what the offender manager needs to correct", "href": "#reason"}]
        return render_section(
            request,
            staff,
            wiring,
            pages,
            crn,
            entry_id,
            errors=errors,
            values={"reason": reason},
            status_code=400,
        )
    if not result.entries:
        return see(request, "/tasks", "task-returned")
    return see(request, f"/tasks/{result.crn}", "task-returned")
