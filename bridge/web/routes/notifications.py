"""The Notifications page (issue 16): each person turns each kind of message on or off — their
own only — and administrators see the messages GOV.UK Notify refused. Messages are sent to the
address in the staff registry; none carries record content (bridge.core.notify_kinds)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response

from bridge.core.notify_kinds import kind_info
from bridge.core.vocabulary import long_datetime
from bridge.web.deps import Admin, PagesDep, SameSite, SignedIn, WiringDep, csrf_protect

__all__ = ["router"]

router = APIRouter(dependencies=[Depends(csrf_protect)], include_in_schema=False)


@router.get("/notifications", dependencies=[SameSite])
def notifications_page(
    request: Request, staff: SignedIn, wiring: WiringDep, pages: PagesDep
) -> Response:
    service = wiring.notify()
    kinds = service.kinds_for(staff.code)
    return pages.render(
        request,
        "notifications.html",
        {
            "title": "Notifications",
            "done": "Your choices are saved" if request.query_params.get("done") else None,
            "enabled": service.enabled,
            "email": service.email_of(staff.code),
            "kinds": [
                {
                    "value": kind.value,
                    "title": kind_info(kind).title,
                    "means": kind_info(kind).means,
                    "on": on,
                }
                for kind, on in kinds
            ],
            "is_admin": "admin" in staff.roles,
        },
        staff=staff,
    )


@router.post("/notifications")
async def save_notifications(request: Request, staff: SignedIn, wiring: WiringDep) -> Response:
    form = await request.form()
    chosen = {value for value in form.getlist("kinds") if isinstance(value, str)}
    wiring.notify().set_kinds(staff.code, on=chosen)
    return RedirectResponse("/notifications?done=saved", status_code=303)


@router.get("/admin/notifications", dependencies=[SameSite])
def failed_notifications(
    request: Request, staff: Admin, wiring: WiringDep, pages: PagesDep
) -> Response:
    service = wiring.notify()
    failed = service.failed(admin=staff.code)
    return pages.render(
        request,
        "admin/notifications.html",
        {
            "title": "Notifications GOV.UK Notify refused",
            "enabled": service.enabled,
            "counts": service.counts(),
            "failed": [
                {
                    "id": f.id,
                    "kind": kind_info(f.kind).title,
                    "recipient": f.recipient or "Team mailbox",
                    "crn": f.crn or "",
                    "reason": f.reason,
                    "at": long_datetime(f.at),
                }
                for f in failed
            ],
        },
        staff=staff,
    )
