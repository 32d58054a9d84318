"""The JSON API under /api/ (OpenAPI at /api/openapi.json): the same services and rules as the pages.

Read-only: the proxy's queue, one entry (an audited consultation, exactly like opening the entry
page) and the status of a case. Each endpoint calls the service the matching page calls, so a
script sees what the person could see in a browser and nothing more: hidden cases stay hidden,
refusals are the translator's one 403 answer ({"error": {"status", "message"}}), and every view
of an entry's content is an audit event.

Sign-in is the pages' signed session cookie (`bridge_session`). A script signs in like a browser:
GET /login for the cookie and its CSRF token, POST /login with the username, password and token,
then sends the cookie with every call; without a live session the API answers 401. The GETs here
need no CSRF token (SameSite=Lax cookies are sent by another site only on top-level navigations,
which cannot read the JSON); the case-task POSTs (`bridge.web.routes.api_tasks`) also carry the
session's CSRF token in an `X-CSRF-Token` header (GET /api/csrf-token gives it).

Single sign-on later (nothing here changes): put the organisation's identity provider in front,
either (a) a reverse proxy doing OIDC (for example oauth2-proxy or the ingress's OIDC module) that
strips any client-sent identity header and sets a trusted one (`X-Forwarded-User: <staff code>`)
on requests it has authenticated, with a new `/login/sso` route that accepts that header only
from the proxy's address (a setting) and starts the same `AccountService` session as a password
sign-in; or (b) an OIDC authorisation-code flow done by the service itself, whose callback
exchanges the code for an ID token, maps its subject to a staff code in the registry and starts
the same session. Either way the session cookie, roles, vetting and exclusions stay exactly as
they are, and scripts keep using the cookie (or swap a token for one at /login).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, Field

from bridge.core.lifecycle import State
from bridge.services.queue_view import QueueFilters
from bridge.services.views import jsonable
from bridge.web.deps import Proxy, SameSite, SignedIn, WiringDep

__all__ = ["router"]

EntryState = State


# -- response models (they are the OpenAPI document) -----------------------------------------


class ErrorDetail(BaseModel):
    status: int = Field(description="The HTTP status, repeated.")
    message: str = Field(description="What happened, in words a person can act on.")
    reference: str | None = Field(
        default=None, description="For a 500 only: quote it to the administrator."
    )


class ErrorBody(BaseModel):
    """Every error under /api/. Refusals never say whether the entry or case exists."""

    error: ErrorDetail


class Issue(BaseModel):
    code: str = Field(description="A stable machine code, e.g. `missing-field`.")
    path: str = Field(description="The field path in the record, e.g. `Address[2]/Postcode`.")
    message: str
    blocking: bool = Field(description="The entry cannot be approved until it is resolved.")


class QueueRow(BaseModel):
    """Queue metadata of one entry: never record content."""

    id: int
    crn: str
    section: str
    kind: str
    status: str
    on_behalf_of: str = Field(description="Staff code of the offender manager it is entered for.")
    owning_force: str | None
    created_at: datetime
    due_date: date
    overdue: bool = Field(description="Still waiting for a proxy after its due date.")
    claimed_by: str | None
    issues: list[Issue]


class QueueResponse(BaseModel):
    rows: list[QueueRow]
    total: int = Field(description="Entries matching the filters that you may handle.")
    page: int
    per_page: int
    pages: int


class HistoryEvent(BaseModel):
    at: datetime
    actor: str
    action: str = Field(description="e.g. `entry.viewed`, `entry.claimed`, `entry.approved`.")
    detail: dict[str, Any] = Field(description="Ids, states and reasons only.")


class DiffItem(BaseModel):
    """One field that differs from what ViSOR holds (the baseline); None means absent."""

    path: str
    before: str | None
    after: str | None
    mapped: str | None = Field(
        default=None, description="When a proxy's edit differs from the mapping: the mapped value."
    )
    edited: bool = Field(default=False, description="A proxy edited this field.")


class EntryResponse(BaseModel):
    """One entry with its record: every GET is recorded as a consultation in the audit log."""

    id: int
    crn: str
    section: str
    kind: str
    status: str
    on_behalf_of: str
    created_at: datetime
    due_date: date
    owning_force: str | None = None
    claimed_by: str | None = Field(default=None, description="Staff code of its current claim.")
    version: int = Field(description="Send it back with a decision to detect a stale view.")
    xml: str | None = Field(description="The ViSOR-format record as it stands.")
    diff: list[DiffItem]
    issues: list[Issue]
    reason: str | None = Field(description="Why it was rejected, if it was.")
    visor_reference: str | None
    entered_at: date | None
    history: list[HistoryEvent]


class StatusEntry(BaseModel):
    id: int
    section: str
    kind: str
    status: str
    created_at: datetime
    due_date: date
    entered_at: date | None
    reason: str | None


class CaseStatusResponse(BaseModel):
    """States, dates and reasons of a case's entries: never record content."""

    crn: str
    entries: list[StatusEntry]


