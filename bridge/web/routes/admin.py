"""Administrator pages: staff registry, sync runs and retries, failed submissions, configuration."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from bridge.web.deps import Admin, PagesDep, csrf_protect

__all__ = ["router"]

router = APIRouter(prefix="/admin", dependencies=[Depends(csrf_protect)], include_in_schema=False)


@router.get("/staff")
def staff_registry(request: Request, staff: Admin, pages: PagesDep) -> Response:
    return pages.render(request, "admin/staff.html", {"title": "Staff"}, staff=staff)
