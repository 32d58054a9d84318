"""What the last action did, told to the page it redirects to: a one-use cookie holding a
code (never request text), turned into a GOV.UK notification banner by the page's table of
codes. Shared by the proxies' pages (routes/proxy.py) and the case tasks (routes/tasks.py)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import Request, Response
from fastapi.responses import RedirectResponse

__all__ = ["DONE_COOKIE", "banner", "see", "shown"]

DONE_COOKIE = "bridge_done"


def banner(request: Request, done: Mapping[str, tuple[str, bool]]) -> dict[str, Any] | None:
    """The notification the last action left for this page (`done`: code → text, success)."""
    code = request.cookies.get(DONE_COOKIE)
    if code is None or code not in done:
        return None
    text, success = done[code]
    return {"text": text, "success": success}


def shown(
    request: Request, response: Response, done: Mapping[str, tuple[str, bool]] | None = None
) -> Response:
    """The page has shown the notification: clear it (only one of `done`'s, when given)."""
    code = request.cookies.get(DONE_COOKIE)
    if code is not None and (done is None or code in done):
        response.delete_cookie(DONE_COOKIE, path="/", httponly=True, samesite="lax")
    return response


def see(request: Request, url: str, code: str) -> RedirectResponse:
    """303 to `url`, telling it what happened (`code` is a key of the page's table)."""
    response = RedirectResponse(url, status_code=303)
    response.set_cookie(
        DONE_COOKIE,
        code,
        max_age=60,
        path="/",
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
    )
    return response