_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorBody, "description": "A parameter is missing or not in the right form."},
    401: {"model": ErrorBody, "description": "Not signed in (no live session cookie)."},
    403: {"model": ErrorBody, "description": "Not permitted, or no such entry or case."},
}

#: Every /api/ router documents these (bridge.web.routes.api_tasks too).
API_ERRORS = _ERRORS
router = APIRouter(prefix="/api", tags=["api"], responses=_ERRORS)


# -- endpoints -------------------------------------------------------------------------------


@router.get("/queue", response_model=QueueResponse, summary="The proxy's queue, one page")
def api_queue(
    staff: Proxy,
    wiring: WiringDep,
    state: Annotated[
        EntryState | None, Query(description="Default: everything still waiting for a proxy.")
    ] = None,
    force: Annotated[str | None, Query(max_length=16, description="Owning force code.")] = None,
    due: Annotated[Literal["overdue", "today", "week"] | None, Query()] = None,
    kind: Annotated[str | None, Query(max_length=32)] = None,
    crn: Annotated[str | None, Query(max_length=16, description="Exactly this CRN.")] = None,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    per_page: Annotated[int, Query(ge=1, le=100)] = 25,
) -> dict[str, Any]:
    """Entries you may handle (cases you are excluded from, restricted away from or manage
    yourself are left out), earliest due first. Needs current proxy vetting."""
    result = wiring.queue.page(
        actor=staff.code,
        filters=QueueFilters(
            state=state,
            force=force or None,
            due=due,
            kind=kind or None,
            crn=(crn or "").strip().upper() or None,
        ),
        page=page,
        per_page=per_page,
    )
    return {
        "rows": jsonable(result.rows),
        "total": result.total,
        "page": result.page,
        "per_page": result.per_page,
        "pages": result.pages,
    }


@router.get(
    "/entries/{entry_id}",
    response_model=EntryResponse,
    summary="One entry (audited)",
    dependencies=[SameSite],
)
def api_entry(
    entry_id: Annotated[int, Path(ge=1)],
    staff: Proxy,
    wiring: WiringDep,
    purpose: Annotated[
        str | None,
        Query(
            max_length=200,
            description="Why you are viewing it (recorded; required when the service says so).",
        ),
    ] = None,
) -> dict[str, Any]:
    """The entry with its record, diff, issues, version and history. Recorded in the audit log
    as a consultation, exactly like opening the entry page."""
    shown: dict[str, Any] = jsonable(
        wiring.review.show(
            entry_id, actor=staff.code, purpose=purpose, default_purpose="api:entry.show"
        )
    )
    return shown


@router.get(
    "/cases/{crn}/status",
    response_model=CaseStatusResponse,
    summary="The status of a case",
    dependencies=[SameSite],
)
def api_case_status(
    crn: Annotated[str, Path(min_length=1, max_length=16)],
    staff: SignedIn,
    wiring: WiringDep,
) -> dict[str, Any]:
    """For the offender manager who manages the case, and nobody else: anyone else gets the
    same 403 whether or not the case exists. Reasons only for returned and superseded entries."""
    shown: dict[str, Any] = jsonable(wiring.status.case(crn.strip().upper(), actor=staff.code))
    return shown
