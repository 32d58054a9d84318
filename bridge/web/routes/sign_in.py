"""Sign in, sign out, and the home page that sends each person to their area."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from bridge.services.accounts import SignInRefused, SignInThrottled
from bridge.web.deps import WiringDep, csrf_protect, current_staff, get_pages, local_path
from bridge.web.sso import forget_provider, provider_sign_out
from bridge.web.templating import nav_for

__all__ = ["router"]

router = APIRouter(dependencies=[Depends(csrf_protect)], include_in_schema=False)


@router.get("/")
def home(request: Request) -> Response:
    staff = current_staff(request)
    if staff is None:
        return RedirectResponse("/login", status_code=303)
    nav = nav_for(staff)
    if not nav:
        return get_pages(request).render(
            request, "no_access.html", {"title": "No access"}, staff=staff
        )
    return RedirectResponse(nav[0]["href"], status_code=303)


def _ways(request: Request) -> dict[str, bool]:
    """Which sign-ins the page offers: single sign-on, local passwords (docs/web.md)."""
    settings = request.app.state.wiring.settings
    return {"oidc": settings.oidc_enabled, "passwords": settings.passwords_enabled}


@router.get("/login")
def sign_in_form(request: Request, next: str | None = None) -> Response:
    return get_pages(request).render(
        request,
        "sign_in.html",
        {
            "title": "Sign in",
            "next": local_path(next),
            "errors": [],
            "username": "",
            **_ways(request),
        },
        staff=current_staff(request),  # signed in already: the header offers "Sign out"
    )


@router.post("/login")
def sign_in(
    request: Request,
    wiring: WiringDep,
    username: Annotated[str, Form(max_length=64)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
    next: Annotated[str, Form(max_length=2000)] = "/",
) -> Response:
    errors = []
    if not _ways(request)["passwords"]:  # single sign-on only (BRIDGE_LOCAL_PASSWORDS)
        return RedirectResponse("/login", status_code=303)
    if not username.strip():
        errors.append({"text": "Enter your username", "href": "#username"})
    if not password:
        errors.append({"text": "Enter your password", "href": "#password"})
    status = 200
    if not errors:
        client = request.client.host if request.client else "unknown"
        try:
            token = wiring.accounts.sign_in(username, password, client=client)
        except SignInThrottled as exc:
            errors.append({"text": str(exc), "href": "#username"})
            status = 429
        except SignInRefused as exc:
            errors.append({"text": str(exc), "href": "#username"})
            status = 401
        else:
            request.state.new_token = token  # a new cookie: no session fixation
            return forget_provider(request, RedirectResponse(local_path(next), status_code=303))
    return get_pages(request).render(
        request,
        "sign_in.html",
        {
            "title": "Sign in",
            "next": local_path(next),
            "errors": errors,
            "username": username,
            **_ways(request),
        },
        status_code=status,
    )


@router.post("/logout")
def sign_out(request: Request, wiring: WiringDep) -> Response:
    token = getattr(request.state, "browser_token", None)
    if token is not None:
        wiring.accounts.sign_out(token)
    request.state.new_token = request.app.state.tokens.new()
    # Signed in through the organisation's provider: its session ends too (docs/web.md).
    return provider_sign_out(
        request, wiring, RedirectResponse("/login?signed_out=1", status_code=303)
    )
