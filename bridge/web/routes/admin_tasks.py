"""Administrators' work pages: held tasks (release, reassign) and the attention list.

Release and reassign call `TaskService.release_task` and `TaskService.reassign`, the services
behind the CLI's `case force-release` and `case reassign`: the same rules, the same audit
events (`entry.released` / `entry.reassigned` naming the administrator and the holder). The
routes take any signed-in person and let the services decide, so a refusal of someone who is
not an administrator is audited exactly as the CLI's is. A refused action re-renders the page
(400 or 409) with a GOV.UK error summary linking the control; a done one redirects
(Post/Redirect/Get) to the page with a success banner whose words are fixed (shown only when
the tasks bear out the CRN and proxy it names).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Path, Request
from fastapi.responses import RedirectResponse, Response

from bridge.core.attention import AttentionReason
from bridge.core.attention_words import attention_guidance, attention_label
from bridge.core.vocabulary import long_datetime, section_label
from bridge.errors import BadInput, WrongState
from bridge.services.held_tasks import HeldTask
from bridge.services.tasks import normal_crn
from bridge.services.views import Person
from bridge.web.deps import PagesDep, SameSite, SignedIn, WiringDep, csrf_protect

__all__ = ["ATTENTION_LINKS", "router"]

router = APIRouter(prefix="/admin", dependencies=[Depends(csrf_protect)], include_in_schema=False)

Crn = Annotated[str, Path(max_length=16)]
#: Success banners, chosen by `?done=`: fixed words, a CRN and a staff code the tasks bear out.
DONE = {
    "released": "Task {crn} released: its entries are back in the queue for any proxy",
    "reassigned": "Task {crn} reassigned to {to}",
}
#: Where an administrator acts on each attention reason, when there is a page for it.
ATTENTION_LINKS: dict[str, tuple[str, str]] = {
    AttentionReason.REFUSED: ("/admin/sync", "Go to sync runs and retries"),
    AttentionReason.UNREADABLE: ("/admin/sync", "Go to sync runs and retries"),
    AttentionReason.NOT_FOUND: ("/admin/sync", "Go to sync runs and retries"),
    AttentionReason.UNTAKEABLE: ("/admin/staff", "Go to staff and vetting"),
}


def _when(value: Any) -> str:
    return long_datetime(value, zone=True) if value is not None else ""


def _row(task: HeldTask) -> dict[str, Any]:
    holder = f"{task.holder_name} ({task.holder})" if task.holder_name else task.holder
    if task.expires is not None:
        expires = _when(task.expires)
    else:
        expires = "Does not lapse: approved, waiting to be entered in ViSOR"
    return {
        "crn": task.crn,
        "sections": ", ".join(section_label(s) for s in task.sections),
        "holder": holder,
        "holder_may_act": task.holder_may_act,
        "since": _when(task.since) or "Not recorded",
        "expires": expires,
        "entries": task.entries,
        "releasable": task.expires is not None,
        "takers": [{"code": t.code, "text": f"{t.name} ({t.code})"} for t in task.takers],
    }


def _banner(request: Request, held: list[HeldTask]) -> str | None:
    """The success banner `?done=` asks for, only when the tasks bear it out: a released task
    has no claim left, a reassigned one is held by the proxy named. So a crafted address shows
    nothing that is not true."""
    done = request.query_params.get("done", "")
    crn = normal_crn(request.query_params.get("crn", ""))
    if done not in DONE or crn is None:
        return None
    task = next((t for t in held if t.crn == crn), None)
    if done == "released":
        return DONE[done].format(crn=crn) if task is None or task.expires is None else None
    to = request.query_params.get("to", "").strip().upper()
    if task is None or task.holder != to:
        return None
    return DONE[done].format(crn=crn, to=to)


def _tasks_page(
    request: Request,
    staff: Person,
    wiring: WiringDep,
    pages: PagesDep,
    *,
    errors: list[dict[str, str]] | None = None,
    chosen: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    held = wiring.held_tasks.listing(actor=staff.code)
    return pages.render(
        request,
        "admin/tasks.html",
        {
            "title": "Held tasks",
            "tasks": [_row(t) for t in held],
            "done": None if errors else _banner(request, held),
            "errors": errors or [],
            "chosen": chosen or {},
            "claim_minutes": wiring.settings.claim_minutes,
        },
        staff=staff,
        status_code=status_code,
    )


@router.get("/tasks", dependencies=[SameSite])
def held_tasks(request: Request, staff: SignedIn, wiring: WiringDep, pages: PagesDep) -> Response:
    return _tasks_page(request, staff, wiring, pages)


def _refused(
    request: Request,
    staff: Person,
    wiring: WiringDep,
    pages: PagesDep,
    exc: Exception,
    href: str,
    chosen: dict[str, str] | None = None,
) -> Response:
    status = 409 if isinstance(exc, WrongState) else 400
    errors = [{"text": str(exc), "href": href}]
    return _tasks_page(
        request, staff, wiring, pages, errors=errors, chosen=chosen, status_code=status
    )


@router.post("/tasks/{crn}/release")
def release_task(
    request: Request, staff: SignedIn, wiring: WiringDep, pages: PagesDep, crn: Crn
) -> Response:
    try:
        task = wiring.tasks.release_task(crn, admin=staff.code)
    except (WrongState, BadInput) as exc:
        norm = normal_crn(crn)
        return _refused(request, staff, wiring, pages, exc, f"#release-{norm or 'none'}")
    return RedirectResponse(f"/admin/tasks?done=released&crn={task.crn}", status_code=303)


@router.post("/tasks/{crn}/reassign")
def reassign_task(
    request: Request,
    staff: SignedIn,
    wiring: WiringDep,
    pages: PagesDep,
    crn: Crn,
    to: Annotated[str, Form(max_length=16)] = "",
) -> Response:
    norm = normal_crn(crn)
    href = f"#to-{norm or 'none'}"
    target = to.strip().upper()
    try:
        if not target:
            # Nothing chosen: refused by the service's own check first (audited for others).
            wiring.held_tasks.listing(actor=staff.code)
            raise BadInput(f"Choose the proxy to give task {norm or crn} to")
        task = wiring.tasks.reassign(crn, to=target, admin=staff.code)
    except (WrongState, BadInput) as exc:
        chosen = {norm: target} if norm else {}
        return _refused(request, staff, wiring, pages, exc, href, chosen)
    return RedirectResponse(
        f"/admin/tasks?done=reassigned&crn={task.crn}&to={target}", status_code=303
    )


@router.get("/attention", dependencies=[SameSite])
def attention(request: Request, staff: SignedIn, wiring: WiringDep, pages: PagesDep) -> Response:
    rows = wiring.admin.attention(actor=staff.code)
    return pages.render(
        request,
        "admin/attention.html",
        {
            "title": "Cases to look at",
            "cases": [
                {
                    "crn": r.crn,
                    "reason": attention_label(r.reason),
                    "guidance": attention_guidance(r.reason),
                    "since": _when(r.since),
                    "link": ATTENTION_LINKS.get(r.reason),
                }
                for r in rows
            ],
        },
        staff=staff,
    )
