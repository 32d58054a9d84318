"""Offender manager pages: "My cases" and a case's entries' states and dates (never content)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from bridge.web.deps import OffenderManager, PagesDep, csrf_protect

__all__ = ["router"]

router = APIRouter(dependencies=[Depends(csrf_protect)], include_in_schema=False)


@router.get("/cases")
def my_cases(request: Request, staff: OffenderManager, pages: PagesDep) -> Response:
    return pages.render(request, "cases.html", {"title": "My cases"}, staff=staff)
