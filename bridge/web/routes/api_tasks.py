"""Case tasks in the JSON API (ARCHITECTURE §3; the `case` commands of §6 as endpoints).

The same `TaskService` the CLI and the task pages call, with the same rules. Sign-in is the
pages' session cookie (see `bridge.web.routes.api`). These endpoints change state, so every
POST also carries the session's CSRF token in the `X-CSRF-Token` header (GET /api/csrf-token
gives it to a signed-in script; the pages' forms hold the same value): a cookie alone, sent by
another site's form, is refused. JSON `status` values are the §3 state names; `label` is the
state in the words people read (`bridge.core.vocabulary`).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Path, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from bridge.core.vocabulary import kind_label, section_label, state_label
from bridge.errors import ApprovalRefused
from bridge.services.views import jsonable
from bridge.web.deps import Admin, CsrfFailed, Proxy, SameSite, SignedIn, WiringDep
from bridge.web.routes.api import API_ERRORS, ErrorBody, Issue
from bridge.web.session import BrowserTokens

__all__ = ["router"]


async def csrf_header(request: Request) -> None:
    """A state-changing API call carries this browser's CSRF token in `X-CSRF-Token`."""
    tokens: BrowserTokens = request.app.state.tokens
    token = getattr(request.state, "browser_token", None)
    if token is None or not tokens.csrf_ok(token, request.headers.get("x-csrf-token")):
        raise CsrfFailed()


Csrf = Annotated[None, Depends(csrf_header)]
CrnPath = Annotated[str, Path(min_length=1, max_length=16, description="The case's CRN.")]


# -- response models (they are the OpenAPI document) -----------------------------------------


class TaskRowOut(BaseModel):
    """One case task: metadata only (the `case list --json` keys, and a few more)."""

    crn: str
    entries: int = Field(description="Open entries of the case.")
    sections: list[str]
    due_date: date = Field(description="The earliest open entry's due date.")
    overdue: bool
    blocking_issues: int
    claimed_by: str | None = Field(description="Staff code of whoever holds the task.")
    name: str | None = Field(description="The person's name (vetted proxies only).")
    states: dict[str, int] = Field(description="Open entries by state.")


class TaskListOut(BaseModel):
    rows: list[TaskRowOut]
    total: int
    page: int
    per_page: int
    pages: int


class TaskEntryOut(BaseModel):
    """An entry's metadata, as in `queue list`."""

    id: int
    crn: str
    kind: str
    section: str
    status: str
    on_behalf_of: str
    created_at: datetime
    due_date: date
    issues: list[Issue]
    label: str = Field(description="The state in words: Waiting, With a proxy, Approved, …")


class TaskOut(BaseModel):
    crn: str
    entries: list[TaskEntryOut]


class ShownEntryOut(BaseModel):
    id: int
    section: str
    kind: str
    status: str
    version: int = Field(description="Send it back with approve to detect a stale view.")
    issues: list[Issue]
    xml: str | None
    diff: list[dict[str, Any]]
    due_date: date
    claimed_by: str | None
    label: str
    kind_label: str
    section_label: str


class ShownOut(BaseModel):
    """Every open entry of the case with its record: each is recorded as a consultation."""

    crn: str
    entries: list[ShownEntryOut]
    held_by: str | None
    claim_expires: Any = Field(description="When your claim lapses unless you work on it.")
    claim_lapsed: bool = Field(description="Your last claim on the case lapsed.")


class ApproveIn(BaseModel):
    versions: dict[int, int] = Field(description="Entry id → the version you saw.")


class EnteredIn(BaseModel):
    reference: str = Field(max_length=64, description="The ViSOR reference.")
    model_config = ConfigDict(populate_by_name=True)

    on: date | None = Field(
        default=None, alias="date", description="When keyed in, YYYY-MM-DD (default today)."
    )


class ReassignIn(BaseModel):
    to: str = Field(max_length=16, description="Staff code of the proxy to give it to.")


# The same documented refusals as the rest of the API (400, 401, 403): the schemathesis run
# (tests/web/test_api_fuzz.py) holds every response to its documented status codes.
router = APIRouter(prefix="/api", tags=["tasks"], responses=API_ERRORS)


def _task(task: Any) -> dict[str, Any]:
    out = jsonable(task)
    for e in out["entries"]:
        e["label"] = state_label(e["status"])
    return {"crn": out["crn"], "entries": out["entries"]}


# -- endpoints -------------------------------------------------------------------------------


@router.get("/csrf-token", summary="The CSRF token for this session's POSTs")
def api_csrf_token(request: Request, staff: SignedIn) -> dict[str, str]:
    """Send it as `X-CSRF-Token` with every POST under /api/."""
    tokens: BrowserTokens = request.app.state.tokens
    return {"csrf_token": tokens.csrf(request.state.browser_token), "staff": staff.code}


