"""One translator from errors to responses: a GOV.UK error page, or JSON under /api/.

Refusals say nothing about the case: "not permitted" is the same whether the entry does not
exist, is excluded or belongs to someone else. Unexpected errors are logged with an id and
never shown as a traceback.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import quote

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bridge.errors import (
    BadInput,
    BridgeError,
    DomainRefusal,
    NotPermitted,
    VersionConflict,
    WrongState,
)
from bridge.services.accounts import SignInRefused, SignInThrottled
from bridge.web.deps import (
    CsrfFailed,
    Forbidden,
    SignInRequired,
    VettingLapsed,
    current_staff,
    get_wiring,
    local_path,
)
from bridge.web.templating import Pages

__all__ = ["LastResort", "install_error_handlers", "translate"]

log = structlog.get_logger("bridge.web")

_TITLES = {
    400: "There is a problem with what was sent",
    401: "Sign in to continue",
    403: "You cannot see this page",
    404: "Page not found",
    405: "Page not found",
    409: "This has changed since you opened it",
    429: "Too many attempts",
    500: "Sorry, there is a problem with the service",
}


def translate(exc: Exception) -> tuple[int, str]:
    """(HTTP status, message a person can act on) for any error the pages may meet."""
    if isinstance(exc, SignInRequired):
        return 401, "Sign in to continue."
    if isinstance(exc, Forbidden):
        return 403, "You do not have access to this part of the service."
    if isinstance(exc, CsrfFailed):
        return (
            403,
            "The form had expired or was not sent by this service. Go back, reload the page and try again.",
        )
    if isinstance(exc, SignInThrottled):
        return 429, str(exc)
    if isinstance(exc, SignInRefused):
        return 403, str(exc)
    if isinstance(exc, NotPermitted):
        return 403, NotPermitted.MESSAGE
    if isinstance(exc, VersionConflict | WrongState):
        return 409, str(exc)
    if isinstance(exc, DomainRefusal):
        return 403, str(exc)
    if isinstance(exc, BadInput):
        return 400, str(exc)
    if isinstance(exc, RequestValidationError):
        return 400, "Some of what was sent is missing or not in the right form."
    if isinstance(exc, StarletteHTTPException):
        return exc.status_code, {404: "If you typed the address, check it is correct."}.get(
            exc.status_code, str(exc.detail)
        )
    return (
        500,
        "Try again later. If it keeps happening, tell your administrator the reference below.",
    )


#: Path parameters naming an entry or a case: one that cannot exist is an unknown one (§6).
_ID_PARAMS = {("path", "entry_id"), ("path", "crn")}


def _as_unknown(request: Request, exc: RequestValidationError) -> Exception:
    """A path's entry id or CRN that cannot exist (say 0, or a 40-character CRN), refused
    exactly as an unknown one: the services' own refusal, audited, with its message. Text that
    is not a number at all stays bad input (400), as on the CLI."""
    errors = exc.errors()
    locs = {tuple(e.get("loc", ()))[:2] for e in errors}
    staff = current_staff(request)
    malformed = any(e.get("type") in ("int_parsing", "missing") for e in errors)
    if not locs or not locs <= _ID_PARAMS or malformed or staff is None:
        return exc
    wiring = get_wiring(request)
    try:
        if ("path", "entry_id") in locs:
            wiring.review.check_access(0, actor=staff.code)
        else:
            wiring.status.case("", actor=staff.code)
    except NotPermitted as refused:
        return refused
    return exc  # pragma: no cover - both always refuse


#: Forms that are held when the session ended before they were sent: a task page's, by CRN.
_HOLDABLE = re.compile(r"/tasks/([A-Z]\d{6})/")


def _hold(request: Request) -> bool:
    """Hold the form just posted for the person whose session has just ended (30 minutes)."""
    staff = getattr(request.state, "lapsed_staff", None)
    posted = getattr(request.state, "posted", None)
    found = _HOLDABLE.match(request.url.path + "/")
    if staff is None or not posted or found is None:
        return False
    get_wiring(request).held_forms.hold(
        staff=staff, crn=found.group(1), path=request.url.path, fields=dict(posted)
    )
    return True


def _wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api/") or request.url.path in {"/healthz", "/readyz"}


def install_error_handlers(app: FastAPI, pages: Pages) -> None:
    async def handle(request: Request, exc: Exception) -> Response:
        if isinstance(exc, SignInRequired) and not _wants_json(request):
            if request.method == "POST":  # the form is held, or the start page follows
                target = "/held" if _hold(request) else "/"
                return RedirectResponse(f"/login?next={quote(target, safe='/')}", status_code=303)
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            return RedirectResponse(
                f"/login?next={quote(local_path(target), safe='/')}", status_code=303
            )
        if isinstance(exc, VettingLapsed) and not _wants_json(request):
            return pages.render(
                request,
                "tasks/vetting_lapsed.html",
                {
                    "title": "Your vetting has lapsed",
                    "administrators": get_wiring(request).accounts.administrators(),
                },
                status_code=403,
            )
        if isinstance(exc, RequestValidationError):
            exc = _as_unknown(request, exc)
        status, message = translate(exc)
        reference: str | None = None
        if status >= 500:
            reference = secrets.token_hex(4)
            # The error's type and where, never its message (it could hold record content).
            log.error(
                "web.unexpected_error",
                reference=reference,
                error=type(exc).__name__,
                path=request.url.path,
            )
        if _wants_json(request):
            body: dict[str, Any] = {"error": {"status": status, "message": message}}
            if reference:
                body["error"]["reference"] = reference
            return JSONResponse(body, status_code=status)
        return pages.render(
            request,
            "error.html",
            {
                "title": _TITLES.get(status, "There is a problem"),
                "message": message,
                "reference": reference,
                "status": status,
            },
            status_code=status,
        )

    for exc_type in (
        SignInRequired,
        Forbidden,
        CsrfFailed,
        BridgeError,
        RequestValidationError,
        StarletteHTTPException,
    ):
        app.add_exception_handler(exc_type, handle)

    app.add_middleware(LastResort, handle=handle)


class LastResort:
    """Pure ASGI middleware: anything no handler took becomes an error page with a reference,
    no traceback anywhere (Starlette's own last-resort handler would re-raise it into the
    server's log). Not `@app.middleware("http")`, whose wrapper costs every request a task, a
    stream and a copy of the body; an error after the response has started is re-raised, as
    it was there."""

    def __init__(
        self, app: ASGIApp, *, handle: Callable[[Request, Exception], Awaitable[Response]]
    ) -> None:
        self.app = app
        self.handle = handle

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def send_noting_start(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, send_noting_start)
        except Exception as exc:  # the one place every unexpected error ends
            if started:
                raise
            response = await self.handle(Request(scope, receive), exc)
            await response(scope, receive, send)
