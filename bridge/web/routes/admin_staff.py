"""Administrator pages for the staff registry: list, add, edit, set a password, import a CSV.

Two-person rule (issue 18): a change that grants the proxy or administrator role, records
vetting or sets someone else's password is held as a request (`bridge.services.privilege`),
listed on the registry page to every administrator, and applied when another administrator
approves it.

The registry's rules (what a valid person is, the CSV's columns, who may lock whom out) live
in `bridge.services.staff` behind `AdminService`; these pages read forms, show the problems
the service reports (GOV.UK error summary, inline messages, status 400, nothing saved) and
redirect after every change (Post/Redirect/Get) to a page with a fixed success banner.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import FormData, UploadFile
from starlette.exceptions import HTTPException

from bridge.core.lifecycle import Role
from bridge.core.staff_input import (
    CSV_COLUMNS,
    ROLES,
    VETTING_LEVELS,
    StaffCsvInvalid,
    StaffInput,
    StaffInvalid,
)
from bridge.errors import BadInput
from bridge.services.views import Person, StaffRecord, jsonable
from bridge.web.deps import Admin, PagesDep, SameSite, WiringDep, csrf_protect
from bridge.web.present import long_date

__all__ = ["router"]

router = APIRouter(prefix="/admin", dependencies=[Depends(csrf_protect)], include_in_schema=False)

Code = Annotated[str, Path(max_length=16)]
ROLE_NAMES: dict[str, str] = {
    Role.PROXY: "Proxy",
    Role.OFFENDER_MANAGER: "Offender manager",
    Role.MANAGER: "Manager (sees workload figures)",
    Role.ADMIN: "Administrator",
}
DATE_FIELDS = ("vetting_expires", "needs_proxy_since", "needs_proxy_until")
#: The largest staff CSV taken (a registry of a few thousand people is well under this).
MAX_CSV_BYTES = 2_000_000
#: Success banners, chosen by `?done=`: fixed text, never anything from the request.
DONE = {
    "added": "Member of staff added",
    "updated": "Changes saved",
    "password": "New password set. Any sessions they had are signed out.",
    "requested": "Change requested: another administrator must approve it before it applies",
    "granted": "Request approved: the change has been applied",
    "declined": "Request declined: nothing was changed",
}
GRANT_NAMES = {
    "proxy": "Proxy role",
    "admin": "Administrator role",
    "vetting": "Vetting",
    "password": "New password",
}


def _text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value[:1000] if isinstance(value, str) else ""


def _form_values(form: FormData) -> dict[str, Any]:
    """What the administrator typed, kept to fill the form again if it has problems."""
    return {
        "code": _text(form, "code"),
        "name": _text(form, "name"),
        "roles": [r for r in form.getlist("roles") if isinstance(r, str)],
        "team": _text(form, "team"),
        "manages": _text(form, "manages"),
        "email": _text(form, "email"),
        "vetting_level": _text(form, "vetting_level"),
        "active": _text(form, "active") == "yes",
        **{
            field: {part: _text(form, f"{field}-{part}") for part in ("day", "month", "year")}
            for field in DATE_FIELDS
        },
    }


def _stored_values(person: StaffRecord) -> dict[str, Any]:
    def parts(value: date | None) -> dict[str, str]:
        if value is None:
            return {"day": "", "month": "", "year": ""}
        return {"day": str(value.day), "month": str(value.month), "year": str(value.year)}

    return {
        "code": person.code,
        "name": person.name,
        "roles": person.roles,
        "team": person.team or "",
        "manages": " ".join(person.manages),
        "email": person.email or "",
        "vetting_level": person.vetting_level or "",
        "active": person.active,
        **{field: parts(getattr(person, field)) for field in DATE_FIELDS},
    }


def _staff_input(values: dict[str, Any]) -> StaffInput:
    def parts(field: str) -> tuple[str, str, str]:
        p = values[field]
        return (p["day"], p["month"], p["year"])

    return StaffInput(
        code=values["code"],
        name=values["name"],
        roles=tuple(values["roles"]),
        team=values["team"],
        manages=tuple(values["manages"].replace(",", " ").split()),
        vetting_level=values["vetting_level"],
        vetting_expires=parts("vetting_expires"),
        needs_proxy_since=parts("needs_proxy_since"),
        needs_proxy_until=parts("needs_proxy_until"),
        active=values["active"],
        email=values.get("email", ""),
    )


def _href(field: str) -> str:
    return f"#{field}-day" if field in DATE_FIELDS else f"#{field}"


def _problems(problems: list[tuple[str, str]]) -> tuple[list[dict[str, str]], dict[str, str]]:
    """(error summary list, first message per field for the inline messages)."""
    inline: dict[str, str] = {}
    for field, message in problems:
        inline.setdefault(field, message)
    return [{"text": m, "href": _href(f)} for f, m in problems], inline


def _form_page(
    request: Request,
    pages: PagesDep,
    staff: Person,
    *,
    values: dict[str, Any],
    editing: StaffRecord | None,
    errors: list[dict[str, str]] | None = None,
    inline: dict[str, str] | None = None,
    password_errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    title = f"Edit {editing.code}" if editing else "Add a member of staff"
    return pages.render(
        request,
        "admin/staff_form.html",
        {
            "title": title,
            "values": values,
            "editing": editing,
            "errors": errors or [],
            "inline": inline or {},
            "password_errors": password_errors or {},
            "role_names": ROLE_NAMES,
            "roles": ROLES,
            "vetting_levels": VETTING_LEVELS,
            "done": DONE.get(request.query_params.get("done", "")),
        },
        staff=staff,
        status_code=status_code,
    )


# -- the registry -----------------------------------------------------------------------------


def _count(request: Request, name: str) -> int:
    raw = request.query_params.get(name, "")
    return int(raw) if raw.isdigit() and len(raw) < 9 else 0


def _imported_banner(request: Request) -> str | None:
    done = request.query_params.get("done", "")
    if done in ("requested", "granted", "declined"):
        return DONE[done]
    if done != "imported":
        return None
    added, updated, gone, released = (
        _count(request, k) for k in ("added", "updated", "deactivated", "released")
    )
    held = _count(request, "held")
    waiting = f"; {held} waiting for approval by another administrator" if held else ""
    return (
        f"Staff imported: {added} added, {updated} updated, {gone} made inactive "
        f"({released} claimed entries released){waiting}"
    )


@router.get("/staff", dependencies=[SameSite])
def staff_registry(request: Request, staff: Admin, wiring: WiringDep, pages: PagesDep) -> Response:
    people = wiring.admin.staff_registry(actor=staff.code)
    rows = [
        {
            **asdict(p),
            "role_names": ", ".join(ROLE_NAMES.get(r, r) for r in p.roles),
            "expires": long_date(p.vetting_expires),
            "since": long_date(p.needs_proxy_since),
            "until": long_date(p.needs_proxy_until),
        }
        for p in people
    ]
    waiting = [
        {
            **asdict(r),
            "what": ", ".join(GRANT_NAMES.get(g, g) for g in r.grants),
            "mine": staff.code in (r.requested_by, r.staff),
            "own": staff.code == r.requested_by,
        }
        for r in wiring.privilege.waiting(actor=staff.code)
    ]
    return pages.render(
        request,
        "admin/staff.html",
        {"title": "Staff", "people": rows, "waiting": waiting, "done": _imported_banner(request)},
        staff=staff,
    )


@router.post("/staff/requests/{request_id}/{decision}")
def decide_request(
    staff: Admin,
    wiring: WiringDep,
    request_id: Annotated[int, Path(ge=1, lt=2**31)],
    decision: Annotated[str, Path(pattern="^(approve|decline)$")],
) -> Response:
    """Approve or decline a privilege request (the two-person rule; refusals answer 403)."""
    if decision == "approve":
        wiring.privilege.approve(request_id, actor=staff.code)
    else:
        wiring.privilege.decline(request_id, actor=staff.code)
    done = "granted" if decision == "approve" else "declined"
    return RedirectResponse(f"/admin/staff?done={done}", status_code=303)


@router.get("/staff/new")
def new_staff_form(request: Request, staff: Admin, pages: PagesDep) -> Response:
    values = _form_values(FormData())
    values["active"] = True
    return _form_page(request, pages, staff, values=values, editing=None)


@router.post("/staff/new")
async def add_staff(request: Request, staff: Admin, wiring: WiringDep, pages: PagesDep) -> Response:
    values = _form_values(await request.form())
    values["active"] = True
    try:
        added = wiring.admin.add_staff(_staff_input(values), actor=staff.code)
    except StaffInvalid as exc:
        return _refused_form(request, pages, staff, values, None, exc)
    if added.request is not None:
        return RedirectResponse("/admin/staff?done=requested", status_code=303)
    return RedirectResponse(f"/admin/staff/{added.code}?done=added", status_code=303)


def _refused_form(
    request: Request,
    pages: PagesDep,
    staff: Person,
    values: dict[str, Any],
    editing: StaffRecord | None,
    exc: StaffInvalid,
) -> Response:
    """The staff form again (400) with the service's problems as summary and inline errors."""
    errors, inline = _problems(exc.problems)
    return _form_page(
        request,
        pages,
        staff,
        values=values,
        editing=editing,
        errors=errors,
        inline=inline,
        status_code=400,
    )


