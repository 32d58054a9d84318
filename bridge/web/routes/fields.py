"""Question pages: one ViSOR field at a time (GOV.UK "one thing per page").

GET shows the field as a question (radios, a select, the date input or a text input, with the
field's help line as its hint); POST saves the answer through the edit service at the version
the page showed. Nothing typed is lost: a refused answer shows the page again with the error
summary and what was typed; a version that moved on shows the field as it is now beside the
answer, with one button to save the answer to the new version; a section nDelius replaced
meanwhile shows the newer record's value beside the answer, with one button to save it there;
a lapsed claim offers "Claim again and save" when nobody else holds the case.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from starlette.exceptions import HTTPException

from bridge.core.lifecycle import State
from bridge.core.record import flatten, section_of
from bridge.errors import VersionConflict, WrongState
from bridge.services.editing import EditRefused
from bridge.services.tasks import normal_crn
from bridge.services.views import Person
from bridge.web import task_view
from bridge.web.deps import PagesDep, SameSite, VettedProxy, WiringDep, csrf_protect
from bridge.web.present import problem_text
from bridge.web.questions import Question, answer, leaf_spec, question_for, readable
from bridge.web.routes.tasks import see
from bridge.web.templating import Pages
from bridge.wiring import Wiring

__all__ = ["router"]

router = APIRouter(dependencies=[Depends(csrf_protect)], include_in_schema=False)

Crn = Annotated[str, Path(min_length=1, max_length=16)]
EntryId = Annotated[int, Path(ge=1)]
FieldPath = Annotated[str, Path(min_length=1, max_length=200)]


def _value_in(xml: str | None, path: str) -> str | None:
    section = section_of(xml) if xml else None
    return flatten(section).get(path) if section is not None else None


def _question(wiring: Wiring, section: str, path: str, value: str | None) -> Question:
    spec = task_view.section_spec(wiring.bundle.spec, section)
    found = question_for(spec, path, value, wiring.bundle.spec.tables)
    if found is None:
        raise HTTPException(404)
    return found


def _render(
    request: Request,
    staff: Person,
    pages: Pages,
    *,
    crn: str,
    entry_id: int,
    version: int,
    question: Question,
    error: str | None = None,
    notice: dict[str, Any] | None = None,
    status_code: int = 200,
    to_task: bool = False,
) -> Response:
    errors = [{"text": error, "href": f"#{question.id}"}] if error else []
    action = task_view.field_href(crn, entry_id, question.path)
    return pages.render(
        request,
        "tasks/question.html",
        {
            "title": question.label,
            "crn": crn,
            "entry_id": entry_id,
            "version": version,
            "q": question,
            "action": action,
            "back": f"/tasks/{crn}" if to_task else f"/tasks/{crn}/sections/{entry_id}",
            "to_task": to_task,
            "error": error,
            "errors": errors,
            "notice": notice,
        },
        staff=staff,
        status_code=status_code,
    )


@router.get("/tasks/{crn}/sections/{entry_id}/fields/{path:path}", dependencies=[SameSite])
def field_page(
    request: Request,
    crn: Crn,
    entry_id: EntryId,
    path: FieldPath,
    staff: VettedProxy,
    pages: PagesDep,
    wiring: WiringDep,
    back: Annotated[str, Query(max_length=8)] = "",
) -> Response:
    shown = wiring.review.show(entry_id, actor=staff.code, default_purpose="correction")
    question = _question(wiring, shown.section, path, _value_in(shown.xml, path))
    if normal_crn(crn) != shown.crn or not (
        shown.status == State.CLAIMED and shown.claimed_by == staff.code
    ):
        return see(request, f"/tasks/{shown.crn}/sections/{entry_id}", "field-unchanged")
    return _render(
        request, staff, pages, crn=shown.crn, entry_id=entry_id, version=shown.version,
        question=question, to_task=back == "task",
    )  # fmt: skip


def _newer(wiring: Wiring, staff: Person, crn: str, old: Any) -> Any | None:
    """The open entry that replaced `old` (same section and item), if the caller may see it."""
    task = wiring.tasks.show(crn, actor=staff.code, default_purpose="correction")
    return next(
        (
            e
            for e in task.entries
            if e.section == old.section
            and e.id != old.id
            and e.status in (State.PENDING, State.CLAIMED)
        ),
        None,
    )


@router.post("/tasks/{crn}/sections/{entry_id}/fields/{path:path}")
async def save_field(
    request: Request,
    crn: Crn,
    entry_id: EntryId,
    path: FieldPath,
    staff: VettedProxy,
    pages: PagesDep,
    wiring: WiringDep,
) -> Response:
    form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
    return await run_in_threadpool(_save, request, crn, entry_id, path, staff, pages, wiring, form)


def _save(
    request: Request,
    crn: str,
    entry_id: int,
    path: str,
    staff: Person,
    pages: Pages,
    wiring: Wiring,
    form: dict[str, str],
) -> Response:
    norm = normal_crn(crn) or crn
    try:
        version = int(form.get("version", ""))
    except ValueError:
        version = 0
    current = wiring.review.editable(entry_id, actor=staff.code)
    before = _value_in(current.xml, path)
    typed, value, error = answer(_question(wiring, current.section, path, before), form)
    to_task = form.get("back") == "task"
    page: dict[str, Any] = {
        "crn": norm,
        "entry_id": entry_id,
        "question": typed,
        "to_task": to_task,
    }
    after = f"/tasks/{norm}" if to_task else f"/tasks/{norm}/sections/{entry_id}"
    if error is not None:
        return _render(request, staff, pages, version=version, error=error, status_code=400, **page)
    if form.get("reclaim"):
        try:
            wiring.tasks.claim(norm, actor=staff.code)
        except WrongState as refused:
            notice = {"kind": "held", "text": str(refused)}
            return _render(
                request, staff, pages, version=version, notice=notice, status_code=409, **page
            )
    if (value or "") == (before or "") and version > 0:
        return see(request, after, "field-unchanged")
    try:
        wiring.editing.edit(
            entry_id, actor=staff.code, version=version, changes={path: value or ""}
        )
    except EditRefused as refused:
        label = typed.label
        text = "; ".join(problem_text(label, p.message) for p in refused.problems)
        return _render(request, staff, pages, version=version, error=text, status_code=400, **page)
    except VersionConflict:
        return _stale(request, staff, pages, wiring, page, path)
    except WrongState:
        return _not_claimed(request, staff, pages, wiring, page, path, version)
    return see(request, after, "field-saved")


def _stale(
    request: Request, staff: Person, pages: Pages, wiring: Wiring, page: dict[str, Any], path: str
) -> Response:
    """The entry moved on since the page was shown: the field now, beside the answer."""
    shown = wiring.review.show(page["entry_id"], actor=staff.code, default_purpose="reshown")
    spec = task_view.section_spec(wiring.bundle.spec, shown.section)
    notice = {
        "kind": "stale",
        "now": readable(_value_in(shown.xml, path), leaf_spec(spec, path)) or "Not recorded",
    }
    return _render(
        request, staff, pages, version=shown.version, notice=notice, status_code=409, **page
    )


def _not_claimed(
    request: Request,
    staff: Person,
    pages: Pages,
    wiring: Wiring,
    page: dict[str, Any],
    path: str,
    version: int,
) -> Response:
    """Replaced by a newer record, or the claim lapsed: say which, keep the answer."""
    shown = wiring.review.show(page["entry_id"], actor=staff.code, default_purpose="reshown")
    if shown.status == State.SUPERSEDED:
        newer = _newer(wiring, staff, shown.crn, shown)
        if newer is not None:
            spec = task_view.section_spec(wiring.bundle.spec, newer.section)
            notice = {
                "kind": "replaced",
                "now": readable(_value_in(newer.xml, path), leaf_spec(spec, path))
                or "Not recorded",
                "mine": newer.status == State.CLAIMED and newer.claimed_by == staff.code,
            }
            return _render(
                request,
                staff,
                pages,
                crn=page["crn"],
                entry_id=newer.id,
                version=newer.version,
                question=page["question"],
                notice=notice,
                status_code=409,
                to_task=page["to_task"],
            )
        notice = {"kind": "gone"}
        return _render(
            request, staff, pages, version=version, notice=notice, status_code=409, **page
        )
    task = wiring.tasks.show(shown.crn, actor=staff.code, default_purpose="reshown")
    notice = {"kind": "lapsed", "held_by": task.held_by if task.held_by != staff.code else None}
    return _render(
        request, staff, pages, version=shown.version, notice=notice, status_code=409, **page
    )
