"""Offender manager pages: "My cases" and a case's entries' states and dates (never content).

The status service decides who may see what (only the managing officer, audited); these
pages only format its rows. Nothing here can show a record: the service never reads one.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import Response

from bridge.core.lifecycle import State
from bridge.core.vocabulary import (
    OVERDUE_EXPLAINED,
    OVERDUE_LABEL,
    REPLACED_RETURN_EXPLAINED,
    REPLACED_RETURN_LABEL,
    STATE_EXPLAINED,
    STATE_LABELS,
    explain_kind,
    explain_state,
    kind_label,
    long_date,
    state_label,
)
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
            "cases": [
                {
                    **jsonable(row),
                    "entered": long_date(row.entered_on),
                    "next_due": long_date(row.next_due),
                }
                for row in rows
            ],
            "unopened": [row.crn for row in rows if row.unopened],
            "overdue_label": OVERDUE_LABEL,
            "states": _states_explained(),
        },
        staff=staff,
    )


def _states_explained() -> list[dict[str, str]]:
    """Every state an officer may see, each in one sentence (core.vocabulary's words)."""
    return [
        *({"label": STATE_LABELS[s], "text": STATE_EXPLAINED[s]} for s in State),
        {"label": OVERDUE_LABEL, "text": OVERDUE_EXPLAINED},
        {"label": REPLACED_RETURN_LABEL, "text": REPLACED_RETURN_EXPLAINED},
    ]


@router.get("/cases/{crn}", dependencies=[SameSite])
def case_page(
    request: Request,
    staff: OffenderManager,
    wiring: WiringDep,
    pages: PagesDep,
    crn: Annotated[str, Path(max_length=16)],
) -> Response:
    page = wiring.status.case_page(crn.strip().upper(), actor=staff.code)
    case = page.status
    entries = []
    for e in reversed(case.entries):  # newest first
        replaced = e.id in page.replaced
        entries.append(
            {
                **jsonable(e),
                "state": REPLACED_RETURN_LABEL if replaced else state_label(e.status),
                "explained": REPLACED_RETURN_EXPLAINED if replaced else explain_state(e.status),
                "tag": "govuk-tag--grey" if replaced else STATE_TAGS.get(State(e.status)),
                "overdue": e.id in page.overdue,
                "kind_label": kind_label(e.kind),
                "kind_explained": explain_kind(e.kind),
                "created": long_date(e.created_at),
                "due": long_date(e.due_date),
                "entered": long_date(e.entered_at),
                "reason": e.reason,
            }
        )
    return pages.render(
        request,
        "case.html",
        {
            "title": f"Case {case.crn}",
            "crn": case.crn,
            "entries": entries,
            "overdue_label": OVERDUE_LABEL,
            "overdue_explained": OVERDUE_EXPLAINED,
            "states": _states_explained(),
        },
        staff=staff,
    )
