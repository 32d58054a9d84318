"""Proxy pages: the queue and the entry (claim, review, edit, approve, reject, mark entered).

Each page calls a service and renders; every rule (vetting, exclusions, claims, versions,
blocking issues) is the services'. Every action is Post/Redirect/Get: the redirect goes to the
plain page address (the UI contract: claim next → /entries/{id}) and carries a short-lived
cookie with a `done` code, which the next page turns into one of the fixed messages below and
clears. Only codes from that list are shown, so nothing a request carries is echoed back.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from bridge.core.lifecycle import State, local_date
from bridge.core.purposes import CHOSEN
from bridge.errors import BadInput
from bridge.services.editing import EditRefused
from bridge.services.queue_view import DUE_FILTERS, KINDS, STATES, QueueFilters
from bridge.services.views import Person, jsonable
from bridge.web import entry_view, notices
from bridge.web.deps import PagesDep, Proxy, SameSite, WiringDep, csrf_protect
from bridge.web.present import long_date, section_title
from bridge.web.templating import Pages
from bridge.wiring import Wiring

__all__ = ["router"]

router = APIRouter(dependencies=[Depends(csrf_protect)], include_in_schema=False)

EntryId = Annotated[int, Path(ge=1)]
PER_PAGE = 25

#: What just happened, by the `done` code an action redirects with (never request text).
DONE: dict[str, tuple[str, bool]] = {
    State.CLAIMED: ("Entry claimed", True),
    "saved": ("Changes saved", True),
    "unchanged": ("Nothing was changed", False),
    State.APPROVED: ("Entry approved", True),
    State.REJECTED: ("Entry rejected", True),
    "entered": ("Marked as entered in ViSOR", True),
    "released": ("Entry released", True),
    "nothing": ("There is nothing in the queue you can take", False),
}
DUE_LABELS = {"overdue": "Overdue", "today": "Due today or earlier", "week": "Due within 7 days"}
#: Why a page is shown again after a refused action, when views must say why (audited).
RESHOWN = "reshown"  # a purpose code (core.purposes)
#: The purpose a view implies after an action (by its `done` code); otherwise the route's own.
IMPLIED_PURPOSE = {
    State.CLAIMED: "claim",
    State.APPROVED: "decide",
    State.REJECTED: "decide",
    "entered": "decide",
    "saved": "correction",
}


def _banner(request: Request) -> dict[str, Any] | None:
    """The notification the last action left for this page, if any."""
    return notices.banner(request, DONE)


def _shown(request: Request, response: Response) -> Response:
    """The page has shown the last action's notification: clear it."""
    return notices.shown(request, response)


_see = notices.see


def _choice(value: str | None, allowed: tuple[str, ...] | list[str], what: str) -> str | None:
    value = (value or "").strip()
    if not value:
        return None
    if value not in allowed:
        raise BadInput(f"Choose a {what} from the list.")
    return value


# -- the queue ----------------------------------------------------------------------------


def _page_items(current: int, pages: int, href: Any) -> list[dict[str, Any]]:
    """GOV.UK pagination items: first, last and the pages around the current one."""
    shown = sorted({1, pages, current - 1, current, current + 1} & set(range(1, pages + 1)))
    items: list[dict[str, Any]] = []
    for number in shown:
        if items and number - items[-1].get("number", number) > 1:
            items.append({"ellipsis": True})
        items.append({"number": number, "href": href(number), "current": number == current})
    return items


