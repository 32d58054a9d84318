"""A form held when the session ended as it was sent, offered back once after sign-in."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from bridge.web.deps import PagesDep, SameSite, SignedIn, WiringDep

__all__ = ["router"]

router = APIRouter(include_in_schema=False)

#: What a held form's fields are called on the page (others are carried, not shown).
SHOWN = {
    "value": "Your answer",
    "day": "Day",
    "month": "Month",
    "year": "Year",
    "reason": "Reason for the offender manager",
    "visor_reference": "ViSOR reference",
}


@router.get("/held", dependencies=[SameSite])
def held(request: Request, staff: SignedIn, pages: PagesDep, wiring: WiringDep) -> Response:
    form = wiring.held_forms.take(staff=staff.code)
    if form is None:
        return RedirectResponse("/", status_code=303)
    rows = [
        {"key": {"text": SHOWN[k]}, "value": {"text": v or "(empty)"}}
        for k, v in form.fields.items()
        if k in SHOWN
    ]
    return pages.render(
        request,
        "tasks/held.html",
        {"title": "You were signed out before this was saved", "form": form, "rows": rows},
        staff=staff,
    )