# -- CSV import -------------------------------------------------------------------------------


def _import_page(
    request: Request,
    pages: PagesDep,
    staff: Person,
    *,
    errors: list[str] | None = None,
    replace: bool = False,
    status_code: int = 200,
) -> Response:
    return pages.render(
        request,
        "admin/staff_import.html",
        {
            "title": "Import staff",
            "columns": ",".join(CSV_COLUMNS),
            "vetting_levels": ", ".join(VETTING_LEVELS),
            "roles": ";".join(ROLES),
            "errors": [{"text": e, "href": "#staff_csv"} for e in errors or []],
            "replace": replace,
        },
        staff=staff,
        status_code=status_code,
    )


@router.get("/staff/import")
def import_form(request: Request, staff: Admin, pages: PagesDep) -> Response:
    return _import_page(request, pages, staff)


@router.post("/staff/import")
async def import_csv(
    request: Request, staff: Admin, wiring: WiringDep, pages: PagesDep
) -> Response:
    form = await request.form()
    upload = form.get("staff_csv")
    replace = _text(form, "replace") == "yes"
    try:
        data = await upload.read(MAX_CSV_BYTES + 1) if isinstance(upload, UploadFile) else b""
    finally:
        await form.close()  # the upload's temporary file
    if not data:
        problems = ["Select a staff CSV file"]
    elif len(data) > MAX_CSV_BYTES:
        problems = [f"The file must be smaller than {MAX_CSV_BYTES // 1_000_000} MB"]
    else:
        try:
            result = wiring.admin.import_staff_csv(data, actor=staff.code, replace=replace)
        except StaffCsvInvalid as exc:
            problems = exc.problems
        else:
            counts = "&".join(f"{k}={v}" for k, v in sorted(jsonable(result).items()))
            return RedirectResponse(f"/admin/staff?done=imported&{counts}", status_code=303)
    return _import_page(request, pages, staff, errors=problems, replace=replace, status_code=400)