@router.get("/queue")
def queue(
    request: Request,
    staff: Proxy,
    pages: PagesDep,
    wiring: WiringDep,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    state: Annotated[str | None, Query(max_length=16)] = None,
    force: Annotated[str | None, Query(max_length=16)] = None,
    due: Annotated[str | None, Query(max_length=16)] = None,
    kind: Annotated[str | None, Query(max_length=32)] = None,
    crn: Annotated[str | None, Query(max_length=16)] = None,
) -> Response:
    chosen_due = _choice(due, DUE_FILTERS, "due date")
    filters = QueueFilters(
        state=_choice(state, STATES, "state"),
        force=(force or "").strip() or None,
        due=chosen_due,  # type: ignore[arg-type]  # one of DUE_FILTERS, checked above
        kind=_choice(kind, KINDS, "kind"),
        crn=(crn or "").strip().upper() or None,
    )
    result = wiring.queue.page(actor=staff.code, filters=filters, page=page, per_page=PER_PAGE)
    query = {
        k: v
        for k, v in (
            ("state", filters.state),
            ("force", filters.force),
            ("due", filters.due),
            ("kind", filters.kind),
            ("crn", filters.crn),
        )
        if v
    }

    def href(number: int) -> str:
        return "/queue?" + urlencode({**query, "page": number})

    current = min(page, result.pages)
    response = pages.render(
        request,
        "queue.html",
        {
            "title": "Queue",
            "banner": _banner(request),
            "result": result,
            "rows": [
                {
                    **jsonable(row),
                    "section_title": section_title(row.section),
                    "due_text": long_date(row.due_date),
                }
                for row in result.rows
            ],
            "filters": filters,
            "states": STATES,
            "due_labels": DUE_LABELS,
            "pagination": {
                "items": _page_items(current, result.pages, href),
                "previous": {"href": href(page - 1)} if page > 1 else None,
                "next": {"href": href(page + 1)} if page < result.pages else None,
            }
            if result.pages > 1
            else None,
        },
        staff=staff,
    )
    return _shown(request, response)


@router.post("/queue/claim-next")
def claim_next(request: Request, staff: Proxy, wiring: WiringDep) -> Response:
    claimed = wiring.review.claim_next(actor=staff.code)
    if claimed is None:
        return _see(request, "/queue", "nothing")
    return _see(request, f"/entries/{claimed.id}", State.CLAIMED)


# -- one entry ------------------------------------------------------------------------------


