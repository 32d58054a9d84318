"""Offender manager pages: "My cases" and a case's entries' states and dates (never content).

The status service decides who may see what (only the managing officer, audited); these
pages only format its rows. Nothing here can show a record: the service never reads one.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import Response

from bridge.services.status import managed_case, my_cases
from bridge.web.deps import OffenderManager, PagesDep, WiringDep, csrf_protect
from bridge.web.present import long_date

__all__ = ["router"]

router = APIRouter(dependencies=[Depends(csrf_protect)], include_in_schema=False)

#: Tag colours for the officer's states (GOV.UK tag modifier classes).
STATE_TAGS = {
    "pending": "govuk-tag--grey",
    "claimed": "govuk-tag--blue",
    "approved": "govuk-tag--turquoise",
    "submitted": "govuk-tag--purple",
    "accepted": "govuk-tag--green",
    "rejected": "govuk-tag--orange",
    "failed": "govuk-tag--red",
    "superseded": "govuk-tag--grey",
}


@router.get("/cases")
def cases_page(
    request: Request, staff: OffenderManager, wiring: WiringDep, pages: PagesDep
) -> Response:
    rows = my_cases(wiring.engine, wiring.clock, actor=staff.code)
    return pages.render(
        request,
        "cases.html",
        {
            "title": "My cases",
            "cases": [{**row, "entered": long_date(row["entered_on"])} for row in rows],
        },
        staff=staff,
    )


@router.get("/cases/{crn}")
def case_page(
    request: Request,
    staff: OffenderManager,
    wiring: WiringDep,
    pages: PagesDep,
    crn: Annotated[str, Path(max_length=16)],
) -> Response:
    case = managed_case(wiring.engine, wiring.clock, crn=crn.upper(), actor=staff.code)
    entries = [
        {
            **e,
            "tag": STATE_TAGS.get(e["status"], "govuk-tag--grey"),
            "created": long_date(e["created_at"]),
            "due": long_date(e["due_date"]),
            "entered": long_date(e["entered_at"]),
        }
        for e in case["entries"]
    ]
    return pages.render(
        request,
        "case.html",
        {"title": f"Case {case['crn']}", "crn": case["crn"], "entries": entries},
        staff=staff,
    )