# -- one person (after /staff/new and /staff/import, which {code} would otherwise take) --


def _person_or_404(wiring: WiringDep, code: str, actor: str) -> StaffRecord:
    person = wiring.admin.staff_member(code.upper(), actor=actor)
    if person is None:
        raise HTTPException(status_code=404)
    return person


@router.get("/staff/{code}", dependencies=[SameSite])
def edit_staff_form(
    request: Request, staff: Admin, wiring: WiringDep, pages: PagesDep, code: Code
) -> Response:
    person = _person_or_404(wiring, code, staff.code)
    return _form_page(request, pages, staff, values=_stored_values(person), editing=person)


@router.post("/staff/{code}")
async def edit_staff(
    request: Request, staff: Admin, wiring: WiringDep, pages: PagesDep, code: Code
) -> Response:
    person = _person_or_404(wiring, code, staff.code)
    values = {**_form_values(await request.form()), "code": person.code}
    try:
        changed = wiring.admin.edit_staff(person.code, _staff_input(values), actor=staff.code)
    except StaffInvalid as exc:
        return _refused_form(request, pages, staff, values, person, exc)
    if changed.request is not None:
        return RedirectResponse("/admin/staff?done=requested", status_code=303)
    return RedirectResponse(f"/admin/staff/{person.code}?done=updated", status_code=303)


@router.post("/staff/{code}/password")
async def set_password(
    request: Request, staff: Admin, wiring: WiringDep, pages: PagesDep, code: Code
) -> Response:
    person = _person_or_404(wiring, code, staff.code)
    form = await request.form()
    password, confirm = _text(form, "password"), _text(form, "password_confirm")
    problems: list[tuple[str, str]] = []
    if not password:
        problems.append(("password", "Enter a new password"))
    elif password != confirm:
        problems.append(("password_confirm", "The passwords do not match"))
    else:
        try:
            if person.code == staff.code:  # their own: at once
                wiring.accounts.set_password(person.code, password, actor=staff.code)
            else:  # someone else's: a second administrator approves it
                wiring.privilege.request_password(person.code, password, actor=staff.code)
                return RedirectResponse("/admin/staff?done=requested", status_code=303)
        except BadInput as exc:
            problems.append(("password", str(exc)))
    if problems:
        errors, inline = _problems(problems)
        return _form_page(
            request,
            pages,
            staff,
            values=_stored_values(person),
            editing=person,
            errors=errors,
            password_errors=inline,
            status_code=400,
        )
    return RedirectResponse(f"/admin/staff/{person.code}?done=password", status_code=303)
