"""Offender manager pages: "My cases" and a case's entries' states and dates (never content).

The status service decides who may see what (only the managing officer, audited); these
pages only format its rows. Nothing here can show a record: the service never reads one.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import Response

from bridge.core.lifecycle import State
from bridge.core.vocabulary import explain_state, long_date, state_label
from bridge.services.views import jsonable
from bridge.web.deps import OffenderManager, PagesDep, SameSite, WiringDep, csrf_protect

__all__ = ["router"]

router = APIRouter(dependencies=[Depends(csrf_protect)], include_in_schema=False)

#: Tag colours for the officer's states (GOV.UK tag modifier classes).
STATE_TAGS = {
    State.PENDING: "govuk-tag--grey",
    State.CLAIMED: "govuk-tag--blue",
    State.APPROVED: "govuk-tag--turquoise",
    State.SUBMITTED: "govuk-tag--purple",
    State.ACCEPTED: "govuk-tag--green",
    State.REJECTED: "govuk-tag--orange",
    State.FAILED: "govuk-tag--red",
    State.SUPERSEDED: "govuk-tag--grey",
}


@router.get("/cases", dependencies=[SameSite])
def cases_page(
    request: Request, staff: OffenderManager, wiring: WiringDep, pages: PagesDep
) -> Response:
    rows = wiring.status.my_cases(actor=staff.code)
    return pages.render(
        request,
        "cases.html",
        {
            "title": "My cases",
            "cases": [{**jsonable(row), "entered": long_date(row.entered_on)} for row in rows],
        },
        staff=staff,
    )


@router.get("/cases/{crn}", dependencies=[SameSite])
def case_page(
    request: Request,
    staff: OffenderManager,
    wiring: WiringDep,
    pages: PagesDep,
    crn: Annotated[str, Path(max_length=16)],
) -> Response:
    case = wiring.status.case(crn.strip().upper(), actor=staff.code)
    entries = [
        {
            **jsonable(e),
            "state": state_label(e.status),
            "explained": explain_state(e.status),
            "tag": STATE_TAGS.get(State(e.status), "govuk-tag--grey"),
            "created": long_date(e.created_at),
            "due": long_date(e.due_date),
            "entered": long_date(e.entered_at),
        }
        for e in reversed(case.entries)  # newest first
    ]
    return pages.render(
        request,
        "case.html",
        {"title": f"Case {case.crn}", "crn": case.crn, "entries": entries},
        staff=staff,
    )