def _render_entry(
    request: Request,
    staff: Person,
    wiring: Wiring,
    pages: Pages,
    entry_id: int,
    *,
    purpose: str | None = None,
    submitted: dict[str, str] | None = None,
    problems: list[tuple[str, str]] | None = None,
    form_errors: list[dict[str, str]] | None = None,
    values: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    """Show the entry (an audited view) with any errors of the action just refused."""
    if purpose is None and status_code != 200 and wiring.settings.view_purpose_required:
        purpose = RESHOWN
    implied = IMPLIED_PURPOSE.get(request.cookies.get(notices.DONE_COOKIE) or "", "web:entry.view")
    shown = wiring.review.show(entry_id, actor=staff.code, purpose=purpose, default_purpose=implied)
    model = entry_view.entry_page(
        shown,
        wiring.bundle.spec,
        actor=staff.code,
        manual_sink=wiring.settings.sink == "manual",
        today=local_date(wiring.clock.now()),
        submitted=submitted,
        problems=problems,
    )
    errors = (form_errors or []) + model.blocking
    response = pages.render(
        request,
        "entry.html",
        {
            "title": f"Entry {entry_id}",
            "banner": _banner(request),
            "page": model,
            "entry": model.entry,
            "errors": errors,
            "form_errors": {e["href"].lstrip("#"): e["text"] for e in form_errors or []},
            "values": values or {},
            "due_text": long_date(model.entry.get("due_date")),
            "entered_text": long_date(model.entry.get("entered_at")),
        },
        staff=staff,
        status_code=status_code,
    )
    return _shown(request, response)


@router.get("/entries/{entry_id}", dependencies=[SameSite])
def entry(
    request: Request,
    entry_id: EntryId,
    staff: Proxy,
    pages: PagesDep,
    wiring: WiringDep,
) -> Response:
    if wiring.settings.view_purpose_required:
        wiring.review.check_access(entry_id, actor=staff.code)
        asked = pages.render(
            request,
            "proxy/purpose.html",
            {
                "title": f"Entry {entry_id}",
                "entry_id": entry_id,
                "banner": _banner(request),
                "purposes": CHOSEN,
            },
            staff=staff,
        )
        return _shown(request, asked)
    return _render_entry(request, staff, wiring, pages, entry_id)


@router.post("/entries/{entry_id}/view", dependencies=[SameSite])
def entry_with_purpose(
    request: Request,
    entry_id: EntryId,
    staff: Proxy,
    pages: PagesDep,
    wiring: WiringDep,
    purpose: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    """The entry, after the proxy said why they are opening it (recorded with the view)."""
    if not purpose.strip():
        wiring.review.check_access(entry_id, actor=staff.code)
        message = "Select why you are viewing this entry"
        return pages.render(
            request,
            "proxy/purpose.html",
            {
                "title": f"Entry {entry_id}",
                "entry_id": entry_id,
                "purposes": CHOSEN,
                "errors": [{"text": message, "href": "#purpose"}],
                "purpose_error": message,
            },
            staff=staff,
            status_code=400,
        )
    return _render_entry(request, staff, wiring, pages, entry_id, purpose=purpose)


@router.post("/entries/{entry_id}/claim")
def claim(request: Request, entry_id: EntryId, staff: Proxy, wiring: WiringDep) -> Response:
    wiring.review.claim(entry_id, actor=staff.code)
    return _see(request, f"/entries/{entry_id}", State.CLAIMED)


@router.post("/entries/{entry_id}/edit")
async def edit(
    request: Request,
    entry_id: EntryId,
    staff: Proxy,
    pages: PagesDep,
    wiring: WiringDep,
    version: Annotated[int, Form(ge=1)],
) -> Response:
    form = await request.form()  # every field of the record, named by its path
    submitted = {k: v for k, v in form.items() if isinstance(v, str)}
    changes = await run_in_threadpool(
        entry_view.changed_fields,
        wiring.review,
        wiring.bundle.spec,
        entry_id,
        actor=staff.code,
        submitted=submitted,
    )
    if not changes:
        return _see(request, f"/entries/{entry_id}", "unchanged")
    try:
        await run_in_threadpool(
            wiring.editing.edit, entry_id, actor=staff.code, version=version, changes=changes
        )
    except EditRefused as refused:
        problems = [(p.path, p.message) for p in refused.problems]
        return await run_in_threadpool(
            lambda: _render_entry(
                request,
                staff,
                wiring,
                pages,
                entry_id,
                submitted=submitted,
                problems=problems,
                status_code=400,
            )
        )
    return _see(request, f"/entries/{entry_id}", "saved")


@router.post("/entries/{entry_id}/approve")
def approve(
    request: Request,
    entry_id: EntryId,
    staff: Proxy,
    wiring: WiringDep,
    version: Annotated[int, Form(ge=1)],
) -> Response:
    wiring.review.approve(entry_id, actor=staff.code, version=version)
    return _see(request, f"/entries/{entry_id}", State.APPROVED)


@router.post("/entries/{entry_id}/reject")
def reject(
    request: Request,
    entry_id: EntryId,
    staff: Proxy,
    pages: PagesDep,
    wiring: WiringDep,
    reason: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    try:
        wiring.review.reject(entry_id, actor=staff.code, reason=reason)
    except BadInput:  # no reason given
        return _render_entry(
            request,
            staff,
            wiring,
            pages,
            entry_id,
            form_errors=[{"text": "Enter the reason for rejecting the entry", "href": "#reason"}],
            values={"reason": reason},
            status_code=400,
        )
    return _see(request, "/queue", State.REJECTED)


@router.post("/entries/{entry_id}/entered")
def entered(
    request: Request,
    entry_id: EntryId,
    staff: Proxy,
    pages: PagesDep,
    wiring: WiringDep,
    visor_reference: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    try:
        wiring.review.mark_entered(entry_id, actor=staff.code, reference=visor_reference)
    except BadInput:
        message = "Enter the ViSOR reference: 4 to 32 letters, digits, slashes or hyphens"
        return _render_entry(
            request,
            staff,
            wiring,
            pages,
            entry_id,
            form_errors=[{"text": message, "href": "#visor_reference"}],
            values={"visor_reference": visor_reference},
            status_code=400,
        )
    return _see(request, f"/entries/{entry_id}", "entered")


@router.post("/entries/{entry_id}/release")
def release(request: Request, entry_id: EntryId, staff: Proxy, wiring: WiringDep) -> Response:
    wiring.review.release(entry_id, actor=staff.code)
    return _see(request, "/queue", "released")
