"""Sign in through the organisation's identity provider (OpenID Connect, docs/web.md).

`GET /login/oidc` sends the browser to the provider with a fresh state, nonce and PKCE
challenge (kept in a signed cookie); `GET /login/oidc/callback` checks what comes back,
exchanges the code, verifies the ID token and matches the staff code to the registry, which
alone says what the person may do. The bridge's own session then starts exactly as after a
password. Every outcome is audited (`sign_in` / `sign_in.failed`, `method` `oidc`); nothing
from the token but the staff code is kept, and no log line names anyone.
"""

from __future__ import annotations

import structlog
from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from starlette.exceptions import HTTPException

from bridge.oidc import OidcClient, OidcRefused, OidcUnavailable
from bridge.services.accounts import AccountDeactivated, AccountNotSetUp
from bridge.web.deps import WiringDep, get_pages, local_path
from bridge.web.sso import Flow, cookies_for

__all__ = ["router"]

router = APIRouter(include_in_schema=False)
log = structlog.get_logger("bridge.web.oidc")

METHOD = "oidc"


def _client(wiring: WiringDep) -> OidcClient:
    oidc = wiring.oidc
    if oidc is None:
        raise HTTPException(status_code=404)
    return oidc


def _outcome(request: Request, title: str, message: str, status: int, *, retry: bool) -> Response:
    passwords = request.app.state.wiring.settings.passwords_enabled
    return get_pages(request).render(
        request,
        "sign_in_outcome.html",
        {"title": title, "message": message, "retry": retry, "passwords": passwords},
        status_code=status,
    )


def _unavailable(request: Request) -> Response:
    log.warning("web.oidc_unavailable")
    return _outcome(
        request,
        "Organisation sign-in is not available",
        "The organisation's sign-in service did not answer. Try again in a few minutes.",
        503,
        retry=True,
    )


def _refused(request: Request, wiring: WiringDep, reason: str) -> Response:
    client = request.client.host if request.client else "unknown"
    wiring.accounts.sign_in_refused(method=METHOD, reason=reason, client=client)
    log.warning("web.oidc_refused", reason=reason)
    response = _outcome(
        request,
        "You could not be signed in",
        "Your organisation's sign-in did not complete, or its answer could not be trusted. "
        "Try again.",
        401,
        retry=True,
    )
    cookies_for(request).clear_flow(response)
    return response


@router.get("/login/oidc")
def oidc_start(request: Request, wiring: WiringDep, next: str | None = None) -> Response:
    oidc = _client(wiring)
    try:
        pending = oidc.begin(str(request.url_for("oidc_callback")))
    except OidcUnavailable:
        return _unavailable(request)
    response = RedirectResponse(pending.url, status_code=303)
    cookies_for(request).set_flow(request, response, Flow(pending, local_path(next)))
    return response


@router.get("/login/oidc/callback")
def oidc_callback(request: Request, wiring: WiringDep) -> Response:
    oidc = _client(wiring)
    cookies = cookies_for(request)
    flow = cookies.flow(request)
    if flow is None:  # no sign-in started in this browser, or it took too long
        return _refused(request, wiring, "state_mismatch")
    try:
        identity = oidc.finish(
            dict(request.query_params),
            pending=flow.pending,
            redirect_uri=str(request.url_for("oidc_callback")),
        )
    except OidcUnavailable:
        return _unavailable(request)
    except OidcRefused as refused:
        return _refused(request, wiring, refused.reason)
    try:
        token = wiring.accounts.sign_in_verified(identity.staff_code, method=METHOD)
    except AccountNotSetUp:
        response = _outcome(
            request,
            "Your account is not set up in visor-bridge",
            "You signed in to your organisation, but visor-bridge has no record of you. "
            "Ask an administrator to add you to the staff registry.",
            403,
            retry=False,
        )
    except AccountDeactivated as exc:
        response = _outcome(
            request, "Your account has been deactivated", str(exc), 403, retry=False
        )
    else:
        request.state.new_token = token  # a new cookie: no session fixation
        # Not a redirect: the redirect chain began at the provider (cross-site), which the
        # content pages refuse; the page moves on as a same-origin navigation.
        response = get_pages(request).render(
            request, "sign_in_continue.html", {"title": "You are signed in", "target": flow.next}
        )
        cookies.set_id_token(request, response, identity.id_token)
    cookies.clear_flow(response)
    return response


@router.get("/login/oidc/signed-out")
def oidc_signed_out() -> Response:
    """Where the provider sends the browser back after ending its session."""
    return RedirectResponse("/login?signed_out=1", status_code=303)