@router.get(
    "/tasks",
    response_model=TaskListOut,
    summary="Case tasks, earliest due first",
    dependencies=[SameSite],
)
def api_tasks(
    staff: Proxy,
    wiring: WiringDep,
    mine: Annotated[bool, Query(description="Only the tasks you hold.")] = False,
    crn: Annotated[str | None, Query(max_length=16, description="Exactly this CRN.")] = None,
    name: Annotated[
        str | None,
        Query(max_length=100, description="Search by name (recorded, as a keyed hash)."),
    ] = None,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    per_page: Annotated[int, Query(ge=1, le=100)] = 25,
) -> dict[str, Any]:
    """Cases with open entries that you may handle (needs current proxy vetting)."""
    result = wiring.tasks.listing(
        actor=staff.code,
        held_by=staff.code if mine else None,
        crn=crn or None,
        name=(name or "").strip() or None,
        limit=per_page,
        offset=(page - 1) * per_page,
    )
    return {
        "rows": jsonable(result.rows),
        "total": result.total,
        "page": page,
        "per_page": per_page,
        "pages": max(1, -(-result.total // per_page)),
    }


@router.post("/tasks/claim-next", response_model=TaskOut | None, summary="Claim the next task")
def api_claim_next(staff: Proxy, _csrf: Csrf, wiring: WiringDep) -> dict[str, Any] | None:
    """The task whose earliest waiting entry is due first, that you may take and nobody
    holds; null when there is none."""
    task = wiring.tasks.claim_next(actor=staff.code)
    return _task(task) if task is not None else None


@router.post("/tasks/{crn}/claim", response_model=TaskOut, summary="Claim a task")
def api_claim(crn: CrnPath, staff: Proxy, _csrf: Csrf, wiring: WiringDep) -> dict[str, Any]:
    return _task(wiring.tasks.claim(crn, actor=staff.code))


@router.post("/tasks/{crn}/release", response_model=TaskOut, summary="Release your claim")
def api_release(crn: CrnPath, staff: Proxy, _csrf: Csrf, wiring: WiringDep) -> dict[str, Any]:
    return _task(wiring.tasks.release(crn, actor=staff.code))


@router.get(
    "/tasks/{crn}",
    response_model=ShownOut,
    summary="A task's entries (audited)",
    dependencies=[SameSite],
)
def api_task(
    crn: CrnPath,
    staff: Proxy,
    wiring: WiringDep,
    purpose: Annotated[str | None, Query(max_length=200)] = None,
) -> dict[str, Any]:
    """Every open entry of the case with its record, diff, issues and version; each is
    recorded as a consultation. Renews your claims on the case."""
    shown = wiring.tasks.show(
        crn, actor=staff.code, purpose=purpose, default_purpose="api:task.show"
    )
    out = jsonable(shown)
    for e in out["entries"]:
        e["label"] = state_label(e["status"])
        e["kind_label"] = kind_label(e["kind"])
        e["section_label"] = section_label(e["section"])
    return dict(out)


@router.post(
    "/tasks/{crn}/approve",
    response_model=TaskOut,
    summary="Approve entries, all or nothing",
    responses={409: {"description": "Refused as a whole: `error.failures` names each entry."}},
)
def api_approve(
    crn: CrnPath,
    staff: Proxy,
    _csrf: Csrf,
    wiring: WiringDep,
    body: Annotated[ApproveIn, Body()],
) -> Any:
    """Approve the listed entries at the versions you saw. A stale version, a blocking issue
    or an entry you have not claimed refuses them all (409, each failure listed)."""
    try:
        return _task(wiring.tasks.approve(crn, actor=staff.code, versions=body.versions))
    except ApprovalRefused as exc:
        failures = jsonable(exc.failures)
        error = {"status": 409, "message": str(exc), "failures": failures}
        return JSONResponse({"error": error}, status_code=409)


@router.post("/tasks/{crn}/entered", response_model=TaskOut, summary="Entered in ViSOR")
def api_entered(
    crn: CrnPath,
    staff: Proxy,
    _csrf: Csrf,
    wiring: WiringDep,
    body: Annotated[EnteredIn, Body()],
) -> dict[str, Any]:
    """Every approved entry of the case was keyed into ViSOR under one reference."""
    task = wiring.tasks.mark_entered(crn, actor=staff.code, reference=body.reference, on=body.on)
    return _task(task)


#: A state that does not allow the move (nothing claimed, nothing open): documented (#18's fuzz).
_STATE_CONFLICT: dict[int | str, dict[str, Any]] = {
    409: {
        "model": ErrorBody,
        "description": "The case's entries are not in a state that allows it.",
    }
}


@router.post(
    "/tasks/{crn}/force-release",
    response_model=TaskOut,
    summary="Administrators: release",
    responses=_STATE_CONFLICT,
)
def api_force_release(crn: CrnPath, staff: Admin, _csrf: Csrf, wiring: WiringDep) -> dict[str, Any]:
    return _task(wiring.tasks.release_task(crn, admin=staff.code))


@router.post(
    "/tasks/{crn}/reassign",
    response_model=TaskOut,
    summary="Administrators: reassign",
    responses=_STATE_CONFLICT,
)
def api_reassign(
    crn: CrnPath,
    staff: Admin,
    _csrf: Csrf,
    wiring: WiringDep,
    body: Annotated[ReassignIn, Body()],
) -> dict[str, Any]:
    return _task(wiring.tasks.reassign(crn, to=body.to, admin=staff.code))
