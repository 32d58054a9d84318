"""Proxy pages: the queue and the entry (claim, review, edit, approve, reject, mark entered)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from bridge.web.deps import PagesDep, Proxy, csrf_protect

__all__ = ["router"]

router = APIRouter(dependencies=[Depends(csrf_protect)], include_in_schema=False)


@router.get("/queue")
def queue(request: Request, staff: Proxy, pages: PagesDep) -> Response:
    return pages.render(request, "queue.html", {"title": "Queue"}, staff=staff)
